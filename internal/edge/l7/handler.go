// Package l7 is the layer-7 engine: HTTP and HTTPS listeners that route
// each request by host (virtual hosts, wildcards, a default domain) and by
// longest path prefix to a rule, which reverse-proxies it to one of its
// origins with custom headers, error pages, basic authentication, forced
// HTTPS redirects and origin-side TLS.
//
// A listener's configuration compiles into an immutable Handler; a Server
// owns the socket and serves whatever Handler it was last given, swapped
// atomically, so a configuration change (certificates included: the TLS
// config is looked up per handshake) never closes the port. A request, and
// a connection's TLS handshake, use the Handler current when they start.
package l7

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// Env is the long-lived state handlers draw from: origin health, counters
// and origin transports. The runtime owns it; it outlives handlers.
type Env struct {
	Pool       *health.Pool
	Stats      *stats.Registry
	Transports *Transports
	// BodyIdleTimeout and SendTimeout: see the constants; 0 means those.
	BodyIdleTimeout, SendTimeout time.Duration
}

// Handler is one listener's compiled, immutable configuration. It is an
// http.Handler and safe for concurrent use. It holds references on shared
// backends and transports until Release.
type Handler struct {
	ID    string
	Proxy *l4.Proxy       // Shared proxy state: policy, connection cap, counters.
	Stats *stats.Counters // The listener's counters.
	port  int
	tls   *serverTLS // Nil for HTTP.
	exact map[string]*vhost
	wild  []*vhost // Longest suffix first.
	def   *vhost
	env   *Env
	rules []*rule // Every rule, for Release and reports.
	// altSvc advertises HTTP/3 on HTTP/1.1 and HTTP/2 answers; nil = off.
	altSvc []string
	// xfPort is the X-Forwarded-Port origins get: the listener's port.
	xfPort string
	// h3Live is set once the listener's QUIC side serves this handler
	// (ListenHTTP3, H3Server.Update): until then, or if its UDP port cannot be bound,
	// Alt-Svc would send clients, for a day, to a port that is not ours.
	h3Live atomic.Bool
	// access sums up what the handler's TLS demands of clients, domain by
	// domain and for the default ("" for plain HTTP): when it changes,
	// open connections are checked against the new demands
	// (Server.Update).
	access string
	// Skipped holds the domains left out because their TLS material does
	// not parse, or the control plane could not compile it
	// (snapshot.Domain.Invalid) (domain and rule IDs → why): one domain's
	// certificate fails that domain, not the listener's others.
	Skipped map[string]string

	released sync.Once
}

// vhost is one domain.
type vhost struct {
	host   string
	suffix string // ".example.com" for "*.example.com"; "" for exact names.
	auth   *basicAuth
	pages  map[int]*snapshot.ErrorPage
	rules  []*rule // Longest path first.
	tlsIdx int     // Index into serverTLS.configs.
	// noH3: the domain is not served over HTTP/3 (its TLS versions exclude
	// 1.3, or it is snapshot.Domain.NoHTTP3): QUIC handshakes for it are
	// refused, requests for it over HTTP/3 misdirected, no Alt-Svc.
	noH3 bool
	// out: the domain is left out (Handler.Skipped). It keeps its name,
	// so that neither a wildcard nor the default domain serves it under
	// their own demands (a domain that asked for mutual TLS, served
	// without): handshakes for it fail (errLeftOut) and requests for it
	// get 503 (ServeHTTP). It has nothing else.
	out bool
}

