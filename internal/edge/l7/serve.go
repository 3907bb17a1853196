package l7

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

var netipZero netip.Addr

// allowedMethods is the Allow header of the 405 answer to CONNECT and
// TRACE, and of the edge's own answer to an OPTIONS that ends here
// ("OPTIONS *", lastHop).
const allowedMethods = "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"

// quietLog drops net/http's and httputil's per-request log lines (client
// resets, TLS handshake failures): they are counted, not logged.
var quietLog = log.New(io.Discard, "", 0)

// ServeHTTP routes one request: domain, rule, redirect, authentication
// and proxy; and counts it on the listener and the rule.
func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rw := &recorder{ResponseWriter: w, start: time.Now(), idle: h.bodyIdleTimeout()}
	// RFC 9112 (6.1) has the connection closed after such a request,
	// since a front end may have framed it otherwise. The fast path
	// refuses it outright where it sees the head (handOff).
	if mayBeSmuggled(req) {
		rw.closeConn(req)
	}
	var rc *stats.Counters
	defer func() {
		// A panic aborts the answer (httputil's and the direct path's
		// http.ErrAbortHandler: an origin's body failed midway); the
		// server's recover ends the connection or stream.
		if p := recover(); p != nil {
			rw.abortedMidway()
			rw.count(h.Stats, h.Proxy.Stats, rc)
			panic(p)
		}
		rw.count(h.Stats, h.Proxy.Stats, rc)
	}()
	if d, ok := w.(interface{ EnableFullDuplex() error }); ok && req.ProtoMajor == 1 && req.Body != nil && req.Body != http.NoBody {
		// net/http's HTTP/1 writer (the fast path's has no such method and
		// needs none: fastBody.unread; a ResponseController would build an
		// error for each upload). The edge may answer without reading the
		// body to its end (its own 404 or 401, a redirect, an origin that
		// refused or answered early): the answer goes out at once, not
		// after net/http has discarded the body, and says close (head), as
		// net/http's discard after a full-duplex answer ends the
		// connection anyway (a discard that reaches the body's end starts
		// a background read that the next request's read trips over). What
		// it discards must come within BodyIdleTimeout
		// (handedConn.boundDiscard): a client that declares a body and
		// never sends it must not hold the connection. The fast path keeps
		// the connection and bounds its own discard (fastConn.serveOne).
		rw.closeUnread = true
		_ = d.EnableFullDuplex()
		if hc, ok := req.Context().Value(clientConnKey{}).(*handedConn); ok {
			defer func() {
				if rw.status != http.StatusSwitchingProtocols { // Not a tunnel's connection.
					hc.boundDiscard(time.Now().Add(rw.idle))
					// The client may still be sending what net/http does
					// not discard: its close lingers (conn.lingerConn).
					hc.cc.bodyLeft.Store(rw.close && rw.bodyUnread())
				}
			}()
		}
	}
	if !validHost(req.Host) {
		// RFC 9112 (3.2); routing and origins could read it differently.
		// Closed as nginx does.
		rw.closeConn(req)
		http.Error(rw, "invalid Host "+strconv.Quote(req.Host), http.StatusBadRequest)
		return
	}
	if !validTarget(req) {
		rw.closeConn(req)
		http.Error(rw, "invalid request target "+strconv.Quote(req.RequestURI), http.StatusBadRequest)
		return
	}
	host := hostOf(req)
	v := h.match(host)
	rw.noInterim = !req.ProtoAtLeast(1, 1)
	if h.altSvc != nil && h.h3Live.Load() && req.ProtoMajor < 3 && (v == nil || !v.noH3) {
		rw.altSvc = h.altSvc
	}
	ws3 := false // An RFC 9220 WebSocket: see serveWebSocket3.
	// Methods are matched without case here: an origin that reads them so
	// would take "trace" for TRACE (nginx refuses lower case outright).
	switch strings.ToUpper(req.Method) {
	case http.MethodConnect:
		if req.ProtoMajor != 3 || req.Proto == "HTTP/3.0" {
			// A tunnel request (RFC 9110 9.3.6): the edge is a reverse proxy,
			// not a forward proxy, and must not pass it on to an origin (some
			// are forward proxies). nginx answers 405 too.
			rw.Header().Set("Allow", allowedMethods)
			http.Error(rw, "CONNECT is not served: this is a reverse proxy", http.StatusMethodNotAllowed)
			return
		}
		// An extended CONNECT (RFC 9220; quic-go puts :protocol in Proto),
		// which quic-go advertises with no switch to turn it off. WebSocket
		// is routed like a GET of its authority and path and goes to the
		// origin as an HTTP/1.1 Upgrade; other protocols are not served.
		if !strings.EqualFold(req.Proto, "websocket") {
			http.Error(rw, "extended CONNECT (:protocol "+strconv.Quote(req.Proto)+") is not served over HTTP/3",
				http.StatusNotImplemented)
			return
		}
		ws3 = true
	case http.MethodTrace:
		// Refused as nginx does: an origin that implements TRACE echoes
		// the request with every header the client and the edge put in it
		// (cookies, credentials, X-Real-IP: cross-site tracing). RFC 9110
		// (7.6.2) would have the edge answer one with "Max-Forwards: 0"
		// itself anyway.
		rw.Header().Set("Allow", allowedMethods)
		http.Error(rw, "TRACE is not served", http.StatusMethodNotAllowed)
		return
	case http.MethodOptions:
		// "OPTIONS *" asks about the server itself (RFC 9110 9.3.7), which
		// the edge is to the client: no rule's origin can answer for it.
		if req.URL.Path == "*" || lastHop(req) {
			rw.Header().Set("Allow", allowedMethods)
			rw.Header().Set("Content-Length", "0")
			rw.WriteHeader(http.StatusOK)
			return
		}
	}
	if v == nil {
		http.Error(rw, "no domain of this listener matches host "+host, http.StatusNotFound)
		return
	}
	if v.out {
		// Not the default domain's or a wildcard's to serve; 503, not
		// 421: another connection would not get it served either.
		http.Error(rw, "domain "+v.host+" is not served: its configuration could not be used", http.StatusServiceUnavailable)
		return
	}
	if req.Host == "" {
		// For the redirect, ForwardHost default and X-Forwarded-Host alike.
		req.Host = v.authority(req)
	}
	if req.TLS != nil && h.tls != nil && (h.tls.misdirected(req.TLS, v) || req.ProtoMajor == 3 && v.noH3) {
		http.Error(rw, "host "+host+" is not served on a connection made for "+strconv.Quote(req.TLS.ServerName)+
			": open a new connection to it", http.StatusMisdirectedRequest)
		return
	}
	path, ok := routePath(req.URL.Path)
	if !ok {
		http.Error(rw, "request path climbs above the root", http.StatusBadRequest)
		return
	}
	r := v.match(path)
	// Before basic auth, as nginx's return (rewrite phase) comes before
	// auth_basic (access phase): a 401 over plain HTTP would have the
	// browser send the password in clear before it is sent to HTTPS.
	if r != nil && r.redirect != nil && req.TLS == nil {
		rc = r.stats
		http.Redirect(rw, req, r.redirect.url(req, path), http.StatusMovedPermanently)
		return
	}
	if v.auth != nil && !v.auth.allow(req) {
		challenge(rw)
		v.writeError(rw, http.StatusUnauthorized)
		return
	}
	if r == nil {
		v.writeError(rw, http.StatusNotFound)
		return
	}
	rc = r.stats
	if ws3 { // Its body is the client's half of the tunnel: no BodyIdleTimeout.
		r.serveWebSocket3(rw, req)
		return
	}
	if req.Body != nil && req.Body != http.NoBody {
		rw.body = h.watchBody(req, &rw.in)
		req.Body = rw.body
	}
	r.serve(rw, req)
}

