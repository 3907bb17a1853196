// Package balance chooses an origin for each new TCP connection or UDP
// session: the GAAP schedulers rr, wrr, lc and lrtt, primary/secondary
// failover, and client-IP session persistence.
//
// Targets are ranked (rank) and the scheduler chooses among the best: a
// primary before a secondary (with FailoverSwitch, as nginx's backup
// servers take over from primaries that failed actively or passively);
// healthy before suspect (a recent connect failed: the passive check)
// before unhealthy, so that when nothing is healthy the picker fails open
// rather than refusing, as CLB/GAAP do (checks can be wrong, and a dead
// origin fails the dial anyway). Under wrr a weight of 0 beside a positive
// one gets no traffic at all (out). Targets a connection already failed on
// are left out.
package balance

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// Backend is what a picker needs to know about an origin's live state.
// Implementations must be safe for concurrent use.
type Backend interface {
	Healthy() bool
	Active() int64 // Open connections/sessions, for lc.
	// RTT is the smoothed latency as lrtt ranks it at now (0 = to be
	// measured: unmeasured or stale, first; health.Unmeasured, the largest
	// Duration, when it has no figure and a pick will not get it one, last:
	// see health.Backend.RTT): of connects, probe replies or HTTP answers.
	RTT(now time.Time) time.Duration
	Suspect() bool // A connect failed lately: avoid while others remain.
	// Picked records that a new connection goes to the origin; rankedAt is
	// when lrtt ranked it, zero under other schedulers (see
	// health.Backend.Picked).
	Picked(rankedAt time.Time)
}

// Target is one origin as the picker sees it.
type Target struct {
	ID        string
	Weight    int
	Secondary bool
	Backend   Backend
	index     int
}

// Picker picks targets for one listener configuration. It is immutable
// apart from scheduler state and safe for concurrent use.
type Picker struct {
	sched    string
	targets  []*Target
	failover bool
	sticky   *Sticky // Nil when persistence is off.
	persist  time.Duration

	// weighted: under wrr, some target has a positive weight, so those of
	// weight 0 get no traffic at all (out).
	weighted bool

	rr  atomic.Uint64
	mu  sync.Mutex // Guards cw.
	cw  []int      // Smooth wrr current weights, by target index.
	now func() time.Time
}

// New builds a picker. sticky is owned by the listener socket (or its
// persistence group) and shared by successive pickers so persistence
// survives configuration changes; it may be nil when persist is 0.
func New(sched string, targets []*Target, failover bool, sticky *Sticky, persist time.Duration) *Picker {
	for i, t := range targets {
		t.index = i
	}
	if persist <= 0 {
		sticky = nil
	}
	weighted := sched == snapshot.SchedWRR && slices.ContainsFunc(targets, func(t *Target) bool { return t.Weight > 0 })
	return &Picker{sched: sched, targets: targets, failover: failover, sticky: sticky, weighted: weighted,
		persist: persist, cw: make([]int, len(targets)), now: time.Now}
}

// Offset starts the picker's rotation n picks in (rr, lc and lrtt ties,
// wrr's smooth sequence over all targets): pickers of one origin set that
// would otherwise all begin with the same origin (an EdgeOne rule's ports,
// each its own listener) spread their first clients. It returns p, and is
// called before p is used.
func (p *Picker) Offset(n uint64) *Picker {
	p.rr.Store(n)
	if p.sched == snapshot.SchedWRR && len(p.targets) > 0 {
		// A few steps of the sequence, not up to the sum of the weights:
		// enough to start ports on different origins, at a cost bounded
		// by the targets (a rule's 200 ports of 100 origins weighing 100
		// each took 0.5 s of an Apply).
		for range n % uint64(len(p.targets)) {
			p.wrr(p.targets)
		}
	}
	return p
}

// Continue starts p, built for a changed configuration of the listener
// old served, where old's rotation stands (rr, lc and lrtt ties), and
// under wrr with the same targets and weights where its smooth sequence
// stands, as origin state and persistence outlive the change: a fresh
// picker began with the same origin at every change, so a listener
// changed between connections (automation) sent them all there, and a
// light wrr origin none. It costs one copy per change, nothing per pick.
// It reports whether the rotation p picks by went on: not for wrr with
// other targets or weights, whose sequence starts afresh (a caller that
// offsets fresh pickers, Offset, does so then). It is called before p is
// used.
func (p *Picker) Continue(old *Picker) bool {
	p.rr.Store(old.rr.Load())
	if p.sched != snapshot.SchedWRR {
		return true
	}
	if old.sched != snapshot.SchedWRR || !slices.EqualFunc(p.targets, old.targets,
		func(a, b *Target) bool { return a.ID == b.ID && a.Weight == b.Weight }) {
		return false
	}
	old.mu.Lock()
	copy(p.cw, old.cw)
	old.mu.Unlock()
	return true
}

