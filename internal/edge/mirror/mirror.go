// Package mirror is the data plane of VPC traffic mirroring: it observes
// the client leg of proxied TCP connections and UDP sessions through the
// l4 engine's Tap hook, synthesizes the packets a capture on the access IP
// would show (Ethernet/IPv4/TCP with a handshake, sequenced data and
// FIN/RST; Ethernet/IPv4/UDP per datagram), wraps each in VXLAN (RFC 7348)
// and sends it over UDP to a collector.
//
// The data path only copies payload into a pooled buffer and offers an
// event to a bounded queue; one sender goroutine builds and sends packets.
// When the queue is full the event is dropped and counted: mirroring never
// blocks or breaks the mirrored traffic (docs/dataplane-mirror.md).
package mirror

import (
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// StatsKind is the counter kind of mirrors (stats.Key{Kind: StatsKind, ID:
// mirror ID}): PacketsOut/BytesOut are VXLAN packets and bytes sent,
// Dropped the packets lost to a full queue, a failed send or an ICMP error
// (a dead collector's port unreachable).
const StatsKind stats.Kind = "mirror"

// Queue bounds between the data path and the sender.
const (
	QueueEvents = 4096     // Events (a TCP chunk, a datagram, a handshake...).
	QueueBytes  = 16 << 20 // Payload bytes held by queued events.
)

// DefaultRate is the payload bytes per second an engine copies when its
// Options leave Rate zero: 1 Gbit/s.
const DefaultRate = 125_000_000

// Options configure an Engine.
type Options struct {
	// Rate caps the payload bytes per second the engine copies, over all
	// its mirrors; copies beyond it are dropped and counted before any
	// work is done for them. It bounds what mirroring can take from the
	// proxied traffic when the node is busy (docs/dataplane-mirror.md).
	// 0 means DefaultRate; negative means no cap.
	Rate int64
	// DenyPrivate drops collectors at loopback and private addresses
	// (snapshot.PublicAddr), which the API refuses under the node's
	// --deny-private-origins but a mirror stored before the node ran with
	// it still names: copies of clients' traffic must not reach addresses
	// the operator closed, as such origins get no traffic. A mirror left
	// with no collector does not run.
	DenyPrivate bool
}

// Engine runs the mirrors of one edge node. Safe for concurrent use.
type Engine struct {
	reg         *stats.Registry
	denyPrivate bool // Options.DenyPrivate.
	queue       chan event
	slots       atomic.Int64  // Events admitted and not yet handled: at most QueueEvents.
	pending     atomic.Int64  // Payload bytes they hold.
	inflight    atomic.Int64  // Producers between their done check and their send.
	rate        *rate.Limiter // Payload bytes per second; nil = no cap.

	mu      sync.Mutex
	mirrors map[string]*mirror // Running, by ID.
	conn    *net.UDPConn       // Opened with the first mirror.
	sentTo  *collectors        // Where the engine's copies go (see own).
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup // The sender.
	readers sync.WaitGroup // countRefusals, ended by closing conn.
}

// New returns an engine counting into reg. It opens no socket and starts
// no goroutine until a mirror is applied.
func New(reg *stats.Registry, o Options) *Engine {
	e := &Engine{reg: reg, denyPrivate: o.DenyPrivate, queue: make(chan event, QueueEvents), mirrors: map[string]*mirror{},
		sentTo: &collectors{at: map[netip.AddrPort]*collector{}, now: time.Now}, done: make(chan struct{})}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Rate > 0 {
		// A burst of a quarter second, and at least one largest datagram,
		// so that a cap below about 2 Mbit/s still lets any copy through.
		// A TCP chunk larger than the tokens is kept in part (offer).
		e.rate = rate.NewLimiter(rate.Limit(o.Rate), max(int(o.Rate/4), maxIPPacket))
	}
	return e
}

// Apply makes ms the running mirrors and returns the Tap of every proxy
// that some mirror selects, keyed by proxy ID (proxies absent from the
// map have none). Invalid mirrors are skipped (Snapshot.Validate reports
// them). A mirror already running, by ID, is updated in place: the flows
// it observes keep their sequence numbers and go on being copied as long
// as their listener is still among its sources, under its new filters,
// direction and collectors. A removed mirror stops at once.
func (e *Engine) Apply(ms []snapshot.Mirror) (map[string]l4.Tap, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, net.ErrClosed
	}
	next := map[string]*mirror{}
	for i := range ms {
		cfg := &ms[i]
		if e.denyPrivate {
			c := *cfg
			c.Targets = slices.DeleteFunc(slices.Clone(c.Targets), func(t snapshot.MirrorTarget) bool {
				ip, err := netip.ParseAddr(t.IP)
				return err != nil || !snapshot.PublicAddr(ip)
			})
			cfg = &c
		}
		if cfg.Validate() != nil || next[cfg.ID] != nil {
			continue
		}
		m := e.mirrors[cfg.ID]
		if m == nil {
			m = newMirror(e, *cfg, e.reg.Get(StatsKind, cfg.ID))
		} else {
			m.set(*cfg)
		}
		next[cfg.ID] = m
	}
	for id, old := range e.mirrors {
		if next[id] == nil {
			old.stopped.Store(true)
			e.reg.Forget(StatsKind, id)
		}
	}
	e.mirrors = next
	if len(next) > 0 && e.conn == nil {
		if err := e.start(); err != nil {
			return nil, err
		}
	}
	e.sentTo.set(next)
	self := &own{targets: e.sentTo}
	if e.conn != nil {
		self.port = e.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	}
	return proxyTaps(next, self), nil
}

