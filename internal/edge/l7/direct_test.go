package l7

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// countFallbacks counts the requests of s's only rule that ReverseProxy
// serves (the direct path did not take them, or handed their answer on).
func countFallbacks(s *Server) *atomic.Int64 {
	var n atomic.Int64
	r := s.h.Load().rules[0]
	rewrite := r.proxy.Rewrite
	r.proxy.Rewrite = func(pr *httputil.ProxyRequest) {
		n.Add(1)
		rewrite(pr)
	}
	return &n
}

// roundTrips writes each request on one connection and checks the answers.
func roundTrips(t *testing.T, s *Server, want []exchange) *bufio.Reader {
	t.Helper()
	c := sendRaw(t, s, "")
	br := bufio.NewReader(c)
	for i, x := range want {
		if _, err := io.WriteString(c, x.method+" "+x.path+" HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: x.method})
		for err == nil && resp.StatusCode < 200 {
			resp, err = http.ReadResponse(br, &http.Request{Method: x.method})
		}
		if err != nil {
			t.Fatalf("answer %d (%s): %v", i, x.path, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("answer %d (%s) body: %v", i, x.path, err)
		}
		if resp.StatusCode != x.status || string(body) != x.body || resp.Trailer.Get("X-T") != x.trailer {
			t.Errorf("answer %d (%s) = %d %q trailer %q; want %d %q trailer %q", i, x.path, resp.StatusCode, body,
				resp.Trailer.Get("X-T"), x.status, x.body, x.trailer)
		}
	}
	return br
}

func TestDirectFraming(t *testing.T) {
	origin, dials := countedScriptedOrigin(t)
	s := fastServer(t, origin)
	fallbacks := countFallbacks(s)
	roundTrips(t, s, []exchange{
		{"GET", "/len", 200, "hello", ""},
		{"HEAD", "/len", 200, "", ""},
		{"GET", "/204", 204, "", ""},
		{"GET", "/304", 304, "", ""},
		{"GET", "/big", 200, strings.Repeat("b", 10000), ""},
		{"GET", "/lenclose", 200, "hello", ""}, // The origin closes: a new connection next.
		{"GET", "/bye", 200, "hello", ""},      // Pooled, then closed by the origin: replayed.
		{"DELETE", "/len", 200, "hello", ""},
	})
	if n := fallbacks.Load(); n != 0 {
		t.Errorf("%d requests went through ReverseProxy; want 0", n)
	}
	if n := dials.Load(); n != 3 {
		t.Errorf("origin connections: %d; want 3", n)
	}
}

// TestDirectFallbacks: answers the direct path does not relay itself
// reach the client through ReverseProxy, unread until then.
func TestDirectFallbacks(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t))
	fallbacks := countFallbacks(s)
	roundTrips(t, s, []exchange{
		{"GET", "/chunked", 200, "hello", "v"},
		{"GET", "/103", 200, "hello", ""},
		{"GET", "/bighead", 200, "hello", ""},
		{"GET", "/closed", 200, "until close", ""},
		{"GET", "/len", 200, "hello", ""},
	})
	if n := fallbacks.Load(); n != 4 {
		t.Errorf("%d requests went through ReverseProxy; want 4", n)
	}
}

func TestDirectTruncatedBody(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t))
	c := sendRaw(t, s, "GET /short HTTP/1.1\r\nHost: a.test\r\n\r\n")
	// The answer is cut short (here before its head: the body was still
	// buffered) and the connection reset (an aborted answer), not left
	// waiting.
	if b, err := io.ReadAll(c); !errors.Is(err, syscall.ECONNRESET) || len(b) != 0 {
		t.Errorf("truncated origin body: client read %q, %v; want the connection reset at once", b, err)
	}
}

func TestDirectErrorPage(t *testing.T) {
	s := editedServer(t, scriptedOrigin(t), func(l *snapshot.HTTPListener) {
		l.Domains[0].ErrorPages = []snapshot.ErrorPage{{ErrorNos: []int{404}, NewErrorNo: 410, Body: "page",
			SetHeaders: []snapshot.Header{{Name: "X-Page", Value: "1"}}}}
	})
	fallbacks := countFallbacks(s)
	c := sendRaw(t, s, "GET /404 HTTP/1.1\r\nHost: a.test\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 410 || string(body) != "page" || resp.Header.Get("X-Page") != "1" || resp.Header.Get("Etag") != "" {
		t.Errorf("got %d %q %v; want the error page", resp.StatusCode, body, resp.Header)
	}
	if fallbacks.Load() != 1 {
		t.Errorf("error page not applied by ReverseProxy")
	}
}

