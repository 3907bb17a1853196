package l7

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// rule is one compiled forwarding rule.
type rule struct {
	id, path    string
	scheme      string // "http" or "https" towards origins.
	forwardHost string
	headers     []snapshot.Header // Names canonical.
	// underscored: a custom header name has an '_', which a client's
	// name with '-' in its place would pass for (posesAs).
	underscored bool
	redirect    *forcedRedirect // nil: none.
	picker      *balance.Picker
	origins     map[string]*origin
	transport   *http.Transport
	tkey        transportKey // What transport was acquired with.
	perHost     bool         // The transport verifies each request's host (perHost).
	h1          *h1Client    // Shortcut for plain-HTTP requests without body.
	direct      bool         // Requests may take the direct path (direct.go).
	timed       bool         // lrtt: answer times feed the origins' RTT (answered).
	stats       *stats.Counters
	proxy       *httputil.ReverseProxy
	vhost       *vhost
	listener    *Handler
}

type origin struct {
	id      string
	backend *health.Backend
	stats   *stats.Counters
	// addr caches the text of the backend's current address, which keys
	// the origin connection pool: formatting it per request allocated.
	addr atomic.Pointer[originAddr]
}

type originAddr struct {
	ap netip.AddrPort
	s  string
}

// bufPool recycles the copy buffers of response bodies.
type bufPool struct{ p sync.Pool }

func (b *bufPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufPool) Put(buf []byte) { b.p.Put(&buf) }

var buffers = &bufPool{}

func (h *Handler) buildRule(l *snapshot.HTTPListener, d *snapshot.Domain, v *vhost, sr *snapshot.Rule) (*rule, error) {
	r := &rule{id: sr.ID, path: sr.Path, scheme: "http", forwardHost: sr.ForwardHost,
		redirect: newForcedRedirect(sr.ForcedRedirect), origins: map[string]*origin{}, vhost: v, listener: h,
		stats: h.env.Stats.Get(stats.KindRule, sr.ID)}
	proto := sr.ForwardProtocol
	if proto == "" {
		proto = l.ForwardProtocol
	}
	switch proto {
	case snapshot.ProtoHTTPS:
		r.scheme = "https"
	default:
		proto = snapshot.ProtoHTTP
	}
	// Origin-TLS settings mean nothing to plain-HTTP origins: their rules
	// share one transport, hence its pools, whatever their domain's.
	var k transportKey
	if proto == snapshot.ProtoHTTPS {
		k = transportKey{SNI: sr.SNI, ClientCert: d.ClientCertPEM, ClientKey: d.ClientKeyPEM}
		if len(d.OriginCAPEMs) > 0 {
			k.Roots, k.VerifyName = strings.Join(d.OriginCAPEMs, "\x00"), originName(d, sr)
		}
	}
	r.tkey, r.perHost = k, perHost(k)
	r.direct = r.scheme == "http" && (r.forwardHost == "" || validHost(r.forwardHost))
	for _, hd := range sr.Headers {
		name := http.CanonicalHeaderKey(hd.Name)
		r.headers = append(r.headers, snapshot.Header{Name: name, Value: hd.Value})
		r.underscored = r.underscored || strings.IndexByte(name, '_') >= 0
		// Request.Write would clean these values, and it writes these
		// names its own way; the direct path writes headers as they are.
		switch name {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			r.direct = false
		}
		r.direct = r.direct && httpguts.ValidHeaderFieldName(name) && httpguts.ValidHeaderFieldValue(hd.Value) &&
			strings.Trim(hd.Value, " \t") == hd.Value
	}
	probe, check := health.ProbeOf(sr.Health)
	if check.Enabled && proto == snapshot.ProtoHTTPS {
		probe.TLS = k // Checks handshake, and verify, as requests do.
	}
	var targets []*balance.Target
	for _, o := range sr.Origins {
		b := h.env.Pool.Acquire(health.Key{Owner: h.Proxy.Owner, Proto: proto, Host: o.Host, Port: o.Port, IsDomain: o.IsDomain,
			Check: check, HTTP: probe, Scope: sr.ID})
		r.origins[o.ID] = &origin{id: o.ID, backend: b, stats: h.env.Stats.Get(stats.KindOrigin, o.ID)}
		targets = append(targets, &balance.Target{ID: o.ID, Weight: o.Weight, Secondary: o.Secondary, Backend: b})
	}
	// The origins first: the transport counts their addresses as in use.
	if err := h.env.Transports.acquire(r); err != nil {
		r.releaseOrigins(h.env)
		return nil, err
	}
	r.picker = balance.New(sr.Scheduler, targets, sr.FailoverSwitch, nil, 0)
	r.timed = sr.Scheduler == snapshot.SchedLRTT
	r.proxy = &httputil.ReverseProxy{Rewrite: r.rewrite, Transport: r, ModifyResponse: r.modifyResponse,
		ErrorHandler: r.errorHandler, BufferPool: buffers, ErrorLog: quietLog}
	return r, nil
}

