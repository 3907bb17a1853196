package l7

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestRedirectURL: forcedRedirect.url. It also checks that a request the
// rule routes keeps its resource: "under the path" is the router's
// byte-wise prefix of the decoded path, so /urlx under /url does not
// become /url/urlx.
func TestRedirectURL(t *testing.T) {
	for _, tc := range []struct{ spec, host, want, uri string }{
		{"https", "a.test", "https://a.test/p?q=1", ""},
		{"https", "A.test.", "https://a.test/p?q=1", ""},
		{"https://www.qq.com/p", "a.test", "https://www.qq.com/p?q=1", ""},
		{"https://www.qq.com/url", "a.test", "https://www.qq.com/url/p?q=1", ""},
		{"https://www.qq.com/pp", "a.test", "https://www.qq.com/pp/p?q=1", ""},
		{"https:", "a.test:8080", "https://a.test/p?q=1", ""},
		{"https:443", "a.test", "https://a.test/p?q=1", ""},
		{"https:8443", "a.test", "https://a.test:8443/p?q=1", ""},
		{"https://b.test/", "a.test", "https://b.test/p?q=1", ""},
		{"https://www.qq.com/", "a.test", "https://www.qq.com/p?q=1", ""},
		{"https://a.test/url", "a.test", "https://a.test/urlx?k=v", "/urlx?k=v"},
		{"https://a.test/url/", "a.test", "https://a.test/url", "/url"},
		{"https://a.test/caf%C3%A9", "a.test", "https://a.test/caf%c3%a9/menu", "/caf%c3%a9/menu"},
		{"https://a.test/url", "a.test", "https://a.test/x/../url/a", "/x/../url/a"},
		{"https://a.test/url", "a.test", "https://a.test/url/x", "/x"},
		{"https", "[::1]:80", "https://[::1]/p?q=1", ""},
		{"https", "a.test", "https://a.test/a%2Fb|c?q", "/a%2Fb|c?q"}, // The path as sent (sentPath).
		// Values the API refuses, stored before it did, are served as
		// "https:": never a host taken from the path, never a bad port.
		{"https://", "a.test", "https://a.test/evil.example/x", "/evil.example/x"},
		{"https:///", "a.test", "https://a.test/evil.example/x", "/evil.example/x"},
		{"https://user@b.test/", "a.test", "https://a.test/p?q=1", ""},
		{"https:www.qq.com/url", "a.test", "https://a.test/p?q=1", ""},
		{"https:99999", "a.test", "https://a.test/p?q=1", ""},
	} {
		r := httptest.NewRequest("GET", cmp.Or(tc.uri, "/p?q=1"), nil)
		r.Host = tc.host
		path, _ := routePath(r.URL.Path)
		if got := newForcedRedirect(tc.spec).url(r, path); got != tc.want {
			t.Errorf("forcedRedirect(%q, host %q) for %s = %q; want %q", tc.spec, tc.host, r.RequestURI, got, tc.want)
		}
	}
}

