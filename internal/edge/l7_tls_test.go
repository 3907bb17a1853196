package edge_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

	// HTTP/2 through ALPN, X-Forwarded-Proto https and X-Forwarded-Port
	// the listener's.
	resp, s, _ := get(t, httpsClient(addr, ca.pool, true), "https://www.test/", "www.test")
	if resp.ProtoMajor != 2 || s.Name != "a" || s.Header.Get("X-Forwarded-Proto") != "https" ||
		s.Header.Get("X-Forwarded-Port") != fmt.Sprint(port) {
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
	// the SNI's gets 421, so no client reaches mtls.test unverified. A
	// client that sent no SNI (curl -k https://IP/ -H 'Host: ...', probes)
	// is served by Host wherever the domain demands of clients what its
	// handshake demanded, as nginx serves it: sni.test differs only by
	// certificate.
	noSNI := &tls.Config{InsecureSkipVerify: true} // ServerName "" and an IP address: no SNI sent.
	noSNIWithCert := noSNI.Clone()
	noSNIWithCert.Certificates = withCert.Certificates
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
		{"", "www.test", noSNI, http.StatusOK},
		{"", "sni.test", noSNI, http.StatusOK},
		{"", "mtls.test", noSNI, http.StatusMisdirectedRequest},
		{"", "mtls.test", noSNIWithCert, http.StatusMisdirectedRequest},
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

// TestCAsWithPEMHeadersServe: CA certificates whose PEM blocks carry RFC
// 1421 headers ("Comment: ..."), which the API accepts, are loaded: a
// client CA verifies clients and an origin CA verifies the origin.
// x509.CertPool.AppendCertsFromPEM skipped such blocks, so the edge refused
// the whole listener ("no certificate in PEM").
func TestCAsWithPEMHeadersServe(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca, clients, origins := newTestPKI(t, "server CA"), newTestPKI(t, "client CA"), newTestPKI(t, "origin CA")
	withHeaders := func(p *testPKI) string {
		block, _ := pem.Decode([]byte(p.caPEM))
		block.Headers = map[string]string{"Comment": p.ca.Subject.CommonName}
		return string(pem.EncodeToMemory(block))
	}
	o := httpOrigin(t, "secure", &tls.Config{Certificates: []tls.Certificate{origins.tlsPair(t, "origin", "mtls.test")}})
	r := rule("r-mtls", "/", l7Origins(o))
	r.ForwardProtocol = snapshot.ProtoHTTPS
	certPEM, keyPEM := ca.leaf(t, "listener", "mtls.test")
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-h", Protocol: snapshot.ProtoHTTPS, Port: port,
		TLS:     &snapshot.TLS{CertPEM: certPEM, KeyPEM: keyPEM, ClientCAPEMs: []string{withHeaders(clients)}},
		Domains: []snapshot.Domain{{Host: "mtls.test", OriginCAPEMs: []string{withHeaders(origins)}, Rules: []snapshot.Rule{r}}}}))
	cfg := &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{clients.tlsPair(t, "client", "client")}}
	if got := tlsStatus(t, netip.AddrPortFrom(ip, uint16(port)), "mtls.test", "mtls.test", cfg); got != http.StatusOK {
		t.Errorf("client verified by a client CA with PEM headers, origin by an origin CA with PEM headers: got %d; want 200", got)
	}
}

// TestHTTPSCheckVerifiesOrigin: a rule forwarding HTTPS with
// RealServerAuth on (OriginCAPEMs) has two origins; one presents a
// certificate the rule's CA did not sign. Its checks verify it as the
// rule's requests do, so it is taken out; and a request that still goes
// to it (before its checks fail) is retried on the other origin, its
// verification failure counting as a failed connect: no request fails
// while a verified origin is healthy.
func TestHTTPSCheckVerifiesOrigin(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca := newTestPKI(t, "origin CA")
	rogue := newTestPKI(t, "rogue CA")
	good := httpOrigin(t, "good", &tls.Config{Certificates: []tls.Certificate{ca.tlsPair(t, "good", "origin.test")}})
	bad := httpOrigin(t, "bad", &tls.Config{Certificates: []tls.Certificate{rogue.tlsPair(t, "bad", "origin.test")}})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	r := rule("r-rsa", "/", l7Origins(good, bad))
	r.ForwardProtocol, r.SNI = snapshot.ProtoHTTPS, "origin.test"
	r.Health = snapshot.HTTPCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 80 * time.Millisecond,
		Healthy: 2, Unhealthy: 2, Path: "/", Method: http.MethodGet, StatusClasses: []int{200, 300}}
	l := snapshot.HTTPListener{ID: "lsr-rsa", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "www.test", OriginCAPEMs: []string{ca.caPEM}, Rules: []snapshot.Rule{r}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	edgetest.Eventually(t, 3*time.Second, func() bool { return !rt.Health()["r-rsa/o1"].Healthy },
		"origin whose certificate fails RealServerAuth still reported healthy")
	c := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	fails := 0
	for range 10 {
		if resp, _, _ := get(t, c, url, "www.test"); resp.StatusCode != http.StatusOK {
			fails++
		}
	}
	if fails > 0 {
		t.Errorf("%d of 10 requests failed (502) while a verified origin was healthy: requests still go to the origin that fails verification", fails)
	}
}