// releaseOrigins returns the rule's backends (its transport goes with
// Transports.release). It leaves the rule itself untouched: requests in
// flight may still read it.
func (r *rule) releaseOrigins(env *Env) {
	for _, o := range r.origins {
		env.Pool.Release(o.backend)
	}
}

// rewrite prepares the outbound request. net/http/httputil has already
// removed hop-by-hop headers (keeping Upgrade for WebSocket) and the
// client's Forwarded and X-Forwarded-* headers. It has also re-encoded a
// query with a ';' or a malformed '%' escape, dropping the pairs
// url.ParseQuery refuses; the origin gets the query as the client sent it
// instead, as GAAP (nginx) passes the request URI on: the edge never
// reads the query, so that "cleaning" protects nothing and loses data.
// The path goes as sent too (sentPath), as the direct exchange sends it
// (sentURI).
func (r *rule) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery
	if p := sentPath(pr.In); p != "" {
		pr.Out.URL.Opaque = p // What URL.RequestURI, so Request.Write, sends.
	}
	pr.Out.URL.Scheme = r.scheme
	pr.Out.URL.Host = "origin" // Set per attempt by RoundTrip.
	pr.Out.Host = r.originHost(pr.In)
	var buf [10]forwardHeader
	fwd := r.forwarded(pr.In, buf[:0])
	// Only the client's look-alikes go: a custom header may be one
	// (the reference's own example is X-REAL_IP), so this comes first.
	for k := range pr.Out.Header {
		if posesAs(fwd, k, r.underscored) {
			delete(pr.Out.Header, k)
		}
	}
	vals := make([]string, len(fwd)) // One allocation for every value.
	for i, h := range fwd {
		vals[i] = h.value
		pr.Out.Header[h.key] = vals[i : i+1 : i+1]
	}
	r.forwardTrailers(pr)
	if r.perHost { // ForwardHost may replace the Host that chose the domain.
		pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), verifyHostKey{}, hostOf(pr.In)))
	}
}

// forwardTrailers has the trailers the client declared follow its body
// to the origin, as nginx forwards them: ReverseProxy copies the
// request's Trailer when it starts, before the body is read, so the
// origin got the names without values. The servers fill in the values
// when the body ends (net/http and quic-go on the request they handed us,
// quic-go in a new map), and http.Transport writes Out.Trailer after the
// body, so trailerBody copies them over when it reads the body's end.
// Only fields allowed in trailers go (RFC 9110 6.5.1: no framing, routing,
// authentication, ... httpguts.ValidTrailerHeader), no hop-by-hop one
// and none the edge sets itself (governs). A body of declared length goes chunked: HTTP/1.1 carries trailers
// only there. The direct path takes no request with a body, and the fast
// path hands chunked ones to net/http.
func (r *rule) forwardTrailers(pr *httputil.ProxyRequest) {
	if len(pr.In.Trailer) == 0 || pr.Out.Body == nil || pr.Out.Body == http.NoBody {
		pr.Out.Trailer = nil
		return
	}
	conn := pr.In.Header["Connection"]
	out := make(http.Header, len(pr.In.Trailer))
	for k := range pr.In.Trailer {
		if k = http.CanonicalHeaderKey(k); httpguts.ValidTrailerHeader(k) && !hopByHop(k, conn) && !r.governs(k) {
			out[k] = nil
		}
	}
	if len(out) == 0 {
		pr.Out.Trailer = nil
		return
	}
	pr.Out.Trailer, pr.Out.ContentLength = out, -1
	pr.Out.Body = &trailerBody{ReadCloser: pr.Out.Body, in: pr.In, out: out}
}