// lastHop reports whether req, an OPTIONS, ends at the edge: RFC 9110
// (7.6.2) has an intermediary answer one with "Max-Forwards: 0" as its
// final recipient, and decrement a greater value before forwarding it,
// which this does. A value that is not a number goes on as it came.
func lastHop(req *http.Request) bool {
	mf := req.Header["Max-Forwards"]
	if len(mf) == 0 {
		return false
	}
	n, err := strconv.ParseUint(mf[0], 10, 63)
	if err != nil {
		return false
	}
	if n == 0 {
		return true
	}
	req.Header["Max-Forwards"] = []string{strconv.FormatUint(n-1, 10)}
	return false
}

// forcedRedirect is a rule's ForcedRedirect, taken apart once when the
// rule is built: redirected requests are per-request traffic on many
// sites (plain HTTP to HTTPS).
type forcedRedirect struct {
	base  string // "https://AUTHORITY"; "" keeps the request's host.
	path  string // Goes after base unless the request is under it.
	under string // path decoded, as the router matches.
	port  string // Without base: ":PORT" after the host; "" for 443.
}

// newForcedRedirect takes apart spec (a ForcedRedirect; nil for none):
// "https:" keeps the host on the default port, "https:PORT" sets a port,
// "https://authority" replaces scheme and authority. A value
// snapshot.ParseRedirect refuses (stored before the API refused it) is
// served as "https:": pasting the URI after it could make the client's
// path the Location's host ("https://" + "/evil.example/x").
func newForcedRedirect(spec string) *forcedRedirect {
	if spec == "" {
		return nil
	}
	rd, _ := snapshot.ParseRedirect(spec)
	if rd.Authority != "" {
		// ParseRedirect's url.Parse refused a path whose escapes do not
		// decode, so this one does.
		under, _ := url.PathUnescape(rd.Path)
		return &forcedRedirect{base: "https://" + rd.Authority, path: rd.Path, under: under}
	}
	f := &forcedRedirect{}
	if rd.Port != "" && rd.Port != "443" {
		f.port = ":" + rd.Port
	}
	return f
}

