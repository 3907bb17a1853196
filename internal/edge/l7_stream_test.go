package edge_test

import (
	"bufio"
	"fmt"
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

// scriptOrigin answers each request with script(path, conn): the handler
// writes the raw answer itself (with pauses if it likes).
func scriptOrigin(t *testing.T, script func(req *http.Request, c net.Conn)) netip.AddrPort {
	t.Helper()
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(90 * time.Second))
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			script(req, c)
		}
	})
	return o.Addr
}

// TestEventStreamHeadFlushed: a text/event-stream answer with
// Content-Length whose first event comes later than its head reaches the
// client head first, at once, on the direct exchange (HTTP/1.1 GET to a
// plain-HTTP origin) as on ReverseProxy's path (POST, HTTP/2, HTTP/3),
// which flushes a streaming answer's head. The direct exchange held it
// until the first body bytes arrived, so an EventSource stayed
// "connecting" (no onopen) for as long as the origin was quiet.
func TestEventStreamHeadFlushed(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	o := scriptOrigin(t, func(req *http.Request, c net.Conn) {
		ev := "data: x\n\n"
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n", len(ev))
		time.Sleep(1500 * time.Millisecond)
		io.WriteString(c, ev)
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-sse", Protocol: snapshot.ProtoHTTP, Port: port,
		Domains: []snapshot.Domain{{Host: "www.test", Rules: []snapshot.Rule{rule("r-sse", "/", l7Origins(o))}}}}))
	c := &http.Client{Timeout: 5 * time.Second}
	for _, method := range []string{"POST", "GET"} { // POST: ReverseProxy; GET: the direct exchange.
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader("x")
		}
		req, _ := http.NewRequest(method, fmt.Sprintf("http://%s:%d/events", ip, port), body)
		req.Host = "www.test"
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		head := time.Since(start)
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if head > time.Second { // Still well before the first event, 1.5 s on.
			t.Errorf("%s text/event-stream: answer head reached the client %v after the request (the origin sent it at once, "+
				"its first event 1.5 s later); want it at once, as ReverseProxy does", method, head.Round(10*time.Millisecond))
		}
	}
}

// TestFastPathForbiddenTrailers: an origin declares Content-Type and
// WWW-Authenticate as trailers, fields RFC 9110 (6.5.1) keeps out of
// trailers. net/http's servers (HTTP/1 after a hand-off, HTTP/2) and
// quic-go drop them (httpguts.ValidTrailerHeader), and so does the fast
// path's writer, which frames answers as net/http's server: it sent them,
// and for a declared trailer the origin never sent it sent the header's
// value again as a trailer (Content-Type: text/plain after the body).
func TestFastPathForbiddenTrailers(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	o := scriptOrigin(t, func(req *http.Request, c net.Conn) {
		switch req.URL.Path {
		case "/declared":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"+
				"Trailer: Content-Type, Www-Authenticate, X-Ok\r\n\r\n5\r\nhello\r\n0\r\n"+
				"Content-Type: text/html\r\nWww-Authenticate: Basic\r\nX-Ok: 1\r\n\r\n")
		case "/unsent":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"+
				"Trailer: Content-Type\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
		}
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-tr", Protocol: snapshot.ProtoHTTP, Port: port,
		Domains: []snapshot.Domain{{Host: "www.test", Rules: []snapshot.Rule{rule("r-tr", "/", l7Origins(o))}}}}))
	c := &http.Client{Timeout: 5 * time.Second}
	for _, p := range []string{"/declared", "/unsent"} {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s:%d%s", ip, port, p), nil)
		req.Host = "www.test"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, k := range []string{"Content-Type", "Www-Authenticate"} {
			if v := resp.Trailer.Values(k); len(v) > 0 {
				t.Errorf("GET %s over the fast path: trailer %s: %q; want none (RFC 9110 6.5.1; net/http, HTTP/2 and HTTP/3 send none)", p, k, v)
			}
		}
	}
}
