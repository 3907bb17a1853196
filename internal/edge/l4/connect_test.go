package l4

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

var lo = edgetest.NewAlloc(5)

// startZone serves A and AAAA records (TTL 300) for any name on a fresh
// loopback address and returns the server's address.
func startZone(t *testing.T, addrs ...netip.Addr) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		qn, qt := q.Question[0].Name, q.Question[0].Qtype
		for _, a := range addrs {
			h := dns.RR_Header{Name: qn, Rrtype: qt, Class: dns.ClassINET, Ttl: 300}
			switch {
			case a.Is4() && qt == dns.TypeA:
				m.Answer = append(m.Answer, &dns.A{Hdr: h, A: a.AsSlice()})
			case a.Is6() && qt == dns.TypeAAAA:
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: h, AAAA: a.AsSlice()})
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// domainRoute is a route (rr, no checks) with one DOMAIN origin, whose
// name the zone at ns resolves to want addresses.
func domainRoute(t *testing.T, proto, ns string, port, want int) *Route {
	t.Helper()
	pool := health.NewPool(health.Options{Nameservers: []string{ns}})
	t.Cleanup(pool.Close)
	b := pool.Acquire(health.Key{Proto: proto, Host: "origin.test", Port: port, IsDomain: true})
	edgetest.Eventually(t, 3*time.Second, func() bool {
		n := 0
		_, _ = health.TryAddrs(b, func(netip.AddrPort) (int, error) { n++; return 0, io.EOF }, func(error) bool { return true })
		return n == want
	}, "origin.test not resolved to %d addresses", want)
	return &Route{ListenerID: "l", Proxy: NewProxy("p", &stats.Counters{}), ConnectTimeout: 2 * time.Second,
		Origins: map[string]*Origin{"o": {ID: "o", Backend: b, Stats: &stats.Counters{}}}, Stats: &stats.Counters{},
		Picker: balance.New(snapshot.SchedRR, []*balance.Target{{ID: "o", Backend: b}}, false, nil, 0)}
}

// TestDomainOriginTriesOtherAddresses: a DOMAIN origin whose name has
// three addresses: one refuses connections (one of the name's servers is
// down), one cannot be reached from the edge (an IPv6 link-local address
// without zone: a local error, like ENETUNREACH for an AAAA record on an
// IPv4-only edge). The listener has this one origin. A connect to a dead
// address goes on with the name's other addresses before the origin
// counts as failed, so every client connection reaches the live one, and
// the origin, which answered each time, is neither counted failed nor
// suspect.
func TestDomainOriginTriesOtherAddresses(t *testing.T) {
	live, refused := lo.Next(), lo.Next()
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(live, 0), func(c net.Conn) { _, _ = c.Write([]byte("ok")) })
	ns := startZone(t, live, refused, netip.MustParseAddr("fe80::1"))
	r := domainRoute(t, snapshot.ProtoTCP, ns, int(origin.Addr.Port()), 3)
	srv, err := ListenTCP(netip.AddrPortFrom(lo.Next(), 0), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Abort(); <-srv.Shutdown(0) })

	failed := 0
	for range 9 {
		c, err := net.DialTimeout("tcp", srv.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 2)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok" {
			failed++
		}
		c.Close()
	}
	if b := r.Origins["o"].Backend; failed > 0 || r.Stats.DialFails.Load() != 0 || b.Suspect() {
		t.Errorf("domain origin with one live address of three: %d of 9 connections dropped, DialFails %d, suspect %v; want 0, 0, false",
			failed, r.Stats.DialFails.Load(), b.Suspect())
	}
}