// trailerBody is a request body that, at its end, copies the client's
// trailer values into out, the outbound request's Trailer.
type trailerBody struct {
	io.ReadCloser
	in  *http.Request
	out http.Header
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		for k := range b.out {
			b.out[k] = b.in.Trailer[k]
		}
	}
	return n, err
}

// verifyHostKey carries, on a request to the origins of a perHost rule,
// the host the client asked for, which its origin's
// certificate must cover.
type verifyHostKey struct{}

// sentPath is the path of req's target as the client sent it, escapes
// included, where Go would send another; "" where it sends the same.
// URL.EscapedPath re-escapes the decoded path whenever the raw one holds a
// byte Go escapes itself ('|', '{', '^', ...): "%2F" would reach the origin
// as "/" (another segment) and "%2e%2e" as "..". nginx passes the URI on
// as sent; rules match the decoded path (routePath), to which the sent one
// decodes. Not for a path of "//" (URL.RequestURI would take it for an
// authority) or one with a byte a request line cannot carry (an HTTP/2 or
// HTTP/3 :path may have a space): those go as Go escapes them.
func sentPath(req *http.Request) string {
	raw, _, _ := strings.Cut(req.RequestURI, "?")
	if !strings.HasPrefix(raw, "/") { // Absolute form: the path follows the authority.
		_, rest, ok := strings.Cut(raw, "://")
		i := strings.IndexByte(rest, '/')
		if !ok || i < 0 {
			return ""
		}
		raw = rest[i:]
	}
	if raw == req.URL.EscapedPath() || strings.HasPrefix(raw, "//") {
		return ""
	}
	for i := range len(raw) {
		if raw[i] <= ' ' || raw[i] >= 0x7f {
			return ""
		}
	}
	if p, err := url.PathUnescape(raw); err != nil || p != req.URL.Path {
		return ""
	}
	return raw
}

// sentURI is the request target that goes to origins and into forced
// redirects: URL.RequestURI with the path as the client sent it
// (sentPath) and the query as it sent it.
func sentURI(req *http.Request) string {
	u := req.URL
	if p := sentPath(req); p != "" {
		c := *u
		c.Opaque = p
		u = &c
	}
	return u.RequestURI()
}

// posesAs reports whether a client's header name is, but for underscores
// and case, one the rule sets for the origin (fwd: X_Real_IP, or
// X_Auth_User for a custom X-Auth-User, or X-Client-IP for a custom
// X-Client_IP; underscored: the rule's custom names have an '_'): CGI and
// PHP map "-" and "_" alike (HTTP_X_REAL_IP), so it would pass for the
// proxy's own, and an origin's nginx or httpd, which drop underscore
// names, would pass on only the client's. nginx drops every name with an
// underscore by default; only these go here, so that other underscore
// headers keep working.
func posesAs(fwd []forwardHeader, k string, underscored bool) bool {
	if !underscored && strings.IndexByte(k, '_') < 0 {
		return false // Neither side has one: the same name is replaced.
	}
	for _, h := range fwd {
		if h.key != k && sameCGIName(h.key, k) {
			return true
		}
	}
	return false
}

// sameCGIName reports whether a and b are one name to CGI: equal but for
// case and '_' read as '-'.
func sameCGIName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if x == '_' {
			x = '-'
		}
		if y == '_' {
			y = '-'
		}
		if lx := x | 0x20; x != y && (lx != y|0x20 || lx < 'a' || lx > 'z') {
			return false
		}
	}
	return true
}

// governs reports whether trailer k names, whatever its case and with
// "_" taken for "-" (as CGI maps them), a field the edge sets or vouches
// for on requests to origins: the forwarded set and any other
// X-Forwarded-*, Host, the rule's own headers, and the proxy chain's
// Forwarded (dropped) and Via (passed as the client sent it). The header
// section carries the edge's values for these; a trailer of the client's would
// follow them, and an origin that merges trailers into headers (httpd's
// MergeTrailers, CGI gateways) would trust the client's (CVE-2013-5704).
func (r *rule) governs(k string) bool {
	const xf = "X-Forwarded-"
	if len(k) >= len(xf) && sameCGIName(k[:len(xf)], xf) {
		return true
	}
	for _, f := range [...]string{"X-Real-Ip", "Forwarded", "Via", "Host"} {
		if sameCGIName(k, f) {
			return true
		}
	}
	for _, hd := range r.headers {
		if sameCGIName(k, hd.Name) {
			return true
		}
	}
	return false
}

