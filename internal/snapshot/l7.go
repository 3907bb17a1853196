package snapshot

import (
	"iter"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Protocol values for HTTPListener.Protocol and forward protocols.
const (
	ProtoHTTP  = "HTTP"
	ProtoHTTPS = "HTTPS"
)

// TLS versions (the GAAP TLSSupportVersion spelling) and cipher policies
// (TLSCiphers). The suites each policy maps to are listed in
// docs/dataplane-l7.md and implemented by the edge.
const (
	TLS10 = "TLSv1"
	TLS11 = "TLSv1.1"
	TLS12 = "TLSv1.2"
	TLS13 = "TLSv1.3"

	CiphersStrict  = "GAAP_TLS_CIPHERS_STRICT"  // TLS 1.2 AEAD suites with forward secrecy only.
	CiphersGeneral = "GAAP_TLS_CIPHERS_GENERAL" // STRICT plus ECDHE CBC suites.
	CiphersWide    = "GAAP_TLS_CIPHERS_WIDE"    // GENERAL plus static-RSA suites, for old clients.
)

// HTTPListener is one HTTP or HTTPS listener of a proxy. It binds a TCP
// port like a TCP listener (the two cannot share a port) and routes each
// request by host (Domains) then by path (Domain.Rules).
type HTTPListener struct {
	// ID is the stable listener ID; reports and counters are keyed by it.
	ID string `json:"id"`
	// Protocol is ProtoHTTP or ProtoHTTPS.
	Protocol string `json:"protocol"`
	// Port is the listening TCP port (1-65535).
	Port int `json:"port"`
	// TLS is the listener's certificate and TLS settings; required for
	// HTTPS, must be nil for HTTP. A domain's TLS fields override it.
	TLS *TLS `json:"tls,omitempty"`
	// ForwardProtocol is how rules that do not say otherwise reach their
	// origins: ProtoHTTP or ProtoHTTPS; "" means ProtoHTTP.
	ForwardProtocol string `json:"forwardProtocol,omitempty"`
	// HTTP3 also serves HTTP/3 (QUIC, TLS 1.3) on the UDP port of the same
	// number, which it then occupies like a UDP listener; HTTPS only.
	// HTTP/1.1 and HTTP/2 answers advertise it with Alt-Svc. A listener
	// whose TLS versions exclude TLS 1.3 serves no HTTP/3 (the port stays
	// reserved).
	HTTP3 bool `json:"http3,omitempty"`
	// Domains are the listener's virtual hosts.
	Domains []Domain `json:"domains,omitempty"`
	// Invalid, when set, is why the control plane could not compile the
	// listener's own TLS material (a certificate or client CA it cannot
	// read, a key that does not unseal): the listener is invalid with it,
	// as one whose material does not parse, rather than served with less
	// than it asked for (no client CA would turn mutual TLS off).
	Invalid string `json:"invalid,omitempty"`
}

// TLS is certificate material and protocol settings of an HTTPS listener
// or domain. Empty fields of a domain's TLS fall back to the listener's.
type TLS struct {
	// CertPEM is the server certificate chain (leaf first), KeyPEM its key.
	CertPEM string `json:"certPem,omitempty"`
	KeyPEM  string `json:"keyPem,omitempty"`
	// ClientCAPEMs, when non-empty, make clients present a certificate
	// signed by one of these CAs (GAAP AuthType 1, mutual TLS).
	ClientCAPEMs []string `json:"clientCaPems,omitempty"`
	// MinVersion and MaxVersion bound the TLS versions (TLS10..TLS13);
	// "" means TLS12 and TLS13. GAAP's TLSSupportVersion list becomes its
	// lowest and highest element, and SkipVersions the versions between
	// them it leaves out (["TLSv1", "TLSv1.2"] skips TLSv1.1): a version
	// the caller left out is never served. They are set together.
	MinVersion   string   `json:"minVersion,omitempty"`
	MaxVersion   string   `json:"maxVersion,omitempty"`
	SkipVersions []string `json:"skipVersions,omitempty"`
	// Ciphers is CiphersStrict, CiphersGeneral or CiphersWide ("" = wide).
	// It constrains TLS 1.0-1.2 only: TLS 1.3 suites are not configurable.
	Ciphers string `json:"ciphers,omitempty"`
}

// Domain is a virtual host of an HTTP(S) listener.
type Domain struct {
	// ID names the domain in the edge's report when it fails alone (its
	// TLS material does not parse); empty in snapshots of older releases.
	ID string `json:"id,omitempty"`
	// Host is matched against the request's host without port, case-
	// insensitively: an exact name, or "*.example.com", which matches any
	// name ending in ".example.com" (at any depth). Exact names win over
	// wildcards, and longer wildcards over shorter ones.
	Host string `json:"host"`
	// IsDefault makes the domain serve requests whose host matches no
	// domain (and TLS handshakes whose SNI matches none). At most one.
	IsDefault bool `json:"isDefault,omitempty"`
	// TLS overrides the listener's TLS for handshakes whose SNI matches
	// Host (HTTPS only); nil means the listener's.
	TLS *TLS `json:"tls,omitempty"`
	// NoHTTP3 keeps the domain off its listener's HTTP/3: QUIC handshakes
	// for it are refused and its answers carry no Alt-Svc, as for a domain
	// whose TLS versions exclude TLS 1.3.
	NoHTTP3 bool `json:"noHttp3,omitempty"`
	// BasicAuth, when non-empty, requires HTTP basic authentication with
	// one of these htpasswd-style "user:hash" lines, read by UserEntry (an
	// nginx ":comment" may follow; no '#' comment lines: UserLines). hash is bcrypt ($2a$, $2b$, $2y$),
	// Apache MD5 ($apr1$), crypt(3) MD5, SHA-256 or SHA-512 ($1$, $5$,
	// $6$), "{SHA}" + base64(SHA-1), or else compared as plain text.
	BasicAuth []string `json:"basicAuth,omitempty"`
	// OriginCAPEMs, when non-empty, make the edge verify HTTPS origins'
	// certificates against these CAs (GAAP RealServerAuth); otherwise
	// origin certificates are not verified.
	OriginCAPEMs []string `json:"originCaPems,omitempty"`
	// OriginServerName is the name origin certificates must carry; "" means
	// the rule's SNI if set, else Host (without a leading "*.").
	OriginServerName string `json:"originServerName,omitempty"`
	// ClientCertPEM and ClientKeyPEM are presented to HTTPS origins that ask
	// for a client certificate (GAAP GaapAuth); empty = none.
	ClientCertPEM string `json:"clientCertPem,omitempty"`
	ClientKeyPEM  string `json:"clientKeyPem,omitempty"`
	// ErrorPages replace answers with the listed status codes, from
	// origins and from the edge itself (404 no rule, 502, 504).
	ErrorPages []ErrorPage `json:"errorPages,omitempty"`
	// Rules route by path; see Rule.Path.
	Rules []Rule `json:"rules,omitempty"`
	// Invalid, when set, is why the control plane could not compile the
	// domain's own material (a certificate, client CA or origin CA it
	// cannot read, a key that does not unseal): the edge leaves the domain
	// out alone, as one whose TLS material does not parse, rather than
	// serve it with less than it asked for (no origin CA would reach
	// origins unverified).
	Invalid string `json:"invalid,omitempty"`
}

// ErrorPage is a custom answer for some status codes of a domain.
type ErrorPage struct {
	// ErrorNos are the status codes replaced (400-599).
	ErrorNos []int `json:"errorNos"`
	// NewErrorNo is the status sent instead; 0 keeps the original.
	NewErrorNo int `json:"newErrorNo,omitempty"`
	// Body replaces the answer's body.
	Body string `json:"body"`
	// ClearHeaders are removed from the answer; SetHeaders then set.
	// SetHeaders names no ConnectionHeaders (the edge frames the page).
	ClearHeaders []string `json:"clearHeaders,omitempty"`
	SetHeaders   []Header `json:"setHeaders,omitempty"`
}

// Header is one header name and value.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ConnectionHeaders are the hop-by-hop headers (RFC 9110 §7.6.1) and
// Content-Length: they concern one connection or frame the message, so
// only the proxy writes them. Neither a custom request header
// (model.BlackHeaders) nor an error page's SetHeaders may name one.
var ConnectionHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Content-Length",
}

