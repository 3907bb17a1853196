package l4

import (
	"bytes"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestPayloadFromSpill: in a batch whose datagrams share one spill
// buffer, only the last datagram that spilled is whole (copied out of its
// two buffers); an earlier one was overwritten and is lost, as is one cut
// short.
func TestPayloadFromSpill(t *testing.T) {
	ms := readMessages(false, 4, 8)
	spill := []byte("SPILLED")
	for i := range ms {
		copy(ms[i].Buffers[0], "abcdefgh")
		ms[i].Buffers = append(ms[i].Buffers, spill)
	}
	ms[0].N = 8 + 3 // Spilled, then overwritten by ms[2].
	ms[1].N = 5
	ms[2].N = 8 + 3
	ms[3].N, ms[3].Flags = 8, unix.MSG_TRUNC
	last := lastSpilled(ms)
	if last != 2 {
		t.Fatalf("lastSpilled: got %d; want 2", last)
	}
	for i, want := range [][]byte{nil, []byte("abcde"), []byte("abcdefghSPI"), nil} {
		got := payload(&ms[i], i == last)
		if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("datagram %d: got %q; want %q", i, got, want)
		}
	}
	if lastSpilled([]ipv4.Message{ms[1]}) != -1 {
		t.Errorf("lastSpilled of a batch without spill: want -1")
	}
}

// udpSessionThrough starts a UDP listener (idle timeout idle) in front of
// one echo origin and opens one session through it; it returns the server,
// the session and the client's socket.
func udpSessionThrough(t *testing.T, idle time.Duration) (*UDPServer, *udpSession, *net.UDPConn) {
	t.Helper()
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("o:"))
	pool := health.NewPool(health.Options{Nameservers: []string{}})
	t.Cleanup(pool.Close)
	b := pool.Acquire(health.Key{Proto: snapshot.ProtoUDP, Host: origin.Addr.Addr().String(), Port: int(origin.Addr.Port())})
	r := &Route{ListenerID: "l", Proxy: NewProxy("p", &stats.Counters{}), IdleTimeout: idle,
		Origins: map[string]*Origin{"o": {ID: "o", Backend: b, Stats: &stats.Counters{}}}, Stats: &stats.Counters{},
		Picker: balance.New(snapshot.SchedRR, []*balance.Target{{ID: "o", Backend: b}}, false, nil, 0)}
	s, err := ListenUDP(netip.AddrPortFrom(lo.Next(), 0), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Abort(); <-s.Shutdown(0) })
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	echo(t, c)
	ss := s.list()
	if len(ss) != 1 {
		t.Fatalf("%d sessions; want 1", len(ss))
	}
	return s, ss[0], c
}

// echo sends one datagram on c and reads the origin's answer.
func echo(t *testing.T, c *net.UDPConn) {
	t.Helper()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
}

// TestUDPIdleTimeoutIgnoresClockSteps: a session's idle time is elapsed
// time. A step of the system clock (ntpd, chrony's makestep, a VM resumed)
// is reproduced on the stamps the session holds (edgetest.SteppedStamp):
// after a step back of an hour an idle session still ends after its idle
// timeout, instead of keeping its upstream socket and its slots of the
// proxy's and node's caps for an hour; after a step forward of a minute an
// active one is not ended, which would move its client to a new upstream
// port and break a stateful protocol.
func TestUDPIdleTimeoutIgnoresClockSteps(t *testing.T) {
	t.Run("back: idle session ends", func(t *testing.T) {
		s, ss, _ := udpSessionThrough(t, 250*time.Millisecond)
		ss.last.Store(edgetest.SteppedStamp(ss.last.Load(), -time.Hour))
		time.Sleep(2 * time.Second)
		if n := len(s.list()); n != 0 {
			t.Fatalf("%d sessions 2 s after a 1 h backward step; want the idle session (IdleTimeout 250ms) ended", n)
		}
	})
	t.Run("forward: active session kept", func(t *testing.T) {
		s, ss, c := udpSessionThrough(t, 10*time.Second)
		ss.last.Store(edgetest.SteppedStamp(ss.last.Load(), time.Minute))
		s.clock.Store(edgetest.SteppedStamp(s.clock.Load(), time.Minute))
		for range 20 { // 1 s of traffic, a datagram every 50 ms, across sweeps.
			echo(t, c)
			time.Sleep(50 * time.Millisecond)
		}
		if got := s.list(); len(got) != 1 || got[0] != ss {
			t.Fatalf("sessions %v after a 1 min forward step; want the active session (IdleTimeout 10s) kept", got)
		}
	})
}