// originHost is the Host sent to origins.
func (r *rule) originHost(in *http.Request) string {
	if r.forwardHost != "" {
		return r.forwardHost
	}
	return in.Host
}

// forwardHeader is a header set on outbound requests, replacing what the
// client sent under that name. The key is canonical.
type forwardHeader struct{ key, value string }

// forwarded appends to dst, in order, the headers the rule sets on a
// request to an origin; a later one replaces an earlier one with the same
// key (custom headers may replace ours). X-Forwarded-For appends the
// connecting address to the client's value, like nginx's
// $proxy_add_x_forwarded_for; X-Real-IP is the connecting address, which
// a client cannot forge; X-Forwarded-Port is the listener's port (the one
// the client connected to, as X-Forwarded-Proto is its scheme), replacing
// a client's claim.
func (r *rule) forwarded(in *http.Request, dst []forwardHeader) []forwardHeader {
	ip, _, err := net.SplitHostPort(in.RemoteAddr)
	if err == nil {
		xff := ip
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			xff = strings.Join(prior, ", ") + ", " + ip
		}
		dst = append(dst, forwardHeader{"X-Forwarded-For", xff})
	}
	proto := "http"
	if in.TLS != nil {
		proto = "https"
	}
	dst = append(dst, forwardHeader{"X-Forwarded-Host", in.Host}, forwardHeader{"X-Forwarded-Proto", proto},
		forwardHeader{"X-Forwarded-Port", r.listener.xfPort}, forwardHeader{"X-Real-Ip", ip})
	for _, hd := range r.headers {
		dst = append(dst, forwardHeader{hd.Name, strings.ReplaceAll(hd.Value, "$remote_addr", ip)})
	}
	return dst
}

// errNoOrigin is the error of a rule without origins.
var errNoOrigin = errors.New("rule has no origin")

// RoundTrip sends one request to an origin picked by the rule's scheduler,
// or reads the answer to one the direct path has sent already.
func (r *rule) RoundTrip(req *http.Request) (*http.Response, error) {
	if s, ok := req.Context().Value(sentKey{}).(*sentRequest); ok {
		resp, err := r.h1.receive(s.pc, s.stop, req)
		return r.track(s.o, resp, 0, err) // Timed by the direct path.
	}
	if b := req.Body; b != nil && b != http.NoBody {
		// One wrapper for every try: a body none of which was read may go
		// to the next origin (retry).
		req = req.WithContext(req.Context())
		req.Body = &unreadBody{body: b}
	}
	return tryOrigins(r, req, func(o *origin, ap netip.AddrPort) (*http.Response, error) { return r.send(o, ap, req) })
}

// tryOrigins calls send with origins picked by the rule's scheduler and
// the address to connect to. A failure retry allows is retried: on the
// origin's other addresses (a domain's), then on other origins, each
// address and each origin once; anything else is the caller's error.
func tryOrigins[T any](r *rule, req *http.Request, send func(*origin, netip.AddrPort) (T, error)) (T, error) {
	var tried []*balance.Target // Made at the first failure: most requests need none.
	var res T
	var err error
	for {
		t := r.picker.Pick(netipZero, tried...)
		if t == nil {
			if len(tried) == 0 {
				err = errNoOrigin
			}
			return res, err // After a retry: the rest are down, the last connect's error stands.
		}
		res, err = sendOrigin(r, r.origins[t.ID], req, send)
		if err == nil || !retry(req, err) {
			return res, err
		}
		if tried = append(tried, t); len(tried) >= len(r.origins) {
			return res, err
		}
	}
}

// sendOrigin calls send with o's next address and, after a connect failure
// that may be retried, with each of its other addresses in turn
// (health.TryAddrs): one dead server of a name with several does not fail
// the requests Addr sends it. An origin that is one of the node's own
// listening addresses is not sent to (a loop, each hop a new request):
// a failed connect, counted as one.
func sendOrigin[T any](r *rule, o *origin, req *http.Request, send func(*origin, netip.AddrPort) (T, error)) (T, error) {
	res, err := health.TryAddrs(o.backend, func(ap netip.AddrPort) (T, error) { return send(o, ap) },
		func(err error) bool { return retry(req, err) })
	switch {
	case err == health.ErrUnresolved:
		err = &net.OpError{Op: "dial", Net: "tcp", Err: err}
	case errors.Is(err, health.ErrOwnListener):
		o.backend.ConnStart() // Ended by failed.
		r.failed(o, err)
	}
	return res, err
}

