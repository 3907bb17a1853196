package edge_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

func udpClient(t *testing.T, src netip.Addr, to netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func udpRoundTrip(t *testing.T, c *net.UDPConn, msg string) string {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("udp read: %v", err)
	}
	return string(buf[:n])
}

func TestUDPSessionsAndCounters(t *testing.T) {
	t.Parallel()
	a := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("a:"))
	b := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("b:"))
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-u", snapshot.ProtoUDP, port, origins(a.Addr, b.Addr))
	l.IdleTimeout = 2 * time.Second // c2 idles while c1 makes 50 round trips: room for a loaded box.
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))

	c1, c2 := udpClient(t, lo.Next(), to), udpClient(t, lo.Next(), to)
	first1, first2 := udpRoundTrip(t, c1, "x")[:2], udpRoundTrip(t, c2, "x")[:2]
	if first1 == first2 {
		t.Errorf("both sessions on %s; want rr across a and b", first1)
	}
	for i := range 50 { // A session sticks to its origin.
		msg := fmt.Sprint(i)
		if got := udpRoundTrip(t, c1, msg); got != first1+msg {
			t.Fatalf("got %q; want %q", got, first1+msg)
		}
	}
	// A datagram is counted once its send returned, which may be after
	// its answer came back: wait for the last one, at most a moment.
	var v stats.Values
	for end := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		if v = rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-u"}]; v.PacketsIn >= 52 && v.PacketsOut >= 52 || time.Now().After(end) {
			break
		}
	}
	if v.PacketsIn != 52 || v.PacketsOut != 52 || v.NewConns != 2 || v.Active != 2 {
		t.Errorf("got %+v; want 52 packets each way, 2 sessions", v)
	}
	wantIn := int64(2 + 90) // "x"×2 + "0".."49" (10×1 + 40×2 bytes).
	if v.BytesIn != wantIn || v.BytesOut != wantIn+52*2 {
		t.Errorf("bytes in=%d out=%d; want %d and %d", v.BytesIn, v.BytesOut, wantIn, wantIn+52*2)
	}
	edgetest.Eventually(t, 5*time.Second, func() bool {
		return rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-u"}].Active == 0
	}, "sessions never expired")
}

// TestOpenCountsUDPSessions: Open (what serve's shutdown line says it
// drains) counts live UDP sessions apart from connections, and drops them
// once idle: a drain waits for them with no TCP connection open.
func TestOpenCountsUDPSessions(t *testing.T) {
	t.Parallel()
	a := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("a:"))
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-open", snapshot.ProtoUDP, port, origins(a.Addr))
	l.IdleTimeout = 2 * time.Second // Both sessions live through the round trips on a loaded machine.
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	udpRoundTrip(t, udpClient(t, lo.Next(), to), "x")
	udpRoundTrip(t, udpClient(t, lo.Next(), to), "x")
	if conns, sessions := rt.Open(); conns != 0 || sessions != 2 {
		t.Errorf("Open() = %d connections, %d UDP sessions; want 0 and 2", conns, sessions)
	}
	edgetest.Eventually(t, 5*time.Second, func() bool {
		conns, sessions := rt.Open()
		return conns == 0 && sessions == 0
	}, "Open still counts sessions after their idle timeout")
}

func TestUDPProxyProtocolV2AndACL(t *testing.T) {
	t.Parallel()
	hdrs := make(chan *proxyproto.Header, 4)
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte {
		h, err := proxyproto.Read(bufio.NewReader(bytes.NewReader(p)))
		if err != nil {
			return []byte("no header")
		}
		hdrs <- h
		return []byte("ok")
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	good, bad := lo.Next(), lo.Next()
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-upp", snapshot.ProtoUDP, port, origins(origin.Addr))
	l.ClientIP = snapshot.ClientIPPPV2
	s := oneProxy(1, ip, l)
	s.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp", Enabled: true, DefaultAction: snapshot.ActionAccept,
		Rules: []snapshot.SecurityRule{{SourceCIDR: bad.String(), Protocol: "UDP", DestPorts: "ALL", Action: snapshot.ActionDrop}}}
	mustApply(t, rt, s)
	to := netip.AddrPortFrom(ip, uint16(port))
	c := udpClient(t, good, to)
	if got := udpRoundTrip(t, c, "hello"); got != "ok" {
		t.Fatalf("got %q; want ok", got)
	}
	h := <-hdrs
	src, _, _ := h.UDPAddrs()
	if h.Version != 2 || src.AddrPort() != c.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Errorf("header: got v%d from %v; want v2 from %v", h.Version, src, c.LocalAddr())
	}
	d := udpClient(t, bad, to)
	_, _ = d.Write([]byte("hello"))
	_ = d.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := d.Read(make([]byte, 16)); err == nil {
		t.Error("denied UDP source got a reply")
	}
	// Counted by the edge's read loop: nothing the client saw orders it.
	edgetest.Eventually(t, 2*time.Second, func() bool {
		return rt.Stats().Values[stats.Key{Kind: stats.KindProxy, ID: "link-1"}].Denied == 1
	}, "the denied datagram not counted once (Denied != 1)")
}

