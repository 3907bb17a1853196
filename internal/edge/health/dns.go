package health

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// errNoServer means no DNS server answered (timeouts, refused sockets, no
// servers configured): the name's fate is unknown, so the caller falls back
// to the system resolver instead of declaring the origin dead.
var errNoServer = errors.New("no DNS server answered")

// rcodeError is a server's answer without addresses: NXDOMAIN, NODATA
// (Rcode NOERROR, nothing of type A/AAAA) or a failure such as SERVFAIL.
type rcodeError struct {
	name  string
	rcode int
}

func (e *rcodeError) Error() string {
	if e.rcode == dns.RcodeSuccess {
		return "dns: " + e.name + ": no A or AAAA records"
	}
	return "dns: " + e.name + ": " + dns.RcodeToString[e.rcode]
}

// dnsAnswer is the outcome of one name's A and AAAA lookups. On a negative
// answer ttl is the negative-caching TTL from the SOA (RFC 2308), or 0.
type dnsAnswer struct {
	addrs []netip.Addr
	ttl   time.Duration
}

// dnsClient asks DNS servers directly because the stdlib resolver hides
// record TTLs. It is immutable and safe for concurrent use.
type dnsClient struct {
	conf     *dns.ClientConfig // Search list and ndots for NameList.
	servers  []string          // host:port, asked in order.
	timeout  time.Duration     // Per exchange.
	attempts int
}

// newDNSClient uses servers (host:port) if given, else the nameservers,
// search list, timeout and attempts of /etc/resolv.conf. It returns nil
// when there is no server to ask.
func newDNSClient(servers []string) *dnsClient {
	c := &dnsClient{servers: servers, timeout: 2 * time.Second, attempts: 2,
		conf: &dns.ClientConfig{Ndots: 1}}
	if servers == nil {
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil
		}
		c.conf = conf
		for _, s := range conf.Servers {
			c.servers = append(c.servers, net.JoinHostPort(s, conf.Port))
		}
		// Bounded so a dead server leaves time for the fallback.
		c.timeout = min(c.timeout, time.Duration(conf.Timeout)*time.Second)
		c.attempts = min(c.attempts, max(conf.Attempts, 1))
	}
	if len(c.servers) == 0 {
		return nil
	}
	return c
}

// lookup resolves host through the search list, like the system resolver.
// The error is errNoServer (wrapped) or a *rcodeError.
func (c *dnsClient) lookup(ctx context.Context, host string) (dnsAnswer, error) {
	var (
		a   dnsAnswer
		err error = errNoServer
	)
	for _, name := range c.conf.NameList(host) {
		a, err = c.lookupName(ctx, name)
		var re *rcodeError
		if err == nil || !errors.As(err, &re) {
			return a, err
		}
	}
	return a, err
}

// lookupName asks for the A and AAAA records of a fully qualified name, in
// parallel. One family failing is fine if the other has addresses.
func (c *dnsClient) lookupName(ctx context.Context, name string) (dnsAnswer, error) {
	var (
		msgs [2]*dns.Msg
		errs [2]error
		wg   sync.WaitGroup
	)
	for i, t := range [2]uint16{dns.TypeA, dns.TypeAAAA} {
		wg.Go(func() { msgs[i], errs[i] = c.query(ctx, name, t) })
	}
	wg.Wait()
	if a, ok := positive(msgs); ok {
		return a, nil
	}
	for _, m := range msgs { // NXDOMAIN first: it is the stronger statement.
		if m != nil && m.Rcode == dns.RcodeNameError {
			return dnsAnswer{ttl: negativeTTL(m)}, &rcodeError{name, m.Rcode}
		}
	}
	// NODATA only when both families said so: a family whose query failed
	// may well have addresses, so that is a transient failure, retried
	// soon, not a negative answer cached for the SOA's minimum.
	if msgs[0] != nil && msgs[1] != nil {
		return dnsAnswer{ttl: negativeTTL(msgs[0])}, &rcodeError{name, msgs[0].Rcode}
	}
	for _, err := range errs { // A server answered, if only with SERVFAIL.
		if _, ok := err.(*rcodeError); ok {
			return dnsAnswer{}, err
		}
	}
	return dnsAnswer{}, cmp.Or(errs[0], errs[1]) // A query without a message has an error.
}

// positive collects the addresses of the answers and their cache lifetime:
// the smallest TTL of the records used, CNAMEs of the chain included.
func positive(msgs [2]*dns.Msg) (dnsAnswer, bool) {
	var a dnsAnswer
	ttl := uint32(1<<32 - 1)
	for _, m := range msgs {
		if m == nil {
			continue
		}
		for _, rr := range m.Answer {
			var ip net.IP
			switch v := rr.(type) {
			case *dns.A:
				ip = v.A
			case *dns.AAAA:
				ip = v.AAAA
			case *dns.CNAME:
				ttl = min(ttl, rr.Header().Ttl)
				continue
			default:
				continue
			}
			if addr, ok := netip.AddrFromSlice(ip); ok {
				a.addrs = append(a.addrs, addr.Unmap())
				ttl = min(ttl, rr.Header().Ttl)
			}
		}
	}
	a.ttl = time.Duration(ttl) * time.Second
	return a, len(a.addrs) > 0
}

// negativeTTL is how long a negative answer may be cached (RFC 2308 §5:
// the smaller of the SOA's TTL and MINIMUM), or 0 without an SOA.
func negativeTTL(m *dns.Msg) time.Duration {
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
		}
	}
	return 0
}

// query asks the servers in turn, for c.attempts rounds, until one gives
// an authoritative outcome (NOERROR or NXDOMAIN). SERVFAIL, REFUSED and the
// like move on to the next server, as the system resolver does.
func (c *dnsClient) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, false) // The DNS flag day 2020 size: no fragmentation.
	err := fmt.Errorf("%w: %s", errNoServer, name)
	for range c.attempts {
		for _, s := range c.servers {
			r, e := c.exchange(ctx, m, s)
			switch {
			case e != nil:
				if _, answered := err.(*rcodeError); !answered {
					err = fmt.Errorf("%w: %s: %w", errNoServer, name, e) // The cause too: LocalFailure reads it.
				}
			case r.Rcode == dns.RcodeSuccess || r.Rcode == dns.RcodeNameError:
				return r, nil
			default:
				err = &rcodeError{name, r.Rcode}
			}
			if ctx.Err() != nil {
				return nil, err
			}
		}
	}
	return nil, err
}

// exchange sends m over UDP, and again over TCP if the answer was truncated.
func (c *dnsClient) exchange(ctx context.Context, m *dns.Msg, server string) (*dns.Msg, error) {
	cl := &dns.Client{Net: "udp", Timeout: c.timeout}
	r, err := exchangeContext(ctx, cl, m, server)
	if err == nil && r.Truncated {
		cl.Net = "tcp"
		r, err = exchangeContext(ctx, cl, m, server)
	}
	return r, err
}

// exchangeContext is cl.ExchangeContext, also ended by ctx's cancellation,
// which miekg/dns reads only for its deadline: a released origin's or a
// closing pool's lookup must not wait for a silent server's timeouts.
func exchangeContext(ctx context.Context, cl *dns.Client, m *dns.Msg, server string) (*dns.Msg, error) {
	co, err := cl.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer co.Close()
	defer context.AfterFunc(ctx, func() { _ = co.Close() })()
	r, _, err := cl.ExchangeWithConnContext(ctx, m, co)
	return r, err
}
