package model

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// Layer-7 quotas (docs/api-l7.md).
const (
	MaxDomainsPerListener = 100 // CreateDomain: "一个监听器下最大支持100个域名"
	MaxRulesPerDomain     = 100
	MaxHeadersPerRule     = 20
	MaxErrorPageBody      = 64 << 10
	maxPathLen            = 200 // Characters (runes), not bytes.
	maxHeaderNameLen      = 100
	maxHeaderValueLen     = 1000 // Characters (runes), not bytes.
)

// ValidateHost checks a domain of an HTTP or HTTPS listener: a host name,
// optionally starting with a "*." wildcard label.
func ValidateHost(param, host string) error {
	if len(host) > 253 || !hostName(strings.TrimPrefix(host, "*."), 1, false) {
		return apierr.New(apierr.InvalidParameterValue, "%s %q must be a domain name (letters, digits, '-' and '.', optionally starting with \"*.\")", param, host)
	}
	return nil
}

// CheckDomainHTTP3 checks a domain's Http3Supported against its listener
// l. HTTP/3 is served per listener, on a UDP port taken at creation and
// never opened later, so a domain can have it only on an HTTPS listener
// created with it; anywhere else the flag would be shown but not served.
func (l *Listener) CheckDomainHTTP3(h3 int64) error {
	if err := CheckSwitch("Http3Supported", h3); err != nil || h3 == 0 {
		return err
	}
	switch {
	case l.Protocol != HTTPS:
		return invalid("Http3Supported", "HTTP/3 needs an HTTPS listener; %s is HTTP", l.ID)
	case l.Http3Supported != 1:
		return invalid("Http3Supported", "listener %s was created without HTTP/3, which cannot be turned on afterwards; its domains cannot serve HTTP/3", l.ID)
	}
	return nil
}

// ParsePath checks a rule or health-check path (absolute, printable, no
// spaces) and returns it decoded. The reference's own examples send paths
// URL-encoded ("%2Fimage", "%2F"), SDK users send them as they are. A
// literal path starts with '/', so only a value starting with an encoded
// one is decoded: "/a%20b" is kept as written.
func ParsePath(param, raw string) (string, error) {
	path := raw
	if len(raw) >= 3 && strings.EqualFold(raw[:3], "%2F") {
		var err error
		if path, err = url.PathUnescape(raw); err != nil {
			return "", apierr.New(apierr.InvalidParameterValue, "%s %q starts URL-encoded (%%2F) but is not valid URL encoding", param, raw)
		}
	}
	if !strings.HasPrefix(path, "/") || utf8.RuneCountInString(path) > maxPathLen || strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", apierr.New(apierr.InvalidParameterValue, "%s %q must start with '/' (or be URL-encoded, starting with %%2F), have at most %d characters and contain no spaces", param, raw, maxPathLen)
	}
	return path, nil
}

// RoutePath is a rule path as requests are matched against it: decoded,
// as the edge decodes request paths before matching (as nginx does for
// locations), so that the stored "/caf%C3%A9" and "/café" are one rule and
// both match "GET /caf%C3%A9/menu". The stored path stays as written.
func RoutePath(path string) string {
	if p, err := routePath(path); err == nil {
		return p
	}
	return path // Refused by ValidateRule; only an older store holds one.
}

// routePath is RoutePath, or why a stored path could route nothing: a
// malformed %-escape (a request target with one is refused), a . or ..
// segment (requests are matched after theirs are resolved) or an empty
// one, "//" (requests are matched after their runs of slashes are merged),
// a '?' or '#' (a request's path ends before its query or fragment).
func routePath(path string) (string, error) {
	if strings.ContainsAny(path, "?#") {
		return "", apierr.New(apierr.InvalidParameterValue, "Path %q has a '?' or '#': rules match a request's path, which ends before its query or fragment, so no request could match it (%%3F and %%23 stand for a literal one)", path)
	}
	p, err := unescapePath("Path", path)
	if err != nil {
		return "", err
	}
	if slices.ContainsFunc(strings.Split(p, "/"), func(seg string) bool { return seg == "." || seg == ".." }) {
		return "", apierr.New(apierr.InvalidParameterValue, "Path %q has a . or .. segment: requests are matched after theirs are resolved, so no request could match it", path)
	}
	if strings.Contains(p, "//") {
		return "", apierr.New(apierr.InvalidParameterValue, "Path %q has an empty segment (//): requests are matched after their runs of slashes are merged, so no request could match it", path)
	}
	return p, nil
}