func TestTCPProxyProtocol(t *testing.T) {
	t.Parallel()
	for _, mode := range []snapshot.ClientIPMode{snapshot.ClientIPPPV1, snapshot.ClientIPPPV2} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			hdrs := make(chan *proxyproto.Header, 1)
			origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
				br := bufio.NewReader(c)
				h, err := proxyproto.Read(br)
				if err != nil {
					return
				}
				hdrs <- h
				line, _ := br.ReadString('\n')
				_, _ = c.Write([]byte(line))
			})
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			rt := newRuntime(t, edge.Options{})
			l := listener("lsr-pp", snapshot.ProtoTCP, port, origins(origin.Addr))
			l.ClientIP = mode
			mustApply(t, rt, oneProxy(1, ip, l))
			c := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
			_, _ = c.Write([]byte("hi\n"))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || line != "hi\n" {
				t.Fatalf("payload after header: got %q, %v", line, err)
			}
			h := <-hdrs
			src, dst, _ := h.TCPAddrs()
			wantV := map[snapshot.ClientIPMode]byte{snapshot.ClientIPPPV1: 1, snapshot.ClientIPPPV2: 2}[mode]
			if h.Version != wantV || src.String() != c.LocalAddr().String() || dst.String() != c.RemoteAddr().String() {
				t.Errorf("got v%d %v→%v; want v%d %v→%v", h.Version, src, dst, wantV, c.LocalAddr(), c.RemoteAddr())
			}
		})
	}
}

// udpWithSession starts a UDP listener (idle timeout 10 s) on a runtime
// with the given drain grace, and one live session through it.
func udpWithSession(t *testing.T, grace time.Duration, id string) (*edge.Runtime, netip.Addr, snapshot.Listener, *net.UDPConn) {
	t.Helper()
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("o:"))
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{DrainGrace: grace})
	l := listener(id, snapshot.ProtoUDP, port, origins(origin.Addr))
	l.IdleTimeout = 10 * time.Second
	mustApply(t, rt, oneProxy(1, ip, l))
	live := udpClient(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	if got := udpRoundTrip(t, live, "1"); got != "o:1" {
		t.Fatalf("first round trip: %q", got)
	}
	return rt, ip, l, live
}

// TestUDPDrain: a removed UDP listener stops taking new clients at once,
// keeps serving its live sessions through the same socket for the drain
// grace, then closes and frees the port.
func TestUDPDrain(t *testing.T) {
	t.Parallel()
	rt, ip, l, live := udpWithSession(t, 1500*time.Millisecond, "lsr-ud")
	to := netip.AddrPortFrom(ip, uint16(l.Port))

	start := time.Now()
	rep := mustApply(t, rt, oneProxy(2, ip))
	if st, _ := rep.Listener("lsr-ud"); st.State != edge.StateDraining {
		t.Fatalf("removed listener: state %q; want draining", st.State)
	}
	if got := udpRoundTrip(t, live, "2"); got != "o:2" {
		t.Errorf("live session while draining: %q; want o:2", got)
	}
	refusesNewClients(t, to)
	// A refused client is not a session: no origin dialed, nothing counted.
	if got := rt.Stats().Values[stats.Key{Kind: stats.KindProxy, ID: "link-1"}].NewConns; got != 1 {
		t.Errorf("proxy NewConns %d after a new client hit the drain; want 1", got)
	}
	edgetest.Eventually(t, 5*time.Second, func() bool {
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(to))
		if err == nil {
			pc.Close()
		}
		return err == nil
	}, "port still bound after the grace")
	if took := time.Since(start); took < time.Second {
		t.Errorf("port freed after %v; want the 1.5 s grace (the session was live)", took)
	}
}

