package edge_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

func rule(id, path string, os []snapshot.Origin) snapshot.Rule {
	return snapshot.Rule{ID: id, Path: path, Scheduler: snapshot.SchedRR, Origins: os}
}

func TestHTTPRouting(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	a, b := httpOrigin(t, "a", nil), httpOrigin(t, "b", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	api := rule("r-api", "/api", l7Origins(b))
	api.ForwardHost = "internal.b"
	api.Headers = []snapshot.Header{{Name: "X-Client", Value: "ip=$remote_addr"}}
	l := snapshot.HTTPListener{ID: "lsr-h", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "a.test", Rules: []snapshot.Rule{rule("r-root", "/", l7Origins(a)), api}},
		{Host: "*.wild.test", Rules: []snapshot.Rule{rule("r-wild", "/", l7Origins(b))}},
		{Host: "def.test", IsDefault: true, Rules: []snapshot.Rule{rule("r-def", "/", l7Origins(a))}},
	}}
	mustApply(t, rt, httpProxy(1, ip, l))
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String()
	c := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct{ host, path, want string }{
		{"a.test", "/x", "a"}, {"A.TEST:80", "/api/v1", "b"}, {"a.test", "/ap", "a"},
		{"x.y.wild.test", "/", "b"}, {"unknown.test", "/", "a"},
	} {
		_, s, body := get(t, c, url+tc.path, tc.host)
		if s.Name != tc.want {
			t.Errorf("%s%s: got origin %q (%s); want %q", tc.host, tc.path, s.Name, body, tc.want)
		}
	}
	// GET takes the direct path, a POST with a body http.Transport. Names
	// with underscores that CGI would read as the proxy's own are dropped,
	// the rule's custom headers' as the forwarded ones.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("body")
		}
		req, _ := http.NewRequest(method, url+"/api", body)
		req.Host = "a.test"
		req.Header.Set("X-Forwarded-For", "1.2.3.4")
		req.Header["X_Real_IP"] = []string{"6.6.6.6"}
		req.Header["X_forwarded_for"] = []string{"6.6.6.6"}
		req.Header["X_CLIENT"] = []string{"6.6.6.6"}
		req.Header["X_Other"] = []string{"kept"}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var s seen
		decode(t, resp, &s)
		h := s.Header
		if got, want := h.Get("X-Forwarded-For"), "1.2.3.4, 127.0.0.1"; got != want {
			t.Errorf("%s: X-Forwarded-For: got %q; want %q", method, got, want)
		}
		if h.Get("X-Real-Ip") != "127.0.0.1" || h.Get("X-Forwarded-Proto") != "http" || h.Get("X-Client") != "ip=127.0.0.1" || s.Host != "internal.b" {
			t.Errorf("%s: origin saw host %q headers %v", method, s.Host, h)
		}
		if strings.Contains(fmt.Sprint(h), "6.6.6.6") || !strings.Contains(fmt.Sprint(h), "kept") {
			t.Errorf("%s: origin saw headers %v; want X_Real_IP, X_forwarded_for and X_CLIENT dropped, X_Other kept", method, h)
		}
	}

	// Without a default domain an unknown host is a 404; the socket stays.
	l.Domains = l.Domains[:2]
	rep := mustApply(t, rt, httpProxy(2, ip, l))
	if st, _ := rep.Listener("lsr-h"); st.Change != edge.ChangeUpdated {
		t.Errorf("change: got %q; want updated", st.Change)
	}
	if resp, _, body := get(t, c, url+"/", "unknown.test"); resp.StatusCode != http.StatusNotFound ||
		!strings.Contains(body, "matches host unknown.test") {
		t.Errorf("unknown host: got %d %q; want 404 naming the host", resp.StatusCode, body)
	}
	sample := rt.Stats()
	if v := sample.Values[stats.Key{Kind: stats.KindRule, ID: "r-api"}]; v.Requests != 3 || v.Status[2] != 3 {
		t.Errorf("rule counters: got %d requests %v; want 3 2xx", v.Requests, v.Status)
	}
	if v := sample.Values[stats.Key{Kind: stats.KindListener, ID: "lsr-h"}]; v.Requests != 8 || v.Status[4] != 1 || v.BytesIn == 0 {
		t.Errorf("listener counters: got %+v; want 8 requests, one 4xx", v)
	}
	// The proxy's own: requests, status classes and answer times too.
	if v := sample.Values[stats.Key{Kind: stats.KindProxy, ID: "link-1"}]; v.Requests != 8 || v.Status[4] != 1 || v.AnswerCount == 0 {
		t.Errorf("proxy counters: got %+v; want 8 requests, one 4xx, answers timed", v)
	}
}

func TestHTTPErrorPagesRetryAuthRedirect(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
	dead := netip.AddrPortFrom(lo.Next(), 9) // Nothing listens: connection refused.
	dead2 := netip.AddrPortFrom(lo.Next(), 9)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	page := snapshot.ErrorPage{ErrorNos: []int{502, 503}, NewErrorNo: 500, Body: "custom page",
		ClearHeaders: []string{"X-Origin"}, SetHeaders: []snapshot.Header{{Name: "X-Page", Value: "1"}}}
	redir := rule("r-redir", "/secure", l7Origins(a))
	redir.ForcedRedirect = "https:8443"
	l := snapshot.HTTPListener{ID: "lsr-e", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "e.test", ErrorPages: []snapshot.ErrorPage{page}, Rules: []snapshot.Rule{
			rule("r-retry", "/", l7Origins(dead, a)), rule("r-dead", "/dead", l7Origins(dead)), redir,
			rule("r-nobody", "/nobody", l7Origins(dead2, a))}},
		{Host: "auth.test", BasicAuth: []string{"plain:secret", "sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="},
			Rules: []snapshot.Rule{rule("r-auth", "/", l7Origins(a))}},
	}}
	mustApply(t, rt, httpProxy(1, ip, l))
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String()
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for range 4 { // GET is retried on the live origin after a refused connect.
		if resp, s, body := get(t, c, url+"/x", "e.test"); resp.StatusCode != 200 || s.Name != "a" {
			t.Fatalf("GET with a dead origin: got %d %q", resp.StatusCode, body)
		}
	}
	send := func(method, path string, body io.Reader) int {
		req, _ := http.NewRequest(method, url+path, body)
		req.Host = "e.test"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 4 { // A POST with a body is never retried, but the origin that refused is passed over for FailTimeout.
		if code := send(http.MethodPost, "/x", strings.NewReader("body")); code != 200 {
			t.Fatalf("POST after a refused connect: got %d; want the live origin's 200", code)
		}
	}
	// A request without a body, whatever its method, is retried after a
	// refused connect: nothing of it was sent (nginx's proxy_next_upstream
	// error). It went to the refusing origin once in two before that
	// turned suspect.
	for _, method := range []string{http.MethodPost, http.MethodPatch, http.MethodPost, http.MethodPatch} {
		if code := send(method, "/nobody", nil); code != 200 {
			t.Fatalf("%s without a body beside a refusing origin: got %d; want the live origin's 200", method, code)
		}
	}
	for _, path := range []string{"/status/503", "/dead"} { // Origin's answer, then the edge's own 502.
		resp, _, body := get(t, c, url+path, "e.test")
		if resp.StatusCode != 500 || body != "custom page" || resp.Header.Get("X-Page") != "1" || resp.Header.Get("X-Origin") != "" ||
			resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: got %d %q %v; want the error page", path, resp.StatusCode, body, resp.Header)
		}
	}
	if resp, _, _ := get(t, c, url+"/status/404", "e.test"); resp.StatusCode != 404 {
		t.Errorf("status without page: got %d; want 404", resp.StatusCode)
	}
	resp, _, _ := get(t, c, url+"/secure/p?q=1", "e.test")
	if loc := resp.Header.Get("Location"); resp.StatusCode != 301 || loc != "https://e.test:8443/secure/p?q=1" {
		t.Errorf("forced redirect: got %d %q", resp.StatusCode, loc)
	}
	for _, tc := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"plain", "bad", 401}, {"plain", "secret", 200}, {"sha", "password", 200}} {
		req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
		req.Host = "auth.test"
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("basic auth %s:%s: got %d; want %d", tc.user, tc.pass, resp.StatusCode, tc.want)
		}
		if challenged := resp.Header.Get("WWW-Authenticate") != ""; challenged != (tc.want == 401) {
			t.Errorf("basic auth %s:%s: WWW-Authenticate %q on a %d", tc.user, tc.pass, resp.Header.Get("WWW-Authenticate"), resp.StatusCode)
		}
	}
}