// TestForcedRedirectNonOriginTarget: net/http reads the target
// "x:@evil.test/" (an absolute URI of another scheme) as an opaque URL
// with no path, routed as "/". A forced redirect pasted the opaque part
// after the host, so the Location "https://a.test@evil.test/" left the
// domain (userinfo a.test, host evil.test). Such targets are 400, as in
// nginx; an http URL in absolute form is still redirected.
func TestForcedRedirectNonOriginTarget(t *testing.T) {
	send := func(s *Server, target string) *http.Response {
		t.Helper()
		c, err := net.DialTimeout("tcp", s.Addr().String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: a.test\r\n\r\n", target)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, spec := range []string{"https:", "https://b.test"} {
		s := editedServer(t, netip.MustParseAddrPort("127.0.0.1:9"), func(l *snapshot.HTTPListener) {
			l.Domains[0].Rules[0].ForcedRedirect = spec
		})
		for _, target := range []string{"x:@evil.test/", "x:.evil.test/", "http:@evil.test/", "HTTP:evil.test"} {
			if resp := send(s, target); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("ForcedRedirect %q, GET %s: %d Location %q; want 400", spec, target, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		want := "https://a.test/p?q"
		if spec != "https:" {
			want = "https://b.test/p?q"
		}
		if resp := send(s, "http://a.test/p?q"); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("ForcedRedirect %q, GET http://a.test/p?q: %d Location %q; want 301 to %s", spec, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

// FuzzForcedRedirect: whatever ForcedRedirect a rule holds (the API's
// checks or a value stored before them) and whatever request the handler
// accepts, the Location is an https URL whose host is the redirect's
// authority, or the request's own host: never one taken from the request
// path or target (open redirect), never with userinfo.
func FuzzForcedRedirect(f *testing.F) {
	for _, s := range []string{"https:", "https:8443", "https://www.qq.com/url", "https://", "https:///", "https://user@b/", "https://b.test:99/x%2F/", "https://[::1]:8/a"} {
		for _, uri := range []string{"/p?q=1", "//evil.test/x", "/url/a", "/%2F%2Fevil", "/\\evil", "x:@evil.test/", "A:0"} {
			f.Add(s, "a.test", uri)
		}
	}
	f.Fuzz(func(t *testing.T, spec, host, uri string) {
		if spec == "" {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + uri + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")))
		if err != nil || !validHost(req.Host) || !validTarget(req) || req.URL.Host != "" {
			return // net/http or ServeHTTP answers 400; absolute-form targets are routed by the URL's host.
		}
		own, err := url.Parse("https://" + req.Host + "/")
		if err != nil {
			return // A Host no URL has ("%61"): the client redirects itself to garbage.
		}
		path, ok := routePath(req.URL.Path)
		if !ok {
			return
		}
		loc := newForcedRedirect(spec).url(req, path)
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("spec %q host %q uri %q: Location %q does not parse: %v", spec, host, uri, loc, err)
		}
		// Hosts compared as a client reads them, escapes decoded ("%80");
		// the request's without its final dot, as the edge routes it.
		want := canonHost(own.Hostname())
		if rd, ok := snapshot.ParseRedirect(spec); ok && rd.Authority != "" {
			to, err := url.Parse("https://" + rd.Authority + "/")
			if err != nil {
				t.Fatalf("spec %q: ParseRedirect took authority %q, which does not parse: %v", spec, rd.Authority, err)
			}
			want = strings.ToLower(to.Hostname())
		}
		if u.Scheme != "https" || u.User != nil || strings.ToLower(u.Hostname()) != want || u.Opaque != "" {
			t.Fatalf("spec %q host %q uri %q: Location %q: scheme %q user %v host %q opaque %q; want https to %q", spec, host, uri, loc, u.Scheme, u.User, u.Hostname(), u.Opaque, want)
		}
		// Browsers read '\' as '/' in https URLs: a path starting "/\" or
		// "\\" after an empty authority would be a new authority.
		if port := u.Port(); strings.ContainsAny(u.Host, "\\@") || port != "" && !validPort(port) {
			t.Fatalf("spec %q host %q uri %q: Location %q has authority %q", spec, host, uri, loc, u.Host)
		}
	})
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

func TestVhostMatch(t *testing.T) {
	ex, w1, w2, def := &vhost{host: "a.test"}, &vhost{suffix: ".test"}, &vhost{suffix: ".b.test"}, &vhost{host: "d"}
	h := &Handler{exact: map[string]*vhost{"a.test": ex}, wild: []*vhost{w2, w1}, def: def}
	for host, want := range map[string]*vhost{"a.test": ex, "x.b.test": w2, "x.y.test": w1, "b.test": w1, "test": def, "other": def} {
		if got := h.match(host); got != want {
			t.Errorf("match(%q) = %+v; want %+v", host, got, want)
		}
	}
}

func TestHostOf(t *testing.T) {
	for host, want := range map[string]string{"A.Test": "a.test", "a.test.:8080": "a.test", "[::1]:80": "::1", "a.test.": "a.test"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		if got := hostOf(r); got != want {
			t.Errorf("hostOf(%q) = %q; want %q", host, got, want)
		}
	}
}

func TestValidHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"", true}, // No Host: the default domain's name stands in.
		{"a.test", true}, {"A.Test.:8080", true}, {"a.test:", true}, {"a_b-c~d.test", true},
		{"192.0.2.1:80", true}, {"[::1]", true}, {"[::1]:443", true}, {"[::ffff:192.0.2.1]", true},
		{"%61.test", true}, {"a!$&'()*+,;=.test", true},
		{"admin.test:1:2", false}, {"public.test@admin.test", false}, {"a.test:8o", false},
		{"a.test:-1", false}, {"::1", false}, {"[::1", false}, {"[::1]x", false}, {"[192.0.2.1]", false},
		{"[fe80::1%25eth0]", false}, {"[v1.x]", false}, {"a test", false}, {"a/b", false}, {"a%2", false},
		{"a%zz", false}, {"a\\b", false}, {"ä.test", false}, {"a.test\r\nX: y", false},
		{".", false}, {".:80", false}, {":80", false}, {":", false},
		{"a.test..", false}, {"a..test", false}, {"a.test..:80", false}, {"..", false},
	} {
		if got := validHost(tc.host); got != tc.want {
			t.Errorf("validHost(%q) = %v; want %v", tc.host, got, tc.want)
		}
	}
}

// localConn is a connection that only knows its local address.
type localConn struct {
	net.Conn
	local net.Addr
}

func (c localConn) LocalAddr() net.Addr { return c.local }

// TestVhostAuthority: a request without Host stands for its domain's name
// or, on a wildcard domain, for the access address it came to (from
// net/http's or HTTP/3's context, or the fast path's connection).
func TestVhostAuthority(t *testing.T) {
	access := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 8080}
	exact, wild := &vhost{host: "a.test"}, &vhost{host: "*.w.test", suffix: ".w.test"}
	bare := httptest.NewRequest("GET", "/", nil)
	for _, tc := range []struct {
		v    *vhost
		req  *http.Request
		want string
	}{
		{exact, bare, "a.test"},
		{wild, bare.WithContext(context.WithValue(bare.Context(), http.LocalAddrContextKey, net.Addr(access))), "192.0.2.1:8080"},
		{wild, bare.WithContext(context.WithValue(bare.Context(), clientConnKey{}, net.Conn(localConn{local: access}))), "192.0.2.1:8080"},
		{wild, bare, "w.test"},
	} {
		if got := tc.v.authority(tc.req); got != tc.want {
			t.Errorf("authority on %s = %q; want %q", tc.v.host, got, tc.want)
		}
	}
}
