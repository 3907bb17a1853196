package edge_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

func TestTCPForwardHalfCloseAndCounters(t *testing.T) {
	t.Parallel()
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-a", snapshot.ProtoTCP, port, origins(origin.Addr))))

	payload := make([]byte, 3<<20)
	_, _ = rand.Read(payload)
	c := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	go func() {
		_, _ = c.Write(payload)
		_ = c.CloseWrite() // Half-close: the echo must still come back.
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("echo: got %d bytes; want %d identical", len(got), len(payload))
	}
	_ = c.Close()

	want := int64(len(payload))
	edgetest.Eventually(t, 3*time.Second, func() bool {
		v := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-a"}]
		return v.BytesIn == want && v.BytesOut == want && v.Active == 0
	}, "listener counters never matched %d bytes each way", want)
	s := rt.Stats()
	for _, k := range []stats.Key{{Kind: stats.KindListener, ID: "lsr-a"}, {Kind: stats.KindProxy, ID: "link-1"}, {Kind: stats.KindOrigin, ID: "o0"}} {
		v := s.Values[k]
		if v.BytesIn != want || v.BytesOut != want || v.NewConns != 1 {
			t.Errorf("%v: got in=%d out=%d new=%d; want %d, %d, 1", k, v.BytesIn, v.BytesOut, v.NewConns, want, want)
		}
		// TCP's own data-segment counts; loopback's 64 KiB MTU and GSO make
		// them small here, so only check they are counted and bounded.
		if v.PacketsIn <= 0 || v.PacketsOut <= 0 || v.PacketsIn > want || v.PacketsOut > want {
			t.Errorf("%v: packets in=%d out=%d; want in (0, %d]", k, v.PacketsIn, v.PacketsOut, want)
		}
		if v.DialCount != 1 || v.Latency() <= 0 {
			t.Errorf("%v: dials=%d latency=%v; want 1 and > 0", k, v.DialCount, v.Latency())
		}
	}
	t.Logf("packets in=%d out=%d for %d bytes each way",
		s.Values[stats.Key{Kind: stats.KindListener, ID: "lsr-a"}].PacketsIn,
		s.Values[stats.Key{Kind: stats.KindListener, ID: "lsr-a"}].PacketsOut, want)
}

func TestTCPIdleTimeout(t *testing.T) {
	t.Parallel()
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-idle", snapshot.ProtoTCP, port, origins(origin.Addr))
	l.IdleTimeout = 700 * time.Millisecond
	mustApply(t, rt, oneProxy(1, ip, l))
	c := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	start := time.Now()
	_, _ = c.Write([]byte("x"))
	buf := make([]byte, 8)
	_, _ = c.Read(buf)
	if _, err := c.Read(buf); err == nil {
		t.Fatal("read after idle: got data; want close")
	}
	if el := time.Since(start); el < 700*time.Millisecond || el > 2500*time.Millisecond {
		t.Errorf("closed after %v; want ≈ 700ms + sweep", el)
	}
}

func TestConnectFailureCounted(t *testing.T) {
	t.Parallel()
	dead := netip.AddrPortFrom(lo.Next(), 9) // Nothing listens: RST.
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-dead", snapshot.ProtoTCP, port, origins(dead))))
	c := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	if _, err := io.ReadAll(c); err != nil {
		t.Logf("read: %v", err)
	}
	edgetest.Eventually(t, 2*time.Second, func() bool {
		return rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-dead"}].DialFails == 1
	}, "dial failure not counted")
}