// TestDomainOriginUDPTriesOtherAddresses: a UDP session to a DOMAIN
// origin whose socket cannot connect to the address picked (a local
// error: an IPv6 link-local address without zone) uses the name's other
// address instead of dropping the client's datagrams.
func TestDomainOriginUDPTriesOtherAddresses(t *testing.T) {
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("re:"))
	ns := startZone(t, origin.Addr.Addr(), netip.MustParseAddr("fe80::1"))
	r := domainRoute(t, snapshot.ProtoUDP, ns, int(origin.Addr.Port()), 2)
	srv, err := ListenUDP(netip.AddrPortFrom(lo.Next(), 0), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Abort(); <-srv.Shutdown(0) })

	failed := 0
	for range 6 { // A session per client socket, each picking the next address.
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(srv.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 16)
		_, _ = c.Write([]byte("x"))
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != "re:x" {
			failed++
		}
		c.Close()
	}
	if failed > 0 || r.Stats.DialFails.Load() != 0 {
		t.Errorf("UDP domain origin with one usable address of two: %d of 6 sessions unanswered, DialFails %d; want 0, 0",
			failed, r.Stats.DialFails.Load())
	}
}

// slowOrigin listens with a full accept queue, so a connect to it hangs
// (SYNs dropped) instead of failing: a slow origin, not a refusing one.
func slowOrigin(t *testing.T) netip.AddrPort {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	for range 2 { // Fill the accept queue.
		c, err := net.DialTimeout("tcp", ap.String(), 200*time.Millisecond)
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return ap
}

// TestEdgeCutConnectLeavesOriginAlone: a connection the edge itself cuts
// (listener removal, Runtime.Close, a policy Recheck) while its connect is
// in progress says nothing about the origin: it is neither made suspect
// (every listener sharing it would pass it over) nor counted as failed.
func TestEdgeCutConnectLeavesOriginAlone(t *testing.T) {
	r, b, srv := oneOriginListener(t, slowOrigin(t))
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(300 * time.Millisecond) // The edge is now connecting.
	if n := r.Stats.DialFails.Load(); n != 0 || b.Suspect() {
		t.Fatalf("connect already failed (%d): the origin is not slow", n)
	}
	srv.Abort()
	<-srv.Shutdown(0)
	if n := r.Stats.DialFails.Load(); b.Suspect() || n != 0 {
		t.Errorf("after the edge cut a connect in progress: suspect %v, DialFails %d; want neither", b.Suspect(), n)
	}
}

// oneOriginListener serves a TCP listener on 127.0.0.1 with one origin,
// rr and no health checks; it returns the route, the origin's backend and
// the server.
func oneOriginListener(t *testing.T, origin netip.AddrPort) (*Route, *health.Backend, *TCPServer) {
	t.Helper()
	pool := health.NewPool(health.Options{Nameservers: []string{}})
	t.Cleanup(pool.Close)
	b := pool.Acquire(health.Key{Proto: snapshot.ProtoTCP, Host: origin.Addr().String(), Port: int(origin.Port())})
	r := &Route{ListenerID: "l", Proxy: NewProxy("p", &stats.Counters{}), ConnectTimeout: 5 * time.Second,
		Origins: map[string]*Origin{"o": {ID: "o", Backend: b, Stats: &stats.Counters{}}}, Stats: &stats.Counters{},
		Picker: balance.New(snapshot.SchedRR, []*balance.Target{{ID: "o", Backend: b}}, false, nil, 0)}
	srv, err := ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), r)
	if err != nil {
		t.Fatal(err)
	}
	return r, b, srv
}