// Build compiles a validated listener. On error nothing is held.
func Build(env *Env, l *snapshot.HTTPListener, proxy *l4.Proxy) (_ *Handler, err error) {
	h := &Handler{ID: l.ID, Proxy: proxy, Stats: env.Stats.Get(stats.KindListener, l.ID), port: l.Port,
		xfPort: strconv.Itoa(l.Port), exact: map[string]*vhost{}, env: env}
	if ServesHTTP3(l) {
		h.altSvc = []string{altSvc(l.Port)}
	}
	defer func() {
		if err != nil {
			h.Release()
		}
	}()
	certs := certCache{}
	if l.TLS != nil {
		h.tls = &serverTLS{}
	}
	for i := range l.Domains {
		d := &l.Domains[i]
		if d.Invalid != "" {
			h.skip(d, errors.New(d.Invalid))
			continue
		}
		v, err := h.buildVhost(l, d, certs)
		var tlsErr *domainTLSError
		if errors.As(err, &tlsErr) {
			h.skip(d, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("domain %s: %w", d.Host, err)
		}
		h.place(v, d.IsDefault)
	}
	slices.SortStableFunc(h.wild, func(a, b *vhost) int { return cmp.Compare(len(b.suffix), len(a.suffix)) })
	if h.tls != nil {
		err = h.tls.finish(h, *l.TLS, certs)
	}
	return h, err
}

// Continue starts h's rules' rotations where those of old's rules with the
// same IDs stand (balance.Picker.Continue), as a layer-4 listener's do: a
// change to any rule, domain or setting of a listener rebuilds all its
// rules, and fresh pickers sent each rule's next request to its first
// origin after every change (automation changing a listener between
// requests sent them all there). It is called before h serves.
func (h *Handler) Continue(old *Handler) {
	prev := make(map[string]*rule, len(old.rules))
	for _, r := range old.rules {
		prev[r.id] = r
	}
	for _, r := range h.rules {
		if o := prev[r.id]; o != nil {
			r.picker.Continue(o.picker)
		}
	}
}

func (h *Handler) buildVhost(l *snapshot.HTTPListener, d *snapshot.Domain, certs certCache) (*vhost, error) {
	v := newVhost(d)
	v.auth, v.pages, v.noH3 = newBasicAuth(d.BasicAuth), map[int]*snapshot.ErrorPage{}, d.NoHTTP3
	for i := range d.ErrorPages {
		for _, n := range d.ErrorPages[i].ErrorNos {
			v.pages[n] = &d.ErrorPages[i]
		}
	}
	if h.tls != nil {
		idx, err := h.tls.add(merge(l.TLS, d.TLS), certs)
		if err != nil {
			return nil, &domainTLSError{err}
		}
		v.tlsIdx = idx
		v.noH3 = v.noH3 || h.tls.configs[idx].MaxVersion < tls.VersionTLS13
	}
	for i := range d.Rules {
		r, err := h.buildRule(l, d, v, &d.Rules[i])
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", d.Rules[i].ID, err)
		}
		v.rules = append(v.rules, r)
		h.rules = append(h.rules, r)
	}
	slices.SortStableFunc(v.rules, func(a, b *rule) int { return cmp.Compare(len(b.path), len(a.path)) })
	return v, nil
}

// domainTLSError is a domain's own TLS material failing: it is built
// before the domain's rules, so nothing is held when it is skipped.
type domainTLSError struct{ error }

func (e *domainTLSError) Unwrap() error { return e.error }

// newVhost is the domain of d's name, with nothing to serve yet.
func newVhost(d *snapshot.Domain) *vhost {
	v := &vhost{host: strings.ToLower(d.Host)}
	if rest, ok := strings.CutPrefix(v.host, "*"); ok {
		v.suffix = rest
	}
	return v
}

// place makes v serve its name (and the names no other domain matches,
// if def).
func (h *Handler) place(v *vhost, def bool) {
	if v.suffix != "" {
		h.wild = append(h.wild, v)
	} else {
		h.exact[v.host] = v
	}
	if def {
		h.def = v
	}
}