// TestOriginCountersOutliveOneListener: an origin's counters are shared by
// the listeners bound to it; removing one listener keeps them counting for
// the other, and they go only when no listener uses the origin.
func TestOriginCountersOutliveOneListener(t *testing.T) {
	t.Parallel()
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	p1, p2 := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	a, b := listener("lsr-1", snapshot.ProtoTCP, p1, origins(origin.Addr)), listener("lsr-2", snapshot.ProtoTCP, p2, origins(origin.Addr))
	mustApply(t, rt, oneProxy(1, ip, a, b))
	key := stats.Key{Kind: stats.KindOrigin, ID: "o0"}
	echo := func() {
		c := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(p2)))
		_, _ = c.Write([]byte("hello"))
		_ = c.CloseWrite()
		if got, err := io.ReadAll(c); err != nil || string(got) != "hello" {
			t.Fatalf("echo through lsr-2: %q, %v", got, err)
		}
		_ = c.Close()
	}
	echo() // Counted before lsr-1 goes: kept counters keep these 5 bytes.
	edgetest.Eventually(t, 3*time.Second, func() bool { return rt.Stats().Values[key].BytesIn == 5 }, "first echo not counted")
	mustApply(t, rt, oneProxy(2, ip, b))
	rt.Sample() // Forgotten keys go after the next sample.
	echo()
	edgetest.Eventually(t, 3*time.Second, func() bool { return rt.Stats().Values[key].BytesIn == 10 },
		"origin o0's counters left the samples with lsr-1, or restarted")
	mustApply(t, rt, oneProxy(3, ip))
	if _, ok := rt.Stats().Values[key]; !ok {
		t.Error("reading the counters (as /metrics does) forgot origin o0's before the recorder's sample")
	}
	// Gone at the first sample that finds none of its connections open
	// (the last echo's may still be closing on the edge).
	edgetest.Eventually(t, 3*time.Second, func() bool {
		rt.Sample()
		_, ok := rt.Stats().Values[key]
		return !ok
	}, "origin o0's counters outlived every listener using it")
}

// listenerCounters counts the listener counter sets a sample holds.
func listenerCounters(s stats.Sample) int {
	n := 0
	for k := range s.Values {
		if k.Kind == stats.KindListener {
			n++
		}
	}
	return n
}

// TestFailedListenerCountersForgotten: a listener that never runs (its
// port is taken, or, for HTTPS, its certificate does not parse) has
// counters all the same (they are registered before the bind), and they go
// with the listener as those of one that ran do. Created and deleted 300
// times, such listeners leave no counter set in samples or /metrics.
func TestFailedListenerCountersForgotten(t *testing.T) {
	t.Parallel()
	echo := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	taken, _ := takenPort(t, ip)
	free := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	v := int64(0)
	for i := range 300 {
		v++
		id := fmt.Sprintf("lsr-f%03d", i)
		p := snapshot.Proxy{ID: "link-1", AccessIP: ip.String()}
		want := edge.StateFailed
		switch i % 3 {
		case 0: // TCP listener on a taken port.
			p.Listeners = []snapshot.Listener{listener(id, snapshot.ProtoTCP, taken, origins(echo.Addr))}
		case 1: // HTTP listener on a taken port.
			p.HTTPListeners = []snapshot.HTTPListener{{ID: id, Protocol: snapshot.ProtoHTTP, Port: taken}}
		case 2: // HTTPS listener whose certificate does not parse.
			p.HTTPListeners = []snapshot.HTTPListener{{ID: id, Protocol: snapshot.ProtoHTTPS, Port: free,
				TLS: &snapshot.TLS{CertPEM: "not a certificate", KeyPEM: "not a key"}}}
			want = edge.StateInvalid
		}
		rep := rt.Apply(&snapshot.Snapshot{Version: v, Proxies: []snapshot.Proxy{p}})
		if st, _ := rep.Listener(id); st.State != want {
			t.Fatalf("%s: %+v; want %s", id, st, want)
		}
		v++
		rt.Apply(oneProxy(v, ip)) // The listener is deleted.
		rt.Sample()
	}
	rt.Sample()
	if n := listenerCounters(rt.Sample()); n > 0 {
		t.Errorf("after 300 listeners that never ran were deleted, samples still hold %d listener counter sets; want 0", n)
	}
	if n := listenerCounters(rt.Stats()); n > 0 {
		t.Errorf("Stats (what /metrics serves) still lists %d deleted listeners", n)
	}
}

