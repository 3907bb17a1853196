package server_test

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// TestWRRAndBandwidthThroughAPI drives, through the SDK and real traffic,
// what the edge tests check underneath: wrr follows the bound weights, and
// the proxy's Bandwidth shapes a download to within 10 %. (A GAAP
// listener's SessionPersist is read-only in the API; persistence is set
// on EdgeOne rules, tested by test/node and TestTeoListeners.)
func TestWRRAndBandwidthThroughAPI(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy() // Bandwidth 10 Mbps.
	ids, srvs := n.proxyNamedOrigins("a", "b")
	oa, ob := srvs[0], srvs[1]
	type bound struct {
		id     string
		addr   netip.AddrPort
		weight int
	}
	listener := func(params map[string]any, bs ...bound) netip.AddrPort {
		t.Helper()
		port := edgetest.FreePort(t, ip)
		p := map[string]any{"ProxyId": proxy, "ListenerName": "sched", "Ports": []int{port}, "Scheduler": "rr",
			"RealServerType": "IP", "ClientIPMethod": 1, "HealthCheck": 0}
		for k, v := range params {
			p[k] = v
		}
		var resp struct{ ListenerIds []string }
		if err := n.Call(n.c, "CreateTCPListeners", p, &resp); err != nil {
			t.Fatal(err)
		}
		n.waitListener(resp.ListenerIds[0])
		var set []map[string]any
		for _, o := range bs {
			set = append(set, map[string]any{"RealServerId": o.id, "RealServerPort": o.addr.Port(),
				"RealServerIP": o.addr.Addr().String(), "RealServerWeight": o.weight})
		}
		if err := n.Call(n.c, "BindListenerRealServers", map[string]any{"ListenerId": resp.ListenerIds[0], "RealServerBindSet": set}, nil); err != nil {
			t.Fatal(err)
		}
		n.waitListener(resp.ListenerIds[0])
		return netip.AddrPortFrom(ip, uint16(port))
	}

	// wrr with weights 3:1: smooth weighted round robin is exact.
	wrr := listener(map[string]any{"Scheduler": "wrr"}, bound{ids[0], oa.Addr, 3}, bound{ids[1], ob.Addr, 1})
	got := map[string]int{}
	for range 40 {
		got[fetch(t, wrr)]++
	}
	if got["a"] != 30 || got["b"] != 10 {
		t.Errorf("wrr 3:1 over 40 connections: got %v; want a 30, b 10", got)
	}

	// Bandwidth 10 Mbps: a download is shaped to 1.25 MB/s (measured after
	// the token bucket's initial burst).
	bl := origins.Next()
	blaster := edgetest.StartTCP(t, netip.AddrPortFrom(bl, 0), edgetest.Blast)
	down := listener(nil, bound{n.realServers(bl)[0], blaster.Addr, 1})
	edgetest.ShapedRate(t, "download through a 10 Mbps proxy", 10, 0.1, func() float64 {
		c, err := net.DialTimeout("tcp", down.String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return edgetest.MeasureMbps(c, 2*time.Second)
	})
}

// TestFailoverSwitchThroughAPI: with FailoverSwitch, connections go to
// the master origin only; when its health checks fail they go to the
// slave, and back to the master once it recovers.
func TestFailoverSwitchThroughAPI(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	ids, srvs := n.proxyNamedOrigins("master", "slave")
	oa, ob := srvs[0], srvs[1]
	port := edgetest.FreePort(t, ip)
	var resp struct{ ListenerIds []string }
	if err := n.Call(n.c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "failover", "Ports": []int{port},
		"Scheduler": "rr", "RealServerType": "IP", "ClientIPMethod": 1, "FailoverSwitch": 1, "HealthCheck": 1,
		"DelayLoop": 5, "ConnectTimeout": 2, "HealthyThreshold": 1, "UnhealthyThreshold": 1}, &resp); err != nil {
		t.Fatal(err)
	}
	listener := resp.ListenerIds[0]
	n.waitListener(listener)
	set := []map[string]any{
		{"RealServerId": ids[0], "RealServerIP": oa.Addr.Addr().String(), "RealServerPort": oa.Addr.Port(), "RealServerWeight": 1, "RealServerFailoverRole": "master"},
		{"RealServerId": ids[1], "RealServerIP": ob.Addr.Addr().String(), "RealServerPort": ob.Addr.Port(), "RealServerWeight": 1, "RealServerFailoverRole": "slave"},
	}
	if err := n.Call(n.c, "BindListenerRealServers", map[string]any{"ListenerId": listener, "RealServerBindSet": set}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitListener(listener)
	to := netip.AddrPortFrom(ip, uint16(port))
	all := func(want string) {
		t.Helper()
		for i := range 4 {
			if got := fetch(t, to); got != want {
				t.Fatalf("connection %d: got %q; want %s", i, got, want)
			}
		}
	}
	all("master")
	masterStatus := func() int64 { st, _ := n.originStatus("TCP", listener, ids[0]); return st }
	oa.Close()
	n.until("master abnormal", func() bool { return masterStatus() == 1 })
	all("slave")
	edgetest.StartTCP(t, oa.Addr, proxyProtocolName(t, "master"))
	n.until("master normal again", func() bool { return masterStatus() == 0 })
	all("master")
}

// TestUDPHealthCheckThroughAPI: a UDP listener's PORT checks probe each
// origin's CheckPort with SendContext and expect RecvContext; an origin
// whose probe stops answering is reported abnormal and new sessions go to
// the other one.
func TestUDPHealthCheckThroughAPI(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	const checkPort = 4998
	var alive [2]atomic.Bool
	var services [2]netip.AddrPort
	hosts := [2]netip.Addr{origins.Next(), origins.Next()}
	for i, name := range []string{"a:", "b:"} {
		alive[i].Store(true)
		services[i] = edgetest.StartUDP(t, netip.AddrPortFrom(hosts[i], 0), edgetest.Prefix(name)).Addr
		edgetest.StartUDP(t, netip.AddrPortFrom(hosts[i], checkPort), func(_ netip.AddrPort, p []byte) []byte {
			if alive[i].Load() && string(p) == "ping" {
				return []byte("pong")
			}
			return nil
		})
	}
	ids := n.realServers(hosts[0], hosts[1])
	listener, port := n.udpListener(proxy, ip, map[string]any{"ListenerName": "udp-hc", "HealthCheck": 1, "DelayLoop": 5,
		"ConnectTimeout": 2, "HealthyThreshold": 1, "UnhealthyThreshold": 1, "CheckType": "PORT", "CheckPort": checkPort,
		"ContextType": "TEXT", "SendContext": "ping", "RecvContext": "pong"})
	n.bind(listener, map[string]netip.AddrPort{ids[0]: services[0], ids[1]: services[1]})
	status := func(id string) int64 { st, _ := n.originStatus("UDP", listener, id); return st }
	alive[0].Store(false)
	n.until("origin a abnormal", func() bool { return status(ids[0]) == 1 })
	// b's probes ran as often and are answered on the check port (its
	// service port would answer "b:ping", not "pong"): b stays normal.
	if st := status(ids[1]); st != 0 {
		t.Fatalf("origin b %d; want normal (probed on CheckPort)", st)
	}
	to := netip.AddrPortFrom(ip, uint16(port))
	for i := range 4 { // New sessions (new client ports) all go to b.
		c, err := net.Dial("udp", to.String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Write([]byte("x"))
		buf := make([]byte, 16)
		nr, err := c.Read(buf)
		c.Close()
		if err != nil || string(buf[:nr]) != "b:x" {
			t.Fatalf("session %d: got %q, %v; want b:x", i, buf[:nr], err)
		}
	}
}
