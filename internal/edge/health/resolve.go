package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

const (
	minTTL = time.Second // Floor for TTLs, 0 included: no busy re-querying.
	// retryFailed is when a failed name is asked again if the answer gave
	// no negative TTL (no SOA, SERVFAIL, timeout), at most ResolveEvery.
	retryFailed = 5 * time.Second
)

// errNoDial makes hostsResolver unable to reach any DNS server.
var errNoDial = errors.New("hosts-file lookup only")

// hostsResolver answers from /etc/hosts only: the pure-Go resolver reads
// the hosts file (in nsswitch order) and every DNS query fails to dial at
// once. Names there ("localhost", pinned names) have no TTL.
var hostsResolver = &net.Resolver{PreferGo: true,
	Dial: func(context.Context, string, string) (net.Conn, error) { return nil, errNoDial }}

// domain is the resolution of one name, shared by every origin naming it
// (any owner, protocol, port, check config or layer-7 rule): one A and one
// AAAA query per TTL however many origins use the name, as a resolver cache
// would ask, instead of a burst per origin. It runs on a goroutine of its
// own, so a long check never delays a refresh past the TTL, nor a slow
// resolver the checks.
type domain struct {
	host string
	// ctx ends when the last origin using the name is released, or on
	// Pool.Close, cancelling a lookup under way.
	ctx     context.Context
	cancel  context.CancelFunc
	origins []*originState           // Guarded by Pool.mu.
	last    atomic.Pointer[resolved] // nil until the first answer.
}

// resolved is a domain's outcome as its origins hold it.
type resolved struct {
	addrs  *[]netip.Addr // Empty, not nil, while the name does not resolve (Status).
	reason string        // Why it does not resolve; "" when it does.
}

// attach makes o use the resolution of host, starting it for a name no
// other origin uses. Called with p.mu held.
func (p *Pool) attach(o *originState, host string) {
	d := p.domains[host]
	if d == nil {
		d = &domain{host: host}
		d.ctx, d.cancel = context.WithCancel(context.Background())
		p.domains[host] = d
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.resolveLoop(d)
		}()
	}
	d.origins = append(d.origins, o)
	o.domain = d
}

// detach stops o using its name's resolution, and the resolution with the
// last origin. Called with p.mu held.
func (p *Pool) detach(o *originState) {
	d := o.domain
	if d.origins = slices.DeleteFunc(d.origins, func(x *originState) bool { return x == o }); len(d.origins) == 0 {
		d.cancel()
		delete(p.domains, d.host)
	}
}

// resolveLoop keeps d's addresses, in every origin using it, until no
// origin does: refreshed before each answer's TTL ends. A failed
// resolution empties them, which takes the origins out of service (and
// reports them down, if checked), unless the addresses held are still
// within their TTL: a record may be used until its TTL runs out (RFC 2181
// §8), and the refresh runs before that so that new addresses are in place
// in time, not to drop the old ones early on a SERVFAIL or a silent
// server. They are kept, the name asked again no later than when they
// expire, and emptied then if it still fails. A resolution that failed for
// a local reason (LocalFailure: no socket for the query) keeps them past
// their TTL too (RFC 8767's serve-stale), as neither the name nor the
// servers failed. Success after failure brings the origins back.
func (p *Pool) resolveLoop(d *domain) {
	var expires time.Time // When the addresses held stop being valid.
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
		ips, valid, next, err := p.lookup(d.ctx, d.host)
		if d.ctx.Err() != nil {
			return // Released or closed meanwhile: the error is the cancel's.
		}
		for i := range ips {
			ips[i] = ips[i].Unmap()
		}
		if err == nil {
			ips, err = connectable(ips, p.opts.DenyPrivate)
		}
		last := d.last.Load()
		held := last != nil && len(*last.addrs) > 0
		switch {
		case err == nil && len(ips) > 0:
			expires = time.Now().Add(valid)
			p.publish(d, &resolved{addrs: &ips})
		case held && LocalFailure(err):
		case held && time.Now().Before(expires):
			next = min(next, time.Until(expires))
		default:
			p.publish(d, &resolved{addrs: &[]netip.Addr{}, reason: "resolve: " + errString(err)})
		}
		t.Reset(next)
	}
}