// refusesNewClients fails the test if a new client gets an answer from to.
func refusesNewClients(t *testing.T, to netip.AddrPort) {
	t.Helper()
	late := udpClient(t, lo.Next(), to)
	_ = late.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := late.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if n, err := late.Read(make([]byte, 64)); err == nil {
		t.Errorf("a new client got an answer (%d bytes) from %v; want none", n, to)
	}
}

// TestUDPDrainYieldsPort: a listener that wants the port of a draining UDP
// listener (here HTTP/3) gets it in the same Apply; the drain is cut.
func TestUDPDrainYieldsPort(t *testing.T) {
	t.Parallel()
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{}) // DrainGrace: the default 30 s.
	a := httpOrigin(t, "a", nil)
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("o:"))
	l := listener("lsr-ud", snapshot.ProtoUDP, port, origins(origin.Addr))
	l.IdleTimeout = time.Minute
	mustApply(t, rt, oneProxy(1, ip, l))
	if got := udpRoundTrip(t, udpClient(t, lo.Next(), addr), "1"); got != "o:1" {
		t.Fatalf("UDP listener: %q", got)
	}
	rep := mustApply(t, rt, httpProxy(2, ip, h3Listener(t, ca, port, a)))
	if st, _ := rep.Listener("lsr-h3"); st.State != edge.StateRunning {
		t.Fatalf("HTTP/3 listener on the draining port: %q %q; want running", st.State, st.Error)
	}
	if _, s, body := get(t, h3Client(t, lo.Next(), addr, ca.pool), "https://www.test/", "www.test"); s.Name != "a" {
		t.Errorf("HTTP/3 through the yielded port: origin %q (%q)", s.Name, body)
	}
}

// TestUDPDrainClosedProxy: closing a proxy drains its UDP listener like a
// removal does; the listener, still in the snapshot, does not claim its
// own port back and cut the drain.
func TestUDPDrainClosedProxy(t *testing.T) {
	t.Parallel()
	rt, ip, l, live := udpWithSession(t, 5*time.Second, "lsr-uc")
	closed := oneProxy(2, ip, l)
	closed.Proxies[0].Closed = true
	rep := mustApply(t, rt, closed)
	if st, _ := rep.Listener("lsr-uc"); st.State != edge.StateDraining {
		t.Errorf("listener of a closed proxy: state %q; want draining", st.State)
	}
	if got := udpRoundTrip(t, live, "2"); got != "o:2" {
		t.Errorf("live session of a closed proxy while draining: %q; want o:2", got)
	}
	refusesNewClients(t, netip.AddrPortFrom(ip, uint16(l.Port)))
}

