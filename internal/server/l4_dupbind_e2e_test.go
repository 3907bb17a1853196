package server_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// oneOriginTwoPorts binds one real server twice, on the ports of two TCP
// origins of one host answering "p1" and "p2", to a new health-checked rr
// listener; it returns the listener, its address, the real server and the
// two origins.
func (n *node) oneOriginTwoPorts() (listener string, addr netip.AddrPort, rs string, p1, p2 *edgetest.TCPServer) {
	n.t.Helper()
	proxy, ip := n.proxy()
	host := origins.Next()
	p1 = edgetest.StartTCP(n.t, netip.AddrPortFrom(host, 0), proxyProtocolName(n.t, "p1"))
	p2 = edgetest.StartTCP(n.t, netip.AddrPortFrom(host, 0), proxyProtocolName(n.t, "p2"))
	rs = n.realServers(host)[0]
	listener, port := n.tcpListener(proxy, ip, "rr", true)
	set := []map[string]any{
		{"RealServerId": rs, "RealServerPort": p1.Addr.Port(), "RealServerIP": host.String(), "RealServerWeight": 1},
		{"RealServerId": rs, "RealServerPort": p2.Addr.Port(), "RealServerIP": host.String(), "RealServerWeight": 1},
	}
	if err := n.Call(n.c, "BindListenerRealServers", map[string]any{"ListenerId": listener, "RealServerBindSet": set}, nil); err != nil {
		n.t.Fatal(err)
	}
	n.waitListener(listener)
	return listener, netip.AddrPortFrom(ip, uint16(port)), rs, p1, p2
}

