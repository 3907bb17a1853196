// Package health keeps origin state that must outlive snapshots: health
// (active checks with rise/fall), DNS resolution of domain origins (cached
// by TTL), and the live load figures schedulers read (active connections,
// connect RTT).
//
// Backends live in a Pool keyed by origin identity — owner, protocol,
// host, port, check configuration and whose checks they are (a rule's) —
// and are reference counted, so a snapshot that keeps an origin keeps its
// state and its checker goroutine (caddy's reverseproxy hosts idea). A new
// snapshot acquires before the old one releases, hence an unchanged origin
// is never re-checked from scratch. What does not depend on the checks
// (addresses, active connections, connect RTT, suspicion) is kept per
// origin without the check config and shared by its backends, and a
// backend created for a changed check config starts with the health of
// the one it replaces (the same rule's, never another rule's). Backends
// of different owners (tenants) are different origins: one tenant's
// checks never decide another's traffic.
package health

import (
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// Key is the identity of an origin for health purposes.
type Key struct {
	// Owner is the tenant whose listeners use the origin (snapshot
	// Proxy.Owner): backends of different owners share nothing, so one
	// tenant's check settings cannot take another's origin down.
	Owner    string
	Proto    string // snapshot.ProtoTCP or ProtoUDP: selects the check.
	Host     string
	Port     int
	IsDomain bool
	Check    snapshot.HealthCheck
	// Scope is whose checks these are, with checks on: a layer-7 rule's
	// ID ("" on layer 4, where every check of an origin tests its port).
	// Two rules' checks test different things behind one address (path,
	// Host, status classes, certificate name), so each rule has its own
	// backends, and a new one inherits health only from its own rule's
	// (share).
	Scope string
	// HTTP is the probe of HTTP/HTTPS origins (Proto ProtoHTTP or
	// ProtoHTTPS); zero for layer-4 origins.
	HTTP HTTPProbe
}

// Change is reported when a backend's Status changes (a checked origin's
// health flips; an unchecked one's never does).
type Change struct {
	Key Key
	Status
	Reason string // The last check's error, or "" on recovery.
	At     time.Time
}

// Options configure a Pool.
type Options struct {
	// Nameservers are the DNS servers (host:port) asked for domain origins'
	// A and AAAA records, whose TTLs set how long addresses are cached; nil
	// means those of /etc/resolv.conf (read once, by NewPool), and an empty
	// non-nil slice asks none (hosts file and Resolver only).
	Nameservers []string
	// MaxTTL caps the TTLs of DNS answers; 0 means 5 minutes.
	MaxTTL time.Duration
	// ResolveEvery is how often names resolved without a TTL (from the
	// hosts file, or by Resolver) are re-resolved; 0 means 30s.
	ResolveEvery time.Duration
	// Resolver, when set and Nameservers is nil, is the resolver of domain
	// origins (after the hosts file, answers without a TTL: ResolveEvery),
	// instead of the nameservers of /etc/resolv.conf: whoever configures
	// one means it to be asked. With Nameservers given too, or when nil
	// (then net.DefaultResolver), it is the fallback for when no
	// nameserver answers.
	Resolver *net.Resolver
	// DenyPrivate drops the addresses a domain origin resolves to that
	// are not snapshot.PublicAddr (loopback, private, ...): the API
	// refuses such literal origins, and a name must not reach them either.
	// A name left with no address is unresolved; a literal one stored
	// before the flag gets no address.
	DenyPrivate bool
	// OnChange, if set, is called (from checker goroutines, so it must not
	// block for long) whenever a backend's Status changes.
	OnChange func(Change)
}

// Pool holds backends by key. It is safe for concurrent use.
type Pool struct {
	opts Options
	dns  *dnsClient // nil: no nameserver known, Resolver only.
	mu   sync.Mutex
	m    map[Key]*Backend
	// origins holds the state each origin's backends share, whatever
	// their check configs.
	origins map[originKey]*originState
	// busy holds the states of origins whose last backend went while
	// connections to them were still open (an origin unbound, with its
	// connections running on): bound again meanwhile, the origin takes
	// its state back, so lc counts them rather than sending every new
	// connection to the origin that reads idle. Dropped once idle.
	busy map[originKey]*originState
	// domains holds the resolution of each name domain origins use.
	domains map[string]*domain
	wg      sync.WaitGroup
	// listening is the node's own listening addresses (SetListening).
	listening atomic.Pointer[Listening]
}

// NewPool returns an empty pool.
func NewPool(opts Options) *Pool {
	if opts.ResolveEvery <= 0 {
		opts.ResolveEvery = 30 * time.Second
	}
	if opts.MaxTTL <= 0 {
		opts.MaxTTL = 5 * time.Minute
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	} else if opts.Nameservers == nil {
		opts.Nameservers = []string{} // Ask none: the Resolver is the one.
	}
	return &Pool{opts: opts, dns: newDNSClient(opts.Nameservers), m: map[Key]*Backend{}, origins: map[originKey]*originState{},
		busy: map[originKey]*originState{}, domains: map[string]*domain{}}
}

// Acquire returns the backend for k, creating it (and starting its checker)
// on first use. Each Acquire must be paired with one Release.
func (p *Pool) Acquire(k Key) *Backend {
	if k.Check = normalize(k.Check); !k.Check.Enabled {
		k.Scope = "" // Unchecked backends read healthy whoever uses them: one will do.
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.m[k]
	if b == nil {
		b = newBackend(k)
		b.listening = &p.listening
		if a := b.addrs.Load(); p.opts.DenyPrivate && a != nil && !slices.ContainsFunc(*a, snapshot.PublicAddr) {
			// A literal address the API would refuse now, stored before
			// the node ran with the flag: no address, so no traffic.
			b.addrs.Store(&[]netip.Addr{})
		}
		p.share(b)
		b.reported = b.Status() // What a reader sees at once: no change to report.
		if d := b.domain; d != nil && b.addrs.Load() == nil {
			// A new origin of a name others use: their answer, reported
			// by the backend's goroutine as a first resolution would be.
			if r := d.last.Load(); r != nil {
				b.addrs.Store(r.addrs)
			}
		}
		p.m[k] = b
		p.wg.Add(1)
		d := b.domain // Read here, under p.mu: a state taken back (busy) has it set again.
		go func() {
			defer p.wg.Done()
			b.run(p, d)
		}()
	}
	b.refs++
	return b
}

// Release drops one reference; the last one stops the checker (unless
// Close already did).
func (p *Pool) Release(b *Backend) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b.refs--
	if b.refs == 0 && p.m[b.key] == b {
		delete(p.m, b.key)
		b.stop()
		p.unshare(b)
	}
}

// share gives a new backend its origin's state, if another check config
// of the origin has a backend: so its addresses, load and connect figures
// carry over, and with checks on it starts as healthy or down as the
// newest backend with checks on of the same Scope, the one it replaces
// (a down origin stays down, with the addresses that failed, until
// Healthy checks pass under the new config; so does a DOMAIN origin's
// address its checks took out: inheritAddrDown). Another scope's verdict, or
// one on another probe (sameProbe), a verdict on other checks, is never
// taken. A backend with checks off always reads healthy, so it says
// nothing about the origin: with no checked backend to copy, the new one
// starts healthy, as a backend of a new origin does. Without checks it
// starts healthy, as nothing would bring it back up.
func (p *Pool) share(b *Backend) {
	ok := b.key.origin()
	o := p.origins[ok]
	if o == nil {
		if g := p.busy[ok]; g != nil {
			delete(p.busy, ok)
			if g.active.Load() > 0 {
				b.originState = g
				if b.key.IsDomain {
					g.addrs.Store(nil) // Its name's resolution now: as a new origin's.
				}
			}
		}
		p.origins[ok] = b.originState
		o = b.originState
		if b.key.IsDomain {
			p.attach(o, b.key.Host)
		}
	} else {
		b.originState = o
		if b.key.Check.Enabled {
			for _, x := range slices.Backward(o.backends) {
				if x.key.Check.Enabled && x.key.Scope == b.key.Scope && sameProbe(x.key.Check, b.key.Check) {
					b.healthy.Store(x.healthy.Load())
					b.down.Store(x.down.Load())
					b.inheritAddrDown(x)
					break
				}
			}
		}
	}
	o.refs++
	o.backends = append(o.backends, b)
}

// sameProbe reports whether checks a and b test the same thing, whatever
// their timing and thresholds: on layer 4, where every listener's checks
// of an origin share a scope, a UDP check of another port (CheckPort),
// by PING, or with other payloads says nothing of this one.
func sameProbe(a, b snapshot.HealthCheck) bool {
	return a.CheckType == b.CheckType && a.ContextType == b.ContextType && a.Send == b.Send && a.Recv == b.Recv && a.Port == b.Port
}

// unshare drops b from its origin's state, and the state with the last.
func (p *Pool) unshare(b *Backend) {
	o := b.originState
	o.backends = slices.DeleteFunc(o.backends, func(x *Backend) bool { return x == b })
	if o.refs--; o.refs == 0 {
		ok := b.key.origin()
		delete(p.origins, ok)
		if o.domain != nil {
			p.detach(o)
		}
		maps.DeleteFunc(p.busy, func(_ originKey, g *originState) bool { return g.active.Load() <= 0 })
		if o.active.Load() > 0 {
			p.busy[ok] = o
		}
	}
}

// Close stops every checker and resolution, cancelling lookups under way,
// and waits for them.
func (p *Pool) Close() {
	p.mu.Lock()
	for k, b := range p.m {
		delete(p.m, k)
		b.stop()
	}
	for _, d := range p.domains {
		d.cancel()
	}
	clear(p.domains)
	clear(p.origins)
	clear(p.busy)
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Pool) notify(b *Backend, s Status, reason string) {
	if p.opts.OnChange != nil {
		p.opts.OnChange(Change{Key: b.key, Status: s, Reason: reason, At: time.Now()})
	}
}

// normalize fills defaults so that equal effective configs share a backend.
func normalize(c snapshot.HealthCheck) snapshot.HealthCheck {
	if !c.Enabled {
		return snapshot.HealthCheck{}
	}
	if c.Interval <= 0 {
		c.Interval = 5 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = min(2*time.Second, c.Interval)
	}
	if c.Healthy <= 0 {
		c.Healthy = 3
	}
	if c.Unhealthy <= 0 {
		c.Unhealthy = 3
	}
	if c.CheckType == "" {
		c.CheckType = snapshot.CheckPort
	}
	return c
}