// url builds the HTTPS location of the redirect for req, whose routing
// path (routePath) is path. The spec's example, "https://www.qq.com/url",
// names the rule's domain and path: a request under that path keeps its
// own URI (not the path twice); one elsewhere goes under it. "Under" is
// the router's test (byte-wise prefix of the decoded path), so every
// request the rule /url routes, /urlx included, keeps its resource.
func (f *forcedRedirect) url(req *http.Request, path string) string {
	if f.base != "" {
		if !strings.HasPrefix(path, f.under) {
			return f.base + f.path + sentURI(req)
		}
		return f.base + sentURI(req)
	}
	host := hostOf(req)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "https://" + host + f.port + sentURI(req)
}

// modifyResponse applies the domain's error page to an origin's answer.
func (r *rule) modifyResponse(resp *http.Response) error {
	p := r.vhost.pages[resp.StatusCode]
	if p == nil {
		return nil
	}
	discardBody(resp.Body)
	for _, k := range replacedBodyHeaders {
		resp.Header.Del(k)
	}
	// The body's trailers go with it (RFC 9110 6.5: they belong to its
	// content), whatever they tell (debug IDs, its checksum); ReverseProxy
	// would announce and send them after the page, and so send it chunked.
	resp.Trailer = nil
	// The page replaces the body, so its type and length too (applyPage).
	status, body := applyPage(resp.Header, p, resp.StatusCode)
	if status != resp.StatusCode {
		resp.StatusCode, resp.Status = status, ""
	}
	resp.Body = io.NopCloser(strings.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	return nil
}

// Bounds of the read of an origin body that a page replaces: what comes
// within discardWait, up to discardMax bytes, is read so that the origin
// connection can be reused; a longer or slower body closes it.
const (
	discardMax = 64 << 10
	// discardWait lets in a body the origin sent with its head, even one
	// that needs another round trip to arrive (larger than a window),
	// but not one it is still producing: it would hold the page back for
	// as long as the origin stalls or trickles it, each read waiting up
	// to OriginReadTimeout. nginx's proxy_intercept_errors reads none.
	discardWait = 250 * time.Millisecond
)

// discardBody reads and closes the origin body b that a page replaces,
// within discardMax and discardWait (Close cuts a waiting read short:
// h1Body's and http.Transport's allow it, and closing before the end
// closes the connection).
func discardBody(b io.ReadCloser) {
	if b == http.NoBody {
		return
	}
	t := time.AfterFunc(discardWait, func() { _ = b.Close() })
	_, _ = io.CopyN(io.Discard, b, discardMax)
	t.Stop()
	_ = b.Close()
}

// errorHandler answers when no origin answered: 504 for timeouts, 502
// otherwise, both through the domain's error pages; but where reading the
// client's body failed, the client's fault (countBody.fault): 400 or 408,
// not counted against the origin. A client that went away gets nothing
// (counted under Status[0]).
func (r *rule) errorHandler(w http.ResponseWriter, req *http.Request, err error) {
	rw, _ := w.(*recorder)
	if req.Context().Err() != nil {
		if rw != nil {
			rw.aborted = true
		}
		return
	}
	status := http.StatusBadGateway
	if rw != nil && rw.body != nil && rw.body.fault.Load() != 0 {
		status = int(rw.body.fault.Load())
	} else if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		status = http.StatusGatewayTimeout
	}
	r.vhost.writeError(w, status)
}

