package edge_test

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/health"
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
	// o1's connections end on the edge after their client read the EOF:
	// wait for their count (lc's, taken off just before) before each pick.
	settled := func() {
		edgetest.Eventually(t, 3*time.Second, func() bool {
			return rt.Stats().Values[stats.Key{Kind: stats.KindOrigin, ID: "o1"}].Active == 0
		}, "o1's closed connections still open on the edge")
	}
	for range 20 {
		settled()
		if got := readName(t, src, to); got != "o0" && got != "o1" {
			t.Fatalf("got %q", got)
		} else if got == "o0" {
			t.Fatalf("lc picked the busy origin")
		}
	}
}

// slowAndFast serves a TCP listener (ID "lsr-"+name, scheduler sched,
// connect timeout) over an origin whose connects hang ("<name>-slow") and
// an echo origin ("<name>-fast"), and returns the runtime, the listener
// and its address.
func slowAndFast(t *testing.T, name, sched string, connect time.Duration) (*edge.Runtime, snapshot.Listener, netip.AddrPort) {
	slow := slowOrigin(t)
	fast := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-"+name, snapshot.ProtoTCP, port, origins(slow, fast.Addr))
	l.Origins[0].ID, l.Origins[1].ID = name+"-slow", name+"-fast"
	l.Scheduler = sched
	l.ConnectTimeout = connect
	mustApply(t, rt, oneProxy(1, ip, l))
	return rt, l, netip.AddrPortFrom(ip, uint16(port))
}

