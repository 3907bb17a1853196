package health

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

var lo = edgetest.NewAlloc(3)

func TestUDPPortCheck(t *testing.T) {
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte {
		if string(p) == "\xde\xad" {
			return []byte("pong\xbe\xef")
		}
		return nil
	})
	silent := lo.Next()
	tests := []struct {
		desc    string
		addr    string
		check   snapshot.HealthCheck
		wantErr bool
	}{
		{"hex reply matches", origin.Addr.String(), snapshot.HealthCheck{ContextType: "HEX", Send: "dead", Recv: "beef"}, false},
		{"text reply mismatch", origin.Addr.String(), snapshot.HealthCheck{ContextType: "TEXT", Send: "x", Recv: "y"}, true},
		{"no reply expected, port open", origin.Addr.String(), snapshot.HealthCheck{Send: "x"}, false},
		{"port closed: ICMP unreachable", netip.AddrPortFrom(silent, 9).String(), snapshot.HealthCheck{Send: "x"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			send, recv, err := tc.check.Payloads()
			if err != nil {
				t.Fatal(err)
			}
			rtt, err := checkUDP(context.Background(), tc.addr, send, recv, time.Second) // A reply a loaded machine delays is no failure.
			if (err != nil) != tc.wantErr {
				t.Errorf("got %v; want error %v", err, tc.wantErr)
			}
			if replied := err == nil && tc.check.Recv != ""; replied != (rtt > 0) {
				t.Errorf("rtt %v; want > 0 exactly when a good reply came", rtt)
			}
		})
	}
}

// TestUDPCheckLongReply: the expected reply (RecvContext) has no documented
// length limit and may sit anywhere in the origin's reply, so the check
// reads the whole datagram: a 3000-byte expected reply after a 2000-byte
// header still matches.
func TestUDPCheckLongReply(t *testing.T) {
	header := strings.Repeat("h", 2000)
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix(header))
	payload := strings.Repeat("a", 3000)
	c := snapshot.HealthCheck{ContextType: "TEXT", Send: payload, Recv: payload}
	send, recv, err := c.Payloads()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkUDP(context.Background(), origin.Addr.String(), send, recv, 500*time.Millisecond); err != nil {
		t.Fatalf("origin answered the expected %d bytes after a %d-byte header, yet the check failed: %.200v", len(recv), len(header), err)
	}
	_, err = checkUDP(context.Background(), origin.Addr.String(), send, append(recv, 'b'), 500*time.Millisecond)
	if err == nil {
		t.Fatal("a reply lacking the expected bytes passed")
	}
	if len(err.Error()) > 200 { // The error is reported with the origin's status.
		t.Errorf("the error quotes the whole %d-byte reply: %.200v", len(header)+len(payload), err)
	}
}

func TestPing(t *testing.T) {
	c, _, err := listenICMP(true)
	if err != nil {
		t.Skipf("ICMP unavailable here (needs root or ping_group_range): %v", err)
	}
	_ = c.Close()
	if _, err := ping(context.Background(), lo.Next(), time.Second); err != nil {
		t.Fatalf("ping loopback: %v; want an echo reply", err)
	}
}