// Pick returns the target for a new connection from client, leaving out
// tried (targets this connection already failed on), or nil if no target
// is left. A client pinned by persistence stays on its origin while that
// is as good as the best but for being suspect (a wrr weight of 0 counts:
// a drained origin loses its pinned clients too): one refused connect,
// maybe another client's, does not move every pinned client; the
// connection that fails there retries without it (tried) and is pinned
// anew. tried is matched by ID: it may come from an earlier Picker of the
// listener (a UDP session that outlived a change of its listener).
func (p *Picker) Pick(client netip.Addr, tried ...*Target) *Target {
	return p.PickWithin(client, 0, tried...)
}

// PickWithin is Pick for a connection that may try at most tries origins
// (when tries > 0) of each failover role: with FailoverSwitch, that many
// primaries and then that many secondaries; nil once both are spent. One
// bound on all tries was spent on the primaries whenever that many failed
// before any was suspect (a burst, or the first connection after their
// suspicion expired together), and the connection failed while a
// secondary, there for that very case, was up.
func (p *Picker) PickWithin(client netip.Addr, tries int, tried ...*Target) *Target {
	var spent [2]bool // By role.
	if tries > 0 && len(tried) >= tries {
		var n [2]int
		for _, t := range tried {
			n[p.role(p.current(t))]++
		}
		spent = [2]bool{n[0] >= tries, n[1] >= tries}
	}
	var buf [16]*Target
	el, best := p.eligible(buf[:0], tried, spent)
	if len(el) == 0 {
		return nil
	}
	var t *Target
	var now, rankedAt time.Time // One clock read per pick, when needed.
	if p.sticky != nil || p.sched == snapshot.SchedLRTT {
		now = p.now()
	}
	if p.sched == snapshot.SchedLRTT {
		rankedAt = now
	}
	pin := false
	if p.sticky != nil {
		var id string
		if id, pin = p.sticky.Get(client, now, p.persist); pin {
			t = p.pinned(id, tried, spent, best)
		}
	}
	if t == nil {
		t = p.choose(el, now)
	}
	if p.sticky != nil {
		t = p.pin(client, t, pin, tried, spent, best, now)
	}
	t.Backend.Picked(rankedAt)
	return t
}

// pin binds client to t. A client that had no pin (had false) takes the
// one another of its connections stored since it looked, if persistence
// may keep it there: a browser's parallel first connections are picked at
// once, and each would otherwise go wherever the scheduler sent it, the
// last one's origin becoming the pin the others do not use.
func (p *Picker) pin(client netip.Addr, t *Target, had bool, tried []*Target, spent [2]bool, best int, now time.Time) *Target {
	if !had {
		id := p.sticky.Claim(client, t.ID, now, p.persist)
		if id == t.ID {
			return t
		}
		if o := p.pinned(id, tried, spent, best); o != nil {
			return o
		}
	}
	p.sticky.Put(client, t.ID, now, p.persist)
	return t
}

// Hold records that a connection of client picked by p is open: its pin
// lives while it is and SessionPersist after the last one ended. It
// reports whether the caller must call Release when the connection ends
// (not when persistence is off or the client is not pinned).
func (p *Picker) Hold(client netip.Addr) bool {
	return p.sticky != nil && p.sticky.Hold(client)
}

// Release ends what Hold began.
func (p *Picker) Release(client netip.Addr) { p.sticky.Release(client, p.now()) }

// AnyHealthy reports whether some target a new flow may go to is
// healthy, i.e. whether a flow on an unhealthy origin would find a better
// one if it started again (not a weight-0 one: out).
func (p *Picker) AnyHealthy() bool {
	for _, t := range p.targets {
		if !p.out(t) && t.Backend.Healthy() {
			return true
		}
	}
	return false
}

// Rank terms: the lower the sum, the better the target.
const (
	rankSecondary = 1 // With FailoverSwitch.
	rankSuspect   = 2
	rankUnhealthy = 8
)