// skip records d, and its rules, as left out for err; its name stays,
// refused (vhost.out).
func (h *Handler) skip(d *snapshot.Domain, err error) {
	if h.Skipped == nil {
		h.Skipped = map[string]string{}
	}
	why := fmt.Sprintf("domain %s: %v", d.Host, err)
	h.Skipped[cmp.Or(d.ID, d.Host)] = why
	for _, r := range d.Rules {
		h.Skipped[r.ID] = why
	}
	v := newVhost(d)
	v.out = true
	h.place(v, d.IsDefault)
}

// vhosts lists the handler's domains in a stable order.
func (h *Handler) vhosts() []*vhost {
	vs := slices.Collect(maps.Values(h.exact))
	slices.SortFunc(vs, func(a, b *vhost) int { return strings.Compare(a.host, b.host) })
	return append(vs, h.wild...)
}

// Release returns the handler's backends and transports. Requests still
// running on it finish normally.
// Calls after the first do nothing.
func (h *Handler) Release() {
	h.released.Do(func() {
		h.env.Transports.release(h.rules...)
		for _, r := range h.rules {
			r.releaseOrigins(h.env)
		}
	})
}

// Backends lists the origins in use as "ruleID/originID" with their
// shared backend, for health reports and events.
func (h *Handler) Backends() map[string]*health.Backend {
	out := map[string]*health.Backend{}
	for _, r := range h.rules {
		for id, o := range r.origins {
			out[snapshot.HealthKey(r.id, id)] = o.backend
		}
	}
	return out
}

// RuleIDs lists the IDs of the handler's rules, whose counters it holds.
func (h *Handler) RuleIDs() []string {
	ids := make([]string, len(h.rules))
	for i, r := range h.rules {
		ids[i] = r.id
	}
	return ids
}

// match finds the domain of a host (lower-case, without port).
func (h *Handler) match(host string) *vhost {
	if v := h.exact[host]; v != nil {
		return v
	}
	for _, v := range h.wild {
		if strings.HasSuffix(host, v.suffix) && len(host) > len(v.suffix) {
			return v
		}
	}
	return h.def
}

// routePath is the path rules are matched against: the request's
// (percent-decoded) path with "." and ".." segments resolved and runs of
// slashes merged, as nginx normalises a URI before it matches locations.
// Without it "/api/../secret" (or "/api/%2e%2e/secret") would take the
// "/api/" rule to an origin that resolves it to "/secret". The request
// still goes to the origin as the client sent it. ok is false for a path
// that climbs above the root (nginx answers 400).
func routePath(p string) (string, bool) {
	if p == "" { // An absolute-form target without a path: the root.
		return "/", true
	}
	if !strings.HasPrefix(p, "/") || !strings.Contains(p, "/.") && !strings.Contains(p, "//") {
		return p, true
	}
	var segs []string
	parts := strings.Split(p[1:], "/")
	dir := false // The result ends with a slash.
	for i, s := range parts {
		last := i == len(parts)-1
		switch s {
		case "", ".":
			dir = last
		case "..":
			if len(segs) == 0 {
				return "", false
			}
			segs, dir = segs[:len(segs)-1], last
		default:
			segs, dir = append(segs, s), false
		}
	}
	out := "/" + strings.Join(segs, "/")
	if dir && len(segs) > 0 {
		out += "/"
	}
	return out, true
}

// match finds the rule of a path: the longest prefix.
func (v *vhost) match(path string) *rule {
	for _, r := range v.rules {
		if strings.HasPrefix(path, r.path) {
			return r
		}
	}
	return nil
}

// authority is the Host a request that came without one (HTTP/1.0, or
// HTTP/2 or HTTP/3 without :authority) stands for on its domain v, as
// nginx's $host falls back to the matching server_name: the domain's
// name; for a wildcard domain, which names no one host, the access
// address the client connected to (the domain's base name if unknown).
// Without it the redirect was "https:///path" and origins got their own
// address as Host (net/http's fallback to the URL's host).
func (v *vhost) authority(req *http.Request) string {
	if v.suffix == "" {
		return v.host
	}
	if a, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr); ok { // net/http, HTTP/3
		return a.String()
	}
	if c, ok := req.Context().Value(clientConnKey{}).(net.Conn); ok { // The fast path.
		return c.LocalAddr().String()
	}
	return strings.TrimPrefix(v.host, "*.")
}