// recorder observes status and body size for counters. It implements
// Unwrap so http.ResponseController (used by httputil for flushing and
// WebSocket hijacking) reaches the real writer.
//
// It also puts the edge's own headers on the final answer, as its head
// goes out: set before proxying, they would go out on an origin's 1xx
// instead, after which httputil.ReverseProxy clears the header map.
type recorder struct {
	http.ResponseWriter
	close bool       // The answer says "Connection: close" (mayBeSmuggled).
	body  *countBody // The request's body, if it has one.
	// closeUnread: an answer that goes out before the body was read to its
	// end closes the connection (ServeHTTP).
	closeUnread bool
	altSvc      []string // The listener's Alt-Svc; shared, never written.
	// noInterim: an HTTP/1.0 client, which takes any answer for the final
	// one; an origin's 1xx (the edge speaks HTTP/1.1 to it) is dropped, as
	// RFC 9110 (15.2) has it. httputil clears the header map after a 1xx
	// whether it went out or not.
	noInterim bool
	status    int
	out       int64
	in        atomic.Int64
	aborted   bool
	start     time.Time     // When the handler got the request.
	idle      time.Duration // BodyIdleTimeout, for a half-closed tunnel (hijackedConn).
	took      time.Duration // Until the final answer's head; 0 = none sent.
}

func (w *recorder) WriteHeader(code int) {
	if w.noInterim && !final(code) {
		return
	}
	if !final(code) && w.body != nil && w.body.ownContinue {
		// Decided and written under the body's lock, against the server's
		// own 100 (countBody.continued).
		w.body.mu.Lock()
		defer w.body.mu.Unlock()
		if w.body.reading {
			return
		}
	}
	if w.status == 0 || w.status < 200 {
		w.status = code
	}
	if final(code) {
		w.head()
	} else {
		delete(w.ResponseWriter.Header(), "Alt-Svc") // An origin's, on a 103 (see head).
	}
	w.ResponseWriter.WriteHeader(code)
}

// closeConn has req's connection closed after the answer: over HTTP/1 by
// its Connection header, over HTTP/2 by the GOAWAY net/http turns that
// into. HTTP/3 forbids the header (RFC 9114 4.2: the client must take the
// answer as malformed, and quic-go's does); there the answer ends only
// its stream.
func (w *recorder) closeConn(req *http.Request) { w.close = req.ProtoMajor < 3 }