// unescapePath decodes a path's %-escapes, refusing a malformed one: no
// HTTP request carries such a path (net/http refuses the target, net/url
// will not build one), so a rule Path with one matches nothing and a
// CheckParams.Path with one is never sent.
func unescapePath(param, path string) (string, error) {
	p, err := url.PathUnescape(path)
	if err != nil {
		return "", apierr.New(apierr.InvalidParameterValue, "%s %q has a malformed %%-escape: no request can carry it (a request target with one is refused)", param, path)
	}
	return p, nil
}

// ValidateRule checks the enums and the health check of a rule, and
// decodes its URL-encoded paths in place (ParsePath). Its ForcedRedirect
// is checked apart, when a call sets it (ValidateForcedRedirect).
func ValidateRule(r *Rule) error {
	var err error
	if r.Path, err = ParsePath("Path", r.Path); err != nil {
		return err
	}
	if _, err := routePath(r.Path); err != nil {
		return err
	}
	checks := []error{
		l7Enum("RealServerType", r.RealServerType, "IP", "DOMAIN"),
		l7Enum("Scheduler", r.Scheduler, "rr", "wrr", "lc", "lrtt"),
		l7Enum("ForwardProtocol", r.ForwardProtocol, "default", HTTP, HTTPS),
		l7Enum("ServerNameIndicationSwitch", r.ServerNameIndicationSwitch, "ON", "OFF"),
	}
	if err := firstErr(checks...); err != nil {
		return err
	}
	switch {
	case r.HealthCheck != 0 && r.HealthCheck != 1:
		return apierr.New(apierr.InvalidParameterValue, "HealthCheck must be 0 (off) or 1 (on), not %d", r.HealthCheck)
	case r.ServerNameIndicationSwitch == "ON" && r.ServerNameIndication == "":
		return apierr.New(apierr.MissingParameter, "ServerNameIndication is required when ServerNameIndicationSwitch is ON")
	case r.ServerNameIndication != "" && ValidateHost("ServerNameIndication", r.ServerNameIndication) != nil:
		return ValidateHost("ServerNameIndication", r.ServerNameIndication)
	case r.ForwardHost != "default" && !IsHostHeader(r.ForwardHost):
		return apierr.New(apierr.InvalidParameterValue, "ForwardHost %q must be \"default\" (the client's Host) or the Host to send to origins: a host name or IP address, optionally with \":port\" (1-65535), without scheme or path", r.ForwardHost)
	}
	return ValidateCheck(&r.Check)
}

// ValidateSNI checks a ServerNameIndication a call sets: one host, as a
// ClientHello names one server (RFC 6066 3); no origin has a certificate
// for "*.example.com" as a name. ValidateRule leaves it out because rules
// stored before this check may hold one, and an edit that does not send
// ServerNameIndication must not be refused for it.
func ValidateSNI(v string) error {
	if strings.Contains(v, "*") {
		return apierr.New(apierr.InvalidParameterValue, "ServerNameIndication %q must name one host, not a wildcard", v)
	}
	return nil
}

// ValidateForcedRedirect checks a ForcedRedirect a call sets ("" is none):
// one the edge serves as written (snapshot.ParseRedirect) and naming a host
// a client can reach. ValidateRule leaves it out because values stored
// under the older rule (any "https…") are still served, as "https:", and
// an edit that does not send ForcedRedirect must not be refused for them.
func ValidateForcedRedirect(v string) error {
	if v == "" {
		return nil
	}
	if r, ok := snapshot.ParseRedirect(v); ok && (r.Authority == "" || IsHostHeader(r.Authority)) {
		return nil
	}
	return apierr.New(apierr.InvalidParameterValue, "ForcedRedirect %q must be \"https:\" (HTTPS on the request's host), \"https:PORT\" (1-65535) or \"https://HOST[:PORT][/PATH]\" with HOST a domain name or IP address", v)
}

// DefaultCheck is the health check of a rule created without CheckParams:
// its check domain is the rule's domain (checkDomain).
func DefaultCheck(domain string) CheckParams {
	return CheckParams{DelayLoop: 5, ConnectTimeout: 2, Path: "/", Method: "HEAD", StatusCode: []int64{200, 300}, Domain: checkDomain(domain)}
}

// CheckHost is the Host a rule's checks send: CheckParams.Domain, but not
// a wildcard one an older release stored as a wildcard rule's default
// ("*.example.com" is no host: an origin checking Host answered 400 and
// read abnormal), for which the probe sends the origin's address as a
// check without a domain does.
func CheckHost(c CheckParams) string { return checkDomain(c.Domain) }

