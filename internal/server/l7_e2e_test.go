package server_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// l7Origins hands out origin addresses 127.77.201.x for the L7 tests.
var l7Origins = edgetest.NewAlloc(201)

func startL7Node(t *testing.T) *node {
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.NoRateLimits, o.DrainGrace = true, time.Second })
	return &node{API: api, c: api.GAAP(), t: t}
}

// echoOrigin starts an origin on an address from alloc that answers every
// request with JSON naming itself and the request's host and headers, and
// a header X-Origin: name; a request asking for an upgrade is upgraded and
// echoed, and one for /status/NNN is answered with status NNN.
func echoOrigin(t *testing.T, alloc *edgetest.Alloc, name string) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(alloc.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			wsEcho(w, r)
			return
		}
		w.Header().Set("X-Origin", name)
		if code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/")); err == nil {
			w.WriteHeader(code) // The origin's own error, for error pages.
			io.WriteString(w, "origin body")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"name": name, "host": r.Host, "header": r.Header})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return netip.MustParseAddrPort(ln.Addr().String())
}

func wsEcho(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "want upgrade", http.StatusBadRequest)
		return
	}
	c, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	io.Copy(c, brw)
}

// httpListener creates an HTTP listener and waits until it runs.
func (n *node) httpListener(proxy string, ip netip.Addr) (string, int) {
	n.t.Helper()
	port := edgetest.FreePort(n.t, ip)
	req := gaapsdk.NewCreateHTTPListenerRequest()
	req.ProxyId, req.ListenerName, req.Port = new(proxy), new("http"), new(uint64(port))
	resp, err := n.c.CreateHTTPListener(req)
	if err != nil {
		n.t.Fatal(err)
	}
	id := *resp.Response.ListenerId
	n.waitListener(id)
	return id, port
}

// domain creates host on listener (certificate and client CA optional).
func (n *node) domain(listener, host, cert, clientCA string) {
	n.t.Helper()
	req := gaapsdk.NewCreateDomainRequest()
	req.ListenerId, req.Domain = new(listener), new(host)
	if cert != "" {
		req.CertificateId = new(cert)
	}
	if clientCA != "" {
		req.ClientCertificateId = new(clientCA)
	}
	if _, err := n.c.CreateDomain(req); err != nil {
		n.t.Fatal(err)
	}
	n.waitDomain(listener, host)
}

// waitDomain waits until host on listener runs.
func (n *node) waitDomain(listener, host string) {
	n.t.Helper()
	n.until("domain "+host+" running", func() bool {
		d := gaapsdk.NewDescribeRulesRequest()
		d.ListenerId = new(listener)
		r, err := n.c.DescribeRules(d)
		for _, ds := range r.Response.DomainRuleSet {
			if err == nil && *ds.Domain == host {
				return *ds.DomainStatus == 0
			}
		}
		return false
	})
}

// rule creates a rule (extra holds fields the SDK version lacks), binds
// origins and waits until it runs.
func (n *node) rule(listener, host, path string, extra map[string]any, origins map[string]netip.AddrPort) string {
	n.t.Helper()
	params := map[string]any{"ListenerId": listener, "Domain": host, "Path": path, "RealServerType": "IP",
		"Scheduler": "rr", "HealthCheck": 0}
	for k, v := range extra {
		params[k] = v
	}
	var resp struct{ RuleId string }
	if err := n.Call(n.c, "CreateRule", params, &resp); err != nil {
		n.t.Fatal(err)
	}
	n.waitRule(resp.RuleId)
	bind := gaapsdk.NewBindRuleRealServersRequest()
	bind.RuleId = new(resp.RuleId)
	for id, ap := range origins {
		bind.RealServerBindSet = append(bind.RealServerBindSet, &gaapsdk.RealServerBindSetReq{RealServerId: new(id),
			RealServerIP: new(ap.Addr().String()), RealServerPort: new(uint64(ap.Port())), RealServerWeight: new(uint64(1))})
	}
	if _, err := n.c.BindRuleRealServers(bind); err != nil {
		n.t.Fatal(err)
	}
	n.waitRule(resp.RuleId)
	return resp.RuleId
}

