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
