package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// record is what the test zone answers for one name; a zero Rcode with
// addresses is a positive answer.
type record struct {
	addrs  []netip.Addr
	ttl    uint32
	rcode  int
	aRcode int // For A queries only, when not 0.
}

// zone is a test DNS server whose records the test changes while it runs.
type zone struct {
	addr    string
	mu      sync.Mutex
	recs    map[string]record
	queries map[string]int // By name (both types).
}

// startZone serves z on a fresh loopback address (UDP) until the test ends.
func startZone(t *testing.T) *zone {
	t.Helper()
	pc, err := net.ListenPacket("udp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	z := &zone{addr: pc.LocalAddr().String(), recs: map[string]record{}, queries: map[string]int{}}
	srv := &dns.Server{PacketConn: pc, Handler: z}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return z
}

func (z *zone) set(name string, r record) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.recs[dns.Fqdn(name)] = r
}

func (z *zone) count(name string) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.queries[dns.Fqdn(name)]
}

// ServeDNS answers from recs; unknown names are NXDOMAIN, with an SOA whose
// 1 s minimum lets a failed name be retried quickly.
func (z *zone) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	name, qtype := q.Question[0].Name, q.Question[0].Qtype
	z.mu.Lock()
	z.queries[name]++
	r, ok := z.recs[name]
	z.mu.Unlock()
	switch {
	case !ok || r.rcode == dns.RcodeNameError:
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 60},
			Ns: "ns.test.", Mbox: "root.test.", Serial: 1, Refresh: 60, Retry: 60, Expire: 60, Minttl: 1}}
	case r.rcode != dns.RcodeSuccess:
		m.Rcode = r.rcode
	case qtype == dns.TypeA && r.aRcode != 0:
		m.Rcode = r.aRcode
	default:
		m.Answer = answers(name, qtype, r)
		if len(m.Answer) == 0 { // NODATA, cacheable for an hour (RFC 2308).
			m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
				Ns: "ns.test.", Mbox: "root.test.", Serial: 1, Refresh: 60, Retry: 60, Expire: 60, Minttl: 3600}}
		}
	}
	_ = w.WriteMsg(m)
}

func answers(name string, qtype uint16, r record) []dns.RR {
	var out []dns.RR
	for _, a := range r.addrs {
		h := dns.RR_Header{Name: name, Rrtype: qtype, Class: dns.ClassINET, Ttl: r.ttl}
		switch {
		case a.Is4() && qtype == dns.TypeA:
			out = append(out, &dns.A{Hdr: h, A: a.AsSlice()})
		case a.Is6() && qtype == dns.TypeAAAA:
			out = append(out, &dns.AAAA{Hdr: h, AAAA: a.AsSlice()})
		}
	}
	return out
}

// domainPool is a pool asking only z, whose changes go to the channel.
func domainPool(t *testing.T, z *zone) (*Pool, chan Change) {
	changes := make(chan Change, 16)
	// ResolveEvery also bounds the retry of a failure without negative TTL.
	p := NewPool(Options{Nameservers: []string{z.addr}, ResolveEvery: 2 * time.Second,
		OnChange: func(c Change) { changes <- c }})
	t.Cleanup(p.Close)
	return p, changes
}

func addrOf(b *Backend) netip.Addr {
	ap, _ := b.Addr()
	return ap.Addr()
}

func domainKey(name string) Key {
	return Key{Proto: "TCP", Host: name, Port: 80, IsDomain: true}
}

func TestDNSTTL(t *testing.T) {
	z := startZone(t)
	p, _ := domainPool(t, z)
	old, changed := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")

	t.Run("short TTL: change picked up after it", func(t *testing.T) {
		t.Parallel()
		z.set("short.test", record{addrs: []netip.Addr{old}, ttl: 1})
		b := p.Acquire(domainKey("short.test"))
		defer p.Release(b)
		edgetest.Eventually(t, 2*time.Second, func() bool { return addrOf(b) == old }, "never resolved")
		z.set("short.test", record{addrs: []netip.Addr{changed}, ttl: 1})
		edgetest.Eventually(t, 3*time.Second, func() bool { return addrOf(b) == changed }, "change not picked up after TTL 1s")
	})
	t.Run("long TTL: change not picked up before it", func(t *testing.T) {
		t.Parallel()
		z.set("long.test", record{addrs: []netip.Addr{old}, ttl: 30})
		b := p.Acquire(domainKey("long.test"))
		defer p.Release(b)
		edgetest.Eventually(t, 2*time.Second, func() bool { return addrOf(b) == old }, "never resolved")
		asked := z.count("long.test")
		z.set("long.test", record{addrs: []netip.Addr{changed}, ttl: 30})
		time.Sleep(1500 * time.Millisecond)
		if got := addrOf(b); got != old {
			t.Errorf("got %v within TTL 30s; want cached %v", got, old)
		}
		if got := z.count("long.test"); got != asked {
			t.Errorf("got %d queries within TTL 30s; want %d", got, asked)
		}
	})
	t.Run("zero TTL: re-asked about every second", func(t *testing.T) {
		t.Parallel()
		z.set("zero.test", record{addrs: []netip.Addr{old}, ttl: 0})
		b := p.Acquire(domainKey("zero.test"))
		defer p.Release(b)
		edgetest.Eventually(t, 2*time.Second, b.Healthy, "never resolved")
		asked := z.count("zero.test")
		time.Sleep(3 * time.Second) // Three refreshes on time; at least one however late.
		if got := z.count("zero.test") - asked; got < 2 || got > 8 {
			t.Errorf("got %d queries in 3s; want 2 to 8 (one A+AAAA pair per ~0.9s)", got)
		}
	})
}

