// Package stats keeps the edge's traffic counters: lock-free atomic
// counters per proxy, listener and origin, kept in a registry keyed by kind
// and stable ID so they survive snapshots, and sampled as cumulative values
// that the caller turns into per-minute figures with Delta.
package stats

import (
	"sync"
	"sync/atomic"
	"time"
)

// Kind is the kind of object a counter set belongs to.
type Kind string

// Kinds of counted objects.
const (
	KindProxy    Kind = "proxy"
	KindListener Kind = "listener"
	KindOrigin   Kind = "origin"
	KindRule     Kind = "rule" // Layer-7 forwarding rules.
)

// Counters is one object's counter set. All fields are safe for concurrent
// use; the hot path only does atomic adds (and Open a compare-and-swap
// when it sets a new Peak).
type Counters struct {
	BytesIn    atomic.Int64 // Client → origin payload bytes.
	BytesOut   atomic.Int64 // Origin → client payload bytes.
	PacketsIn  atomic.Int64 // Client → edge packets (TCP: data segments from TCP_INFO).
	PacketsOut atomic.Int64 // Edge → client packets (TCP: data segments from TCP_INFO).
	Active     atomic.Int64 // Open TCP connections plus live UDP sessions (a gauge).
	Peak       atomic.Int64 // The most Active since the last Sample: Open raises it, Sample resets it.
	NewConns   atomic.Int64 // Accepted TCP connections plus created UDP sessions.
	Refused    atomic.Int64 // Refused by the connection cap or the node's client descriptor budget (TCP conns, UDP datagrams).
	Denied     atomic.Int64 // Dropped by the security policy (TCP conns, UDP datagrams).
	DialFails  atomic.Int64 // Failed origin connects (or no origin available).
	DialCount  atomic.Int64 // Successful origin connects...
	DialNanos  atomic.Int64 // ...and their summed latency, for the average.
	Dropped    atomic.Int64 // UDP datagrams the edge could not deliver (loss it can see).
	// Bounced counts those of Dropped that an origin refused (ICMP port
	// unreachable): they had left the edge, so the packets count them too.
	Bounced  atomic.Int64
	Shaped   atomic.Int64 // UDP datagrams dropped by the bandwidth limit.
	Requests atomic.Int64 // HTTP requests answered (layer 7).
	// AnswerCount and AnswerNanos time HTTP answers (layer 7): how many
	// got their head sent, and the summed time from the request's arrival
	// to that head (routing, origin exchange, error pages).
	AnswerCount atomic.Int64
	AnswerNanos atomic.Int64
	// Status counts HTTP answers by class: Status[n] counts nxx (1-5);
	// index 0 counts requests that got no answer (client went away).
	Status [6]atomic.Int64

	// gen tells this set from the others the registry ever held under
	// the same key (see Sample.gens).
	gen uint64
}

// Values is a plain copy of Counters, safe to encode and compare.
type Values struct {
	BytesIn, BytesOut, PacketsIn, PacketsOut int64
	Active, Peak, NewConns, Refused, Denied  int64
	DialFails, DialCount, DialNanos          int64
	Dropped, Bounced, Shaped                 int64
	Requests, AnswerCount, AnswerNanos       int64
	Status                                   [6]int64
}

// Load copies the counters.
func (c *Counters) Load() Values {
	return Values{
		BytesIn: c.BytesIn.Load(), BytesOut: c.BytesOut.Load(),
		PacketsIn: c.PacketsIn.Load(), PacketsOut: c.PacketsOut.Load(),
		Active: c.Active.Load(), Peak: c.Peak.Load(), NewConns: c.NewConns.Load(),
		Refused: c.Refused.Load(), Denied: c.Denied.Load(),
		DialFails: c.DialFails.Load(), DialCount: c.DialCount.Load(), DialNanos: c.DialNanos.Load(),
		Dropped: c.Dropped.Load(), Bounced: c.Bounced.Load(), Shaped: c.Shaped.Load(),
		Requests: c.Requests.Load(), AnswerCount: c.AnswerCount.Load(), AnswerNanos: c.AnswerNanos.Load(),
		Status: loadStatus(&c.Status),
	}
}