// TestUDPSessionFailsOver: a session whose origin fails its health checks
// ends while another origin is up, so a client that keeps sending moves
// there (within fall × interval plus the session sweep).
func TestUDPSessionFailsOver(t *testing.T) {
	t.Parallel()
	var alive [2]atomic.Bool
	var addrs []netip.AddrPort
	for i, name := range []string{"a:", "b:"} {
		alive[i].Store(true)
		s := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte {
			switch {
			case !alive[i].Load():
				return nil
			case string(p) == "ping":
				return []byte("pong")
			}
			return append([]byte(name), p...)
		})
		addrs = append(addrs, s.Addr)
	}
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-uf", snapshot.ProtoUDP, port, origins(addrs...))
	const interval = 100 * time.Millisecond
	l.Health = snapshot.HealthCheck{Enabled: true, Interval: interval, Timeout: 50 * time.Millisecond,
		Healthy: 2, Unhealthy: 2, Send: "ping", Recv: "pong"}
	mustApply(t, rt, oneProxy(1, ip, l))
	c := udpClient(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	first := udpRoundTrip(t, c, "x")[:2]
	dead, other := 0, "b:"
	if first == "b:" {
		dead, other = 1, "a:"
	}
	alive[dead].Store(false)
	down := time.Now()
	buf := make([]byte, 64)
	for {
		if time.Since(down) > 3*time.Second {
			t.Fatalf("the session stayed on the dead origin %s", first)
		}
		if _, err := c.Write([]byte("y")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == other+"y" {
			break
		}
	}
	t.Logf("moved to %s after %v", other, time.Since(down))
}

// TestUDPCheckPort: UDP PORT checks probe the listener's CheckPort when
// set, the origin's own port otherwise.
func TestUDPCheckPort(t *testing.T) {
	t.Parallel()
	host := lo.Next()
	service := edgetest.StartUDP(t, netip.AddrPortFrom(host, 0), edgetest.Prefix("s:")) // "s:ping": no "pong".
	probe := edgetest.StartUDP(t, netip.AddrPortFrom(host, 0), func(_ netip.AddrPort, p []byte) []byte {
		if string(p) == "ping" {
			return []byte("pong")
		}
		return nil
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-cp", snapshot.ProtoUDP, port, origins(service.Addr))
	l.Health = snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond,
		Healthy: 1, Unhealthy: 1, Send: "ping", Recv: "pong", Port: int(probe.Addr.Port())}
	mustApply(t, rt, oneProxy(1, ip, l))
	edgetest.Eventually(t, 2*time.Second, func() bool { return probe.Received.Load() >= 3 }, "the check port was not probed")
	// Polled: one answer later than the 50 ms timeout on a loaded machine
	// takes the origin down until the next check.
	edgetest.Eventually(t, 2*time.Second, func() bool { return rt.Health()["lsr-cp/o0"].Healthy },
		"unhealthy while the check port answers")
	l.Health.Port = 0
	mustApply(t, rt, oneProxy(2, ip, l))
	edgetest.Eventually(t, 2*time.Second, func() bool { return !rt.Health()["lsr-cp/o0"].Healthy },
		"healthy though the service port does not answer the probe")
}

// TestUDPLeastRTT: UDP has no connect to time, so lrtt ranks UDP origins
// by their health probes' reply time: new sessions go to the faster one.
func TestUDPLeastRTT(t *testing.T) {
	t.Parallel()
	addrs := slowFastUDP(t, 40*time.Millisecond)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-ul", snapshot.ProtoUDP, port, origins(addrs...))
	l.Scheduler = snapshot.SchedLRTT
	l.Health = snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 90 * time.Millisecond,
		Healthy: 1, Unhealthy: 3, Send: "ping", Recv: "pong"}
	mustApply(t, rt, oneProxy(1, ip, l))
	time.Sleep(500 * time.Millisecond) // Several probes of each.
	to := netip.AddrPortFrom(ip, uint16(port))
	for i := range 6 {
		if got := udpRoundTrip(t, udpClient(t, lo.Next(), to), "x"); got != "fast:x" {
			t.Fatalf("session %d: got %q; want the faster origin", i, got)
		}
	}
}

// TestUDPLeastRTTSilentOriginRanksLast: a UDP listener under lrtt with the
// default check (PORT, no payloads: a 1-byte probe, passed by anything but
// an ICMP port unreachable). Origin "live" answers every datagram, so its
// probes measure it; origin "silent" answers nothing (a host that is down
// without ICMP, a service that ignores the probe), so it passes with no
// figure. Unmeasured ranks after measured once checks run: it read 0 for
// good (with checks on a figure is never stale), which lrtt ranks first,
// and every session went to the origin that answers nothing.
func TestUDPLeastRTTSilentOriginRanksLast(t *testing.T) {
	t.Parallel()
	live := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("live:"))
	silent := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(netip.AddrPort, []byte) []byte { return nil })
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-ulsil", snapshot.ProtoUDP, port, origins(live.Addr, silent.Addr))
	l.Scheduler = snapshot.SchedLRTT
	l.Health = snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 90 * time.Millisecond,
		Healthy: 1, Unhealthy: 3}
	mustApply(t, rt, oneProxy(1, ip, l))
	time.Sleep(500 * time.Millisecond) // Several probes of each.
	if h := rt.Health(); !h["lsr-ulsil/o0"].Healthy || !h["lsr-ulsil/o1"].Healthy {
		t.Fatalf("health %+v; want both origins passing their checks", h)
	}
	to := netip.AddrPortFrom(ip, uint16(port))
	buf := make([]byte, 64)
	for i := range 6 {
		c := udpClient(t, lo.Next(), to)
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = c.Write([]byte("x"))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "live:x" {
			t.Fatalf("session %d: %q, %v; want the answer of the origin that answers its probes, not the silent one", i, buf[:n], err)
		}
	}
}