// IsConnectionHeader reports whether name is one of ConnectionHeaders, in
// any case.
func IsConnectionHeader(name string) bool {
	return slices.ContainsFunc(ConnectionHeaders, func(c string) bool { return strings.EqualFold(c, name) })
}

// Rule forwards the requests of a domain whose path starts with Path.
type Rule struct {
	// ID is the stable rule ID; per-rule counters are keyed by it.
	ID string `json:"id"`
	// Path is a byte-wise prefix of the request path, starting with "/";
	// the longest matching rule of the domain wins (nginx prefix location
	// semantics: "/api" also matches "/apix"). Both are percent-decoded:
	// the request's path normalised by the edge, this one by the
	// controller (model.RoutePath).
	Path string `json:"path"`
	// Scheduler is SchedRR, SchedWRR, SchedLC or SchedLRTT.
	Scheduler string `json:"scheduler"`
	// Origins are the rule's real servers; Secondary is honoured when
	// FailoverSwitch is set.
	Origins        []Origin `json:"origins,omitempty"`
	FailoverSwitch bool     `json:"failoverSwitch,omitempty"`
	// Health is the HTTP health check of the origins.
	Health HTTPCheck `json:"health"`
	// ForwardProtocol is ProtoHTTP or ProtoHTTPS; "" means the listener's.
	ForwardProtocol string `json:"forwardProtocol,omitempty"`
	// ForwardHost replaces the Host header sent to origins; "" keeps the
	// client's.
	ForwardHost string `json:"forwardHost,omitempty"`
	// SNI is the server name sent in the TLS handshake to HTTPS origins;
	// "" sends none (GAAP ServerNameIndicationSwitch OFF).
	SNI string `json:"sni,omitempty"`
	// ForcedRedirect, when set, answers plain-HTTP requests with a 301 to
	// HTTPS instead of forwarding, in a form ParseRedirect reads: "https:"
	// (same host, default port), "https:PORT", or "https://AUTHORITY[/PATH]".
	// The edge serves any other value as "https:".
	ForcedRedirect string `json:"forcedRedirect,omitempty"`
	// Headers are set on requests sent to origins (replacing any value the
	// client sent); "$remote_addr" in a value becomes the client IP.
	Headers []Header `json:"headers,omitempty"`
}

