package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestWireEveryAnswerIsEnvelope: the reference answers every call, errors
// included, with HTTP 200 and the JSON envelope (the Go SDK reads no body
// from another status). net/http's own answers must not reach a client:
// the 431 for a request line too long for the GET limit (32 KB) but within
// the head's (cloudapi.MaxHeaderBytes), the ServeMux's 307 for an unclean path,
// and the metrics text for an API call to /metrics.
func TestWireEveryAnswerIsEnvelope(t *testing.T) {
	api := xtest.StartAPI(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/?Action=DescribeProxies&Name=" + strings.Repeat("x", 40<<10), "RequestSizeLimitExceeded"},
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
	// What net/http would answer itself unless told not to.
	for _, head := range []string{"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"} {
		if got := rawRequest(t, api.Addr, head); !strings.HasPrefix(got, `200 {"Response":{"Error":{"Code":"UnsupportedProtocol"`) {
			t.Errorf("%q: %.100q; want 200 with the UnsupportedProtocol envelope", head, got)
		}
	}
	checkScrape(t, api.Addr)
}

// checkScrape checks that GET /metrics on addr is the Prometheus scrape.
func checkScrape(t *testing.T, addr string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET %s/metrics: HTTP %d %q; want the Prometheus scrape", addr, resp.StatusCode, ct)
	}
}

// TestWireSlowBodyIsCut: the body is read before anything is
// authenticated, so a client that trickles or stalls its body must be cut,
// not held (with its buffer) for ever: after BodyIdleTimeout without a
// byte, and after BodyTimeout however it trickles.
func TestWireSlowBodyIsCut(t *testing.T) {
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		o.APIBodyIdleTimeout, o.APIBodyTimeout = 300*time.Millisecond, 1500*time.Millisecond
	})
	for _, trickle := range []bool{false, true} {
		c, err := net.Dial("tcp", api.Addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":")
		start := time.Now()
		done := make(chan string, 1)
		go func() {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				done <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			done <- string(b)
		}()
		var got string
	wait:
		for {
			select {
			case got = <-done:
				break wait
			case <-time.After(100 * time.Millisecond):
				if trickle {
					c.Write([]byte(" "))
				}
			}
		}
		c.Close()
		if took := time.Since(start); took > 5*time.Second || !strings.Contains(got, `"InvalidRequest"`) {
			t.Errorf("trickle %v: after %v: %q; want the body cut with InvalidRequest within the body timeout", trickle, took, got)
		}
	}
}

// TestWireBodyBudget: the bytes of bodies held at once are bounded; past
// the budget a call gets ServiceUnavailable in the envelope instead of the
// server buffering without limit.
func TestWireBodyBudget(t *testing.T) {
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		o.APIBodyBudget = 1<<20 + 16<<10 // The heads are charged too.
		o.APIBodyIdleTimeout = 10 * time.Second
	})
	// One client sends 900 KB of a 9 MB body and stalls.
	stall := func() net.Conn {
		c, err := net.Dial("tcp", api.Addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 9<<20)
		io.WriteString(c, strings.Repeat(" ", 900<<10))
		return c
	}
	// answered reports whether the server has answered (refused) c.
	answered := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		n, err := c.Read(make([]byte, 1))
		return n > 0 || errors.Is(err, io.EOF)
	}
	c := stall()
	defer func() { c.Close() }()
	body := "{" + strings.Repeat(" ", 200<<10) + "}"
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = postJSON(t, api, body); strings.Contains(got, `"ServiceUnavailable"`) {
			break
		}
		// A 200 KB body read while the stalled one was still growing
		// its buffer can hold the budget the stalled one needed next:
		// the server then refuses the stalled one, rightly, and it
		// holds nothing. Stall another.
		if answered(c) {
			c.Close()
			c = stall()
		}
	}
	if !strings.Contains(got, `"ServiceUnavailable"`) {
		t.Fatalf("a 200 KB body while 900 KB of a stalled one are held under a 1 MB budget: %.200q; want ServiceUnavailable", got)
	}
	c.Close()
	// Once the stalled body is gone, the budget is free again.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = postJSON(t, api, body); !strings.Contains(got, `"ServiceUnavailable"`) {
			return
		}
	}
	t.Fatalf("the budget is not given back when a body is done: %.200q", got)
}

