package l7

import (
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// fastHead is a request head accepted by parseFastHead: a plain
// HTTP/1.1 request whose framing is unambiguous.
type fastHead struct {
	method, target, host string
	url                  *url.URL
	header               http.Header // Canonical keys; Host removed, as net/http does.
	contentLength        int64       // 0 when absent.
	close                bool        // "Connection: close".
}

// parseFastHead parses head (the request line and header lines, ending
// with the empty line) and reports whether the fast path may serve it.
//
// It is deliberately narrower than net/http: anything it does not accept
// is served by net/http, so "no" is always safe and "yes" must mean that
// net/http would parse exactly the same request (FuzzFastHead checks
// this). Refused: methods other than GET, HEAD, POST, PUT, DELETE, OPTIONS
// and PATCH; targets not in origin form; protocols other than HTTP/1.1;
// bare LF, obs-fold, space before the colon, control or non-ASCII bytes;
// a missing, repeated or unusual Host; a repeated or non-decimal
// Content-Length; any Transfer-Encoding, Upgrade, Expect or Pragma; a
// Connection header other than a single "close" or "keep-alive".
func parseFastHead(head []byte) (fastHead, bool) {
	var f fastHead
	// One string for the whole head: the target and the header values
	// are its substrings (one allocation, not one per line).
	hs := string(head)
	line, rest, ok := cutCRLF(hs)
	if !ok {
		return f, false
	}
	if f.method, f.target, ok = parseRequestLine(line); !ok {
		return f, false
	}
	u, err := requestURL(f.target)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return f, false
	}
	f.url = u
	f.header = make(http.Header, 8)
	vals := headerValues(hs)
	sawHost, sawCL := false, false
	for {
		if line, rest, ok = cutCRLF(rest); !ok {
			return f, false
		}
		if len(line) == 0 {
			break
		}
		k, v, ok := parseHeaderLine(line)
		if !ok {
			return f, false
		}
		switch k {
		case "Host":
			if sawHost || v == "" || !validHost(v) {
				return f, false
			}
			sawHost, f.host = true, v
			continue
		case "Content-Length":
			if sawCL {
				return f, false
			}
			if f.contentLength, ok = parseLength(v); !ok {
				return f, false
			}
			sawCL = true
		case "Connection":
			closing, ok := connToken(v)
			if !ok {
				return f, false
			}
			f.close = f.close || closing
		case "Transfer-Encoding", "Upgrade", "Expect", "Pragma":
			return f, false
		}
		vals = addValue(f.header, vals, k, v)
	}
	return f, sawHost && len(rest) == 0
}

// requestURL is url.ParseRequestURI(target) for an origin-form target
// (parseRequestLine), without the parse when its path is plain (letters,
// digits, "-._~/"): nothing to unescape, nothing spelt otherwise than net/url
// would, so Path is the path as sent and RawPath empty; the query, as
// there, is what follows the first "?", an empty one forced. A tenth of
// the fast path's head parsing was net/url's on the benchmark's "/".
func requestURL(target string) (*url.URL, error) {
	path, query, hasQuery := strings.Cut(target, "?")
	for i := range len(path) {
		if c := path[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
			return url.ParseRequestURI(target)
		}
	}
	return &url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}, nil
}

// cutCRLF splits off one CRLF-terminated line; a bare LF refuses.
func cutCRLF(b string) (line, rest string, ok bool) {
	i := strings.IndexByte(b, '\n')
	if i < 1 || b[i-1] != '\r' {
		return "", "", false
	}
	return b[:i-1], b[i+1:], true
}

func parseRequestLine(line string) (method, target string, ok bool) {
	sp := strings.IndexByte(line, ' ')
	if sp < 0 {
		return "", "", false
	}
	switch m := line[:sp]; m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodOptions, http.MethodPatch:
		method = m
	default:
		return "", "", false
	}
	rest := line[sp+1:]
	sp = strings.IndexByte(rest, ' ')
	if sp < 1 || rest[0] != '/' || rest[sp+1:] != "HTTP/1.1" {
		return "", "", false
	}
	for i := range sp {
		if c := rest[i]; c <= ' ' || c >= 0x7f {
			return "", "", false
		}
	}
	return method, rest[:sp], true
}

// parseHeaderLine splits "Name: value" with the value's surrounding
// spaces and tabs trimmed (as textproto does).
func parseHeaderLine(line string) (key, value string, ok bool) {
	colon := strings.IndexByte(line, ':')
	if colon < 1 {
		return "", "", false
	}
	for i := range colon {
		if !isTokenChar(line[i]) {
			return "", "", false
		}
	}
	v := line[colon+1:]
	for i := range len(v) {
		if c := v[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return "", "", false
		}
	}
	// Only spaces and tabs can be at its ends: other controls were refused.
	v = textproto.TrimString(v)
	if k, ok := commonKeys[line[:colon]]; ok { // Interned: usually canonical already.
		return k, v, true
	}
	return textproto.CanonicalMIMEHeaderKey(line[:colon]), v, true
}

// commonKeys interns header names that requests and answers usually
// carry, as written canonically.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Accept-Ranges", "Age", "Authorization",
		"Cache-Control", "Connection", "Content-Encoding", "Content-Language", "Content-Length", "Content-Type",
		"Cookie", "Date", "Etag", "Expires", "Host", "If-Modified-Since", "If-None-Match", "Keep-Alive",
		"Last-Modified", "Location", "Origin", "Referer", "Server", "Set-Cookie", "User-Agent", "Vary", "Via",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Real-Ip", "X-Request-Id"} {
		m[k] = k
	}
	return m
}()