// out reports whether t gets no traffic whatever the others' state: a
// weight of 0 under wrr beside a positive one ("0 值：明确设置权重为0，流量
// 将不会分配到该源站"), as an operator takes an origin out of service, its
// pinned clients included. A connection whose weighted origins all fail
// fails, rather than reaching the origin taken out. Weights all 0 (a row
// no API takes now) still share traffic, by rr.
func (p *Picker) out(t *Target) bool { return p.weighted && t.Weight <= 0 }

// rank places a target for a new connection; see the package comment.
func (p *Picker) rank(t *Target) int {
	r := p.pinRank(t)
	if t.Backend.Suspect() {
		r += rankSuspect
	}
	return r
}

// pinRank is rank without suspicion: what persistence honours.
func (p *Picker) pinRank(t *Target) int {
	r := p.role(t) * rankSecondary
	if !t.Backend.Healthy() {
		r += rankUnhealthy
	}
	return r
}

// current is this Picker's target of t's ID, or t when it has none: a
// target tried under an earlier Picker (a UDP session that outlived a
// change of its listener) counts in the role the listener gives it now.
func (p *Picker) current(t *Target) *Target {
	for _, c := range p.targets {
		if c.ID == t.ID {
			return c
		}
	}
	return t
}

// role is t's failover role: 1 for a secondary with FailoverSwitch, else 0.
func (p *Picker) role(t *Target) int {
	if p.failover && t.Secondary {
		return 1
	}
	return 0
}

// excluded reports whether t may not take a connection that failed on
// tried, whatever its rank: out, tried, or of a role whose tries are spent.
func (p *Picker) excluded(t *Target, tried []*Target, spent [2]bool) bool {
	return p.out(t) || spent[p.role(t)] || isTried(tried, t)
}

// eligible appends the targets of the best rank that are not excluded to
// out and returns them with that rank. A retry (tried not empty) never
// goes to an origin its checks mark down: failing open is for a
// connection's first try, and each such retry could cost the client a
// whole connect timeout.
func (p *Picker) eligible(out, tried []*Target, spent [2]bool) ([]*Target, int) {
	best := -1
	for _, t := range p.targets {
		if p.excluded(t, tried, spent) || len(tried) > 0 && !t.Backend.Healthy() {
			continue
		}
		switch r := p.rank(t); {
		case best < 0 || r < best:
			best, out = r, append(out[:0], t)
		case r == best:
			out = append(out, t)
		}
	}
	return out, best
}

func isTried(tried []*Target, t *Target) bool {
	return slices.ContainsFunc(tried, func(o *Target) bool { return o.ID == t.ID })
}

// pinned returns the target id if persistence should keep its client
// there, or nil.
func (p *Picker) pinned(id string, tried []*Target, spent [2]bool, best int) *Target {
	for _, t := range p.targets {
		if t.ID == id {
			if p.excluded(t, tried, spent) || p.pinRank(t) > best {
				return nil
			}
			return t
		}
	}
	return nil
}

// choose picks among el by the scheduler; now is the pick's time (lrtt).
func (p *Picker) choose(el []*Target, now time.Time) *Target {
	switch p.sched {
	case snapshot.SchedWRR:
		if t := p.wrr(el); t != nil {
			return t
		}
	case snapshot.SchedLC:
		return p.least(el, func(t *Target) int64 { return t.Backend.Active() })
	case snapshot.SchedLRTT:
		return p.least(el, func(t *Target) int64 { return int64(t.Backend.RTT(now)) })
	}
	return el[p.rr.Add(1)%uint64(len(el))]
}

// wrr is nginx's smooth weighted round robin: even spreading, exact ratios.
// It returns nil when every eligible weight is 0 (the caller falls back to
// rr rather than refusing).
func (p *Picker) wrr(el []*Target) *Target {
	p.mu.Lock()
	defer p.mu.Unlock()
	var best *Target
	total := 0
	for _, t := range el {
		if t.Weight <= 0 {
			continue
		}
		p.cw[t.index] += t.Weight
		total += t.Weight
		if best == nil || p.cw[t.index] > p.cw[best.index] {
			best = t
		}
	}
	if best != nil {
		p.cw[best.index] -= total
	}
	return best
}

// least returns the target with the smallest metric; ties rotate so equal
// origins share load (and unmeasured lrtt origins all get measured).
func (p *Picker) least(el []*Target, metric func(*Target) int64) *Target {
	start := int(p.rr.Add(1) % uint64(len(el)))
	best := el[start]
	bm := metric(best)
	for i := 1; i < len(el); i++ {
		t := el[(start+i)%len(el)]
		if m := metric(t); m < bm {
			best, bm = t, m
		}
	}
	return best
}
