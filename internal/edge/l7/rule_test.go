package l7

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

var lo = edgetest.NewAlloc(4)

// startZone serves A records of one name (TTL 300) on a fresh loopback
// address, NODATA for its AAAA and NXDOMAIN for any other name, and
// returns the server's address.
func startZone(t *testing.T, name string, addrs ...netip.Addr) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		qn, qt := q.Question[0].Name, q.Question[0].Qtype
		switch {
		case qn != dns.Fqdn(name):
			m.Rcode = dns.RcodeNameError
		case qt == dns.TypeA:
			for _, a := range addrs {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qn, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: a.AsSlice()})
			}
		default:
			m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: qn, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 300},
				Ns: "ns.test.", Mbox: "root.test.", Serial: 1, Refresh: 60, Retry: 60, Expire: 60, Minttl: 300}}
		}
		_ = w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: h}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TestDomainOriginRetriesOtherAddresses: a DOMAIN origin whose name has
// two addresses, one of which refuses connections (one of the name's
// servers is down). A GET whose connect fails is retried, and the name's
// other address is tried before the origin counts as tried, as nginx's
// proxy_next_upstream goes over a name's addresses: every GET is answered,
// although the rule has no other origin. The failed address is then passed
// over for FailTimeout, so requests with a body are answered too (one in
// two failed, for as long as the name held the dead address, before
// retry took a body none of which was read).
func TestDomainOriginRetriesOtherAddresses(t *testing.T) {
	live, dead := lo.Next(), lo.Next()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(live, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		io.WriteString(w, "live")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	ns := startZone(t, "multi.test", live, dead) // dead:port refuses.

	env := &Env{Pool: health.NewPool(health.Options{Nameservers: []string{ns}}), Stats: stats.NewRegistry(), Transports: NewTransports(0)}
	t.Cleanup(env.Pool.Close)
	l := &snapshot.HTTPListener{ID: "l", Protocol: snapshot.ProtoHTTP, Port: 1, Domains: []snapshot.Domain{{
		Host: "a.test", IsDefault: true, Rules: []snapshot.Rule{{ID: "r", Path: "/", Scheduler: snapshot.SchedRR,
			Origins: []snapshot.Origin{{ID: "o", Host: "multi.test", IsDomain: true, Port: port, Weight: 1}}}}}}}
	h, err := Build(env, l, l4.NewProxy("p", nil))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(netip.AddrPortFrom(lo.Next(), 0), h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { <-s.Shutdown(time.Second); h.Release() })
	edgetest.Eventually(t, 3*time.Second, func() bool { return h.Backends()["r/o"].Healthy() }, "domain origin not resolved")

	c := &http.Client{Timeout: 10 * time.Second}
	var fails []string
	// Plain GETs take the direct path, GETs with TE (which the direct path
	// leaves alone) ReverseProxy; each meets the dead address in turn.
	for _, te := range []string{"", "trailers"} {
		for i := range 6 {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/x%d", s.Addr(), i), nil)
			if te != "" {
				req.Header.Set("TE", te)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fails = append(fails, fmt.Sprintf("GET %d (TE %q): %d", i, te, resp.StatusCode))
			}
		}
	}
	for i := range 6 {
		resp, err := c.Post(fmt.Sprintf("http://%s/p%d", s.Addr(), i), "text/plain", strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fails = append(fails, fmt.Sprintf("POST %d: %d", i, resp.StatusCode))
		}
	}
	if len(fails) > 0 {
		t.Errorf("requests to a domain origin with one dead address of two: failed %v; want every one answered by the live address", fails)
	}
}

// TestUpgradeCountedUntilClosed: lc counts an upgraded origin connection
// until the tunnel closes; a 101 that ReverseProxy refuses (an Upgrade
// other than the one asked for: the client gets a 502) is not left
// counted, although ReverseProxy never closes its body.
func TestUpgradeCountedUntilClosed(t *testing.T) {
	for _, up := range []string{"websocket", "foo"} {
		t.Run(up, func(t *testing.T) {
			a := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+up+"\r\n\r\n")
				_, _ = io.Copy(c, br)
			}).Addr
			s := editedServer(t, a, func(l *snapshot.HTTPListener) { l.Domains[0].Rules[0].Scheduler = snapshot.SchedLC })
			b := s.Handler().Backends()["r/o"]
			want := http.StatusSwitchingProtocols
			if up != "websocket" {
				want = http.StatusBadGateway
			}
			var cs []net.Conn
			for range 3 {
				c, err := net.Dial("tcp", s.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				cs = append(cs, c)
				io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
				if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != want {
					t.Fatalf("upgrade: got %v %v; want %d", resp, err, want)
				}
			}
			if up == "websocket" && b.Active() != 3 {
				t.Errorf("%d counted with three WebSockets open; want 3", b.Active())
			}
			for _, c := range cs {
				c.Close()
			}
			edgetest.Eventually(t, 2*time.Second, func() bool { return b.Active() == 0 }, "%d still counted after the upgrades ended", b.Active())
		})
	}
}