// checkedDomainKey is domainKey with checks on that never take the origin
// down by themselves: the first probe (of an address nothing answers)
// fails once of the three needed, and the next is an hour away.
func checkedDomainKey(name string) Key {
	k := domainKey(name)
	k.Check = snapshot.HealthCheck{Enabled: true, Interval: time.Hour, Timeout: 50 * time.Millisecond, Unhealthy: 3}
	return k
}

// TestDNSFailureMarksUnhealthy: a checked domain origin whose name stops
// resolving is reported down with the resolver's error, and up again once
// it resolves.
func TestDNSFailureMarksUnhealthy(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.3")
	tests := []struct {
		desc, reason string
		rcode        int
	}{
		{"NXDOMAIN", "NXDOMAIN", dns.RcodeNameError},
		{"SERVFAIL", "SERVFAIL", dns.RcodeServerFailure},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			z := startZone(t)
			p, changes := domainPool(t, z)
			z.set("flap.test", record{addrs: []netip.Addr{ip}, ttl: 1})
			b := p.Acquire(checkedDomainKey("flap.test"))
			defer p.Release(b)
			edgetest.Eventually(t, 2*time.Second, func() bool { return addrOf(b) == ip }, "never resolved")
			z.set("flap.test", record{rcode: tc.rcode})
			c := nextChange(t, changes)
			if c.Healthy || b.Healthy() || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("got %+v (healthy %v); want unhealthy, reason with %s", c, b.Healthy(), tc.reason)
			}
			z.set("flap.test", record{addrs: []netip.Addr{ip}, ttl: 1})
			if c := nextChange(t, changes); !c.Healthy || addrOf(b) != ip {
				t.Errorf("got %+v, addr %v; want healthy again at %v", c, addrOf(b), ip)
			}
		})
	}
}

// TestDenyPrivateDropsResolvedAddresses: with DenyPrivate, the loopback
// and private addresses a name resolves to are never connected to, and a
// name that resolves only to such addresses fails to resolve, with a
// reason saying so.
func TestDenyPrivateDropsResolvedAddresses(t *testing.T) {
	z := startZone(t)
	changes := make(chan Change, 16)
	p := NewPool(Options{Nameservers: []string{z.addr}, ResolveEvery: 2 * time.Second, DenyPrivate: true,
		OnChange: func(c Change) { changes <- c }})
	t.Cleanup(p.Close)
	public := netip.MustParseAddr("198.51.100.7")
	z.set("mixed.test", record{addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.1.2.3"),
		public, netip.MustParseAddr("::1"), netip.MustParseAddr("100.64.0.1")}, ttl: 60})
	z.set("inside.test", record{addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.168.1.1")}, ttl: 60})

	mixed := p.Acquire(domainKey("mixed.test"))
	defer p.Release(mixed)
	edgetest.Eventually(t, 2*time.Second, func() bool { return mixed.addrs.Load() != nil }, "mixed.test never resolved")
	if got := *mixed.addrs.Load(); !slices.Equal(got, []netip.Addr{public}) {
		t.Errorf("mixed.test addresses: %v; want only the public %v", got, public)
	}

	inside := p.Acquire(checkedDomainKey("inside.test"))
	defer p.Release(inside)
	c := nextChange(t, changes)
	if c.Healthy || inside.Healthy() || !strings.Contains(c.Reason, "loopback or private") {
		t.Errorf("inside.test: got %+v (healthy %v); want unhealthy, with a reason naming private addresses", c, inside.Healthy())
	}
	if ap, err := inside.Addr(); !errors.Is(err, ErrUnresolved) {
		t.Errorf("inside.test Addr: %v, %v; want ErrUnresolved", ap, err)
	}
}

// TestResolvedNoOneHostDropped guards what a name resolves to against the
// rule the API applies to a literal origin, whatever DenyPrivate: an
// unspecified, multicast or broadcast address is no one server, and a
// connect to 0.0.0.0 or :: reaches the node's own loopback (its API).
// Such addresses are dropped, and a name left with none does not resolve.
func TestResolvedNoOneHostDropped(t *testing.T) {
	z := startZone(t)
	p, changes := domainPool(t, z)
	origin := netip.MustParseAddr("127.0.0.1") // Private origins allowed.
	z.set("mixed.test", record{addrs: []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified(),
		netip.MustParseAddr("224.0.0.1"), netip.MustParseAddr("ff02::1"), netip.MustParseAddr("255.255.255.255"), origin}, ttl: 60})
	z.set("none.test", record{addrs: []netip.Addr{netip.IPv4Unspecified(), netip.MustParseAddr("::ffff:0.0.0.0")}, ttl: 60})

	mixed := p.Acquire(domainKey("mixed.test"))
	defer p.Release(mixed)
	edgetest.Eventually(t, 2*time.Second, func() bool { return mixed.addrs.Load() != nil }, "mixed.test never resolved")
	if got := *mixed.addrs.Load(); !slices.Equal(got, []netip.Addr{origin}) {
		t.Errorf("mixed.test addresses: %v; want only %v", got, origin)
	}

	none := p.Acquire(checkedDomainKey("none.test"))
	defer p.Release(none)
	c := nextChange(t, changes)
	if c.Healthy || !strings.Contains(c.Reason, "not the address of one origin server") {
		t.Errorf("none.test: got %+v; want unhealthy, with a reason naming unspecified addresses", c)
	}
	if ap, err := none.Addr(); !errors.Is(err, ErrUnresolved) {
		t.Errorf("none.test Addr: %v, %v; want ErrUnresolved", ap, err)
	}
}