// TestTCPCountersNeverGoDown: bytes the edge received but never forwarded
// (its origin stopped reading, then reset) are not published live only to
// be taken back when the connection ends. A cumulative counter that went
// down would read as reused (stats.Delta), and the next minute would count
// the listener's whole history again.
func TestTCPCountersNeverGoDown(t *testing.T) {
	t.Parallel()
	read, stall := make(chan struct{}), make(chan struct{})
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		if _, err := io.CopyN(io.Discard, c, 1<<20); err != nil {
			return // One of the earlier, smaller connections.
		}
		close(read)
		<-stall
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	addr := netip.AddrPortFrom(ip, uint16(port))
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-down", snapshot.ProtoTCP, port, origins(origin.Addr))))
	key := stats.Key{Kind: stats.KindListener, ID: "lsr-down"}
	for range 3 { // History for a wrong delta to count again.
		c := dial(t, lo.Next(), addr)
		_, _ = c.Write(make([]byte, 512<<10))
		_ = c.Close()
	}
	edgetest.Eventually(t, 5*time.Second, func() bool {
		v := rt.Stats().Values[key]
		return v.NewConns == 3 && v.Active == 0
	}, "the first 3 connections not counted and closed")

	c := dial(t, lo.Next(), addr)
	defer c.Close()
	go func() { _, _ = c.Write(make([]byte, 16<<20)) }() // Blocks once every buffer on the way is full.
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("the origin did not get its first MB")
	}
	// The buffers are full once the live count stops moving for a few sweeps.
	var before stats.Sample
	last := int64(-1)
	edgetest.Eventually(t, 20*time.Second, func() bool {
		before = rt.Stats()
		if v := before.Values[key].BytesIn; v != last {
			last = v
			time.Sleep(3 * l4.SweepEvery)
			return false
		}
		return true
	}, "the live byte count kept moving")
	close(stall)
	var after stats.Sample
	edgetest.Eventually(t, 5*time.Second, func() bool {
		after = rt.Stats()
		return after.Values[key].Active == 0
	}, "the stalled connection did not end on its origin's reset")
	b, a := before.Values[key].BytesIn, after.Values[key].BytesIn
	if d := stats.Delta(before, after)[key]; a < b || d.NewConns != 0 {
		t.Errorf("BytesIn went from %d to %d; delta BytesIn %d, NewConns %d; want no decrease and no new connection", b, a, d.BytesIn, d.NewConns)
	}
}

// TestTCPOriginAtOwnListenerRefused: an origin at one of the node's own
// listening addresses would have every connection dial the listener again,
// each hop a new connection, until descriptors (or the proxy's cap) run
// out. The edge refuses to connect there: a connect failure, counted, and
// the connection goes on to another origin if there is one.
func TestTCPOriginAtOwnListenerRefused(t *testing.T) {
	ip := lo.Next()
	port, port2 := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	self := netip.AddrPortFrom(ip, uint16(port))
	good := namedOrigins(t, 1)[0]
	rt := newRuntime(t, edge.Options{})
	s := oneProxy(1, ip, listener("lsr-tloop", snapshot.ProtoTCP, port, origins(self)),
		listener("lsr-tloop2", snapshot.ProtoTCP, port2, origins(self, good)))
	s.Proxies[0].MaxConns = 50 // Bounds the loop should the guard fail.
	mustApply(t, rt, s)
	if got := readName(t, lo.Next(), self); got != "" {
		t.Errorf("got %q from a listener whose only origin is itself; want the connection closed", got)
	}
	for range 4 {
		if got := readName(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port2))); got != "o0" {
			t.Errorf("got %q; want o0, the origin that is not a listener of the node", got)
		}
	}
	v := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-tloop"}]
	if v.Refused != 0 || v.NewConns > 1 || v.DialFails != 1 {
		t.Errorf("listener counters: newConns=%d refused=%d dialFails=%d; want 1 connection, 1 connect failure, nothing refused",
			v.NewConns, v.Refused, v.DialFails)
	}
}

// TestDomainOriginAtUnspecifiedRefused guards the node's reserved API
// (edge.Runtime.Reserve, here a stand-in on 127.0.0.1, the default
// --api-listen's address) against a DOMAIN origin whose name resolves to
// 0.0.0.0, :: or ::ffff:0.0.0.0: a connect there reaches the loopback
// address, so such a name handed any tenant the API and its
// unauthenticated /metrics, though the literal 127.0.0.1 is refused and
// the API refuses the literal 0.0.0.0. What a name resolves to is held to
// the literal's rule (snapshot.NotOneHost), whatever
// --deny-private-origins: it does not resolve, so its checks fail and
// nothing is connected.
func TestDomainOriginAtUnspecifiedRefused(t *testing.T) {
	api := edgetest.StartTCP(t, netip.MustParseAddrPort("127.0.0.1:0"), edgetest.Name("node-api"))
	z := startZone(t)
	names := map[string]netip.Addr{"api4.test": netip.IPv4Unspecified(), "api6.test": netip.IPv6Unspecified(),
		"api-mapped.test": netip.MustParseAddr("::ffff:0.0.0.0")}
	rt := newRuntime(t, edge.Options{Resolver: z.resolver, ResolveEvery: time.Second})
	rt.Reserve(api.Addr)

	ip := lo.Next()
	ports := map[string]int{}
	var ls []snapshot.Listener
	for _, host := range []string{"127.0.0.1", "api4.test", "api6.test", "api-mapped.test"} {
		ports[host] = edgetest.FreePort(t, ip)
		a, isDomain := names[host]
		if isDomain {
			z.set(host, a)
		}
		l := listener("lsr-"+host, snapshot.ProtoTCP, ports[host],
			[]snapshot.Origin{{ID: "o0", Host: host, IsDomain: isDomain, Port: int(api.Addr.Port()), Weight: 10}})
		l.Health = snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond,
			Healthy: 1, Unhealthy: 1}
		ls = append(ls, l)
	}
	mustApply(t, rt, oneProxy(1, ip, ls...))
	// Each name has resolved to nothing usable once its origin reads down
	// for that reason; a check that reaches the API would keep it up.
	unresolved := map[string]bool{}
	waitEvent(t, rt, func(e edge.Event) bool {
		if e.Kind == edge.EventOriginHealth && !e.Healthy && strings.Contains(e.Message, "not the address of one origin server") {
			unresolved[e.Origin] = true
		}
		return len(unresolved) == len(names)
	})
	for host := range ports {
		if got := readName(t, lo.Next(), netip.AddrPortFrom(ip, uint16(ports[host]))); got != "" {
			t.Errorf("origin %s at the reserved API's port: read %q; want the connection closed", host, got)
		}
	}
}