func (n *node) waitRule(id string) {
	n.t.Helper()
	n.until("rule "+id+" running", func() bool {
		d := gaapsdk.NewDescribeRulesByRuleIdsRequest()
		d.RuleIds = []*string{new(id)}
		r, err := n.c.DescribeRulesByRuleIds(d)
		return err == nil && *r.Response.RuleSet[0].RuleStatus == 0
	})
}

// ruleOriginStatus is RealServerStatus of origin rs on rule id (-1: absent).
func (n *node) ruleOriginStatus(id, rs string) int64 {
	n.t.Helper()
	d := gaapsdk.NewDescribeRulesByRuleIdsRequest()
	d.RuleIds = []*string{new(id)}
	r, err := n.c.DescribeRulesByRuleIds(d)
	if err != nil {
		n.t.Fatal(err)
	}
	for _, s := range r.Response.RuleSet[0].RealServerSet {
		if *s.RealServerId == rs {
			return *s.RealServerStatus
		}
	}
	return -1
}

// cert stores a certificate and returns its ID.
func (n *node) cert(typ int64, content, key string) string {
	n.t.Helper()
	req := gaapsdk.NewCreateCertificateRequest()
	req.CertificateType, req.CertificateContent, req.CertificateAlias = new(typ), new(content), new("e2e")
	if key != "" {
		req.CertificateKey = new(key)
	}
	resp, err := n.c.CreateCertificate(req)
	if err != nil {
		n.t.Fatal(err)
	}
	return *resp.Response.CertificateId
}

// request sends method path with host to addr over c and returns the
// answer with its body.
func request(t *testing.T, c *http.Client, base, host, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

type answer struct {
	Name, Host string
	Header     http.Header
}

func parse(t *testing.T, body string) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("origin answer %q: %v", body, err)
	}
	return a
}

// testCA is a CA issuing leaf certificates in PEM.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newTestCA(t *testing.T, cn string) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

func (ca *testCA) leaf(t *testing.T, cn string, names ...string) (string, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// pinnedClient connects to addr whatever the URL says.
func pinnedClient(addr netip.AddrPort, tlsCfg *tls.Config) *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", addr.String())
			}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// wsRoundTrip upgrades path on addr and echoes one message.
func wsRoundTrip(t *testing.T, addr netip.AddrPort, host, path string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", path, host)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: got %v, %v", resp, err)
	}
	io.WriteString(c, "hello")
	buf := make([]byte, 5)
	io.ReadFull(br, buf)
	return string(buf)
}