func TestHTTPWebSocketAndHealth(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ws := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), upgradeEcho)
	sick := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_, _ = http.ReadRequest(bufio.NewReader(c))
		io.WriteString(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\nsick")
	}).Addr
	good := httpOrigin(t, "good", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	hc := rule("r-hc", "/", l7Origins(sick, good))
	// "sick" fails its check: it answers 500, and only 2xx is accepted.
	hc.Health = snapshot.HTTPCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond,
		Unhealthy: 1, Healthy: 1, Path: "/health", Method: http.MethodGet, StatusClasses: []int{200}}
	l := snapshot.HTTPListener{ID: "lsr-w", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "w.test", Rules: []snapshot.Rule{rule("r-ws", "/ws", l7Origins(ws.Addr)), hc}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	addr := netip.AddrPortFrom(ip, uint16(port))

	c, br := upgradeWS(t, ip, addr)
	if err := connEcho(c, br)("ping"); err != nil {
		t.Fatalf("echo over upgraded connection: %v", err)
	}

	hcl := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + addr.String() + "/"
	edgetest.Eventually(t, 3*time.Second, func() bool { h, ok := rt.Health()["r-hc/o0"]; return ok && !h.Healthy }, "sick origin still healthy: %v", rt.Health())
	for range 4 {
		if _, s, body := get(t, hcl, url, "w.test"); s.Name != "good" {
			t.Fatalf("with one origin failing its HTTP check: got %q; want good (health %v)", body, rt.Health())
		}
	}
}

// TestHTTPWebSocketUpgradeCountsAs1xx: a WebSocket upgrade's answer to the
// client is 101 Switching Protocols, which httputil writes on the hijacked
// connection: it counts as a 1xx answer (Status[1],
// opengaap_http_responses_1xx_total), timed to its head like any answer.
func TestHTTPWebSocketUpgradeCountsAs1xx(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ws := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), upgradeEcho)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-ws1", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "w.test", Rules: []snapshot.Rule{rule("r-ws1", "/ws", l7Origins(ws.Addr))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	addr := netip.AddrPortFrom(ip, uint16(port))

	c, br := upgradeWS(t, ip, addr)
	if err := connEcho(c, br)("ping"); err != nil {
		t.Fatalf("echo: %v", err)
	}
	c.Close()
	for _, k := range []stats.Key{{Kind: stats.KindListener, ID: "lsr-ws1"}, {Kind: stats.KindRule, ID: "r-ws1"}} {
		var v stats.Values
		edgetest.Eventually(t, 5*time.Second, func() bool { v = rt.Stats().Values[k]; return v.Requests == 1 },
			"%v: the upgraded request was never counted", k)
		if v.Status[1] != 1 || v.Status[2] != 0 || v.AnswerCount != 1 {
			t.Errorf("%v: a 101 answer: got status classes %v, %d answers timed; want it counted as 1xx, timed",
				k, v.Status, v.AnswerCount)
		}
	}
}

// TestHTTPClientAbortCountedAsAborted: an HTTP/1.1 client that goes away
// before its answer is counted under Status[0] (opengaap_http_aborted_total),
// not under the status the edge would have answered (here a 502: the origin
// hangs up without answering). A request followed by more bytes (a
// pipelined one, here cut short) is not cut by the sweep
// (TestHTTPClientGoneCutsOriginExchange), so the fast path notices when it
// answers: the request is timed up to then.
func TestHTTPClientAbortCountedAsAborted(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	slow := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_, _ = http.ReadRequest(bufio.NewReader(c))
		time.Sleep(time.Second)
	}).Addr
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-ab", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "a.test", Rules: []snapshot.Rule{rule("r-ab", "/", l7Origins(slow))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	c, err := net.Dial("tcp", netip.AddrPortFrom(ip, uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET /next HTTP/1.1\r\n")
	time.Sleep(300 * time.Millisecond)
	c.Close()
	for _, k := range []stats.Key{{Kind: stats.KindListener, ID: "lsr-ab"}, {Kind: stats.KindRule, ID: "r-ab"}} {
		var v stats.Values
		edgetest.Eventually(t, 5*time.Second, func() bool { v = rt.Stats().Values[k]; return v.Requests == 1 },
			"%v: the request was never counted", k)
		if v.Status[0] != 1 || v.Status[5] != 0 || v.AnswerCount != 1 || v.Latency() < 900*time.Millisecond {
			t.Errorf("%v: client gone after 300 ms: got status classes %v, %d timed (mean %v); want it aborted, timed until the answer",
				k, v.Status, v.AnswerCount, v.Latency())
		}
	}
}

