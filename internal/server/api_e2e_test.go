package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/xtest"
)

// TestWireEveryAnswerIsEnvelope: the reference answers every call, errors
// included, with HTTP 200 and the JSON envelope (the Go SDK reads no body
// from another status). net/http's own answers must not reach a client:
// the 431 for a long request line, the ServeMux's 307 for an unclean path,
// and the metrics text for an API call to /metrics.
func TestWireEveryAnswerIsEnvelope(t *testing.T) {
	api := xtest.StartAPI(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/?Action=DescribeProxies&Name=" + strings.Repeat("x", 2<<20), "RequestSizeLimitExceeded"},
		{"POST", "//", "AuthFailure"},
		{"POST", "/./", "AuthFailure"},
		{"POST", "/metrics", "AuthFailure"},
	} {
		req, _ := http.NewRequest(c.method, "http://"+api.Addr+c.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(b), `{"Response":{"Error":{"Code":"`+c.want) {
			t.Errorf("%s %.30s: HTTP %d %q %.80q; want 200 with the %s envelope", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), b, c.want)
		}
	}
	resp, err := http.Get("http://" + api.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: HTTP %d %q; want the Prometheus scrape", resp.StatusCode, ct)
	}
}