// TestDenyPrivateDropsTranslatedAddresses: with DenyPrivate, a name whose
// AAAA is the NAT64 (or 6to4) form of a private IPv4 address is dropped
// like the IPv4 address itself.
func TestDenyPrivateDropsTranslatedAddresses(t *testing.T) {
	z := startZone(t)
	p := NewPool(Options{Nameservers: []string{z.addr}, ResolveEvery: 2 * time.Second, DenyPrivate: true})
	t.Cleanup(p.Close)
	z.set("nat64.test", record{addrs: []netip.Addr{netip.MustParseAddr("64:ff9b::a9fe:a9fe"), netip.MustParseAddr("64:ff9b:1::a00:1"),
		netip.MustParseAddr("2002:a00:1::1")}, ttl: 60})
	b := p.Acquire(domainKey("nat64.test"))
	defer p.Release(b)
	edgetest.Eventually(t, 3*time.Second, func() bool { return b.addrs.Load() != nil }, "never resolved")
	if got := *b.addrs.Load(); len(got) != 0 {
		t.Errorf("nat64.test resolved with DenyPrivate to %v; want none (NAT64/6to4 forms of 169.254.169.254 and 10.0.0.1)", got)
	}
}

// TestDomainDownAddresses: a checked domain origin passes while one of its
// addresses answers, and reports healthy with the address that fails its
// own checks down (each is checked, as the reference's example shows a
// normal origin with a DownIPList); once none answers it reports down
// with every address that failed (in order), and with none once its name
// stops resolving, which is how the API tells a resolved name whose
// servers fail (DownIPList) from one that does not resolve.
func TestDomainDownAddresses(t *testing.T) {
	z := startZone(t)
	p, changes := domainPool(t, z)
	live := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Sink)
	dead := lo.Next() // Nothing listens on it: refused at once.
	addrs := []netip.Addr{dead, live.Addr.Addr()}
	if dead.Compare(live.Addr.Addr()) > 0 {
		addrs[0], addrs[1] = addrs[1], addrs[0]
	}
	z.set("pair.test", record{addrs: addrs, ttl: 1})
	k := domainKey("pair.test")
	k.Port = int(live.Addr.Port())
	k.Check = snapshot.HealthCheck{Enabled: true, Interval: 50 * time.Millisecond, Timeout: time.Second, Healthy: 1, Unhealthy: 1}
	b := p.Acquire(k)
	defer p.Release(b)
	edgetest.Eventually(t, 2*time.Second, b.Healthy, "never resolved")
	if c := nextChange(t, changes); !c.Healthy || !slices.Equal(c.Down, []netip.Addr{dead}) {
		t.Fatalf("got %+v with one address answering; want healthy with %v down", c, dead)
	}
	live.Close()
	if c := nextChange(t, changes); c.Healthy || !slices.Equal(c.Down, addrs) {
		t.Errorf("got %+v with no address answering; want down with %v", c, addrs)
	}
	z.set("pair.test", record{rcode: dns.RcodeNameError})
	if c := nextChange(t, changes); c.Healthy || len(c.Down) != 0 || !strings.Contains(c.Reason, "NXDOMAIN") {
		t.Errorf("got %+v once the name stops resolving; want down with no address", c)
	}
}

