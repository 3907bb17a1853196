package balance

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

type fake struct {
	healthy bool
	active  int64
	rtt     time.Duration
	suspect bool
}

func (f *fake) Healthy() bool               { return f.healthy }
func (f *fake) Active() int64               { return f.active }
func (f *fake) RTT(time.Time) time.Duration { return f.rtt }
func (f *fake) Suspect() bool               { return f.suspect }
func (f *fake) Picked(time.Time)            {}

var client = netip.MustParseAddr("192.0.2.1")

func count(p *Picker, n int) map[string]int {
	got := map[string]int{}
	for range n {
		got[p.Pick(client).ID]++
	}
	return got
}

func TestPick(t *testing.T) {
	tests := []struct {
		desc     string
		sched    string
		failover bool
		targets  []*Target
		want     map[string]int // Out of 100 picks.
	}{
		{"lrtt prefers fastest", snapshot.SchedLRTT, false, []*Target{
			{ID: "a", Backend: &fake{healthy: true, rtt: 5 * time.Millisecond}},
			{ID: "b", Backend: &fake{healthy: true, rtt: time.Millisecond}},
		}, map[string]int{"b": 100}},
		{"lrtt measures unmeasured first", snapshot.SchedLRTT, false, []*Target{
			{ID: "a", Backend: &fake{healthy: true, rtt: time.Millisecond}},
			{ID: "b", Backend: &fake{healthy: true}},
		}, map[string]int{"b": 100}},
		{"lc", snapshot.SchedLC, false, []*Target{
			{ID: "a", Backend: &fake{healthy: true, active: 5}},
			{ID: "b", Backend: &fake{healthy: true, active: 2}},
		}, map[string]int{"b": 100}},
		{"lc passes over a suspect idle origin", snapshot.SchedLC, false, []*Target{
			{ID: "a", Backend: &fake{healthy: true, suspect: true}},
			{ID: "b", Backend: &fake{healthy: true, active: 7}},
		}, map[string]int{"b": 100}},
		{"all suspect: scheduler decides", snapshot.SchedLC, false, []*Target{
			{ID: "a", Backend: &fake{healthy: true, suspect: true}},
			{ID: "b", Backend: &fake{healthy: true, active: 7, suspect: true}},
		}, map[string]int{"a": 100}},
		{"suspect among the unhealthy: fail open to the others", snapshot.SchedRR, false, []*Target{
			{ID: "a", Backend: &fake{suspect: true}},
			{ID: "b", Backend: &fake{}},
		}, map[string]int{"b": 100}},
		{"wrr: a suspect positive weight before a zero weight", snapshot.SchedWRR, false, []*Target{
			{ID: "a", Weight: 10, Backend: &fake{healthy: true, suspect: true}},
			{ID: "b", Weight: 0, Backend: &fake{healthy: true}},
		}, map[string]int{"a": 100}},
		// Weight 0 is no traffic ("流量将不会分配到该源站"), even when the
		// weighted origin's checks fail: its picks fail open to it.
		{"wrr: a zero weight never, not even before an unhealthy positive one", snapshot.SchedWRR, false, []*Target{
			{ID: "a", Weight: 10, Backend: &fake{}},
			{ID: "b", Weight: 0, Backend: &fake{healthy: true}},
		}, map[string]int{"a": 100}},
		{"secondary takes over from a suspect primary", snapshot.SchedRR, true, []*Target{
			{ID: "p", Backend: &fake{healthy: true, suspect: true}},
			{ID: "s", Secondary: true, Backend: &fake{healthy: true}},
		}, map[string]int{"s": 100}},
		{"unhealthy skipped", snapshot.SchedRR, false, []*Target{
			{ID: "a", Backend: &fake{healthy: false}},
			{ID: "b", Backend: &fake{healthy: true}},
		}, map[string]int{"b": 100}},
		{"secondary idle while primary healthy", snapshot.SchedRR, true, []*Target{
			{ID: "p", Backend: &fake{healthy: true}},
			{ID: "s", Secondary: true, Backend: &fake{healthy: true}},
		}, map[string]int{"p": 100}},
		{"secondary takes over", snapshot.SchedRR, true, []*Target{
			{ID: "p", Backend: &fake{healthy: false}},
			{ID: "s", Secondary: true, Backend: &fake{healthy: true}},
		}, map[string]int{"s": 100}},
		{"secondary is a peer without failover", snapshot.SchedRR, false, []*Target{
			{ID: "p", Backend: &fake{healthy: true}},
			{ID: "s", Secondary: true, Backend: &fake{healthy: true}},
		}, map[string]int{"p": 50, "s": 50}},
		{"all unhealthy fails open to primaries", snapshot.SchedRR, true, []*Target{
			{ID: "p", Backend: &fake{}},
			{ID: "s", Secondary: true, Backend: &fake{}},
		}, map[string]int{"p": 100}},
		{"wrr ratio", snapshot.SchedWRR, false, []*Target{
			{ID: "a", Weight: 1, Backend: &fake{healthy: true}},
			{ID: "b", Weight: 3, Backend: &fake{healthy: true}},
		}, map[string]int{"a": 25, "b": 75}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := count(New(tc.sched, tc.targets, tc.failover, nil, 0), 100)
			for id, w := range tc.want {
				if got[id] != w {
					t.Errorf("%s: got %d; want %d (all %v)", id, got[id], w, got)
				}
			}
		})
	}
}