// head adds the edge's headers to the final answer's head, which is about
// to go out, once, and notes it (answered). The answer's Alt-Svc is the
// listener's alone: an origin's (h3=":443" from an origin that speaks
// HTTP/3 itself) names the origin's ports, but a client applies it to
// the edge's address, and would try a UDP port of the edge that serves
// no HTTP/3, or another listener, for as long as its ma says.
func (w *recorder) head() {
	if w.took != 0 {
		return
	}
	if w.closeUnread && w.bodyUnread() {
		w.close = true
	}
	h := w.ResponseWriter.Header()
	if w.close {
		h.Set("Connection", "close")
	}
	if w.altSvc != nil {
		h["Alt-Svc"] = w.altSvc
	} else {
		delete(h, "Alt-Svc")
	}
	if ct := h["Content-Type"]; len(ct) == 1 && ct[0] == noType[0] { // An error page cleared it.
		h["Content-Type"] = nil
	}
	w.answered()
}

// bodyUnread reports whether the request's body (if any) has not been
// read to its end.
func (w *recorder) bodyUnread() bool { return w.body == nil || !w.body.eof.Load() }

// final reports whether an answer with status code ends the request's
// answers: 2xx-5xx, and 101 Switching Protocols (the connection then
// carries another protocol); other 1xx are interim.
func final(code int) bool {
	return code >= 200 || code == http.StatusSwitchingProtocols
}

// Hijack takes the connection over for an upgrade: httputil does so to
// relay an origin's 101 (handleUpgradeResponse), whose head it then
// writes itself, from the header map, so the recorder takes the 101 as the
// answer here. The connection it hands over yields first the bytes
// net/http has already read (hijackedConn).
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.status = http.StatusSwitchingProtocols
		w.head()
		c = &hijackedConn{Conn: c, br: brw.Reader, idle: w.idle}
	}
	return c, brw, err
}

// hijackedConn is a client connection taken over for an upgrade. Its
// reads yield first what net/http had buffered: bytes the client sent
// right after its request head (in the same packet, or before the 101),
// which belong to the new protocol. httputil's relay copies from the
// connection alone, not from the buffered reader Hijack also returns, and
// would drop them (golang/go#80875). Not safe for concurrent reads.
//
// It passes the origin's half-close on (CloseWrite), after which each of
// its reads waits at most idle.
type hijackedConn struct {
	net.Conn
	br      *bufio.Reader // nil once drained.
	idle    time.Duration
	halfway atomic.Bool // The origin's side has ended (CloseWrite).
}

func (c *hijackedConn) Read(p []byte) (int, error) {
	if c.br != nil {
		if c.br.Buffered() > 0 {
			return c.br.Read(p) // Only what is buffered: no read of c.Conn.
		}
		c.br = nil
	}
	if c.halfway.Load() {
		c.wait()
	}
	return c.Conn.Read(p)
}

// wait bounds the next read by idle, on the socket: CloseWrite and Read
// may set it at once, which handedConn's SetReadDeadline is not made for.
func (c *hijackedConn) wait() {
	if cc := connUnder(c.Conn); cc != nil {
		_ = cc.SetReadDeadline(time.Now().Add(c.idle))
	}
}

// CloseWrite passes the origin's half-close on to the client: httputil's
// relay calls it when the origin's side ends, and goes on relaying the
// client's (TCP: FIN; TLS: close_notify). From then each read of the
// client waits at most idle (BodyIdleTimeout), as a request body's, so a
// half-closed tunnel cannot outlive a client that never ends it.
func (c *hijackedConn) CloseWrite() error {
	c.halfway.Store(true)
	c.wait() // A read under way has none.
	return closeWrite(c.Conn)
}

// Close ends the tunnel's client connection: with a FIN (TLS's
// close_notify first) once the origin's side has ended in order, its
// half-close passed on (CloseWrite); otherwise with a reset, as
// conn.cut does. httputil's relay closes it as well when the origin's
// side ended on an error (a reset), which a FIN would pass on as the
// origin's orderly end; a layer-4 abort resets the client too.
func (c *hijackedConn) Close() error {
	if !c.halfway.Load() {
		if cc := connUnder(c.Conn); cc != nil {
			cc.cut()
		}
	}
	return c.Conn.Close()
}

