package server_test

import (
	"net/netip"
	"testing"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// TestOneOriginOnTwoPorts: the API lets one real server be bound twice on
// different ports (two services on one host); both must carry traffic
// (rr alternates), and both bindings report their health.
func TestOneOriginOnTwoPorts(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	host := origins.Next()
	p1 := edgetest.StartTCP(t, netip.AddrPortFrom(host, 0), proxyProtocolName(t, "p1"))
	p2 := edgetest.StartTCP(t, netip.AddrPortFrom(host, 0), proxyProtocolName(t, "p2"))
	rs := n.realServers(host)[0]
	listener, port := n.tcpListener(proxy, ip, "rr", false)
	set := []map[string]any{
		{"RealServerId": rs, "RealServerPort": p1.Addr.Port(), "RealServerIP": host.String(), "RealServerWeight": 1},
		{"RealServerId": rs, "RealServerPort": p2.Addr.Port(), "RealServerIP": host.String(), "RealServerWeight": 1},
	}
	if err := n.Call(n.c, "BindListenerRealServers", map[string]any{"ListenerId": listener, "RealServerBindSet": set}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitListener(listener)
	got := map[string]int{}
	for range 10 {
		got[fetch(t, netip.AddrPortFrom(ip, uint16(port)))]++
	}
	if got["p1"] != 5 || got["p2"] != 5 {
		t.Errorf("rr over one server on two ports: got %v; want p1 5, p2 5", got)
	}
	var r struct {
		ListenerSet []struct {
			RealServerSet []struct {
				RealServerPort   int
				RealServerStatus int
			}
		}
	}
	if err := n.Call(n.c, "DescribeTCPListeners", map[string]any{"ListenerId": listener}, &r); err != nil || len(r.ListenerSet) != 1 {
		t.Fatalf("DescribeTCPListeners: %+v, %v", r, err)
	}
	if rss := r.ListenerSet[0].RealServerSet; len(rss) != 2 || rss[0].RealServerStatus != 0 || rss[1].RealServerStatus != 0 {
		t.Errorf("bindings: got %+v; want both ports, both normal", rss)
	}
}