// TestOneOriginOnTwoPorts: the API lets one real server be bound twice on
// different ports (two services on one host); both must carry traffic
// (rr alternates), and each binding reports its own health: the port
// that stops answering reads abnormal, the other normal.
func TestOneOriginOnTwoPorts(t *testing.T) {
	n := startNode(t)
	listener, addr, _, p1, p2 := n.oneOriginTwoPorts()
	got := map[string]int{}
	for range 10 {
		got[fetch(t, addr)]++
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

// TestRealServerStatisticsPerBinding: DescribeRealServerStatistics names
// no port, so for a real server bound twice to a listener it answers a
// RsStatisticsData series per binding ("<ID>:<port>", as the data plane
// names them), and StatisticsData is
// their minimum per step: when the second port stops answering, the
// first series stays 1, the second reads 0, and so does StatisticsData,
// as DescribeTCPListeners reports the listener's BindStatus abnormal.
func TestRealServerStatisticsPerBinding(t *testing.T) {
	n := startNode(t)
	listener, _, rs, p1, p2 := n.oneOriginTwoPorts()
	p2.Close()
	n.until("port 2 abnormal", func() bool {
		_, bind := n.originStatus("TCP", listener, rs)
		return bind == 0 // TCP: 1 while every bound origin is normal
	})
	// Let the recorder (every 300 ms here) write minutes after the flip.
	time.Sleep(time.Second)
	if err := n.Telemetry.Record(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	type point struct {
		Time int64
		Data *float64
	}
	var r struct {
		StatisticsData   []point
		RsStatisticsData []struct {
			MetricName string
			MetricData []point
		}
	}
	if err := n.Call(n.c, "DescribeRealServerStatistics", map[string]any{"ListenerId": listener, "RealServerId": rs,
		"WithinTime": 1, "Granularity": 60}, &r); err != nil {
		t.Fatal(err)
	}
	// values lists the known values of a series.
	values := func(pts []point) []float64 {
		var out []float64
		for _, p := range pts {
			if p.Data != nil {
				out = append(out, *p.Data)
			}
		}
		return out
	}
	second := fmt.Sprintf("%s:%d", rs, p2.Addr.Port())
	var names []string
	for _, m := range r.RsStatisticsData {
		names = append(names, m.MetricName)
	}
	first := fmt.Sprintf("%s:%d", rs, p1.Addr.Port())
	if !slices.Equal(names, []string{first, second}) {
		t.Fatalf("RsStatisticsData of %s bound on two ports: series %v; want %s and %s", rs, names, first, second)
	}
	if got := values(r.RsStatisticsData[0].MetricData); len(got) == 0 || slices.Contains(got, 0) {
		t.Errorf("series %s (port 1, healthy) = %v; want 1 only", first, got)
	}
	if got := values(r.RsStatisticsData[1].MetricData); !slices.Contains(got, 0) {
		t.Errorf("series %s (port 2, down) = %v; want a 0 (abnormal)", second, got)
	}
	if got := values(r.StatisticsData); !slices.Contains(got, 0) {
		t.Errorf("StatisticsData = %v; want a 0 (abnormal) while port 2 is down, as DescribeTCPListeners reports", got)
	}
}

// TestUDPSessionsKeptWhenBindingsReorderOrAnotherPortLeaves: a UDP
// session lasts across a configuration change unless its origin left or
// changed address (docs/dataplane-l4.md "UDP"). With one real server bound
// on two ports, re-binding the same two in the other order, and then
// unbinding the first port only, must keep the sessions of the bindings
// that stay: the data-plane origin ID is "<server>:<port>"
// (model.OriginID), not a name given by position in the list. Each origin
// answers with the edge socket's source port, so a new session (a new
// upstream socket) shows as another answer.
func TestUDPSessionsKeptWhenBindingsReorderOrAnotherPortLeaves(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	host := origins.Next()
	// Each origin answers its name and the edge socket's source port, so
	// the client can tell which session carried its datagram.
	answer := func(name string) func(netip.AddrPort, []byte) []byte {
		return func(from netip.AddrPort, p []byte) []byte {
			return fmt.Appendf(nil, "%s from %d", name, from.Port())
		}
	}
	p1 := edgetest.StartUDP(t, netip.AddrPortFrom(host, 0), answer("p1"))
	p2 := edgetest.StartUDP(t, netip.AddrPortFrom(host, 0), answer("p2"))
	rs := n.realServers(host)[0]
	listener, port := n.udpListener(proxy, ip, nil)
	bind := func(srvs ...*edgetest.UDPServer) {
		t.Helper()
		var set []map[string]any
		for _, s := range srvs {
			set = append(set, map[string]any{"RealServerId": rs, "RealServerPort": s.Addr.Port(), "RealServerIP": host.String(), "RealServerWeight": 1})
		}
		if err := n.Call(n.c, "BindListenerRealServers", map[string]any{"ListenerId": listener, "RealServerBindSet": set}, nil); err != nil {
			t.Fatal(err)
		}
		n.waitListener(listener)
	}
	bind(p1, p2)

	client := func() func() string {
		c, err := net.Dial("udp", netip.AddrPortFrom(ip, uint16(port)).String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return func() string {
			t.Helper()
			c.SetDeadline(time.Now().Add(3 * time.Second))
			if _, err := c.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 128)
			nr, err := c.Read(buf)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			return string(buf[:nr])
		}
	}
	// rr: two clients, one session on each port.
	a, b := client(), client()
	sa, sb := a(), b()
	if len(sa) < 2 || len(sb) < 2 || sa[:2] == sb[:2] || a() != sa || b() != sb {
		t.Fatalf("want one stable session per port; got %q and %q", sa, sb)
	}

	// 1. The same two bindings again, listed in the other order.
	bind(p2, p1)
	time.Sleep(500 * time.Millisecond) // Past a session sweep (250 ms).
	if ga, gb := a(), b(); ga != sa || gb != sb {
		t.Errorf("re-binding the same origins in another order: sessions %q, %q became %q, %q; want both kept (no origin left or changed address)", sa, sb, ga, gb)
	}

	// 2. Back to [p1, p2] (port 2 is "rs:<p2>" again), then unbind port 1
	// only: the session on port 2, whose origin stays, must be kept.
	bind(p1, p2)
	time.Sleep(500 * time.Millisecond)
	onP2, before := a, a()
	if !strings.HasPrefix(before, "p2") {
		onP2, before = b, b()
	}
	bind(p2)
	time.Sleep(500 * time.Millisecond)
	if after := onP2(); after != before {
		t.Errorf("unbinding port 1 only: the session on port 2 went from %q to %q; want it kept", before, after)
	}
}