// TestDomainOriginAtUnspecifiedNoLoop: a DOMAIN origin whose name
// resolves to 0.0.0.0 at the listener's own port, on a proxy whose access
// IP is 127.0.0.1 (the first address of a --vip-pool such as
// 127.0.0.0/24), looped: every hop was a new connection through the same
// listener until the proxy's MaxConns. One client connection must make no
// other. The resolver drops the address (snapshot.NotOneHost), as in
// TestDomainOriginAtUnspecifiedRefused, before the own-listener guard
// (health.ErrOwnListener), which reads an unspecified address as loopback
// too, would see it: that guard's case is TestOwnListenerUnspecifiedIsLoopback.
func TestDomainOriginAtUnspecifiedNoLoop(t *testing.T) {
	self := netip.MustParseAddr("127.0.0.1")
	z := startZone(t)
	z.set("loop.test", netip.IPv4Unspecified())
	rt := newRuntime(t, edge.Options{Resolver: z.resolver, ResolveEvery: time.Second})
	port := edgetest.FreePort(t, self)
	l := listener("lsr-loop", snapshot.ProtoTCP, port,
		[]snapshot.Origin{{ID: "o0", Host: "loop.test", IsDomain: true, Port: port, Weight: 10}})
	l.Health = snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond,
		Healthy: 1, Unhealthy: 1}
	s := oneProxy(1, self, l)
	s.Proxies[0].MaxConns = 20 // Bounds the loop should the guard fail.
	mustApply(t, rt, s)
	// The name has resolved to nothing usable once the origin reads down
	// for that reason; checks through the listener itself would keep it up.
	waitEvent(t, rt, func(e edge.Event) bool {
		return e.Kind == edge.EventOriginHealth && !e.Healthy && strings.Contains(e.Message, "not the address of one origin server")
	})

	if got := readName(t, lo.Next(), netip.AddrPortFrom(self, uint16(port))); got != "" {
		t.Errorf("read %q from a listener whose origin is itself; want the connection closed", got)
	}
	if n := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-loop"}].NewConns; n != 1 {
		t.Errorf("one client connection became %d connections through the listener (MaxConns 20); want 1", n)
	}
}

