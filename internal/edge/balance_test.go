package edge_test

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

func TestSchedulers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sched   string
		weights []int
		want    map[string]int // Out of 60 connections.
	}{
		{"rr", snapshot.SchedRR, []int{10, 10, 10}, map[string]int{"o0": 20, "o1": 20, "o2": 20}},
		{"wrr", snapshot.SchedWRR, []int{10, 20, 30}, map[string]int{"o0": 10, "o1": 20, "o2": 30}},
		{"wrr zero weight", snapshot.SchedWRR, []int{0, 10, 10}, map[string]int{"o1": 30, "o2": 30}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			os := origins(namedOrigins(t, len(tc.weights))...)
			for i, w := range tc.weights {
				os[i].Weight = w
			}
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			rt := newRuntime(t, edge.Options{})
			l := listener("lsr", snapshot.ProtoTCP, port, os)
			l.Scheduler = tc.sched
			mustApply(t, rt, oneProxy(1, ip, l))
			got := map[string]int{}
			src := lo.Next()
			for range 60 {
				got[readName(t, src, netip.AddrPortFrom(ip, uint16(port)))]++
			}
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("%s: got %d of 60; want %d (all: %v)", k, got[k], w, got)
				}
			}
		})
	}
}

// TestLeastConnections holds connections open on o0 and checks lc avoids it.
func TestLeastConnections(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	busy := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) { _, _ = c.Write([]byte("o0")); <-hold })
	t.Cleanup(func() { close(hold) }) // Runs before the server's cleanup.
	idle := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name("o1")).Addr
	os := origins(busy.Addr, idle)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr", snapshot.ProtoTCP, port, os)
	l.Scheduler = snapshot.SchedLC
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	src := lo.Next()
	// Hold 3 connections on o0; o1 connections close at once.
	for held := 0; held < 3; {
		c := dial(t, src, to)
		buf := make([]byte, 2)
		_, _ = io.ReadFull(c, buf)
		if string(buf) == "o0" {
			held++
		} else {
			_ = c.Close()
		}
	}
	time.Sleep(50 * time.Millisecond) // Let closed o1 connections finish.
	// o1 closes at once, so it always has fewer active connections.
	for range 20 {
		if got := readName(t, src, to); got != "o0" && got != "o1" {
			t.Fatalf("got %q", got)
		} else if got == "o0" {
			t.Fatalf("lc picked the busy origin")
		}
	}
}

// TestLeastConnectionsCountsPendingDials: lc counts a connection from the
// moment its origin is picked, so a burst arriving while dials to a slow
// origin hang (SYNs dropped) spreads out instead of piling onto it. The
// other origin holds one connection, so without pending dials counted the
// slow one, at 0, would take them all.
func TestLeastConnectionsCountsPendingDials(t *testing.T) {
	t.Parallel()
	slow := slowOrigin(t)
	fast := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-lcp", snapshot.ProtoTCP, port, origins(slow, fast.Addr))
	l.Origins[0].ID, l.Origins[1].ID = "lcp-slow", "lcp-fast"
	l.Scheduler = snapshot.SchedLC
	l.ConnectTimeout = 700 * time.Millisecond
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	hold := dial(t, lo.Next(), to)
	_, _ = hold.Write([]byte("x"))
	_, _ = io.ReadFull(hold, make([]byte, 1))
	edgetest.Eventually(t, time.Second, func() bool {
		return rt.Stats().Values[stats.Key{Kind: stats.KindOrigin, ID: "lcp-fast"}].Active == 1
	}, "first connection not on the fast origin")
	const n = 10
	for range n {
		dial(t, lo.Next(), to)
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(l.ConnectTimeout + 300*time.Millisecond)
	fails := rt.Stats().Values[stats.Key{Kind: stats.KindOrigin, ID: "lcp-slow"}].DialFails
	t.Logf("dials to the slow origin: %d of %d", fails, n)
	if fails > n/2+1 {
		t.Fatalf("%d of %d new connections were sent to the origin whose dials were all pending", fails, n)
	}
}

func TestSessionPersistence(t *testing.T) {
	t.Parallel()
	os := origins(namedOrigins(t, 3)...)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr", snapshot.ProtoTCP, port, os)
	l.SessionPersist = 2 * time.Second
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	seen := map[string]bool{}
	for range 3 { // Three clients, three source IPs.
		src := lo.Next()
		first := readName(t, src, to)
		seen[first] = true
		for range 10 {
			if got := readName(t, src, to); got != first {
				t.Fatalf("client %v: got %q; want sticky %q", src, got, first)
			}
		}
	}
	if len(seen) < 2 {
		t.Errorf("clients all on %v; want spread", seen)
	}
}

// TestSessionPersistenceZeroWeightDrains: under wrr, setting the weight of
// the origin a client is pinned to to 0 (draining it) moves the client.
func TestSessionPersistenceZeroWeightDrains(t *testing.T) {
	t.Parallel()
	addrs := namedOrigins(t, 2)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-w0", snapshot.ProtoTCP, port, origins(addrs...))
	l.Scheduler = snapshot.SchedWRR
	l.SessionPersist = time.Minute
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	src := lo.Next()
	first := readName(t, src, to)
	l.Origins = origins(addrs...)
	for i := range l.Origins {
		if l.Origins[i].ID == first {
			l.Origins[i].Weight = 0
		}
	}
	mustApply(t, rt, oneProxy(2, ip, l))
	for i := range 5 {
		if got := readName(t, src, to); got == first {
			t.Fatalf("connection %d went to %s, whose wrr weight is now 0", i, got)
		}
	}
}

// TestRefusingOriginPassedOver: with no health checks, an origin that
// refuses connections costs no client its connection under any scheduler
// (the connect is retried on the other origin) and is tried once, not
// again within FailTimeout (lc would otherwise pick it every time: it
// never holds a connection open; lrtt would, as the unmeasured one).
func TestRefusingOriginPassedOver(t *testing.T) {
	t.Parallel()
	live := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name("live")).Addr
	for _, sched := range []string{snapshot.SchedRR, snapshot.SchedWRR, snapshot.SchedLC, snapshot.SchedLRTT} {
		t.Run(sched, func(t *testing.T) {
			dead := netip.AddrPortFrom(lo.Next(), 9) // A fresh address: nothing listens, connects are refused.
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			rt := newRuntime(t, edge.Options{})
			l := listener("lsr", snapshot.ProtoTCP, port, origins(dead, live))
			l.Scheduler = sched
			mustApply(t, rt, oneProxy(1, ip, l))
			to := netip.AddrPortFrom(ip, uint16(port))
			for i := range 20 {
				if got := readName(t, lo.Next(), to); got != "live" {
					t.Fatalf("connection %d: got %q; want live", i, got)
				}
			}
			if n := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr"}].DialFails; n != 1 {
				t.Errorf("%d connects to the refusing origin failed; want 1", n)
			}
		})
	}
}
