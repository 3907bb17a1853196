package edge_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// rawAnswer is an answer read by rawExchange, with its body.
type rawAnswer struct {
	*http.Response
	body []byte
}

// rawExchange writes reqs on one connection and reads n answers (methods[i]
// is the i-th request's method, for HEAD framing).
func rawExchange(t *testing.T, addr, reqs string, methods ...string) []rawAnswer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, reqs)
	br := bufio.NewReader(c)
	var out []rawAnswer
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("answer %d: %v", len(out), err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, rawAnswer{resp, body})
	}
	return out
}

// TestErrorPageContentLength: an error page is a body of known length,
// sent with it, HEAD included, as the edge's own pages are. One that
// replaced an origin's answer lost it (ReverseProxy never turns
// Response.ContentLength into a header): a page over 2 KiB went chunked to
// HTTP/1.1 clients, close-delimited to HTTP/1.0 ones, and a HEAD got no
// length at all.
func TestErrorPageContentLength(t *testing.T) {
	o := errorPageOrigin(t) // "/x": 503 "origin body".
	rt := newRuntime(t, edge.Options{})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	page := strings.Repeat("p", 5000)
	dead := netip.AddrPortFrom(lo.Next(), 9)
	l := snapshot.HTTPListener{ID: "lsr-rv-cl", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "e.test", ErrorPages: []snapshot.ErrorPage{{ErrorNos: []int{503, 502}, Body: page}},
			Rules: []snapshot.Rule{rule("r-rv-o", "/", l7Origins(o)), rule("r-rv-dead", "/dead", l7Origins(dead))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	addr := netip.AddrPortFrom(ip, uint16(port)).String()

	for _, tc := range []struct{ name, req, method string }{
		{"edge's own 502, GET", "GET /dead HTTP/1.1\r\nHost: e.test\r\n\r\n", "GET"},
		{"edge's own 502, HEAD", "HEAD /dead HTTP/1.1\r\nHost: e.test\r\n\r\n", "HEAD"},
		{"origin's 503, GET (fast path)", "GET /x HTTP/1.1\r\nHost: e.test\r\n\r\n", "GET"},
		{"origin's 503, POST (net/http)", "POST /x HTTP/1.1\r\nHost: e.test\r\nContent-Length: 1\r\n\r\nx", "POST"},
		{"origin's 503, HTTP/1.0", "GET /x HTTP/1.0\r\nHost: e.test\r\n\r\n", "GET"},
		{"origin's 503, HEAD", "HEAD /x HTTP/1.1\r\nHost: e.test\r\n\r\n", "HEAD"},
	} {
		resp := rawExchange(t, addr, tc.req, tc.method)[0]
		if resp.StatusCode != 503 && resp.StatusCode != 502 {
			t.Fatalf("%s: status %d", tc.name, resp.StatusCode)
		}
		if cl := resp.Header.Get("Content-Length"); cl != "5000" || len(resp.TransferEncoding) != 0 {
			t.Errorf("%s: Content-Length %q, Transfer-Encoding %v; want the page's Content-Length 5000", tc.name, cl, resp.TransferEncoding)
		}
	}
}

// TestErrorPage205CarriesNoContent: a page whose NewErrorNo is 205 goes
// out without its Body, as a 204's or 304's does: "a server MUST NOT
// generate content in a 205 response" (RFC 9110 15.3.6). It was sent.
func TestErrorPage205CarriesNoContent(t *testing.T) {
	o := errorPageOrigin(t)
	rt := newRuntime(t, edge.Options{})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-rv-205", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "e.test", ErrorPages: []snapshot.ErrorPage{{ErrorNos: []int{503, 404}, NewErrorNo: 205, Body: "reset"}},
			Rules: []snapshot.Rule{rule("r-rv-205", "/x", l7Origins(o))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	addr := netip.AddrPortFrom(ip, uint16(port)).String()
	for _, tc := range []struct{ name, req string }{
		{"origin's 503", "GET /x HTTP/1.1\r\nHost: e.test\r\n\r\n"},
		{"edge's own 404", "GET /nothing HTTP/1.1\r\nHost: e.test\r\n\r\n"},
	} {
		a := rawExchange(t, addr, tc.req, http.MethodGet)[0]
		if a.StatusCode != 205 || len(a.body) != 0 {
			t.Errorf("%s: got %d with %d bytes of content %q; want 205 without content", tc.name, a.StatusCode, len(a.body), a.body)
		}
	}
}
