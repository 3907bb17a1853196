package edge

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/mirror"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// Runtime is the in-process Node. It is safe for concurrent use; Apply and
// Close are serialised.
type Runtime struct {
	opts    Options
	pool    *health.Pool
	stats   *stats.Registry
	events  chan Event
	dropped atomic.Int64
	bg      sync.WaitGroup // Drain watchers (they emit events).
	node    l4.Node        // Shared by every proxy: the clients' descriptors (Options.MaxClientDescriptors).

	mu        sync.Mutex // Serialises Apply/Close; guards the fields below.
	closed    bool
	proxies   map[string]*proxyState
	servers   map[sockKey]*entry
	drains    map[*entry]<-chan struct{} // Removed servers still draining.
	http      *l7State                   // HTTP/HTTPS listeners (apply_l7.go).
	mirror    *mirror.Engine             // Traffic mirrors (applyMirrors).
	origins   map[string]bool            // Origin IDs of the last snapshot (forgetOrigins).
	listeners map[string]bool            // IDs of the listeners served after the last Apply (forgetListeners).
	rules     map[string]bool            // Rule IDs of the installed HTTP handlers (forgetRules).

	// persist holds the tables of persistence groups (stickyFor).
	persist map[persistKey]*balance.Sticky
	// reserved are the node's own TCP sockets that are no listeners
	// (Reserve); listenSnap is the snapshot setListening last took.
	reserved   []netip.AddrPort
	listenSnap *snapshot.Snapshot

	usersMu sync.Mutex
	users   map[health.Key][]string // Health key → "listenerID/originID", for events.
}

// Interface guard.
var _ Node = (*Runtime)(nil)

// proxyState is a proxy's shared state plus the policy it was compiled from.
type proxyState struct {
	shared *l4.Proxy
	policy *snapshot.SecurityPolicy
}

// sockKey identifies a socket: what survives a config change.
type sockKey struct {
	proto string
	addr  netip.AddrPort
}

func (k sockKey) String() string { return k.proto + "/" + k.addr.String() }

// persistKey names a persistence group: listeners of one proxy with the
// same snapshot.Listener.PersistGroup.
type persistKey struct{ proxy, group string }

// entry is one bound socket and the listener config it serves.
type entry struct {
	srv      l4.Server
	placed   snapshot.Placed
	backends []*health.Backend
	sticky   *balance.Sticky // Its group's table, or its own (stickyFor).
	picker   *balance.Picker // Its route's, which the listener's next one continues (route).
}

// New returns an idle runtime.
func New(opts Options) *Runtime {
	opts.defaults()
	rt := &Runtime{opts: opts, stats: stats.NewRegistry(), events: make(chan Event, opts.EventBuffer),
		proxies: map[string]*proxyState{}, servers: map[sockKey]*entry{}, drains: map[*entry]<-chan struct{}{}, users: map[health.Key][]string{},
		persist: map[persistKey]*balance.Sticky{}}
	rt.node.FDs.SetMax(opts.MaxClientDescriptors)
	rt.node.Pipes.SetMax(opts.MaxPipeDescriptors)
	rt.mirror = mirror.New(rt.stats, mirror.Options{Rate: opts.MirrorRate, DenyPrivate: opts.DenyPrivateOrigins})
	rt.pool = health.NewPool(health.Options{ResolveEvery: opts.ResolveEvery, Resolver: opts.Resolver,
		DenyPrivate: opts.DenyPrivateOrigins, OnChange: rt.onHealth})
	return rt
}