// TestWildcardDomainOriginVerification: a wildcard domain with
// RealServerAuth and no SNI (the default) verifies its origin's
// certificate against the host each request asked for. An origin holding
// the domain's own wildcard certificate serves its hosts (it never covers
// the bare parent name, which was checked before, failing every request
// with 502), but not a host two labels down, which the domain matches and
// the certificate does not cover. An origin whose certificate names one
// host serves that host only: its connections, verified for that host, do
// not carry another host's requests, even while pooled.
func TestWildcardDomainOriginVerification(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca := newTestPKI(t, "origin CA")
	wild := httpOrigin(t, "wild", &tls.Config{Certificates: []tls.Certificate{ca.tlsPair(t, "wildcard", "*.wild.test")}})
	one := httpOrigin(t, "one", &tls.Config{Certificates: []tls.Certificate{ca.tlsPair(t, "www", "www.one.test")}})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	r := func(id string, o netip.AddrPort) snapshot.Rule {
		x := rule(id, "/", l7Origins(o))
		x.ForwardProtocol = snapshot.ProtoHTTPS
		return x
	}
	fwd := r("r-one", one)
	fwd.ForwardHost = "origin.internal" // The name verified is still the client's host.
	l := snapshot.HTTPListener{ID: "lsr-w", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "*.wild.test", OriginCAPEMs: []string{ca.caPEM}, Rules: []snapshot.Rule{r("r-wild", wild)}},
		{Host: "*.one.test", OriginCAPEMs: []string{ca.caPEM}, Rules: []snapshot.Rule{fwd}},
	}}
	mustApply(t, rt, httpProxy(1, ip, l))
	c := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	for _, tc := range []struct {
		host string
		want int
	}{
		{"www.wild.test", 200}, {"API.wild.test", 200}, {"a.b.wild.test", 502},
		{"www.one.test", 200}, {"api.one.test", 502}, {"www.one.test", 200}, {"api.one.test", 502},
	} {
		resp, s, body := get(t, c, url, tc.host)
		if resp.StatusCode != tc.want || (tc.want == 200 && !s.TLS) {
			t.Errorf("Host %s: got %d %q; want %d over TLS", tc.host, resp.StatusCode, body, tc.want)
		}
	}
}