// slowFastUDP starts two UDP origins that answer a "ping" probe with
// "pong", the first after delay, the second at once, and echo other
// datagrams prefixed with "slow:" and "fast:": for lrtt tests, whose UDP
// origins are ranked by their probes' reply time.
func slowFastUDP(t *testing.T, delay time.Duration) []netip.AddrPort {
	var addrs []netip.AddrPort
	for _, o := range []struct {
		name  string
		delay time.Duration
	}{{"slow:", delay}, {"fast:", 0}} {
		s := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte {
			if string(p) == "ping" {
				time.Sleep(o.delay)
				return []byte("pong")
			}
			return append([]byte(o.name), p...)
		})
		addrs = append(addrs, s.Addr)
	}
	return addrs
}

// TestUDPNoOriginDrops: datagrams no origin can take are counted lost.
func TestUDPNoOriginDrops(t *testing.T) {
	t.Parallel()
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-un", snapshot.ProtoUDP, port, nil)))
	c := udpClient(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	for range 3 {
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	edgetest.Eventually(t, 2*time.Second, func() bool {
		return rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-un"}].Dropped == 3
	}, "datagrams without an origin not counted as dropped")
}

// TestUDPRefusedSendCountedOnlyAsLost: a datagram the kernel refuses to
// send upstream (the pending ICMP port unreachable from the origin) counts
// as lost and not also as a packet in; a datagram the origin refused
// (read as ECONNREFUSED by the session) counts as lost too, though it was
// sent. A listener whose only origin refuses keeps sending it datagrams.
func TestUDPRefusedSendCountedOnlyAsLost(t *testing.T) {
	t.Parallel()
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	dead := netip.AddrPortFrom(lo.Next(), uint16(edgetest.FreePort(t, ip))) // Nothing listens there.
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-ud", snapshot.ProtoUDP, port, origins(dead))))
	c := udpClient(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	const sent = 40
	for range sent {
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // Lets the unreachable come back, to refuse the next send.
	}
	key := stats.Key{Kind: stats.KindListener, ID: "lsr-ud"}
	var v stats.Values
	edgetest.Eventually(t, 2*time.Second, func() bool {
		v = rt.Stats().Values[key]
		return v.PacketsIn+v.Dropped >= sent
	}, "the datagrams not all counted")
	if v.Dropped == 0 {
		t.Fatal("no send was refused: nothing to check")
	}
	if v.PacketsIn > sent || v.BytesIn != v.PacketsIn || v.DialFails != 0 {
		t.Errorf("%d datagrams of 1 byte: PacketsIn %d, BytesIn %d, Dropped %d, DialFails %d; want PacketsIn = BytesIn ≤ %d, no dial failure",
			sent, v.PacketsIn, v.BytesIn, v.Dropped, v.DialFails, sent)
	}
}

// TestUDPReplyTruncatedAndHeaderChange: a session's first origin reply
// larger than its buffers (udpBuf) is dropped and counted, not cut short,
// and its buffers grow, so the next such reply is forwarded whole; and a
// listener whose ClientIP mode changes ends its sessions, so a live
// client's next datagram carries the new header (PROXY v2 here).
func TestUDPReplyTruncatedAndHeaderChange(t *testing.T) {
	t.Parallel()
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte {
		switch {
		case bytes.HasPrefix(p, []byte("\r\n\r\n\x00\r\nQUIT\n")):
			return []byte("with header")
		case string(p) == "big":
			return bytes.Repeat([]byte("x"), 9217)
		}
		return []byte("plain")
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-ut", snapshot.ProtoUDP, port, origins(origin.Addr))
	mustApply(t, rt, oneProxy(1, ip, l))
	c := udpClient(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	if got := udpRoundTrip(t, c, "hello"); got != "plain" {
		t.Fatalf("first reply %q; want plain", got)
	}

	if _, err := c.Write([]byte("big")); err != nil {
		t.Fatal(err)
	}
	key := stats.Key{Kind: stats.KindListener, ID: "lsr-ut"}
	edgetest.Eventually(t, 2*time.Second, func() bool { return rt.Stats().Values[key].Dropped == 1 },
		"a 9217-byte reply was not counted as dropped")
	// Nothing of it reached the client: the next reply read is the next one's.
	if got := udpRoundTrip(t, c, "hello"); got != "plain" {
		t.Fatalf("after the oversized reply got %q; want plain (the oversized one dropped whole)", got)
	}
	if _, err := c.Write([]byte("big")); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 65536)
	if n, err := c.Read(big); err != nil || n != 9217 {
		t.Fatalf("second 9217-byte reply: got %d bytes, %v; want it whole (the session's buffers grew)", n, err)
	}

	l.ClientIP = snapshot.ClientIPPPV2
	mustApply(t, rt, oneProxy(2, ip, l))
	if got := udpRoundTrip(t, c, "hello"); got != "with header" {
		t.Errorf("after switching to PROXY v2 the live client's datagram arrived %q; want with header", got)
	}
}

// TestUDPSessionSurvivesHealthCheckChange: changing only a listener's
// health-check settings keeps its UDP sessions (the origin is the same):
// the live client's datagrams start no new session.
func TestUDPSessionSurvivesHealthCheckChange(t *testing.T) {
	t.Parallel()
	rt, ip, l, c := udpWithSession(t, time.Second, "lsr-uhc")
	key := stats.Key{Kind: stats.KindListener, ID: "lsr-uhc"}
	for v, hc := range []snapshot.HealthCheck{
		{Enabled: true, Interval: time.Second},
		{Enabled: true, Interval: 2 * time.Second, Unhealthy: 5},
		{},
	} {
		l.Health = hc
		mustApply(t, rt, oneProxy(int64(v+2), ip, l))
		if got := udpRoundTrip(t, c, "2"); got != "o:2" {
			t.Fatalf("health-check change %d: reply %q", v+1, got)
		}
		if n := rt.Stats().Values[key].NewConns; n != 1 {
			t.Fatalf("health-check change %d: %d sessions; want the first one kept", v+1, n)
		}
	}
}

// TestUDPOriginAtOwnListenerRefused: a UDP listener whose origin is its
// own address (or any listener address of the node) would turn one
// datagram into a forwarding loop, each hop from a new upstream socket and
// so a new session, until the node's client descriptor budget is full and every
// proxy's new clients are refused. The edge refuses to send there.
func TestUDPOriginAtOwnListenerRefused(t *testing.T) {
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	self := netip.AddrPortFrom(ip, uint16(port))
	victim := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("v:"))
	vip := lo.Next()
	vport := edgetest.FreePort(t, vip)
	rt := newRuntime(t, edge.Options{MaxClientDescriptors: 2000})
	loop := listener("lsr-loop", snapshot.ProtoUDP, port, origins(self))
	other := listener("lsr-victim", snapshot.ProtoUDP, vport, origins(victim.Addr))
	s := &snapshot.Snapshot{Version: 1, Proxies: []snapshot.Proxy{
		{ID: "link-attacker", AccessIP: ip.String(), Listeners: []snapshot.Listener{loop}},
		{ID: "link-victim", AccessIP: vip.String(), Listeners: []snapshot.Listener{other}},
	}}
	mustApply(t, rt, s)
	c := udpClient(t, lo.Next(), self)
	if _, err := c.Write([]byte("one datagram")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	_, sessions := rt.Open()
	t.Logf("UDP sessions one second after a single datagram: %d", sessions)
	v := udpClient(t, lo.Next(), netip.AddrPortFrom(vip, uint16(vport)))
	_, _ = v.Write([]byte("hi"))
	_ = v.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 64)
	n, err := v.Read(buf)
	if sessions > 10 {
		t.Errorf("one datagram to a listener whose origin is itself opened %d UDP sessions (bound 2000)", sessions)
	}
	if err != nil {
		t.Errorf("another proxy's new client was refused: %v", err)
	} else {
		t.Logf("victim got %q", buf[:n])
	}
}

// TestUDPCheckPortAtOwnListenerRefused guards the own-listener check of a
// UDP PORT check with its own port (GAAP's CheckPort): it was run on the
// origin's port, not on CheckPort, where the probe goes. An origin on the
// proxy's access IP with CheckPort = another UDP listener's port sent
// every probe into that listener, which forwarded it to its origin as a
// client datagram (a new session and socket each time), and the check
// passed on that origin's answer. The check must fail unsent.
func TestUDPCheckPortAtOwnListenerRefused(t *testing.T) {
	var probes atomic.Int64
	sink := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte {
		probes.Add(1)
		return []byte("PONG")
	})
	ip := lo.Next()
	port, port2, unused := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	checked := listener("lsr-checked", snapshot.ProtoUDP, port2,
		[]snapshot.Origin{{ID: "o0", Host: ip.String(), Port: unused, Weight: 10}})
	checked.Health = snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond,
		Healthy: 1, Unhealthy: 1, CheckType: snapshot.CheckPort, ContextType: snapshot.TextPlain,
		Send: "PING", Recv: "PONG", Port: port}
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-sink", snapshot.ProtoUDP, port, origins(sink.Addr)), checked))
	// A probe answered through the other listener would keep it up.
	waitEvent(t, rt, func(e edge.Event) bool {
		return e.Kind == edge.EventOriginHealth && !e.Healthy && strings.Contains(e.Message, health.ErrOwnListener.Error())
	})
	if n := probes.Load(); n != 0 {
		t.Errorf("%d probes went through the node's own listener to its origin; want none", n)
	}
}

// TestUDPPacketLossOfRefusingOrigin: a listener whose only origin answers
// every datagram with ICMP port unreachable loses all of them. Each was
// counted as sent and as lost, so PacketLoss read 50 %.
func TestUDPPacketLossOfRefusingOrigin(t *testing.T) {
	ip, deadIP := lo.Next(), lo.Next()
	port := edgetest.FreePort(t, ip)
	dead := netip.AddrPortFrom(deadIP, uint16(edgetest.FreePort(t, deadIP))) // Nothing listens there.
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-loss", snapshot.ProtoUDP, port, origins(dead))))
	c := udpClient(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	const sent = 20
	key := stats.Key{Kind: stats.KindListener, ID: "lsr-loss"}
	for range sent {
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // Each ICMP comes back before the next datagram.
	}
	var v stats.Values
	for start := time.Now(); time.Since(start) < 2*time.Second; time.Sleep(20 * time.Millisecond) {
		if v = rt.Stats().Values[key]; v.Dropped >= sent {
			break
		}
	}
	if v.Dropped != sent || v.PacketLoss() != 100 {
		t.Errorf("%d datagrams sent, all refused: PacketsIn %d, Dropped %d, Bounced %d: PacketLoss %.1f %%; want %d dropped and 100 %%",
			sent, v.PacketsIn, v.Dropped, v.Bounced, v.PacketLoss(), sent)
	}
}

// TestUDPRefusingOriginMovesSessions: with health checks off (the GAAP
// default for UDP listeners), an origin that answers a datagram with ICMP
// port unreachable (ECONNREFUSED on the session's connected socket) is
// treated as a refused TCP connect: the datagram counts as lost, the
// origin is suspect, so new clients go elsewhere, and the client's next
// datagram starts a session on another origin, even one that persistence
// pins to the refusing origin; also after a change of the listener that
// kept the session (its origin was a target of the earlier Picker, which
// the new one once did not recognise as tried: the pinned client went
// back to the refusing origin once more).
func TestUDPRefusingOriginMovesSessions(t *testing.T) {
	for _, persist := range []time.Duration{0, time.Minute} {
		for _, change := range []bool{false, true} {
			t.Run(fmt.Sprint("persist ", persist, " change ", change), func(t *testing.T) { testUDPRefusingOrigin(t, persist, change) })
		}
	}
}

func testUDPRefusingOrigin(t *testing.T, persist time.Duration, change bool) {
	a := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("a:"))
	b := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("b:"))
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-rvdead", snapshot.ProtoUDP, port,
		origins(a.Addr, b.Addr))
	l.SessionPersist = persist
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	c := udpClient(t, lo.Next(), to)
	first := udpRoundTrip(t, c, "x")[:2]
	if change { // Health-check settings alone: the session stays.
		l.Health = snapshot.HealthCheck{Enabled: true, Interval: time.Minute, Timeout: time.Second}
		mustApply(t, rt, oneProxy(2, ip, l))
		if got := udpRoundTrip(t, c, "x")[:2]; got != first {
			t.Fatalf("session moved by the change: %s → %s", first, got)
		}
	}
	other := "b:"
	if first == "a:" {
		a.Close() // The origin is gone: its port answers ICMP port unreachable.
	} else {
		b.Close()
		other = "a:"
	}
	buf := make([]byte, 64)
	moved, lost := false, 0
	for ; lost < 15 && !moved; lost++ {
		_, _ = c.Write([]byte("y"))
		// Long enough for a loaded box: a datagram read as lost must not
		// be one whose answer, or whose refusal, was merely late.
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == other+"y" {
			moved = true
		}
	}
	lost-- // The datagram that got through.
	served := 0
	for range 6 {
		d := udpClient(t, lo.Next(), to)
		_, _ = d.Write([]byte("z"))
		// Long enough for a loaded box: a datagram sent to the refusing
		// origin gets no answer however long one waits.
		_ = d.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := d.Read(buf); err == nil {
			served++
		}
	}
	v := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-rvdead"}]
	t.Logf("listener counters: packetsIn=%d packetsOut=%d dropped=%d dialFails=%d", v.PacketsIn, v.PacketsOut, v.Dropped, v.DialFails)
	if !moved {
		t.Errorf("client whose origin %s refuses every datagram was never moved to %s (15 datagrams blackholed, 1 s each)", first, other)
	} else if lost > 1 {
		t.Errorf("%d datagrams lost on the refusing origin %s before the client moved; want 1 (the refused one)", lost, first)
	}
	if served != 6 {
		t.Errorf("%d of 6 new clients served; the scheduler keeps sending new clients to the refusing origin", served)
	}
	if v.Dropped == 0 {
		t.Errorf("no datagram counted as dropped; want the refused ones (PacketLoss)")
	}
}