// TestHTTPClientGoneCutsOriginExchange: a client that closes (or
// half-closes, as under net/http and nginx) its connection while the
// origin has not answered ends the origin exchange within about a second
// (the server's sweep), rather than holding the origin connection until
// the origin answers or ResponseHeaderTimeout (60 s); the request counts
// as aborted. So does one that sent a body whole, and an HTTPS client,
// whose close_notify waits unread before its FIN. A request with another
// pipelined after it before the FIN is answered; the last one is then the
// one the client left, as nginx and net/http have it.
func TestHTTPClientGoneCutsOriginExchange(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	got := make(chan string, 8)
	hung := make(chan time.Duration, 8)
	// A request for /hang is never answered: the origin reads until the
	// edge closes the connection; others are answered after 1.5 s.
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			got <- req.URL.Path
			if req.URL.Path == "/hang" {
				start := time.Now()
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, _ = io.Copy(io.Discard, br)
				hung <- time.Since(start)
				return
			}
			time.Sleep(1500 * time.Millisecond)
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	}).Addr
	ca := newTestPKI(t, "ca")
	cert, key := ca.leaf(t, "www", "a.test")
	ip := lo.Next()
	port, tlsPort := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	domains := []snapshot.Domain{{Host: "a.test", Rules: []snapshot.Rule{rule("r-gone", "/", l7Origins(origin))}}}
	mustApply(t, rt, httpProxy(1, ip,
		snapshot.HTTPListener{ID: "lsr-gone", Protocol: snapshot.ProtoHTTP, Port: port, Domains: domains},
		snapshot.HTTPListener{ID: "lsr-gone-tls", Protocol: snapshot.ProtoHTTPS, Port: tlsPort, Domains: domains,
			TLS: &snapshot.TLS{CertPEM: cert, KeyPEM: key}}))
	addr := netip.AddrPortFrom(ip, uint16(port)).String()
	plain := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// tlsDial connects over TLS through a held connection (holdConn).
	tlsDial := func(edit func(*tls.Config)) *tls.Conn {
		raw, err := net.Dial("tcp", netip.AddrPortFrom(ip, uint16(tlsPort)).String())
		if err != nil {
			t.Fatal(err)
		}
		cfg := &tls.Config{RootCAs: ca.pool, ServerName: "a.test", NextProtos: []string{"http/1.1"}}
		if edit != nil {
			edit(cfg)
		}
		c := tls.Client(&holdConn{Conn: raw}, cfg)
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		return c
	}

	aborted := 0
	for _, tc := range []struct {
		name    string
		request string
		dial    func() net.Conn
		leave   func(net.Conn)
	}{
		{"close", "GET", plain, func(c net.Conn) { _ = c.Close() }},
		{"half-close", "GET", plain, func(c net.Conn) { _ = c.(*net.TCPConn).CloseWrite() }},
		{"close after a body", "POST", plain, func(c net.Conn) { _ = c.Close() }},
		{"TLS close_notify and close", "GET", func() net.Conn { return tlsDial(nil) }, func(c net.Conn) { _ = c.Close() }},
		// A CBC suite's close_notify is 53 bytes: no size tells it from a
		// request, its record type does.
		{"TLS 1.2 CBC close_notify and close", "GET", func() net.Conn {
			return tlsDial(func(c *tls.Config) {
				c.MaxVersion, c.CipherSuites = tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
			})
		}, func(c net.Conn) { _ = c.Close() }},
	} {
		c := tc.dial()
		defer c.Close()
		req := "GET /hang HTTP/1.1\r\nHost: a.test\r\n\r\n"
		if tc.request == "POST" {
			req = "POST /hang HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello"
		}
		_, _ = io.WriteString(c, req)
		if p := <-got; p != "/hang" {
			t.Fatalf("origin got %q", p)
		}
		tc.leave(c)
		select {
		case d := <-hung:
			if d > 3*time.Second {
				t.Errorf("%s: the origin connection closed %v after the request; want within ~1 s of the client leaving", tc.name, d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the origin connection of a request whose client left is still open after 5 s", tc.name)
		}
		aborted++
		var v stats.Values
		edgetest.Eventually(t, 5*time.Second, func() bool {
			v = rt.Stats().Values[stats.Key{Kind: stats.KindProxy, ID: "link-1"}]
			return v.Requests == int64(aborted) && v.Active == 0
		}, "%s: the request was never counted, or its connection never closed", tc.name)
		if v.Status[0] != int64(aborted) || v.Status[5] != 0 || v.Active != 0 {
			t.Errorf("%s: status classes %v, %d active; want the requests counted as aborted, none active", tc.name, v.Status, v.Active)
		}
	}

	// Over TLS the second request's record comes with the first, and
	// crypto/tls reads it off the socket with it: neither the fast path's
	// buffer nor the socket shows it.
	for _, c := range []net.Conn{plain(), tlsDial(nil)} {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		raw := c
		if tc, ok := c.(*tls.Conn); ok {
			raw = tc.NetConn()
			raw.(*holdConn).hold(true)
		}
		_, _ = io.WriteString(c, "GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\n")
		_, _ = io.WriteString(c, "GET /2 HTTP/1.1\r\nHost: a.test\r\n\r\n")
		if h, ok := raw.(*holdConn); ok {
			h.hold(false)
			raw = h.Conn
		}
		_ = raw.(*net.TCPConn).CloseWrite()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%T: request with another pipelined after it, then a FIN: %v; want its answer", c, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "ok" {
			t.Errorf("%T: request with another pipelined after it, then a FIN: %d %q; want 200 ok", c, resp.StatusCode, body)
		}
	}
}

// holdConn holds what is written while held, and sends it in one write
// when let go: records written meanwhile arrive together.
type holdConn struct {
	net.Conn
	mu   sync.Mutex
	held bool
	buf  []byte
}

func (h *holdConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

func (h *holdConn) hold(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held = on; !on && len(h.buf) > 0 {
		_, _ = h.Conn.Write(h.buf)
		h.buf = nil
	}
}

// upgradeEcho accepts an HTTP upgrade and echoes what follows.
func upgradeEcho(c net.Conn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		return
	}
	io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	_, _ = io.Copy(c, br)
}

// wsNamed accepts a WebSocket upgrade, names itself in X-Origin and
// echoes what follows.
func wsNamed(name string) func(net.Conn) {
	return func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Origin: "+name+"\r\n\r\n")
		_, _ = io.Copy(c, br)
	}
}

// TestLCCountsOpenWebSockets: lc counts an open WebSocket on its origin
// until it closes, as a long request whose (upgraded) body is still open
// (nginx's least_conn counts it too). With three open on a and none on b
// (added by a reapply, which keeps a's count), the next three go to b;
// once a's close, a is the least loaded again.
func TestLCCountsOpenWebSockets(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, edge.Options{})
	a := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), wsNamed("a")).Addr
	b := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), wsNamed("b")).Addr
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	mk := func(v int64, os ...netip.AddrPort) *snapshot.Snapshot {
		r := rule("r-lc", "/", l7Origins(os...))
		r.Scheduler = snapshot.SchedLC
		return httpProxy(v, ip, snapshot.HTTPListener{ID: "lsr-lc", Protocol: snapshot.ProtoHTTP, Port: port,
			Domains: []snapshot.Domain{{Host: "lc.test", Rules: []snapshot.Rule{r}}}})
	}
	addr := netip.AddrPortFrom(ip, uint16(port))
	open := func() (string, net.Conn) {
		t.Helper()
		c := dial(t, ip, addr)
		io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: lc.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		return resp.Header.Get("X-Origin"), c
	}
	mustApply(t, rt, mk(1, a))
	var onA []net.Conn
	for range 3 {
		got, c := open()
		if got != "a" {
			t.Fatalf("with a alone: got %q", got)
		}
		onA = append(onA, c)
	}
	mustApply(t, rt, mk(2, a, b)) // b added; a keeps its three WebSockets.
	var got []string
	for range 3 {
		name, _ := open()
		got = append(got, name)
	}
	if strings.Join(got, ",") != "b,b,b" {
		t.Fatalf("lc with three WebSockets open on a and none on b: new ones went to %v; want b,b,b", got)
	}
	for _, c := range onA {
		c.Close()
	}
	edgetest.Eventually(t, 3*time.Second, func() bool { name, _ := open(); return name == "a" },
		"a's WebSockets closed, yet new ones still go to b")
}