// hostOf is the request's host, lower-cased, without port or final dot.
// r.Host is valid (validHost: ServeHTTP refuses others).
func hostOf(r *http.Request) string { return hostName(r.Host) }

// hostName is hostOf for a Host value.
func hostName(h string) string {
	host, _ := splitHost(h)
	return canonHost(strings.Trim(host, "[]"))
}

// splitHost splits a Host at the colon before its port, if any.
func splitHost(h string) (host, port string) {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		return h[:i], h[i+1:]
	}
	return h, ""
}

// validHost reports whether h is a Host field value as RFC 9110 (7.2)
// has it, uri-host [":" port]: a reg-name (RFC 3986 3.2.2: unreserved,
// sub-delims and %XX; IPv4 addresses are reg-names too) or an IPv6
// address in brackets, and a port of digits, maybe none. An empty one is
// valid: no Host, the default domain's name stands in (vhost.authority).
// Another is refused (RFC 9112 3.2: 400): "admin.test:1:2" was routed by
// "admin.test:1" (no domain: the default one, without admin.test's basic
// auth) while an origin such as nginx, which ends the host at the first
// colon, served it as admin.test. A Host with no name (".", ":80") is
// refused as nginx does: the redirect to it was "https:///" and the URI.
// So is one with an empty label ("admin.test..", "a..test"), as nginx
// refuses it: routed by no domain (the default one, without admin.test's
// controls) it reached origins that fold the dots into admin.test.
func validHost(h string) bool {
	host, port := splitHost(h)
	if host == "" || host == "." {
		return h == ""
	}
	if strings.Contains(host, "..") {
		return false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	if strings.HasPrefix(host, "[") {
		return snapshot.BracketedIPv6(host)
	}
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case regNameChar[c]:
		case c == '%' && i+2 < len(host) && isHex(host[i+1]) && isHex(host[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

// regNameChar marks the bytes a reg-name has as they are (RFC 3986
// 3.2.2: unreserved and sub-delims); a table, since validHost runs on
// every request, twice on the fast path (parseFastHead, ServeHTTP).
var regNameChar = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-._~!$&'()*+,;=", byte(c)) >= 0
	}
	return t
}()

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// validTarget reports whether req's target is in origin form
// ("/path?query"), in asterisk form ("*", for OPTIONS only: RFC 9112
// 3.2.4; any other method would be routed as the path "*", which nginx
// refuses with 400) or is an http or https URL in absolute form (RFC 9112
// 3.2). net/http also takes "x:@evil.test/" (an absolute URI
// of another scheme, RFC 3986 4.3) and "http:evil.test" as targets: URLs
// with an opaque part and no path, routed as "/". Forced redirects and
// origins would get the opaque part where a path goes, after the host:
// "https://a.test" + "@evil.test/" has the host evil.test. Refused (400)
// as nginx refuses them. So is a query with a space, which only an HTTP/2
// or HTTP/3 :path can carry (url.Parse keeps RawQuery as sent, and
// refuses control characters only): written into the origin's HTTP/1.1
// request line, "GET /q?a HTTP/1.0 x HTTP/1.1", origins read it each
// their own way. nginx refuses it too (a space in the request line, an
// invalid :path). The path is escaped when written (EscapedPath).
func validTarget(req *http.Request) bool {
	u := req.URL
	if u.Path == "*" && req.Method != http.MethodOptions {
		return false
	}
	return u.Opaque == "" && (u.Scheme == "" || u.Scheme == "http" || u.Scheme == "https") && !strings.Contains(u.RawQuery, " ")
}

// canonHost is a host name as domains are matched: lower-cased, without
// the final dot that names the same host. Host headers and SNI both go
// through it.
func canonHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }
