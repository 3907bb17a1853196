package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestAPIHeadMemoryBounded: a head is read and kept (r.Header) before any
// authentication, for as long as its body takes (60 s by default): were
// heads as large as a POST body (10 MB) and charged to nothing, each
// connection sending a 4 MB head and stalling its tiny body would hold 4 MB
// whatever the body budget (APIBodyBudget). Heads are limited to 64 KiB,
// and what a request holds, head and body, is charged to the budget.
func TestAPIHeadMemoryBounded(t *testing.T) {
	const budget = 1 << 20
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		o.APIBodyBudget = budget
		o.APIBodyIdleTimeout, o.APIBodyTimeout = 20*time.Second, 30*time.Second
	})
	pad := strings.Repeat("a", 4<<20)
	head := "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\nX-Pad: " + pad + "\r\n\r\n{"
	before := liveHeap()
	const conns = 16
	for range conns {
		c, err := net.Dial("tcp", api.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, head) // Fails once the server refuses the head.
	}
	time.Sleep(2 * time.Second) // Let the server read the heads.
	grown := int64(liveHeap()) - int64(before)
	t.Logf("live heap grew by %d MB with %d stalled requests, body budget %d MB", grown>>20, conns, budget>>20)
	if grown > 4*budget {
		t.Errorf("%d unauthenticated stalled requests hold %d MB of heap under a %d MB body budget; "+
			"want what a request holds before authentication bounded by a global budget (heads included)", conns, grown>>20, budget>>20)
	}
}

// TestAPIHeadMemoryBoundedHTTP2: on HTTPS the API speaks HTTP/2, whose
// header list limit follows MaxHeaderBytes per stream, with many streams
// per connection: with 10 MB heads, ONE connection held 16 x 4 MB of
// unauthenticated heads here (a cap on connections would not bound it).
func TestAPIHeadMemoryBoundedHTTP2(t *testing.T) {
	ca := newTestCA(t, "review CA")
	certPEM, keyPEM := ca.leaf(t, "localhost", "localhost")
	dir := t.TempDir()
	os.WriteFile(dir+"/c.pem", []byte(certPEM), 0o600)
	os.WriteFile(dir+"/k.pem", []byte(keyPEM), 0o600)
	const budget = 1 << 20
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		o.APICertFile, o.APIKeyFile = dir+"/c.pem", dir+"/k.pem"
		o.APIBodyBudget = budget
		o.APIBodyIdleTimeout, o.APIBodyTimeout = 20*time.Second, 30*time.Second
	})
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	var dials atomic.Int32
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}, ForceAttemptHTTP2: true,
		MaxConnsPerHost: 1, DialContext: func(ctx context.Context, n, a string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, n, a)
		}}
	defer tr.CloseIdleConnections()
	pad := strings.Repeat("a", 4<<20)
	// Warm up the connection.
	if resp, err := (&http.Client{Transport: tr}).Get("https://" + api.Addr + "/"); err != nil {
		t.Fatal(err)
	} else {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("the TLS API answered over %s; it offers HTTP/2 (docs/api-protocol.md)", resp.Proto)
		}
	}
	before := liveHeap()
	const streams = 16
	var writers []*io.PipeWriter
	for range streams {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		req, _ := http.NewRequest("POST", "https://"+api.Addr+"/", pr)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Pad", pad)
		go func() {
			if resp, err := tr.RoundTrip(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	defer func() {
		for _, w := range writers {
			w.Close()
		}
	}()
	time.Sleep(3 * time.Second)
	grown := int64(liveHeap()) - int64(before)
	t.Logf("%d connection(s), live heap grew by %d MB with %d stalled streams, body budget %d MB", dials.Load(), grown>>20, streams, budget>>20)
	if grown > 4*budget {
		t.Errorf("%d connection(s) with %d stalled unauthenticated streams hold %d MB of heap under a %d MB body budget",
			dials.Load(), streams, grown>>20, budget>>20)
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
