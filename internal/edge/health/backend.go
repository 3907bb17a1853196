package health

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"math"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/edge/mono"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// Backend is the shared state of one origin under one check
// configuration. Its methods are safe for concurrent use; the hot path only
// touches atomics.
type Backend struct {
	*originState // Shared by the origin's backends of every check config.
	key          Key
	refs         int // Guarded by Pool.mu.
	// listening is the pool's set of the node's own listening
	// addresses, which connects refuse (nil in tests without a pool).
	listening *atomic.Pointer[Listening]
	// ctx ends when the checker stops (stop): a check under way is cut
	// short, so Pool.Close does not wait out its timeout (times each
	// address of a domain).
	ctx  context.Context
	stop context.CancelFunc

	healthy atomic.Bool
	// down holds the addresses that failed the last failed check: those
	// of a domain origin down by its checks (Status).
	down atomic.Pointer[[]netip.Addr]

	// Rise/fall run lengths, touched only by the checker goroutine (and
	// by Pool.share before it starts): the origin's, and those of each
	// address of a name with several.
	okRun, failRun int
	addrRuns       map[netip.Addr]*addrRun
	// addrDown lists, sorted, the addresses of a name with several that
	// their own checks took out (addrRuns) while others pass: TryAddrs
	// tries them last, Status lists them.
	addrDown atomic.Pointer[[]netip.Addr]
	// reported is the Status last given to OnChange (report), by the
	// checker goroutine or the name's resolution.
	reportMu sync.Mutex
	reported Status

	// tlsProbe is an HTTPS check's handshake setup, built once; a client
	// certificate or CA that does not parse fails every check (tlsProbeErr).
	tlsProbe    *tls.Config
	tlsProbeErr error
}

// originState is what is observed of an origin whatever checks it: its
// addresses, load and connect figures. Backends of the same origin
// (originKey) with other check configs share it, so a listener whose
// health-check settings change keeps its origins' lc counts, lrtt EWMA,
// suspicion and resolved addresses, and its UDP sessions (l4 compares
// SameOrigin).
type originState struct {
	refs     int        // Backends sharing it; guarded by Pool.mu.
	backends []*Backend // Live ones in the pool; guarded by Pool.mu.
	domain   *domain    // A domain origin's name resolution, set by Pool.share.

	// addrs are those of the origin: nil until a domain's first
	// resolution answers, empty while its name does not resolve.
	addrs  atomic.Pointer[[]netip.Addr]
	next   atomic.Uint32
	active atomic.Int64
	rtt    atomic.Int64 // EWMA of latency (ObserveRTT) in ns; 0 = not measured.
	// rttAt is when rtt was last observed (mono.Now, to within a second:
	// ObserveRTT does not write it on every connect; 0 before the first),
	// negated while a trial of a stale figure, or of none, is under way
	// (Picked).
	rttAt atomic.Int64
	// failedAt is when the last connect failed (mono.Now), 0 once one
	// succeeds or a check passes: the passive check behind Suspect.
	failedAt atomic.Int64
	// fails are, for a domain with several addresses, when a connect to
	// each last failed: TryAddrs tries such an address last for FailTimeout.
	fails atomic.Pointer[addrFails]
}

// addrFails are the failure stamps (mono.Now, 0: none since the last
// success) of one resolution's addresses, by index.
type addrFails struct {
	addrs *[]netip.Addr
	at    []atomic.Int64
}

// failsFor returns the stamps of the addresses p, made at the first try of
// a new resolution with the stamps of the addresses it keeps.
func (o *originState) failsFor(p *[]netip.Addr) *addrFails {
	old := o.fails.Load()
	if old != nil && old.addrs == p {
		return old
	}
	f := &addrFails{addrs: p, at: make([]atomic.Int64, len(*p))}
	if old != nil {
		for i, a := range *p {
			if j := slices.Index(*old.addrs, a); j >= 0 {
				f.at[i].Store(old.at[j].Load())
			}
		}
	}
	if o.fails.CompareAndSwap(old, f) {
		return f
	}
	return o.failsFor(p) // Another try made it first.
}