// TestUDPLargeBuffersOnlyWhileLargeDatagramsCome: a listener's batch
// grows to 2 MiB with its first datagram over udpBuf and goes back once
// none has come for udpWideFor, idle or not. It kept the large buffers for
// good: one 9,300-byte datagram to each listener of a port range (a scan)
// held 2 MiB per listener.
func TestUDPLargeBuffersOnlyWhileLargeDatagramsCome(t *testing.T) {
	// Restored after the servers' cleanups (registered later, run first):
	// their read loops read it until they stop.
	old := udpWideFor
	t.Cleanup(func() { udpWideFor = old })
	udpWideFor = 200 * time.Millisecond
	const listeners = 20
	heap := func() int64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	var servers []*UDPServer
	for range listeners {
		s, _, _ := udpSessionThrough(t, time.Minute)
		servers = append(servers, s)
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo.Next(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := heap()
	for _, s := range servers {
		if _, err := c.WriteToUDPAddrPort(make([]byte, 9300), s.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	edgetest.Eventually(t, 5*time.Second, func() bool { return heap()-before > listeners<<20 },
		"the listeners' batches did not grow for a 9,300-byte datagram each")
	edgetest.Eventually(t, 5*time.Second, func() bool { return heap()-before < listeners<<18 },
		"the listeners' batches stayed large %v after their one large datagram", udpWideFor)
	// Back to the small batch, a listener still forwards large datagrams
	// (the session's first large reply is dropped: its buffers grow).
	big := bytes.Repeat([]byte("b"), 20000)
	buf := make([]byte, 30000)
	for try := 0; ; try++ {
		if _, err := c.WriteToUDPAddrPort(big, servers[0].Addr()); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err == nil && n == len(big)+2 {
			break
		}
		if try == 2 {
			t.Fatalf("a 20,000-byte datagram's echo: %d bytes, %v; want %d", n, err, len(big)+2)
		}
	}
}

// TestUDPSessionLeavesDownAddressOfName: a DOMAIN origin
// whose name has two addresses, each running the service. The address a
// live UDP session uses stops answering (its application hangs: silent,
// no ICMP); the health checks take that address out (DownIPList), the
// origin stays healthy through the other one. A session on a dead IP
// origin ends at the sweep and the client's next datagram starts one on a
// live origin (docs/dataplane-l4.md "UDP"); the session on the dead
// address of a name moves likewise, to the name's live address. It stayed
// on the dead address for as long as the client sent.
func TestUDPSessionLeavesDownAddressOfName(t *testing.T) {
	addrA, addrB := lo.Next(), lo.Next()
	var alive [2]atomic.Bool
	handler := func(i int, name string) func(netip.AddrPort, []byte) []byte {
		alive[i].Store(true)
		return func(_ netip.AddrPort, p []byte) []byte {
			switch {
			case !alive[i].Load():
				return nil
			case string(p) == "ping":
				return []byte("pong")
			}
			return append([]byte(name), p...)
		}
	}
	a := edgetest.StartUDP(t, netip.AddrPortFrom(addrA, 0), handler(0, "a:"))
	port := a.Addr.Port()
	edgetest.StartUDP(t, netip.AddrPortFrom(addrB, port), handler(1, "b:"))
	ns := startZone(t, addrA, addrB)

	pool := health.NewPool(health.Options{Nameservers: []string{ns}})
	t.Cleanup(pool.Close)
	check := snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond,
		Healthy: 1, Unhealthy: 1, Send: "ping", Recv: "pong"}
	b := pool.Acquire(health.Key{Proto: snapshot.ProtoUDP, Host: "origin.test", Port: int(port), IsDomain: true, Check: check})
	edgetest.Eventually(t, 3*time.Second, func() bool {
		n := 0
		_, _ = health.TryAddrs(b, func(netip.AddrPort) (int, error) { n++; return 0, net.ErrClosed }, func(error) bool { return true })
		return n == 2
	}, "origin.test not resolved to 2 addresses")
	r := &Route{ListenerID: "l", Proxy: NewProxy("p", &stats.Counters{}), IdleTimeout: time.Minute,
		Origins: map[string]*Origin{"o": {ID: "o", Backend: b, Stats: &stats.Counters{}}}, Stats: &stats.Counters{},
		Picker: balance.New(snapshot.SchedRR, []*balance.Target{{ID: "o", Backend: b}}, false, nil, 0)}
	srv, err := ListenUDP(netip.AddrPortFrom(lo.Next(), 0), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Abort(); <-srv.Shutdown(0) })

	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	_ = c.SetDeadline(time.Now().Add(time.Second))
	_, _ = c.Write([]byte("x"))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	first := string(buf[:2])
	dead, other := 0, "b:"
	if first == "b:" {
		dead, other = 1, "a:"
	}
	t.Logf("session on %s%s", first, buf[2:n])
	alive[dead].Store(false)
	down := time.Now()
	for {
		if time.Since(down) > 4*time.Second {
			st := b.Status()
			t.Fatalf("after 4 s (checks every 100 ms, fall 1) the session still sends to the dead address %s; origin healthy=%v, down addresses %v",
				first, st.Healthy, st.Down)
		}
		_, _ = c.Write([]byte("y"))
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == other+"y" {
			t.Logf("moved to %s after %v", other, time.Since(down))
			return
		}
	}
}

// TestUDPWideRepliesExpire: after a large reply, the listener's next
// sessions start with buffers that hold one (a client asking from a new
// port each time loses only the first), but not for good: once none has
// come for udpWideFor, a new session starts small again, so one reply a
// client asked for does not make every later session (a flood of spoofed
// sources' included) hold 64 KiB instead of 9.
func TestUDPWideRepliesExpire(t *testing.T) {
	old := udpWideFor
	t.Cleanup(func() { udpWideFor = old })
	udpWideFor = 2 * time.Second // Room for a loaded box between a large reply and the next session.
	s, _, c := udpSessionThrough(t, time.Minute)
	big := bytes.Repeat([]byte("b"), 20000)
	buf := make([]byte, 30000)
	roundTrip := func(c *net.UDPConn) bool {
		_, _ = c.Write(big)
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		return err == nil && n == len(big)+2
	}
	if roundTrip(c) || !roundTrip(c) {
		t.Fatal("a session's first large reply was forwarded or its second was not; want the first lost, the buffers grown")
	}
	fresh := func() *net.UDPConn {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	if !roundTrip(fresh()) {
		t.Error("a new session just after a large reply lost its first large reply; want it forwarded")
	}
	time.Sleep(udpWideFor + time.Second) // The sweeper's coarse clock moves every 250 ms.
	if roundTrip(fresh()) {
		t.Error("a new session long after the last large reply forwarded its first one; want it to start with small buffers")
	}
}
