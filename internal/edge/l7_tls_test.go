package edge_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// handshake returns the common name of the certificate served for sni.
func handshake(t *testing.T, addr netip.AddrPort, sni string, cfg *tls.Config) (string, error) {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName = sni
	c, err := tls.Dial("tcp", addr.String(), cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	// TLS 1.3 reports a refused client certificate only on the first read.
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\nHost: " + sni + "\r\n\r\n")); err != nil {
		return "", err
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		return "", err
	}
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// tlsStatus sends one request for host on a connection made for sni and
// returns the answer's status.
func tlsStatus(t *testing.T, addr netip.AddrPort, sni, host string, cfg *tls.Config) int {
	t.Helper()
	cfg = cfg.Clone()
	cfg.ServerName = sni
	c, err := tls.Dial("tcp", addr.String(), cfg)
	if err != nil {
		t.Fatalf("SNI %s: %v", sni, err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("SNI %s, Host %s: %v", sni, host, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestHTTPSSNIMutualTLSRotation(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca, clients := newTestPKI(t, "server CA"), newTestPKI(t, "client CA")
	listenerCert, listenerKey := ca.leaf(t, "listener", "www.test", "mtls.test")
	sniCert, sniKey := ca.leaf(t, "sni", "sni.test")
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	addr := netip.AddrPortFrom(ip, uint16(port))
	l := snapshot.HTTPListener{ID: "lsr-s", Protocol: snapshot.ProtoHTTPS, Port: port,
		TLS: &snapshot.TLS{CertPEM: listenerCert, KeyPEM: listenerKey},
		Domains: []snapshot.Domain{
			{Host: "www.test", Rules: []snapshot.Rule{rule("r-www", "/", l7Origins(a))}},
			{Host: "sni.test", TLS: &snapshot.TLS{CertPEM: sniCert, KeyPEM: sniKey}, Rules: []snapshot.Rule{rule("r-sni", "/", l7Origins(a))}},
			{Host: "mtls.test", TLS: &snapshot.TLS{ClientCAPEMs: []string{clients.caPEM}, MinVersion: snapshot.TLS13},
				Rules: []snapshot.Rule{rule("r-mtls", "/", l7Origins(a))}},
		}}
	mustApply(t, rt, httpProxy(1, ip, l))
	trust := &tls.Config{RootCAs: ca.pool}
	for sni, want := range map[string]string{"www.test": "listener", "sni.test": "sni"} {
		if got, err := handshake(t, addr, sni, trust); err != nil || got != want {
			t.Errorf("SNI %s: got certificate %q (%v); want %q", sni, got, err, want)
		}
	}

	// HTTP/2 through ALPN, and X-Forwarded-Proto https.
	resp, s, _ := get(t, httpsClient(addr, ca.pool, true), "https://www.test/", "www.test")
	if resp.ProtoMajor != 2 || s.Name != "a" || s.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("h2: got proto %s origin %q headers %v", resp.Proto, s.Name, s.Header)
	}

	// Mutual TLS on one domain: refused without a client certificate.
	if _, err := handshake(t, addr, "mtls.test", trust); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("mtls.test without client certificate: got %v; want certificate required", err)
	}
	withCert := trust.Clone()
	withCert.Certificates = []tls.Certificate{clients.tlsPair(t, "client", "client")}
	withCert.ServerName = "mtls.test"
	if _, err := handshake(t, addr, "mtls.test", withCert); err != nil {
		t.Errorf("mtls.test with client certificate: %v", err)
	}

	// A request must be for a domain of the connection's TLS config: a
	// Host whose domain asks for another certificate or client CA than
	// the SNI's gets 421, so no client reaches mtls.test unverified.
	for _, tc := range []struct {
		sni, host string
		cfg       *tls.Config
		want      int
	}{
		{"www.test", "mtls.test", trust, http.StatusMisdirectedRequest},
		{"sni.test", "www.test", trust, http.StatusMisdirectedRequest},
		{"mtls.test", "www.test", withCert, http.StatusMisdirectedRequest},
		{"www.test", "www.test", trust, http.StatusOK},
		{"mtls.test", "mtls.test", withCert, http.StatusOK},
	} {
		if got := tlsStatus(t, addr, tc.sni, tc.host, tc.cfg); got != tc.want {
			t.Errorf("SNI %s, Host %s: got %d; want %d", tc.sni, tc.host, got, tc.want)
		}
	}

	// Rotation: a new listener certificate is served on the next handshake,
	// on the same socket.
	rotated, rotatedKey := ca.leaf(t, "rotated", "www.test")
	l.TLS = &snapshot.TLS{CertPEM: rotated, KeyPEM: rotatedKey}
	rep := mustApply(t, rt, httpProxy(2, ip, l))
	if st, _ := rep.Listener("lsr-s"); st.Change != edge.ChangeUpdated {
		t.Errorf("change: got %q; want updated", st.Change)
	}
	if got, err := handshake(t, addr, "www.test", trust); err != nil || got != "rotated" {
		t.Errorf("after rotation: got %q (%v); want rotated", got, err)
	}

	// A certificate that does not parse: invalid, previous config kept.
	l.TLS = &snapshot.TLS{CertPEM: "junk", KeyPEM: "junk"}
	rep = rt.Apply(httpProxy(3, ip, l))
	if st, _ := rep.Listener("lsr-s"); st.State != edge.StateInvalid {
		t.Errorf("bad certificate: got state %q; want invalid", st.State)
	}
	if got, err := handshake(t, addr, "www.test", trust); err != nil || got != "rotated" {
		t.Errorf("after a bad update: got %q (%v); want rotated", got, err)
	}
}

func TestHTTPSOriginVerification(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca := newTestPKI(t, "origin CA")
	originCfg := &tls.Config{Certificates: []tls.Certificate{ca.tlsPair(t, "origin", "origin.test")}}
	o := httpOrigin(t, "secure", originCfg)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	good := rule("r-good", "/", l7Origins(o))
	good.ForwardProtocol, good.SNI = snapshot.ProtoHTTPS, "origin.test"
	bad := rule("r-bad", "/", l7Origins(o))
	bad.ForwardProtocol = snapshot.ProtoHTTPS
	l := snapshot.HTTPListener{ID: "lsr-o", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "good.test", OriginCAPEMs: []string{ca.caPEM}, Rules: []snapshot.Rule{good}}, // Verified as origin.test (SNI).
		{Host: "wrong.test", OriginCAPEMs: []string{ca.caPEM}, Rules: []snapshot.Rule{bad}}, // Verified as wrong.test: fails.
		{Host: "any.test", Rules: []snapshot.Rule{rule("r-any", "/", l7Origins(o))}},        // Listener forwards HTTP: fails.
	}}
	l.Domains[2].Rules[0].ForwardProtocol = snapshot.ProtoHTTPS // Not verified: accepted.
	mustApply(t, rt, httpProxy(1, ip, l))
	c := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	for host, want := range map[string]int{"good.test": 200, "wrong.test": 502, "any.test": 200} {
		resp, s, body := get(t, c, url, host)
		if resp.StatusCode != want || (want == 200 && !s.TLS) {
			t.Errorf("%s: got %d %q; want %d over TLS", host, resp.StatusCode, body, want)
		}
	}
}

// TestHTTPSOriginClientCertificate: GaapAuth presents the domain's proxy
// certificate to an origin that requires one, on requests and on health
// checks; without it the origin refuses the handshake: the client gets 502
// and the check fails.
func TestHTTPSOriginClientCertificate(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca, proxyCA := newTestPKI(t, "origin CA"), newTestPKI(t, "proxy CA")
	originCfg := &tls.Config{Certificates: []tls.Certificate{ca.tlsPair(t, "origin", "origin.test")},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: proxyCA.pool}
	o := httpOrigin(t, "mtls-origin", originCfg)
	proxyCert, proxyKey := proxyCA.leaf(t, "gaap", "gaap.test")
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	r := func(id string) snapshot.Rule {
		x := rule(id, "/", l7Origins(o))
		x.ForwardProtocol, x.SNI = snapshot.ProtoHTTPS, "origin.test"
		x.Health = snapshot.HTTPCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 200 * time.Millisecond,
			Unhealthy: 1, Healthy: 1}
		return x
	}
	l := snapshot.HTTPListener{ID: "lsr-g", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "with.test", OriginCAPEMs: []string{ca.caPEM}, ClientCertPEM: proxyCert, ClientKeyPEM: proxyKey, Rules: []snapshot.Rule{r("r-with")}},
		{Host: "without.test", OriginCAPEMs: []string{ca.caPEM}, Rules: []snapshot.Rule{r("r-without")}},
	}}
	mustApply(t, rt, httpProxy(1, ip, l))
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	edgetest.Eventually(t, 3*time.Second, func() bool { h, ok := rt.Health()["r-without/o0"]; return ok && !h },
		"check without client certificate passed: %v", rt.Health())
	time.Sleep(300 * time.Millisecond) // Three more checks of each.
	if h := rt.Health()["r-with/o0"]; !h {
		t.Errorf("check with the proxy certificate failed: %v", rt.Health())
	}
	for host, want := range map[string]int{"with.test": 200, "without.test": 502} {
		if resp, _, body := get(t, &http.Client{Timeout: 5 * time.Second}, url, host); resp.StatusCode != want {
			t.Errorf("%s: got %d %q; want %d", host, resp.StatusCode, body, want)
		}
	}
}