// TestCheckConfigChangeKeepsAddrDown guards a DOMAIN origin's address its
// checks took out across a change of the checks' timing or thresholds
// (ModifyTCPListenerAttribute DelayLoop, UnhealthyThreshold; a rule's
// check path on layer 7): the backend for the new config started with no
// address down, so the dead one was back in rotation and off DownIPList
// until Unhealthy checks under the new timing failed again. It stays out
// until Healthy checks pass under the new config.
func TestCheckConfigChangeKeepsAddrDown(t *testing.T) {
	z := startZone(t)
	p, _ := domainPool(t, z)
	live := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Sink)
	dead := lo.Next() // Nothing listens on it yet: refused at once.
	addrs := []netip.Addr{dead, live.Addr.Addr()}
	slices.SortFunc(addrs, netip.Addr.Compare)
	z.set("change.test", record{addrs: addrs, ttl: 60})
	k := domainKey("change.test")
	k.Port = int(live.Addr.Port())
	k.Check = snapshot.HealthCheck{Enabled: true, Interval: 50 * time.Millisecond, Timeout: time.Second, Healthy: 1, Unhealthy: 1}
	old := p.Acquire(k)
	edgetest.Eventually(t, 3*time.Second, func() bool { return old.AddrDown(dead) }, "dead address never taken out")

	slow := k // Same probe, other timing: one check now, the next in an hour.
	slow.Check.Interval, slow.Check.Unhealthy = time.Hour, 3
	nb := p.Acquire(slow)
	p.Release(old)
	time.Sleep(300 * time.Millisecond) // Its first check has run.
	if !nb.Healthy() || !nb.AddrDown(dead) {
		t.Errorf("after a check-timing change: healthy %v, %v taken out %v; want true, true", nb.Healthy(), dead, nb.AddrDown(dead))
	}
	if st := nb.Status(); !slices.Equal(st.Down, []netip.Addr{dead}) {
		t.Errorf("Status().Down (DownIPList) after a check-timing change = %v; want [%v]", st.Down, dead)
	}

	// The address answers again: back once Healthy checks pass under the
	// config of the moment (itself inherited once more).
	edgetest.StartTCP(t, netip.AddrPortFrom(dead, uint16(k.Port)), edgetest.Sink)
	fast := k
	fast.Check.Healthy = 2
	back := p.Acquire(fast)
	defer p.Release(back)
	p.Release(nb)
	if !back.AddrDown(dead) {
		t.Errorf("%v back in rotation before any check passed under the new config", dead)
	}
	edgetest.Eventually(t, 3*time.Second, func() bool { return !back.AddrDown(dead) && len(back.Status().Down) == 0 },
		"address that answers again never back in rotation")
}

// TestUncheckedDomainReportsHealthy: an origin whose checks are off reports
// healthy (the API's "always normal while checks are off") even while its
// name does not resolve, and no change; traffic passes it over all the same.
func TestUncheckedDomainReportsHealthy(t *testing.T) {
	z := startZone(t)
	p, changes := domainPool(t, z)
	z.set("gone.test", record{rcode: dns.RcodeNameError})
	b := p.Acquire(domainKey("gone.test"))
	defer p.Release(b)
	edgetest.Eventually(t, 2*time.Second, func() bool { return z.count("gone.test") > 0 }, "name never asked")
	time.Sleep(100 * time.Millisecond) // The answer lands.
	if b.Healthy() {
		t.Error("unresolved origin in service; want passed over")
	}
	if !b.Status().Healthy {
		t.Error("unchecked origin reports down; want healthy while checks are off")
	}
	select {
	case c := <-changes:
		t.Errorf("got change %+v for an unchecked origin; want none", c)
	default:
	}
}

// nextChange waits for a health flip. The bound covers the retry of a
// SERVFAIL (no negative TTL: ResolveEvery, 2 s here) plus a TTL.
func nextChange(t *testing.T, ch chan Change) Change {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(4 * time.Second):
		t.Fatal("no health change")
		return Change{}
	}
}