func TestHTTPListenerCarriesRequests(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy()
	a, b, ws := echoOrigin(t, l7Origins, "a"), echoOrigin(t, l7Origins, "b"), echoOrigin(t, l7Origins, "ws")
	dead := netip.AddrPortFrom(l7Origins.Next(), 9) // Nothing listens there.
	ids := n.realServers(a.Addr(), b.Addr(), ws.Addr(), dead.Addr())
	listener, port := n.httpListener(proxy, ip)
	n.domain(listener, "www.e2e.test", "", "")
	n.domain(listener, "*.wild.e2e.test", "", "")
	n.rule(listener, "www.e2e.test", "/", nil, map[string]netip.AddrPort{ids[0]: a})
	api := n.rule(listener, "www.e2e.test", "/api", map[string]any{"ForwardHost": "backend.internal"}, map[string]netip.AddrPort{ids[1]: b})
	n.rule(listener, "www.e2e.test", "/ws", nil, map[string]netip.AddrPort{ids[2]: ws})
	n.rule(listener, "www.e2e.test", "/dead", nil, map[string]netip.AddrPort{ids[3]: dead})
	n.rule(listener, "www.e2e.test", "/login", map[string]any{"ForcedRedirect": "https:"}, map[string]netip.AddrPort{ids[0]: a})
	n.rule(listener, "*.wild.e2e.test", "/", nil, map[string]netip.AddrPort{ids[1]: b})
	if err := n.Call(n.c, "CreateCustomHeader", map[string]any{"RuleId": api,
		"Headers": []map[string]string{{"HeaderName": "X-Client", "HeaderValue": "$remote_addr"}}}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitRule(api)
	page := gaapsdk.NewCreateDomainErrorPageInfoRequest()
	page.ListenerId, page.Domain, page.Body, page.NewErrorNo = new(listener), new("www.e2e.test"), new("<h1>e2e sorry</h1>"), new(int64(503))
	page.ErrorNos = []*int64{new(int64(502))}
	if _, err := n.c.CreateDomainErrorPageInfo(page); err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(ip, uint16(port))
	base := "http://" + addr.String()
	c := pinnedClient(addr, nil)

	for _, tc := range []struct{ host, path, want string }{
		{"www.e2e.test", "/", "a"}, {"www.e2e.test:80", "/api/x", "b"}, {"x.wild.e2e.test", "/", "b"},
	} {
		if _, body := request(t, c, base, tc.host, tc.path, nil); parse(t, body).Name != tc.want {
			t.Errorf("%s%s: got %s; want origin %s", tc.host, tc.path, body, tc.want)
		}
	}
	if resp, _ := request(t, c, base, "other.test", "/", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown host: got %d; want 404", resp.StatusCode)
	}
	_, body := request(t, c, base, "www.e2e.test", "/api", map[string]string{"X-Forwarded-For": "203.0.113.9"})
	got := parse(t, body)
	if got.Host != "backend.internal" || got.Header.Get("X-Forwarded-For") != "203.0.113.9, 127.0.0.1" ||
		got.Header.Get("X-Client") != "127.0.0.1" || got.Header.Get("X-Real-Ip") != "127.0.0.1" {
		t.Errorf("origin saw host %q headers %v; want forward host, XFF appended, custom header", got.Host, got.Header)
	}
	// The error page replaces the edge's own 502 (nothing listens at dead)
	// once it reaches the data plane.
	n.until("error page applied", func() bool {
		resp, body := request(t, c, base, "www.e2e.test", "/dead", nil)
		return resp.StatusCode == 503 && body == "<h1>e2e sorry</h1>"
	})
	resp, _ := request(t, c, base, "www.e2e.test", "/login?next=1", nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "https://www.e2e.test/login?next=1" {
		t.Errorf("forced redirect: got %d %q", resp.StatusCode, loc)
	}
	if got := wsRoundTrip(t, addr, "www.e2e.test", "/ws"); got != "hello" {
		t.Errorf("WebSocket echo: got %q; want hello", got)
	}
}

// TestForwardHostSentToOrigin checks that origins receive ForwardHost,
// port included, as the Host header, and that a value which cannot be a
// Host is refused: net/http would send it as an empty Host.
func TestForwardHostSentToOrigin(t *testing.T) {
	s := startSite(t, "/", map[string]any{"ForwardHost": "backend.internal:8080"})
	err := s.Call(s.c, "CreateRule", map[string]any{"ListenerId": s.listener, "Domain": "www.e2e.test", "Path": "/url",
		"RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0, "ForwardHost": "https://backend.internal"}, nil)
	if e := (*sdkerrors.TencentCloudSDKError)(nil); !errors.As(err, &e) || e.Code != "InvalidParameterValue" {
		t.Errorf("ForwardHost https://backend.internal: got %v; want InvalidParameterValue", err)
	}
	_, body := request(t, s.client, s.base, "www.e2e.test", "/", nil)
	if got := parse(t, body).Host; got != "backend.internal:8080" {
		t.Errorf("origin saw Host %q; want backend.internal:8080", got)
	}
}

// site is a node with an HTTP listener, its domain www.e2e.test and a
// rule to an echo origin named "a".
type site struct {
	*node
	listener, ruleID, base string
	client                 *http.Client
}

// startSite starts a site whose rule has path and the CreateRule
// fields extra.
func startSite(t *testing.T, path string, extra map[string]any) site {
	t.Helper()
	n := startL7Node(t)
	proxy, ip := n.proxy()
	a := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(a.Addr())
	listener, port := n.httpListener(proxy, ip)
	n.domain(listener, "www.e2e.test", "", "")
	id := n.rule(listener, "www.e2e.test", path, extra, map[string]netip.AddrPort{ids[0]: a})
	addr := netip.AddrPortFrom(ip, uint16(port))
	return site{node: n, listener: listener, ruleID: id, base: "http://" + addr.String(), client: pinnedClient(addr, nil)}
}

// mutualListener creates an HTTPS listener with mutual authentication
// (server certificate cert, client CA clientCA) and waits until it runs.
func (n *node) mutualListener(proxy string, ip netip.Addr, cert, clientCA string) (string, netip.AddrPort) {
	n.t.Helper()
	port := edgetest.FreePort(n.t, ip)
	req := gaapsdk.NewCreateHTTPSListenerRequest()
	req.ProxyId, req.ListenerName, req.Port = new(proxy), new("https"), new(uint64(port))
	req.CertificateId, req.ForwardProtocol, req.AuthType = new(cert), new("HTTP"), new(uint64(1))
	req.ClientCertificateId = new(clientCA)
	resp, err := n.c.CreateHTTPSListener(req)
	if err != nil {
		n.t.Fatal(err)
	}
	id := *resp.Response.ListenerId
	n.waitListener(id)
	return id, netip.AddrPortFrom(ip, uint16(port))
}

func TestHTTPSListenerSNIAndMutualTLS(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy()
	a := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(a.Addr())
	serverCA, clientCA := newTestCA(t, "e2e server CA"), newTestCA(t, "e2e client CA")
	lc, lk := serverCA.leaf(t, "listener-cert", "www.e2e.test")
	sc, sk := serverCA.leaf(t, "sni-cert", "sni.e2e.test")
	listenerCert, sniCert := n.cert(2, lc, lk), n.cert(2, sc, sk)
	clientCAID := n.cert(1, clientCA.pem, "")

	listener, addr := n.mutualListener(proxy, ip, listenerCert, clientCAID)
	n.domain(listener, "www.e2e.test", "", "")
	n.domain(listener, "sni.e2e.test", sniCert, "")
	n.rule(listener, "www.e2e.test", "/", nil, map[string]netip.AddrPort{ids[0]: a})
	n.rule(listener, "sni.e2e.test", "/", nil, map[string]netip.AddrPort{ids[0]: a})

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(serverCA.pem))
	cc, ck := clientCA.leaf(t, "client", "client")
	pair, _ := tls.X509KeyPair([]byte(cc), []byte(ck))
	withCert := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}}
	for host, wantCN := range map[string]string{"www.e2e.test": "listener-cert", "sni.e2e.test": "sni-cert"} {
		resp, body := request(t, pinnedClient(addr, withCert), "https://"+host, host, "/", nil)
		if resp.ProtoMajor != 2 || resp.TLS.PeerCertificates[0].Subject.CommonName != wantCN || parse(t, body).Name != "a" {
			t.Errorf("%s: got %s, certificate %q, body %s; want HTTP/2, %q, origin a",
				host, resp.Proto, resp.TLS.PeerCertificates[0].Subject.CommonName, body, wantCN)
		}
		if h := parse(t, body).Header.Get("X-Forwarded-Proto"); h != "https" {
			t.Errorf("%s: X-Forwarded-Proto %q; want https", host, h)
		}
	}
	// Mutual TLS: a client without a certificate is refused.
	noCert := pinnedClient(addr, &tls.Config{RootCAs: roots})
	r, _ := http.NewRequest(http.MethodGet, "https://www.e2e.test/", nil)
	if resp, err := noCert.Do(r); err == nil {
		resp.Body.Close()
		t.Errorf("without client certificate: got %s; want a refused handshake", resp.Status)
	}
}

// TestMixedDefaultClientCAs: PolyClientCertificateIds ["default", <CA B>]
// on a mutual-TLS listener whose client CA is A trusts both A (the
// listener's, which "default" names) and B, as DescribeRules lists them; a
// client certificate of neither is refused.
func TestMixedDefaultClientCAs(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy()
	a := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(a.Addr())
	serverCA, caA, caB, caC := newTestCA(t, "server CA"), newTestCA(t, "client CA A"), newTestCA(t, "client CA B"), newTestCA(t, "client CA C")
	lc, lk := serverCA.leaf(t, "listener", "www.e2e.test")
	listener, addr := n.mutualListener(proxy, ip, n.cert(2, lc, lk), n.cert(1, caA.pem, ""))
	caBID := n.cert(1, caB.pem, "")

	req := gaapsdk.NewCreateDomainRequest()
	req.ListenerId, req.Domain = new(listener), new("www.e2e.test")
	req.PolyClientCertificateIds = []*string{new("default"), new(caBID)}
	if _, err := n.c.CreateDomain(req); err != nil {
		t.Fatal(err)
	}
	n.rule(listener, "www.e2e.test", "/", nil, map[string]netip.AddrPort{ids[0]: a})
	d := gaapsdk.NewDescribeRulesRequest()
	d.ListenerId = new(listener)
	r, err := n.c.DescribeRules(d)
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, ai := range r.Response.DomainRuleSet[0].PolyClientCertificateAliasInfo {
		shown = append(shown, *ai.CertificateId)
	}
	if !slices.Equal(shown, []string{"default", caBID}) {
		t.Errorf("DescribeRules PolyClientCertificateAliasInfo %v; want [default %s]", shown, caBID)
	}

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(serverCA.pem))
	for name, ca := range map[string]*testCA{"A (the listener's)": caA, "B": caB, "C (neither)": caC} {
		cc, ck := ca.leaf(t, "client", "client")
		pair, _ := tls.X509KeyPair([]byte(cc), []byte(ck))
		c := pinnedClient(addr, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}})
		hr, _ := http.NewRequest(http.MethodGet, "https://www.e2e.test/", nil)
		resp, err := c.Do(hr)
		if ca == caC {
			if err == nil {
				resp.Body.Close()
				t.Errorf("client certificate of CA %s: got %s; want a refused handshake", name, resp.Status)
			}
			continue
		}
		if err != nil {
			t.Errorf("client certificate of CA %s: %v; want it accepted", name, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("client certificate of CA %s: got %s; want 200", name, resp.Status)
		}
	}
}

