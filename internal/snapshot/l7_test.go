package snapshot_test

import (
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/snapshot"
)

func TestHTTPListenerValidate(t *testing.T) {
	ok := func() snapshot.HTTPListener {
		return snapshot.HTTPListener{ID: "l", Protocol: snapshot.ProtoHTTP, Port: 80, Domains: []snapshot.Domain{{
			Host: "*.a.test", Rules: []snapshot.Rule{{ID: "r", Path: "/", Scheduler: snapshot.SchedRR}}}}}
	}
	for _, tc := range []struct {
		name string
		mod  func(*snapshot.HTTPListener)
		want string // "" = valid
	}{
		{"valid", func(*snapshot.HTTPListener) {}, ""},
		{"https without cert", func(l *snapshot.HTTPListener) { l.Protocol = snapshot.ProtoHTTPS }, "without certificate"},
		{"tls on http", func(l *snapshot.HTTPListener) { l.TLS = &snapshot.TLS{} }, "TLS settings"},
		{"bad host", func(l *snapshot.HTTPListener) { l.Domains[0].Host = "a.*.test" }, "host"},
		// A hole only strictly inside a stated range (SkipVersions).
		{"skipped version in range", skipTLS(snapshot.TLS10, snapshot.TLS12, snapshot.TLS11), ""},
		{"skipped range end", skipTLS(snapshot.TLS10, snapshot.TLS12, snapshot.TLS10), "skipped version"},
		{"skipped version without range", skipTLS("", "", snapshot.TLS11), "skipped version"},
		{"skipped version unknown", skipTLS(snapshot.TLS10, snapshot.TLS13, "TLS11"), "skipped version"},
		{"two defaults", func(l *snapshot.HTTPListener) {
			l.Domains = append(l.Domains, snapshot.Domain{Host: "b", IsDefault: true})
			l.Domains[0].IsDefault = true
		}, "default"},
		{"path", func(l *snapshot.HTTPListener) { l.Domains[0].Rules[0].Path = "x" }, "path"},
		{"scheduler", func(l *snapshot.HTTPListener) { l.Domains[0].Rules[0].Scheduler = "x" }, "scheduler"},
		{"status class", func(l *snapshot.HTTPListener) {
			l.Domains[0].Rules[0].Health = snapshot.HTTPCheck{Enabled: true, StatusClasses: []int{201}}
		}, "status class"},
		{"error page", func(l *snapshot.HTTPListener) {
			l.Domains[0].ErrorPages = []snapshot.ErrorPage{{ErrorNos: []int{200}}}
		}, "status 200"},
		// A page's Content-Length or Transfer-Encoding would contradict
		// the body the edge sends: the client reads a truncated answer or
		// waits for one that never ends.
		{"error page framing header", func(l *snapshot.HTTPListener) {
			l.Domains[0].ErrorPages = []snapshot.ErrorPage{{ErrorNos: []int{503}, Body: "page",
				SetHeaders: []snapshot.Header{{Name: "transfer-encoding", Value: "chunked"}}}}
		}, "transfer-encoding"},
		{"error page clears framing header", func(l *snapshot.HTTPListener) {
			l.Domains[0].ErrorPages = []snapshot.ErrorPage{{ErrorNos: []int{503}, Body: "page",
				ClearHeaders: []string{"Content-Length", "Transfer-Encoding", "Connection"}}}
		}, ""},
		{"basic auth", func(l *snapshot.HTTPListener) { l.Domains[0].BasicAuth = []string{"nouser"} }, "user:hash"},
		{"http3", func(l *snapshot.HTTPListener) { l.HTTP3 = true }, "HTTP/3"},
		// Stored before the API refused it: the edge serves it as "https:"
		// rather than fail the listener's every domain.
		{"stored malformed redirect", func(l *snapshot.HTTPListener) { l.Domains[0].Rules[0].ForcedRedirect = "https://" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ok()
			tc.mod(&l)
			err := l.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v; want error containing %q", err, tc.want)
			}
		})
	}
}

