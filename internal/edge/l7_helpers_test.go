package edge_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// seen is what a test origin reports about the request it got.
type seen struct {
	Name, Host, Path string
	Header           http.Header
	TLS              bool
}

// httpOrigin starts an origin on a fresh address that answers with a JSON
// seen, or with the status in the path "/status/NNN".
func httpOrigin(t testing.TB, name string, tlsCfg *tls.Config) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		if _, err := fmt.Sscanf(r.URL.Path, "/status/%d", &code); err == nil {
			w.Header().Set("X-Origin", name)
			w.WriteHeader(code)
			io.WriteString(w, "origin body")
			return
		}
		json.NewEncoder(w).Encode(seen{Name: name, Host: r.Host, Path: r.URL.Path, Header: r.Header, TLS: r.TLS != nil})
	}))
	srv.Listener.Close()
	srv.Listener = ln
	if tlsCfg != nil {
		srv.TLS = tlsCfg
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return netip.MustParseAddrPort(ln.Addr().String())
}

// get sends a request through the proxy with the given Host and decodes
// the origin's report (zero seen if the answer is not one).
func get(t *testing.T, c *http.Client, url, host string) (*http.Response, seen, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var s seen
	_ = json.Unmarshal(body, &s)
	return resp, s, string(body)
}

// testPKI is a CA with leaves signed by it.
type testPKI struct {
	ca    *x509.Certificate
	key   *ecdsa.PrivateKey
	caPEM string
	pool  *x509.CertPool
}

func newTestPKI(t *testing.T, cn string) *testPKI {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{ca: ca, key: key, caPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), pool: pool}
}

// leaf returns a certificate for names (server and client use) in PEM.
func (p *testPKI) leaf(t *testing.T, cn string, names ...string) (certPEM, keyPEM string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// tlsPair is leaf as a tls.Certificate.
func (p *testPKI) tlsPair(t *testing.T, cn string, names ...string) tls.Certificate {
	c, k := p.leaf(t, cn, names...)
	pair, err := tls.X509KeyPair([]byte(c), []byte(k))
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// httpsClient connects to addr whatever the URL's host, trusts pool,
// presents certs, and can force HTTP/2.
func httpsClient(addr netip.AddrPort, pool *x509.CertPool, h2 bool, certs ...tls.Certificate) *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}, ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr.String())
		}}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// l7Origins turns addresses into rule origins named o0, o1, ...
func l7Origins(addrs ...netip.AddrPort) []snapshot.Origin { return origins(addrs...) }

func httpProxy(v int64, ip netip.Addr, ls ...snapshot.HTTPListener) *snapshot.Snapshot {
	return &snapshot.Snapshot{Version: v, Proxies: []snapshot.Proxy{{ID: "link-1", AccessIP: ip.String(), HTTPListeners: ls}}}
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode origin report: %v", err)
	}
}

// countingOrigin starts an HTTP origin on a fresh address that answers
// its name, and counts the connections open to it. A request for "/slow"
// is answered once slow is closed.
func countingOrigin(t *testing.T, name string, slow <-chan struct{}) (netip.AddrPort, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-slow
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, name)
	}), ConnState: func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return netip.MustParseAddrPort(ln.Addr().String()), &open
}

// waitOpen waits up to 3 s for open to read want, and reports whether it
// does.
func waitOpen(open *atomic.Int64, want int64) bool {
	for deadline := time.Now().Add(3 * time.Second); open.Load() != want && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	return open.Load() == want
}