// TestWildcardVerifiedOriginKeepsConnections: a wildcard domain whose
// origin certificates are verified per request host serves hundreds of
// subdomains in use from warm connections, one per host: requests of a
// host already seen open none. A transport per host, at most 64 of them,
// churned a new TLS connection (and a parse of the CAs under the
// node-wide lock) on every request once more hosts were in use, though
// one *.wild.test certificate covers them all.
func TestWildcardVerifiedOriginKeepsConnections(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca := newTestPKI(t, "origin CA")
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{ca.tlsPair(t, "wildcard", "*.wild.test")}},
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	o := netip.MustParseAddrPort(ln.Addr().String())
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	r := rule("r-churn", "/", l7Origins(o))
	r.ForwardProtocol = snapshot.ProtoHTTPS
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-churn", Protocol: snapshot.ProtoHTTP, Port: port,
		Domains: []snapshot.Domain{{Host: "*.wild.test", OriginCAPEMs: []string{ca.caPEM}, Rules: []snapshot.Rule{r}}}}))
	c := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	const hosts, rounds = 300, 2
	for range rounds {
		for i := range hosts {
			resp, _, body := get(t, c, url, fmt.Sprintf("tenant%d.wild.test", i))
			if resp.StatusCode != 200 {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
		}
	}
	if n := conns.Load(); n > hosts {
		t.Errorf("%d requests over %d hosts of one wildcard domain opened %d TLS connections to the one origin; want at most %d (one per host)",
			hosts*rounds, hosts, n, hosts)
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
	edgetest.Eventually(t, 3*time.Second, func() bool { h, ok := rt.Health()["r-without/o0"]; return ok && !h.Healthy },
		"check without client certificate passed: %v", rt.Health())
	time.Sleep(300 * time.Millisecond) // Three more checks of each.
	if h := rt.Health()["r-with/o0"]; !h.Healthy {
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

// TestH2WithAllowedOldTLS: a listener that allows TLS 1.0/1.1 and CBC
// suites (SetTlsVersion TLSv1, GAAP_TLS_CIPHERS_GENERAL) serves a client
// that offers h2 but would get a version or suite HTTP/2 forbids (RFC 9113
// 9.2; net/http's HTTP/2 server closes such a connection before any
// request) over HTTP/1.1, as it serves the same client without h2; a
// client that can use TLS 1.3 or an ECDHE AEAD suite still gets HTTP/2.
func TestH2WithAllowedOldTLS(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca := newTestPKI(t, "server CA")
	cert, key := ca.leaf(t, "listener", "old.test") // ECDSA.
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	addr := netip.AddrPortFrom(ip, uint16(port))
	l := snapshot.HTTPListener{ID: "lsr-old", Protocol: snapshot.ProtoHTTPS, Port: port,
		TLS: &snapshot.TLS{CertPEM: cert, KeyPEM: key, MinVersion: snapshot.TLS10, MaxVersion: snapshot.TLS13,
			Ciphers: snapshot.CiphersGeneral},
		Domains: []snapshot.Domain{{Host: "old.test", Rules: []snapshot.Rule{rule("r-old", "/", l7Origins(a))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	for _, tc := range []struct {
		name    string
		mod     func(*tls.Config)
		wantTLS uint16
		wantH2  bool
	}{
		{"TLS 1.1", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }, tls.VersionTLS11, false},
		{"TLS 1.2 CBC", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
		}, tls.VersionTLS12, false},
		// The only AEAD suite offered needs an RSA certificate: ECDSA CBC it is.
		{"TLS 1.2 AEAD for another key", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
		}, tls.VersionTLS12, false},
		{"TLS 1.2 AEAD and CBC", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
		}, tls.VersionTLS12, true},
		{"TLS 1.3", func(*tls.Config) {}, tls.VersionTLS13, true},
	} {
		// Control: the same client over HTTP/1.1 only is served.
		h1 := httpsClient(addr, ca.pool, false)
		tc.mod(h1.Transport.(*http.Transport).TLSClientConfig)
		if resp, err := h1.Get("https://old.test/"); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s over HTTP/1.1: %v %v; want 200", tc.name, resp, err)
		} else {
			resp.Body.Close()
		}
		c := httpsClient(addr, ca.pool, true)
		tc.mod(c.Transport.(*http.Transport).TLSClientConfig)
		resp, err := c.Get("https://old.test/")
		if err != nil {
			t.Errorf("%s (allowed by the listener), client offering h2: %v; want an answer", tc.name, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.TLS.Version != tc.wantTLS || (resp.ProtoMajor == 2) != tc.wantH2 {
			t.Errorf("%s: got %s over %s, TLS %x, %s; want 200, TLS %x, HTTP/2 %v", tc.name, resp.Status, resp.Proto,
				resp.TLS.Version, tls.CipherSuiteName(resp.TLS.CipherSuite), tc.wantTLS, tc.wantH2)
		}
	}
}

// TestTLSAccessChangeRechecksConnections: a change of what a listener's
// TLS demands of clients closes the connections that no longer meet the
// demands of their domain (mutual TLS turned on, their client CA removed,
// the default domain changed for a client without SNI), over HTTP/1.1 and
// HTTP/2, and keeps the others open with their requests in flight; a
// rotated certificate or a rule change keeps them all (hitless).
func TestTLSAccessChangeRechecksConnections(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca, clients, others := newTestPKI(t, "server CA"), newTestPKI(t, "client CA"), newTestPKI(t, "other CA")
	hold, held := make(chan struct{}), make(chan struct{}, 2)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			held <- struct{}{}
			<-hold
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(origin.Close)
	o := netip.MustParseAddrPort(origin.Listener.Addr().String())
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	addr := netip.AddrPortFrom(ip, uint16(port))
	// apply configures b.test and a.test with their client CAs (nil: no
	// mutual TLS), a.test the default unless defB.
	apply := func(v int64, bCAs, aCAs []string, defB bool) {
		t.Helper()
		cert, key := ca.leaf(t, fmt.Sprint("srv", v), "a.test", "b.test") // A new certificate every time.
		dom := func(host string, cas []string, def bool) snapshot.Domain {
			r := rule("r-"+host, "/", l7Origins(o))
			r.Headers = []snapshot.Header{{Name: "X-Version", Value: fmt.Sprint(v)}}
			d := snapshot.Domain{Host: host, IsDefault: def, Rules: []snapshot.Rule{r}}
			if cas != nil {
				d.TLS = &snapshot.TLS{ClientCAPEMs: cas}
			}
			return d
		}
		mustApply(t, rt, httpProxy(v, ip, snapshot.HTTPListener{ID: "lsr-r", Protocol: snapshot.ProtoHTTPS, Port: port,
			TLS: &snapshot.TLS{CertPEM: cert, KeyPEM: key}, Domains: []snapshot.Domain{dom("b.test", bCAs, defB), dom("a.test", aCAs, !defB)}}))
	}
	type client struct {
		name, url string
		c         *http.Client
		dials     atomic.Int32
	}
	newClient := func(name, url string, h2 bool, certs ...tls.Certificate) *client {
		cl := &client{name: name, url: url, c: httpsClient(addr, ca.pool, h2, certs...)}
		tr := cl.c.Transport.(*http.Transport)
		if !strings.Contains(url, ".test") {
			tr.TLSClientConfig.InsecureSkipVerify = true // An IP literal: no SNI, and no name to check.
		}
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			cl.dials.Add(1)
			return dial(ctx, network, addr)
		}
		return cl
	}
	get := func(cl *client, path string) error {
		resp, err := cl.c.Get(cl.url + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != 200 {
			return fmt.Errorf("status %d, body %v", resp.StatusCode, err)
		}
		return nil
	}
	// expect checks each client's next request and how many connections
	// it has opened in all.
	expect := func(when string, ok bool, dials int32, cls ...*client) {
		t.Helper()
		for _, cl := range cls {
			if err := get(cl, "/"); (err == nil) != ok {
				t.Errorf("%s: %s: %v; want success %v", when, cl.name, err, ok)
			}
			if n := cl.dials.Load(); ok && n != dials {
				t.Errorf("%s: %s opened %d connections in all; want %d", when, cl.name, n, dials)
			}
		}
	}
	partner := clients.tlsPair(t, "partner")
	bH1, bH2 := newClient("b.test HTTP/1.1", "https://b.test", false), newClient("b.test HTTP/2", "https://b.test", true)
	bCert := newClient("b.test with a client certificate", "https://b.test", false, partner)
	aH1, aH2 := newClient("a.test HTTP/1.1", "https://a.test", false), newClient("a.test HTTP/2", "https://a.test", true)
	noSNI := newClient("client without SNI", "https://"+addr.String(), false)
	slow := newClient("a.test request in flight", "https://a.test", false)
	slowB := newClient("b.test request in flight", "https://b.test", false)

	apply(1, nil, nil, false)
	expect("first", true, 1, bH1, bH2, bCert, aH1, aH2, noSNI)
	slowDone, slowBDone := make(chan error, 1), make(chan error, 1)
	go func() { slowDone <- get(slow, "/hold") }()
	go func() { slowBDone <- get(slowB, "/hold") }()
	<-held
	<-held
	apply(2, nil, nil, false) // Certificate rotated, rules changed: nothing asked of clients changed.
	expect("after a certificate rotation", true, 1, bH1, bH2, bCert, aH1, aH2, noSNI)

	apply(3, []string{clients.caPEM}, nil, false) // Mutual TLS for b.test.
	expect("b.test without a certificate, after mutual TLS was turned on for it", false, 0, bH1, bH2)
	select {
	case err := <-slowBDone:
		if err == nil {
			t.Error("request in flight on b.test without a certificate, when mutual TLS was turned on: answered; want its connection closed")
		}
	case <-time.After(2 * time.Second):
		t.Error("request in flight on b.test without a certificate, when mutual TLS was turned on: still running")
	}
	expect("after mutual TLS was turned on for b.test", true, 1, aH1, aH2, noSNI)
	expect("after mutual TLS was turned on for b.test (a new connection, with the certificate)", true, 2, bCert)

	apply(4, []string{others.caPEM, clients.caPEM}, nil, false) // Another CA added.
	expect("after another client CA was added", true, 2, bCert)
	close(hold)
	if err := <-slowDone; err != nil || slow.dials.Load() != 1 {
		t.Errorf("request in flight across the changes: %v, %d connections; want it answered on its one connection", err, slow.dials.Load())
	}

	apply(5, []string{others.caPEM}, nil, false) // Its CA removed.
	expect("after the client's CA was removed", false, 0, bCert)

	apply(6, []string{others.caPEM}, nil, true) // b.test the default: clients without SNI need a certificate.
	expect("without SNI, after the default domain became one with mutual TLS", false, 0, noSNI)
	expect("after the default domain changed", true, 1, aH1, aH2)
}

// TestTLSAccessChangeCutsRequestsByHost guards the access recheck's reach
// beyond a connection's SNI: a.test and c.test share a TLS config, so a
// connection made for a.test (or without SNI) serves requests for c.test.
// When mutual TLS is turned on for c.test, such a request in flight (over
// HTTP/1.1, HTTP/2, HTTP/3, or a WebSocket) from a client that showed no
// certificate is cut with its connection, as one made for c.test is;
// only its SNI's demands were checked, and it ran to its end. A request
// in flight for a.test keeps going.
func TestTLSAccessChangeCutsRequestsByHost(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	clients := newTestPKI(t, "client CA")
	held, release := make(chan struct{}, 8), make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first part\n")
		w.(http.Flusher).Flush()
		held <- struct{}{}
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(w, "rest of the answer\n")
	}))
	t.Cleanup(origin.Close)
	o := netip.MustParseAddrPort(origin.Listener.Addr().String())
	ws, _, _ := wsOrigin(t)
	cert, key := ca.leaf(t, "srv", "a.test", "c.test")
	apply := func(v int64, cCAs []string) {
		t.Helper()
		c := snapshot.Domain{Host: "c.test", Rules: []snapshot.Rule{rule("r-c", "/", l7Origins(o)), rule("r-ws", "/ws", l7Origins(ws))}}
		if cCAs != nil {
			c.TLS = &snapshot.TLS{ClientCAPEMs: cCAs}
		}
		mustApply(t, rt, httpProxy(v, ip, snapshot.HTTPListener{ID: "lsr-host", Protocol: snapshot.ProtoHTTPS, Port: port, HTTP3: true,
			TLS:     &snapshot.TLS{CertPEM: cert, KeyPEM: key},
			Domains: []snapshot.Domain{{Host: "a.test", Rules: []snapshot.Rule{rule("r-a", "/", l7Origins(o))}}, c}}))
	}
	apply(1, nil)
	noSNI := func(h2 bool) *http.Client {
		c := httpsClient(addr, ca.pool, h2)
		c.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true
		return c
	}
	type flight struct {
		name, host string
		body       io.ReadCloser
	}
	var flights []flight
	for _, c := range []struct {
		name, url, host string
		c               *http.Client
	}{
		{"HTTP/1.1, SNI a.test", "https://a.test/", "c.test", httpsClient(addr, ca.pool, false)},
		{"HTTP/1.1, no SNI", "https://" + addr.String() + "/", "c.test", noSNI(false)},
		{"HTTP/2, SNI a.test", "https://a.test/", "c.test", httpsClient(addr, ca.pool, true)},
		{"HTTP/2, no SNI", "https://" + addr.String() + "/", "c.test", noSNI(true)},
		{"HTTP/3, SNI a.test", "https://a.test/", "c.test", h3Client(t, lo.Next(), addr, ca.pool)},
		{"HTTP/1.1, SNI a.test, for a.test", "https://a.test/", "a.test", httpsClient(addr, ca.pool, false)},
	} {
		req, _ := http.NewRequest(http.MethodGet, c.url, nil)
		req.Host = c.host
		resp, err := c.c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		first := make([]byte, len("first part\n"))
		if _, err := io.ReadFull(resp.Body, first); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s, Host %s, before the change: %d %q %v", c.name, c.host, resp.StatusCode, first, err)
		}
		<-held
		flights = append(flights, flight{c.name, c.host, resp.Body})
	}
	wc, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: ca.pool, ServerName: "a.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wc.Close() })
	_ = wc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(wc, "GET /ws HTTP/1.1\r\nHost: c.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	wr := bufio.NewReader(wc)
	if resp, err := http.ReadResponse(wr, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("WebSocket for c.test on a connection for a.test: %v %v", resp, err)
	}
	echo := func() error {
		io.WriteString(wc, "hi")
		got := make([]byte, 2)
		if _, err := io.ReadFull(wr, got); err != nil {
			return err
		}
		return nil
	}
	if err := echo(); err != nil {
		t.Fatalf("WebSocket before the change: %v", err)
	}

	apply(2, []string{clients.caPEM}) // Mutual TLS for c.test.
	close(release)
	for _, f := range flights {
		rest, err := io.ReadAll(f.body)
		if cut := !strings.Contains(string(rest), "rest of the answer"); cut != (f.host == "c.test") {
			t.Errorf("%s, request in flight for %s after mutual TLS was turned on for c.test: cut %v (%q, %v); want %v",
				f.name, f.host, cut, rest, err, f.host == "c.test")
		}
	}
	if err := echo(); err == nil {
		t.Error("WebSocket for c.test on a connection for a.test, after mutual TLS was turned on for c.test: still relayed; want it cut")
	}
}

// TestLeftOutDomainIsRefused guards a domain left out of its listener (its
// own certificate does not load; or the control plane marked it invalid)
// against being served by another domain: a handshake naming it fails,
// over TCP and QUIC, and a request for it on another name's connection, or
// on a plain HTTP listener, gets 503, not the default domain's origin
// without the client certificate it asked for. The other domains serve.
func TestLeftOutDomainIsRefused(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	clients := newTestPKI(t, "client CA")
	o := httpOrigin(t, "shared-origin", nil)
	cert, key := ca.leaf(t, "srv", "www.test", "secret.test")
	secretCert, _ := ca.leaf(t, "secret", "secret.test")
	_, otherKey := ca.leaf(t, "other", "other.test") // Not secret.test's key: the pair does not load.
	www := snapshot.Domain{Host: "www.test", IsDefault: true, Rules: []snapshot.Rule{rule("r-www", "/", l7Origins(o))}}
	httpPort := edgetest.FreePort(t, ip)
	rep := rt.Apply(httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-out", Protocol: snapshot.ProtoHTTPS, Port: port, HTTP3: true,
		TLS: &snapshot.TLS{CertPEM: cert, KeyPEM: key},
		Domains: []snapshot.Domain{www,
			{Host: "secret.test", TLS: &snapshot.TLS{CertPEM: secretCert, KeyPEM: otherKey, ClientCAPEMs: []string{clients.caPEM}},
				Rules: []snapshot.Rule{rule("r-secret", "/", l7Origins(o))}}}},
		snapshot.HTTPListener{ID: "lsr-out-http", Protocol: snapshot.ProtoHTTP, Port: httpPort,
			Domains: []snapshot.Domain{www, {Host: "secret.test", Invalid: "client CA: cert-x is not stored",
				Rules: []snapshot.Rule{rule("r-secret-http", "/", l7Origins(o))}}}}))
	if rep.Invalid["r-secret"] == "" || rep.Invalid["r-secret-http"] == "" || len(rep.Errors) != 0 {
		t.Fatalf("report: %+v; want secret.test's rules invalid, nothing else wrong", rep)
	}
	trust := &tls.Config{RootCAs: ca.pool}
	if _, err := handshake(t, addr, "secret.test", trust); err == nil {
		t.Error("TLS handshake for secret.test, left out: passed; want refused")
	}
	if resp, err := h3Client(t, lo.Next(), addr, ca.pool).Get("https://secret.test/"); err == nil {
		resp.Body.Close()
		t.Errorf("HTTP/3 for secret.test, left out: %d; want the handshake refused", resp.StatusCode)
	}
	for _, c := range []struct {
		sni, host string
		want      int
	}{{"www.test", "secret.test", http.StatusServiceUnavailable}, {"www.test", "www.test", 200}, {"www.test", "else.test", 200}} {
		if got := tlsStatus(t, addr, c.sni, c.host, trust); got != c.want {
			t.Errorf("SNI %s, Host %s: %d; want %d", c.sni, c.host, got, c.want)
		}
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	for host, want := range map[string]int{"secret.test": http.StatusServiceUnavailable, "www.test": 200} {
		if resp, _, _ := get(t, plain, fmt.Sprintf("http://%s:%d/", ip, httpPort), host); resp.StatusCode != want {
			t.Errorf("HTTP listener, Host %s: %d; want %d", host, resp.StatusCode, want)
		}
	}
}