// originKey is an origin's identity without its check configuration,
// the HTTP probe of a layer-7 origin included: a rule whose check path,
// method, Host or status classes change keeps its origins' state, and a
// down origin stays down, as on layer 4. It keeps the owner: another
// tenant's verdict or load is never inherited.
type originKey struct {
	Owner    string
	Proto    string
	Host     string
	Port     int
	IsDomain bool
}

func (k Key) origin() originKey {
	return originKey{Owner: k.Owner, Proto: k.Proto, Host: k.Host, Port: k.Port, IsDomain: k.IsDomain}
}

// SameOrigin reports whether b and o are the same origin, possibly under
// different check configurations (they share load and address state).
func (b *Backend) SameOrigin(o *Backend) bool { return b.originState == o.originState }

// ErrUnresolved is returned by Addr for a domain origin with no addresses.
var ErrUnresolved = errors.New("origin domain not resolved")

func newBackend(k Key) *Backend {
	b := &Backend{originState: &originState{}, key: k}
	b.ctx, b.stop = context.WithCancel(context.Background())
	// Origins start healthy so a new listener serves at once; a dead origin
	// is then taken out after Unhealthy failed checks.
	b.healthy.Store(true)
	if k.Proto == snapshot.ProtoHTTPS {
		b.tlsProbe, _, b.tlsProbeErr = k.HTTP.TLS.Config(k.HTTP.Host)
	}
	if !k.IsDomain {
		a, err := netip.ParseAddr(k.Host)
		if err == nil {
			b.addrs.Store(&[]netip.Addr{a.Unmap()})
		}
	}
	return b
}

// Key returns the backend's identity.
func (b *Backend) Key() Key { return b.key }

// Healthy reports whether the origin passes its checks and has an address:
// whether traffic may go to it.
func (b *Backend) Healthy() bool {
	a := b.addrs.Load()
	return b.healthy.Load() && a != nil && len(*a) > 0
}

// Status is the health an origin's checks report (OnChange, the edge's
// Node.Health, what the API shows as RealServerStatus and DownIPList).
type Status struct {
	Healthy bool
	// Down lists, while a domain origin that resolves is down, the
	// addresses that failed the check that took it down (or a later one);
	// while it is up, those of its addresses that their own checks took
	// out (as the reference's example shows a normal origin with a
	// DownIPList). It is empty for an IP origin and for a name that does
	// not resolve.
	Down []netip.Addr
}

func (s Status) equal(o Status) bool {
	return s.Healthy == o.Healthy && slices.Equal(s.Down, o.Down)
}

// Status returns the health b reports. Without checks that is healthy,
// whatever its addresses: the API promises an origin reads normal while
// its checks are off. With checks on it is Healthy, except that a domain
// not resolved yet reads healthy, as every new origin starts: down with no
// address would say its name does not resolve. Traffic follows Healthy,
// which passes over a domain without addresses either way.
func (b *Backend) Status() Status {
	a := b.addrs.Load()
	switch {
	case !b.key.IsDomain && (a == nil || len(*a) == 0):
		// A literal that does not parse, or one DenyPrivate refuses: no
		// traffic goes there, whatever its checks say.
		return Status{}
	case b.key.Check.Enabled && b.Healthy() && b.key.IsDomain:
		// Of the addresses taken out, those the name still has (a new
		// resolution reports before the next check), and none if that is
		// all of them, as recordAddrs has it.
		var down []netip.Addr
		if d := b.addrDown.Load(); d != nil {
			for _, x := range *d {
				if slices.Contains(*a, x) {
					down = append(down, x)
				}
			}
		}
		if len(down) == len(*a) {
			down = nil
		}
		return Status{Healthy: true, Down: down}
	case !b.key.Check.Enabled || b.Healthy() || b.key.IsDomain && a == nil:
		return Status{Healthy: true}
	case !b.key.IsDomain || a == nil || len(*a) == 0:
		return Status{} // An IP origin, or a name that does not resolve.
	}
	if d := b.down.Load(); d != nil {
		return Status{Down: *d}
	}
	return Status{}
}

// report gives OnChange b's Status if it changed since the last report;
// reason says why an origin is down. It is called after each resolution
// and check.
func (b *Backend) report(p *Pool, reason string) {
	b.reportMu.Lock()
	defer b.reportMu.Unlock()
	s := b.Status()
	if s.equal(b.reported) {
		return
	}
	b.reported = s
	p.notify(b, s, reason)
}

// Addr returns the address to connect to, rotating over a domain's
// addresses.
func (b *Backend) Addr() (netip.AddrPort, error) {
	p, i := b.rotate()
	if p == nil {
		return netip.AddrPort{}, ErrUnresolved
	}
	return netip.AddrPortFrom((*p)[i], uint16(b.key.Port)), nil
}

// Addrs returns the addresses b connects to now: an IP origin's, or a
// domain's latest resolution (none before it answers, or while the name
// does not resolve).
func (b *Backend) Addrs() []netip.AddrPort {
	p := b.addrs.Load()
	if p == nil {
		return nil
	}
	out := make([]netip.AddrPort, len(*p))
	for i, a := range *p {
		out[i] = netip.AddrPortFrom(a, uint16(b.key.Port))
	}
	return out
}

// rotate returns the addresses and the index of the one Addr picks next
// (nil while a domain is unresolved).
func (b *Backend) rotate() (*[]netip.Addr, int) {
	p := b.addrs.Load()
	if p == nil || len(*p) == 0 {
		return nil, 0
	}
	return p, int(b.next.Add(1) % uint32(len(*p)))
}

// TryAddrs calls try with the address Addr would return and, while try
// fails with an error again accepts (any, when again is nil), with each of b's other addresses in
// turn, each once, those whose connect failed within FailTimeout, and those
// their checks took out (recordAddrs), last: one
// dead server of a name with several does not fail what Addr sends it. An
// address the node itself listens on is not tried:
// it fails with ErrOwnListener (wrapped in a dial *net.OpError), and the
// other addresses are tried whatever again says. The result is the last
// try's, or ErrUnresolved while b has no address. The other addresses cost nothing until a try
// fails, so a single address costs what Addr does.
func TryAddrs[T any](b *Backend, try func(netip.AddrPort) (T, error), again func(error) bool) (T, error) {
	var res T
	p, first := b.rotate()
	if p == nil {
		return res, ErrUnresolved
	}
	a := *p
	port := uint16(b.key.Port)
	// Addresses whose connect failed within FailTimeout go last (the
	// first 64 of a name's): a dead server of a name cost every Nth
	// connection its connect timeout, and every Nth request with a body
	// (not retried) its answer, for as long as the name held it (nginx
	// and Envoy take each address for a peer, passed over after a failure).
	// So do those the checks took out (addrDown).
	var f *addrFails
	var suspect uint64
	if len(a) > 1 {
		f = b.failsFor(p)
		now := mono.Now()
		down := b.addrDown.Load()
		for i := range min(len(a), 64) {
			if at := f.at[i].Load(); at != 0 && now-at < int64(FailTimeout) || down != nil && slices.Contains(*down, a[i]) {
				suspect |= 1 << i
			}
		}
	}
	var err error
	for pass := range 2 {
		for n := range a {
			i := (first + n) % len(a)
			if (i < 64 && suspect&(1<<i) != 0) != (pass == 1) {
				continue
			}
			ap := netip.AddrPortFrom(a[i], port)
			if err = b.ownListener(ap); err != nil {
				continue // Never tried: the next address is, whatever again says.
			}
			res, err = try(ap)
			if f != nil {
				switch {
				case err == nil && f.at[i].Load() != 0:
					f.at[i].Store(0)
				case err != nil && dialFailed(err):
					f.at[i].Store(mono.Now())
				}
			}
			if err == nil || again != nil && !again(err) {
				return res, err
			}
		}
	}
	return res, err
}

// dialFailed reports whether err is a failed connect, not the edge's own
// cancel of it. It allocates nothing (errors.As would), as TryAddrs does not.
func dialFailed(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if op, ok := err.(*net.OpError); ok {
			return op.Op == "dial" && !errors.Is(op.Err, context.Canceled)
		}
	}
	return false
}

// Active is the number of open connections/sessions to the origin.
func (b *Backend) Active() int64 { return b.active.Load() }

// AddrDown reports whether the checks took address a of the origin's name
// out while another address the name has now is not (Status lists it in
// Down): a UDP session sending there leaves it, as one on a down origin
// does. A resolution since the last check may have left only addresses
// taken out; then none is, as recordAddrs has it, else each new session
// would end at the next sweep.
func (b *Backend) AddrDown(a netip.Addr) bool {
	d := b.addrDown.Load()
	if d == nil || !slices.Contains(*d, a) {
		return false
	}
	cur := b.addrs.Load()
	return cur != nil && slices.ContainsFunc(*cur, func(x netip.Addr) bool { return !slices.Contains(*d, x) })
}

// ConnStart and ConnEnd bracket a connection or UDP session (for lc).
func (b *Backend) ConnStart() { b.active.Add(1) }

// ConnEnd ends what ConnStart began.
func (b *Backend) ConnEnd() { b.active.Add(-1) }

// RTT is the smoothed latency as lrtt ranks it at now: of connects for
// TCP, of probe replies for UDP, of answers for HTTP (ObserveRTT). With
// checks on, they measure every origin they can (handshakes, probe replies,
// answers), and the figure stands until the next check. With checks off
// only the origins lrtt picks are measured, so one whose last figure was
// slow (a cold first connect, a busy moment) would keep losing to the
// others and never be measured again: a figure observed more than StaleRTT
// ago, or none, reads 0, which ranks first, until the pick that sends the
// origin its trial connection claims it (Picked). An origin with no figure
// otherwise, its trial under way or its checks never answered (a UDP
// probe met by silence), reads Unmeasured, which ranks last: 0 would send
// it every connection picked meanwhile, each to wait out a connect that
// may hang, and with checks on every session for good to an origin that
// may answer nothing.
func (b *Backend) RTT(now time.Time) time.Duration {
	if b.rttStale(b.rttAt.Load(), mono.At(now)) {
		return 0
	}
	if d := b.rtt.Load(); d != 0 {
		return time.Duration(d)
	}
	return Unmeasured
}

// Unmeasured is RTT's figure for an origin that has none and is not to be
// measured by the next pick: it ranks after every measured origin, and
// such origins tie with each other (lrtt rotates over them).
const Unmeasured = time.Duration(math.MaxInt64)

