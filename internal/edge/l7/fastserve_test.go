package l7

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// scriptedOrigin answers each request with the raw bytes its path names
// (originAnswers); "/echo" answers the request body; "/closed" answers
// without length and closes.
func scriptedOrigin(t *testing.T) netip.AddrPort {
	addr, _ := countedScriptedOrigin(t)
	return addr
}

// countedScriptedOrigin is scriptedOrigin counting the connections it
// accepts.
func countedScriptedOrigin(t *testing.T) (netip.AddrPort, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			go serveScriptedOrigin(c)
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String()), &n
}

var originAnswers = map[string]string{
	"/len":      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"/chunked":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n5\r\nhello\r\n0\r\nX-T: v\r\n\r\n",
	"/204":      "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
	"/304":      "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\n",
	"/big":      "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + strings.Repeat("b", 10000),
	"/lenclose": "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
	"/103":      "HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"/bighead":  "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("h", 5000) + "\r\nContent-Length: 5\r\n\r\nhello",
	"/404":      "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nEtag: \"e\"\r\n\r\nnot found",
	"/204cl":    "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n",
	"/304cl":    "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n",
	"/103cl":    "HTTP/1.1 103 Early Hints\r\nLink: </s>\r\nContent-Length: 7\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"/fields": "HTTP/1.1 200 OK\r\nX-Rep: 1\r\ncontent-type: text/plain\r\nKeep-Alive: timeout=5\r\nConnection: keep-alive\r\n" +
		"Proxy-Connection: x\r\nUpgrade: h2c\r\nProxy-Authenticate: Basic\r\nAlt-Svc: h3=\":443\"\r\nx-lower:  a \r\nVary: A\r\nX-Rep: 2\r\n" +
		"X-Empty:\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: 5\r\n\r\nhello",
	"/typed":      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
	"/typedclose": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
	"/encoded":    "HTTP/1.1 200 OK\r\nContent-Encoding: x-none\r\nContent-Length: 5\r\n\r\nhello",
	"/encoded2":   "HTTP/1.1 200 OK\r\nContent-Encoding: \r\nContent-Encoding: x-none\r\nContent-Length: 5\r\n\r\nhello",
}

func serveScriptedOrigin(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		switch {
		case req.URL.Path == "/echo":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+string(body))
		case req.URL.Path == "/truncated":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			return
		case req.URL.Path == "/closed":
			io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nuntil close")
			return
		case req.URL.Path == "/short": // Truncated: the origin dies mid-body.
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
			return
		case req.URL.Path == "/bye": // Closes a connection it kept alive.
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
			return
		case strings.HasPrefix(req.URL.Path, "/head"): // The head received, for comparisons.
			raw, _ := httputil.DumpRequest(req, false)
			if req.Method == http.MethodHead {
				raw = nil
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(raw))+"\r\n\r\n"+string(raw))
		case req.Method == http.MethodHead:
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
		default:
			io.WriteString(c, originAnswers[req.URL.Path])
		}
	}
}

// fastServer starts a listener with one rule "/" to origin; HTTPS with
// a self-signed certificate and a forced redirect when tlsOn.
func fastServer(t *testing.T, origin netip.AddrPort, tlsOn ...bool) *Server {
	t.Helper()
	return editedServer(t, origin, func(l *snapshot.HTTPListener) {
		if len(tlsOn) > 0 {
			l.Protocol, l.TLS = snapshot.ProtoHTTPS, selfSigned(t)
			l.Domains[0].Rules[0].ForcedRedirect = "https"
		}
	})
}

// editedServer starts a listener with one rule "/" to origin, as edit
// changes it.
func editedServer(t *testing.T, origin netip.AddrPort, edit func(*snapshot.HTTPListener)) *Server {
	t.Helper()
	return envServer(t, origin, nil, edit)
}

// envServer is editedServer with the Env changed by env (may be nil).
func envServer(t *testing.T, origin netip.AddrPort, env func(*Env), edit func(*snapshot.HTTPListener)) *Server {
	t.Helper()
	e := &Env{Pool: health.NewPool(health.Options{}), Stats: stats.NewRegistry(), Transports: NewTransports(0)}
	if env != nil {
		env(e)
	}
	t.Cleanup(e.Pool.Close)
	l := &snapshot.HTTPListener{ID: "l", Protocol: snapshot.ProtoHTTP, Port: 1, Domains: []snapshot.Domain{{
		Host: "a.test", IsDefault: true, Rules: []snapshot.Rule{{ID: "r", Path: "/", Scheduler: snapshot.SchedRR,
			Origins: []snapshot.Origin{{ID: "o", Host: origin.Addr().String(), Port: int(origin.Port()), Weight: 1}}}}}}}
	edit(l)
	h, err := Build(e, l, l4.NewProxy("p", nil))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(netip.MustParseAddrPort("127.0.0.1:0"), h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { <-s.Shutdown(time.Second); h.Release() })
	return s
}

type exchange struct {
	method, path string
	status       int
	body         string
	trailer      string // X-T
}

func TestFastFraming(t *testing.T) {
	get := func(p string) string { return "GET " + p + " HTTP/1.1\r\nHost: a.test\r\n\r\n" }
	for _, tc := range []struct {
		name   string
		send   string // All written at once: pipelined when several.
		want   []exchange
		closed bool // The proxy closes after the last answer.
		handed bool // net/http serves part of it.
	}{
		{"content length", get("/len") + get("/len"), []exchange{{"GET", "/len", 200, "hello", ""}, {"GET", "/len", 200, "hello", ""}}, false, false},
		{"chunked with trailers", get("/chunked"), []exchange{{"GET", "/chunked", 200, "hello", "v"}}, false, false},
		{"head", "HEAD /len HTTP/1.1\r\nHost: a.test\r\n\r\n" + get("/len"), []exchange{{"HEAD", "/len", 200, "", ""}, {"GET", "/len", 200, "hello", ""}}, false, false},
		{"204 and 304", get("/204") + get("/304") + get("/len"), []exchange{{"GET", "/204", 204, "", ""}, {"GET", "/304", 304, "", ""}, {"GET", "/len", 200, "hello", ""}}, false, false},
		{"close-delimited origin", get("/closed") + get("/len"), []exchange{{"GET", "/closed", 200, "until close", ""}, {"GET", "/len", 200, "hello", ""}}, false, false},
		{"large body", get("/big"), []exchange{{"GET", "/big", 200, strings.Repeat("b", 10000), ""}}, false, false},
		{"post body", "POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\nabc" + get("/len"), []exchange{{"POST", "/echo", 200, "abc", ""}, {"GET", "/len", 200, "hello", ""}}, false, false},
		{"unread body", "POST /len HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\nabc" + get("/len"), []exchange{{"POST", "/len", 200, "hello", ""}, {"GET", "/len", 200, "hello", ""}}, false, false},
		{"client close", "GET /len HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", []exchange{{"GET", "/len", 200, "hello", ""}}, true, false},
		{"http/1.0 (net/http)", "GET /len HTTP/1.0\r\nHost: a.test\r\n\r\n", []exchange{{"GET", "/len", 200, "hello", ""}}, true, true},
		// A chunked request is handed off and served, and then the
		// connection closes (TestFastSmugglingRefused says why).
		{"hand-off mid-connection", get("/len") + "POST /echo HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n" + get("/chunked"),
			[]exchange{{"GET", "/len", 200, "hello", ""}, {"POST", "/echo", 200, "xyz", ""}}, true, true},
		{"net/http keeps alive", get("/len") + "GET /chunked HTTP/1.1\r\nHost: a.test\r\nPragma: no-cache\r\n\r\n" + get("/len"),
			[]exchange{{"GET", "/len", 200, "hello", ""}, {"GET", "/chunked", 200, "hello", "v"}, {"GET", "/len", 200, "hello", ""}}, false, true},
		{"malformed (net/http)", "GET / HTTP/1.1\r\nHost: a.test\r\nX-A : 1\r\n\r\n", []exchange{{"GET", "/", 400, "", ""}}, true, true},
		{"no domain", "GET /len HTTP/1.1\r\nHost: b.test\r\n\r\n", []exchange{{"GET", "/len", 200, "hello", ""}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fastServer(t, scriptedOrigin(t))
			c := sendRaw(t, s, tc.send)
			br := bufio.NewReader(c)
			for i, x := range tc.want {
				resp, err := http.ReadResponse(br, &http.Request{Method: x.method})
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("answer %d body: %v", i, err)
				}
				if resp.StatusCode != x.status || (x.status < 400 && string(body) != x.body) {
					t.Errorf("answer %d = %d %q; want %d %q", i, resp.StatusCode, body, x.status, x.body)
				}
				if got := resp.Trailer.Get("X-T"); got != x.trailer {
					t.Errorf("answer %d trailer X-T = %q; want %q", i, got, x.trailer)
				}
				if resp.Header.Get("Date") == "" && resp.StatusCode != http.StatusBadRequest {
					t.Errorf("answer %d has no Date", i)
				}
				if last := i == len(tc.want)-1; last && resp.Close != tc.closed {
					t.Errorf("answer %d Close = %v; want %v", i, resp.Close, tc.closed)
				}
			}
			if tc.closed {
				if n, err := br.ReadByte(); err != io.EOF {
					t.Errorf("after the last answer: %v, %v; want EOF", n, err)
				}
			}
			if got := s.handoff.n.Load() > 0; got != tc.handed {
				t.Errorf("handed to net/http = %v; want %v", got, tc.handed)
			}
		})
	}
}