// checkDomain is domain as a check's Host: none for a wildcard, which
// names no host a probe could ask for.
func checkDomain(domain string) string {
	if strings.HasPrefix(domain, "*.") {
		return ""
	}
	return domain
}

// ValidateCheck checks RuleCheckParams: DelayLoop 5-300 s, ConnectTimeout
// 2-60 s and shorter than DelayLoop, HEAD or GET, status classes; the path
// is decoded as ParsePath does, and must be a request target a probe can
// send: %-escapes well formed (as a rule Path's), no '#'.
func ValidateCheck(c *CheckParams) error {
	switch {
	case c.DelayLoop < 5 || c.DelayLoop > 300:
		return apierr.New(apierr.InvalidParameterValue, "CheckParams.DelayLoop must be 5-300 seconds, not %d", c.DelayLoop)
	case c.ConnectTimeout < 2 || c.ConnectTimeout > 60 || c.ConnectTimeout >= c.DelayLoop:
		return apierr.New(apierr.InvalidParameterValue, "CheckParams.ConnectTimeout must be 2-60 seconds and less than DelayLoop (%d), not %d", c.DelayLoop, c.ConnectTimeout)
	case len(c.StatusCode) == 0:
		return apierr.New(apierr.InvalidParameterValue, "CheckParams.StatusCode must list at least one of 100, 200, 300, 400, 500")
	case c.FailedThreshold < 0 || c.FailedThreshold > 100:
		return apierr.New(apierr.InvalidParameterValue, "CheckParams.FailedThreshold must be 1-100 failed checks (0: the default, 3), not %d", c.FailedThreshold)
	case c.FailedCountInter < 0 || c.BlockInter < 0:
		return apierr.New(apierr.InvalidParameterValue, "CheckParams.FailedCountInter and BlockInter must not be negative")
	case c.Domain != "" && ValidateHost("CheckParams.Domain", c.Domain) != nil:
		return ValidateHost("CheckParams.Domain", c.Domain)
	}
	for _, code := range c.StatusCode {
		if code < 100 || code > 500 || code%100 != 0 {
			return apierr.New(apierr.InvalidParameterValue, "CheckParams.StatusCode %d must be one of 100, 200, 300, 400, 500", code)
		}
	}
	var err error
	if c.Path, err = ParsePath("CheckParams.Path", c.Path); err != nil {
		return err
	}
	// The probe's request target: a path and maybe a query, whose escapes
	// net/url does not check. A fragment is never sent: it was cut.
	if strings.Contains(c.Path, "#") {
		return apierr.New(apierr.InvalidParameterValue, "CheckParams.Path %q has a '#': a fragment is not part of a request, so the check would probe another path", c.Path)
	}
	path, _, _ := strings.Cut(c.Path, "?")
	if _, err := unescapePath("CheckParams.Path", path); err != nil {
		return err
	}
	return l7Enum("CheckParams.Method", c.Method, "HEAD", "GET")
}

// BlackHeaders are the request header names a custom header may not set:
// hop-by-hop headers (RFC 9110 §7.6.1) and headers that frame the message
// (snapshot.ConnectionHeaders), and those the proxy itself writes to tell
// origins about the client. DescribeBlackHeader returns this list.
var BlackHeaders = append(slices.Clone(snapshot.ConnectionHeaders),
	"Proxy-Authenticate", "Proxy-Authorization", "Host", "Expect",
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Real-IP", "Forwarded", "Via",
)

// ValidateHeaderName checks an HTTP header name; blacklisted says whether
// BlackHeaders apply (request headers to origins).
func ValidateHeaderName(param, name string, blacklisted bool) error {
	// The rule net/http applies when it sends the header: the API accepts
	// exactly the names the data plane can send.
	if len(name) > maxHeaderNameLen || !httpguts.ValidHeaderFieldName(name) {
		return apierr.New(apierr.InvalidParameterValue, "%s %q must be an HTTP header name of 1-%d token characters", param, name, maxHeaderNameLen)
	}
	if blacklisted && slices.ContainsFunc(BlackHeaders, func(b string) bool { return strings.EqualFold(b, name) }) {
		return apierr.New(apierr.InvalidParameterValueHitBlacklist, "%s %q may not be set: the proxy controls it (see DescribeBlackHeader)", param, name)
	}
	return nil
}