// Add returns the sum of v and o, field by field: the figures of one
// object counted in parts (an EdgeOne rule's per-port listeners). Active
// and Peak add up too, the latter to the sum of the parts' peaks, which
// need not have been at the same moment.
func (v Values) Add(o Values) Values {
	v.BytesIn += o.BytesIn
	v.BytesOut += o.BytesOut
	v.PacketsIn += o.PacketsIn
	v.PacketsOut += o.PacketsOut
	v.Active += o.Active
	v.Peak += o.Peak
	v.NewConns += o.NewConns
	v.Refused += o.Refused
	v.Denied += o.Denied
	v.DialFails += o.DialFails
	v.DialCount += o.DialCount
	v.DialNanos += o.DialNanos
	v.Dropped += o.Dropped
	v.Bounced += o.Bounced
	v.Shaped += o.Shaped
	v.Requests += o.Requests
	v.AnswerCount += o.AnswerCount
	v.AnswerNanos += o.AnswerNanos
	for i := range v.Status {
		v.Status[i] += o.Status[i]
	}
	return v
}

// Open counts a connection or session opening: Active, and Peak when
// that is a new high. Close it with Active.Add(-1).
func (c *Counters) Open() {
	n := c.Active.Add(1)
	for p := c.Peak.Load(); n > p && !c.Peak.CompareAndSwap(p, n); p = c.Peak.Load() {
	}
}

func loadStatus(s *[6]atomic.Int64) (out [6]int64) {
	for i := range s {
		out[i] = s[i].Load()
	}
	return out
}

// Latency is the mean latency towards the object's origins, over all its
// samples: origin connect times (layer 4) and times to an HTTP answer's
// head (layer 7).
func (v Values) Latency() time.Duration {
	if n := v.DialCount + v.AnswerCount; n > 0 {
		return time.Duration((v.DialNanos + v.AnswerNanos) / n)
	}
	return 0
}

// PacketLoss is the datagrams lost at the edge, in either direction, as a
// percentage of those that reached it, each counted once: lost ÷
// (forwarded + lost), where an origin's bounced datagrams are both.
func (v Values) PacketLoss() float64 {
	lost := v.Dropped + v.Shaped
	if lost <= 0 {
		return 0
	}
	return float64(lost) * 100 / float64(v.PacketsIn+v.PacketsOut+lost-v.Bounced)
}

// Key names one counted object.
type Key struct {
	Kind Kind
	ID   string
}

// Registry holds counter sets by key. It is safe for concurrent use.
type Registry struct {
	mu     sync.Mutex
	m      map[Key]*Counters
	doomed map[Key]bool
	gens   uint64 // The last Counters.gen handed out.
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{m: map[Key]*Counters{}, doomed: map[Key]bool{}}
}

// Get returns the counters for key, creating them on first use. A forgotten
// key that is asked for again is revived.
func (r *Registry) Get(kind Kind, id string) *Counters {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := Key{kind, id}
	delete(r.doomed, k)
	c := r.m[k]
	if c == nil {
		r.gens++
		c = &Counters{gen: r.gens}
		r.m[k] = c
	}
	return c
}

// Forget drops key after the next Sample that finds none of its
// connections or sessions open (Read keeps it), so the final figures of a
// removed object are still collected once, those of its draining
// connections included.
func (r *Registry) Forget(kind Kind, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[Key{kind, id}] != nil {
		r.doomed[Key{kind, id}] = true
	}
}

// Sample is a cumulative reading of every counter set at one instant.
type Sample struct {
	At     time.Time
	Values map[Key]Values
	// gens holds each key's Counters.gen, so that Delta tells a set that
	// replaced a forgotten one under the same key (a rule switched off and
	// on again between two samples) from the one before it, whatever their
	// values. Samples made by hand have none (a gen of 0): two of them
	// count each key as the same set, but a hand-made one against the
	// registry's counts every key anew, from zero (0 is no set's gen).
	gens map[Key]uint64
}

