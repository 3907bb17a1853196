package l7

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// fastHeadCases seed FuzzFastHead; want is whether the fast path takes
// the request (false: net/http serves it).
var fastHeadCases = []struct {
	name, in string
	want     bool
}{
	{"get", "GET /a?b=c HTTP/1.1\r\nHost: a.test\r\nUser-Agent: x\r\n\r\n", true},
	{"forced query", "GET /a/b.c? HTTP/1.1\r\nHost: a.test\r\n\r\n", true},
	{"two marks", "GET /a?? HTTP/1.1\r\nHost: a.test\r\n\r\n", true},
	{"query only", "GET /?%zz&a=%20 HTTP/1.1\r\nHost: a.test\r\n\r\n", true},
	{"escaped path", "GET /a%2Fb/%7e HTTP/1.1\r\nHost: a.test\r\n\r\n", true},
	{"escaped path with params", "GET /a%2fb;x=1 HTTP/1.1\r\nHost: a.test\r\n\r\n", true},
	{"path spelt otherwise", "GET /a!b(c)*'@:$,+ HTTP/1.1\r\nHost: a.test\r\n\r\n", true},
	{"double slash", "GET //a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n", true},
	{"post with length", "POST /p HTTP/1.1\r\nHost: a.test:8080\r\nContent-Length: 5\r\n\r\nhello", true},
	{"close", "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: Close\r\n\r\n", true},
	{"keep-alive", "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive\r\n\r\n", true},
	{"repeated header", "GET / HTTP/1.1\r\nHost: a.test\r\nX-A: 1\r\nx-a: 2\r\n\r\n", true},
	{"trimmed value", "GET / HTTP/1.1\r\nHost: a.test\r\nX-A: \t v \t\r\n\r\n", true},
	{"ipv6 host", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", true},
	{"http/1.0", "GET / HTTP/1.0\r\nHost: a.test\r\n\r\n", false},
	{"no host", "GET / HTTP/1.1\r\n\r\n", false},
	{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false},
	{"absolute form", "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n", false},
	{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n", false},
	{"connect", "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test\r\n\r\n", false},
	{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
	{"cl and te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", false},
	{"two lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", false},
	{"signed length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", false},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", false},
	{"space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : 1\r\n\r\n", false},
	{"bare lf", "GET / HTTP/1.1\nHost: a\n\n", false},
	{"nul in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n", false},
	{"utf-8 in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: \xc3\xa9\r\n\r\n", false},
	{"upgrade", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false},
	{"expect", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", false},
	{"pragma", "GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n", false},
	{"odd method", "PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"lower-case method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"odd host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", false},
	{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false},
}

func TestParseFastHead(t *testing.T) {
	for _, tc := range fastHeadCases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			head := in
			if i := bytes.Index(in, []byte("\r\n\r\n")); i >= 0 {
				head = in[:i+4]
			}
			if _, got := parseFastHead(head); got != tc.want {
				t.Errorf("parseFastHead(%q) ok = %v; want %v", tc.in, got, tc.want)
			}
			checkAgainstNetHTTP(t, in)
		})
	}
}

// FuzzFastHead is the request-smuggling guard: whatever the fast path
// accepts, net/http must accept too (http.ReadRequest plus the checks its
// server adds) and read as the same request: method, target, URL, host,
// headers, keep-alive and body length, hence the same start of the next
// request.
func FuzzFastHead(f *testing.F) {
	for _, tc := range fastHeadCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(checkAgainstNetHTTP)
}

func checkAgainstNetHTTP(t *testing.T, in []byte) {
	i := bytes.Index(in, []byte("\r\n\r\n"))
	if i < 0 {
		return
	}
	head := in[:i+4]
	got, ok := parseFastHead(head)
	if !ok {
		return
	}
	br := bufio.NewReader(bytes.NewReader(in))
	want, err := http.ReadRequest(br)
	if err != nil {
		t.Fatalf("fast path accepts %q; net/http rejects it: %v", in, err)
	}
	if !httpguts.ValidHostHeader(want.Host) {
		t.Fatalf("fast path accepts host %q; net/http's server rejects it", want.Host)
	}
	for k, vv := range want.Header {
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
				t.Fatalf("fast path accepts header %q: %q; net/http's server rejects it", k, v)
			}
		}
	}
	for _, d := range []struct {
		what      string
		got, want any
	}{
		{"method", got.method, want.Method},
		{"target", got.target, want.RequestURI},
		{"url", *got.url, *want.URL},
		{"host", got.host, want.Host},
		{"header", got.header, want.Header},
		{"content length", got.contentLength, want.ContentLength},
		{"close", got.close, want.Close},
		{"proto", "HTTP/1.1", want.Proto},
	} {
		if !reflect.DeepEqual(d.got, d.want) {
			t.Fatalf("%q: %s = %#v; net/http reads %#v", in, d.what, d.got, d.want)
		}
	}
	n, _ := io.Copy(io.Discard, want.Body)
	gotN := min(got.contentLength, int64(len(in)-len(head)))
	if n != gotN {
		t.Fatalf("%q: body %d bytes; net/http reads %d", in, gotN, n)
	}
	if rest := len(in) - len(head) - int(gotN); rest != br.Buffered() {
		t.Fatalf("%q: next request at %d; net/http's at %d", in, len(in)-rest, len(in)-br.Buffered())
	}
	if strings.Contains(got.target, "#") != strings.Contains(want.RequestURI, "#") {
		t.Fatalf("%q: fragment handling differs", in)
	}
}