// publish gives r to every origin using d and reports the change to their
// backends.
func (p *Pool) publish(d *domain, r *resolved) {
	p.mu.Lock()
	d.last.Store(r)
	var bs []*Backend
	for _, o := range d.origins {
		o.addrs.Store(r.addrs)
		bs = append(bs, o.backends...)
	}
	p.mu.Unlock()
	for _, b := range bs {
		b.report(p, r.reason)
	}
}

// The resolution failures of a name whose every address connectable
// drops: with denyPrivate, and without.
var (
	errPrivateOnly = errors.New("every address is loopback or private (or otherwise not public), which this node refuses for origins")
	errNoOneHost   = errors.New("every address is unspecified, multicast or broadcast, not the address of one origin server")
)

// connectable keeps the addresses of ips (in place) an origin may be
// connected at, those the API would take as a literal origin, or fails if
// there were some and none is kept. An address of no one host is always
// dropped (a connect to 0.0.0.0 or :: reaches the node's own loopback,
// where its API listens), one not snapshot.PublicAddr if denyPrivate.
func connectable(ips []netip.Addr, denyPrivate bool) ([]netip.Addr, error) {
	n := len(ips)
	ips = slices.DeleteFunc(ips, func(a netip.Addr) bool {
		return snapshot.NotOneHost(a) || denyPrivate && !snapshot.PublicAddr(a)
	})
	switch {
	case n == 0 || len(ips) > 0:
		return ips, nil
	case denyPrivate:
		return nil, errPrivateOnly
	}
	return nil, errNoOneHost
}

// lookup resolves host in the order of nsswitch "files dns": the hosts
// file, then the DNS servers (for their TTLs), then, if no server answered,
// the configured net.Resolver. It returns the addresses, how long they may
// be used (the answer's TTL, or ResolveEvery for answers without one) and
// when to resolve again: before that runs out, or for a failure its retry.
func (p *Pool) lookup(ctx context.Context, host string) (ips []netip.Addr, valid, next time.Duration, err error) {
	if ips, err := lookupNetIP(ctx, hostsResolver, host); err == nil && len(ips) > 0 {
		return ips, p.opts.ResolveEvery, p.opts.ResolveEvery, nil
	}
	if p.dns != nil {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		a, err := p.dns.lookup(qctx, host)
		cancel()
		switch {
		case err == nil:
			ttl := p.clampTTL(a.ttl)
			return a.addrs, ttl, refreshAfter(ttl), nil
		case !errors.Is(err, errNoServer) || LocalFailure(err):
			// An answer, or no socket to ask with: the fallback would
			// fail alike, and its errors lose the cause.
			return nil, 0, p.retryAfter(a.ttl), err
		}
	}
	ips, err = lookupNetIP(ctx, p.opts.Resolver, host)
	if err != nil {
		return nil, 0, p.retryAfter(0), err
	}
	return ips, p.opts.ResolveEvery, p.opts.ResolveEvery, nil
}

func lookupNetIP(ctx context.Context, r *net.Resolver, host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return r.LookupNetIP(ctx, "ip", host)
}

// clampTTL bounds a TTL to [minTTL, MaxTTL].
func (p *Pool) clampTTL(ttl time.Duration) time.Duration {
	return min(max(ttl, minTTL), p.opts.MaxTTL)
}

// retryAfter is when to ask again for a failed name: its negative TTL if
// the server gave one, else retryFailed (at most ResolveEvery).
func (p *Pool) retryAfter(negTTL time.Duration) time.Duration {
	if negTTL > 0 {
		return p.clampTTL(negTTL)
	}
	return min(retryFailed, p.opts.ResolveEvery)
}

// refreshAfter schedules the refresh a tenth of the TTL (at most 5 s) early,
// so new addresses are in place before the old ones expire.
func refreshAfter(ttl time.Duration) time.Duration {
	return ttl - min(ttl/10, 5*time.Second)
}

func errString(err error) string {
	if err == nil {
		return "no addresses"
	}
	return err.Error()
}