// TestUDPLargeDatagramsForwarded: UDP datagrams of 9217 to 65507 bytes
// (legal, and on the wire often IPv4 fragments the kernel reassembles, as
// health probes of up to 65507 bytes are accepted) are forwarded whole,
// the first one included (the batch's spill buffer), and nothing is lost.
func TestUDPLargeDatagramsForwarded(t *testing.T) {
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte {
		return []byte(fmt.Sprint(len(p)))
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-big", snapshot.ProtoUDP, port, origins(origin.Addr))))
	c := udpClient(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	buf := make([]byte, 64)
	for _, size := range []int{1472, 9216, 9217, 16384, 65507} {
		if _, err := c.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != fmt.Sprint(size) {
			t.Errorf("%d-byte datagram: origin reply %q, %v; want it forwarded", size, buf[:n], err)
		}
	}
	if v := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-big"}]; v.Dropped != 0 {
		t.Errorf("%d datagrams dropped; want none", v.Dropped)
	}
}

// TestUDPOneShotLargeRepliesForwarded: a session's first reply over 9216
// bytes is lost (its buffers are small until then). A client that sends
// each request from a new source port (DNS, SNMP) starts a session per
// request, and lost every large reply; after the first, the listener's
// sessions start with buffers that hold it.
func TestUDPOneShotLargeRepliesForwarded(t *testing.T) {
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte {
		return bytes.Repeat([]byte("r"), 12000)
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-1shot", snapshot.ProtoUDP, port, origins(origin.Addr))))
	to := netip.AddrPortFrom(ip, uint16(port))
	src := lo.Next()
	got := 0
	const queries = 5
	buf := make([]byte, 65536)
	for range queries {
		c := udpClient(t, src, to) // A new source port per query.
		_, _ = c.Write([]byte("query"))
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(buf); err == nil && n == 12000 {
			got++
		}
	}
	if v := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-1shot"}]; got < queries-1 {
		t.Errorf("%d of %d 12000-byte replies, each to a new session, reached their client (Dropped %d); want all but the first", got, queries, v.Dropped)
	}
}

// TestUDPSessionOneReplyHoldsOneBuffer: a session whose origin answers one
// datagram at a time (DNS, or a flood of sources each answered once) keeps
// its one 9 KiB reply buffer; a whole batch of 32 (288 KiB) would make
// each client that got an answer cost the node 32 times as much until its
// session expires.
func TestUDPSessionOneReplyHoldsOneBuffer(t *testing.T) {
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("a:"))
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-one", snapshot.ProtoUDP, port, origins(origin.Addr))))
	to, src := netip.AddrPortFrom(ip, uint16(port)), lo.Next()
	heap := func() int64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	const sessions = 200
	before := heap()
	for range sessions {
		udpRoundTrip(t, udpClient(t, src, to), "q")
	}
	time.Sleep(200 * time.Millisecond) // Each reply loop back in its read.
	if _, open := rt.Open(); open != sessions {
		t.Fatalf("%d UDP sessions open; want %d", open, sessions)
	}
	if per := (heap() - before) / sessions; per > 32<<10 {
		t.Errorf("a session that got one reply holds %d KiB; want about 9 KiB (one reply buffer)", per>>10)
	}
}