// headerValues is the array a head's header values share, one entry per
// line (as textproto does): one allocation rather than one per header.
func headerValues(head string) []string {
	return make([]string, 0, strings.Count(head, "\n"))
}

// addValue adds v to h[k], taking the first value's slice from vals.
func addValue(h http.Header, vals []string, k, v string) []string {
	if vv := h[k]; vv != nil {
		h[k] = append(vv, v) // Repeated: a copy of its own.
		return vals
	}
	vals = append(vals, v)
	h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	return vals
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return c < 0x80 && bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// parseLength reads a Content-Length: 1–18 digits, so that the value fits
// an int64 and net/http reads the same number.
func parseLength(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// connToken reads a Connection header the fast paths accept: close or
// keep-alive, nothing else (other tokens name headers to remove).
func connToken(v string) (closing, ok bool) {
	switch {
	case asciiEqualFold(v, "close"):
		return true, true
	case asciiEqualFold(v, "keep-alive"):
		return false, true
	}
	return false, false
}

func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != t[i] {
			return false
		}
	}
	return true
}

// originHead is an origin's answer head accepted by parseOriginHead.
type originHead struct {
	status   int
	fields   string // Its header lines, each ending with CRLF, as parseHeaderLine accepts them.
	length   int64  // Content-Length; -1: none.
	bodyLen  int64  // Body bytes after the head.
	close    bool   // "Connection: close": the connection ends after the body.
	typed    bool   // It has a Content-Type,
	ctype    string // the first being this.
	coded    bool   // It has a Content-Encoding,
	encoding string // the first being this.
	dated    bool   // It has a Date.
	// verbatim: fields are what writeOriginHead would write of them
	// (canonical names, "name: value" lines, none it drops).
	verbatim bool
}

// parseOriginHead parses an origin's answer head (status line and header
// lines, ending with the empty line) to a request with method, and
// reports whether the direct path may relay it.
//
// Like parseFastHead it is deliberately narrower than net/http, which
// reads whatever it refuses (http.ReadResponse, through ReverseProxy), so
// "yes" must mean that http.ReadResponse reads the same answer
// (FuzzOriginHead checks this). Refused: protocols other
// than HTTP/1.1; status codes outside 200–599 (1xx are interim answers,
// 101 an upgrade); control bytes in the reason phrase; header lines as
// parseFastHead refuses them (including any non-ASCII byte); a repeated or
// non-decimal Content-Length; any Transfer-Encoding or Trailer; a
// Connection header other than a single "close" or "keep-alive"; a body
// without Content-Length (chunked or until close). It builds no header
// map: the fast path's writer relays the lines (fastWriter.writeOriginHead).
func parseOriginHead(head []byte, method string) (originHead, bool) {
	o := originHead{length: -1}
	hs := string(head) // As in parseFastHead.
	line, rest, ok := cutCRLF(hs)
	if !ok || len(line) < len("HTTP/1.1 200") || line[:len("HTTP/1.1 ")] != "HTTP/1.1 " ||
		len(line) > len("HTTP/1.1 200") && line[len("HTTP/1.1 200")] != ' ' {
		return o, false
	}
	for i := len("HTTP/1.1 "); i < len("HTTP/1.1 200"); i++ {
		c := line[i]
		if c < '0' || c > '9' {
			return o, false
		}
		o.status = o.status*10 + int(c-'0')
	}
	if o.status < 200 || o.status > 599 {
		return o, false
	}
	for i := len("HTTP/1.1 200"); i < len(line); i++ {
		if c := line[i]; c < ' ' && c != '\t' || c == 0x7f {
			return o, false
		}
	}
	fields := rest
	o.verbatim = true
	for {
		if line, rest, ok = cutCRLF(rest); !ok {
			return o, false
		}
		if len(line) == 0 {
			break
		}
		k, v, ok := parseHeaderLine(line)
		if !ok {
			return o, false
		}
		o.verbatim = o.verbatim && len(line) == len(k)+len(": ")+len(v) && line[:len(k)] == k &&
			line[len(k):len(k)+2] == ": " && relayedField(k, o.status)
		switch k {
		case "Content-Length":
			if o.length >= 0 {
				return o, false
			}
			if o.length, ok = parseLength(v); !ok {
				return o, false
			}
		case "Connection":
			closing, ok := connToken(v)
			if !ok {
				return o, false
			}
			o.close = o.close || closing
		case "Transfer-Encoding", "Trailer":
			return o, false
		case "Content-Type":
			if !o.typed {
				o.typed, o.ctype = true, v
			}
		case "Content-Encoding":
			if !o.coded {
				o.coded, o.encoding = true, v
			}
		case "Date":
			o.dated = true
		}
	}
	o.fields = fields[:len(fields)-len(rest)-len("\r\n")]
	o.bodyLen = o.length
	if method == http.MethodHead || noContent(o.status) {
		o.bodyLen = 0
	}
	return o, o.bodyLen >= 0 && len(rest) == 0
}

// each yields the head's header fields in the origin's order: canonical
// name and trimmed value.
func (o *originHead) each(yield func(k, v string) bool) {
	for rest := o.fields; rest != ""; {
		var line string
		line, rest, _ = cutCRLF(rest)
		if k, v, _ := parseHeaderLine(line); !yield(k, v) {
			return
		}
	}
}