func TestDNSFallback(t *testing.T) {
	z := startZone(t)
	ip := netip.MustParseAddr("192.0.2.4")
	z.set("fallback.test", record{addrs: []netip.Addr{ip}, ttl: 60})
	// Nothing listens on dead (ICMP port unreachable), so no nameserver
	// answers; the stdlib resolver, pointed at the zone, does.
	dead := netip.AddrPortFrom(lo.Next(), 9).String()
	viaZone := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, z.addr)
	}}
	p := NewPool(Options{Nameservers: []string{dead}, Resolver: viaZone})
	defer p.Close()
	tests := []struct {
		desc, host string
		want       func(netip.Addr) bool
	}{
		{"hosts file", "localhost", netip.Addr.IsLoopback},
		{"no nameserver answers", "fallback.test", func(a netip.Addr) bool { return a == ip }},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			b := p.Acquire(domainKey(tc.host))
			defer p.Release(b)
			edgetest.Eventually(t, 3*time.Second, b.Healthy, "never resolved")
			if got := addrOf(b); !tc.want(got) {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestTTLBounds(t *testing.T) {
	p := NewPool(Options{})
	defer p.Close()
	tests := []struct {
		desc    string
		ttl     time.Duration
		refresh time.Duration
	}{
		{"zero TTL floored at 1s", 0, 900 * time.Millisecond},
		{"1s", time.Second, 900 * time.Millisecond},
		{"30s", 30 * time.Second, 27 * time.Second},
		{"1h capped at MaxTTL 5m", time.Hour, 295 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := refreshAfter(p.clampTTL(tc.ttl)); got != tc.refresh {
				t.Errorf("got refresh after %v; want %v", got, tc.refresh)
			}
		})
	}
}

func TestAddrDoesNotAllocate(t *testing.T) {
	b := newBackend(domainKey("x.test"))
	b.addrs.Store(&[]netip.Addr{netip.MustParseAddr("192.0.2.5"), netip.MustParseAddr("2001:db8::5")})
	if n := testing.AllocsPerRun(100, func() { _, _ = b.Addr(); _ = b.Healthy() }); n != 0 {
		t.Errorf("got %v allocs per pick; want 0", n)
	}
	// A connect goes through TryAddrs, which costs nothing more, whether
	// the first address answers or the others are tried.
	for _, fail := range []bool{false, true} {
		try := func(netip.AddrPort) (int, error) {
			if fail {
				return 0, ErrUnresolved
			}
			return 1, nil
		}
		again := func(error) bool { return true }
		if n := testing.AllocsPerRun(100, func() { _, _ = TryAddrs(b, try, again) }); n != 0 {
			t.Errorf("failing tries %v: got %v allocs per TryAddrs; want 0", fail, n)
		}
	}
}

// TestTryAddrs: TryAddrs starts at the address Addr would pick and goes
// on with the others, each once, while the tries fail with an error again
// accepts; it stops at the first success.
func TestTryAddrs(t *testing.T) {
	b := newBackend(domainKey("x.test"))
	if _, err := TryAddrs(b, func(netip.AddrPort) (int, error) { return 0, nil }, nil); err != ErrUnresolved {
		t.Fatalf("unresolved: got %v; want ErrUnresolved", err)
	}
	a := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::3")}
	b.addrs.Store(&a)
	errDown, errFatal := errors.New("down"), errors.New("fatal")
	again := func(err error) bool { return err == errDown }
	for _, tc := range []struct {
		name string
		errs map[string]error // By address; the rest succeed.
		want int              // Tries.
		err  error
	}{
		{"first answers", nil, 1, nil},
		{"all down", map[string]error{"192.0.2.1": errDown, "192.0.2.2": errDown, "2001:db8::3": errDown}, 3, errDown},
		{"one up", map[string]error{"192.0.2.1": errDown, "2001:db8::3": errDown}, -1, nil},
		{"not retried", map[string]error{"192.0.2.1": errFatal, "192.0.2.2": errFatal, "2001:db8::3": errFatal}, 1, errFatal},
	} {
		for range len(a) { // Each address in turn first.
			var tried []netip.Addr
			first := b.next.Load() + 1
			_, err := TryAddrs(b, func(ap netip.AddrPort) (int, error) {
				if ap.Port() != 80 {
					t.Errorf("%s: port %d; want 80", tc.name, ap.Port())
				}
				tried = append(tried, ap.Addr())
				return 0, tc.errs[ap.Addr().String()]
			}, again)
			for i, x := range tried {
				if x != a[(int(first)+i)%len(a)] {
					t.Errorf("%s: tried %v; want the addresses in order from %v", tc.name, tried, a[int(first)%len(a)])
				}
			}
			last := tried[len(tried)-1]
			if err != tc.err || (tc.want > 0 && len(tried) != tc.want) || (tc.err == nil && tc.errs[last.String()] != nil) {
				t.Errorf("%s: tried %v, err %v; want %d tries, err %v", tc.name, tried, err, tc.want, tc.err)
			}
		}
	}
}

// TestResolvedAgainHealthyAtOnce: while a checked domain origin has no
// address its checks do not count, so the answer that brings an address
// back makes it healthy at once (no second "down" from the checks, no
// wait for the rise threshold of 5).
func TestResolvedAgainHealthyAtOnce(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	z := startZone(t)
	p, changes := domainPool(t, z)
	z.set("back.test", record{addrs: []netip.Addr{ap.Addr()}, ttl: 1})
	k := domainKey("back.test")
	k.Port = int(ap.Port())
	k.Check = snapshot.HealthCheck{Enabled: true, Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond, Healthy: 5, Unhealthy: 1}
	b := p.Acquire(k)
	defer p.Release(b)
	edgetest.Eventually(t, 2*time.Second, b.Healthy, "never resolved")
	z.set("back.test", record{rcode: dns.RcodeNameError})
	if c := nextChange(t, changes); c.Healthy {
		t.Fatalf("got %+v; want unhealthy once the name is gone", c)
	}
	time.Sleep(300 * time.Millisecond) // Checks run meanwhile, with no address.
	z.set("back.test", record{addrs: []netip.Addr{ap.Addr()}, ttl: 1})
	if c := nextChange(t, changes); !c.Healthy || !b.Healthy() {
		t.Errorf("got %+v (healthy %v); want healthy as soon as the name resolves", c, b.Healthy())
	}
}

// TestNoDataWithFailedFamily: when the A query fails (SERVFAIL) and AAAA
// says NODATA, the name is not taken for one without addresses for the
// hour NODATA may be cached: it is a transient failure, retried soon.
func TestNoDataWithFailedFamily(t *testing.T) {
	t.Parallel()
	z := startZone(t)
	p, _ := domainPool(t, z)
	z.set("v4only.test", record{addrs: []netip.Addr{netip.MustParseAddr("192.0.2.9")}, ttl: 60, aRcode: dns.RcodeServerFailure})
	_, _, next, err := p.lookup(t.Context(), "v4only.test")
	if err == nil || !strings.Contains(err.Error(), "SERVFAIL") || next > 5*time.Second {
		t.Errorf("lookup: %v, retry in %v; want SERVFAIL, retried within 5 s", err, next)
	}
	z.set("v4only.test", record{addrs: []netip.Addr{netip.MustParseAddr("192.0.2.9")}, ttl: 60})
	if ips, _, _, err := p.lookup(t.Context(), "v4only.test"); err != nil || len(ips) != 1 {
		t.Errorf("lookup once A answers: %v, %v; want 192.0.2.9", ips, err)
	}
}

// TestDomainHealthyWhileAnyAddressAnswers: a DOMAIN origin is one service
// at several addresses, so its check passes while any of them answers
// (here one of two refuses, and every check passes, with a fall threshold
// of 1), and fails only when none does.
func TestDomainHealthyWhileAnyAddressAnswers(t *testing.T) {
	t.Parallel()
	live, refused := lo.Next(), lo.Next()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(live, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	z := startZone(t)
	p, changes := domainPool(t, z)
	z.set("pair.test", record{addrs: []netip.Addr{live, refused}, ttl: 300})
	k := domainKey("pair.test")
	k.Port = ln.Addr().(*net.TCPAddr).Port
	k.Check = snapshot.HealthCheck{Enabled: true, Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond, Healthy: 1, Unhealthy: 1}
	b := p.Acquire(k)
	defer p.Release(b)
	edgetest.Eventually(t, 3*time.Second, b.Healthy, "pair.test not resolved")
	deadline := time.After(400 * time.Millisecond) // About 20 checks, half of them starting at the refusing address.
	for done := false; !done; {
		select {
		case c := <-changes:
			if !c.Healthy {
				t.Fatalf("got %+v; want the origin healthy while one of its addresses answers", c)
			}
		case <-deadline:
			done = true
		}
	}
	ln.Close()
	if c := nextChange(t, changes); c.Healthy {
		t.Errorf("got %+v; want unhealthy once no address answers", c)
	}
}

// TestDenyPrivateDropsLiteralAddresses: the API refuses private literal
// origins under the flag, but one stored before the node ran with it is
// still in the snapshot: its backend has no address, so it gets no
// traffic; a public literal is untouched.
func TestDenyPrivateDropsLiteralAddresses(t *testing.T) {
	p := NewPool(Options{DenyPrivate: true})
	t.Cleanup(p.Close)
	private := p.Acquire(Key{Proto: snapshot.ProtoTCP, Host: "127.0.0.1", Port: 80})
	defer p.Release(private)
	if ap, err := private.Addr(); !errors.Is(err, ErrUnresolved) || private.Healthy() {
		t.Errorf("127.0.0.1 under DenyPrivate: Addr %v, %v, healthy %v; want no address", ap, err, private.Healthy())
	}
	public := p.Acquire(Key{Proto: snapshot.ProtoTCP, Host: "198.51.100.7", Port: 80})
	defer p.Release(public)
	if ap, err := public.Addr(); err != nil || ap.Addr() != netip.MustParseAddr("198.51.100.7") || !public.Healthy() {
		t.Errorf("198.51.100.7 under DenyPrivate: Addr %v, %v, healthy %v; want it kept", ap, err, public.Healthy())
	}
}

// TestTryAddrsRefusesOwnListeners: an address the node listens on (for
// the origin's transport) is never tried, whatever again says, so a DOMAIN
// origin that resolves to one goes on with its other addresses, and one
// with only such addresses fails as a dial error (a loop refused).
func TestTryAddrsRefusesOwnListeners(t *testing.T) {
	var set atomic.Pointer[Listening]
	b := newBackend(domainKey("x.test"))
	b.listening = &set
	own, other := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	l := NewListening()
	l.Add(false, netip.AddrPortFrom(own, 80))
	l.Add(false, netip.AddrPortFrom(netip.IPv4Unspecified(), 80)) // Also every local address.
	l.Add(true, netip.AddrPortFrom(other, 80))                    // UDP: not a TCP origin's loop.
	set.Store(l)
	fatal := func(error) bool { return false }
	for _, tc := range []struct {
		name  string
		addrs []netip.Addr
		tried []netip.Addr
	}{
		{"own skipped", []netip.Addr{own, other}, []netip.Addr{other}},
		{"loopback under a wildcard", []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil},
		{"only own", []netip.Addr{own}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.addrs.Store(&tc.addrs)
			for range tc.addrs { // Each address in turn first.
				var tried []netip.Addr
				_, err := TryAddrs(b, func(ap netip.AddrPort) (int, error) {
					tried = append(tried, ap.Addr())
					return 0, nil
				}, fatal)
				if !slices.Equal(tried, tc.tried) {
					t.Errorf("tried %v; want %v", tried, tc.tried)
				}
				var op *net.OpError
				if tc.tried == nil && (!errors.Is(err, ErrOwnListener) || !errors.As(err, &op) || op.Op != "dial") {
					t.Errorf("got %v; want a dial error wrapping ErrOwnListener", err)
				}
			}
		})
	}
}

// TestOwnListenerUnspecifiedIsLoopback guards the own-listener check
// against an unspecified destination: a connect to 0.0.0.0 or :: is sent
// to the loopback address, so it reaches a socket listening on 127.0.0.1
// or ::1 (the node's API by default), not only a wildcard one.
func TestOwnListenerUnspecifiedIsLoopback(t *testing.T) {
	l := NewListening()
	l.Add(false, netip.MustParseAddrPort("127.0.0.1:8800"))
	l.Add(true, netip.MustParseAddrPort("[::1]:53"))
	for _, tc := range []struct {
		proto string
		ap    string
		want  bool
	}{
		{snapshot.ProtoTCP, "0.0.0.0:8800", true},
		{snapshot.ProtoTCP, "[::]:8800", true},
		{snapshot.ProtoTCP, "[::ffff:0.0.0.0]:8800", true},
		{snapshot.ProtoUDP, "0.0.0.0:53", true},
		{snapshot.ProtoUDP, "[::]:53", true},
		{snapshot.ProtoTCP, "0.0.0.0:8801", false},
		{snapshot.ProtoUDP, "0.0.0.0:8800", false}, // Another transport.
		{snapshot.ProtoTCP, "127.0.0.2:8800", false},
	} {
		if got := l.has(tc.proto, netip.MustParseAddrPort(tc.ap)); got != tc.want {
			t.Errorf("has(%s, %s) = %v; want %v", tc.proto, tc.ap, got, tc.want)
		}
	}
}

// TestDNSOneQueryPerName: many origins that share one name (the same
// host on other ports, as one EdgeOne rule with a ranged origin port
// compiles to, or layer-7 rules with checks on, one backend per rule)
// should cost the resolver one A and one AAAA query per TTL, not two per
// origin.
func TestDNSOneQueryPerName(t *testing.T) {
	z := startZone(t)
	p, _ := domainPool(t, z)
	ip := netip.MustParseAddr("192.0.2.10")
	z.set("shared.test", record{addrs: []netip.Addr{ip}, ttl: 60})

	const n = 200
	var bs []*Backend
	for i := range n / 2 { // Same name, other ports (TEO ranged origin port).
		bs = append(bs, p.Acquire(Key{Proto: snapshot.ProtoTCP, Host: "shared.test", Port: 1000 + i, IsDomain: true}))
	}
	chk := snapshot.HealthCheck{Enabled: true, Interval: time.Hour, Timeout: time.Second}
	for i := range n / 2 { // Same name and port, one backend per L7 rule (Scope).
		bs = append(bs, p.Acquire(Key{Proto: snapshot.ProtoHTTP, Host: "shared.test", Port: 80, IsDomain: true,
			Check: chk, Scope: "rule-" + string(rune('a'+i%26)) + string(rune('a'+i/26))}))
	}
	defer func() {
		for _, b := range bs {
			p.Release(b)
		}
	}()
	edgetest.Eventually(t, 5*time.Second, func() bool {
		for _, b := range bs {
			if addrOf(b) != ip {
				return false
			}
		}
		return true
	}, "never resolved")
	time.Sleep(200 * time.Millisecond)
	if got := z.count("shared.test"); got > 2 {
		t.Errorf("%d origins on one name (TTL 60 s) sent %d queries for it within one TTL; want 2 (A + AAAA)", n, got)
	}
}

// TestDNSTTLHonouredDuringLongCheck: resolution shares the backend's
// goroutine with its checks, so while a check goes over a name's silent
// addresses (timeout each) the TTL timer cannot fire: a name moved away
// from dead servers (DNS failover, TTL 1 s) keeps sending traffic to the
// dead ones for the whole check, not for at most the TTL.
func TestDNSTTLHonouredDuringLongCheck(t *testing.T) {
	// Five silent HTTP origins on one port: they accept and never answer.
	var dead []netip.Addr
	port := 0
	for range 5 {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), uint16(port)).String())
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ap := ln.Addr().(*net.TCPAddr).AddrPort()
		port = int(ap.Port())
		dead = append(dead, ap.Addr())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
	}
	z := startZone(t)
	p, _ := domainPool(t, z)
	z.set("failover.test", record{addrs: dead, ttl: 1})
	probe, chk := ProbeOf(snapshot.HTTPCheck{Enabled: true, Interval: time.Second, Timeout: 2 * time.Second})
	b := p.Acquire(Key{Proto: snapshot.ProtoHTTP, Host: "failover.test", Port: port, IsDomain: true, Check: chk, HTTP: probe})
	defer p.Release(b)
	edgetest.Eventually(t, 2*time.Second, func() bool { a := b.addrs.Load(); return a != nil && len(*a) == 5 }, "never resolved")
	time.Sleep(300 * time.Millisecond) // The first check (5 × 2 s) is under way.
	good := netip.MustParseAddr("192.0.2.12")
	z.set("failover.test", record{addrs: []netip.Addr{good}, ttl: 1})
	moved := time.Now()
	for time.Since(moved) < 3*time.Second { // TTL 1 s, plus slack.
		if a := b.addrs.Load(); a != nil && len(*a) == 1 && (*a)[0] == good {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("3 s after a TTL-1s name moved to %v the origin still has the old addresses %v (queries for it so far: %d): "+
		"the refresh waits for the running check", good, *b.addrs.Load(), z.count("failover.test"))
}

// TestDNSRefreshFailureKeepsUnexpiredAddresses: the refresh runs a
// tenth of the TTL before the answer expires "so new addresses are in
// place before the old ones expire"; a SERVFAIL at that refresh must not
// throw away addresses whose TTL is still running (the origin is taken out
// of service, with nothing wrong with it, before its answer even expires),
// but are dropped once that TTL has run out.
func TestDNSRefreshFailureKeepsUnexpiredAddresses(t *testing.T) {
	z := startZone(t)
	p, _ := domainPool(t, z)
	ip := netip.MustParseAddr("192.0.2.11")
	z.set("blip.test", record{addrs: []netip.Addr{ip}, ttl: 10})
	// The answer lands after this (a lower bound: the 10 s TTL runs at
	// least until answered+10s, however late the test sees it).
	answered := time.Now()
	b := p.Acquire(domainKey("blip.test"))
	defer p.Release(b)
	edgetest.Eventually(t, 2*time.Second, func() bool { return addrOf(b) == ip }, "never resolved")
	z.set("blip.test", record{rcode: 2 /* SERVFAIL: the recursor cannot reach the zone for a moment */})
	for time.Since(answered) < 9700*time.Millisecond {
		if !b.Healthy() {
			t.Fatalf("%.1fs into a 10 s TTL a SERVFAIL at refresh left the origin with no address (Healthy false, Addr %v): "+
				"the still-valid answer was dropped", time.Since(answered).Seconds(), addrOf(b))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Once the TTL has run out the still failing name is emptied, as
	// documented: the next ask is due then, not 5 s later.
	edgetest.Eventually(t, 1500*time.Millisecond, func() bool { return !b.Healthy() }, "expired addresses kept")
}

// TestDNSCloseNotHeldBySlowResolver: a nameserver that never answers
// must not hold up Pool.Close (the node's shutdown) or Release.
func TestDNSCloseNotHeldBySlowResolver(t *testing.T) {
	pc, err := net.ListenPacket("udp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close() // Reads nothing, answers nothing: a black hole.
	blackhole := pc.LocalAddr().String()
	viaBlackhole := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, blackhole)
	}}
	p := NewPool(Options{Nameservers: []string{blackhole}, Resolver: viaBlackhole})
	b := p.Acquire(domainKey("slow.test"))
	time.Sleep(100 * time.Millisecond) // The resolution is under way.
	p.Release(b)
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Pool.Close took %v, waiting for a DNS lookup of a released origin; want it prompt", d.Round(100*time.Millisecond))
	}
}