// TestHTTPSVersionsAndCiphers: a domain's TLS versions and cipher policy
// (TLSSupportVersion, TLSCiphers) are enforced at the handshake over TCP:
// a TLS 1.2 client is refused where only TLS 1.3 is allowed, and a client
// offering only CBC suites is refused by STRICT and served by GENERAL.
func TestHTTPSVersionsAndCiphers(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca := newTestPKI(t, "server CA")
	cert, key := ca.leaf(t, "listener", "strict.test", "general.test", "v13.test")
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	addr := netip.AddrPortFrom(ip, uint16(port))
	dom := func(host string, tlsCfg *snapshot.TLS) snapshot.Domain {
		return snapshot.Domain{Host: host, TLS: tlsCfg, Rules: []snapshot.Rule{rule("r-"+host, "/", l7Origins(a))}}
	}
	l := snapshot.HTTPListener{ID: "lsr-v", Protocol: snapshot.ProtoHTTPS, Port: port,
		TLS: &snapshot.TLS{CertPEM: cert, KeyPEM: key},
		Domains: []snapshot.Domain{dom("strict.test", &snapshot.TLS{Ciphers: snapshot.CiphersStrict}),
			dom("general.test", &snapshot.TLS{Ciphers: snapshot.CiphersGeneral}),
			dom("v13.test", &snapshot.TLS{MinVersion: snapshot.TLS13, MaxVersion: snapshot.TLS13})}}
	mustApply(t, rt, httpProxy(1, ip, l))
	tls12 := &tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS12}
	cbc := tls12.Clone()
	cbc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
	for _, tc := range []struct {
		sni    string
		cfg    *tls.Config
		refuse bool
	}{
		{"v13.test", tls12, true}, {"v13.test", &tls.Config{RootCAs: ca.pool}, false}, {"strict.test", tls12, false},
		{"strict.test", cbc, true}, {"general.test", cbc, false},
	} {
		_, err := handshake(t, addr, tc.sni, tc.cfg)
		if (err != nil) != tc.refuse {
			t.Errorf("%s with max TLS %x, suites %x: got %v; want refused %v", tc.sni, tc.cfg.MaxVersion, tc.cfg.CipherSuites, err, tc.refuse)
		}
	}
}