// TestHTTPLeastRTT: a rule with Scheduler lrtt ("最小时延", least latency)
// ranks its origins by how long they take to answer, measured on every
// forwarded request from the request sent to the answer's first byte: the
// direct exchange (a plain GET), h1Client under ReverseProxy (a GET that
// the direct path leaves, here for its TE header) and http.Transport (a
// request with a body). Checks are off, so requests alone measure. After
// one request to each origin (unmeasured ones are tried first), the rest
// go to the origin that answers 150 ms sooner; a clear majority is asked
// for rather than all, so that a stall of a loaded machine cannot fail it.
func TestHTTPLeastRTT(t *testing.T) {
	t.Parallel()
	const slowBy = 300 * time.Millisecond // Well above a loaded box's stalls.
	for _, tc := range []struct {
		path string
		req  func(url string) *http.Request
		// early: the fast origin answers before it reads the body, so
		// its answer comes before the Transport reports the request
		// written (AnswerTimer times it from the head).
		early bool
	}{
		{"direct", func(url string) *http.Request { r, _ := http.NewRequest(http.MethodGet, url, nil); return r }, false},
		{"h1Client", func(url string) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, url, nil)
			r.Header.Set("TE", "trailers")
			return r
		}, false},
		{"transport", func(url string) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("body"))
			return r
		}, false},
		{"transport-early", func(url string) *http.Request {
			// The fast origin's answer comes in the pause, before the
			// body's last byte is written: never by luck after it.
			const half = 64 << 10
			body := io.MultiReader(bytes.NewReader(make([]byte, half)), pause(100*time.Millisecond), bytes.NewReader(make([]byte, half)))
			r, _ := http.NewRequest(http.MethodPost, url, body)
			r.ContentLength = 2 * half
			return r
		}, true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			var addrs []netip.AddrPort
			for _, o := range []struct {
				name  string
				delay time.Duration
			}{{"slow", slowBy}, {"fast", 0}} {
				ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
				if err != nil {
					t.Fatal(err)
				}
				early := tc.early && o.delay == 0
				srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if early {
						_ = http.NewResponseController(w).EnableFullDuplex()
						io.WriteString(w, o.name)
						w.(http.Flusher).Flush()
					}
					io.Copy(io.Discard, r.Body)
					if !early {
						time.Sleep(o.delay)
						io.WriteString(w, o.name)
					}
				})}
				go srv.Serve(ln)
				t.Cleanup(func() { srv.Close() })
				addrs = append(addrs, netip.MustParseAddrPort(ln.Addr().String()))
			}
			rt := newRuntime(t, edge.Options{})
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			r := rule("r-lrtt", "/", l7Origins(addrs...))
			r.Scheduler = snapshot.SchedLRTT
			mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-lrtt", Protocol: snapshot.ProtoHTTP, Port: port,
				Domains: []snapshot.Domain{{Host: "l.test", Rules: []snapshot.Rule{r}}}}))
			url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
			c := &http.Client{Timeout: 5 * time.Second}
			got := map[string]int{}
			for range 10 {
				req := tc.req(url)
				req.Host = "l.test"
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				got[string(body)]++
			}
			if got["fast"] < 8 {
				t.Errorf("lrtt rule: requests went %v; want at least 8 of 10 to the origin %v faster", got, slowBy)
			}
		})
	}
}

// pause is a reader that waits its duration once and ends: in an
// io.MultiReader, a pause in a request body.
type pause time.Duration

func (p pause) Read([]byte) (int, error) {
	time.Sleep(time.Duration(p))
	return 0, io.EOF
}

// TestHTTPPackets: an HTTP listener counts its client connections' packets
// (data segments, from TCP_INFO) on the listener and the proxy, while a
// connection is open and at its close.
func TestHTTPPackets(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, edge.Options{})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-pk", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "a.test", Rules: []snapshot.Rule{rule("r-pk", "/", l7Origins(httpOrigin(t, "a", nil)))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	for range 5 {
		get(t, c, "http://"+netip.AddrPortFrom(ip, uint16(port)).String()+"/", "a.test")
	}
	key := stats.Key{Kind: stats.KindListener, ID: "lsr-pk"}
	var live stats.Values
	edgetest.Eventually(t, 3*time.Second, func() bool {
		live = rt.Stats().Values[key]
		return live.PacketsIn > 0 && live.PacketsOut > 0
	}, "open connection: no packets counted")
	if live.Active != 1 {
		t.Fatalf("packets counted with %d connections open; want the keep-alive one", live.Active)
	}
	c.CloseIdleConnections()
	var final stats.Values
	edgetest.Eventually(t, 3*time.Second, func() bool {
		final = rt.Stats().Values[key]
		return final.Active == 0
	}, "connection not closed")
	if final.PacketsIn < live.PacketsIn || final.PacketsOut < live.PacketsOut {
		t.Errorf("closed: packets %d/%d; want ≥ live %d/%d", final.PacketsIn, final.PacketsOut, live.PacketsIn, live.PacketsOut)
	}
	proxy := rt.Stats().Values[stats.Key{Kind: stats.KindProxy, ID: "link-1"}]
	if proxy.PacketsIn != final.PacketsIn || proxy.PacketsOut != final.PacketsOut {
		t.Errorf("proxy packets %d/%d; want the listener's %d/%d", proxy.PacketsIn, proxy.PacketsOut, final.PacketsIn, final.PacketsOut)
	}
}

// TestHTTPAnswerLatency: the time to each answer's head is counted on the
// listener and the rule (the Latency statistic of HTTP objects), and it
// includes the origin's own time.
func TestHTTPAnswerLatency(t *testing.T) {
	t.Parallel()
	const delay = 80 * time.Millisecond
	slow := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		io.WriteString(w, "slow")
	}))
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	slow.Listener.Close()
	slow.Listener = ln
	slow.Start()
	t.Cleanup(slow.Close)
	rt := newRuntime(t, edge.Options{})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-lat", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "a.test", Rules: []snapshot.Rule{rule("r-lat", "/", l7Origins(netip.MustParseAddrPort(ln.Addr().String())))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	c := &http.Client{Timeout: 5 * time.Second}
	for range 3 {
		if _, _, body := get(t, c, "http://"+netip.AddrPortFrom(ip, uint16(port)).String()+"/", "a.test"); body != "slow" {
			t.Fatalf("body %q", body)
		}
	}
	for _, k := range []stats.Key{{Kind: stats.KindListener, ID: "lsr-lat"}, {Kind: stats.KindRule, ID: "r-lat"}} {
		v := rt.Stats().Values[k]
		if v.AnswerCount != 3 || v.Latency() < delay || v.Latency() > 2*time.Second {
			t.Errorf("%v: %d answers timed, mean %v; want 3, at least %v", k, v.AnswerCount, v.Latency(), delay)
		}
	}
}