// own recognizes the engine's own copies arriving back at a proxy of the
// node: a UDP listener someone made a collector. Copying them would send
// copies of copies: two mirrors aimed at each other's mirrored listeners
// would loop, each copy growing by its encapsulation, until the datagrams
// outgrew the listener's buffer, and again for every client datagram.
// What the copies look like is known: they all leave the engine's one
// socket, so their source port is its port, and they go to a collector.
// Checking their source address as well would need the one the kernel
// picks per route, which local routes (AnyIP ranges) make hard to predict.
// The price of the check as it is: a client elsewhere whose port happens
// to equal the socket's, reaching a listener that is a mirror's collector,
// is not mirrored. Immutable.
type own struct {
	port    uint16      // The sending socket's; 0 before it opens.
	targets *collectors // The engine's, shared by every Apply's own.
}

// sent reports whether the flow k describes carries the engine's copies.
func (o *own) sent(k *flowKey) bool {
	return k.proto == snapshot.ProtoUDP && o.port != 0 && k.client.Port() == o.port && o.targets.has(k.local)
}

// ownGrace is how long a collector no mirror has any more is still
// recognized by own: copies queued before the change leave the sender
// within milliseconds, so a few seconds cover them, and the set stays
// bounded by the collectors of the last few seconds whatever the number
// of changes since the engine started.
const ownGrace = 5 * time.Second

// collectors are the current collectors of the engine's mirrors and those
// dropped within ownGrace, with the mirrors that send to them, to whom
// their refusals are counted (refusals_linux.go). Apply updates them in
// place (no copy per Apply); flows read them through own, which a flow
// asks only when its client port is the engine's, hence a mutex.
type collectors struct {
	mu  sync.Mutex
	at  map[netip.AddrPort]*collector
	now func() time.Time // time.Now; tests move it.
}

type collector struct {
	dropped time.Time // Zero: current; else when no mirror had it any more.
	mirrors []*mirror // Those sending to it, or that last did.
}

// set makes the collectors of ms current, starts the grace of those no
// longer in ms and forgets those whose grace is over.
func (c *collectors) set(ms map[string]*mirror) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for a, t := range c.at {
		switch {
		case t.dropped.IsZero():
			t.dropped = now // Made current again below if still in use.
		case now.Sub(t.dropped) >= ownGrace:
			delete(c.at, a)
		}
	}
	for _, m := range ms {
		for _, a := range m.cfg.Load().targets {
			switch t := c.at[a]; {
			case t == nil:
				c.at[a] = &collector{mirrors: []*mirror{m}}
			case !t.dropped.IsZero(): // First seen in ms.
				t.dropped, t.mirrors = time.Time{}, append(t.mirrors[:0], m)
			default:
				t.mirrors = append(t.mirrors, m)
			}
		}
	}
}

// has reports whether a is a current collector or was one within ownGrace.
func (c *collectors) has(a netip.AddrPort) bool {
	c.mu.Lock()
	t := c.at[a]
	c.mu.Unlock()
	return t != nil && (t.dropped.IsZero() || c.now().Sub(t.dropped) < ownGrace)
}

