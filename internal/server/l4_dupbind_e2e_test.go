package server_test

import (
	"net/netip"
	"testing"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// TestOneOriginOnTwoPorts: the API lets one real server be bound twice on
// different ports (two services on one host); both must carry traffic
// (rr alternates), and each binding reports its own health: the port
// that stops answering reads abnormal, the other normal.
func TestOneOriginOnTwoPorts(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	host := origins.Next()
	p1 := edgetest.StartTCP(t, netip.AddrPortFrom(host, 0), proxyProtocolName(t, "p1"))
	p2 := edgetest.StartTCP(t, netip.AddrPortFrom(host, 0), proxyProtocolName(t, "p2"))
	rs := n.realServers(host)[0]
	listener, port := n.tcpListener(proxy, ip, "rr", true)
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
	// RealServerStatus by port.
	statuses := func() map[uint16]int {
		var r struct {
			ListenerSet []struct {
				RealServerSet []struct {
					RealServerPort   uint16
					RealServerStatus int
				}
			}
		}
		if err := n.Call(n.c, "DescribeTCPListeners", map[string]any{"ListenerId": listener}, &r); err != nil || len(r.ListenerSet) != 1 {
			t.Fatalf("DescribeTCPListeners: %+v, %v", r, err)
		}
		out := map[uint16]int{}
		for _, rs := range r.ListenerSet[0].RealServerSet {
			out[rs.RealServerPort] = rs.RealServerStatus
		}
		return out
	}
	p2.Close()
	n.until("port 2 abnormal, port 1 normal", func() bool {
		st := statuses()
		return len(st) == 2 && st[p1.Addr.Port()] == 0 && st[p2.Addr.Port()] == 1
	})
}