// TestRefused101EndsWithRequestOnFastPath: a 101 nobody asked for, which
// ReverseProxy refuses (502) and never closes, stops counting for lc and
// its origin connection closes when its request ends, also on the HTTP/1.1
// fast path, whose requests without body have the client connection's
// context (which ends only with the connection): here keep-alive GETs to
// an HTTPS origin (http.Transport, as the direct h1 client refuses a 101
// itself), on a client connection that stays open.
func TestRefused101EndsWithRequestOnFastPath(t *testing.T) {
	cert := selfSigned(t)
	pair, err := tls.X509KeyPair([]byte(cert.CertPEM), []byte(cert.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	var closed atomic.Int32 // Origin connections the edge closed.
	a := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		defer closed.Add(1)
		tc := tls.Server(c, cfg)
		defer tc.Close()
		br := bufio.NewReader(tc)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(tc, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
		_, _ = io.Copy(io.Discard, br)
	}).Addr
	s := editedServer(t, a, func(l *snapshot.HTTPListener) {
		l.Domains[0].Rules[0].Scheduler, l.Domains[0].Rules[0].ForwardProtocol = snapshot.SchedLC, snapshot.ProtoHTTPS
	})
	b := s.Handler().Backends()["r/o"]
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for range 3 { // Three requests on one keep-alive connection.
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("got %d; want 502 for a 101 nobody asked for", resp.StatusCode)
		}
		if resp.Close {
			t.Skip("the edge closed the connection after the 502: nothing outlives the request")
		}
	}
	// The three requests have ended; the client connection stays open.
	edgetest.Eventually(t, 2*time.Second, func() bool { return b.Active() == 0 },
		"%d requests still counted in flight on the origin after they were answered (502), while the client keeps its connection", b.Active())
	edgetest.Eventually(t, 2*time.Second, func() bool { return closed.Load() == 3 },
		"%d of 3 origin connections closed after their requests ended; want all", closed.Load())
}

// TestSentPath: the path as the client sent it, where Go would re-escape
// it, for every kind of target (an HTTP/2 or HTTP/3 :path is the
// RequestURI too); Go's own escaping where the raw path cannot go on a
// request line, would be read as an authority, or is not this URL's.
func TestSentPath(t *testing.T) {
	for _, tc := range []struct{ uri, path, want string }{
		{"/plain/a%2Fb?q", "", ""},                   // Go sends it unchanged.
		{"/a%2Fb|c?q=|", "", "/a%2Fb|c"},             // '|' would have Go re-escape "%2F" as "/".
		{"/x/{id}/%2e%2e/y", "", "/x/{id}/%2e%2e/y"}, // And "%2e%2e" as "..".
		{"http://a.test/a%2Fb|c?q", "", "/a%2Fb|c"},  // Absolute form.
		{"http://a.test", "", ""},                    // No path.
		{"//a%2Fb|c", "", ""},                        // Opaque "//..." would be an authority.
		{"/a b|%2F", "", ""},                         // A space (HTTP/2 :path): not on a request line.
		{"/a%2Fb|c", "/other|c", ""},                 // Not the URL's path.
	} {
		u, err := url.ParseRequestURI(tc.uri)
		if err != nil {
			t.Fatalf("%s: %v", tc.uri, err)
		}
		if tc.path != "" {
			u.Path, u.RawPath = tc.path, ""
		}
		if got := sentPath(&http.Request{URL: u, RequestURI: tc.uri}); got != tc.want {
			t.Errorf("sentPath(%q) = %q; want %q", tc.uri, got, tc.want)
		}
	}
}

// TestDomainOriginAddressFailingChecksTakenOut: a DOMAIN origin whose name
// has two addresses, the server at one of them up but its application
// broken (500 on every path, the check's included). Each address is
// checked: the broken one is taken out and listed down while the origin
// reads normal (it passed the checks as soon as one address answered,
// and every other request was a 500, which no retry covers).
func TestDomainOriginAddressFailingChecksTakenOut(t *testing.T) {
	live, broken := lo.Next(), lo.Next()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(live, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln2, err := net.Listen("tcp", netip.AddrPortFrom(broken, uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	serve := func(ln net.Listener, code int, name string) {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(code)
			io.WriteString(w, name)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	serve(ln, 200, "live")
	serve(ln2, 500, "broken")
	ns := startZone(t, "pair.test", live, broken)

	env := &Env{Pool: health.NewPool(health.Options{Nameservers: []string{ns}}), Stats: stats.NewRegistry(), Transports: NewTransports(0)}
	t.Cleanup(env.Pool.Close)
	l := &snapshot.HTTPListener{ID: "l", Protocol: snapshot.ProtoHTTP, Port: 1, Domains: []snapshot.Domain{{
		Host: "a.test", IsDefault: true, Rules: []snapshot.Rule{{ID: "r", Path: "/", Scheduler: snapshot.SchedRR,
			Origins: []snapshot.Origin{{ID: "o", Host: "pair.test", IsDomain: true, Port: port, Weight: 1}},
			Health: snapshot.HTTPCheck{Enabled: true, Interval: 200 * time.Millisecond, Timeout: 150 * time.Millisecond,
				Healthy: 1, Unhealthy: 1, Path: "/hc", Method: http.MethodGet, StatusClasses: []int{200}}}}}}}
	h, err := Build(env, l, l4.NewProxy("p", nil))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(netip.AddrPortFrom(lo.Next(), 0), h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { <-s.Shutdown(time.Second); h.Release() })
	edgetest.Eventually(t, 3*time.Second, func() bool {
		a, err := h.Backends()["r/o"].Addr()
		return err == nil && a.IsValid()
	}, "domain origin not resolved")
	edgetest.Eventually(t, 3*time.Second, func() bool { return len(h.Backends()["r/o"].Status().Down) > 0 },
		"the failing address never taken out")

	c := &http.Client{Timeout: 5 * time.Second}
	got := map[string]int{}
	for i := range 10 {
		resp, err := c.Get(fmt.Sprintf("http://%s/x%d", s.Addr(), i))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[fmt.Sprintf("%d %s", resp.StatusCode, b)]++
	}
	st := h.Backends()["r/o"].Status()
	if got["200 live"] != 10 || !st.Healthy || len(st.Down) != 1 || st.Down[0] != broken {
		t.Errorf("10 GETs to a DOMAIN origin one of whose two addresses fails every check (500): %v; status %+v; "+
			"want every request on the address that passes its checks, healthy with %v down", got, st, broken)
	}
}