// rttStale reports whether a figure observed (or claimed for a trial) at
// at, as rttAt holds it, is stale at now; no figure (at 0: mono readings
// start an hour in) is. Checks keep figures fresh.
func (b *Backend) rttStale(at, now int64) bool {
	return !b.key.Check.Enabled && now-abs(at) > int64(StaleRTT)
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// StaleRTT is how long a latency measurement ranks its origin when checks
// are off (RTT), and how long a trial has to replace it before another
// connection is sent to try.
const StaleRTT = FailTimeout

// FailTimeout is how long an origin stays suspect after a failed connect:
// pickers pass it over while another eligible origin is not (nginx's passive
// check with max_fails 1 and its default fail_timeout). Checks take
// Unhealthy × DelayLoop to take a dead origin out, and may be off; without
// this, lc would send nearly every connection to an origin that refuses
// (it never holds one open) and rr one in N.
const FailTimeout = 10 * time.Second

// ConnectFailed records a connect that failed or timed out (or, on layer
// 7, a request the origin took and never answered).
func (b *Backend) ConnectFailed() { b.failedAt.Store(mono.Now()) }

// Connected records a connect or an answer: the origin is not suspect.
// It reads first so that the common case does not write a shared cache
// line. A concurrent Picked may renew the mark between the read and the
// swap; it is cleared all the same.
func (b *Backend) Connected() {
	for f := b.failedAt.Load(); f != 0; f = b.failedAt.Load() {
		if b.failedAt.CompareAndSwap(f, 0) {
			return
		}
	}
}

// Picked records that a new connection (or request) goes to the origin;
// rankedAt is when lrtt ranked it (RTT), zero under other schedulers.
// A failure recorded and not cleared since, whether the origin is still
// suspect or FailTimeout has passed, is renewed: after FailTimeout one
// connection tries the origin again while the others keep passing it over
// until that one succeeds (Connected) or fails (ConnectFailed), as nginx
// lets one request through to a server after fail_timeout. Likewise an lrtt
// pick of an origin whose figure is stale claims its trial: the others rank
// it by its old figure (an origin that had none, as Unmeasured: last) until
// that connection's measurement replaces it (ObserveRTT), or for StaleRTT
// if none comes. Other schedulers do not claim it: a layer-7 rule that is
// not lrtt does not measure its requests.
func (b *Backend) Picked(rankedAt time.Time) {
	if f := b.failedAt.Load(); f != 0 {
		var now int64
		if rankedAt.IsZero() {
			now = mono.Now()
		} else {
			now = mono.At(rankedAt)
		}
		b.failedAt.CompareAndSwap(f, now)
	}
	if !rankedAt.IsZero() {
		now := mono.At(rankedAt)
		if at := b.rttAt.Load(); b.rttStale(at, now) {
			b.rttAt.CompareAndSwap(at, -now)
		}
	}
}

// Suspect reports whether a connect failed within FailTimeout and none
// succeeded since.
func (b *Backend) Suspect() bool {
	f := b.failedAt.Load()
	return f != 0 && mono.Now()-f < int64(FailTimeout)
}

// ObserveRTT folds one latency into the EWMA (weight 1/4, so a changed
// path shows within a few connections): a TCP connect's or check
// handshake's, a UDP probe's reply time, an HTTP request's or check's
// time from sent to its answer's first byte. A trial's measurement, or one
// that finds the figure stale (RTT), replaces it instead: the old figure
// says nothing of the origin now. Layer 4 calls it on every connect whatever the
// scheduler, so the observation time, a cache line every core would write,
// is stored only when it moved by a second or more.
func (b *Backend) ObserveRTT(d time.Duration) {
	now := mono.Now()
	at := b.rttAt.Load()
	restart := at < 0 || b.rttStale(at, now)
	if at < 0 || now-at >= int64(time.Second) {
		b.rttAt.CompareAndSwap(at, now) // Lost to a concurrent observation or claim: as recent.
	}
	for {
		old := b.rtt.Load()
		nv := int64(d)
		if old != 0 && !restart {
			nv = old + (int64(d)-old)/4
		}
		if nv <= 0 {
			nv = 1
		}
		if b.rtt.CompareAndSwap(old, nv) {
			return
		}
	}
}

// run is the backend's goroutine: checks, until stop. Resolution is the
// name's (d), never on the data path: Addr only loads what it stored.
func (b *Backend) run(p *Pool, d *domain) {
	if d != nil {
		if r := d.last.Load(); r != nil { // Addresses another origin's resolution found.
			b.report(p, r.reason)
		}
	}
	c := b.key.Check
	if !c.Enabled {
		<-b.ctx.Done()
		return
	}
	b.probe(p)
	checkT := time.NewTicker(c.Interval)
	defer checkT.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-checkT.C:
			b.probe(p)
		}
	}
}