// TestFastSniffsAsNetHTTP: the fast path frames answers as net/http's
// server, which sniffs a missing Content-Type from the first bytes of the
// body however they are written: an origin answer without Content-Type
// whose first write is over preMax (relayed in one piece) gets the same
// type through the fast path as through net/http (a request with Pragma
// is handed to it).
func TestFastSniffsAsNetHTTP(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t))
	ct := func(extra string) string {
		c := sendRaw(t, s, "GET /big HTTP/1.1\r\nHost: a.test\r\n"+extra+"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); len(b) != 10000 || strings.Trim(string(b), "b") != "" {
			t.Fatalf("body %d bytes", len(b))
		}
		return resp.Header.Get("Content-Type")
	}
	fast, std := ct(""), ct("Pragma: no-cache\r\n")
	if fast != std || fast != "text/plain; charset=utf-8" {
		t.Errorf("GET /big (origin sends no Content-Type): fast path Content-Type %q, net/http %q; want text/plain; charset=utf-8 from both", fast, std)
	}
}

// TestFastWriterSniffsFirstBytes: fastWriter sniffs a missing
// Content-Type from the body's first bytes as net/http's server does,
// whether they come in one write under or over preMax, or split between a
// small write and a large one.
func TestFastWriterSniffsFirstBytes(t *testing.T) {
	html, plain := "<html><body>"+strings.Repeat("x", 600), strings.Repeat("y", 600)
	for _, writes := range [][]string{
		{html},
		{html + strings.Repeat("x", 3000)},
		{"<ht", "ml><body>" + strings.Repeat("x", 3000)},
		{plain, "<html>" + strings.Repeat("x", 3000)},
		{"\x00\x01", strings.Repeat("z", 3000)},
	} {
		write := func(w http.ResponseWriter) {
			for _, p := range writes {
				_, _ = io.WriteString(w, p)
			}
		}
		rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { write(w) }))
		resp, err := http.Get(rec.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		rec.Close()
		want := resp.Header.Get("Content-Type")

		var out strings.Builder
		bw := bufio.NewWriter(&out)
		w := &fastWriter{bw: bw, cc: &conn{s: &Server{}}, req: httptest.NewRequest(http.MethodGet, "/", nil), header: http.Header{}}
		write(w)
		w.finish()
		got, err := http.ReadResponse(bufio.NewReader(strings.NewReader(out.String())), nil)
		if err != nil {
			t.Fatal(err)
		}
		if ct := got.Header.Get("Content-Type"); ct != want {
			t.Errorf("%d writes, starting %q: Content-Type %q; net/http gives %q", len(writes), writes[0][:2], ct, want)
		}
	}
}

func TestFastTruncatedChunkedOrigin(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t))
	c := sendRaw(t, s, "GET /truncated HTTP/1.1\r\nHost: a.test\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("a truncated origin body reached the client as complete")
	}
}

func selfSigned(t *testing.T) *snapshot.TLS {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "a.test"},
		DNSNames: []string{"a.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return &snapshot.TLS{CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))}
}

// dialTLS opens a TLS connection to s (for a.test, unverified), which the
// test closes; reads and writes on it are bounded to 5 s.
func dialTLS(t *testing.T, s *Server) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

// TestFastTLSHandOff: a TLS connection handed to net/http mid-way keeps
// its TLS state (a plain-HTTP-only forced redirect must not apply).
func TestFastTLSHandOff(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t), true)
	c := dialTLS(t, s)
	io.WriteString(c, "GET /len HTTP/1.1\r\nHost: a.test\r\n\r\nGET /len HTTP/1.0\r\nHost: a.test\r\n\r\n")
	br := bufio.NewReader(c)
	for i := range 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "hello" {
			t.Errorf("answer %d = %d %q; want 200 hello", i, resp.StatusCode, body)
		}
	}
	if s.handoff.n.Load() != 1 {
		t.Errorf("handed %d connections to net/http; want 1", s.handoff.n.Load())
	}
}

// TestFastTLSKeepAliveAfterIdle: a TLS connection on the fast path waits
// for each request without its buffers, reading the request's first bytes
// into a small lead buffer (fastConn.await). Whatever those bytes hold
// must reach the request as sent: a head longer than the lead buffer, a
// body, two requests in one write, a request after a quiet moment.
func TestFastTLSKeepAliveAfterIdle(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t), true)
	c := dialTLS(t, s)
	br := bufio.NewReader(c)
	long := "X-Long: " + strings.Repeat("l", 1500) + "\r\n"
	for i, step := range []struct{ send, want string }{
		{"GET /len HTTP/1.1\r\nHost: a.test\r\n" + long + "\r\n", "hello"},
		{"POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 7\r\n\r\nupload!", "upload!"},
		{"GET /len HTTP/1.1\r\nHost: a.test\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nok", "hello ok"},
		{"GET /len HTTP/1.1\r\nHost: a.test\r\n" + long + long + "\r\n", "hello"},
	} {
		if i == 3 {
			time.Sleep(200 * time.Millisecond) // Parked without buffers.
		}
		if _, err := io.WriteString(c, step.send); err != nil {
			t.Fatal(err)
		}
		var got []string
		for range strings.Count(step.want, " ") + 1 {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("step %d: %s %q", i, resp.Status, body)
			}
			got = append(got, string(body))
		}
		if strings.Join(got, " ") != step.want {
			t.Errorf("step %d: answers %q; want %q", i, got, step.want)
		}
	}
	if s.handoff.n.Load() != 0 {
		t.Errorf("handed %d connections to net/http; want the fast path to serve all", s.handoff.n.Load())
	}
}

// sendRaw dials s, sends raw and returns the connection, which the test
// closes; reads and writes on it are bounded to 5 s.
func sendRaw(t *testing.T, s *Server, raw string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoutePath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"/api/x", "/api/x", true},
		{"/api/../secret", "/secret", true},
		{"/api/./x", "/api/x", true},
		{"//api//x", "/api/x", true},
		{"/api/x/..", "/api/", true},
		{"/api/.", "/api/", true},
		{"/.well-known/x", "/.well-known/x", true},
		{"/..", "", false},
		{"/a/../../b", "", false},
		{"*", "*", true},
		{"", "/", true},
	} {
		if got, ok := routePath(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("routePath(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestRoutingNormalisedPath: rules match the normalised path, so dot
// segments (plain or percent-encoded) cannot reach what no rule exposes;
// a path above the root is refused; the origin gets the path as sent.
func TestRoutingNormalisedPath(t *testing.T) {
	seen := make(chan string, 8)
	var conns atomic.Int32
	origin := countingOrigin(t, &conns, func(c net.Conn, req *http.Request, _ int) bool {
		seen <- req.RequestURI
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	s := editedServer(t, netip.MustParseAddrPort(origin), func(l *snapshot.HTTPListener) { l.Domains[0].Rules[0].Path = "/api/" })
	for path, want := range map[string]int{
		"/secret": 404, "/api/../secret": 404, "/api/%2e%2e/secret": 404, "/api/..%2fsecret": 404,
		"/api/../../etc": 400, "/api/./x": 200, "/x/../api/y": 200,
	} {
		c := sendRaw(t, s, "GET "+path+" HTTP/1.1\r\nHost: a.test\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if resp.StatusCode != want {
			t.Errorf("%s: got %d; want %d", path, resp.StatusCode, want)
		}
		if want != 200 {
			// The effect that matters: no request reached the origin (it
			// would have come before the answer).
			select {
			case got := <-seen:
				t.Errorf("%s: the origin got %q; want nothing", path, got)
			default:
			}
			continue
		}
		select {
		case got := <-seen:
			if got != path {
				t.Errorf("%s: the origin got %q; want it as sent", path, got)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("%s: nothing reached the origin", path)
		}
	}
}

// recordingOrigin answers "ok" to every request and passes each, as it
// read it, to the channel it returns.
func recordingOrigin(t *testing.T) (netip.AddrPort, chan *http.Request) {
	seen := make(chan *http.Request, 16)
	var conns atomic.Int32
	origin := countingOrigin(t, &conns, func(c net.Conn, req *http.Request, _ int) bool {
		_, _ = io.ReadAll(req.Body)
		seen <- req
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	return netip.MustParseAddrPort(origin), seen
}

// recordedRequest sends raw to s and returns the request the origin of
// recordingOrigin got for it.
func recordedRequest(t *testing.T, s *Server, raw string, seen chan *http.Request) *http.Request {
	t.Helper()
	c := sendRaw(t, s, raw)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	select {
	case req := <-seen:
		return req
	case <-time.After(3 * time.Second):
		t.Fatalf("%q: answered %s, but nothing reached the origin", raw, resp.Status)
	}
	return nil
}

// TestQueryForwardedUnchanged: the origin gets the query as the client
// sent it, as GAAP (nginx) passes the request URI on: ';' separators, a
// stray '%' or a malformed escape are the origin's business, and
// httputil.ReverseProxy (Rewrite mode) would otherwise drop the pairs
// url.ParseQuery refuses and re-sort the rest. A GET takes the direct
// exchange, a POST with a body ReverseProxy, and a GET with Pragma is
// handed by the fast path to net/http.
func TestQueryForwardedUnchanged(t *testing.T) {
	origin, seen := recordingOrigin(t)
	s := editedServer(t, origin, func(*snapshot.HTTPListener) {})
	for _, target := range []string{
		"/search?a=1;b=2&c=3", // ';' separators (old CGI, matrix-style apps).
		"/buy?discount=50%",   // A stray '%'.
		"/q?z=1&name=%zz&b=2", // A malformed escape in one value.
		"/q?b=2&a=1;x",        // Order is kept too.
		"/q?",                 // An empty query.
	} {
		for _, how := range []struct{ method, head, body string }{
			{"GET", "", ""},
			{"POST", "Content-Length: 2\r\n", "hi"},
			{"GET", "Pragma: no-cache\r\n", ""},
		} {
			raw := how.method + " " + target + " HTTP/1.1\r\nHost: a.test\r\n" + how.head + "\r\n" + how.body
			if got := recordedRequest(t, s, raw, seen); got.RequestURI != target {
				t.Errorf("%q: the origin got %q; want the target unchanged", raw, got.RequestURI)
			}
		}
	}
}

// TestPathForwardedAsSent: the origin gets the path as the client sent it,
// escapes included, as nginx passes the request URI on, while rules match
// the decoded path. Go's url package re-escapes the decoded path whenever
// the raw one holds a byte it escapes itself ('|', '{', '"', '^', ...):
// "%2F" would reach the origin as "/" (another segment) and "%2e%2e" as
// "..". A GET takes the direct exchange, a POST with a body ReverseProxy,
// a GET with Pragma and an absolute-form target are handed to net/http.
func TestPathForwardedAsSent(t *testing.T) {
	origin, seen := recordingOrigin(t)
	s := fastServer(t, origin)
	for _, target := range []string{"/files/a%2Fb|c", "/x/{id}/%2e%2e/y?q=%7C|", "/a%2fb^c", "/plain/a%2Fb"} {
		for _, how := range []struct{ method, target, head, body string }{
			{"GET", target, "", ""},
			{"POST", target, "Content-Length: 2\r\n", "hi"},
			{"GET", target, "Pragma: no-cache\r\n", ""},
			{"GET", "http://a.test" + target, "", ""},
		} {
			raw := how.method + " " + how.target + " HTTP/1.1\r\nHost: a.test\r\n" + how.head + "\r\n" + how.body
			if got := recordedRequest(t, s, raw, seen).RequestURI; got != target {
				t.Errorf("%q: the origin got %q; want %q, as sent", raw, got, target)
			}
		}
	}
}

// TestForwardedPortIsListeners: X-Forwarded-Port is one of the headers
// the proxy writes to tell origins about the client (model.BlackHeaders,
// so no custom header may set it): the origin gets the listener's port
// (1 here), never the client's claim, on the direct exchange, through
// ReverseProxy and through net/http, as X-Forwarded-Proto.
func TestForwardedPortIsListeners(t *testing.T) {
	origin, seen := recordingOrigin(t)
	s := editedServer(t, origin, func(*snapshot.HTTPListener) {})
	for _, raw := range []string{
		"GET /p HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-Port: 443\r\n\r\n",                         // Direct exchange.
		"POST /p HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-Port: 443\r\nContent-Length: 2\r\n\r\nhi", // ReverseProxy.
		"GET /p HTTP/1.0\r\nHost: a.test\r\nX-Forwarded-Port: 443\r\n\r\n",                         // net/http.
		"GET /p HTTP/1.1\r\nHost: a.test\r\nX_Forwarded_Port: 443\r\n\r\n",                         // A look-alike.
	} {
		got := recordedRequest(t, s, raw, seen)
		if v := got.Header["X-Forwarded-Port"]; len(v) != 1 || v[0] != "1" {
			t.Errorf("%q: the origin got X-Forwarded-Port %q; want the listener's port, \"1\"", raw, v)
		}
		for k, v := range got.Header {
			if strings.EqualFold(k, "X_Forwarded_Port") {
				t.Errorf("%q: the origin got %s %q; want it dropped", raw, k, v)
			}
		}
	}
}

// TestFastBareLFHead: a head whose lines end with bare LFs is handed to
// net/http and answered at once, not held until ReadHeaderTimeout.
func TestFastBareLFHead(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t))
	c := sendRaw(t, s, "GET /len HTTP/1.1\nHost: a.test\n\n")
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a bare-LF head: %v", err)
	}
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "hello" {
		t.Errorf("got %d %q; want 200 hello", resp.StatusCode, b)
	}
}

// TestFastNoFramingWithoutBody: a 204 and a 1xx head reach the client
// without Content-Length (or Transfer-Encoding), whatever the origin sent,
// as net/http's server strips them: a client that believed one would read
// the next answer as this one's body.
func TestFastNoFramingWithoutBody(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t))
	for _, tc := range []struct {
		path, wantStatus string
		typed            bool // Content-Type kept (204), as net/http; not on a 304.
	}{{"/204cl", "HTTP/1.1 204", true}, {"/304cl", "HTTP/1.1 304", false}, {"/103cl", "HTTP/1.1 103", false}} {
		c := sendRaw(t, s, "GET "+tc.path+" HTTP/1.1\r\nHost: a.test\r\n\r\n")
		head := strings.Join(readRawHead(t, bufio.NewReader(c)), "")
		h := strings.ToLower(head)
		if !strings.HasPrefix(head, tc.wantStatus) || strings.Contains(h, "content-length") ||
			strings.Contains(h, "transfer-encoding") || strings.Contains(h, "content-type") != tc.typed {
			t.Errorf("%s: head %q; want %s without framing headers, Content-Type %v", tc.path, head, tc.wantStatus, tc.typed)
		}
	}
}

// readRawHead reads an answer's head from br as it came: its lines, the
// empty one last.
func readRawHead(t *testing.T, br *bufio.Reader) []string {
	t.Helper()
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("answer head: %v after %q", err, lines)
		}
		if lines = append(lines, line); line == "\r\n" {
			return lines
		}
	}
}

// TestH2NoFramingWithoutBody: over HTTP/2 too, a 204 or 304 reaches the
// client without the origin's Content-Length (RFC 9110 8.6: never on a
// 204), as over HTTP/1.1 (TestFastNoFramingWithoutBody). net/http's HTTP/2
// server passes it on and ends the stream with an empty DATA frame, not
// with the head, so a client takes it for a body to come: Go's HTTP/2
// client failed such answers with "unexpected EOF".
func TestH2NoFramingWithoutBody(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t), true)
	var h2 http.Protocols
	h2.SetHTTP2(true)
	cl := &http.Client{Transport: &http.Transport{Protocols: &h2,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"}}}
	for _, p := range []string{"/204cl", "/304cl"} {
		req, _ := http.NewRequest("GET", "https://"+s.Addr().String()+p, nil)
		req.Host = "a.test"
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.Header.Get("Content-Length") != "" || resp.ProtoMajor != 2 {
			t.Errorf("GET %s: %s %s with Content-Length %q, reading the (empty) body: %v; want HTTP/2, no Content-Length, no error",
				p, resp.Proto, resp.Status, resp.Header.Get("Content-Length"), err)
		}
	}
}

// TestFastSmugglingRefused: a request with both Content-Length and
// Transfer-Encoding gets 400 and its connection is closed, so that what
// follows it on the connection is never served as a request.
func TestFastSmugglingRefused(t *testing.T) {
	origin, conns := countedScriptedOrigin(t)
	s := fastServer(t, origin)
	c := sendRaw(t, s, "POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\ntransfer-encoding: chunked\r\n\r\n"+
		"0\r\n\r\nGET /len HTTP/1.1\r\nHost: a.test\r\n\r\n")
	b, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 400 ") || strings.Count(string(b), "HTTP/1.1") != 1 {
		t.Errorf("got %q, %v; want one 400, then the connection closed", b, err)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("%d origin connections; want none", n)
	}

	// Where the fast path does not see the head (after a hand-off to
	// net/http, or a head over its buffer), a chunked request is served
	// and the connection then closed, so what follows is never served.
	// So is an HTTP/1.0 one (net/http drops its Transfer-Encoding).
	// "OPTIONS *" too, which net/http answered itself, keeping the
	// connection, before the edge took it (DisableGeneralOptionsHandler).
	handOff := "GET /len HTTP/1.1\r\nHost: a.test\r\nPragma: no-cache\r\n\r\n"
	next := "GET /len HTTP/1.1\r\nHost: a.test\r\n\r\n"
	smuggle := "POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 40\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n" + next
	for _, tc := range []struct {
		name, raw string
		answers   int
	}{
		{"after a hand-off", handOff + smuggle, 2},
		{"big head", strings.Replace(smuggle, "Host: a.test\r\n", "Host: a.test\r\nCookie: "+strings.Repeat("c", 5000)+"\r\n", 1), 1},
		{"OPTIONS * after a hand-off", handOff +
			"OPTIONS * HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + next, 2},
		{"HTTP/1.0 OPTIONS * after a hand-off", handOff +
			"OPTIONS * HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" + next, 2},
	} {
		b, err := io.ReadAll(sendRaw(t, s, tc.raw))
		if n := strings.Count(string(b), "HTTP/1."); err != nil || n != tc.answers {
			t.Errorf("%s: got %q, %v; want %d answers, then the connection closed", tc.name, b, err, tc.answers)
		}
	}
}

// TestLongRequestLineIs414: a request line over MaxHeaderBytes gets 414
// (RFC 9112 3: a request-target longer than the server takes MUST get
// one; nginx answers so), header fields over it 431, whether the fast path
// handed the head to net/http (over its buffer) or net/http read it after
// a hand-off. net/http answers 431 to both, which tells the client to trim
// headers that are not the problem. A head net/http read ahead with the
// request before it keeps the 431, never a 414 for its header fields.
func TestLongRequestLineIs414(t *testing.T) {
	origin, seen := recordingOrigin(t)
	s := fastServer(t, origin)
	handOff := "GET /len HTTP/1.1\r\nHost: a.test\r\nPragma: no-cache\r\n\r\n"
	long := strings.Repeat("a", MaxHeaderBytes+8<<10)
	longLine := "GET /" + long + " HTTP/1.1\r\nHost: a.test\r\n\r\n"
	longField := "GET /len HTTP/1.1\r\nHost: a.test\r\nX-Big: " + long + "\r\n\r\n"
	for _, tc := range []struct {
		name   string
		before string // A request answered before the head is sent.
		head   string
		want   int
	}{
		{"request line", "", longLine, http.StatusRequestURITooLong},
		{"header field", "", longField, http.StatusRequestHeaderFieldsTooLarge},
		{"request line after a hand-off", handOff, longLine, http.StatusRequestURITooLong},
		{"header field after a hand-off", handOff, longField, http.StatusRequestHeaderFieldsTooLarge},
		{"header field pipelined after a hand-off", "", handOff + longField, http.StatusRequestHeaderFieldsTooLarge},
	} {
		c := sendRaw(t, s, tc.before)
		br := bufio.NewReader(c)
		firstAnswer := func() {
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: first answer %v, %v; want 200", tc.name, resp, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		if tc.before != "" {
			firstAnswer()
		}
		_, _ = io.WriteString(c, tc.head)
		if strings.HasPrefix(tc.head, handOff) {
			firstAnswer()
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.want || !resp.Close {
			t.Errorf("%s over MaxHeaderBytes: %s %q, Connection: close %v; want %d, closed", tc.name, resp.Status, body, resp.Close, tc.want)
		}
		for len(seen) > 0 {
			if req := <-seen; req.URL.Path != "/len" {
				t.Errorf("%s: %s %.20s... reached the origin", tc.name, req.Method, req.URL.Path)
			}
		}
	}
}

// TestFastHTTP10TransferEncodingRefused: RFC 9112 (6.1) has a server treat
// the framing of an HTTP/1.0 request with Transfer-Encoding as faulty and
// close the connection, Content-Length or not; net/http ignores the header
// there (framing by Content-Length, or no body), so where the edge sees the
// head it answers 400 and closes, as nginx does: the chunked body is never
// read as further requests, nor the request sent on without its body.
func TestFastHTTP10TransferEncodingRefused(t *testing.T) {
	origin, seen := recordingOrigin(t)
	s := fastServer(t, origin)
	for _, head := range []string{
		"POST /up HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST /up HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /up HTTP/1.0\r\nHost: a.test\r\ntransfer-encoding: identity\r\n\r\n",
	} {
		b, err := io.ReadAll(sendRaw(t, s, head+"5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n"))
		if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 400 ") || strings.Count(string(b), "HTTP/1.") != 1 {
			t.Errorf("%q: got %q, %v; want one 400, then the connection closed", head, b, err)
		}
		select {
		case req := <-seen:
			t.Errorf("%q: the origin got %s %s; want nothing", head, req.Method, req.RequestURI)
		default:
		}
	}
}

// TestInvalidHostRefused: RFC 9112 (3.2) has a server answer 400 to a
// request whose Host is not uri-host [":" port], and the edge closes the
// connection, as nginx does. "admin.test:1:2" was routed by
// "admin.test:1" (no domain: the default one, without admin.test's basic
// auth) and forwarded unchanged to origins such as nginx, which end the
// host at the first colon and served it as admin.test: the basic auth was
// bypassed. On the fast path, after a hand-off to net/http, and over
// HTTP/2 (:authority).
func TestInvalidHostRefused(t *testing.T) {
	origin, seen := recordingOrigin(t)
	withAdmin := func(l *snapshot.HTTPListener) {
		admin := l.Domains[0]
		admin.Host, admin.IsDefault = "admin.test", false
		admin.BasicAuth = []string{"alice:{PLAIN}secret"}
		l.Domains = append(l.Domains, admin)
	}
	nothingSent := func(what string) {
		t.Helper()
		select {
		case req := <-seen:
			t.Errorf("%s: origin got %s %s with Host %q, Authorization %q (no credentials checked)",
				what, req.Method, req.RequestURI, req.Host, req.Header.Get("Authorization"))
		case <-time.After(300 * time.Millisecond):
		}
	}
	s := editedServer(t, origin, withAdmin)
	// Sanity: the plain host is protected.
	c := sendRaw(t, s, "GET /secret HTTP/1.1\r\nHost: admin.test\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 401 {
		t.Fatalf("admin.test without credentials: %v %v; want 401", resp, err)
	}
	for _, raw := range []string{
		"GET /secret HTTP/1.1\r\nHost: admin.test:1:2\r\n\r\n",                     // Fast path.
		"GET /secret HTTP/1.1\r\nHost: admin.test:1:2\r\nPragma: no-cache\r\n\r\n", // net/http.
		"GET /secret HTTP/1.1\r\nHost: public.test@admin.test\r\nPragma: no-cache\r\n\r\n",
		"GET /secret HTTP/1.1\r\nHost: admin.test..\r\n\r\n", // An empty label, as nginx refuses it.
	} {
		br := bufio.NewReader(sendRaw(t, s, raw+"GET /next HTTP/1.1\r\nHost: a.test\r\n\r\n"))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if rest, _ := io.ReadAll(br); resp.StatusCode != http.StatusBadRequest || !resp.Close || len(rest) != 0 {
			t.Errorf("%q: got %d, then %q; want 400 (invalid Host, RFC 9112 3.2), then the connection closed",
				raw, resp.StatusCode, rest)
		}
		nothingSent(raw)
	}

	s = editedServer(t, origin, func(l *snapshot.HTTPListener) {
		l.Protocol, l.TLS = snapshot.ProtoHTTPS, selfSigned(t)
		withAdmin(l)
	})
	var h2 http.Protocols
	h2.SetHTTP2(true)
	cl := &http.Client{Transport: &http.Transport{Protocols: &h2,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "admin.test"}}}
	req, _ := http.NewRequest("GET", "https://"+s.Addr().String()+"/secret", nil)
	req.Host = "admin.test:1:2"
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.ProtoMajor != 2 {
		t.Errorf("HTTP/2 :authority admin.test:1:2: got %s %d; want HTTP/2 400", resp.Proto, resp.StatusCode)
	}
	nothingSent("HTTP/2")
}

// TestMalformedChunkedBodyIs400: a chunked request body that is not valid
// chunked coding (RFC 9112 7.1: chunk-size is 1*HEXDIG, lines end with
// CRLF) is the client's error: 400, as nginx answers, counted as a 4xx,
// with the client's connection closed. The edge had streamed the head and
// what it parsed of the body to the origin, then answered 502 Bad Gateway,
// counted against the rule as the origin's failure.
func TestMalformedChunkedBodyIs400(t *testing.T) {
	origin, seen := recordingOrigin(t)
	s := fastServer(t, origin)
	bodies := []string{
		"0x3\r\nabc\r\n0\r\n\r\n",           // Hex prefix.
		"+3\r\nabc\r\n0\r\n\r\n",            // Sign.
		"3\nabc\r\n0\r\n\r\n",               // Bare LF after the size.
		"3;a=\"x\r\n\"\r\nabc\r\n0\r\n\r\n", // Quoted CRLF in an extension.
	}
	for _, body := range bodies {
		br := bufio.NewReader(sendRaw(t, s, "POST /up HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"+body+
			"GET /next HTTP/1.1\r\nHost: a.test\r\n\r\n"))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if rest, _ := io.ReadAll(br); resp.StatusCode != http.StatusBadRequest || len(rest) != 0 {
			t.Errorf("%q: got %q, then %q; want 400 (the client's malformed body, not the origin's failure), then the connection closed",
				body, resp.Status, rest)
		}
		select { // The origin got the head and a truncated body.
		case <-seen:
		case <-time.After(100 * time.Millisecond):
		}
	}
	rc := s.Handler().rules[0].stats
	if got := [2]int64{rc.Status[4].Load(), rc.Status[5].Load()}; got != [2]int64{int64(len(bodies)), 0} {
		t.Errorf("rule counted %d 4xx, %d 5xx; want %d, 0", got[0], got[1], len(bodies))
	}
}

// TestHTTP10TransferEncodingUnseenCloses: where the fast path does not see
// an HTTP/1.0 head (after a hand-off, or a head over its buffer), net/http
// drops its Transfer-Encoding before the handler could tell; every
// HTTP/1.0 request is then answered with the connection closed, so what a
// front end honouring the chunked framing sent as the body is never served
// as a request of its own (TE.CL request smuggling).
func TestHTTP10TransferEncodingUnseenCloses(t *testing.T) {
	origin, seen := recordingOrigin(t)
	s := fastServer(t, origin)
	smuggle := "POST /up HTTP/1.0\r\nHost: a.test\r\nConnection: keep-alive\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"28\r\nGET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n\r\n0\r\n\r\n"
	for _, tc := range []struct {
		name, raw string
		answers   int
	}{
		{"after a hand-off", "GET /first HTTP/1.1\r\nHost: a.test\r\nPragma: no-cache\r\n\r\n" + smuggle, 2},
		{"big head", strings.Replace(smuggle, "Host: a.test\r\n", "Host: a.test\r\nCookie: "+strings.Repeat("c", 5000)+"\r\n", 1), 1},
		{"without Content-Length", "GET /first HTTP/1.1\r\nHost: a.test\r\nPragma: no-cache\r\n\r\n" +
			strings.Replace(smuggle, "Content-Length: 4\r\n", "", 1), 2},
	} {
		b, err := io.ReadAll(sendRaw(t, s, tc.raw))
		if n := strings.Count(string(b), "HTTP/1."); err != nil || n != tc.answers || !strings.Contains(string(b), "Connection: close\r\n") {
			t.Errorf("%s: got %q, %v; want %d answers, the last with Connection: close, then the connection closed", tc.name, b, err, tc.answers)
		}
		for done := false; !done; {
			select {
			case req := <-seen:
				if req.URL.Path == "/smuggled" {
					t.Errorf("%s: the chunk data reached the origin as a request of its own (GET /smuggled)", tc.name)
				}
			default:
				done = true
			}
		}
	}
}

// TestInterimKeepsConnectionClose: every chunked HTTP/1 request is
// answered with "Connection: close" and its connection closed
// (mayBeSmuggled), also when the origin sends an interim answer first:
// here a net/http origin's automatic 100 Continue to the Expect header
// curl sends with chunked uploads. httputil.ReverseProxy clears the answer
// header map after relaying a 1xx, so a header the edge put there before
// proxying went out on the 100 and the final answer lacked it.
func TestInterimKeepsConnectionClose(t *testing.T) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // Reading sends "100 Continue" (Expect).
		_, _ = w.Write(b)
	}))
	t.Cleanup(o.Close)
	s := fastServer(t, netip.MustParseAddrPort(o.Listener.Addr().String()))
	c := sendRaw(t, s, "POST /up HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"+
		"3\r\nabc\r\n0\r\n\r\n")
	br := bufio.NewReader(c)
	resp, interim := readFinalAnswer(t, br, "POST")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "abc" || interim != 1 {
		t.Fatalf("answer %s %q after %d interim answers; want 200 abc after a 100", resp.Status, body, interim)
	}
	if !resp.Close {
		t.Errorf("final answer to a chunked request has no \"Connection: close\" (header %v)", resp.Header)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection after a chunked request: read err %v; want EOF (closed by the edge)", err)
	}
}

// readFinalAnswer reads answers to a method from br up to the final one,
// which it returns with the number of interim (1xx) answers before it.
// None may carry "Connection: close", which belongs to the final answer.
func readFinalAnswer(t *testing.T, br *bufio.Reader, method string) (*http.Response, int) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	interim := 0
	for ; err == nil && resp.StatusCode < 200; interim++ {
		if resp.Close {
			t.Errorf("interim %s carries the final answer's Connection: close", resp.Status)
		}
		resp, err = http.ReadResponse(br, &http.Request{Method: method})
	}
	if err != nil {
		t.Fatal(err)
	}
	return resp, interim
}

// TestOneContinue: a client that expects a 100 Continue gets one, and no
// other interim answer once the upload has begun. net/http's HTTP/1
// server sends its own 100 at the body's first read unless a 100 went out
// first; the Transport starts reading the body as the origin's 100
// arrives and only then relays that 100, so the client got two now and
// then (TestInterimKeepsConnectionClose under the race detector). Here
// that order is forced: the body is read, then the origin's 100 relayed.
// A 103 relayed then would race net/http's own 100 on the wire
// (golang/go#80949): it is dropped too.
func TestOneContinue(t *testing.T) {
	h := &Handler{env: &Env{}}
	for _, code := range []int{http.StatusContinue, http.StatusEarlyHints} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			rw := &recorder{ResponseWriter: w}
			rw.body = h.watchBody(req, &rw.in)
			b, _ := io.ReadAll(rw.body)
			rw.WriteHeader(code)
			_, _ = rw.Write(b)
		}))
		t.Cleanup(srv.Close)
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, interim := readFinalAnswer(t, bufio.NewReader(c), "POST")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "abc" || interim != 1 {
			t.Fatalf("origin's %d relayed after the upload began: answer %s %q after %d interim answers; want 200 abc after one 100",
				code, resp.Status, body, interim)
		}
	}
}

// TestCloseWaitsForBodyRead: a request whose handler panicked, or whose
// connection was cut, leaves its body open, and an origin transport may
// still be reading it through the connection's read buffer, blocked on
// the client. close must end that read (closing the connection) and give
// the buffer back to its pool only after it, or another connection would
// get a buffer still being written.
func TestCloseWaitsForBodyRead(t *testing.T) {
	a, b := net.Pipe()
	t.Cleanup(func() { _ = b.Close() })
	fc := &fastConn{nc: a, src: a}
	fc.holdBuffers()
	body := &fastBody{br: fc.br, left: 10}
	fc.body = body
	body.mu.Lock() // The transport's read, blocked on the client.
	done := make(chan struct{})
	go func() { fc.close(); close(done) }()
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := b.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client side read: %v; want EOF (close closes the connection first)", err)
	}
	select {
	case <-done:
		t.Fatal("close returned (its read buffer pooled) while a read of the body held it")
	case <-time.After(100 * time.Millisecond):
	}
	body.mu.Unlock() // The read fails: the connection is closed.
	<-done
	if !body.closed || fc.br != nil {
		t.Errorf("after close: body closed %v, read buffer held %v; want closed, not held", body.closed, fc.br != nil)
	}
}

// TestNo1xxToHTTP10Client: RFC 9110 15.2, "a server MUST NOT send a 1xx
// response to an HTTP/1.0 client". The edge speaks HTTP/1.1 to origins,
// so an origin sends 103 Early Hints (or 100 Continue) whatever the client
// spoke; an HTTP/1.0 client (ab, wget 1.x, old probes) would take it for
// the final answer. It gets the final answer alone; an HTTP/1.1 client
// still gets the 103.
func TestNo1xxToHTTP10Client(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t)) // "/103": 103 Early Hints, then 200 "hello".
	for _, proto := range []string{"HTTP/1.0", "HTTP/1.1"} {
		c := sendRaw(t, s, "GET /103 "+proto+"\r\nHost: a.test\r\nConnection: close\r\n\r\n")
		b, err := io.ReadAll(c)
		got := string(b)
		_, final, _ := strings.Cut(got, " 200 OK\r\n")
		if err != nil || !strings.HasSuffix(final, "\r\n\r\nhello") || strings.Contains(got, " 103 ") != (proto == "HTTP/1.1") {
			t.Errorf("%s client: got %q, %v; want a 200 hello, after a 103 only for HTTP/1.1", proto, got, err)
		}
	}
}

// TestH2FirstHeadTimeout: an HTTP/2 connection's first request head must
// be complete ReadHeaderTimeout (here 1 s) after its handshake, however
// it trickles, as an HTTP/1 one's: net/http's HTTP/2 server applies no
// header timeout of its own, and a head sent as a HEADERS frame and then
// one CONTINUATION byte at a time would hold the connection until its
// idle timeout (75 s). A connection whose first head came in keeps
// serving past that time.
func TestH2FirstHeadTimeout(t *testing.T) {
	const timeout = time.Second
	firstHeadTimeout = timeout
	t.Cleanup(func() { firstHeadTimeout = ReadHeaderTimeout })
	s := fastServer(t, scriptedOrigin(t), true)
	addr := s.Addr()

	start := time.Now() // Before the dial: the edge's clock starts in it.
	slow := edgetest.DialH2(t, addr, "a.test")
	settings := make(chan struct{}, 1)
	cut := slow.ReadLoop(func(f http2.Frame) {
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			select { // Acknowledged: the read loop needs slow.Mu no more.
			case settings <- struct{}{}:
			default:
			}
		}
	})
	live := edgetest.DialH2(t, addr, "a.test")
	heads := make(chan uint32, 2)
	liveEnd := live.ReadLoop(func(f http2.Frame) {
		if h, ok := f.(*http2.HeadersFrame); ok {
			heads <- h.StreamID
		}
	})
	answered := func(id uint32) {
		t.Helper()
		select {
		case got := <-heads:
			if got != id {
				t.Fatalf("answer head for stream %d; want %d", got, id)
			}
		case <-liveEnd:
			t.Fatalf("stream %d: connection closed after %v", id, time.Since(start))
		case <-time.After(5 * time.Second):
			t.Fatalf("stream %d: no answer head", id)
		}
	}
	live.Request(1, "a.test", http.MethodGet, "/len")
	answered(1)

	head := edgetest.H2Head(http.MethodGet, "a.test", "/len", "x-pad", strings.Repeat("a", 200))
	<-settings
	slow.Mu.Lock() // Held: nothing may come between a head's frames.
	defer slow.Mu.Unlock()
	_ = slow.Fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: head[:10], EndStream: true})
	slow.Flush()
	for rest := head[10:]; ; rest = rest[1:] {
		select {
		case <-cut:
			if d := time.Since(start); d < timeout-200*time.Millisecond || d > timeout+1500*time.Millisecond {
				t.Errorf("trickling first head: connection closed after %v; want after %v", d, timeout)
			}
			live.Request(3, "a.test", http.MethodGet, "/len") // Its first head in 1 s ago and more.
			answered(3)
			return
		case <-time.After(50 * time.Millisecond):
		}
		if len(rest) == 1 {
			t.Fatalf("trickling first head: connection still open after %v", time.Since(start))
		}
		_ = slow.Fr.WriteContinuation(1, false, rest[:1])
		slow.Flush()
	}
}

// TestEarlyAnswerNotHeldByStalledUpload: an origin that answers an upload
// early (413, 401, ...) while it goes on reading the body has its answer
// reach the client at once, though the client's upload has paused. The
// Transport's writeLoop then waits in the body's Read on the client,
// holding its lock: the fast path's head waited for that lock (the
// unread body's size), net/http's for the same one (golang/go#15527),
// until the client sent more or BodyIdleTimeout ended the request. The
// connection then closes, the rest of the upload abandoned.
func TestEarlyAnswerNotHeldByStalledUpload(t *testing.T) {
	addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.ReadFull(req.Body, make([]byte, 1000))
		io.WriteString(c, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\n\r\nbig")
		_, _ = io.Copy(io.Discard, req.Body) // Reads on, as many servers do.
	})
	s := fastServer(t, netip.MustParseAddrPort(addr))
	for _, tc := range []struct{ path, extra string }{
		{"fast", ""},
		{"net/http", "Pragma: no-cache\r\n"}, // parseFastHead refuses it.
	} {
		t.Run(tc.path, func(t *testing.T) {
			// 10 KB of a 1 MB body, then the client waits for an answer.
			c := sendRaw(t, s, "POST /up HTTP/1.1\r\nHost: a.test\r\n"+tc.extra+"Content-Length: 1000000\r\n\r\n"+strings.Repeat("x", 10000))
			start := time.Now()
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer %v after the origin's early 413: %v", time.Since(start).Round(time.Millisecond), err)
			}
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d; want 413", resp.StatusCode)
			}
		})
	}
}

// earlyRefusingOrigin answers every request 413 after its head, then
// half-closes and discards the body, as a server with a lingering close
// does, so that its side never resets the edge's transport.
func earlyRefusingOrigin(t *testing.T) netip.AddrPort {
	return netip.MustParseAddrPort(rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig")
		_ = c.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, br)
	}))
}

// TestEarlyAnswerUploadNotReset guards the lingering close: a client that
// writes a whole 10 MiB upload and then reads the answer, to an origin
// that refuses it (413) after the head. The edge answered and closed the
// connection with the body unread, so the kernel reset it: the client's
// write failed ("connection reset by peer", "broken pipe", every run),
// and a reset may take the answer with it. The edge now half-closes and
// reads what the client still sends until it closes. Fast path and
// net/http, HTTP and HTTPS.
func TestEarlyAnswerUploadNotReset(t *testing.T) {
	origin := earlyRefusingOrigin(t)
	body := strings.Repeat("x", 10<<20)
	for _, https := range []bool{false, true} {
		s := fastServer(t, origin)
		if https {
			s = fastServer(t, origin, true)
		}
		for _, tc := range []struct{ path, extra string }{
			{"fast", ""},
			{"net/http", "Pragma: no-cache\r\n"}, // parseFastHead refuses it.
		} {
			for run := range 5 {
				var c net.Conn
				var err error
				if https {
					c, err = tls.Dial("tcp", s.Addr().String(), &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"})
				} else {
					c, err = net.Dial("tcp", s.Addr().String())
				}
				if err != nil {
					t.Fatal(err)
				}
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, werr := io.WriteString(c, "POST /up HTTP/1.1\r\nHost: a.test\r\n"+tc.extra+"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
				resp, rerr := http.ReadResponse(bufio.NewReader(c), nil)
				c.Close()
				if werr != nil || rerr != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
					status := "none"
					if resp != nil {
						status = resp.Status
					}
					t.Fatalf("HTTPS %v, %s, run %d: upload write error %v, answer %s (read error %v); want the whole body written and the origin's 413",
						https, tc.path, run, werr, status, rerr)
				}
			}
		}
	}
}

// TestLingeringCloseBounded: the lingering close cannot hold a connection
// for ever. A client that goes on sending after the edge's early answer
// is cut at lingerTime, one that sends nothing more at lingerTimeout,
// and until then the connection keeps its place among the open ones (and
// its MaxConns slot).
func TestLingeringCloseBounded(t *testing.T) {
	defer func(a, b time.Duration) { lingerTime, lingerTimeout = a, b }(lingerTime, lingerTimeout)
	lingerTime, lingerTimeout = time.Second, 300*time.Millisecond
	s := fastServer(t, earlyRefusingOrigin(t))
	for _, tc := range []struct {
		name  string
		every time.Duration // 0: the client sends nothing more.
		want  time.Duration
	}{
		{"sending for ever", 50 * time.Millisecond, lingerTime},
		{"silent", 0, lingerTimeout},
	} {
		// Before the request: the edge begins lingering after this, but
		// may before the client sees the answer.
		sent := time.Now()
		c := sendRaw(t, s, "POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 100000000\r\n\r\n"+strings.Repeat("x", 1<<16))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: answer %v, %v; want 413", tc.name, resp, err)
		}
		if _, err := io.Copy(io.Discard, br); err != nil {
			t.Fatalf("%s: after the answer the edge's side ended with %v; want a FIN", tc.name, err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for tc.every > 0 {
				if _, err := c.Write(make([]byte, 1024)); err != nil {
					return
				}
				time.Sleep(tc.every)
			}
		}()
		time.Sleep(tc.want / 2)
		// Only while the linger is surely on: less than want since sent.
		if n := s.open(); n != 1 && time.Since(sent) < tc.want {
			t.Errorf("%s: %d open connections while lingering; want 1 (it keeps its slot)", tc.name, n)
		}
		for s.open() > 0 && time.Since(sent) < tc.want+2*time.Second {
			time.Sleep(20 * time.Millisecond)
		}
		if took := time.Since(sent); s.open() > 0 || took < tc.want {
			t.Errorf("%s: lingering ended after %v (open %d); want about %v", tc.name, took.Round(time.Millisecond), s.open(), tc.want)
		}
		c.Close()
		<-done
	}
}

// TestUnreadBodyDiscardBounded: a request whose body the edge does not
// read (its own 404; an origin's refusal, not retried: a 502) has that
// body discarded after the answer. The discard read the client with no
// deadline, on the fast path and on net/http's, and net/http held the
// answer itself behind it for a declared length: a client that declared
// a body and never sent it held the connection, its goroutine and its
// MaxConns slot for good. The answer now comes at once, and the
// connection closes within BodyIdleTimeout.
func TestUnreadBodyDiscardBounded(t *testing.T) {
	const idle = 300 * time.Millisecond
	env := func(e *Env) { e.BodyIdleTimeout = idle }
	servers := map[string]*Server{
		"the edge's 404": envServer(t, scriptedOrigin(t), env, func(l *snapshot.HTTPListener) {
			l.Domains[0].Rules[0].Path = "/api" // "/other" matches no rule.
		}),
		"a refusing origin's 502": envServer(t, netip.MustParseAddrPort("127.0.0.1:9"), env, func(*snapshot.HTTPListener) {}),
	}
	for answer, s := range servers {
		for _, tc := range []struct{ name, head string }{
			{"fast path", "POST /other HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1000\r\n\r\n"},
			{"net/http, declared length", "POST /other HTTP/1.1\r\nHost: a.test\r\nPragma: x\r\nContent-Length: 1000\r\n\r\n"},
			{"net/http, chunked", "POST /other HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"},
		} {
			c := sendRaw(t, s, tc.head)
			_ = c.SetReadDeadline(time.Now().Add(idle + 2*time.Second))
			br := bufio.NewReader(c)
			start := time.Now()
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Errorf("%s, %s: no answer after %v with the body never sent: %v; want it at once", answer, tc.name, time.Since(start).Round(time.Millisecond), err)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if _, err = br.ReadByte(); errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("%s, %s: answered %s, then the connection was still open %v later with the body never sent; want it closed within about BodyIdleTimeout (%v)",
					answer, tc.name, resp.Status, time.Since(start).Round(time.Millisecond), idle)
			}
		}
	}
}