// TestUpgradeH2CNotTunnelled: an origin that would switch to any protocol
// asked for (h2c without insisting on HTTP2-Settings) gets no Upgrade but
// WebSocket's: an h2c upgrade is proxied as an ordinary request, on the
// direct path (no body) and through ReverseProxy (a body) alike, so no
// tunnel carries requests the edge never routes or stamps.
func TestUpgradeH2CNotTunnelled(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	lenient := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		if up := req.Header.Get("Upgrade"); up != "" {
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+up+"\r\n\r\n")
			_, _ = io.Copy(c, br)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nordinary")
	}).Addr
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-up", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "w.test", Rules: []snapshot.Rule{rule("r-up", "/", l7Origins(lenient))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	addr := netip.AddrPortFrom(ip, uint16(port))
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nHost: w.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: w.test\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nhi",
	} {
		c := dial(t, ip, addr)
		io.WriteString(c, raw)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "ordinary" {
			t.Errorf("h2c upgrade %q: got %d %q; want the ordinary answer", raw[:4], resp.StatusCode, body)
		}
	}
	// WebSocket, whatever its case, still is.
	c := dial(t, ip, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: w.test\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("WebSocket upgrade: got %v, %v", resp, err)
	}
	io.WriteString(c, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo over the WebSocket: got %q %v", buf, err)
	}
}

// TestUpgradeIgnoredInHTTP10: RFC 9110 7.8, "A server MUST ignore an
// Upgrade header field that is received in an HTTP/1.0 request": such a
// request is proxied as an ordinary one (upgradeEcho then refuses it), not
// tunnelled behind a 101 that also says "Connection: close".
func TestUpgradeIgnoredInHTTP10(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ws := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), upgradeEcho)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-up10", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "w.test", Rules: []snapshot.Rule{rule("r-up10", "/", l7Origins(ws.Addr))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	addr := netip.AddrPortFrom(ip, uint16(port))
	for _, body := range []string{"", "Content-Length: 2\r\n"} { // The direct path and ReverseProxy.
		c := dial(t, ip, addr)
		io.WriteString(c, "POST /ws HTTP/1.0\r\nHost: w.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+body+"\r\nhi")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("HTTP/1.0 request with Upgrade (%q): got %d; want the Upgrade ignored (origin's 400, no tunnel)", body, resp.StatusCode)
		}
	}
}

// TestUpgradeRelaysBytesSentWithHandshake: bytes a client sends right
// after its upgrade request (in the same packet, before the 101) reach the
// origin, over HTTP and HTTPS. net/http has read them into its buffer when
// the handler hijacks the connection, and httputil's relay copies from the
// bare connection: the edge's Hijack hands over one that yields them first.
func TestUpgradeRelaysBytesSentWithHandshake(t *testing.T) {
	ws := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), upgradeEcho)
	pki := newTestPKI(t, "ca")
	cert, key := pki.leaf(t, "w.test", "w.test")
	rt := newRuntime(t, edge.Options{})
	ip := lo.Next()
	hp, sp := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	doms := []snapshot.Domain{{Host: "w.test", Rules: []snapshot.Rule{rule("r-early", "/", l7Origins(ws.Addr))}}}
	mustApply(t, rt, httpProxy(1, ip,
		snapshot.HTTPListener{ID: "lsr-early", Protocol: snapshot.ProtoHTTP, Port: hp, Domains: doms},
		snapshot.HTTPListener{ID: "lsr-earlys", Protocol: snapshot.ProtoHTTPS, Port: sp, TLS: &snapshot.TLS{CertPEM: cert, KeyPEM: key}, Domains: doms}))
	for _, tc := range []struct {
		name string
		port int
		tls  bool
	}{{"HTTP", hp, false}, {"HTTPS", sp, true}} {
		t.Run(tc.name, func(t *testing.T) {
			var c net.Conn = dial(t, ip, netip.AddrPortFrom(ip, uint16(tc.port)))
			if tc.tls {
				tc := tls.Client(c, &tls.Config{ServerName: "w.test", RootCAs: pki.pool, NextProtos: []string{"http/1.1"}})
				if err := tc.Handshake(); err != nil {
					t.Fatal(err)
				}
				c = tc
			}
			// One write: the head and the first "frame" together.
			io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: w.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nearly-bytes")
			br := bufio.NewReader(c)
			if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade: %v %v", resp, err)
			}
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, len("early-bytes"))
			if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "early-bytes" {
				t.Fatalf("bytes sent with the handshake: echo got %q, %v; want them relayed to the origin and echoed", buf, err)
			}
			if err := connEcho(c, br)("later"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestUpgradeHalfClose: a half-close passes through a WebSocket tunnel
// (RFC 9110 7.8: the connection then carries the new protocol, and TCP's
// half-close with it) and the other direction goes on. The client sends
// its last bytes and half-closes: the origin's answer, written after it saw
// the FIN, still reaches the client. The origin sends its last bytes and
// half-closes: the client's answer, written after it saw the FIN, still
// reaches the origin.
func TestUpgradeHalfClose(t *testing.T) {
	got := make(chan string, 1)
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		if req.URL.Path == "/ws" { // The client half-closes first.
			_, _ = io.Copy(c, br)
			io.WriteString(c, "after-eof")
			_ = c.(*net.TCPConn).CloseWrite()
			return
		}
		io.WriteString(c, "bye")
		_ = c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(br)
		got <- string(b)
	}).Addr
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-half", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "w.test", Rules: []snapshot.Rule{rule("r-half", "/", l7Origins(o))}}}}))
	addr := netip.AddrPortFrom(ip, uint16(port))

	c, br := upgradeWS(t, ip, addr)
	io.WriteString(c, "last")
	_ = c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, err := io.ReadAll(br); string(b) != "lastafter-eof" {
		t.Errorf("after the client's half-close: got %q, %v; want %q", b, err, "lastafter-eof")
	}

	c = dial(t, ip, addr)
	io.WriteString(c, "GET /origin-first HTTP/1.1\r\nHost: w.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br = bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	if b, err := io.ReadAll(br); string(b) != "bye" { // Until the origin's FIN comes through.
		t.Fatalf("got %q, %v; want bye then EOF", b, err)
	}
	io.WriteString(c, "ack")
	_ = c.(*net.TCPConn).CloseWrite()
	select {
	case s := <-got:
		if s != "ack" {
			t.Errorf("after the origin's half-close the client wrote %q; origin read %q", "ack", s)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("origin never finished reading")
	}
}

// TestUpgradeOriginResetResetsClient guards the end of a WebSocket whose
// origin resets its connection: the client's is reset too, as a layer-4
// abort and the edge's own cuts reset it. The tunnel passes half-closes on
// (TestUpgradeHalfClose), so a FIN would tell the client that the origin
// ended its side in order. The listener's Active count goes back to 0.
func TestUpgradeOriginResetResetsClient(t *testing.T) {
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello")
		time.Sleep(200 * time.Millisecond)
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	}).Addr
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-wsrst", Protocol: snapshot.ProtoHTTP, Port: port,
		Domains: []snapshot.Domain{{Host: "w.test", Rules: []snapshot.Rule{rule("r-wsrst", "/", l7Origins(o))}}}}))
	c, br := upgradeWS(t, ip, netip.AddrPortFrom(ip, uint16(port)))
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, err := io.ReadAll(br); string(b) != "hello" || !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the origin reset the tunnel: the client read %q, then %v; want hello, then its connection reset", b, err)
	}
	lk := stats.Key{Kind: stats.KindListener, ID: "lsr-wsrst"}
	edgetest.Eventually(t, 3*time.Second, func() bool { return rt.Stats().Values[lk].Active == 0 },
		"listener Active %d after the tunnel ended", rt.Stats().Values[lk].Active)
}