// pendingBurst opens n connections to l (served by slowAndFast) at to, 20 ms
// apart, and returns how many dials its slow origin failed once their
// connect timeout passed.
func pendingBurst(t *testing.T, rt *edge.Runtime, l snapshot.Listener, to netip.AddrPort, n int) int64 {
	for range n {
		dial(t, lo.Next(), to)
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(l.ConnectTimeout + 400*time.Millisecond)
	return rt.Stats().Values[stats.Key{Kind: stats.KindOrigin, ID: l.Origins[0].ID}].DialFails
}

// TestLeastConnectionsCountsPendingDials: lc counts a connection from the
// moment its origin is picked, so a burst arriving while dials to a slow
// origin hang (SYNs dropped) spreads out instead of piling onto it. The
// other origin holds one connection, so without pending dials counted the
// slow one, at 0, would take them all.
func TestLeastConnectionsCountsPendingDials(t *testing.T) {
	t.Parallel()
	rt, l, to := slowAndFast(t, "lcp", snapshot.SchedLC, 700*time.Millisecond)
	hold := dial(t, lo.Next(), to)
	_, _ = hold.Write([]byte("x"))
	_, _ = io.ReadFull(hold, make([]byte, 1))
	edgetest.Eventually(t, time.Second, func() bool {
		return rt.Stats().Values[stats.Key{Kind: stats.KindOrigin, ID: "lcp-fast"}].Active == 1
	}, "first connection not on the fast origin")
	const n = 10
	fails := pendingBurst(t, rt, l, to, n)
	t.Logf("dials to the slow origin: %d of %d", fails, n)
	if fails > n/2+1 {
		t.Fatalf("%d of %d new connections were sent to the origin whose dials were all pending", fails, n)
	}
}

// TestLRTTUnmeasuredOriginNotBurst: lrtt with checks off (its only
// measurements are its own connects), a fast origin and one whose
// connects hang (SYNs dropped), neither measured yet, as on a fresh
// listener or node. The first connection sent to the slow one claims its
// trial; until that connect ends the origin ranks after the measured one.
// It read unmeasured (0, first) meanwhile, and every connection arriving
// in the connect timeout went there too, each waiting it out before its
// retry, as lc did before it counted pending dials
// (TestLeastConnectionsCountsPendingDials).
func TestLRTTUnmeasuredOriginNotBurst(t *testing.T) {
	t.Parallel()
	rt, l, to := slowAndFast(t, "lrttb", snapshot.SchedLRTT, 800*time.Millisecond)
	const n = 10
	fails := pendingBurst(t, rt, l, to, n)
	t.Logf("connects sent to the slow origin: %d of %d", fails, n)
	if fails > 2 {
		t.Fatalf("%d of %d new connections were sent to the origin whose first connect was still pending (each waited %v)", fails, n, l.ConnectTimeout)
	}
}

// TestFailoverSecondaryAfterPrimariesRefuse: FailoverSwitch on, three
// primaries that refuse (nothing listens), one healthy secondary, checks
// off. A connection tries up to 3 origins of each role: the first one,
// before any primary is suspect, fails on the three primaries and is
// served by the secondary. With one bound on all tries it was reset,
// the secondary never tried, and so was the first connection after every
// FailTimeout, when the primaries' suspicion expires at once.
func TestFailoverSecondaryAfterPrimariesRefuse(t *testing.T) {
	t.Parallel()
	secondary := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name("s0"))
	var addrs []netip.AddrPort
	for range 3 {
		addrs = append(addrs, netip.AddrPortFrom(lo.Next(), 9)) // Refused.
	}
	os := origins(append(addrs, secondary.Addr)...)
	os[3].Secondary = true
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-fo3", snapshot.ProtoTCP, port, os)
	l.FailoverSwitch = true
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	for i := range 5 {
		c := dial(t, lo.Next(), to)
		b, err := io.ReadAll(c)
		if err != nil || string(b) != "s0" {
			t.Errorf("connection %d: %q, %v; want the secondary's answer (the primaries all refuse)", i, b, err)
		}
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

// TestPersistGroupSharesTable: listeners with the same PersistGroup (an
// EdgeOne rule's ports) share one persistence table, so a client pinned
// on one port is kept on that origin on the others, a port added later
// included; the table outlives configuration changes, and a change of
// origins treats it as a single listener's (a pin to an origin kept stays,
// a pin to one removed is picked anew, for every port). A group that
// leaves the snapshot starts afresh when it comes back. Listeners without
// a group (GAAP) keep a table per socket. The picks are deterministic: a
// fresh rr picker's first pick is its second origin.
func TestPersistGroupSharesTable(t *testing.T) {
	t.Parallel()
	addrs := namedOrigins(t, 3)
	ip := lo.Next()
	// Even ports: a group's port starts its rotation at the port
	// (Picker.Offset), here as a fresh picker of two origins does. (Linux
	// gives bind odd ephemeral ports, so they are chosen, on the test's
	// own address.)
	ports := []int{20000, 20002, 20004, 20006}
	for _, p := range ports {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, uint16(p)).String())
		if err != nil {
			t.Skipf("port %d on %v: %v", p, ip, err)
		}
		ln.Close()
	}
	to := func(i int) netip.AddrPort { return netip.AddrPortFrom(ip, uint16(ports[i])) }
	rt := newRuntime(t, edge.Options{})
	lsr := func(id string, i int, group string, idle time.Duration, os []snapshot.Origin) snapshot.Listener {
		l := listener(id, snapshot.ProtoTCP, ports[i], os)
		l.SessionPersist, l.PersistGroup, l.IdleTimeout = time.Minute, group, idle
		return l
	}
	o01, o12 := origins(addrs[0], addrs[1]), origins(addrs...)[1:]
	a := lsr("rule/a", 0, "rule", 0, o01)
	c, d := lsr("lsr-c", 2, "", 0, o01), lsr("lsr-d", 3, "", 0, o01)
	mustApply(t, rt, oneProxy(1, ip, a, c, d))
	x1, x2 := lo.Next(), lo.Next()
	expect := func(what string, src netip.Addr, port int, want string) {
		t.Helper()
		if got := readName(t, src, to(port)); got != want {
			t.Errorf("%s: got %s; want %s", what, got, want)
		}
	}
	expect("x1 on a", x1, 0, "o1")
	expect("x2 on a", x2, 0, "o0")

	// a changes (a route swap), b joins the group: both keep the pins.
	a.IdleTimeout = time.Hour
	b := lsr("rule/b", 1, "rule", time.Hour, o01)
	mustApply(t, rt, oneProxy(2, ip, a, b, c, d))
	expect("x2 on b, pinned on a", x2, 1, "o0")
	expect("x1 on b, pinned on a", x1, 1, "o1")

	// Without a group, each socket has its own table.
	y1, y2 := lo.Next(), lo.Next()
	expect("y1 on c", y1, 2, "o1")
	expect("y2 on c", y2, 2, "o0")
	expect("y2 on d, own table", y2, 3, "o1")

	// The group's origins change from o0,o1 to o1,o2.
	a.Origins, b.Origins = o12, o12
	mustApply(t, rt, oneProxy(3, ip, a, b, c, d))
	expect("x1 on a, pinned to o1 (kept)", x1, 0, "o1")
	expect("x2 on a, pinned to o0 (removed)", x2, 0, "o2")
	expect("another client on b", lo.Next(), 1, "o2")
	expect("x2 on b, pinned anew on a", x2, 1, "o2")

	// The group leaves and comes back: its table starts afresh.
	mustApply(t, rt, oneProxy(4, ip, c, d))
	mustApply(t, rt, oneProxy(5, ip, a, b, c, d))
	expect("x1 on a after the group came back", x1, 0, "o2")
}