func TestHTTPListenerPortConflict(t *testing.T) {
	s := &snapshot.Snapshot{Proxies: []snapshot.Proxy{{ID: "p", AccessIP: "127.0.0.1",
		Listeners:     []snapshot.Listener{{ID: "t", Protocol: snapshot.ProtoTCP, Port: 80, Scheduler: snapshot.SchedRR}},
		HTTPListeners: []snapshot.HTTPListener{{ID: "h", Protocol: snapshot.ProtoHTTP, Port: 80}}}}}
	errs := s.Validate()
	if len(errs) != 1 || errs[0].ID != "h" {
		t.Fatalf("got %v; want listener h refused for TCP port 80", errs)
	}
}

func TestParseRedirect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want snapshot.Redirect
		ok   bool
	}{
		{"https:", snapshot.Redirect{}, true},
		{"https:8443", snapshot.Redirect{Port: "8443"}, true},
		{"https:65535", snapshot.Redirect{Port: "65535"}, true},
		{"https://www.qq.com/url", snapshot.Redirect{Authority: "www.qq.com", Path: "/url"}, true},
		{"https://www.qq.com/url/", snapshot.Redirect{Authority: "www.qq.com", Path: "/url"}, true},
		{"https://www.qq.com/", snapshot.Redirect{Authority: "www.qq.com"}, true},
		{"https://www.qq.com:8443", snapshot.Redirect{Authority: "www.qq.com:8443"}, true},
		{"https://[::1]:8443/a%20b", snapshot.Redirect{Authority: "[::1]:8443", Path: "/a%20b"}, true},
		// An empty authority: the request path's first segment would be
		// the Location's host.
		{"https://", snapshot.Redirect{}, false},
		{"https:///", snapshot.Redirect{}, false},
		{"https:///evil.example", snapshot.Redirect{}, false},
		{"https://:443/x", snapshot.Redirect{}, false},
		{"https://[]/x", snapshot.Redirect{}, false},
		{"https://]", snapshot.Redirect{}, false},
		{"https://a]b/x", snapshot.Redirect{}, false},
		{"https://[a.test]/x", snapshot.Redirect{}, false},
		{"https://[1.2.3.4]:8/x", snapshot.Redirect{}, false},
		// Not a port: pasted after the request's host.
		{"https:www.qq.com/url", snapshot.Redirect{}, false},
		{"https:8443x", snapshot.Redirect{}, false},
		{"https:99999", snapshot.Redirect{}, false},
		{"https:0", snapshot.Redirect{}, false},
		{"https:+443", snapshot.Redirect{}, false},
		{"https://a.test:", snapshot.Redirect{}, false},
		{"https://a.test:0", snapshot.Redirect{}, false},
		{"https://a.test:99999/x", snapshot.Redirect{}, false},
		// Userinfo, a query or fragment, spaces, bad characters or escapes.
		{"https://www.qq.com@evil.example/", snapshot.Redirect{}, false},
		{"https://a.test/x?q=1", snapshot.Redirect{}, false},
		{"https://a.test/x#f", snapshot.Redirect{}, false},
		{"https://a.test/a b", snapshot.Redirect{}, false},
		{"https://a.test\\evil.example/", snapshot.Redirect{}, false},
		{"https://a.test/%zz", snapshot.Redirect{}, false},
		// Another scheme, or none.
		{"http://a.test", snapshot.Redirect{}, false},
		{"https", snapshot.Redirect{}, false},
		{"HTTPS://a.test", snapshot.Redirect{}, false},
		{"default", snapshot.Redirect{}, false},
	} {
		got, ok := snapshot.ParseRedirect(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRedirect(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// skipTLS makes the listener HTTPS with versions lo to hi, skipping skip.
func skipTLS(lo, hi, skip string) func(*snapshot.HTTPListener) {
	return func(l *snapshot.HTTPListener) {
		l.Protocol, l.Port = snapshot.ProtoHTTPS, 443
		l.TLS = &snapshot.TLS{CertPEM: "c", KeyPEM: "k", MinVersion: lo, MaxVersion: hi, SkipVersions: []string{skip}}
	}
}