func TestPoolSharesAndResolves(t *testing.T) {
	changes := make(chan Change, 8)
	p := NewPool(Options{OnChange: func(c Change) { changes <- c }})
	defer p.Close()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	k := Key{Proto: "TCP", Host: ap.Addr().String(), Port: int(ap.Port()),
		Check: snapshot.HealthCheck{Enabled: true, Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond, Healthy: 1, Unhealthy: 1}}
	a, b := p.Acquire(k), p.Acquire(k)
	if a != b {
		t.Fatal("same key: got two backends; want one shared")
	}
	_ = ln.Close()
	select {
	case c := <-changes:
		if c.Healthy || a.Healthy() {
			t.Errorf("got %+v; want unhealthy", c)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no health change after the origin closed")
	}
	p.Release(a)
	p.Release(b)

	d := p.Acquire(Key{Proto: "TCP", Host: "localhost", Port: 80, IsDomain: true})
	edgetest.Eventually(t, 2*time.Second, d.Healthy, "localhost never resolved")
	if got, _ := d.Addr(); !got.Addr().IsLoopback() {
		t.Errorf("localhost resolved to %v", got)
	}
	bad := p.Acquire(Key{Proto: "TCP", Host: "no-such-host.invalid", Port: 80, IsDomain: true})
	edgetest.Eventually(t, 6*time.Second, func() bool { return !bad.Healthy() }, "unresolvable domain healthy")
}

// TestReleaseAfterClose: a backend released after the pool closed (a
// listener torn down late) must not stop its checker twice.
func TestReleaseAfterClose(t *testing.T) {
	p := NewPool(Options{})
	b := p.Acquire(Key{Proto: "TCP", Host: "127.0.0.1", Port: 9})
	p.Close()
	p.Release(b) // Panicked with "close of closed channel".
	if b.refs != 0 {
		t.Errorf("refs = %d; want 0", b.refs)
	}
}

// TestCloseCutsRunningCheck: Close (a node shutting down) does not wait
// out a check under way: a UDP probe awaiting a reply from a silent origin
// for its 5 s timeout is cut short, and so is an HTTP probe awaiting an
// answer.
func TestCloseCutsRunningCheck(t *testing.T) {
	pc, err := net.ListenPacket("udp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// probed tells that a check reached its origin, which answers nothing.
	probed := make(chan struct{}, 8)
	seen := func() {
		select {
		case probed <- struct{}{}:
		default:
		}
	}
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			seen()
		}
	}()
	hung := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		seen()
		_, _ = io.Copy(io.Discard, c)
	}).Addr
	udp := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	check := snapshot.HealthCheck{Enabled: true, Interval: time.Minute, Timeout: 5 * time.Second, Healthy: 1, Unhealthy: 1}
	udpCheck := check
	udpCheck.ContextType, udpCheck.Send, udpCheck.Recv = "TEXT", "ping", "pong"
	for _, k := range []Key{
		{Proto: snapshot.ProtoUDP, Host: udp.Addr().String(), Port: int(udp.Port()), Check: udpCheck},
		{Proto: snapshot.ProtoHTTP, Host: hung.Addr().String(), Port: int(hung.Port()), Check: check,
			HTTP: HTTPProbe{Method: http.MethodGet, Path: "/", Classes: 1 << 2}},
	} {
		p := NewPool(Options{})
		p.Acquire(k)
		select { // The first check is under way.
		case <-probed:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s check: no probe reached the origin", k.Proto)
		}
		start := time.Now()
		p.Close()
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s check: Pool.Close took %v, waiting for the check's timeout; want it prompt", k.Proto, d.Round(100*time.Millisecond))
		}
	}
}

// TestHTTPSCheckSendsSNI: an HTTPS probe sends the rule's server name, so
// an origin that answers only to its name (a name-based TLS front end)
// passes its checks, as it serves the rule's requests.
func TestHTTPSCheckSendsSNI(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		if h.ServerName != "origin.test" {
			return nil, errors.New("no such name")
		}
		return nil, nil
	}}
	srv.StartTLS()
	defer srv.Close()
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	probe, check := ProbeOf(snapshot.HTTPCheck{Enabled: true, Path: "/", Timeout: 2 * time.Second})
	k := Key{Proto: snapshot.ProtoHTTPS, Host: ap.Addr().String(), Port: int(ap.Port()), Check: check, HTTP: probe}
	if _, _, err := newBackend(k).check(); err == nil {
		t.Fatal("a probe without SNI passed; the origin refuses it")
	}
	k.HTTP.TLS.SNI = "origin.test"
	if _, _, err := newBackend(k).check(); err != nil {
		t.Errorf("a probe with the rule's SNI: %v; want it to pass", err)
	}
}