// TestTLSAccessChangeClosesConnections: a change of what a listener's TLS
// demands of clients (here: mutual TLS turned on) closes the connections
// made under the old demands, over HTTP/1.1 and HTTP/2, where a rotated
// certificate or a rule change keeps them (hitless).
func TestTLSAccessChangeClosesConnections(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca, clients := newTestPKI(t, "server CA"), newTestPKI(t, "client CA")
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	addr := netip.AddrPortFrom(ip, uint16(port))
	apply := func(v int64, header string, cas ...string) {
		cert, key := ca.leaf(t, fmt.Sprint("srv", v), "b.test") // A new certificate every time.
		r := rule("r-b", "/", l7Origins(a))
		r.Headers = []snapshot.Header{{Name: "X-Rule", Value: header}}
		d := snapshot.Domain{Host: "b.test", Rules: []snapshot.Rule{r}}
		if len(cas) > 0 {
			d.TLS = &snapshot.TLS{ClientCAPEMs: cas}
		}
		mustApply(t, rt, httpProxy(v, ip, snapshot.HTTPListener{ID: "lsr-r", Protocol: snapshot.ProtoHTTPS, Port: port,
			TLS: &snapshot.TLS{CertPEM: cert, KeyPEM: key}, Domains: []snapshot.Domain{d}}))
	}
	apply(1, "v1")
	h1, h2 := httpsClient(addr, ca.pool, false), httpsClient(addr, ca.pool, true)
	status := func(c *http.Client) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, "https://b.test/", nil)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var dials atomic.Int32
	for _, c := range []*http.Client{h1, h2} {
		tr := c.Transport.(*http.Transport)
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dial(ctx, network, addr)
		}
		if st, err := status(c); st != 200 {
			t.Fatalf("before: %d %v", st, err)
		}
	}
	apply(2, "v2") // Certificate rotated, rule changed: nothing asked of clients changed.
	for _, c := range []*http.Client{h1, h2} {
		if st, err := status(c); st != 200 {
			t.Fatalf("after a certificate rotation: %d %v", st, err)
		}
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("%d connections for the two clients across a certificate rotation; want 2 (kept)", n)
	}
	apply(3, "v2", clients.caPEM) // Mutual TLS turned on.
	for i, c := range []*http.Client{h1, h2} {
		if st, err := status(c); err == nil {
			t.Errorf("client %d without a certificate, after mutual TLS was turned on: got %d; want its connection closed and a new one refused", i, st)
		}
	}
}