// TestDirectSameAsReverseProxy: the origin receives the same request, and
// the counters count the same, with and without the direct path.
func TestDirectSameAsReverseProxy(t *testing.T) {
	origin := scriptedOrigin(t)
	edit := func(l *snapshot.HTTPListener) {
		l.Domains[0].Rules[0].Headers = []snapshot.Header{{Name: "x-client", Value: "ip=$remote_addr"}, {Name: "X-Real-IP", Value: "fixed"}}
	}
	reqs := []string{
		"GET /head?a=b&c=%20 HTTP/1.1\r\nHost: a.test:80\r\nUser-Agent: ua1\r\nUser-Agent: ua2\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\n" +
			"X-Forwarded-Host: evil\r\nX-Forwarded-Port: 443\r\nX_Forwarded_Port: 443\r\nForwarded: for=x\r\nX-Real-Ip: forged\r\nKeep-Alive: 5\r\nProxy-Authorization: x\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\nX-Client: forged\r\nX-Empty:\r\n\r\n",
		"DELETE /head/%7Ex HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\nConnection: close\r\nClose: named by Connection\r\n\r\n",
		"OPTIONS /head HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"GET /head?b=1;a=%zz&c=50% HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"HEAD /head HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"POST /head HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n",
	}
	var results [2][]string
	var counts [2][6]int64
	for i, direct := range []bool{false, true} {
		s := editedServer(t, origin, edit)
		h := s.h.Load()
		h.rules[0].direct = direct
		fallbacks := countFallbacks(s)
		for _, raw := range reqs {
			c := sendRaw(t, s, raw)
			resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: strings.Fields(raw)[0]})
			if err != nil {
				t.Fatalf("direct %v, %q: %v", direct, raw, err)
			}
			body, _ := io.ReadAll(resp.Body)
			c.Close()
			results[i] = append(results[i], resp.Status+"\n"+string(body))
		}
		if want := map[bool]int64{false: int64(len(reqs)), true: 0}[direct]; fallbacks.Load() != want {
			t.Errorf("direct %v: %d requests through ReverseProxy; want %d", direct, fallbacks.Load(), want)
		}
		rc := h.rules[0].stats
		counts[i] = [6]int64{rc.Requests.Load(), rc.Status[2].Load(), rc.BytesOut.Load(), h.Stats.Requests.Load(),
			h.Stats.Status[2].Load(), rc.BytesIn.Load()}
	}
	for i := range reqs {
		// Header order is not kept by either path; compare line sets.
		a, b := strings.Split(results[0][i], "\r\n"), strings.Split(results[1][i], "\r\n")
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("request %d: origin received\n%s\nthrough ReverseProxy and\n%s\nthrough the direct path", i, results[0][i], results[1][i])
		}
	}
	if counts[0] != counts[1] {
		t.Errorf("counters through ReverseProxy %v, through the direct path %v", counts[0], counts[1])
	}
}