// retry reports whether req may be sent to another origin after err, as
// nginx's default proxy_next_upstream (error) has it: a failed connect, or
// an origin certificate that failed verification (the handshake fails
// before any byte of a request is written), whatever the method, as long
// as none of its body was read (unreadBody); and an idempotent request
// without a body (retriable) whose origin closed or reset the connection
// before the whole head of an answer, as a stale pooled connection is
// replayed (h1Client.send): the origin may have acted on it, which such a
// request allows, and nothing of the answer went to the client. A timeout
// is not retried: another wait as long would follow.
func retry(req *http.Request, err error) bool {
	if req.Context().Err() != nil {
		return false
	}
	if isDialError(err) || errors.Is(err, health.ErrUnverified) {
		return bodyUnread(req)
	}
	return retriable(req) && closedEarly(err)
}

// closedEarly reports whether err is an origin closing or resetting the
// connection, not a timeout: before an answer, a request retriable may be
// sent again (retry, roundTrip's replay).
func closedEarly(err error) bool {
	return !isTimeout(err) &&
		(errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET))
}

// bodyUnread reports whether no byte of req's body was read: it has none,
// or none was read through its unreadBody (RoundTrip).
func bodyUnread(req *http.Request) bool {
	switch b := req.Body.(type) {
	case nil:
		return true
	case *unreadBody:
		return !b.read.Load()
	}
	return req.Body == http.NoBody
}

func (r *rule) send(o *origin, ap netip.AddrPort, req *http.Request) (*http.Response, error) {
	req.URL.Host = r.begin(o, ap)
	if r.h1.eligible(req) {
		resp, wait, err := r.h1.RoundTrip(req)
		return r.track(o, resp, wait, err)
	}
	if r.perHost {
		host, _ := req.Context().Value(verifyHostKey{}).(string)
		req.URL.Host = hostAlias(host, ap)
	}
	resp, conn, wait, err := roundTrip(r.transport, req, r.timed)
	if err == nil {
		spend(conn, resp)
	}
	if resp, err = r.track(o, resp, wait, err); err == nil && resp.StatusCode == http.StatusSwitchingProtocols { // A WebSocket.
		upgraded(conn, resp, r.listener.sendTimeout())
	}
	return resp, err
}

// begin counts a request in flight on o (for lc) and returns the text of
// its address ap; the request ends with failed, track or o.backend.ConnEnd.
func (r *rule) begin(o *origin, ap netip.AddrPort) string {
	o.backend.ConnStart()
	if c := o.addr.Load(); c != nil && c.ap == ap {
		return c.s
	}
	c := &originAddr{ap: ap, s: ap.String()} // A domain origin's address can change.
	o.addr.Store(c)
	return c.s
}

// answered records that o answered a request, wait after the request was
// sent (the answer's first byte; 0: not measured): o is not suspect, and,
// for an lrtt rule, the wait feeds its ranking, as connects do on layer 4
// (see health.AnswerTimer). Only lrtt reads it: other rules do not write
// the origin's shared RTT on every request.
func (r *rule) answered(o *origin, wait time.Duration) {
	o.backend.Connected()
	if wait > 0 && r.timed {
		o.backend.ObserveRTT(wait)
	}
}

// failed ends a request to o that got no answer. A connect that failed
// makes o suspect, and so does a request it took and never answered
// (within ResponseHeaderTimeout: an origin that accepts and hangs, which
// checks of the port alone take for healthy) or dropped (a reset or a
// close before any answer: an application that crashes on each request),
// as nginx counts all three towards max_fails; unless the exchange was cut
// short because the client went away (or the edge shut down): that says
// nothing about the origin.
func (r *rule) failed(o *origin, err error) {
	o.backend.ConnEnd()
	switch {
	case errors.Is(err, context.Canceled), errors.As(err, new(clientBodyError)):
	case isDialError(err):
		o.backend.ConnectFailed()
		stats.Set{o.stats, r.listener.Stats}.Add(dialFails, 1)
	case isTimeout(err), closedEarly(err):
		o.backend.ConnectFailed()
	}
}