// TestTCPPacketsOfResetConnectionCounted: a client exchanges 64 KiB
// each way through a TCP listener, then resets the connection (SO_LINGER
// 0, as a mobile client killing a connection does) before the edge's
// 500 ms sweep ran. Its packets (TCP_INFO data segments) count as its
// bytes do: they read 0, abort having closed the socket before finish
// read TCP_INFO.
func TestTCPPacketsOfResetConnectionCounted(t *testing.T) {
	t.Parallel()
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-rst", snapshot.ProtoTCP, port, origins(origin.Addr))))

	const size = 64 << 10
	c := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	c.SetDeadline(time.Now().Add(3 * time.Second))
	go c.Write(bytes.Repeat([]byte("x"), size))
	if _, err := io.ReadFull(c, make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	c.SetLinger(0)
	c.Close() // RST.

	key := stats.Key{Kind: stats.KindListener, ID: "lsr-rst"}
	edgetest.Eventually(t, 3*time.Second, func() bool {
		v := rt.Stats().Values[key]
		return v.Active == 0 && v.BytesIn == size
	}, "connection never ended with its bytes counted")
	v := rt.Stats().Values[key]
	if v.PacketsIn <= 0 || v.PacketsOut <= 0 {
		t.Errorf("reset connection carried %d bytes each way (bytes in=%d out=%d counted) but packets in=%d out=%d; want both > 0",
			size, v.BytesIn, v.BytesOut, v.PacketsIn, v.PacketsOut)
	}
}

// TestTCPResetOfQuietSocketEnds guards the sweep's look for resets
// (l4.wasReset): a reset shows only to a copy that reads or writes its
// socket, and in these cases none does, so the other leg, the
// connection's slot and the origin's lc count stayed taken until the idle
// timeout (15 min by default).
func TestTCPResetOfQuietSocketEnds(t *testing.T) {
	t.Parallel()
	quiet := func(done <-chan struct{}) { // Answers late, or never.
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	}
	for _, tc := range []struct {
		name   string
		origin func(net.Conn, <-chan struct{})
		client func(*net.TCPConn)
	}{
		{"client resets after its half-close, the origin still answering", func(c net.Conn, done <-chan struct{}) {
			_, _ = io.ReadAll(c)
			quiet(done)
		}, func(c *net.TCPConn) {
			_, _ = c.Write([]byte("request"))
			_ = c.CloseWrite()
			time.Sleep(300 * time.Millisecond)
			_ = c.SetLinger(0)
			_ = c.Close()
		}},
		{"client resets while its writes wait on an origin not reading", func(c net.Conn, done <-chan struct{}) {
			_ = c.(*net.TCPConn).SetReadBuffer(4096)
			quiet(done)
		}, func(c *net.TCPConn) {
			_ = c.SetWriteBuffer(4096)
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
				_ = c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
				if _, err := c.Write(make([]byte, 1000)); err != nil {
					break // Every buffer on the way is full.
				}
			}
			_ = c.SetLinger(0)
			_ = c.Close()
		}},
		{"origin resets after its half-close", func(c net.Conn, _ <-chan struct{}) {
			_, _ = c.Write([]byte("bye"))
			_ = c.(*net.TCPConn).CloseWrite()
			time.Sleep(300 * time.Millisecond)
			_ = c.(*net.TCPConn).SetLinger(0)
			_ = c.Close()
		}, func(c *net.TCPConn) {
			if b, err := io.ReadAll(c); err != nil || string(b) != "bye" {
				t.Errorf("client read %q, %v; want bye", b, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			done := make(chan struct{})
			origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) { tc.origin(c, done) })
			t.Cleanup(func() { close(done) }) // Before the origin's cleanup waits for its handler.
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			rt := newRuntime(t, edge.Options{})
			mustApply(t, rt, oneProxy(1, ip, listener("lsr-q", snapshot.ProtoTCP, port, origins(origin.Addr))))
			tc.client(dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port))))
			edgetest.Eventually(t, 3*time.Second, func() bool {
				return rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-q"}].Active == 0
			}, "the connection outlived the reset by 3 s")
		})
	}
}

// TestTCPUploadOutlivesEarlyAnswer: a socket the FIN exchange closed (the
// client's FIN, then the edge's after the origin's early answer) is in
// TCP_CLOSE as a reset one is, while the client's upload still waits on
// the origin: the reset check must not take it for one and cut the upload
// (a check of the state alone delivered half of it).
func TestTCPUploadOutlivesEarlyAnswer(t *testing.T) {
	t.Parallel()
	const size = 8 << 20
	got := make(chan int64, 1)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_, _ = c.Write([]byte("ok"))
		_ = c.(*net.TCPConn).CloseWrite()
		time.Sleep(1500 * time.Millisecond) // Three sweeps.
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := io.Copy(io.Discard, c)
		got <- n
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-up", snapshot.ProtoTCP, port, origins(origin.Addr))))
	c := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	go func() {
		_, _ = c.Write(make([]byte, size))
		_ = c.CloseWrite()
	}()
	if b, err := io.ReadAll(c); err != nil || string(b) != "ok" {
		t.Fatalf("client read %q, %v; want ok", b, err)
	}
	select {
	case n := <-got:
		if n != size {
			t.Errorf("origin received %d bytes of the %d-byte upload", n, size)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("the origin never saw the upload end")
	}
}