// sender returns the mirror that sent a copy of VXLAN network id vni to
// a, or nil. Without the vni (a refusal that quotes too little of the
// copy) only a collector of one mirror names it.
func (c *collectors) sender(a netip.AddrPort, vni uint32, known bool) *mirror {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.at[a]
	if t == nil {
		return nil
	}
	for _, m := range t.mirrors {
		if known && m.cfg.Load().snap.VNI == vni {
			return m
		}
	}
	if !known && len(t.mirrors) == 1 {
		return t.mirrors[0]
	}
	return nil
}

// start opens the sending socket, the sender goroutine and, where the
// kernel reports ICMP errors, the goroutine counting refused copies.
func (e *Engine) start() error {
	c, err := net.ListenUDP("udp4", nil)
	if err != nil {
		return err
	}
	e.conn = c
	s := newSender(c)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		lowerPriority() // The thread exits with the goroutine (still locked).
		s.run(e)
	}()
	if watchRefusals(c) {
		e.readers.Add(1)
		go func() {
			defer e.readers.Done()
			e.countRefusals(c)
		}()
	}
	return nil
}

// Close stops every mirror and the sender; queued packets are discarded.
func (e *Engine) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	for _, m := range e.mirrors {
		m.stopped.Store(true)
	}
	close(e.done)
	e.mu.Unlock()
	e.wg.Wait()
	if e.conn != nil {
		_ = e.conn.Close()
	}
	e.readers.Wait() // Ended by the socket's closing.
	// A producer that saw done open may still be sending: once none is,
	// nothing more can arrive, and what is queued (kept chunks hold pipes)
	// is released.
	for e.inflight.Load() > 0 {
		runtime.Gosched()
	}
	for {
		select {
		case ev := <-e.queue:
			e.discard(&ev)
		default:
			return
		}
	}
}

// learnMTUs refreshes the segment sizes of the running mirrors.
func (e *Engine) learnMTUs() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.mirrors {
		m.cfg.Load().learnMTUs()
	}
}

// offer queues ev without blocking once the queue has room for its n
// payload bytes. take then puts into it at most limit of them, what the
// rate cap's tokens cover (nil and 0 for events without payload), and
// reports how many it got: a TCP chunk may be kept in part, a datagram
// only whole. The rate cap is charged for what was taken. A refused event
// costs the data path nothing but the checks; the packets of what was not
// taken are counted dropped.
func (e *Engine) offer(ev event, n int, take func(ev *event, limit int) int) {
	if !e.admit(n) {
		ev.dropped(n)
		return
	}
	if n > 0 {
		now := time.Now()
		limit := n
		if e.rate != nil {
			limit = min(n, int(e.rate.TokensAt(now)))
		}
		k := 0
		if limit > 0 {
			k = take(&ev, limit)
		}
		e.pending.Add(int64(k - n)) // Admitted n; holds what was taken.
		if k == 0 {
			e.unadmit(0)
			ev.dropped(n)
			return
		}
		if e.rate != nil {
			// Producers racing past the check above put the bucket in
			// debt, which the next checks see: the cap holds over time.
			e.rate.ReserveN(now, k)
		}
		ev.fl.m.stats.Dropped.Add(int64(ev.packets(n) - ev.packets(k)))
	}
	e.enqueue(ev)
}

// admit claims a queue slot and room for n payload bytes, or reports there
// is none. An admitted event is always queued: a chunk that was kept
// cannot be dropped afterwards without putting its source out of step.
func (e *Engine) admit(n int) bool {
	if e.slots.Add(1) > QueueEvents {
		e.slots.Add(-1)
		return false
	}
	if e.pending.Add(int64(n)) > QueueBytes {
		e.unadmit(n)
		return false
	}
	return true
}

// unadmit returns an admitted slot and n bytes of room.
func (e *Engine) unadmit(n int) {
	e.pending.Add(-int64(n))
	e.slots.Add(-1)
}

// enqueue queues ev, which holds an admitted slot, so the send never
// blocks. After Close it releases ev instead (see Close).
func (e *Engine) enqueue(ev event) {
	e.inflight.Add(1)
	defer e.inflight.Add(-1)
	select {
	case <-e.done:
		e.discard(&ev)
	default:
		e.queue <- ev
	}
}

// discard releases an admitted event that no sender will handle.
func (e *Engine) discard(ev *event) {
	e.unadmit(ev.size())
	ev.release()
}