// TestDirectAnswerHeadAsReverseProxy: the answer head the fast path's
// writer relays from the origin's lines (fastWriter.writeOriginHead) has
// the fields that ReverseProxy's answer has (hop-by-hop ones and the
// origin's Alt-Svc removed, framing dropped on 204 and 304, Date added,
// Connection: close), in the origin's order.
func TestDirectAnswerHeadAsReverseProxy(t *testing.T) {
	origin := scriptedOrigin(t)
	reqs := []string{"GET /fields", "GET /typed", "HEAD /typed", "GET /typedclose", "GET /encoded", "GET /encoded2", "GET /len",
		"GET /204cl", "GET /304cl", "GET /typed\r\nConnection: close"}
	var heads [2][]string
	for i, direct := range []bool{false, true} {
		s := fastServer(t, origin)
		s.h.Load().rules[0].direct = direct
		c := sendRaw(t, s, "")
		br := bufio.NewReader(c)
		for _, r := range reqs {
			method, rest, _ := strings.Cut(r, " ")
			path, extra, _ := strings.Cut(rest, "\r\n")
			if extra != "" {
				extra += "\r\n"
			}
			if _, err := io.WriteString(c, method+" "+path+" HTTP/1.1\r\nHost: a.test\r\n"+extra+"\r\n"); err != nil {
				t.Fatal(err)
			}
			heads[i] = append(heads[i], readAnswer(t, br, method))
		}
	}
	for i, r := range reqs {
		a, b := strings.Split(heads[0][i], "\r\n"), strings.Split(heads[1][i], "\r\n")
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%q: client got\n%s\nthrough ReverseProxy and\n%s\nthrough the direct path", r, heads[0][i], heads[1][i])
		}
	}
	// The writer and its map are reused per connection: nothing of one
	// answer may show in the next.
	for i, direct := range []bool{false, true} {
		if strings.Contains(heads[i][1], "X-Rep") {
			t.Errorf("direct %v: %q got fields of the answer before it:\n%s", direct, reqs[1], heads[i][1])
		}
	}
	// The origin's order, which no header map keeps: the fields were relayed.
	if f := heads[1][0]; !(strings.Index(f, "X-Rep: 1") < strings.Index(f, "Vary: A") && strings.Index(f, "Vary: A") < strings.Index(f, "X-Rep: 2")) {
		t.Errorf("direct path's head\n%s\nnot in the origin's order", f)
	}
}

// TestDirectRelayedHeadAfterSmallBody: a relayed origin head still goes
// out when a map's would (after a body of up to preMax bytes), so that a
// drain begun while the body came makes it say "Connection: close", and
// an answer cut short in its small body sends the client nothing and
// counts as none, however large its head.
func TestDirectRelayedHeadAfterSmallBody(t *testing.T) {
	t.Run("drain", func(t *testing.T) {
		headSent, release := make(chan struct{}), make(chan struct{})
		origin := netip.MustParseAddrPort(rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n")
			close(headSent)
			<-release
			_, _ = io.WriteString(c, "hello")
			_, _ = br.ReadByte() // Until the edge closes.
		}))
		s := fastServer(t, origin)
		c := sendRaw(t, s, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
		<-headSent
		time.Sleep(100 * time.Millisecond) // The edge has read it and waits for the body.
		s.quit.Store(true)
		close(release)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Close {
			t.Errorf("a drain began before the head went out, but it says %v, no Connection: close", resp.Header)
		}
	})
	t.Run("cut body", func(t *testing.T) {
		answer := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Big: " + strings.Repeat("h", 3000) +
			"\r\nContent-Length: 2000\r\n\r\n" + strings.Repeat("a", 1500)
		s := fastServer(t, truncatingOrigin(t, answer, false))
		b, _ := io.ReadAll(sendRaw(t, s, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"))
		rc := s.h.Load().rules[0].stats
		edgetest.Eventually(t, 2*time.Second, func() bool { return rc.Requests.Load() == 1 }, "request never counted")
		if len(b) != 0 || rc.Status[0].Load() != 1 {
			t.Errorf("answer cut in its body: client got %d bytes, counted Status[0]=%d Status[2]=%d; want nothing, no answer",
				len(b), rc.Status[0].Load(), rc.Status[2].Load())
		}
	})
}

// readAnswer reads one answer to method from br: its head, a Date of the
// edge's own masked, and its body (framed by Content-Length).
func readAnswer(t *testing.T, br *bufio.Reader, method string) string {
	t.Helper()
	var head strings.Builder
	n := 0
	for _, line := range readRawHead(t, br) {
		if v, ok := strings.CutPrefix(line, "Date: "); ok && !strings.HasPrefix(v, "Mon, 01 Jan 2024") {
			line = "Date: (the edge's)\r\n"
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		head.WriteString(line)
	}
	if method == http.MethodHead || strings.HasPrefix(head.String(), "HTTP/1.1 204") || strings.HasPrefix(head.String(), "HTTP/1.1 304") {
		n = 0
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatalf("answer body: %v", err)
	}
	return head.String() + string(body)
}

// TestDirectNoReuseWithLeftover: an origin that sends more than the
// answer's framing says (here a body on a HEAD answer, shaped like a
// second answer) must not have its connection pooled, or the next
// request, another client's, would be answered with those bytes.
func TestDirectNoReuseWithLeftover(t *testing.T) {
	forged := "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
	addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.Method == http.MethodHead {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(forged))+"\r\n\r\n"+forged)
			} else {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal")
			}
		}
	})
	s := fastServer(t, netip.MustParseAddrPort(addr))
	for _, method := range []string{"HEAD", "GET"} {
		c := sendRaw(t, s, method+" /p HTTP/1.1\r\nHost: a.test\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if method == "GET" && string(body) != "real" {
			t.Errorf("GET after a HEAD answered with a body: got %q; want %q", body, "real")
		}
		c.Close()
	}
}

// TestDirectTakesMethods: the direct path takes only the methods whose
// request target writeRequest writes as Request.Write does. CONNECT's it
// writes otherwise (the authority, not RequestURI's "/"), and ServeHTTP
// refuses CONNECT before, but the direct path must not rely on that.
func TestDirectTakesMethods(t *testing.T) {
	r := &rule{direct: true}
	for _, raw := range []string{
		"GET / HTTP/1.1", "HEAD / HTTP/1.1", "POST / HTTP/1.1", "PUT / HTTP/1.1", "DELETE / HTTP/1.1",
		"OPTIONS / HTTP/1.1", "PATCH / HTTP/1.1",
		"CONNECT a.test:443 HTTP/1.1", "PROPFIND / HTTP/1.1", "TRACE / HTTP/1.1",
	} {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\nHost: a.test\r\n\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		want := true
		switch req.Method {
		case http.MethodConnect, "PROPFIND", http.MethodTrace:
			want = false
		}
		if got := r.takes(req); got != want {
			t.Errorf("%s: taken %v; want %v", raw, got, want)
		}
	}
}

// TestConnectRefused: CONNECT is answered 405 (the edge is no forward
// proxy), with Allow, and reaches no origin; the connection goes on.
func TestConnectRefused(t *testing.T) {
	origin, dials := countedScriptedOrigin(t)
	s := fastServer(t, origin)
	for _, raw := range []string{
		"CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n",
		"CONNECT /x HTTP/1.1\r\nHost: a.test\r\n\r\n",
	} {
		c := sendRaw(t, s, raw)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
			t.Errorf("%q: got %d, Allow %q; want 405 with Allow", raw, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("CONNECT reached the origin: %d connections", n)
	}
}

// TestSilentOriginSuspect: an origin that accepts requests and never
// answers them (a hung application behind a live port, which port checks
// take for healthy) is made suspect by the first request it times out
// (504), so the next requests go to the other origin while it stays
// suspect, as nginx's max_fails counts a timeout; before, rr sent it every
// other request, each waiting ResponseHeaderTimeout. Both origin pools:
// bodyless requests (the direct path) and requests with a body
// (http.Transport).
func TestSilentOriginSuspect(t *testing.T) {
	old := responseHeaderTimeout
	responseHeaderTimeout = time.Second
	t.Cleanup(func() { responseHeaderTimeout = old })
	for _, tc := range []struct{ method, body string }{{http.MethodGet, ""}, {http.MethodPost, "x"}} {
		t.Run(tc.method, func(t *testing.T) {
			var took atomic.Int64
			silent := edgetest.StartTCP(t, netip.MustParseAddrPort("127.0.0.1:0"), func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err == nil {
					took.Add(1) // And never answered.
				}
				_, _ = io.Copy(io.Discard, br)
			}).Addr
			good := scriptedOrigin(t)
			s := editedServer(t, good, func(l *snapshot.HTTPListener) {
				r := &l.Domains[0].Rules[0]
				r.Origins = append(r.Origins, snapshot.Origin{ID: "silent", Host: silent.Addr().String(), Port: int(silent.Port()), Weight: 1})
			})
			var codes []int
			for range 6 {
				c := sendRaw(t, s, tc.method+" /len HTTP/1.1\r\nHost: a.test\r\nContent-Length: "+
					strconv.Itoa(len(tc.body))+"\r\n\r\n"+tc.body)
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				codes = append(codes, resp.StatusCode)
			}
			if n := took.Load(); n != 1 || slices.Index(codes, http.StatusGatewayTimeout) < 0 ||
				len(slices.DeleteFunc(slices.Clone(codes), func(c int) bool { return c == http.StatusOK })) != 1 {
				t.Errorf("answers %v, the silent origin took %d requests; want one 504 from it, then 200s from the other", codes, n)
			}
		})
	}
}