// TestHTTPCheckTimesAnswer: an HTTP check that passes feeds lrtt the time
// from its request sent to the answer's first byte (the origin's answer
// time, as proxied requests measure it), so a rule's origins are ranked
// before any request reaches them; a check that fails feeds nothing (the
// origin reads Unmeasured).
func TestHTTPCheckTimesAnswer(t *testing.T) {
	const delay = 100 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	for _, path := range []string{"/", "/bad"} {
		probe, check := ProbeOf(snapshot.HTTPCheck{Enabled: true, Path: path, Timeout: 5 * time.Second})
		b := newBackend(Key{Proto: snapshot.ProtoHTTP, Host: ap.Addr().String(), Port: int(ap.Port()), Check: check, HTTP: probe})
		_, _, err := b.check()
		if passed := err == nil; passed != (path == "/") {
			t.Fatalf("check of %s: %v", path, err)
		}
		if rtt := b.RTT(time.Now()); path == "/" && (rtt < delay || rtt > 5*time.Second) || path != "/" && rtt != Unmeasured {
			t.Errorf("check of %s (error %v): lrtt latency %v; want at least %v when it passes, none when it fails", path, err, rtt, delay)
		}
	}
}

// TestPassiveCheckTrial: a failed connect makes the origin suspect for
// FailTimeout; after that one connection may try it (Picked renews the
// failure for the others) until a connect succeeds.
func TestPassiveCheckTrial(t *testing.T) {
	b := newBackend(Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.1", Port: 1})
	b.ConnectFailed()
	if !b.Suspect() {
		t.Fatal("not suspect after a failed connect")
	}
	b.failedAt.Add(-int64(FailTimeout + time.Second)) // FailTimeout has passed.
	if b.Suspect() {
		t.Fatal("still suspect after FailTimeout")
	}
	b.Picked(time.Time{}) // One connection tries it ...
	if !b.Suspect() {
		t.Fatal("the other connections were not kept off during the trial")
	}
	b.Connected() // ... and gets through.
	if b.Suspect() {
		t.Error("suspect after a connect succeeded")
	}
	b.Picked(time.Time{})
	if b.Suspect() {
		t.Error("an origin with no failure became suspect by being picked")
	}
}

// TestPassiveMarksIgnoreClockSteps: a failure's suspicion and a latency
// figure's staleness are measured in elapsed time. An origin whose connect
// failed 11 s ago (FailTimeout 10 s) and whose figure was observed 11 s
// ago (StaleRTT 10 s), with checks off, with the system clock stepped back
// an hour since (reproduced on the stamps by edgetest.SteppedStamp), is no
// longer suspect and its figure is stale: neither lasts an hour more,
// keeping the origin out of rotation and its recovery trial away.
func TestPassiveMarksIgnoreClockSteps(t *testing.T) {
	b := newBackend(Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.1", Port: 9})
	b.ConnectFailed()
	b.failedAt.Add(-int64(11 * time.Second))
	b.failedAt.Store(edgetest.SteppedStamp(b.failedAt.Load(), -time.Hour))
	if b.Suspect() {
		t.Errorf("an origin whose connect failed 11 s ago (FailTimeout %v) is still suspect after a 1 h backward step", FailTimeout)
	}
	b.ObserveRTT(40 * time.Millisecond)
	b.rttAt.Add(-int64(11 * time.Second))
	b.rttAt.Store(edgetest.SteppedStamp(b.rttAt.Load(), -time.Hour))
	if got := b.RTT(time.Now()); got != 0 {
		t.Errorf("RTT observed 11 s ago (StaleRTT %v), checks off, after a 1 h backward step = %v; want 0 (stale)", StaleRTT, got)
	}
}

// TestCheckConfigChangeKeepsOriginState: a backend for another check config
// of an origin shares its load, connect and address state and starts with
// the health of the newest backend with checks on it replaces (but healthy
// without checks, which would never bring it back up); the state outlives
// the old backend. A backend with checks off (another listener's) always
// reads healthy and says nothing about the origin: a new checked backend
// does not copy it, and starts healthy when no checked one is left.
func TestCheckConfigChangeKeepsOriginState(t *testing.T) {
	p := NewPool(Options{})
	defer p.Close()
	dead := Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.1", Port: 1,
		Check: snapshot.HealthCheck{Enabled: true, Interval: 20 * time.Millisecond, Timeout: 20 * time.Millisecond, Unhealthy: 1}}
	old := p.Acquire(dead)
	deadline := time.Now().Add(2 * time.Second)
	for old.Healthy() {
		if time.Now().After(deadline) {
			t.Fatal("origin not marked down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	old.ConnStart()
	old.ObserveRTT(3 * time.Millisecond)
	old.ConnectFailed()

	k := dead
	k.Check.Interval = time.Hour
	nb := p.Acquire(k)
	p.Release(old)
	if nb == old || !nb.SameOrigin(old) {
		t.Fatal("a changed check config did not get its own backend of the same origin")
	}
	if nb.Healthy() {
		t.Error("new backend of a down origin starts healthy")
	}
	if nb.Active() != 1 || nb.RTT(time.Now()) != 3*time.Millisecond || !nb.Suspect() {
		t.Errorf("new backend: active %d, rtt %v, suspect %v; want 1, 3ms, true", nb.Active(), nb.RTT(time.Now()), nb.Suspect())
	}
	old.ConnEnd() // A connection counted on the old backend ends.
	if nb.Active() != 0 {
		t.Errorf("active %d after the old connection ended; want 0", nb.Active())
	}

	k.Check = snapshot.HealthCheck{}
	off := p.Acquire(k)
	defer p.Release(off)
	if !off.Healthy() || !off.SameOrigin(nb) {
		t.Errorf("backend without checks: healthy %v, same origin %v; want true, true", off.Healthy(), off.SameOrigin(nb))
	}
	k.Check = dead.Check
	k.Check.Interval = 2 * time.Hour
	again := p.Acquire(k) // newer than off, which has checks off
	if again.Healthy() {
		t.Error("new checked backend of a down origin starts healthy (copied from a backend without checks)")
	}
	p.Release(nb)
	p.Release(again)
	k.Check.Interval = 3 * time.Hour
	fresh := p.Acquire(k) // only off is left
	defer p.Release(fresh)
	if !fresh.Healthy() {
		t.Error("new checked backend beside only an unchecked one starts down; want healthy, as a new origin")
	}
	other := p.Acquire(Key{Proto: snapshot.ProtoUDP, Host: "127.0.0.1", Port: 1})
	defer p.Release(other)
	if other.SameOrigin(off) {
		t.Error("a UDP origin shares a TCP origin's state")
	}
}

// TestPoolOwnersShareNothing: backends of one address and port serving
// different owners (tenants) share no state, even under the very same
// check config: a tenant whose checks take the origin down, and whose
// connections fail there, leaves another tenant's new backend healthy
// (under a changed config, where the same owner's would start down),
// unsuspected and with its own load.
func TestPoolOwnersShareNothing(t *testing.T) {
	p := NewPool(Options{})
	defer p.Close()
	dead := Key{Owner: "b", Proto: snapshot.ProtoTCP, Host: "127.0.0.1", Port: 1,
		Check: snapshot.HealthCheck{Enabled: true, Interval: 20 * time.Millisecond, Timeout: 20 * time.Millisecond, Unhealthy: 1}}
	theirs := p.Acquire(dead)
	defer p.Release(theirs)
	edgetest.Eventually(t, 2*time.Second, func() bool { return !theirs.Healthy() }, "origin not marked down")
	theirs.ConnStart()
	theirs.ConnectFailed()

	same := dead
	same.Owner = "a"
	mine := p.Acquire(same)
	if mine == theirs || mine.SameOrigin(theirs) || mine.Suspect() || mine.Active() != 0 {
		t.Errorf("another owner, same check: shared %v, same origin %v, suspect %v, active %d; want false, false, false, 0",
			mine == theirs, mine.SameOrigin(theirs), mine.Suspect(), mine.Active())
	}
	p.Release(mine)

	changed := same
	changed.Check.Interval, changed.Check.Unhealthy = time.Hour, 3 // One failed probe leaves it up.
	mine = p.Acquire(changed)
	defer p.Release(mine)
	if !mine.Healthy() {
		t.Error("another owner's backend under another check config starts down; want healthy, as a new origin")
	}
}

// TestStaleRTTReadsUnmeasured: with checks off, a latency observed more
// than StaleRTT ago ranks nothing (RTT 0, as unmeasured), so lrtt gives its
// origin a connection that measures it afresh; the lrtt pick that does
// claims the trial, so that the figure ranks again until it is replaced
// (not blended) by that connection's measurement, or for StaleRTT if none
// comes. Picks by other schedulers claim nothing. With checks on, which
// measure every origin, a figure stands until the next one.
func TestStaleRTTReadsUnmeasured(t *testing.T) {
	b := newBackend(Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.1", Port: 1})
	b.ObserveRTT(40 * time.Millisecond)
	if got := b.RTT(time.Now()); got != 40*time.Millisecond {
		t.Fatalf("RTT after one observation = %v; want 40ms", got)
	}
	at := b.rttAt.Load()
	b.ObserveRTT(20 * time.Millisecond)
	if got := b.RTT(time.Now()); got != 35*time.Millisecond {
		t.Fatalf("RTT after 40ms, 20ms = %v; want the EWMA 35ms", got)
	}
	if b.rttAt.Load() != at {
		t.Error("a second observation within a second wrote the observation time again")
	}
	later := time.Now().Add(StaleRTT + time.Second)
	if got := b.RTT(later); got != 0 {
		t.Fatalf("RTT observed %v ago = %v; want 0 (unmeasured)", StaleRTT+time.Second, got)
	}
	b.Picked(time.Time{}) // Another scheduler's pick: no trial.
	if got := b.RTT(later); got != 0 {
		t.Fatalf("RTT after a pick by another scheduler = %v; want still 0", got)
	}
	b.Picked(later) // lrtt's pick: the trial.
	if got := b.RTT(later); got != 35*time.Millisecond {
		t.Fatalf("RTT while the trial is under way = %v; want the old 35ms", got)
	}
	if got := b.RTT(later.Add(StaleRTT + time.Second)); got != 0 {
		t.Fatalf("RTT %v after a trial that measured nothing = %v; want 0 (another trial)", StaleRTT+time.Second, got)
	}
	b.ObserveRTT(2 * time.Millisecond) // The trial's measurement.
	if got := b.RTT(time.Now()); got != 2*time.Millisecond {
		t.Fatalf("RTT after the trial's measurement = %v; want 2ms, replacing the stale figure", got)
	}

	checked := newBackend(Key{Proto: snapshot.ProtoUDP, Host: "127.0.0.1", Port: 1,
		Check: snapshot.HealthCheck{Enabled: true, Interval: time.Minute}})
	checked.ObserveRTT(40 * time.Millisecond)
	if got := checked.RTT(time.Now().Add(time.Minute)); got != 40*time.Millisecond {
		t.Errorf("RTT with checks on, a check interval after the last = %v; want 40ms", got)
	}
}

// TestStaleRTTOneTrialPerWindow: with checks off, once the slow origin's
// figure is older than StaleRTT it reads 0 and ranks first under lrtt, so
// that one connection measures it afresh. The pick that sends that one
// claims the trial: connections (or requests) picked before it is
// answered rank the origin by its old figure, instead of all going to the
// origin lrtt had ranked slowest.
func TestStaleRTTOneTrialPerWindow(t *testing.T) {
	p := NewPool(Options{})
	defer p.Close()
	fast := p.Acquire(Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.1", Port: 1})
	defer p.Release(fast)
	slow := p.Acquire(Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.2", Port: 1})
	defer p.Release(slow)
	slow.ObserveRTT(100 * time.Millisecond)
	slow.rttAt.Add(-int64(StaleRTT + time.Second)) // Last picked 11 s ago.
	fast.ObserveRTT(time.Millisecond)              // Measured by every connection since.
	pk := balance.New(snapshot.SchedLRTT, []*balance.Target{
		{ID: "fast", Weight: 1, Backend: fast}, {ID: "slow", Weight: 1, Backend: slow}}, false, nil, 0)
	toSlow := 0
	for range 20 { // New connections within the slow origin's 100 ms: none has measured it yet.
		if pk.Pick(netip.Addr{}).ID == "slow" {
			toSlow++
		}
	}
	if toSlow != 1 {
		t.Errorf("%d of 20 connections picked while the slow origin's figure was stale went to it; want 1 (one that measures it)", toSlow)
	}
}

// TestUnmeasuredOriginRanksLastOnceTried: an origin with no latency figure
// ranks first under lrtt only to get one: with checks off, the pick that
// sends it its first connection claims the trial, and until that connect
// completes it ranks after the measured origins. It read 0 (first) all
// the while, so every connection picked meanwhile went to it, each to wait
// out a connect to an origin that may not answer. With checks on, the
// checks are what measure it: one they leave without a figure (a UDP
// probe met by silence passes) ranks after the measured ones for good,
// where it took every session; unmeasured origins tie with each other.
func TestUnmeasuredOriginRanksLastOnceTried(t *testing.T) {
	for _, check := range []snapshot.HealthCheck{{}, {Enabled: true, Interval: time.Minute}} {
		// No checker runs: the test stands for checks that measured fast only.
		fast := newBackend(Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.1", Port: 1, Check: check})
		fresh := newBackend(Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.2", Port: 1, Check: check})
		other := newBackend(Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.3", Port: 1, Check: check})
		fast.ObserveRTT(time.Millisecond)
		pk := balance.New(snapshot.SchedLRTT, []*balance.Target{
			{ID: "fast", Weight: 1, Backend: fast}, {ID: "fresh", Weight: 1, Backend: fresh}}, false, nil, 0)
		toFresh := 0
		for range 20 { // New connections before any connect to fresh completes.
			if pk.Pick(netip.Addr{}).ID == "fresh" {
				toFresh++
			}
		}
		want := 1 // The trial.
		if check.Enabled {
			want = 0
		}
		if toFresh != want {
			t.Errorf("checks %v: %d of 20 connections went to the unmeasured origin; want %d", check.Enabled, toFresh, want)
		}
		if got := fresh.RTT(time.Now()); got != Unmeasured {
			t.Errorf("checks %v: unmeasured origin's RTT after its pick = %v; want Unmeasured", check.Enabled, got)
		}
		pk = balance.New(snapshot.SchedLRTT, []*balance.Target{
			{ID: "fresh", Weight: 1, Backend: fresh}, {ID: "other", Weight: 1, Backend: other}}, false, nil, 0)
		seen := map[string]int{}
		for range 20 {
			seen[pk.Pick(netip.Addr{}).ID]++
		}
		if seen["fresh"] < 5 || seen["other"] < 5 {
			t.Errorf("checks %v: two unmeasured origins got %v of 20 connections; want them shared", check.Enabled, seen)
		}
	}
}

// TestRebindKeepsOpenConnections: an origin unbound while its connections
// run on, and bound again before they end, counts them (lc): its new
// backend read 0 active, and took every new connection of a listener
// whose other origins carry theirs. Once they have ended, a binding starts
// afresh, as a new origin does.
func TestRebindKeepsOpenConnections(t *testing.T) {
	p := NewPool(Options{})
	defer p.Close()
	k := Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.1", Port: 1}
	old := p.Acquire(k)
	old.ConnStart()
	old.ConnStart()
	p.Release(old) // Unbound; the two connections run on.
	again := p.Acquire(k)
	if again.Active() != 2 {
		t.Errorf("rebound origin reads %d active; want the 2 still open", again.Active())
	}
	old.ConnEnd()
	old.ConnEnd()
	if again.Active() != 0 {
		t.Errorf("%d active after both ended; want 0", again.Active())
	}
	again.ObserveRTT(time.Millisecond)
	p.Release(again) // Unbound idle: nothing kept.
	fresh := p.Acquire(k)
	defer p.Release(fresh)
	if fresh.RTT(time.Now()) != 0 {
		t.Error("an origin bound again after an idle unbind kept its old state; want a new origin's")
	}
}

// TestPingCheckFeedsLRTT: a UDP listener with CheckType PING and
// scheduler lrtt ("最小时延", least latency). Every check is an ICMP echo
// round trip to the origin, i.e. its latency: a PING check that got its
// echo feeds the EWMA as a UDP probe's reply or a TCP check's handshake
// does. checkAddr returned 0 for PING, and lrtt rotated like rr.
func TestPingCheckFeedsLRTT(t *testing.T) {
	if c, _, err := listenICMP(true); err != nil {
		t.Skipf("ICMP unavailable here: %v", err)
	} else {
		_ = c.Close()
	}
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(netip.AddrPort, []byte) []byte { return nil })
	p := NewPool(Options{Nameservers: []string{}})
	t.Cleanup(p.Close)
	b := p.Acquire(Key{Proto: snapshot.ProtoUDP, Host: origin.Addr.Addr().String(), Port: int(origin.Addr.Port()),
		Check: snapshot.HealthCheck{Enabled: true, CheckType: snapshot.CheckPing, Interval: 100 * time.Millisecond,
			Timeout: 50 * time.Millisecond, Healthy: 1, Unhealthy: 1}})
	defer p.Release(b)
	// Both at once: a check records the latency before the health it
	// restores (a first ping late past its 50 ms timeout took it out).
	edgetest.Eventually(t, 3*time.Second, func() bool { rtt := b.RTT(time.Now()); return rtt != 0 && rtt != Unmeasured && b.Healthy() },
		"PING checks (every 100 ms) answered, the origin's latency still unmeasured or the origin unhealthy: lrtt cannot rank PING-checked UDP origins")
}

// TestAddrDownNeedsAnotherAddress: an address the checks took out counts
// as down only while the name has another that is not: after a resolution
// that left only taken-out addresses (before the next check recounts),
// a UDP session on one must not be ended at every sweep.
func TestAddrDownNeedsAnotherAddress(t *testing.T) {
	b := newBackend(Key{Proto: snapshot.ProtoUDP, Host: "origin.test", Port: 53, IsDomain: true})
	x, y := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	b.addrs.Store(&[]netip.Addr{x, y})
	b.addrDown.Store(&[]netip.Addr{x})
	if !b.AddrDown(x) || b.AddrDown(y) {
		t.Fatalf("AddrDown(%v) %v, AddrDown(%v) %v; want true, false", x, b.AddrDown(x), y, b.AddrDown(y))
	}
	b.addrs.Store(&[]netip.Addr{x}) // A new answer: only the address taken out.
	if b.AddrDown(x) {
		t.Errorf("AddrDown(%v) with no other address left; want false", x)
	}
}

// TestCheckPathSentAsWritten: docs/api-l7.md says a CheckParams.Path
// is "sent as written", and the API accepts "/files/a%2Fb|c" (an encoded
// slash inside a segment, and a '|'). The probe is built with
// http.NewRequest, whose URL.EscapedPath gives up on the raw path as soon
// as it holds a byte Go would escape ('|', '{', '^', ...) and re-escapes
// the decoded one: the origin was probed at "/files/a/b%7Cc", another path
// (one more segment). It is sent as written, as proxied requests' paths
// are (rule.rewrite, sentPath: URL.Opaque).
func TestCheckPathSentAsWritten(t *testing.T) {
	const path = "/files/a%2Fb|c" // The API takes it (model.ValidateCheck).
	if uri := probedURI(t, path); uri != path {
		t.Errorf("CheckParams.Path %q was probed as %q; want it as written", path, uri)
	}
}

// TestCheckPathNonASCIIEscaped: a check path with non-ASCII characters
// ("/café", which the API takes) is probed with those percent-encoded
// ("/caf%C3%A9"), never as raw UTF-8 octets on the request line, which RFC
// 9112 does not allow and strict origins answer 400 (the origin then
// reading abnormal), and with the rest as written: net/url, which escaped
// them, also decoded an encoded slash ("/a%2Fb/café" probed as
// "/a/b/caf%C3%A9", another path).
func TestCheckPathNonASCIIEscaped(t *testing.T) {
	for path, want := range map[string]string{"/café": "/caf%C3%A9", "/a%2Fb/café?x=1": "/a%2Fb/caf%C3%A9?x=1", "/q?name=café": "/q?name=caf%C3%A9"} {
		if uri := probedURI(t, path); uri != want {
			t.Errorf("CheckParams.Path %q was probed as %q; want %q", path, uri, want)
		}
	}
}

// probedURI runs one HTTP check of path against an origin and returns the
// request target the origin got.
func probedURI(t *testing.T, path string) string {
	t.Helper()
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.RequestURI:
		default:
		}
	}))
	defer srv.Close()
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	probe, check := ProbeOf(snapshot.HTTPCheck{Enabled: true, Path: path, Timeout: 2 * time.Second})
	if _, _, err := newBackend(Key{Proto: snapshot.ProtoHTTP, Host: ap.Addr().String(), Port: int(ap.Port()), Check: check, HTTP: probe}).check(); err != nil {
		t.Fatalf("check: %v", err)
	}
	select {
	case uri := <-got:
		return uri
	case <-time.After(2 * time.Second):
		t.Fatal("no probe reached the origin")
	}
	return ""
}