// TestLRTTTriesRecoveredOrigin: under lrtt without health checks
// (HealthCheck 0), an origin that restarts (a few refused connects) is
// suspect for FailTimeout and then, as with every scheduler, tried by one
// connection and used again. A failed connect used to add the whole connect
// timeout to its RTT EWMA, which only proxied connects could bring down,
// and lrtt never picked it again.
func TestLRTTTriesRecoveredOrigin(t *testing.T) {
	a := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name("o0"))
	b := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name("o1"))
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-lrtt", snapshot.ProtoTCP, port, origins(a.Addr, b.Addr))
	l.Scheduler = snapshot.SchedLRTT
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	seen := map[string]int{}
	for range 6 {
		seen[readName(t, lo.Next(), to)]++
	}
	t.Logf("before: %v", seen)
	a.Close() // o0 restarts: refused for a moment...
	for range 4 {
		readName(t, lo.Next(), to)
	}
	edgetest.StartTCP(t, a.Addr, edgetest.Name("o0")) // ...and is back.
	time.Sleep(health.FailTimeout + time.Second)
	seen = map[string]int{}
	for range 40 {
		seen[readName(t, lo.Next(), to)]++
	}
	t.Logf("after o0 is back and FailTimeout passed: %v", seen)
	if seen["o0"] == 0 {
		t.Errorf("o0, back up for %v, got none of 40 connections under lrtt: it is never tried again", health.FailTimeout+time.Second)
	}
}

// TestUDPLeastRTTKeepsProbeFiguresBetweenProbes: a UDP listener under lrtt
// with a health check every 15 s (DelayLoop allows 5-300 s). UDP sessions
// do not measure latency, only probes do, so a probe's figure must rank its
// origin until the next probe: when figures older than StaleRTT read as
// unmeasured, both origins read 0 from 10 s after a probe and lrtt rotates,
// sending new sessions to the origin its probes found slower.
func TestUDPLeastRTTKeepsProbeFiguresBetweenProbes(t *testing.T) {
	addrs := slowFastUDP(t, 200*time.Millisecond)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-ulrtt", snapshot.ProtoUDP, port, origins(addrs...))
	l.Scheduler = snapshot.SchedLRTT
	l.Health = snapshot.HealthCheck{Enabled: true, Interval: 15 * time.Second, Timeout: 2 * time.Second,
		Healthy: 1, Unhealthy: 3, Send: "ping", Recv: "pong"}
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	sessions := func(n int) (slow int) {
		for range n {
			if got := udpRoundTrip(t, udpClient(t, lo.Next(), to), "x"); strings.HasPrefix(got, "slow:") {
				slow++
			}
		}
		return slow
	}
	// The first probes have answered once new sessions stop going to the
	// slow origin (an unmeasured origin ranks last: the slow one while
	// only the fast one has answered, the fast one while only the slow one
	// has, until the fast one's probe, well within StaleRTT, answers).
	edgetest.Eventually(t, 5*time.Second, func() bool { return sessions(4) == 0 },
		"new sessions still go to the origin whose probe answers 200ms later")
	time.Sleep(health.StaleRTT + time.Second) // Before the next probe (15 s).
	if slow := sessions(10); slow > 0 {
		t.Errorf("%d of 10 new sessions, %v after the last probes, went to the origin the probes found 200ms slower; want 0 under lrtt",
			slow, health.StaleRTT+time.Second)
	}
}