// HTTPCheck is an HTTP health check of a rule's origins. A check passes
// when the origin answers Method Path with a status in StatusClasses.
type HTTPCheck struct {
	Enabled bool `json:"enabled"`
	// Interval between checks (0 = 5s) and Timeout of one (0 = 2s).
	Interval time.Duration `json:"interval,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	// Healthy and Unhealthy are the rise/fall counts (0 = 3).
	Healthy   int `json:"healthy,omitempty"`
	Unhealthy int `json:"unhealthy,omitempty"`
	// Path (default "/") and Method ("HEAD" or "GET", default "HEAD").
	Path   string `json:"path,omitempty"`
	Method string `json:"method,omitempty"`
	// StatusClasses are the accepted classes as GAAP spells them: 100,
	// 200, 300, 400, 500 (100 = any 1xx). Empty means 200 and 300.
	StatusClasses []int `json:"statusClasses,omitempty"`
	// Host is the Host header of checks; "" means the origin's address.
	Host string `json:"host,omitempty"`
}

// Equal reports whether two HTTP listeners are configured identically.
func (l *HTTPListener) Equal(o *HTTPListener) bool { return reflect.DeepEqual(l, o) }

// PlacedHTTP is an HTTP listener together with the proxy it belongs to.
type PlacedHTTP struct {
	Proxy    *Proxy
	Listener *HTTPListener
}

// HTTPListeners returns every HTTP listener with its proxy, in order.
func (s *Snapshot) HTTPListeners() []PlacedHTTP {
	var out []PlacedHTTP
	for i := range s.Proxies {
		p := &s.Proxies[i]
		for j := range p.HTTPListeners {
			out = append(out, PlacedHTTP{p, &p.HTTPListeners[j]})
		}
	}
	return out
}

// UserEntry splits a basic-auth user-list line as nginx's
// auth_basic_user_file reads it: the user up to the first ':', the hash up
// to the next ':' or the end ("name:password:comment"; the comment is
// ignored). ok is false unless both are non-empty, and for a comment (a
// line starting with '#'), which names no user. The API validates lines
// and the edge reads them with it, so a line is accepted only as it is
// served.
func UserEntry(line string) (user, hash string, ok bool) {
	user, rest, found := strings.Cut(line, ":")
	hash, _, _ = strings.Cut(rest, ":")
	return user, hash, found && user != "" && hash != "" && !strings.HasPrefix(line, "#")
}

// Hash cost bounds of a basic-auth user list. The edge checks a hash with
// the cost written in it, and a failed check is not cached, so a request
// naming the user with any password costs the check again: bcrypt honours
// costs up to 31 (days of CPU), SHA-crypt rounds up to 999,999,999
// (minutes). MaxBcryptCost is the highest default of the common tools
// (htpasswd -B writes 5; PHP 8.4, Python's bcrypt and Laravel write 12): a
// check costs a few hundred milliseconds. A SHA-crypt round hashes the
// password, so a check costs rounds times the password's length: with
// MaxCryptRounds (20 times the default, 5000) and the 512-byte passwords
// the edge checks (libxcrypt's CRYPT_MAX_PASSPHRASE_SIZE), at most about
// what a bcrypt-12 check costs. passlib's defaults (535,000 and 656,000
// rounds) are above it.
const (
	MaxBcryptCost  = 12
	MaxCryptRounds = 100_000
)

// HashTooCostly reports whether hash, a user-list entry's hash, names a
// cost above MaxBcryptCost ($2a$, $2b$, $2y$) or MaxCryptRounds ($5$, $6$
// "rounds="), read as golang.org/x/crypto/bcrypt and
// github.com/GehirnInc/crypt read it. A cost they cannot read is not too
// costly: they refuse the hash without computing it.
func HashTooCostly(hash string) bool {
	switch {
	case len(hash) >= 6 && (strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")):
		cost, err := strconv.Atoi(hash[4:6])
		return err == nil && cost > MaxBcryptCost
	case strings.HasPrefix(hash, "$5$"), strings.HasPrefix(hash, "$6$"):
		field, _, found := strings.Cut(hash[3:], "$")
		n, isRounds := strings.CutPrefix(field, "rounds=")
		rounds, err := strconv.Atoi(n)
		return found && isRounds && err == nil && rounds > MaxCryptRounds
	}
	return false
}

// UserLines yields the lines of a basic-auth user list (a type-0
// certificate's content) that hold entries, trimmed, with their 1-based
// line numbers: nginx's auth_basic_user_file skips empty lines and
// comments (lines starting with '#'), and so does this.
func UserLines(text string) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		for i, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if !yield(i+1, line) {
				return
			}
		}
	}
}

// Redirect is a ForcedRedirect taken apart by ParseRedirect.
type Redirect struct {
	// Port is the PORT of "https:PORT"; "" for the default one.
	Port string
	// Authority is the "HOST[:PORT]" of "https://AUTHORITY[/PATH]"; ""
	// keeps the request's host.
	Authority string
	// Path is the "/PATH" of "https://AUTHORITY/PATH" as written (escaped),
	// without a final '/'.
	Path string
}

// ParseRedirect takes apart a ForcedRedirect: "https:" (the request's host
// on the default port: the RuleInfo reference's value), "https:PORT"
// (1-65535) or "https://AUTHORITY[/PATH]" (the CreateRule reference's
// example, "https://www.qq.com/url"). ok is false for anything else. The
// edge pastes the request URI after the value, so each part must be what
// it seems: an empty authority ("https://", "https:///") would make the
// request path's first segment the Location's host (an open redirect), a
// port that is not one ("https:www.qq.com/url", "https:99999") a Location
// that is no URL. The API refuses what it refuses (and checks the host
// itself); the edge serves such a value, stored before the API did, as
// "https:": ParseRedirect returns the zero Redirect for it.
func ParseRedirect(s string) (r Redirect, ok bool) {
	rest, found := strings.CutPrefix(s, "https:")
	if !found || strings.ContainsFunc(s, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return Redirect{}, false
	}
	auth, isURL := strings.CutPrefix(rest, "//")
	if !isURL {
		if rest != "" && !validPort(rest) {
			return Redirect{}, false
		}
		return Redirect{Port: rest}, true
	}
	r.Authority = auth
	if i := strings.IndexByte(auth, '/'); i >= 0 {
		r.Authority, r.Path = auth[:i], strings.TrimSuffix(auth[i:], "/")
	}
	host := r.Authority
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		if !validPort(host[i+1:]) {
			return Redirect{}, false
		}
		host = host[:i]
	}
	// url.Parse checks the host's characters and the path's escapes, but
	// lets brackets through anywhere ("https://]"): a host with one must be
	// an IPv6 literal in them. A query or fragment would end up before the
	// request URI.
	if strings.ContainsAny(host, "[]") && !BracketedIPv6(host) {
		return Redirect{}, false
	}
	u, err := url.Parse(s)
	if err != nil || host == "" || u.User != nil || u.Host != r.Authority || strings.ContainsAny(s, "?#") {
		return Redirect{}, false
	}
	return r, true
}

// BracketedIPv6 reports whether h is "[IPv6]", as a URL's host has it
// (no zone).
func BracketedIPv6(h string) bool {
	ip, ok := strings.CutPrefix(h, "[")
	ip, ok2 := strings.CutSuffix(ip, "]")
	a, err := netip.ParseAddr(ip)
	return ok && ok2 && err == nil && a.Is6() && a.Zone() == ""
}

// validPort reports whether p is a TCP port number, 1-65535, in digits.
func validPort(p string) bool {
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n != 0
}