// TestLateBodyNotReadAsRequest: the same request on net/http's path. A
// discard that timed out left net/http taking the connection for
// reusable, and it read the body's bytes, when they came, as a next
// request: a desync. A timed-out discard closes the connection.
func TestLateBodyNotReadAsRequest(t *testing.T) {
	const idle = 300 * time.Millisecond
	s := envServer(t, netip.MustParseAddrPort("127.0.0.1:9"), func(e *Env) { e.BodyIdleTimeout = idle }, func(l *snapshot.HTTPListener) {})
	body := "GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n"
	c := sendRaw(t, s, "POST /x HTTP/1.1\r\nHost: a.test\r\nPragma: x\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	time.Sleep(idle + 300*time.Millisecond) // The client's body comes late (a slow upload).
	if _, err := io.WriteString(c, body); err != nil {
		return // Closed: right.
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if second, err := http.ReadResponse(br, nil); err == nil {
		dump, _ := io.ReadAll(second.Body)
		t.Logf("second answer: %s %v %q", second.Status, second.Header, dump)
		t.Errorf("the POST's %d body bytes, sent late, were served as a request of their own: %s (first answer %s had Connection %q); want the connection closed",
			len(body), second.Status, resp.Status, resp.Header.Get("Connection"))
	}
}

// TestUnreadBodyKeepAliveHonest: an answer to a POST whose body the edge
// did not read (its own 404, an origin's refusal) either says it closes
// the connection or serves the next request on it. On net/http's path a
// full-duplex answer without "Connection: close" was followed by a close:
// net/http's discard of the body after the answer reaches its end and
// starts a background read, which the next request's read trips over.
func TestUnreadBodyKeepAliveHonest(t *testing.T) {
	own := envServer(t, scriptedOrigin(t), nil, func(l *snapshot.HTTPListener) {
		l.Domains[0].Rules[0].Path = "/api" // "/other" matches no rule: the edge's 404.
	})
	refused := envServer(t, netip.MustParseAddrPort("127.0.0.1:9"), nil, func(l *snapshot.HTTPListener) {})
	for _, tc := range []struct {
		name, extra string
		s           *Server
	}{
		{"fast path, 404", "Content-Length: 5\r\n\r\nhello", own},
		{"net/http, 404", "Pragma: x\r\nContent-Length: 5\r\n\r\nhello", own},
		{"net/http, chunked, 404", "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", own},
		{"fast path, 502", "Content-Length: 5\r\n\r\nhello", refused},
		{"net/http, 502", "Pragma: x\r\nContent-Length: 5\r\n\r\nhello", refused},
	} {
		s := tc.s

		c := sendRaw(t, s, "POST /other HTTP/1.1\r\nHost: a.test\r\n"+tc.extra)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.Close {
			continue // Said it closes: a client opens a new connection.
		}
		time.Sleep(100 * time.Millisecond) // The client's next request comes a little later.
		if _, err := io.WriteString(c, "GET /other HTTP/1.1\r\nHost: a.test\r\n\r\n"); err != nil {
			t.Errorf("%s: the keep-alive answer %s was followed by a closed connection: %v", tc.name, resp.Status, err)
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if second, err := http.ReadResponse(br, nil); err != nil {
			t.Errorf("%s: first answer %s without Connection: close, then the next request on the connection got no answer: %v; want it served (or the first answer to say close)",
				tc.name, resp.Status, err)
		} else {
			second.Body.Close()
		}
	}
}

// TestFastExtraCRLFAfterPost: RFC 9112 (2.2) has a server skip empty
// lines before a request line ("some old HTTP/1.0 client implementations
// generate an extra CRLF after a POST request"); net/http does after a
// POST, nginx always. The fast path served the POST and handed the
// "\r\nGET ..." head to a net/http connection that never saw the POST: a
// 400 and the connection closed.
func TestFastExtraCRLFAfterPost(t *testing.T) {
	origin, _ := recordingOrigin(t)
	s := fastServer(t, origin)
	post := "POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello\r\n"
	get := "GET /next HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
	for _, tc := range []struct{ name, raw string }{
		// The POST carries Pragma, so the fast path hands it to net/http.
		{"net/http", strings.Replace(post, "Host: a.test\r\n", "Host: a.test\r\nPragma: x\r\n", 1) + get},
		{"fast path", post + get},
	} {
		br := bufio.NewReader(sendRaw(t, s, tc.raw))
		var got []string
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				break
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			got = append(got, resp.Status)
		}
		if len(got) != 2 || got[0] != "200 OK" || got[1] != "200 OK" {
			t.Errorf("%s: POST with an extra CRLF after its body, then a GET: answers %q; want 200 OK twice (RFC 9112 2.2, as net/http and nginx)",
				tc.name, got)
		}
	}
}

// TestCustomUnderscoreHeaderHyphenLookAlike: a rule's custom header
// whose name has underscores (the reference's own style: X-REAL_IP) is
// "set, replacing a client value"; the client's hyphenated spelling of it
// reads the same to CGI/PHP (HTTP_X_CLIENT_IP) and is what nginx- or
// httpd-fronted origins keep (both drop underscore names by default), so
// it is dropped as the underscore look-alikes of hyphenated names are
// (posesAs, both ways now, as governs matches trailers). Direct exchange,
// ReverseProxy and net/http alike. It reached the origin.
func TestCustomUnderscoreHeaderHyphenLookAlike(t *testing.T) {
	origin, seen := recordingOrigin(t)
	s := editedServer(t, origin, func(l *snapshot.HTTPListener) {
		l.Domains[0].Rules[0].Headers = []snapshot.Header{{Name: "X-Client_IP", Value: "$remote_addr"}}
	})
	for _, raw := range []string{
		"GET /p HTTP/1.1\r\nHost: a.test\r\nX-Client-IP: 6.6.6.6\r\n\r\n",                         // Direct exchange.
		"POST /p HTTP/1.1\r\nHost: a.test\r\nX-Client-IP: 6.6.6.6\r\nContent-Length: 2\r\n\r\nhi", // ReverseProxy.
		"GET /p HTTP/1.0\r\nHost: a.test\r\nx-client-ip: 6.6.6.6\r\n\r\n",                         // net/http.
	} {
		got := recordedRequest(t, s, raw, seen)
		if v := got.Header["X-Client_ip"]; len(v) != 1 || v[0] != "127.0.0.1" {
			t.Errorf("%q: custom header X-Client_IP = %q; want the client IP", raw, v)
		}
		for k, v := range got.Header {
			if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), "X-Client-IP") && k != "X-Client_ip" {
				t.Errorf("%q: the origin also got the client's %s: %q (HTTP_X_CLIENT_IP to CGI/PHP); want it dropped", raw, k, v)
			}
		}
	}
}