// TestAddrDownKeptOverLocalFailure: an address whose probe failed for the
// node's own reason (LocalFailure: in neither list) keeps its counts, as
// probe keeps the origin's: it was forgotten, so one its checks took out
// came straight back into rotation and off DownIPList. An address the
// name no longer has is forgotten.
func TestAddrDownKeptOverLocalFailure(t *testing.T) {
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	for _, name := range [][]netip.Addr{{a, b, c}, {a, c}} {
		be := newBackend(Key{Proto: snapshot.ProtoTCP, Host: "x.test", Port: 80, IsDomain: true,
			Check: snapshot.HealthCheck{Enabled: true, Healthy: 3, Unhealthy: 3}})
		be.addrs.Store(&name)
		others := slices.DeleteFunc(slices.Clone(name), func(x netip.Addr) bool { return x == c })
		for range 3 { // c fails its checks: taken out.
			be.recordAddrs([]netip.Addr{c}, others)
		}
		be.recordAddrs(nil, others) // c's probe failed locally.
		if d := be.addrDown.Load(); d == nil || !slices.Equal(*d, []netip.Addr{c}) {
			t.Errorf("name %v, after a local failure of %v's probe: down %v; want [%v] still", name, c, d, c)
		}
		gone := slices.Clone(others)
		be.addrs.Store(&gone) // The name drops c.
		be.recordAddrs(nil, others)
		if d := be.addrDown.Load(); d != nil || be.addrRuns[c] != nil {
			t.Errorf("name %v without %v: down %v, runs %v; want it forgotten", name, c, d, be.addrRuns)
		}
	}
}

// TestStatusDownNotEveryAddress: when a new resolution leaves a name only
// addresses its checks took out, Status lists none of them down on a
// healthy origin, as recordAddrs publishes it ("while every address is
// down, none is taken out"), not all of them until the next check.
func TestStatusDownNotEveryAddress(t *testing.T) {
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	be := newBackend(Key{Proto: snapshot.ProtoTCP, Host: "x.test", Port: 80, IsDomain: true,
		Check: snapshot.HealthCheck{Enabled: true, Healthy: 3, Unhealthy: 3}})
	all := []netip.Addr{a, b, c}
	be.addrs.Store(&all)
	for range 3 {
		be.recordAddrs([]netip.Addr{b, c}, []netip.Addr{a})
	}
	if s := be.Status(); len(s.Down) != 2 {
		t.Fatalf("setup: %v", s)
	}
	left := []netip.Addr{b, c} // A new resolution drops a.
	be.addrs.Store(&left)
	before := be.Status()
	be.recordAddrs([]netip.Addr{b, c}, nil) // The next check.
	after := be.Status()
	if !before.equal(after) {
		t.Errorf("name %v after a resolution: Status %v; after the next check %v; want the same (Status filters as recordAddrs)", left, before, after)
	}
}