// TestCustomHeaderWithUnderscoreOnEveryPath checks that the reference's
// own CreateCustomHeader example, X-REAL_IP: $remote_addr, reaches the
// origin through ReverseProxy (a POST) as through the direct exchange (a
// GET): dropping client headers that pose as X-Real-IP must not drop it.
func TestCustomHeaderWithUnderscoreOnEveryPath(t *testing.T) {
	s := startSite(t, "/", nil)
	if err := s.Call(s.c, "CreateCustomHeader", map[string]any{"RuleId": s.ruleID,
		"Headers": []map[string]string{{"HeaderName": "X-REAL_IP", "HeaderValue": "$remote_addr"}}}, nil); err != nil {
		t.Fatal(err)
	}
	s.waitRule(s.ruleID)
	s.until("custom header applied (GET)", func() bool {
		_, body := request(t, s.client, s.base, "www.e2e.test", "/", map[string]string{"X_Real_IP": "203.0.113.9"})
		return parse(t, body).Header.Get("X-Real_ip") == "127.0.0.1"
	})
	req, _ := http.NewRequest(http.MethodPost, s.base+"/", strings.NewReader("payload"))
	req.Host = "www.e2e.test"
	req.Header.Set("X_Real_IP", "203.0.113.9")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got := parse(t, string(body)).Header; got.Get("X-Real_ip") != "127.0.0.1" {
		t.Errorf("POST: origin saw headers %v; want X-REAL_IP: 127.0.0.1, as for GET", got)
	}
}

