package l7

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"

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
	headers     []snapshot.Header
	redirect    string
	picker      *balance.Picker
	origins     map[string]*origin
	transport   *http.Transport
	tkey        transportKey // What transport was acquired with.
	h1          *h1Client    // Shortcut for plain-HTTP requests without body.
	stats       *stats.Counters
	proxy       *httputil.ReverseProxy
	vhost       *vhost
	listener    *Handler
}

type origin struct {
	id      string
	backend *health.Backend
	stats   *stats.Counters
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
	r := &rule{id: sr.ID, path: sr.Path, scheme: "http", forwardHost: sr.ForwardHost, headers: sr.Headers,
		redirect: sr.ForcedRedirect, origins: map[string]*origin{}, vhost: v, listener: h,
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
	k := transportKey{sni: sr.SNI, clientCert: d.ClientCertPEM, clientKey: d.ClientKeyPEM}
	if len(d.OriginCAPEMs) > 0 {
		k.roots, k.verifyName = strings.Join(d.OriginCAPEMs, "\x00"), originName(d, sr)
	}
	t, h1, err := h.env.Transports.acquire(k)
	if err != nil {
		return nil, err
	}
	r.transport, r.h1, r.tkey = t, h1, k
	probe, check := health.ProbeOf(sr.Health)
	var targets []*balance.Target
	for _, o := range sr.Origins {
		b := h.env.Pool.Acquire(health.Key{Proto: proto, Host: o.Host, Port: o.Port, IsDomain: o.IsDomain, Check: check, HTTP: probe})
		r.origins[o.ID] = &origin{id: o.ID, backend: b, stats: h.env.Stats.Get(stats.KindOrigin, o.ID)}
		targets = append(targets, &balance.Target{ID: o.ID, Weight: o.Weight, Secondary: o.Secondary, Backend: b})
	}
	r.picker = balance.New(sr.Scheduler, targets, sr.FailoverSwitch, nil, 0)
	r.proxy = &httputil.ReverseProxy{Rewrite: r.rewrite, Transport: r, ModifyResponse: r.modifyResponse,
		ErrorHandler: r.errorHandler, BufferPool: buffers, ErrorLog: quietLog}
	return r, nil
}

// release returns the rule's backends and transport. It leaves the rule
// itself untouched: requests in flight may still read it.
func (r *rule) release(env *Env) {
	for _, o := range r.origins {
		env.Pool.Release(o.backend)
	}
	if r.transport != nil {
		env.Transports.release(r.tkey)
	}
}

// rewrite prepares the outbound request. net/http/httputil has already
// removed hop-by-hop headers (keeping Upgrade for WebSocket) and the
// client's X-Forwarded-* headers.
func (r *rule) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = r.scheme
	pr.Out.URL.Host = "origin" // Set per attempt by RoundTrip.
	pr.Out.Host = pr.In.Host
	if r.forwardHost != "" {
		pr.Out.Host = r.forwardHost
	}
	// Append to the client's X-Forwarded-For like nginx's
	// $proxy_add_x_forwarded_for; X-Real-IP is the connecting address,
	// which a client cannot forge.
	if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
		pr.Out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded()
	ip, _, _ := net.SplitHostPort(pr.In.RemoteAddr)
	pr.Out.Header.Set("X-Real-IP", ip)
	for _, hd := range r.headers {
		pr.Out.Header.Set(hd.Name, strings.ReplaceAll(hd.Value, "$remote_addr", ip))
	}
}

// errNoOrigin is the error of a rule without origins.
var errNoOrigin = errors.New("rule has no origin")

// RoundTrip sends one request to an origin picked by the rule's scheduler.
// A connect failure of an idempotent request without body is retried on
// other origins, once per origin; anything else is the caller's error.
func (r *rule) RoundTrip(req *http.Request) (*http.Response, error) {
	var tried map[string]bool // Made at the first failure: most requests need none.
	for {
		o := r.pick(tried)
		if o == nil {
			return nil, errNoOrigin
		}
		resp, err := r.send(o, req)
		if err == nil || !isDialError(err) || !retriable(req) {
			return resp, err
		}
		if tried == nil {
			tried = make(map[string]bool, len(r.origins))
		}
		if tried[o.id] = true; len(tried) >= len(r.origins) {
			return resp, err
		}
	}
}

// pick prefers an origin not tried yet; the picker's own rotation usually
// provides one at once.
func (r *rule) pick(tried map[string]bool) *origin {
	var t *balance.Target
	for range len(r.origins) {
		if t = r.picker.Pick(netipZero); t == nil || !tried[t.ID] {
			break
		}
	}
	if t == nil {
		return nil
	}
	return r.origins[t.ID]
}

func (r *rule) send(o *origin, req *http.Request) (*http.Response, error) {
	ap, err := o.backend.Addr()
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	req.URL.Host = ap.String()
	o.backend.ConnStart()
	var rt http.RoundTripper = r.transport
	if r.h1.eligible(req) {
		rt = r.h1
	}
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode == http.StatusSwitchingProtocols {
		// An upgraded body must stay an io.ReadWriteCloser: not tracked.
		o.backend.ConnEnd()
		if err != nil && isDialError(err) {
			stats.Set{o.stats, r.listener.Stats}.Add(dialFails, 1)
		}
		return resp, err
	}
	resp.Body = &endBody{ReadCloser: resp.Body, end: o.backend.ConnEnd}
	return resp, nil
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retriable: idempotent methods whose body (none) can be sent again.
func retriable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return req.Body == nil || req.Body == http.NoBody
	}
	return false
}