// TestHTTPReplacedListenerRetired: the HTTP twin of
// TestReplacedListenerRetired. HTTP listener A deleted and B created on its
// port in one snapshot: A is reported removed, sends "closed" and has its
// final figures sampled once, then dropped. A listener that moves to
// another port while another takes its old one keeps its counters.
func TestHTTPReplacedListenerRetired(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port, port2 := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	hl := func(id string, port int, rid string) snapshot.HTTPListener {
		return snapshot.HTTPListener{ID: id, Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
			{Host: "a.test", IsDefault: true, Rules: []snapshot.Rule{rule(rid, "/", l7Origins(a))}}}}
	}
	mustApply(t, rt, httpProxy(1, ip, hl("lsr-7a", port, "r-7a")))
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String()
	c := &http.Client{Timeout: 5 * time.Second}
	get(t, c, url+"/", "a.test")
	c.CloseIdleConnections()

	rep := mustApply(t, rt, httpProxy(2, ip, hl("lsr-7b", port, "r-7b")))
	checkRetired(t, rt, rep, "lsr-7a", func(v stats.Values) bool { return v.Requests == 1 })
	if v, ok := rt.Sample().Values[stats.Key{Kind: stats.KindRule, ID: "r-7a"}]; ok {
		t.Errorf("rule r-7a of the replaced listener still reported: %+v", v)
	}

	// lsr-7b moves to port2 while lsr-7c takes port: lsr-7b lives on.
	get(t, c, url+"/", "a.test")
	c.CloseIdleConnections()
	rep = mustApply(t, rt, httpProxy(3, ip, hl("lsr-7c", port, "r-7c"), hl("lsr-7b", port2, "r-7b")))
	if st, _ := rep.Listener("lsr-7b"); st.Change == edge.ChangeRemoved {
		t.Errorf("moved HTTP listener lsr-7b reported removed: %+v", st)
	}
	rt.Sample()
	if v := rt.Sample().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-7b"}]; v.Requests != 1 {
		t.Errorf("moved HTTP listener lsr-7b: %+v; want its counters kept", v)
	}
}

// TestHTTPRuleCountersForgotten: a rule's counters are sampled once more
// after it is deleted from its listener, or its listener removed, and
// then dropped; those of an invalid listener's kept configuration stay.
func TestHTTPRuleCountersForgotten(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-7r", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "a.test", IsDefault: true, Rules: []snapshot.Rule{rule("r-keep", "/", l7Origins(a)), rule("r-gone", "/x", l7Origins(a))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String()
	c := &http.Client{Timeout: 5 * time.Second}
	get(t, c, url+"/x", "a.test")
	get(t, c, url+"/", "a.test")
	c.CloseIdleConnections()
	sampled := func(id string, step string, want bool) {
		t.Helper()
		v, ok := rt.Sample().Values[stats.Key{Kind: stats.KindRule, ID: id}]
		if ok != want || want && v.Requests != 1 {
			t.Errorf("%s: rule %s: reported %v (%+v); want reported %v (with its 1 request)", step, id, ok, v, want)
		}
	}

	keep := l
	keep.Domains = []snapshot.Domain{{Host: "a.test", IsDefault: true, Rules: []snapshot.Rule{rule("r-keep", "/", l7Origins(a))}}}
	mustApply(t, rt, httpProxy(2, ip, keep))
	sampled("r-gone", "first sample after its deletion", true)
	sampled("r-gone", "second sample after its deletion", false)

	broken := keep
	broken.Domains = []snapshot.Domain{{Host: "a.test", IsDefault: true, Rules: []snapshot.Rule{rule("r-new", "/", l7Origins(a))}}}
	broken.Domains[0].Rules[0].Scheduler = "bogus"
	if st, _ := rt.Apply(httpProxy(3, ip, broken)).Listener("lsr-7r"); st.State != edge.StateInvalid {
		t.Fatalf("broken listener: %+v; want invalid", st)
	}
	rt.Sample()
	sampled("r-keep", "invalid listener, previous configuration kept", true)

	mustApply(t, rt, httpProxy(4, ip))
	sampled("r-keep", "first sample after its listener's removal", true)
	sampled("r-keep", "second sample after its listener's removal", false)
}

// TestHTTPOriginAtOwnListenerRefused: a rule whose origin is the node's
// own HTTP listener would send each request back to it, a new hop per
// request, until descriptors run out. The edge refuses to connect there:
// the request goes to another origin, or is answered 502.
func TestHTTPOriginAtOwnListenerRefused(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	self := netip.AddrPortFrom(ip, uint16(port))
	l := snapshot.HTTPListener{ID: "lsr-hloop", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "loop.test", Rules: []snapshot.Rule{rule("r-loop", "/", l7Origins(self))}},
		{Host: "mixed.test", Rules: []snapshot.Rule{rule("r-mixed", "/", l7Origins(self, a))}},
	}}
	s := httpProxy(1, ip, l)
	s.Proxies[0].MaxConns = 50 // Bounds the loop should the guard fail.
	mustApply(t, rt, s)
	url := "http://" + self.String()
	c := &http.Client{Timeout: 5 * time.Second}
	if resp, _, body := get(t, c, url+"/", "loop.test"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("origin is the listener itself: got %d %q; want 502", resp.StatusCode, body)
	}
	for range 4 {
		if _, s, body := get(t, c, url+"/", "mixed.test"); s.Name != "a" {
			t.Errorf("got %q; want origin a", body)
		}
	}
	if v := rt.Stats().Values[stats.Key{Kind: stats.KindProxy, ID: "link-1"}]; v.Refused != 0 || v.NewConns > 2 {
		t.Errorf("proxy counters: newConns=%d refused=%d; want the client's connection only, nothing refused (no loop)",
			v.NewConns, v.Refused)
	}
}