// TestCheckPathMalformedEscapeRefused: a CheckParams.Path with a
// malformed %-escape is refused, as a rule Path with one is, on create and
// on modify, and leaves the listener's rules as they were. Accepted, no
// probe could be built from it: every check failed and the rule's live
// origins read abnormal for ever.
func TestCheckPathMalformedEscapeRefused(t *testing.T) {
	s := startSite(t, "/", nil)
	rules := func() string {
		var r struct{ DomainRuleSet json.RawMessage }
		if err := s.Call(s.c, "DescribeRules", map[string]any{"ListenerId": s.listener}, &r); err != nil {
			t.Fatal(err)
		}
		return string(r.DomainRuleSet)
	}
	before := rules()
	if !strings.Contains(before, s.ruleID) {
		t.Fatalf("DescribeRules of %s: %s; want rule %s", s.listener, before, s.ruleID)
	}
	check := map[string]any{"DelayLoop": 5, "ConnectTimeout": 2, "Path": "/health%zz", "Method": "GET", "StatusCode": []int{200}}
	for action, params := range map[string]map[string]any{
		"CreateRule": {"ListenerId": s.listener, "Domain": "www.e2e.test", "Path": "/other", "RealServerType": "IP",
			"Scheduler": "rr", "HealthCheck": 1, "CheckParams": check},
		"ModifyRuleAttribute": {"ListenerId": s.listener, "RuleId": s.ruleID, "HealthCheck": 1, "CheckParams": check},
	} {
		err := s.Call(s.c, action, params, nil)
		if e := (*sdkerrors.TencentCloudSDKError)(nil); !errors.As(err, &e) || e.Code != "InvalidParameterValue" {
			t.Errorf("%s with CheckParams.Path /health%%zz: got %v; want InvalidParameterValue", action, err)
		}
	}
	if after := rules(); after != before {
		t.Errorf("the refused calls changed the listener's rules:\n%s\nwant as before:\n%s", after, before)
	}
}