// TestShortenedPersistAppliesToPins: lowering SessionPersist
// (ModifyTCPListenerAttribute, here 1 min → 1 s) applies at once to the
// clients already pinned: a pin lives the current SessionPersist after its
// client's last new connection, not the expiry the old setting gave it.
func TestShortenedPersistAppliesToPins(t *testing.T) {
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	os := origins(namedOrigins(t, 3)...)
	l := listener("lsr-sp", snapshot.ProtoTCP, port, os)
	l.SessionPersist = time.Minute
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	x := lo.Next()
	pinned := readName(t, x, to)

	l.SessionPersist = time.Second
	mustApply(t, rt, oneProxy(2, ip, l))
	time.Sleep(1500 * time.Millisecond) // Longer than the new SessionPersist.
	other := readName(t, lo.Next(), to) // Another client takes the rr slot the new picker starts at.
	got := readName(t, x, to)
	t.Logf("x pinned to %s; other client got %s; x now got %s", pinned, other, got)
	if got == pinned && other == pinned {
		t.Errorf("client idle %v, longer than SessionPersist 1s, still pinned to %s (the pin kept the 1 min expiry of the old setting)",
			1500*time.Millisecond, pinned)
	}
}

// TestPersistHeldByOpenConnection: a pin lives while its client has a
// connection open through it, and SessionPersist after the last one ended,
// as LVS persistence templates do. A client whose first connection is still
// open gets the same origin for its second one after SessionPersist has
// passed (FTP control + data, an app opening a second connection
// mid-session).
func TestPersistHeldByOpenConnection(t *testing.T) {
	hold := func(name string) func(net.Conn) {
		return func(c net.Conn) { _, _ = io.WriteString(c, name); _, _ = io.Copy(io.Discard, c) }
	}
	a := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), hold("o0"))
	b := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), hold("o1"))
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-po", snapshot.ProtoTCP, port, origins(a.Addr, b.Addr))
	l.SessionPersist = time.Second
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	src := lo.Next()
	buf := make([]byte, 2)
	c1 := dial(t, src, to)
	if _, err := io.ReadFull(c1, buf); err != nil {
		t.Fatal(err)
	}
	first := string(buf)
	time.Sleep(1500 * time.Millisecond) // c1 stays open meanwhile.
	c2 := dial(t, src, to)
	if _, err := io.ReadFull(c2, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != first {
		t.Errorf("second connection of a client whose first (to %s) is still open went to %s", first, buf)
	}
}

// TestPersistOffOnStartsAfresh: persistence turned off and on again (an
// EdgeOne rule's SessionPersist on → off → on) starts with no pins: while
// it was off the client's connections went wherever the scheduler sent
// them. A rule's ports (PersistGroup) kept the group's table across the off
// period and revived the old pins; a listener's own table did not.
func TestPersistOffOnStartsAfresh(t *testing.T) {
	for _, group := range []string{"", "rule-rv-offon"} {
		t.Run("group="+group, func(t *testing.T) {
			os := origins(namedOrigins(t, 2)...)
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			rt := newRuntime(t, edge.Options{})
			l := listener("rule-rv-offon/1", snapshot.ProtoTCP, port, os)
			l.PersistGroup = group
			to := netip.AddrPortFrom(ip, uint16(port))
			x := lo.Next()
			// The listener's rr picks, its rotation continued across
			// the changes (Picker.Continue): the second origin first, but
			// a rule's port starts its rotation at the port (Offset).
			off := 0
			if group != "" {
				off = port
			}
			first, second := fmt.Sprintf("o%d", (off+1)%2), fmt.Sprintf("o%d", (off+2)%2)

			l.SessionPersist = time.Minute
			mustApply(t, rt, oneProxy(1, ip, l))
			if got := readName(t, x, to); got != first {
				t.Fatalf("x's first connection: got %s; want %s", got, first)
			}
			l.SessionPersist = 0 // Off: x is balanced like anyone.
			mustApply(t, rt, oneProxy(2, ip, l))
			a, b := readName(t, x, to), readName(t, x, to)
			t.Logf("persistence off: x got %s, %s", a, b)

			l.SessionPersist = time.Minute // On again: a fresh table.
			mustApply(t, rt, oneProxy(3, ip, l))
			// The 4th pick, after x's first and its two while off: not
			// the origin x was pinned to.
			if got := readName(t, x, to); got != second {
				t.Errorf("persistence turned on again: x got %s, the pin made before it was turned off; want %s, a fresh pick", got, second)
			}
		})
	}
}

// rangePorts returns six free ports of ip, two of each residue modulo 3,
// as a rule's range of consecutive ports has (free ones come at random).
func rangePorts(t *testing.T, ip netip.Addr) []int {
	var ports []int
	for len(ports) < 6 {
		port := edgetest.FreePort(t, ip)
		if slices.ContainsFunc(ports, func(p int) bool { return p == port }) ||
			len(slices.DeleteFunc(slices.Clone(ports), func(p int) bool { return p%3 != port%3 })) >= 2 {
			continue
		}
		ports = append(ports, port)
	}
	return ports
}

