package edge_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// errorPageOrigin answers by path with the odd answers error pages meet.
func errorPageOrigin(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/stall"): // Head at once, body late.
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(503)
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			time.Sleep(2 * time.Second)
			io.WriteString(w, strings.Repeat("x", 93))
		case strings.HasPrefix(r.URL.Path, "/trailer"):
			w.Header().Set("Trailer", "X-Secret")
			w.WriteHeader(503)
			io.WriteString(w, "origin body")
			w.(http.Flusher).Flush()
			w.Header().Set("X-Secret", "origin-internal-token")
		case strings.HasPrefix(r.URL.Path, "/download"): // A file that failed midway.
			h := w.Header()
			h.Set("Content-Disposition", `attachment; filename="report.zip"`)
			h.Set("Content-Digest", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
			h.Set("Repr-Digest", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
			h.Set("Digest", "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
			h.Set("Content-Md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
			h.Set("Content-Language", "de")
			h.Set("Content-Location", "/files/report.zip")
			h.Set("Content-Type", "application/zip")
			h.Set("Cache-Control", "no-store") // About the answer, not its body: kept.
			w.WriteHeader(503)
			io.WriteString(w, "PK...")
		case strings.HasPrefix(r.URL.Path, "/ok"): // Which origin connection.
			io.WriteString(w, r.RemoteAddr)
		case strings.HasPrefix(r.URL.Path, "/nocontent"):
			w.WriteHeader(404)
			io.WriteString(w, "origin 404")
		default:
			w.WriteHeader(503)
			io.WriteString(w, "origin body")
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return netip.MustParseAddrPort(ln.Addr().String())
}

// errorPageListener serves e.test from origin o with a page for 502 and
// 503, and one that turns 404 into 204.
func errorPageListener(t *testing.T, o netip.AddrPort) (*edge.Runtime, string) {
	rt := newRuntime(t, edge.Options{})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	pages := []snapshot.ErrorPage{
		{ErrorNos: []int{503, 502}, Body: "custom page"},
		{ErrorNos: []int{404}, NewErrorNo: 204, Body: "gone"},
	}
	l := snapshot.HTTPListener{ID: "lsr-ep", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "e.test", ErrorPages: pages, Rules: []snapshot.Rule{rule("r-ep", "/", l7Origins(o))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	return rt, "http://" + netip.AddrPortFrom(ip, uint16(port)).String()
}

// A page whose NewErrorNo is 204 (the API takes 200-599) goes out without
// its body, which a 204 cannot carry: writing it failed, and ReverseProxy
// aborted the answer (HTTP/2 reset the stream, HTTP/1 through net/http
// closed the connection without an answer).
func TestErrorPageNoContentStatus(t *testing.T) {
	o := errorPageOrigin(t)
	_, url := errorPageListener(t, o)
	// HTTP/1.0 goes through net/http, not the fast path.
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /nocontent HTTP/1.0\r\nHost: e.test\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
		t.Errorf("HTTP/1.0: no answer: %v", err)
	} else if resp.StatusCode != 204 || resp.Header.Get("Content-Length") != "" {
		t.Errorf("HTTP/1.0: got %d, Content-Length %q; want 204 without one", resp.StatusCode, resp.Header.Get("Content-Length"))
	}

	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	l := h3Listener(t, ca, port, o)
	l.Domains[0].ErrorPages = []snapshot.ErrorPage{{ErrorNos: []int{404}, NewErrorNo: 204, Body: "gone"}}
	l.Domains[0].Rules[0].Path = "/nocontent"
	mustApply(t, rt, httpProxy(1, ip, l))
	base := "https://www.test:" + fmt.Sprint(port)
	// The origin's 404, then the edge's own (no rule for the path).
	for _, path := range []string{"/nocontent", "/elsewhere"} {
		resp, err := httpsClient(addr, ca.pool, true).Get(base + path)
		if err != nil {
			t.Fatalf("HTTP/2 %s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 204 || len(b) != 0 {
			t.Errorf("HTTP/2 %s: got %d %q; want 204 without body", path, resp.StatusCode, b)
		}
	}
}

// The page replaces the origin's body, so it does not wait for it: an
// origin that sent its 503 head and then stalled its body (or trickled
// it) held the page back by the length of the stall, up to
// OriginReadTimeout per read and 64 KiB of trickle. Such an origin
// connection is closed; one whose small body came with its head is
// still reused.
func TestErrorPageDoesNotWaitForOriginBody(t *testing.T) {
	o := errorPageOrigin(t)
	_, url := errorPageListener(t, o)
	c := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path string) (int, string, time.Duration) {
		t.Helper()
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("x")
		}
		req, _ := http.NewRequest(method, url+path, body)
		req.Host = "e.test"
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b), time.Since(start)
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} { // Direct exchange, then ReverseProxy.
		_, first, _ := do(method, "/ok")
		if code, b, _ := do(method, "/small"); code != 503 || b != "custom page" {
			t.Fatalf("%s: got %d %q; want the page", method, code, b)
		}
		if _, again, _ := do(method, "/ok"); again != first {
			t.Errorf("%s: origin connection %s after a page over a small body; want %s reused", method, again, first)
		}
		code, b, took := do(method, "/stall")
		if code != 503 || b != "custom page" {
			t.Fatalf("%s: got %d %q; want the page", method, code, b)
		}
		if took > time.Second {
			t.Errorf("%s: the error page took %v: it waited for the origin's body, which it discards", method, took.Round(time.Millisecond))
		}
		if _, after, _ := do(method, "/ok"); after == first {
			t.Errorf("%s: origin connection %s reused after a stalled body; want it closed", method, after)
		}
	}
}

// The page is the whole answer: the origin's trailers, of the body the
// page replaced, are not sent after it (they were, over HTTP/1.1, HTTP/2
// and HTTP/3, and made ReverseProxy send the page chunked).
func TestErrorPageDropsOriginTrailers(t *testing.T) {
	o := errorPageOrigin(t)
	_, url := errorPageListener(t, o)
	check := func(name string, c *http.Client, u, host string) {
		t.Helper()
		resp, _, b := get(t, c, u, host) // Read to its end: the trailer is in.
		if b != "custom page" {
			t.Fatalf("%s: got %d %q; want the page", name, resp.StatusCode, b)
		}
		if v := resp.Trailer.Get("X-Secret"); v != "" || resp.Header.Get("Trailer") != "" {
			t.Errorf("%s: the page carries the origin's trailer X-Secret=%q (Trailer %q)", name, v, resp.Header.Get("Trailer"))
		}
		if name == "HTTP/1.1" && resp.ContentLength != int64(len("custom page")) {
			t.Errorf("%s: Content-Length %d; want the page's", name, resp.ContentLength)
		}
	}
	check("HTTP/1.1", &http.Client{Timeout: 5 * time.Second}, url+"/trailer", "e.test")

	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	l := h3Listener(t, ca, port, o)
	l.Domains[0].ErrorPages = []snapshot.ErrorPage{{ErrorNos: []int{503}, Body: "custom page"}}
	mustApply(t, rt, httpProxy(1, ip, l))
	u := "https://www.test:" + fmt.Sprint(port) + "/trailer"
	check("HTTP/2", httpsClient(addr, ca.pool, true), u, "")
	check("HTTP/3", h3Client(t, lo.Next(), addr, ca.pool), u, "")
}

// The page replaces the origin's representation, so the origin's
// metadata about its body goes with it (RFC 9110 section 8), as
// Content-Encoding, ETag and Last-Modified did: Content-Disposition had
// the browser save the page as the origin's file, and Content-Digest
// (RFC 9530), a hash of the origin's bytes, had a checking client refuse
// it.
func TestErrorPageDropsOriginBodyMetadata(t *testing.T) {
	o := errorPageOrigin(t)
	_, url := errorPageListener(t, o)
	resp, _, b := get(t, &http.Client{Timeout: 5 * time.Second}, url+"/download", "e.test")
	if b != "custom page" || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("got %d %q (%s); want the page", resp.StatusCode, b, resp.Header.Get("Content-Type"))
	}
	for _, k := range []string{"Content-Disposition", "Content-Digest", "Repr-Digest", "Digest", "Content-Md5", "Content-Language", "Content-Location"} {
		if v := resp.Header.Get(k); v != "" {
			t.Errorf("the page carries the origin body's %s: %q", k, v)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q; want the origin's, which is about the answer", resp.Header.Get("Cache-Control"))
	}
}

// TestErrorPageClearContentType: a page whose ClearHeaders names
// Content-Type goes out without one, on the edge's own 404 and on an
// origin's 503 alike, HEAD included: net/http sniffed one from the body
// (text/plain), silently undoing the clear.
func TestErrorPageClearContentType(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	page := snapshot.ErrorPage{ErrorNos: []int{503, 404}, Body: "Sorry, try again later", ClearHeaders: []string{"Content-Type"}}
	l := snapshot.HTTPListener{ID: "lsr-ct", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "e.test", ErrorPages: []snapshot.ErrorPage{page}, Rules: []snapshot.Rule{rule("r-ct", "/status", l7Origins(a))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	addr := netip.AddrPortFrom(ip, uint16(port)).String()
	reqs := []string{"GET /nope", "HEAD /nope", "GET /status/503", "HEAD /status/503"}
	var raw string
	var methods []string
	for _, r := range reqs {
		raw += r + " HTTP/1.1\r\nHost: e.test\r\n\r\n"
		methods = append(methods, strings.Fields(r)[0])
	}
	for i, a := range rawExchange(t, addr, raw, methods...) {
		if ct, ok := a.Header["Content-Type"]; ok {
			t.Errorf("%s: %d with Content-Type %q; want none (ClearHeaders: Content-Type)", reqs[i], a.StatusCode, ct)
		}
	}
}

// TestOriginEmptyContentTypePassed: an origin's own empty Content-Type
// (no page involved) reaches the client as sent, on the direct path and
// through ReverseProxy: the marker of a page's cleared Content-Type
// (noType) is no value an origin can send.
func TestOriginEmptyContentTypePassed(t *testing.T) {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{""}
		io.WriteString(w, "<html>hi</html>")
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	o := netip.MustParseAddrPort(ln.Addr().String())

	rt := newRuntime(t, edge.Options{})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-ect", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "e.test", Rules: []snapshot.Rule{rule("r-ect", "/", l7Origins(o))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	addr := netip.AddrPortFrom(ip, uint16(port)).String()
	// GET goes the direct path; a request with a body goes ReverseProxy.
	raw := "GET / HTTP/1.1\r\nHost: e.test\r\n\r\n" +
		"POST / HTTP/1.1\r\nHost: e.test\r\nContent-Length: 1\r\n\r\nx"
	for i, a := range rawExchange(t, addr, raw, "GET", "POST") {
		if ct, ok := a.Header["Content-Type"]; !ok || len(ct) != 1 || ct[0] != "" {
			t.Errorf("answer %d: Content-Type %q (present %v); want the origin's own empty one passed on", i, ct, ok)
		}
	}
}