// probe runs one check and applies its result, unless the origin has no
// address to check: then resolution alone decides its health, and the
// first good answer makes it healthy again without waiting for the rise
// threshold. A check that could not start for a local reason
// (LocalFailure) is neither a success nor a failure: the rise and fall
// counts stay as they were.
func (b *Backend) probe(p *Pool) {
	failed, passed, err := b.check()
	if b.ctx.Err() == nil && !errors.Is(err, ErrUnresolved) && !LocalFailure(err) {
		b.record(p, failed, passed, err)
	}
}

// addrRun is the rise/fall state of one address of a name.
type addrRun struct {
	ok, fail int
	down     bool
}

// record applies rise/fall to one check result, the origin's and each
// address's; failed are the addresses that did not answer it, passed
// those that did.
func (b *Backend) record(p *Pool, failed, passed []netip.Addr, err error) {
	c := b.key.Check
	b.recordAddrs(failed, passed)
	if err == nil {
		b.Connected() // The origin answers again: no need to wait out FailTimeout.
		b.okRun, b.failRun = b.okRun+1, 0
		if b.okRun >= c.Healthy {
			b.healthy.Store(true)
		}
		b.report(p, "")
		return
	}
	b.failRun, b.okRun = b.failRun+1, 0
	b.down.Store(&failed)
	if b.failRun >= c.Unhealthy {
		b.healthy.Store(false)
	}
	b.report(p, err.Error())
}

// inheritAddrDown starts b, a new backend not yet running (Pool.share),
// with the addresses x's checks took out, each down until Healthy checks
// pass under b's config, as the origin's own verdict is carried: started
// empty, a dead address was back in rotation and off DownIPList until
// Unhealthy checks under the new timing failed again (up to minutes with
// a long DelayLoop). Only x's published verdict is read: its run counts
// belong to its checker goroutine, and an address short of Unhealthy
// failures simply counts again.
func (b *Backend) inheritAddrDown(x *Backend) {
	d := x.addrDown.Load()
	if d == nil {
		return
	}
	b.addrDown.Store(d) // Never written in place: recordAddrs stores a new slice.
	b.addrRuns = make(map[netip.Addr]*addrRun, len(*d))
	for _, a := range *d {
		b.addrRuns[a] = &addrRun{down: true}
	}
}

// recordAddrs applies rise/fall to each address of a name with several
// and publishes those down (addrDown): an address is taken out after
// Unhealthy failed checks in a row, and back after Healthy passed ones,
// as the origin is. An address the check could not judge (a local
// failure, or one the name gained since) keeps its counts; one the name
// no longer has is forgotten. While every address is down, none is taken
// out: the origin is, by its own count.
func (b *Backend) recordAddrs(failed, passed []netip.Addr) {
	p := b.addrs.Load()
	if p == nil || len(*p) < 2 {
		b.addrRuns = nil
		b.addrDown.Store(nil)
		return
	}
	c := b.key.Check
	runs := make(map[netip.Addr]*addrRun, len(*p))
	var down []netip.Addr
	for _, a := range *p {
		r := cmp.Or(b.addrRuns[a], &addrRun{})
		switch {
		case slices.Contains(failed, a):
			if r.ok, r.fail = 0, r.fail+1; r.fail >= c.Unhealthy {
				r.down = true
			}
		case slices.Contains(passed, a):
			if r.fail, r.ok = 0, r.ok+1; r.ok >= c.Healthy {
				r.down = false
			}
		}
		if runs[a] = r; r.down {
			down = append(down, a)
		}
	}
	b.addrRuns = runs
	if len(down) == 0 || len(down) == len(runs) {
		b.addrDown.Store(nil)
		return
	}
	slices.SortFunc(down, netip.Addr.Compare)
	b.addrDown.Store(&down)
}
