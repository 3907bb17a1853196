package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
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

// resolve refreshes the addresses of a domain origin and returns when to do
// it again. A failed resolution empties them, which takes the origin out
// of service (and reports it down, if it is checked); success after
// failure brings it back. A resolution that failed for a local reason
// (localFailure: no socket for the query) keeps the last good addresses
// (RFC 8767's serve-stale), as neither the name nor the servers failed.
func (b *Backend) resolve(p *Pool) time.Duration {
	ips, next, err := p.lookup(b.key.Host)
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	if err == nil && p.opts.DenyPrivate {
		ips, err = publicOnly(ips)
	}
	if localFailure(err) {
		if a := b.addrs.Load(); a != nil && len(*a) > 0 {
			return next
		}
	}
	if err != nil || len(ips) == 0 {
		b.addrs.Store(&[]netip.Addr{}) // Not nil: the name was asked (Status).
		b.report(p, "resolve: "+errString(err))
		return next
	}
	b.addrs.Store(&ips)
	b.report(p, "")
	return next
}

// errPrivateOnly is the resolution failure of a name whose every address
// is dropped by Options.DenyPrivate.
var errPrivateOnly = errors.New("every address is loopback or private, which this node refuses for origins")

// publicOnly keeps the public addresses of ips (in place), or fails with
// errPrivateOnly if there were some and none is public.
func publicOnly(ips []netip.Addr) ([]netip.Addr, error) {
	n := len(ips)
	ips = slices.DeleteFunc(ips, func(a netip.Addr) bool { return !snapshot.PublicAddr(a) })
	if n > 0 && len(ips) == 0 {
		return nil, errPrivateOnly
	}
	return ips, nil
}

// lookup resolves host in the order of nsswitch "files dns": the hosts
// file, then the DNS servers (for their TTLs), then, if no server answered,
// the configured net.Resolver. It returns the addresses and when to
// resolve again: before the answer's TTL expires, or ResolveEvery for
// answers without a TTL.
func (p *Pool) lookup(host string) ([]netip.Addr, time.Duration, error) {
	if ips, err := lookupNetIP(hostsResolver, host); err == nil && len(ips) > 0 {
		return ips, p.opts.ResolveEvery, nil
	}
	if p.dns != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a, err := p.dns.lookup(ctx, host)
		cancel()
		switch {
		case err == nil:
			return a.addrs, refreshAfter(p.clampTTL(a.ttl)), nil
		case !errors.Is(err, errNoServer) || localFailure(err):
			// An answer, or no socket to ask with: the fallback would
			// fail alike, and its errors lose the cause.
			return nil, p.retryAfter(a.ttl), err
		}
	}
	ips, err := lookupNetIP(p.opts.Resolver, host)
	if err != nil {
		return nil, p.retryAfter(0), err
	}
	return ips, p.opts.ResolveEvery, nil
}

func lookupNetIP(r *net.Resolver, host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
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