// track ends the request to o when the response body is closed, or at
// once when it failed or its status is invalid (errInvalidStatus). wait is
// how long o took to answer (0: not measured here).
func (r *rule) track(o *origin, resp *http.Response, wait time.Duration, err error) (*http.Response, error) {
	if err == nil && resp.StatusCode < 100 {
		_ = resp.Body.Close() // Before its end: the connection is closed, not pooled.
		err = fmt.Errorf("%w %03d", errInvalidStatus, resp.StatusCode)
	}
	if err != nil {
		r.failed(o, err)
		return nil, err
	}
	r.answered(o, wait)
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded connection (a WebSocket) is counted until the
		// tunnel ends, which closes it (httputil, serveWebSocket3), or
		// at the latest with the request, as those relays close it then:
		// one that refuses the 101 (httputil, for an Upgrade other than
		// the one asked for) leaves it open.
		var b *endBody
		if rw, ok := resp.Body.(io.ReadWriteCloser); ok {
			u := &endUpgraded{endBody: endBody{ReadCloser: rw, end: o.backend.ConnEnd}, w: rw, stats: r.stats}
			b, resp.Body = &u.endBody, u // Its Close is endBody's.
		} else {
			b = &endBody{ReadCloser: resp.Body, end: o.backend.ConnEnd}
			resp.Body = b
		}
		closeWithRequest(resp.Request.Context(), b)
		return resp, nil
	}
	resp.Body = &endBody{ReadCloser: resp.Body, end: o.backend.ConnEnd}
	return resp, nil
}

// errInvalidStatus: http.ReadResponse, hence both origin pools, takes
// any three digits as a status code, but one below 100 is no HTTP status
// (RFC 9110 15: a client SHOULD treat it as a 5xx). Passed on, it became
// "200 OK" (a writer's default), a status line the client cannot parse,
// or a panic in net/http's WriteHeader; it is the origin's error instead,
// a 502, as codes ReadResponse refuses (1000, "20x") are. Codes 600-999
// are relayed: RFC 9110 leaves them to the client.
var errInvalidStatus = errors.New("origin sent an invalid status code")

// endUpgraded is the endBody of an upgraded connection: it stays an
// io.ReadWriteCloser, as httputil's and serveWebSocket3's relays need.
// Both relay the tunnel through it, so it counts the tunnel's bytes on
// the rule, as they pass (a WebSocket may last hours): what is read from
// the origin out, what is written to it in. The client connection counts
// its own bytes on the listener and proxy, as for any request.
//
// It passes the client's half-close on to the origin (CloseWrite).
type endUpgraded struct {
	endBody
	w      io.Writer
	stats  *stats.Counters
	origin *readTimeoutConn // Set by upgraded; nil: none to time.
}

func (b *endUpgraded) Read(p []byte) (int, error) {
	n, err := b.endBody.Read(p)
	b.stats.BytesOut.Add(int64(n))
	return n, err
}

func (b *endUpgraded) Write(p []byte) (int, error) {
	n, err := b.w.Write(p)
	b.stats.BytesIn.Add(int64(n))
	return n, err
}

// CloseWrite passes the client's half-close on to the origin: httputil's
// relay calls it when the client's side ends, and goes on relaying the
// origin's. From then the origin's reads are timed again (retime), as an
// answer body's, so a half-closed tunnel cannot outlive an origin that
// never ends it.
func (b *endUpgraded) CloseWrite() error {
	cw, ok := b.w.(interface{ CloseWrite() error }) // The Transport's body: readTimeoutConn or TLS.
	if !ok {
		return errors.ErrUnsupported
	}
	err := cw.CloseWrite()
	if b.origin != nil {
		b.origin.retime()
	}
	return err
}

// isDialError reports whether err is a failed connect: a dial's (a TLS
// handshake's included: roundTrip, dialHostTLS), or an origin certificate
// that failed verification (RealServerAuth), which leaves the origin as
// unusable as one that refuses connections.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" || errors.Is(err, health.ErrUnverified)
}

// retriable: idempotent requests whose body (none) can be sent again:
// idempotent methods, and any request with an Idempotency-Key or
// X-Idempotency-Key header, which http.Transport replays as idempotent
// whatever the method: the client that sent it asked for exactly that, and
// both origin paths then replay (and retry) the same requests.
func retriable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete: // TRACE is refused (ServeHTTP).
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}