func TestStickyExpires(t *testing.T) {
	targets := []*Target{{ID: "a", Backend: &fake{healthy: true}}, {ID: "b", Backend: &fake{healthy: true}}}
	p := New(snapshot.SchedRR, targets, false, NewSticky(), time.Second)
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	first := p.Pick(client).ID
	if got := p.Pick(client).ID; got != first {
		t.Fatalf("got %s; want sticky %s", got, first)
	}
	now = now.Add(2 * time.Second)
	if got := p.Pick(client).ID; got == first {
		t.Errorf("got %s after expiry; want the other origin", got)
	}
}

// TestStickyBoundedByCount: the persistence table is bounded by count as
// well as by time. One IPv6 client holds a /64, so it can open TCP
// connections from as many distinct source addresses as it likes; 100,000
// of them in 100 s with a 3600 s persistence time stay within
// MaxStickyClients. The clients pinned first keep their origin, a client
// new to the full table is not pinned, and entries that expire make room.
func TestStickyBoundedByCount(t *testing.T) {
	s := NewSticky()
	base := netip.MustParseAddr("2001:db8:1:2::").As16()
	addr := func(i int) netip.Addr {
		a := base
		a[12], a[13], a[14], a[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		return netip.AddrFrom16(a)
	}
	t0 := time.Unix(1_700_000_000, 0)
	const n = 100_000
	for i := range n {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		s.Put(addr(i), "o1", now, time.Hour)
	}
	if got := s.Len(); got > MaxStickyClients {
		t.Errorf("persistence table holds %d entries after %d distinct clients; want at most %d", got, n, MaxStickyClients)
	}
	now := t0.Add(n * time.Millisecond)
	if id, ok := s.Get(addr(0), now, time.Hour); !ok || id != "o1" {
		t.Errorf("the first client lost its pin to the flood: %q, %v", id, ok)
	}
	if _, ok := s.Get(addr(n-1), now, time.Hour); ok {
		t.Error("a client new to the full table was pinned")
	}
	// An hour later the flood's entries expire as new clients come.
	now = t0.Add(3700 * time.Second)
	for i := range MaxStickyClients {
		s.Put(addr(n+i), "o2", now, time.Minute)
	}
	if id, ok := s.Get(addr(n+MaxStickyClients-1), now, time.Minute); !ok || id != "o2" {
		t.Errorf("expired entries made no room: the last new client reads %q, %v", id, ok)
	}
	if got := s.Len(); got > MaxStickyClients {
		t.Errorf("table holds %d entries; want at most %d", got, MaxStickyClients)
	}
}

// TestStickySweepKeepsExtended: an entry a later connection extended is
// kept when its first expiry passes, and goes once its new one has.
func TestStickySweepKeepsExtended(t *testing.T) {
	s := NewSticky()
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	t0 := time.Unix(1000, 0)
	s.Put(a, "o1", t0, 10*time.Second)
	s.Put(a, "o1", t0.Add(5*time.Second), 10*time.Second)
	s.Put(b, "o2", t0.Add(11*time.Second), 10*time.Second) // Sweeps a's first expiry.
	if id, ok := s.Get(a, t0.Add(12*time.Second), 10*time.Second); !ok || id != "o1" {
		t.Fatalf("extended entry swept at its first expiry: %q, %v", id, ok)
	}
	s.Put(b, "o2", t0.Add(16*time.Second), 10*time.Second) // Sweeps a's second.
	if got := s.Len(); got != 1 {
		t.Errorf("%d entries after a expired; want 1 (b)", got)
	}
}

// TestStickySuspectAndTried: a pinned client stays on an origin that is
// merely suspect (another client's connect failed there); a connection
// that failed there itself (tried) moves, and the client is pinned anew.
func TestStickySuspectAndTried(t *testing.T) {
	fa, fb := &fake{healthy: true}, &fake{healthy: true}
	a, b := &Target{ID: "a", Backend: fa}, &Target{ID: "b", Backend: fb}
	p := New(snapshot.SchedRR, []*Target{b, a}, false, NewSticky(), time.Minute)
	for p.Pick(client).ID != "a" { // rr: pinned to a within two picks.
	}
	fa.suspect = true
	if got := p.Pick(client).ID; got != "a" {
		t.Fatalf("pinned client moved to %s while a is only suspect", got)
	}
	if got := p.Pick(client, a).ID; got != "b" {
		t.Fatalf("after failing on a: got %s; want b", got)
	}
	fa.suspect = false
	if got := p.Pick(client).ID; got != "b" {
		t.Errorf("got %s; want the client pinned anew to b", got)
	}
	if got := p.Pick(client, a, b); got != nil {
		t.Errorf("everything tried: got %s; want nil", got.ID)
	}
	fb.healthy = false
	if got := p.Pick(client, a); got != nil {
		t.Errorf("retry after a: got %s, whose checks mark it down; want nil", got.ID)
	}
	if got := p.Pick(client); got == nil {
		t.Error("a first try got nothing; want one (failing open if need be)")
	}
}

func FuzzWRRNeverPicksZeroWeight(f *testing.F) {
	f.Add(uint8(0), uint8(5), uint8(7))
	f.Fuzz(func(t *testing.T, a, b, c uint8) {
		ws := []int{int(a % 101), int(b % 101), int(c % 101)}
		var ts []*Target
		for i, w := range ws {
			ts = append(ts, &Target{ID: string(rune('a' + i)), Weight: w, Backend: &fake{healthy: true}})
		}
		p := New(snapshot.SchedWRR, ts, false, nil, 0)
		for range 50 {
			got := p.Pick(client)
			if got.Weight == 0 && ws[0]+ws[1]+ws[2] > 0 {
				t.Fatalf("picked zero-weight %s with weights %v", got.ID, ws)
			}
		}
	})
}

// TestStickyZeroWeightDrains: under wrr a weight set to 0 drains the origin,
// pinned clients included (the sticky table outlives the picker, as it does
// across a config change); with every weight at 0 (rr fallback) the pin holds.
func TestStickyZeroWeightDrains(t *testing.T) {
	fa, fb := &fake{healthy: true}, &fake{healthy: true}
	sticky := NewSticky()
	p := New(snapshot.SchedWRR, []*Target{{ID: "a", Weight: 10, Backend: fa}, {ID: "b", Weight: 10, Backend: fb}}, false, sticky, time.Minute)
	for p.Pick(client).ID != "a" { // Pinned to a within two picks.
	}
	p = New(snapshot.SchedWRR, []*Target{{ID: "a", Weight: 0, Backend: fa}, {ID: "b", Weight: 10, Backend: fb}}, false, sticky, time.Minute)
	for i := range 3 {
		if got := p.Pick(client).ID; got != "b" {
			t.Fatalf("pick %d: got %s, whose wrr weight is 0; want b", i, got)
		}
	}
	p = New(snapshot.SchedWRR, []*Target{{ID: "a", Weight: 0, Backend: fa}, {ID: "b", Weight: 0, Backend: fb}}, false, sticky, time.Minute)
	for i := range 3 {
		if got := p.Pick(client).ID; got != "b" {
			t.Fatalf("every weight 0, pick %d: got %s; want the client to stay on b", i, got)
		}
	}
}

// TestStickyHeldWhileOpen: a pin held by an open connection outlives
// SessionPersist and the sweep, and lives SessionPersist after the
// connection ends.
func TestStickyHeldWhileOpen(t *testing.T) {
	s := NewSticky()
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	t0 := time.Unix(1000, 0)
	const persist = 10 * time.Second
	s.Put(a, "o1", t0, persist)
	if !s.Hold(a) {
		t.Fatal("Hold found no entry for a pinned client")
	}
	if s.Hold(b) {
		t.Fatal("Hold held an entry for a client never pinned")
	}
	s.Put(b, "o2", t0.Add(30*time.Second), persist) // Sweeps a, which is held.
	if id, ok := s.Get(a, t0.Add(30*time.Second), persist); !ok || id != "o1" {
		t.Fatalf("held pin lost after 3 × SessionPersist: %q, %v", id, ok)
	}
	s.Release(a, t0.Add(40*time.Second))
	if _, ok := s.Get(a, t0.Add(49*time.Second), persist); !ok {
		t.Error("pin gone less than SessionPersist after its connection ended")
	}
	if _, ok := s.Get(a, t0.Add(51*time.Second), persist); ok {
		t.Error("pin live more than SessionPersist after its connection ended")
	}
}

// racer is a fake whose Active, read by lc while a pick chooses, first
// lets another pick of the same client run to its end: the interleaving
// of two first connections of one client picked at once.
type racer struct {
	fake
	during func()
}

func (r *racer) Active() int64 {
	if f := r.during; f != nil {
		r.during = nil
		f()
	}
	return r.active
}

func (r *racer) Picked(time.Time) { r.active++ }

// TestStickyFirstPicksAgree: two first connections of a client picked at
// the same time go to one origin, the pin the first to store it made;
// each went where lc sent it, and the pin was the last one's.
func TestStickyFirstPicksAgree(t *testing.T) {
	a, b := &racer{fake: fake{healthy: true}}, &racer{fake: fake{healthy: true}}
	p := New(snapshot.SchedLC, []*Target{{ID: "a", Backend: a}, {ID: "b", Backend: b}}, false, NewSticky(), time.Minute)
	var inner string
	a.during = func() { inner = p.Pick(client).ID }
	outer := p.Pick(client).ID
	if inner != outer {
		t.Fatalf("a client's simultaneous first connections went to %s and %s; want one origin", inner, outer)
	}
	if id, _ := p.sticky.Get(client, time.Now(), time.Minute); id != outer {
		t.Errorf("pinned to %s; want %s, where both went", id, outer)
	}
}

// TestZeroWeightNeverRetried: a connection whose weighted origin failed is
// not retried on an origin of weight 0 under wrr: none is left, and the
// connection fails. It went to the weight-0 one, which an operator set to
// take it out of service.
func TestZeroWeightNeverRetried(t *testing.T) {
	a := &Target{ID: "a", Weight: 100, Backend: &fake{healthy: true}}
	c := &Target{ID: "c", Weight: 0, Backend: &fake{healthy: true}}
	p := New(snapshot.SchedWRR, []*Target{a, c}, false, NewSticky(), time.Minute)
	if got := p.Pick(client); got != a {
		t.Fatalf("first pick %v; want a", got.ID)
	}
	if got := p.Pick(client, a); got != nil {
		t.Errorf("retry after a failed: picked %s (weight 0); want none", got.ID)
	}
}

// TestAnyHealthyIgnoresOut: AnyHealthy answers whether a flow on an
// unhealthy origin would find a better one if it started again (the UDP
// sweep ends such sessions when it is true): a healthy origin of weight 0
// under wrr, never picked, is no better place. Counted, a session on the
// unhealthy weighted origin was ended at every sweep only to be picked
// onto that same origin again.
func TestAnyHealthyIgnoresOut(t *testing.T) {
	a := &Target{ID: "a", Weight: 10, Backend: &fake{}}             // Unhealthy.
	b := &Target{ID: "b", Weight: 0, Backend: &fake{healthy: true}} // Out.
	p := New(snapshot.SchedWRR, []*Target{a, b}, false, nil, 0)
	if got := p.Pick(client); got != a {
		t.Fatalf("pick %v; want a (fail open: b is out)", got.ID)
	}
	if p.AnyHealthy() {
		t.Errorf("AnyHealthy = true with only the out weight-0 origin healthy; a new pick still goes to a, so want false")
	}
}

// TestPickWithinTriesEachRole: a connection's bound on tries applies to
// each failover role. With FailoverSwitch, four primaries that are not
// (yet) suspect and all refuse, and a healthy secondary, the connection
// that failed on three primaries goes to the secondary, not to the fourth
// primary nor nowhere: one bound on all tries was spent on the primaries
// (a burst before the first refusals, or the first connection after their
// suspicion expired together) and the secondary, there for that case, was
// never tried. A client pinned to a primary is not kept there either.
// Without FailoverSwitch there is one role and the bound is as before.
func TestPickWithinTriesEachRole(t *testing.T) {
	var ps []*Target
	for i := range 4 {
		ps = append(ps, &Target{ID: fmt.Sprintf("p%d", i), Backend: &fake{healthy: true}})
	}
	s := &Target{ID: "s", Secondary: true, Backend: &fake{healthy: true}}
	all := append(slices.Clone(ps), s)
	p := New(snapshot.SchedRR, all, true, nil, 0)
	var tried []*Target
	for range 3 {
		got := p.PickWithin(client, 3, tried...)
		if got == nil || got.Secondary {
			t.Fatalf("pick after %d failed primaries = %v; want another primary", len(tried), got)
		}
		tried = append(tried, got)
	}
	if got := p.PickWithin(client, 3, tried...); got != s {
		t.Errorf("pick after 3 failed primaries = %v; want the secondary", got)
	}
	if got := p.PickWithin(client, 3, append(tried, s)...); got != nil {
		t.Errorf("pick after 3 primaries and the secondary failed = %s; want none", got.ID)
	}

	sticky := NewSticky()
	p = New(snapshot.SchedRR, all, true, sticky, time.Minute)
	sticky.Put(client, "p3", time.Now(), time.Minute)
	if got := p.PickWithin(client, 3, ps[:3]...); got != s {
		t.Errorf("client pinned to p3, pick after 3 other failed primaries = %v; want the secondary", got)
	}

	p = New(snapshot.SchedRR, all, false, nil, 0)
	if got := p.PickWithin(client, 3, ps[:3]...); got != nil {
		t.Errorf("without FailoverSwitch, pick after 3 failed tries = %s; want none", got.ID)
	}
	if got := p.Pick(client, ps[:3]...); got == nil {
		t.Error("Pick (no bound) after 3 failed tries = none; want one of the two left")
	}
}

// TestTriedRoleFromCurrentPicker: tried is matched by ID because it
// may come from an earlier Picker of the listener (a UDP session that
// outlived a change), and PickWithin counts a tried target in the role the
// current Picker gives it: origin x was a secondary and is now a primary,
// so a session that failed on x, p1 and p2 has tried 3 primaries and goes
// to the secondary (the stale flag once sent it to a 4th primary).
func TestTriedRoleFromCurrentPicker(t *testing.T) {
	mk := func(id string, sec bool) *Target {
		return &Target{ID: id, Secondary: sec, Backend: &fake{healthy: true}}
	}
	x, p1, p2, p3, s := mk("x", false), mk("p1", false), mk("p2", false), mk("p3", false), mk("s", true)
	p := New(snapshot.SchedRR, []*Target{x, p1, p2, p3, s}, true, nil, 0)
	oldX := mk("x", true) // x as the listener's previous configuration had it.
	if got := p.PickWithin(client, 3, oldX, p1, p2); got != s {
		t.Errorf("after primaries x (stale Target: secondary), p1, p2 failed: picked %v; want the secondary s "+
			"(3 primaries of this listener tried)", got.ID)
	}
}

// TestContinueKeepsSequence: a picker rebuilt for a changed listener
// (Continue) goes on with the old one's sequence, rr's and, with the same
// targets and weights, wrr's smooth one; with other weights wrr starts its
// sequence afresh, as a new picker's (the old current weights are of
// another ratio).
func TestContinueKeepsSequence(t *testing.T) {
	targets := func(ws ...int) []*Target {
		var ts []*Target
		for i, w := range ws {
			ts = append(ts, &Target{ID: string(rune('a' + i)), Weight: w, Backend: &fake{healthy: true}})
		}
		return ts
	}
	seq := func(p *Picker, n int) (s string) {
		for range n {
			s += p.Pick(client).ID
		}
		return s
	}
	for _, sched := range []string{snapshot.SchedRR, snapshot.SchedWRR} {
		whole := seq(New(sched, targets(5, 2, 1), false, nil, 0), 16)
		old := New(sched, targets(5, 2, 1), false, nil, 0)
		split := seq(old, 3)
		p := New(sched, targets(5, 2, 1), false, nil, 0)
		if !p.Continue(old) {
			t.Errorf("%s with the same targets: the rotation did not go on", sched)
		}
		split += seq(p, 13)
		if split != whole {
			t.Errorf("%s across a rebuild: %s; want %s, as without", sched, split, whole)
		}
	}
	old := New(snapshot.SchedWRR, targets(5, 2, 1), false, nil, 0)
	seq(old, 3)
	p := New(snapshot.SchedWRR, targets(1, 2, 5), false, nil, 0)
	if p.Continue(old) {
		t.Error("wrr with weights changed: Continue reports the sequence went on")
	}
	got := seq(p, 8)
	if want := seq(New(snapshot.SchedWRR, targets(1, 2, 5), false, nil, 0), 8); got != want {
		t.Errorf("wrr with weights changed: %s; want %s, a fresh sequence", got, want)
	}
}