// originHeadCases seed FuzzOriginHead; want is whether the direct path
// relays the answer (false: http.ReadResponse reads it, via ReverseProxy).
var originHeadCases = []struct {
	name, method, in string
	want             bool
}{
	{"length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhelloHTTP/1.1 204 No Content\r\n\r\n", true},
	{"no reason", "GET", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", true},
	{"empty reason", "GET", "HTTP/1.1 404 \r\nContent-Length: 1\r\n\r\nx", true},
	{"close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", true},
	{"keep-alive", "GET", "HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nhi", true},
	{"head", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true},
	{"head without length", "HEAD", "HTTP/1.1 200 OK\r\n\r\n", true},
	{"204", "GET", "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", true},
	{"304 with length", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", true},
	{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
	{"until close", "GET", "HTTP/1.1 200 OK\r\n\r\nuntil close", false},
	{"trailer", "GET", "HTTP/1.1 200 OK\r\nTrailer: X-T\r\nContent-Length: 1\r\n\r\nx", false},
	{"http/1.0", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false},
	{"100 continue", "GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", false},
	{"103", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false},
	{"101", "GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", false},
	{"status 600", "GET", "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n", false},
	{"two digits", "GET", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", false},
	{"two lengths", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", false},
	{"list length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", false},
	{"odd connection", "GET", "HTTP/1.1 200 OK\r\nConnection: x-a\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n", false},
	{"obs-fold", "GET", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n", false},
	{"bare lf", "GET", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", false},
	{"utf-8 value", "GET", "HTTP/1.1 200 OK\r\nX-A: \xc3\xa9\r\nContent-Length: 0\r\n\r\n", false},
	{"control in reason", "GET", "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n", false},
}

func TestParseOriginHead(t *testing.T) {
	for _, tc := range originHeadCases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			if _, got := parseOriginHead(in[:originHeadLen(in)], tc.method); got != tc.want {
				t.Errorf("parseOriginHead(%q) ok = %v; want %v", tc.in, got, tc.want)
			}
			checkOriginAgainstNetHTTP(t, in, tc.method == http.MethodHead)
		})
	}
}

// FuzzOriginHead guards the direct path's relay: whatever parseOriginHead
// accepts, http.ReadResponse must read as the same answer: status,
// headers, keep-alive, body length, hence the same start of the next
// answer on the connection.
func FuzzOriginHead(f *testing.F) {
	for _, tc := range originHeadCases {
		f.Add([]byte(tc.in), tc.method == http.MethodHead)
	}
	f.Fuzz(checkOriginAgainstNetHTTP)
}

// header is o's header as http.ReadResponse reads it: after a
// "Connection: close", without Connection.
func (o *originHead) header() http.Header {
	h := make(http.Header, 8)
	vals := headerValues(o.fields)
	for k, v := range o.each {
		if k != "Connection" || !o.close {
			vals = addValue(h, vals, k, v)
		}
	}
	return h
}

// originHeadLen is where originHeadBytes would end the head.
func originHeadLen(in []byte) int {
	return len(originHeadBytes(bufio.NewReaderSize(bytes.NewReader(in), 4<<10)))
}

func checkOriginAgainstNetHTTP(t *testing.T, in []byte, head bool) {
	method := http.MethodGet
	if head {
		method = http.MethodHead
	}
	n := originHeadLen(in)
	got, ok := parseOriginHead(in[:n], method)
	if !ok {
		return
	}
	br := bufio.NewReader(bytes.NewReader(in))
	want, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("direct path accepts %q; net/http rejects it: %v", in, err)
	}
	for _, d := range []struct {
		what      string
		got, want any
	}{
		{"status", got.status, want.StatusCode},
		{"header", got.header(), want.Header},
		{"close", got.close, want.Close},
	} {
		if !reflect.DeepEqual(d.got, d.want) {
			t.Fatalf("%q: %s = %#v; net/http reads %#v", in, d.what, d.got, d.want)
		}
	}
	if got.verbatim {
		var b strings.Builder
		for k, v := range got.each {
			if relayedField(k, got.status) {
				b.WriteString(k + ": " + v + "\r\n")
			}
		}
		if b.String() != got.fields {
			t.Fatalf("%q: relayed verbatim as %q; field by field %q", in, got.fields, b.String())
		}
	}
	body, _ := io.Copy(io.Discard, want.Body)
	gotN := min(got.bodyLen, int64(len(in)-n))
	if body != gotN {
		t.Fatalf("%q: body %d bytes; net/http reads %d", in, gotN, body)
	}
	if rest := len(in) - n - int(gotN); rest != br.Buffered() {
		t.Fatalf("%q: next answer at %d; net/http's at %d", in, len(in)-rest, len(in)-br.Buffered())
	}
}