// TestCustomHeaderControlCharacterRefused: a header value the data plane
// cannot send (a control character other than HTAB, RFC 9110 section 5.5)
// is refused by the API. Accepted, it made net/http's Transport refuse
// every request of the rule, which answered 502 although its origin was up
// and DescribeRules reported the rule running.
func TestCustomHeaderControlCharacterRefused(t *testing.T) {
	s := startSite(t, "/", nil)
	for _, value := range []string{"a\x01b", "a\x7fb"} {
		err := s.Call(s.c, "CreateCustomHeader", map[string]any{"RuleId": s.ruleID,
			"Headers": []map[string]string{{"HeaderName": "X-Tag", "HeaderValue": value}}}, nil)
		if e := (*sdkerrors.TencentCloudSDKError)(nil); !errors.As(err, &e) || e.Code != "InvalidParameterValue" {
			t.Errorf("CreateCustomHeader X-Tag %q: got %v; want InvalidParameterValue", value, err)
		}
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, s.base+"/", strings.NewReader("payload"))
		req.Host = "www.e2e.test"
		resp, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s after the refused header: got %s %q; want 200 from the origin", method, resp.Status, body)
		}
	}
}

// TestErrorPageInformationalStatusRefused: NewErrorNo must be a final
// status (200-599). A 1xx is interim (RFC 9110 section 15.2): net/http
// sends it as such and then answers the page as 200 OK, so a domain's 404
// reached clients and caches as a success.
func TestErrorPageInformationalStatusRefused(t *testing.T) {
	s := startSite(t, "/only", nil)
	for _, no := range []int{100, 103, 199} {
		err := s.Call(s.c, "CreateDomainErrorPageInfo", map[string]any{"ListenerId": s.listener, "Domain": "www.e2e.test",
			"ErrorNos": []int{404}, "NewErrorNo": no, "Body": "not here"}, nil)
		if e := (*sdkerrors.TencentCloudSDKError)(nil); !errors.As(err, &e) || e.Code != "InvalidParameterValue" {
			t.Errorf("CreateDomainErrorPageInfo NewErrorNo %d: got %v; want InvalidParameterValue", no, err)
		}
	}
	if resp, body := request(t, s.client, s.base, "www.e2e.test", "/other", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("path without a rule: got %s %q; want 404", resp.Status, body)
	}
}

// TestEncodedRulePathMatches checks that a rule path stored with percent
// escapes routes the requests for it, however they escape it.
func TestEncodedRulePathMatches(t *testing.T) {
	s := startSite(t, "/", nil)
	b := echoOrigin(t, l7Origins, "b")
	ids := s.realServers(b.Addr())
	s.waitRule(s.rule(s.listener, "www.e2e.test", "/caf%C3%A9", nil, map[string]netip.AddrPort{ids[0]: b}))
	for _, path := range []string{"/caf%C3%A9/menu", "/caf%c3%a9/menu", "/café/menu"} {
		if _, body := request(t, s.client, s.base, "www.e2e.test", path, nil); parse(t, body).Name != "b" {
			t.Errorf("GET %s: answered by %s; want origin b (rule /caf%%C3%%A9)", path, body)
		}
	}
}