// TestTraceAndMaxForwards: RFC 9110 7.6.2 has an intermediary answer a
// TRACE or OPTIONS with "Max-Forwards: 0" itself and decrement the value
// of one it forwards. TRACE is refused altogether (405 with Allow, as
// nginx does, and as CONNECT is): an origin that implements it would echo
// the request with every header the client and the edge put in it
// (cookies, credentials, X-Real-IP: cross-site tracing). An OPTIONS with
// "Max-Forwards: 0" is answered by the edge, with Allow; a greater value
// reaches the origin decremented.
func TestTraceAndMaxForwards(t *testing.T) {
	origin, seen := recordingOrigin(t)
	s := fastServer(t, origin)
	for _, tc := range []struct {
		head   string
		status int
	}{
		{"TRACE /x HTTP/1.1\r\nHost: a.test\r\nMax-Forwards: 0\r\n\r\n", http.StatusMethodNotAllowed},
		{"TRACE /x HTTP/1.1\r\nHost: a.test\r\nCookie: secret\r\n\r\n", http.StatusMethodNotAllowed},
		{"OPTIONS /x HTTP/1.1\r\nHost: a.test\r\nMax-Forwards: 0\r\n\r\n", http.StatusOK},
	} {
		resp, err := http.ReadResponse(bufio.NewReader(sendRaw(t, s, tc.head)), nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.head, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != allowedMethods {
			t.Errorf("%q: got %d, Allow %q; want %d with Allow %q", tc.head, resp.StatusCode, resp.Header.Get("Allow"), tc.status, allowedMethods)
		}
		select {
		case req := <-seen:
			t.Errorf("%q reached the origin as %s %s (Max-Forwards %q)", tc.head, req.Method, req.RequestURI, req.Header.Get("Max-Forwards"))
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, mf := range [][2]string{{"1", "0"}, {"10", "9"}, {"x", "x"}} {
		req := recordedRequest(t, s, "OPTIONS /x HTTP/1.1\r\nHost: a.test\r\nMax-Forwards: "+mf[0]+"\r\n\r\n", seen)
		if got := req.Header.Get("Max-Forwards"); got != mf[1] {
			t.Errorf("OPTIONS with Max-Forwards %s: the origin got %q; want %q", mf[0], got, mf[1])
		}
	}
}

// TestAsteriskForm: "OPTIONS *" (RFC 9110 9.3.7: about the server, which
// the edge is to the client) reaches ServeHTTP, net/http's own answer
// being off (DisableGeneralOptionsHandler), so its Host is checked and it
// is counted; the edge answers it, 200 with Allow, over HTTP/1.1 and
// HTTP/2, and the connection goes on. The asterisk form with any other
// method (RFC 9112 3.2.4 allows it for OPTIONS only) gets 400 and its
// connection closed, as nginx answers, instead of being routed as the
// path "*" to the domain's 404. None reaches the origin.
func TestAsteriskForm(t *testing.T) {
	origin, seen := recordingOrigin(t)
	s := fastServer(t, origin)
	br := bufio.NewReader(sendRaw(t, s, "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\nGET /x HTTP/1.1\r\nHost: a.test\r\n\r\n"))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Allow") != allowedMethods || resp.Close {
		t.Errorf("OPTIONS *: got %d, Allow %q, close %v; want 200 with Allow %q, kept open", resp.StatusCode, resp.Header.Get("Allow"), resp.Close, allowedMethods)
	}
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET after OPTIONS *: %v, %v; want 200", resp, err)
	}
	select {
	case req := <-seen:
		if req.URL.Path != "/x" {
			t.Errorf("the origin got %s %s; want only GET /x", req.Method, req.RequestURI)
		}
	case <-time.After(5 * time.Second):
		t.Error("the GET after OPTIONS * never reached the origin")
	}
	for _, head := range []string{
		"OPTIONS * HTTP/1.1\r\nHost: a.test:1:2\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"DELETE * HTTP/1.1\r\nHost: a.test\r\n\r\n",
		"options * HTTP/1.1\r\nHost: a.test\r\n\r\n",
	} {
		br := bufio.NewReader(sendRaw(t, s, head+"GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n"))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", head, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if _, err := br.ReadByte(); resp.StatusCode != http.StatusBadRequest || err != io.EOF {
			t.Errorf("%q: got %d, then read error %v; want 400, then the connection closed", head, resp.StatusCode, err)
		}
	}

	s = fastServer(t, origin, true)
	var h2 http.Protocols
	h2.SetHTTP2(true)
	cl := &http.Client{Transport: &http.Transport{Protocols: &h2,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"}}}
	for m, want := range map[string]int{http.MethodOptions: http.StatusOK, http.MethodGet: http.StatusBadRequest} {
		req := &http.Request{Method: m, URL: &url.URL{Scheme: "https", Host: s.Addr().String(), Path: "*"}, Host: "a.test", Header: http.Header{}}
		resp, err := cl.Transport.RoundTrip(req)
		if err != nil {
			t.Fatalf("HTTP/2 %s *: %v", m, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || resp.ProtoMajor != 2 || want == http.StatusOK && resp.Header.Get("Allow") != allowedMethods {
			t.Errorf("HTTP/2 %s *: got %s %d, Allow %q; want %d", m, resp.Proto, resp.StatusCode, resp.Header.Get("Allow"), want)
		}
	}
	select {
	case req := <-seen:
		t.Errorf("%s %s reached the origin", req.Method, req.RequestURI)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestUpgradeOnlyWebSocket: an Upgrade other than WebSocket (h2c: the
// tunnel would carry requests the edge never sees) is dropped as the
// hop-by-hop header it is, with Connection and what it names, and the
// request proxied as an ordinary one (here by the direct path).
func TestUpgradeOnlyWebSocket(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t))
	fallbacks := countFallbacks(s)
	for _, up := range []string{"h2c", "websocket, h2c", "TLS/1.2"} {
		c := sendRaw(t, s, "GET /head HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: "+up+
			"\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("Upgrade: %s: %v", up, err)
		}
		body, _ := io.ReadAll(resp.Body)
		sent, err := http.ReadRequest(bufio.NewReader(strings.NewReader(string(body))))
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("Upgrade: %s: got %d %q (%v)", up, resp.StatusCode, body, err)
		}
		for _, k := range []string{"Upgrade", "Connection", "Http2-Settings"} {
			if v := sent.Header[k]; v != nil {
				t.Errorf("Upgrade: %s: the origin got %s: %q", up, k, v)
			}
		}
	}
	if n := fallbacks.Load(); n != 0 {
		t.Errorf("%d requests went through ReverseProxy; want 0 (ordinary requests once the Upgrade is dropped)", n)
	}
}

// TestInvalidOriginStatus: an origin status code outside 100-599 that is
// still three digits (http.ReadResponse takes 000-099) is an invalid
// answer (RFC 9110 15: a client SHOULD treat it as 5xx): 502 on every
// origin path, counted as a 5xx, as codes ReadResponse refuses (1000,
// "20x") are. Before, the fast path turned "000" into "200 OK" and wrote
// "099" as an unparseable status line, and net/http panicked in
// WriteHeader, leaving the client without an answer.
func TestInvalidOriginStatus(t *testing.T) {
	for _, code := range []string{"000", "099"} {
		addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 "+code+" Odd\r\nContent-Length: 2\r\n\r\nok")
		})
		for _, tc := range []struct{ path, head string }{
			{"direct", "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"},
			{"net/http", "GET / HTTP/1.1\r\nHost: a.test\r\nPragma: no-cache\r\n\r\n"}, // parseFastHead refuses it.
			{"transport", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhi"},
		} {
			t.Run(code+"/"+tc.path, func(t *testing.T) {
				s := fastServer(t, netip.MustParseAddrPort(addr))
				resp, err := http.ReadResponse(bufio.NewReader(sendRaw(t, s, tc.head)), nil)
				if err != nil {
					t.Fatalf("origin status %s: client could not read an answer: %v", code, err)
				}
				if resp.StatusCode != http.StatusBadGateway {
					t.Fatalf("origin status %s: client got %q; want 502", code, resp.Status)
				}
				resp.Body.Close()
				if got := s.h.Load().Stats.Status[5].Load(); got != 1 {
					t.Errorf("5xx counted: %d; want 1", got)
				}
			})
		}
	}
}