// TestUDPSessionVouchesForOrigin: a UDP origin is made suspect by an ICMP
// port unreachable; nothing else tells that it came back (UDP has no
// connect, many services never answer), so a session that has run for
// udpRefusalWindow without a refusal clears the suspicion, as a TCP
// connect that succeeds does. One that is refused does not.
func TestUDPSessionVouchesForOrigin(t *testing.T) {
	live := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("re:"))
	gone, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo.Next(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	dead := gone.LocalAddr().(*net.UDPAddr).AddrPort()
	gone.Close() // Its port answers ICMP port unreachable.
	for _, tc := range []struct {
		name    string
		origin  netip.AddrPort
		suspect bool
	}{{"answering origin cleared", live.Addr, false}, {"refusing origin stays suspect", dead, true}} {
		t.Run(tc.name, func(t *testing.T) {
			pool := health.NewPool(health.Options{Nameservers: []string{}})
			t.Cleanup(pool.Close)
			b := pool.Acquire(health.Key{Proto: snapshot.ProtoUDP, Host: tc.origin.Addr().String(), Port: int(tc.origin.Port())})
			r := &Route{ListenerID: "l", Proxy: NewProxy("p", &stats.Counters{}), IdleTimeout: time.Minute,
				Origins: map[string]*Origin{"o": {ID: "o", Backend: b, Stats: &stats.Counters{}}}, Stats: &stats.Counters{},
				Picker: balance.New(snapshot.SchedRR, []*balance.Target{{ID: "o", Backend: b}}, false, nil, 0)}
			srv, err := ListenUDP(netip.AddrPortFrom(lo.Next(), 0), r)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Abort(); <-srv.Shutdown(0) })
			b.ConnectFailed() // As after an earlier refusal.
			c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(srv.Addr()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, _ = c.Write([]byte("x"))
			if !tc.suspect { // Cleared by the sweep (every 250 ms) once the window has passed.
				edgetest.Eventually(t, udpRefusalWindow+3*time.Second, func() bool { return !b.Suspect() },
					"still suspect %v into a session never refused", udpRefusalWindow+3*time.Second)
				return
			}
			time.Sleep(udpRefusalWindow + 500*time.Millisecond)
			if !b.Suspect() {
				t.Errorf("suspect after a refused session of %v: got false; want true", udpRefusalWindow+500*time.Millisecond)
			}
		})
	}
}

// silentAt listens on ip (port 0) with a full accept queue, so a
// connect to it hangs (SYNs dropped): one of a name's servers that is
// down behind a firewall that drops, not refuses.
func silentAt(t *testing.T, ip netip.Addr) netip.AddrPort {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: ip.As4()}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	ap := netip.AddrPortFrom(ip, uint16(sa.(*unix.SockaddrInet4).Port))
	for range 2 {
		c, err := net.DialTimeout("tcp", ap.String(), 200*time.Millisecond)
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return ap
}

// TestDomainSilentAddressPassedOver: a DOMAIN origin whose name has two
// addresses, one of which drops SYNs. The first connection that lands on
// the silent address waits ConnectTimeout and then goes to the live one;
// the address is then passed over for FailTimeout, as nginx passes over a
// resolved address with its own max_fails/fail_timeout. The origin was
// never marked (another address answered), and the rotation sent every
// other connection to the silent address first, each waiting the whole
// ConnectTimeout, for as long as the name held it.
func TestDomainSilentAddressPassedOver(t *testing.T) {
	silent := silentAt(t, lo.Next())
	live := netip.AddrPortFrom(lo.Next(), silent.Port())
	origin := edgetest.StartTCP(t, live, func(c net.Conn) { _, _ = c.Write([]byte("ok")) })
	ns := startZone(t, origin.Addr.Addr(), silent.Addr())
	r := domainRoute(t, snapshot.ProtoTCP, ns, int(silent.Port()), 2)
	r.ConnectTimeout = 700 * time.Millisecond
	srv, err := ListenTCP(netip.AddrPortFrom(lo.Next(), 0), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Abort(); <-srv.Shutdown(0) })

	slow := 0
	for range 6 {
		start := time.Now()
		c, err := net.DialTimeout("tcp", srv.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 2)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ok" {
			t.Fatalf("connection not served: %v %q", err, buf)
		}
		c.Close()
		if time.Since(start) >= r.ConnectTimeout {
			slow++
		}
	}
	if slow > 1 {
		t.Errorf("%d of 6 connections waited the %v connect timeout of the silent address %v; want at most the first",
			slow, r.ConnectTimeout, silent.Addr())
	}
}