// Reserve adds a socket of the node's own that serves something else than
// listeners (its API, its metrics) to the addresses origins may not
// reach (health.ErrOwnListener), as its listeners are: a tenant's origin
// there would take the node's unauthenticated metrics (every account's
// resource IDs) or its API past whatever firewall guards them.
//
// A socket bound to every address (an API on 0.0.0.0) is reserved on each
// address the node's interfaces have now, as well: a listener bound so
// is refused to origins only at loopback addresses (health.Listening), and
// the API is typically reached at the node's public one.
func (rt *Runtime) Reserve(a netip.AddrPort) {
	addrs := []netip.AddrPort{a}
	if a.Addr().IsUnspecified() {
		for _, ip := range interfaceAddrs() {
			addrs = append(addrs, netip.AddrPortFrom(ip, a.Port()))
		}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.reserved = append(rt.reserved, addrs...)
	snap := rt.listenSnap
	if snap == nil {
		snap = &snapshot.Snapshot{}
	}
	rt.setListening(snap)
}

// Events implements Node.
func (rt *Runtime) Events() <-chan Event { return rt.events }

// Stats implements Node. Like Sample, it reads between applies, so it
// never shows half of one (a mirror counted before its taps are attached).
func (rt *Runtime) Stats() stats.Sample {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.stats.Read()
}

// Sample implements Node.
func (rt *Runtime) Sample() stats.Sample {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.stats.Sample()
}

// Open counts what Close drains: open connections (TCP, HTTP and HTTP/3)
// and live UDP sessions, of every proxy. A UDP session lives until it is
// idle for its timeout, so a drain may wait for one with no client left.
func (rt *Runtime) Open() (conns, udpSessions int64) {
	var all int64
	for k, v := range rt.Stats().Values {
		if k.Kind == stats.KindProxy {
			all += v.Active
		}
	}
	udpSessions = rt.node.UDPSessions()
	return max(all-udpSessions, 0), udpSessions // Read apart: may briefly disagree.
}

func (rt *Runtime) emit(e Event) {
	select {
	case rt.events <- e:
	default:
		rt.dropped.Add(1)
	}
}

func (rt *Runtime) onHealth(c health.Change) {
	rt.usersMu.Lock()
	users := rt.users[c.Key]
	rt.usersMu.Unlock()
	h := originHealth(c.Status)
	rt.emit(Event{Kind: EventOriginHealth, At: c.At, Origin: net.JoinHostPort(c.Key.Host, strconv.Itoa(c.Key.Port)), // [::1]:80
		Users: users, Healthy: h.Healthy, Down: h.Down, Message: c.Reason})
}

// originHealth converts what the health package reports.
func originHealth(s health.Status) OriginHealth {
	h := OriginHealth{Healthy: s.Healthy}
	for _, a := range s.Down {
		h.Down = append(h.Down, a.String())
	}
	return h
}

// Addresses implements Node: the addresses of the layer-4 and HTTP sockets
// serving, and of those draining (TCP, UDP, QUIC sides).
func (rt *Runtime) Addresses() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	seen := map[netip.Addr]bool{}
	for k := range rt.servers {
		seen[k.addr.Addr()] = true
	}
	for e := range rt.drains {
		seen[keyOf(e.placed).addr.Addr()] = true
	}
	if st := rt.http; st != nil {
		for k := range st.servers {
			seen[k.addr.Addr()] = true
		}
		for e := range st.drains {
			seen[httpKeyOf(e.placed).addr.Addr()] = true
		}
		for a := range st.quic {
			seen[a.Addr()] = true
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a.String())
	}
	return out
}

// Health returns the health of every origin in use, keyed by
// "listenerID/originID" (TCP/UDP) or "ruleID/originID" (HTTP).
func (rt *Runtime) Health() map[string]OriginHealth {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := map[string]OriginHealth{}
	for _, e := range rt.servers {
		for i, b := range e.backends {
			out[snapshot.HealthKey(e.placed.Listener.ID, e.placed.Listener.Origins[i].ID)] = originHealth(b.Status())
		}
	}
	rt.healthL7(out)
	return out
}

// Close implements Node: every socket closes now, connections drain for
// DrainGrace (or until ctx is done, if sooner), then the rest are aborted
// and checkers stop.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil
	}
	rt.closed = true
	grace := rt.opts.DrainGrace // Never past the caller's deadline.
	if d, ok := ctx.Deadline(); ok {
		grace = min(grace, time.Until(d))
	}
	var dones []<-chan struct{}
	for k, e := range rt.servers {
		dones = append(dones, e.srv.Shutdown(grace))
		rt.release(e)
		delete(rt.servers, k)
	}
	for e, d := range rt.drains {
		dones = append(dones, d)
		// Earlier removals may have a longer grace left: cut it to ours.
		time.AfterFunc(max(grace, 0), e.srv.Abort)
	}
	dones = append(dones, rt.closeL7(grace)...)
	rt.mu.Unlock()
	for _, d := range dones {
		<-d // Bounded: every server aborts at grace.
	}
	rt.bg.Wait()
	rt.mirror.Close()
	rt.pool.Close()
	close(rt.events)
	if rt.opts.TOA != nil {
		_ = rt.opts.TOA.Close() // Every connection that used it is gone.
	}
	return ctx.Err()
}

// release returns an entry's backends to the pool.
func (rt *Runtime) release(e *entry) {
	for _, b := range e.backends {
		rt.pool.Release(b)
	}
	e.backends = nil
}

// drain shuts a server down in the background and reports when it is
// gone. Its backends are released only then: its connections and sessions
// still count for lc, and its UDP sessions still leave an origin whose
// checks fail.
func (rt *Runtime) drain(e *entry) {
	done := e.srv.Shutdown(rt.opts.DrainGrace)
	rt.drains[e] = done
	id := e.placed.Listener.ID
	rt.bg.Add(1)
	go func() {
		defer rt.bg.Done()
		<-done
		rt.mu.Lock()
		delete(rt.drains, e)
		rt.release(e)
		rt.mu.Unlock()
		rt.emit(Event{Kind: EventListener, At: time.Now(), Listener: id, State: StateClosed})
	}()
}

// interfaceAddrs lists the addresses of the node's interfaces.
func interfaceAddrs() []netip.Addr {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}
