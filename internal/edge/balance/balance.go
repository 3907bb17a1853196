// Package balance chooses an origin for each new TCP connection or UDP
// session: the GAAP schedulers rr, wrr, lc and lrtt, primary/secondary
// failover, and client-IP session persistence.
//
// Eligibility, in order: healthy primaries; with FailoverSwitch, healthy
// secondaries when no primary is healthy; and when nothing is healthy, every
// primary (every origin without FailoverSwitch). Failing open matches CLB/
// GAAP behaviour and beats refusing: health checks can be wrong (a firewall
// dropping probes), and a dead origin fails the dial anyway. Within the
// eligible set, suspect origins (a recent connect failed) are passed over
// while any other remains.
package balance

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// Backend is what a picker needs to know about an origin's live state.
// Implementations must be safe for concurrent use.
type Backend interface {
	Healthy() bool
	Active() int64      // Open connections/sessions, for lc.
	RTT() time.Duration // Smoothed connect latency (0 = unmeasured), for lrtt.
	Suspect() bool      // A connect failed lately: avoid while others remain.
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

	rr  atomic.Uint64
	mu  sync.Mutex // Guards cw.
	cw  []int      // Smooth wrr current weights, by target index.
	now func() time.Time
}

// New builds a picker. sticky is owned by the listener socket and shared
// by successive pickers so persistence survives configuration changes; it
// may be nil when persist is 0.
func New(sched string, targets []*Target, failover bool, sticky *Sticky, persist time.Duration) *Picker {
	for i, t := range targets {
		t.index = i
	}
	if persist <= 0 {
		sticky = nil
	}
	return &Picker{sched: sched, targets: targets, failover: failover, sticky: sticky,
		persist: persist, cw: make([]int, len(targets)), now: time.Now}
}

// Pick returns the target for a new connection from client, or nil if the
// picker has no targets.
func (p *Picker) Pick(client netip.Addr) *Target {
	var buf [16]*Target
	el := p.eligible(buf[:0])
	if len(el) == 0 {
		return nil
	}
	if p.sticky == nil {
		return p.choose(el)
	}
	now := p.now()
	if id, ok := p.sticky.Get(client, now); ok {
		for _, t := range el {
			if t.ID == id {
				p.sticky.Put(client, id, now, now.Add(p.persist))
				return t
			}
		}
	}
	t := p.choose(el)
	p.sticky.Put(client, t.ID, now, now.Add(p.persist))
	return t
}

// AnyHealthy reports whether some target is healthy, i.e. whether a flow
// on an unhealthy origin would find a better one if it started again.
func (p *Picker) AnyHealthy() bool {
	for _, t := range p.targets {
		if t.Backend.Healthy() {
			return true
		}
	}
	return false
}

func (p *Picker) eligible(out []*Target) []*Target {
	for _, t := range p.targets {
		if (!p.failover || !t.Secondary) && t.Backend.Healthy() {
			out = append(out, t)
		}
	}
	if len(out) == 0 && p.failover {
		for _, t := range p.targets {
			if t.Secondary && t.Backend.Healthy() {
				out = append(out, t)
			}
		}
	}
	if len(out) > 0 {
		return unsuspected(out)
	}
	for _, t := range p.targets { // Nothing healthy: fail open.
		if !p.failover || !t.Secondary {
			out = append(out, t)
		}
	}
	if len(out) == 0 { // Only secondaries configured.
		out = append(out, p.targets...)
	}
	return unsuspected(out)
}

// unsuspected drops suspect targets from el (in place) unless all are.
func unsuspected(el []*Target) []*Target {
	n := 0
	for _, t := range el {
		if !t.Backend.Suspect() {
			el[n] = t
			n++
		}
	}
	if n == 0 {
		return el
	}
	return el[:n]
}

func (p *Picker) choose(el []*Target) *Target {
	switch p.sched {
	case snapshot.SchedWRR:
		if t := p.wrr(el); t != nil {
			return t
		}
	case snapshot.SchedLC:
		return p.least(el, func(t *Target) int64 { return t.Backend.Active() })
	case snapshot.SchedLRTT:
		return p.least(el, func(t *Target) int64 { return int64(t.Backend.RTT()) })
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
