package server_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/xtest"
)

// udpListenerAs creates, as the account of c, a proxy and a UDP
// listener with the health-check settings of check, binds it to the
// origins (addresses registered as c's real servers) and waits until it
// runs; it returns the listener, the origins' IDs and the access address.
func udpListenerAs(t *testing.T, n *node, c *gaapsdk.Client, check map[string]any, to ...netip.AddrPort) (string, []string, netip.AddrPort) {
	t.Helper()
	call := func(action string, params map[string]any, into any) {
		t.Helper()
		if err := n.Call(c, action, params, into); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}
	var p struct{ InstanceId string }
	call("CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "p", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}, &p)
	var ip string
	n.until("proxy running", func() bool {
		var d struct{ ProxyDetail struct{ Status, IP string } }
		call("DescribeProxyDetail", map[string]any{"ProxyId": p.InstanceId}, &d)
		ip = d.ProxyDetail.IP
		return d.ProxyDetail.Status == "RUNNING"
	})
	access := netip.MustParseAddr(ip)
	var addrs []string
	for _, o := range to {
		addrs = append(addrs, o.Addr().String())
	}
	var rs struct {
		RealServerSet []struct{ RealServerId string }
	}
	call("AddRealServers", map[string]any{"ProjectId": 0, "RealServerName": "o", "RealServerIP": addrs}, &rs)
	port := edgetest.FreePort(t, access)
	params := map[string]any{"ProxyId": p.InstanceId, "ListenerName": "u", "Ports": []int{port}, "Scheduler": "rr", "RealServerType": "IP"}
	for k, v := range check {
		params[k] = v
	}
	var l struct{ ListenerIds []string }
	call("CreateUDPListeners", params, &l)
	var ids []string
	var set []map[string]any
	for i, r := range rs.RealServerSet {
		ids = append(ids, r.RealServerId)
		set = append(set, map[string]any{"RealServerId": r.RealServerId, "RealServerIP": addrs[i], "RealServerPort": to[i].Port(), "RealServerWeight": 1})
	}
	n.until("listener running", func() bool {
		var r struct {
			ListenerSet []struct{ ListenerStatus int }
		}
		call("DescribeUDPListeners", map[string]any{"ListenerId": l.ListenerIds[0]}, &r)
		return len(r.ListenerSet) == 1 && r.ListenerSet[0].ListenerStatus == 0
	})
	call("BindListenerRealServers", map[string]any{"ListenerId": l.ListenerIds[0], "RealServerBindSet": set}, nil)
	return l.ListenerIds[0], ids, netip.AddrPortFrom(access, uint16(port))
}

func udpOriginStatusAs(t *testing.T, n *node, c *gaapsdk.Client, listener, rs string) int64 {
	t.Helper()
	var r struct {
		ListenerSet []struct {
			RealServerSet []struct {
				RealServerId     string
				RealServerStatus int64
			}
		}
	}
	if err := n.Call(c, "DescribeUDPListeners", map[string]any{"ListenerId": listener}, &r); err != nil || len(r.ListenerSet) != 1 {
		t.Fatalf("DescribeUDPListeners: %v", err)
	}
	for _, o := range r.ListenerSet[0].RealServerSet {
		if o.RealServerId == rs {
			return o.RealServerStatus
		}
	}
	t.Fatalf("origin %s not bound", rs)
	return -1
}

// TestHealthVerdictStaysWithinAccount: origin addresses are public, so
// account B can point a UDP listener at account A's origin with a health
// check that fails there (a reply it will never get). The edge keeps
// origin state per account (docs/dataplane-l4.md "Health"), so A's
// listener created afterwards starts with that origin healthy: A's API
// reports it normal and A's traffic reaches it, rather than A inheriting
// B's verdict until its own checks pass HealthyThreshold times (up to
// 10 x 300 s).
func TestHealthVerdictStaysWithinAccount(t *testing.T) {
	n := startNode(t)
	shared := edgetest.StartUDP(t, netip.AddrPortFrom(origins.Next(), 0), edgetest.Prefix("shared:"))
	own := edgetest.StartUDP(t, netip.AddrPortFrom(origins.Next(), 0), edgetest.Prefix("own:"))

	// Account B: a check expecting a reply the origin never sends.
	b := n.GAAP(xtest.Other)
	bl, bids, _ := udpListenerAs(t, n, b, map[string]any{"HealthCheck": 1, "DelayLoop": 5, "ConnectTimeout": 2,
		"HealthyThreshold": 1, "UnhealthyThreshold": 1, "CheckType": "PORT", "ContextType": "TEXT",
		"SendContext": "probe", "RecvContext": "never-sent"}, shared.Addr)
	n.until("B's origin abnormal for B", func() bool { return udpOriginStatusAs(t, n, b, bl, bids[0]) == 1 })

	// Account A: the default UDP check, which the origin passes (it
	// answers, and silence would pass too), slow to declare health.
	a := n.GAAP()
	al, aids, access := udpListenerAs(t, n, a, map[string]any{"HealthCheck": 1, "DelayLoop": 30, "ConnectTimeout": 2,
		"HealthyThreshold": 3, "UnhealthyThreshold": 3, "CheckType": "PORT"}, shared.Addr, own.Addr)
	time.Sleep(2 * time.Second)
	if st := udpOriginStatusAs(t, n, a, al, aids[0]); st != 0 {
		t.Errorf("A's origin %s (%v) reads RealServerStatus %d for A right after A bound it; want 0: A's checks pass, only B's fail", aids[0], shared.Addr, st)
	}
	// rr over two origins: new client sessions should reach both.
	got := map[string]int{}
	for range 6 {
		c, err := net.Dial("udp", access.String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("x"))
		buf := make([]byte, 64)
		nr, err := c.Read(buf)
		c.Close()
		if err == nil {
			name, _, _ := strings.Cut(string(buf[:nr]), ":")
			got[name]++
		}
	}
	if got["shared"] == 0 {
		t.Errorf("A's rr sessions: %v; want some to reach the origin B's check declared down", got)
	}
}