// postJSON posts an unsigned JSON body and returns the answer, which must
// be HTTP 200.
func postJSON(t *testing.T, api *xtest.API, body string) string {
	t.Helper()
	resp, err := http.Post("http://"+api.Addr+"/", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Errorf("HTTP %d %.100q; want 200", resp.StatusCode, b)
	}
	return string(b)
}

// rawRequest sends a request written out by hand and returns the status
// code and body of the answer.
func rawRequest(t *testing.T, addr, head string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, head)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

// TestWireHTTPS: with a certificate and key the API serves HTTPS, the
// Tencent Cloud SDKs' (and the Terraform provider's) default protocol;
// the official Go SDK calls it, trusting the test CA.
func TestWireHTTPS(t *testing.T) {
	ca := newTestCA(t, "opengaap test CA")
	certPEM, keyPEM := ca.leaf(t, "localhost", "localhost")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	os.WriteFile(certFile, []byte(certPEM), 0o600)
	os.WriteFile(keyFile, []byte(keyPEM), 0o600)
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.APICertFile, o.APIKeyFile = certFile, keyFile })
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	cpf := api.Profile()
	cpf.HttpProfile.Scheme = "HTTPS"
	c, err := gaapsdk.NewClient(common.NewCredential(xtest.Root.SecretID, xtest.Root.SecretKey), "ap-guangzhou", cpf)
	if err != nil {
		t.Fatal(err)
	}
	c.WithHttpTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}})
	if resp, err := c.DescribeProxies(gaapsdk.NewDescribeProxiesRequest()); err != nil || *resp.Response.TotalCount != 0 {
		t.Fatalf("DescribeProxies over HTTPS: %v", err)
	}
	// Both files or neither.
	_, err = server.Start(context.Background(), server.Options{APIListen: "127.0.0.1:0", DataDir: t.TempDir(),
		VIPPool: xtest.NextVIPPool(), Root: xtest.Root, APICertFile: certFile})
	if err == nil || !strings.Contains(err.Error(), "both or neither") {
		t.Errorf("a certificate without its key: %v; want refused", err)
	}
}

// TestWireMetricsListen: the scrape lists every account's resource IDs
// without authentication, so an operator can move it off the API
// listener, to an address of its own or nowhere; /metrics on the API
// is then an API call like any path.
func TestWireMetricsListen(t *testing.T) {
	for _, where := range []string{"127.0.0.1:0", "off"} {
		api := xtest.StartAPIWith(t, func(o *server.Options) { o.MetricsListen = where })
		if got := getBody(t, "http://"+api.Addr+"/metrics"); !strings.HasPrefix(got, `{"Response":{"Error":`) {
			t.Errorf("metrics %s: GET /metrics on the API: %.80q; want the envelope", where, got)
		}
		if (api.MetricsAddr == "") != (where == "off") {
			t.Fatalf("metrics %s: MetricsAddr %q", where, api.MetricsAddr)
		}
		if where != "off" {
			checkScrape(t, api.MetricsAddr)
		}
	}
}

// TestMetricsURL: MetricsURL (serve's start line) tells the scrape on the
// API listener, on its own listener and none apart: the scrape is
// unauthenticated, and the start line is where a user checks where it is.
func TestMetricsURL(t *testing.T) {
	for _, where := range []string{"", "127.0.0.1:0", "off"} {
		api := xtest.StartAPIWith(t, func(o *server.Options) { o.MetricsListen = where })
		want := map[string]string{"": "http://" + api.Addr + "/metrics", "off": "off"}[where]
		if where == "127.0.0.1:0" {
			want = "http://" + api.MetricsAddr + "/metrics"
		}
		if api.MetricsURL != want {
			t.Errorf("--metrics-listen %q: MetricsURL %q; want %q", where, api.MetricsURL, want)
		}
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