// Read reads all counters and forgets nothing: for any number of readers
// (a /metrics scrape) besides the one that samples.
func (r *Registry) Read() Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readLocked(false)
}

// Sample reads all counters, as Read, then drops the forgotten ones that
// have nothing open (a removed listener's connections drain, and keep
// counting, for a grace): their final figures are in this sample and in no
// later one. It resets every
// Peak to the connections open now, so that the next sample's Peak is the
// most open at once between the two. It is for one consumer (the
// statistics recorder), whose consecutive samples then see every object's
// last figures and peaks; a second one would take them away from it.
func (r *Registry) Sample() Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Picked before the reading: a connection adds its final figures
	// before it stops counting as open, so a set found with none open
	// has all its figures in the reading.
	var done []Key
	for k := range r.doomed {
		if r.m[k].Active.Load() <= 0 {
			done = append(done, k)
		}
	}
	s := r.readLocked(true)
	for _, k := range done {
		delete(r.m, k)
		delete(r.doomed, k)
	}
	return s
}

func (r *Registry) readLocked(reset bool) Sample {
	s := Sample{At: time.Now(), Values: make(map[Key]Values, len(r.m)), gens: make(map[Key]uint64, len(r.m))}
	for k, c := range r.m {
		s.Values[k] = c.Load()
		s.gens[k] = c.gen
		if reset {
			c.Peak.Store(c.Active.Load())
		}
	}
	return s
}

// Delta returns cur minus prev for every key of cur (see Since). Call it
// on two consecutive samples taken a minute apart to get per-minute
// figures.
func Delta(prev, cur Sample) map[Key]Values {
	out := make(map[Key]Values, len(cur.Values))
	for k := range cur.Values {
		out[k] = cur.Since(prev, k)
	}
	return out
}

// Since returns key k's counters in s minus those prev read under k; a
// key absent from prev, or another counter set than the one prev read
// under it, counts from zero. The final figures of a forgotten set are in
// the sample that dropped it (Sample), so counting its successor from zero
// loses nothing. Active is a gauge and is copied from s, and so is Peak,
// the most open at once since prev when both are Samples (at least Active:
// a reading between an open and its Peak update may lag). It allocates
// nothing, for readers that go through every key of s (/metrics).
func (s Sample) Since(prev Sample, k Key) Values {
	c, p := s.Values[k], prev.Values[k]
	if prev.gens[k] != s.gens[k] {
		// New counters under a key that was forgotten and reused in
		// between (a rule switched off and on, a proxy closed and
		// opened, an origin unbound and bound again).
		p = Values{}
	}
	v := Values{
		BytesIn: c.BytesIn - p.BytesIn, BytesOut: c.BytesOut - p.BytesOut,
		PacketsIn: c.PacketsIn - p.PacketsIn, PacketsOut: c.PacketsOut - p.PacketsOut,
		Active: c.Active, Peak: max(c.Peak, c.Active), NewConns: c.NewConns - p.NewConns,
		Refused: c.Refused - p.Refused, Denied: c.Denied - p.Denied,
		DialFails: c.DialFails - p.DialFails, DialCount: c.DialCount - p.DialCount,
		DialNanos: c.DialNanos - p.DialNanos,
		Dropped:   c.Dropped - p.Dropped, Bounced: c.Bounced - p.Bounced, Shaped: c.Shaped - p.Shaped,
		Requests: c.Requests - p.Requests, AnswerCount: c.AnswerCount - p.AnswerCount,
		AnswerNanos: c.AnswerNanos - p.AnswerNanos,
	}
	for i := range c.Status {
		v.Status[i] = c.Status[i] - p.Status[i]
	}
	return v
}

// Set is the counters one event must bump: its listener, proxy and origin.
// A nil member is skipped.
type Set [3]*Counters

// Open calls Open on every member.
func (s Set) Open() {
	for _, c := range s {
		if c != nil {
			c.Open()
		}
	}
}

// Add adds n to the field chosen by f on every member.
func (s Set) Add(f func(*Counters) *atomic.Int64, n int64) {
	if n == 0 {
		return
	}
	for _, c := range s {
		if c != nil {
			f(c).Add(n)
		}
	}
}