// ValidateCustomHeaders checks a rule's custom headers (CreateCustomHeader):
// at most MaxHeadersPerRule, the action's quota (LimitExceeded, which its
// error list names), and each as ValidateHeaders, blacklist included.
func ValidateCustomHeaders(hs []HeaderParam) error {
	if len(hs) > MaxHeadersPerRule {
		return apierr.New(apierr.LimitExceeded, "a rule may have at most %d custom headers, not %d", MaxHeadersPerRule, len(hs))
	}
	return ValidateHeaders("Headers", hs, true)
}

// ValidateHeaders checks the entries of a header list: valid distinct
// names, values that are RFC 9110 field values (no control character but
// HTAB). net/http refuses to send any other value, so accepting one would
// make the data plane fail every request that carries it. Callers bound
// the count.
func ValidateHeaders(param string, hs []HeaderParam, blacklisted bool) error {
	seen := map[string]bool{}
	for _, h := range hs {
		if err := ValidateHeaderName(param+".HeaderName", h.Name, blacklisted); err != nil {
			return err
		}
		if seen[strings.ToLower(h.Name)] {
			return apierr.New(apierr.InvalidParameterValue, "%s names %q twice", param, h.Name)
		}
		seen[strings.ToLower(h.Name)] = true
		if utf8.RuneCountInString(h.Value) > maxHeaderValueLen {
			return apierr.New(apierr.InvalidParameterValue, "%s value of %q must have at most %d characters", param, h.Name, maxHeaderValueLen)
		}
		if !httpguts.ValidHeaderFieldValue(h.Value) {
			return apierr.New(apierr.InvalidParameterValue, "%s value of %q must be an HTTP field value: no control characters but tab (RFC 9110 section 5.5)", param, h.Name)
		}
	}
	return nil
}

// ValidateErrorPage checks a custom error response.
func ValidateErrorPage(e *ErrorPage) error {
	if len(e.ErrorNos) == 0 {
		return apierr.New(apierr.InvalidParameterValue, "ErrorNos must list at least one status code")
	}
	for i, no := range e.ErrorNos {
		if no < 400 || no > 599 {
			return apierr.New(apierr.InvalidParameterValue, "ErrorNos %d must be an error status code (400-599)", no)
		}
		if slices.Contains(e.ErrorNos[:i], no) {
			return apierr.New(apierr.InvalidParameterValue, "ErrorNos lists %d twice", no)
		}
	}
	// The page is a final answer: a 1xx is interim (RFC 9110 section
	// 15.2), and net/http would send it as such and then the page as
	// 200 OK, turning the error into a success for clients and caches.
	// The reference gives no range (its example is 400).
	if e.NewErrorNo != 0 && (e.NewErrorNo < 200 || e.NewErrorNo > 599) {
		return apierr.New(apierr.InvalidParameterValue, "NewErrorNo %d must be a final HTTP status code (200-599)", e.NewErrorNo)
	}
	if len(e.Body) > MaxErrorPageBody {
		return apierr.New(apierr.InvalidParameterValue, "Body may hold at most %d bytes", MaxErrorPageBody)
	}
	// As SetHeaders: the edge applies each to every answer the page
	// replaces, and the snapshot carries them to every node.
	if len(e.ClearHeaders) > MaxHeadersPerRule {
		return apierr.New(apierr.InvalidParameterValue, "ClearHeaders may hold at most %d headers, not %d", MaxHeadersPerRule, len(e.ClearHeaders))
	}
	for i, h := range e.ClearHeaders {
		if err := ValidateHeaderName("ClearHeaders", h, false); err != nil {
			return err
		}
		if slices.ContainsFunc(e.ClearHeaders[:i], func(o string) bool { return strings.EqualFold(o, h) }) {
			return apierr.New(apierr.InvalidParameterValue, "ClearHeaders names %q twice", h)
		}
	}
	if len(e.SetHeaders) > MaxHeadersPerRule {
		return apierr.New(apierr.InvalidParameterValue, "SetHeaders may hold at most %d headers, not %d", MaxHeadersPerRule, len(e.SetHeaders))
	}
	// The page is the whole answer and the proxy frames it: a set
	// Content-Length or Transfer-Encoding would cut it short or leave the
	// client waiting for its end. Clearing them is harmless (the proxy
	// sets its own after).
	for _, h := range e.SetHeaders {
		if snapshot.IsConnectionHeader(h.Name) {
			return apierr.New(apierr.InvalidParameterValue, "SetHeaders.HeaderName %q may not be set: the proxy frames the page itself", h.Name)
		}
	}
	return ValidateHeaders("SetHeaders", e.SetHeaders, false)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// l7Enum checks v against the allowed values of param.
func l7Enum(param, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return apierr.New(apierr.InvalidParameterValue, "%s must be one of %v, not %q", param, allowed, v)
}