// rawReq sends a raw request head to addr and returns the answer and its
// body.
func rawReq(t *testing.T, addr netip.AddrPort, head string) (*http.Response, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, head)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%q: %v", head, err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestForcedRedirectEmptyAuthorityRefused: ForcedRedirect "https://" or
// "https:///" (an empty authority: "redirect to HTTPS", as a user may well
// write it) is refused by CreateRule and ModifyRuleAttribute. Accepted,
// the edge glued the request URI to it, so the first segment of the
// client's path became the redirect's host (an open redirect):
// http://site/evil.example/phish -> https://evil.example/phish.
func TestForcedRedirectEmptyAuthorityRefused(t *testing.T) {
	s := startSite(t, "/", nil)
	addr := netip.MustParseAddrPort(strings.TrimPrefix(s.base, "http://"))
	for i, v := range []string{"https://", "https:///"} {
		err := s.Call(s.c, "CreateRule", map[string]any{"ListenerId": s.listener, "Domain": "www.e2e.test",
			"Path": fmt.Sprintf("/r%d", i), "RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0, "ForcedRedirect": v}, nil)
		wantCode(t, "CreateRule ForcedRedirect "+v, err, "InvalidParameterValue")
		err = s.Call(s.c, "ModifyRuleAttribute", map[string]any{"ListenerId": s.listener, "RuleId": s.ruleID,
			"ForcedRedirect": v}, nil)
		wantCode(t, "ModifyRuleAttribute ForcedRedirect "+v, err, "InvalidParameterValue")
		if err != nil {
			continue
		}
		s.waitRule(s.ruleID)
		r, _ := rawReq(t, addr, "GET /evil.example/phish HTTP/1.1\r\nHost: www.e2e.test\r\n\r\n")
		if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "https://www.e2e.test/") {
			t.Errorf("ForcedRedirect %q: GET /evil.example/phish on www.e2e.test answered %d Location %q; want no host but ours",
				v, r.StatusCode, loc)
		}
	}
}

// TestForcedRedirectMalformedValueRefused: a ForcedRedirect that is
// neither "https:[PORT]" nor "https://HOST[:PORT][/PATH]" is refused.
// Accepted, every plain-HTTP request to the rule got a Location that is
// not a URL ("https://www.e2e.test:www.qq.com/url/r0/x").
func TestForcedRedirectMalformedValueRefused(t *testing.T) {
	s := startSite(t, "/", nil)
	addr := netip.MustParseAddrPort(strings.TrimPrefix(s.base, "http://"))
	for i, v := range []string{"https:www.qq.com/url", "https:8443x", "https:99999"} {
		path := fmt.Sprintf("/r%d", i)
		var resp struct{ RuleId string }
		err := s.Call(s.c, "CreateRule", map[string]any{"ListenerId": s.listener, "Domain": "www.e2e.test",
			"Path": path, "RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0, "ForcedRedirect": v}, &resp)
		if e := (*sdkerrors.TencentCloudSDKError)(nil); errors.As(err, &e) && e.Code == "InvalidParameterValue" {
			continue
		}
		if err != nil {
			t.Fatalf("ForcedRedirect %q: %v", v, err)
		}
		s.waitRule(resp.RuleId)
		r, _ := rawReq(t, addr, "GET "+path+"/x HTTP/1.1\r\nHost: www.e2e.test\r\n\r\n")
		loc := r.Header.Get("Location")
		_, perr := url.Parse(loc)
		t.Errorf("ForcedRedirect %q accepted (want InvalidParameterValue); plain HTTP request answered %d Location %q (url.Parse: %v)",
			v, r.StatusCode, loc, perr)
	}
}

// TestHostlessRequestUsesDefaultDomain: an HTTP/1.0 request without Host
// is served by the IsDefaultServer domain, and stands for its name, as
// nginx's $host falls back to the matching server_name: in the forced
// redirect (was "https:///login?next=1"), in the Host of ForwardHost
// default (was the origin's own address) and in X-Forwarded-Host (was
// empty). A wildcard default domain names no one host: the access
// address the client connected to stands in.
func TestHostlessRequestUsesDefaultDomain(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy()
	a := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(a.Addr())
	for _, domain := range []string{"www.e2e.test", "*.wild.e2e.test"} {
		listener, port := n.httpListener(proxy, ip)
		if err := n.Call(n.c, "CreateDomain", map[string]any{"ListenerId": listener, "Domain": domain, "IsDefaultServer": true}, nil); err != nil {
			t.Fatal(err)
		}
		n.waitDomain(listener, domain)
		n.rule(listener, domain, "/", nil, map[string]netip.AddrPort{ids[0]: a})
		n.rule(listener, domain, "/login", map[string]any{"ForcedRedirect": "https:"}, map[string]netip.AddrPort{ids[0]: a})
		addr := netip.AddrPortFrom(ip, uint16(port))
		host, redirectHost := domain, domain
		if strings.HasPrefix(domain, "*.") {
			host, redirectHost = addr.String(), ip.String()
		}

		resp, _ := rawReq(t, addr, "GET /login?next=1 HTTP/1.0\r\n\r\n")
		if want := "https://" + redirectHost + "/login?next=1"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
			t.Errorf("%s: forced redirect of a Host-less HTTP/1.0 request: got %d Location %q; want 301 %s",
				domain, resp.StatusCode, resp.Header.Get("Location"), want)
		}
		_, body := rawReq(t, addr, "GET / HTTP/1.0\r\n\r\n")
		got := parse(t, body)
		if xfh := got.Header.Values("X-Forwarded-Host"); got.Host != host || len(xfh) != 1 || xfh[0] != host {
			t.Errorf("%s: origin got Host %q and X-Forwarded-Host %q; want %s for both", domain, got.Host, xfh, host)
		}
	}
}

// TestForcedRedirectKeepsSiblingPath checks a ForcedRedirect in the
// reference's https://domain/path form: /urlx, which the rule /url routes
// (byte-wise prefix), is redirected to itself, not to /url/urlx.
func TestForcedRedirectKeepsSiblingPath(t *testing.T) {
	s := startSite(t, "/url", map[string]any{"ForcedRedirect": "https://www.e2e.test/url"})
	s.until("redirect", func() bool {
		resp, _ := request(t, s.client, s.base, "www.e2e.test", "/url", nil)
		return resp.StatusCode == http.StatusMovedPermanently
	})
	resp, _ := request(t, s.client, s.base, "www.e2e.test", "/urlx?k=v", nil)
	if loc := resp.Header.Get("Location"); loc != "https://www.e2e.test/urlx?k=v" {
		t.Errorf("GET /urlx?k=v: Location %q; want https://www.e2e.test/urlx?k=v", loc)
	}
}

// TestWildcardRuleProbeHost: a rule of a wildcard domain created without
// CheckParams.Domain health-checks its origins without a check domain
// (Host: the origin's address), never with the literal "Host:
// *.wild.test", a name no origin serves: an origin that validates Host as
// a host name (Apache httpd answers such a Host 400 Bad Request) failed
// every probe and read abnormal while it served every request the rule
// forwards (www.wild.test: 200). ModifyRuleAttribute cannot change
// CheckParams.Domain, so the rule was stuck with it.
func TestWildcardRuleProbeHost(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy()
	var mu sync.Mutex
	var probed []string
	ln, err := net.Listen("tcp", netip.AddrPortFrom(l7Origins.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("User-Agent") == "opengaap-health/1" {
			mu.Lock()
			probed = append(probed, r.Host)
			mu.Unlock()
		}
		if strings.ContainsAny(r.Host, "*") { // Not a host name: as httpd's vhost check.
			w.WriteHeader(http.StatusBadRequest)
		}
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	o := netip.MustParseAddrPort(ln.Addr().String())
	ids := n.realServers(o.Addr())
	listener, port := n.httpListener(proxy, ip)
	n.domain(listener, "*.wild.test", "", "")
	// The defaults, with FailedThreshold 1 so that the first check decides.
	check := map[string]any{"DelayLoop": 5, "ConnectTimeout": 2, "Path": "/", "Method": "HEAD",
		"StatusCode": []int{200, 300}, "FailedThreshold": 1}
	id := n.rule(listener, "*.wild.test", "/", map[string]any{"HealthCheck": 1, "CheckParams": check},
		map[string]netip.AddrPort{ids[0]: o})

	addr := netip.AddrPortFrom(ip, uint16(port))
	c := pinnedClient(addr, nil)
	resp, _ := request(t, c, "http://"+addr.String(), "www.wild.test", "/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("request for www.wild.test: %d; want 200 from the origin", resp.StatusCode)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		got := len(probed)
		mu.Unlock()
		if got > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // The first check's verdict reaches the API.
	mu.Lock()
	hosts := append([]string(nil), probed...)
	mu.Unlock()
	if len(hosts) == 0 {
		t.Fatal("no health probe reached the origin")
	}
	for _, h := range hosts {
		if strings.Contains(h, "*") {
			t.Errorf("health probe sent Host %q: a wildcard pattern, not a host name any origin serves", h)
			break
		}
	}
	if st := n.ruleOriginStatus(id, ids[0]); st != 0 {
		t.Errorf("RealServerStatus %d (abnormal) for an origin that answers the rule's requests with 200; want 0", st)
	}
}