// closeWrite half-closes the client connection nc: TLS's close_notify
// if it has TLS, else the socket's FIN. Writes through nc's wrappers
// (tap, shaping) are done when their Write returns: nothing is left to
// flush below.
func closeWrite(nc net.Conn) error {
	for {
		switch c := nc.(type) {
		case interface{ CloseWrite() error }: // *tls.Conn, *net.TCPConn.
			return c.CloseWrite()
		case *handedConn:
			nc = c.Conn
		case *conn:
			nc = c.Conn
		case *tapConn:
			nc = c.Conn
		case *shapedConn:
			nc = c.Conn
		default:
			return errors.ErrUnsupported
		}
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.head()
	n, err := w.ResponseWriter.Write(b)
	w.out += int64(n)
	return n, err
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// goneCheckAfter: an answer whose head comes this long or longer after
// its request checks, where nothing read the connection meanwhile, that
// the client is still there (recorder.answered).
const goneCheckAfter = 10 * time.Millisecond

// goneChecker is a ResponseWriter whose connection nothing reads while a
// request is served (the HTTP/1.1 fast path's: no background read, which
// would cost a goroutine or a syscall per request); clientGone asks the
// socket whether the client closed or reset it.
type goneChecker interface{ clientGone() bool }

// answered notes the final answer's head, once: its time (took) and, for
// a slow answer on a connection nothing watched, whether the client went
// away before it, which makes the request aborted (Status[0]), timed up to
// this point, when the edge noticed. A quicker answer is not checked: a
// client rarely leaves within goneCheckAfter, and a check per request
// would cost the keep-alive path a syscall (BENCHMARKS.md, "Layer 7").
func (w *recorder) answered() {
	if w.took != 0 {
		return
	}
	w.took = max(time.Since(w.start), 1)
	if w.took >= goneCheckAfter {
		if g, ok := w.ResponseWriter.(goneChecker); ok && g.clientGone() {
			w.aborted = true
		}
	}
}

// sendChecker is a ResponseWriter that can tell whether any byte of its
// final answer went to the client (the fast path's fastWriter; net/http's
// and quic-go's writers buffer out of sight).
type sendChecker interface{ sentNothing() bool }

// abortedMidway notes that the handler aborted its answer: counted under
// the status the client got, as nginx logs it, unless the client got
// nothing of it (its head still buffered), which is no answer
// (Status[0]).
func (w *recorder) abortedMidway() {
	if s, ok := w.ResponseWriter.(sendChecker); ok && s.sentNothing() {
		w.aborted = true
	}
}

// count adds the request to the listener's, its proxy's and the rule's
// counters. Listener and proxy bytes are counted on the connection
// (headers and TLS included); rule bytes are body bytes (a WebSocket's
// tunnel counts its own as they pass: endUpgraded).
func (w *recorder) count(listener, proxy, rule *stats.Counters) {
	class := 0
	if !w.aborted {
		class = statusClass(w.status)
	}
	for _, c := range [...]*stats.Counters{listener, proxy, rule} {
		if c != nil {
			c.Requests.Add(1)
			c.Status[class].Add(1)
			if w.took > 0 {
				c.AnswerCount.Add(1)
				c.AnswerNanos.Add(int64(w.took))
			}
		}
	}
	if rule != nil {
		rule.BytesOut.Add(w.out)
		rule.BytesIn.Add(w.in.Load())
	}
}

// statusClass is the class (1-5) of a request whose final answer had
// status; none written (0, or only interim 1xx) is net/http's implicit 200.
func statusClass(status int) int {
	if !final(status) {
		status = http.StatusOK
	}
	return min(status/100, 5)
}

// countRefused counts the answer the edge gave a request it refused
// before routing it (net/http's 400, 431, 501 or 417, the fast path's
// 400) on the listener's and proxy's counters, as ServeHTTP counts a
// routed one; the edge answers at once, so it is timed at about 0.
func countRefused(listener, proxy *stats.Counters, status int) {
	w := recorder{status: status, start: time.Now()}
	w.answered()
	w.count(listener, proxy, nil)
}

// countBody counts a request body's bytes and ends the request when a
// read of it waits longer than idle (BodyIdleTimeout): kill closes the
// HTTP/1 connection (net/http's body holds its lock while it reads, so
// closing the body would wait for the read) or the HTTP/2 or HTTP/3
// body (which unblocks the read). Only time blocked in a read counts.
//
// A read that fails is the client's fault, not the origin's: malformed
// chunked coding, a body cut short, or too slow. fault keeps the status
// errorHandler answers then, as nginx does (400; 408 after idle); set
// where the Transport reads the body, read where the request failed.
type countBody struct {
	io.ReadCloser
	n     *atomic.Int64
	idle  time.Duration
	kill  func()
	t     *time.Timer
	fault atomic.Int32
	eof   atomic.Bool // Read to its end.

	// ownContinue: the client expects a 100 Continue, which net/http's
	// HTTP/1 server sends itself at the body's first read unless a 100
	// went out before. (Its HTTP/2 server takes Expect off the request,
	// so no origin is asked for one.) The Transport lets its writer read
	// the body as the origin's 100 arrives, before it relays that 100
	// (Got1xxResponse), so both could reach the client: the recorder
	// drops the origin's once reading has begun (under mu, with reading).
	// Its other interim answers (103) too: net/http writes them without
	// the lock its own 100 takes (golang/go#80949), so the two could
	// interleave on the wire; dropping one is allowed, sending it is not
	// required.
	ownContinue bool
	mu          sync.Mutex
	reading     bool
}

// watchBody wraps req's body in a countBody counting into n.
func (h *Handler) watchBody(req *http.Request, n *atomic.Int64) *countBody {
	b := &countBody{ReadCloser: req.Body, n: n, idle: h.bodyIdleTimeout(),
		ownContinue: req.ProtoMajor == 1 && hasToken(req.Header["Expect"], "100-continue")}
	if c, ok := req.Context().Value(clientConnKey{}).(net.Conn); ok && req.ProtoMajor == 1 {
		b.kill = func() { _ = c.Close() }
	} else {
		b.kill = func() { _ = b.ReadCloser.Close() }
	}
	return b
}

func (b *countBody) Read(p []byte) (int, error) {
	if b.t == nil {
		if b.ownContinue {
			b.continued()
		}
		b.t = time.AfterFunc(b.idle, b.expire)
	} else {
		b.t.Reset(b.idle)
	}
	n, err := b.ReadCloser.Read(p)
	b.t.Stop()
	b.n.Add(int64(n))
	if err == io.EOF {
		b.eof.Store(true)
	} else if err != nil {
		b.fault.CompareAndSwap(0, http.StatusBadRequest)
		err = clientBodyError{err} // The transport hands it back: not the origin's failure (rule.failed).
	}
	return n, err
}

// continued notes the body's first read, before the server may send its
// own 100 Continue in it (ownContinue).
func (b *countBody) continued() {
	b.mu.Lock()
	b.reading = true
	b.mu.Unlock()
}

// clientBodyError is a failed read of a client's request body: the
// transport that was sending it to an origin returns it as its own error,
// which says nothing about the origin.
type clientBodyError struct{ err error }

func (e clientBodyError) Error() string { return "reading the client's request body: " + e.err.Error() }
func (e clientBodyError) Unwrap() error { return e.err }

// expire ends a read that waited idle for the client.
func (b *countBody) expire() {
	b.fault.Store(http.StatusRequestTimeout)
	b.kill()
}

// endBody runs end once when the response body is closed (for lc's count
// of active requests per origin).
type endBody struct {
	io.ReadCloser
	once sync.Once
	end  func()
}

func (b *endBody) Close() error {
	b.once.Do(b.end)
	return b.ReadCloser.Close()
}

func dialFails(c *stats.Counters) *atomic.Int64 { return &c.DialFails }