// names sends n GETs for host to url and counts the answers by the
// origin that gave them (or their status, when not 200).
func names(t *testing.T, url, host string, n int) map[string]int {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	got := map[string]int{}
	for range n {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			got[resp.Status]++
			continue
		}
		var sn seen
		if json.Unmarshal(b, &sn) == nil && sn.Name != "" {
			got[sn.Name]++
			continue
		}
		got[string(b)]++
	}
	return got
}

// TestHTTPSHandshakeFailureIsConnectFailure: an HTTPS rule (checks off)
// with two origins, one of which fails every TLS handshake (plain HTTP on
// the port, as a misconfigured origin). No byte of a request is written
// to it, as for a refused connect: GETs are retried on the good origin and
// the broken one made suspect. Every other request was a 502.
func TestHTTPSHandshakeFailureIsConnectFailure(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca := newTestPKI(t, "origin CA")
	good := httpOrigin(t, "good", &tls.Config{Certificates: []tls.Certificate{ca.tlsPair(t, "good", "origin.test")}})
	broken := httpOrigin(t, "broken", nil) // Plain HTTP on the HTTPS origin's port: every handshake fails.
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	r := rule("r-hs", "/", l7Origins(broken, good))
	r.ForwardProtocol, r.SNI = snapshot.ProtoHTTPS, "origin.test"
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-hs", Protocol: snapshot.ProtoHTTP, Port: port,
		Domains: []snapshot.Domain{{Host: "hs.test", Rules: []snapshot.Rule{r}}}}))
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	got := names(t, url, "hs.test", 10)
	if got["good"] != 10 {
		t.Errorf("10 GETs over a rule whose other origin fails every TLS handshake: %v; want all 10 from good "+
			"(a handshake failure writes no byte of the request, like a refused connect: retried, origin suspect)", got)
	}
}

// TestHTTPSClientCertRefusalIsConnectFailure guards an HTTPS origin that
// refuses the edge's client certificate (here none is sent) as a failed
// connect over both TLS versions. Over TLS 1.2 the handshake fails; over
// TLS 1.3 the client's side of the handshake ends before the origin checks
// the certificate, so its alert comes on the first read, after the request
// was written, and was taken as an origin that dropped the request: no
// retry, never suspect, not counted, a 502 for every request rr sent it.
func TestHTTPSClientCertRefusalIsConnectFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		max  uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newRuntime(t, edge.Options{})
			ca, clients := newTestPKI(t, "origin CA"), newTestPKI(t, "client CA")
			good := httpOrigin(t, "good", &tls.Config{Certificates: []tls.Certificate{ca.tlsPair(t, "good", "origin.test")}})
			strict := httpOrigin(t, "strict", &tls.Config{Certificates: []tls.Certificate{ca.tlsPair(t, "strict", "origin.test")},
				ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients.pool, MaxVersion: tc.max})
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			r := rule("r-cc", "/", l7Origins(strict, good)) // rr's first pick: the second.
			r.ForwardProtocol = snapshot.ProtoHTTPS
			mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-cc", Protocol: snapshot.ProtoHTTP, Port: port,
				Domains: []snapshot.Domain{{Host: "cc.test", Rules: []snapshot.Rule{r}}}}))
			url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
			got := names(t, url, "cc.test", 10)
			v := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-cc"}]
			if got["good"] != 10 || v.DialFails != 1 {
				t.Errorf("10 GETs over a rule whose other origin (TLS up to %s) refuses the edge's missing client certificate: "+
					"%v, listener DialFails %d; want all 10 from good and DialFails 1 (a failed connect: retried, "+
					"the origin then suspect)", tc.name, got, v.DialFails)
			}
		})
	}
}

// TestResetOriginSuspect: a plain-HTTP rule (checks off) with an origin
// that takes every request and resets the connection before answering (an
// application crashing on each) is made suspect, as one that hangs is: it
// kept one request in two, each a 502. A GET it dropped goes to the next
// origin, as nginx's proxy_next_upstream error passes on an idempotent
// request that got no answer; a POST, which the origin may have acted on,
// does not.
func TestResetOriginSuspect(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	good := httpOrigin(t, "good", nil)
	resetting := func() netip.AddrPort {
		return edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
			_, _ = http.ReadRequest(bufio.NewReader(c)) // Takes the request, then resets: a crashing application.
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}).Addr
	}
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-rst", Protocol: snapshot.ProtoHTTP, Port: port,
		Domains: []snapshot.Domain{{Host: "rst.test", Rules: []snapshot.Rule{
			rule("r-rst", "/", l7Origins(good, resetting())), // rr's first pick: the second.
			rule("r-post", "/post", l7Origins(good, resetting()))}}}}))
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	if got := names(t, url, "rst.test", 10); got["good"] != 10 {
		t.Errorf("10 GETs over a rule whose other origin resets every connection before answering: %v; "+
			"want all 10 from good (the first passed on, the origin then suspect)", got)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	var codes []int
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, url+"post", nil)
		req.Host = "rst.test"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if !slices.Equal(codes, []int{502, 200}) {
		t.Errorf("2 POSTs over a rule whose first pick resets before answering: %v; want [502 200] (not passed on, origin then suspect)", codes)
	}
}

// TestPOSTBodyRetriedAfterRefusedConnect: a POST with a body whose connect
// was refused had no byte sent, and its body none read: it goes to the
// next origin, body whole, as nginx's proxy_next_upstream error passes it
// on (it got a 502, the body thought closed by the failed dial).
func TestPOSTBodyRetriedAfterRefusedConnect(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	echo := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(w, r.Body) })}
	go func() { _ = echo.Serve(ln) }()
	t.Cleanup(func() { _ = echo.Close() })
	live := netip.MustParseAddrPort(ln.Addr().String())
	dead := netip.AddrPortFrom(lo.Next(), 9) // Nothing listens: connection refused.
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-post", Protocol: snapshot.ProtoHTTP, Port: port,
		Domains: []snapshot.Domain{{Host: "post.test", Rules: []snapshot.Rule{rule("r-post", "/", l7Origins(live, dead))}}}}))
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 2 { // rr's first pick is the dead origin.
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("payload"))
		req.Host = "post.test"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "payload" {
			t.Errorf("POST %d with a body beside an origin that refuses connections: %d %q; want 200 \"payload\" from the live origin", i, resp.StatusCode, body)
		}
	}
}