// TestRangedRuleSpreadsClientsOverOrigins: each port of an EdgeOne rule is
// a listener with its own picker, and all began with the same origin: six
// clients, one per port of a rule with three origins (rr), all went to
// one. Each port starts its rotation at the port (Picker.Offset).
func TestRangedRuleSpreadsClientsOverOrigins(t *testing.T) {
	os := origins(namedOrigins(t, 3)...)
	ip := lo.Next()
	ports := rangePorts(t, ip)
	var ls []snapshot.Listener
	for _, port := range ports {
		l := listener(fmt.Sprintf("rule-rv-range/%d", port), snapshot.ProtoTCP, port, os)
		l.PersistGroup = "rule-rv-range"
		ls = append(ls, l)
	}
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, ls...))
	got := map[string]int{}
	for _, port := range ports {
		got[readName(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))]++
	}
	t.Logf("6 clients, one per port of a rule with origins o0, o1, o2 (rr): %v", got)
	for _, o := range []string{"o0", "o1", "o2"} {
		if got[o] != 2 {
			t.Errorf("%s got %d of 6 connections; want 2, the first clients spread over the rule's 3 origins (all: %v)", o, got[o], got)
		}
	}
}

// TestSettingChangeKeepsRotation guards the rr and wrr rotation across
// changes of a listener's other settings (here DelayLoop, compiled even
// with checks off): each change rebuilt the picker from scratch, so with
// a change before every connection rr sent them all to o0, and wrr 9:1
// never reached o1. The new picker continues the old one's rotation
// (Picker.Continue), as origin state and persistence survive the change.
func TestSettingChangeKeepsRotation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sched   string
		weights []int
		want    map[string]int // Out of 10 connections.
	}{
		{snapshot.SchedRR, []int{10, 10}, map[string]int{"o0": 5, "o1": 5}},
		{snapshot.SchedWRR, []int{9, 1}, map[string]int{"o0": 9, "o1": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.sched, func(t *testing.T) {
			t.Parallel()
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			rt := newRuntime(t, edge.Options{})
			os := origins(namedOrigins(t, len(tc.weights))...)
			for i, w := range tc.weights {
				os[i].Weight = w
			}
			l := listener("lsr-rotation", snapshot.ProtoTCP, port, os)
			l.Scheduler = tc.sched
			to := netip.AddrPortFrom(ip, uint16(port))
			got := map[string]int{}
			for i := range 10 {
				l.Health.Interval = time.Duration(5+i) * time.Second // DelayLoop 5, 6, 7 ... (checks off)
				mustApply(t, rt, oneProxy(int64(i+1), ip, l))
				got[readName(t, lo.Next(), to)]++
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("%s over 10 connections, a listener setting change before each: %v; want %v", tc.sched, got, tc.want)
			}
		})
	}
}

// TestRangedRuleWeightChangeSpreads: a rule's ports each start their
// rotation at the port (Offset), also after a change whose wrr sequence
// cannot go on from the old picker (weights changed, or a switch to wrr):
// every port once restarted at the same origin there.
func TestRangedRuleWeightChangeSpreads(t *testing.T) {
	os := origins(namedOrigins(t, 3)...)
	ip := lo.Next()
	ports := rangePorts(t, ip)
	build := func(w int) []snapshot.Listener {
		var ls []snapshot.Listener
		for _, port := range ports {
			os := slices.Clone(os)
			for i := range os {
				os[i].Weight = w
			}
			l := listener(fmt.Sprintf("rule-rv-wchange/%d", port), snapshot.ProtoTCP, port, os)
			l.PersistGroup = "rule-rv-wchange"
			l.Scheduler = snapshot.SchedWRR
			ls = append(ls, l)
		}
		return ls
	}
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, build(10)...))
	mustApply(t, rt, oneProxy(2, ip, build(20)...)) // Weights changed, same ratio.
	got := map[string]int{}
	for _, port := range ports {
		got[readName(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))]++
	}
	for _, o := range []string{"o0", "o1", "o2"} {
		if got[o] != 2 {
			t.Errorf("after a weight change: %s got %d of 6 first clients, one per port; want 2 (all: %v)", o, got[o], got)
		}
	}
}