// TestHTTPRemovedListenerClosesIdleAtOnce: a removed listener's idle
// keep-alive connections close at once even while a request net/http
// serves (Pragma takes it off the fast path) is still draining. They
// waited for it: a client's pooled connection stayed open, and a POST it
// sent there, after the port had a new listener, was closed unanswered.
func TestHTTPRemovedListenerClosesIdleAtOnce(t *testing.T) {
	rt := newRuntime(t, edge.Options{DrainGrace: 2 * time.Second})
	held, _, _, reqs := holdingOrigin(t)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-idle", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "a.test", Rules: []snapshot.Rule{rule("r-a", "/", l7Origins(httpOrigin(t, "a", nil))), rule("r-held", "/held", l7Origins(held))}},
	}}
	mustApply(t, rt, httpProxy(1, ip, l))
	addr := netip.AddrPortFrom(ip, uint16(port))

	idle := dial(t, lo.Next(), addr)
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	busy := dial(t, lo.Next(), addr)
	io.WriteString(busy, "GET /held HTTP/1.1\r\nHost: a.test\r\nPragma: no-cache\r\n\r\n")
	edgetest.Eventually(t, 5*time.Second, func() bool { return reqs.Load() == 1 }, "the held request at its origin")

	removed := time.Now()
	mustApply(t, rt, httpProxy(2, ip))
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = br.ReadByte()
	if took := time.Since(removed); took > time.Second || !errors.Is(err, io.EOF) {
		t.Errorf("idle connection of the removed listener: read %v after %v; want EOF at once", err, took)
	}
}

// TestHTTPRemovedRuleOriginConnectionsClosed guards the shared origin
// pools: every plain-HTTP rule of the node shares one, so the keep-alive
// connections of a listener removed (or a rule's origin unbound) stayed
// open for the pool's 90 s idle timeout while any other plain-HTTP rule
// was in use, and a later rule to the same address took them over. Once
// the drain ends, those of both pools (the direct exchange's, a GET; the
// Transport's, a POST) to an address no rule uses are closed; another
// listener's stay warm. A connection in use when its rule goes finishes
// its answer and is then closed, not pooled.
func TestHTTPRemovedRuleOriginConnectionsClosed(t *testing.T) {
	rt := newRuntime(t, edge.Options{DrainGrace: 300 * time.Millisecond})
	slow := make(chan struct{})
	a, openA := countingOrigin(t, "a", slow)
	b, openB := countingOrigin(t, "b", nil)
	ip := lo.Next()
	p1, p2 := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	hl := func(id string, port int, rid string, to netip.AddrPort) snapshot.HTTPListener {
		return snapshot.HTTPListener{ID: id, Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
			{Host: "a.test", IsDefault: true, Rules: []snapshot.Rule{rule(rid, "/", l7Origins(to))}}}}
	}
	l2 := hl("lsr-keep", p2, "r-b", b)
	mustApply(t, rt, httpProxy(1, ip, hl("lsr-gone", p1, "r-a", a), l2))
	url1 := "http://" + netip.AddrPortFrom(ip, uint16(p1)).String()
	c := &http.Client{Timeout: 5 * time.Second}
	send := func(method, url, body string) string {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Host = "a.test"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return string(got)
	}
	if got, got2 := send(http.MethodGet, url1+"/", ""), send(http.MethodPost, url1+"/", "body"); got != "a" || got2 != "a" {
		t.Fatalf("through lsr-gone: %q, %q; want a, a", got, got2)
	}
	if got := send(http.MethodGet, "http://"+netip.AddrPortFrom(ip, uint16(p2)).String()+"/", ""); got != "b" {
		t.Fatalf("through lsr-keep: %q; want b", got)
	}
	c.CloseIdleConnections()
	if !waitOpen(openA, 2) || !waitOpen(openB, 1) {
		t.Fatalf("origin connections: a %d, b %d; want 2 (both pools), 1", openA.Load(), openB.Load())
	}

	mustApply(t, rt, httpProxy(2, ip, l2))
	if !waitOpen(openA, 0) {
		t.Errorf("origin a of the removed listener: %d connection(s) open after its drain; want 0", openA.Load())
	}
	if openB.Load() != 1 {
		t.Errorf("origin b of the remaining listener: %d connection(s) open; want its 1 kept warm", openB.Load())
	}

	// r-a comes back on lsr-keep's socket beside r-b; a request is in
	// flight to a when r-a is dropped again (no drain: the listener
	// stays).
	both := l2
	both.Domains = []snapshot.Domain{{Host: "a.test", IsDefault: true,
		Rules: []snapshot.Rule{rule("r-b", "/", l7Origins(b)), rule("r-a", "/slow", l7Origins(a))}}}
	mustApply(t, rt, httpProxy(3, ip, both))
	answer := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+netip.AddrPortFrom(ip, uint16(p2)).String()+"/slow", nil)
		req.Host = "a.test"
		resp, err := c.Do(req)
		if err != nil {
			answer <- err.Error()
			return
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer <- string(got)
	}()
	if !waitOpen(openA, 1) {
		t.Fatalf("origin a: %d connection(s) open during the slow request; want 1", openA.Load())
	}
	mustApply(t, rt, httpProxy(4, ip, l2))
	close(slow)
	if got := <-answer; got != "a" {
		t.Errorf("request in flight when its rule went: %q; want a's answer", got)
	}
	if !waitOpen(openA, 0) {
		t.Errorf("origin a: %d connection(s) open after the answer of a rule no longer there; want 0 (not pooled)", openA.Load())
	}
}

// TestHTTPRuleRotationSurvivesListenerChange guards Handler.Continue: a
// change to another rule of the listener rebuilt every rule's picker, so
// with a change before each request rr sent them all to the first origin
// and wrr 9:1 never reached the second. The rule goes on where it stood,
// as a layer-4 listener does (TestSettingChangeKeepsRotation).
func TestHTTPRuleRotationSurvivesListenerChange(t *testing.T) {
	a, b := httpOrigin(t, "a", nil), httpOrigin(t, "b", nil)
	for _, tc := range []struct {
		sched   string
		weights []int
		want    map[string]int // Out of 10 requests.
	}{
		{snapshot.SchedRR, []int{10, 10}, map[string]int{"a": 5, "b": 5}},
		{snapshot.SchedWRR, []int{9, 1}, map[string]int{"a": 9, "b": 1}},
	} {
		t.Run(tc.sched, func(t *testing.T) {
			rt := newRuntime(t, edge.Options{})
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			r := rule("r-rot", "/", l7Origins(a, b))
			r.Scheduler = tc.sched
			for i, w := range tc.weights {
				r.Origins[i].Weight = w
			}
			url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String()
			c := &http.Client{Timeout: 5 * time.Second}
			got := map[string]int{}
			for i := range 10 {
				other := rule("r-other", fmt.Sprintf("/other%d", i), l7Origins(a)) // The change.
				mustApply(t, rt, httpProxy(int64(i+1), ip, snapshot.HTTPListener{ID: "lsr-rot", Protocol: snapshot.ProtoHTTP,
					Port: port, Domains: []snapshot.Domain{{Host: "rot.test", Rules: []snapshot.Rule{r, other}}}}))
				_, s, _ := get(t, c, url+"/", "rot.test")
				got[s.Name]++
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("%s over 10 requests, another rule changed before each: %v; want %v", tc.sched, got, tc.want)
			}
		})
	}
}
