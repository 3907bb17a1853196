package gaap_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// pki is a small CA and a leaf for example.com and *.example.com, in PEM;
// leafKey is PKCS #8, leafSEC1 the same key as SEC 1 (EC PRIVATE KEY).
type pki struct {
	caPEM, leafPEM, leafKey, leafSEC1, otherKey string
	notAfter                                    time.Time
}

func newPKI(t *testing.T) pki {
	t.Helper()
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now().Truncate(time.Second)
	ca, caDER, caKey := testCA(t, "Test CA", now.Add(-time.Hour), now.Add(240*time.Hour))
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "example.com"},
		DNSNames: []string{"example.com", "*.example.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	return pki{caPEM: pemOf("CERTIFICATE", caDER), leafPEM: pemOf("CERTIFICATE", leafDER), leafKey: keyPEM(t, leafKey),
		leafSEC1: pemOf("EC PRIVATE KEY", sec1), otherKey: keyPEM(t, otherKey), notAfter: leaf.NotAfter}
}

// testCA is a self-signed CA named cn, valid from notBefore to notAfter,
// its DER and its key.
func testCA(t *testing.T, cn string, notBefore, notAfter time.Time) (*x509.Certificate, []byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, der, key
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func keyPEM(t *testing.T, k *ecdsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("PRIVATE KEY", der)
}

// createCert stores a certificate through the SDK and returns its ID.
func createCert(t *testing.T, c *gaapsdk.Client, typ int64, content, key string) string {
	t.Helper()
	req := gaapsdk.NewCreateCertificateRequest()
	req.CertificateType, req.CertificateContent, req.CertificateAlias = new(typ), new(content), new("alias")
	if key != "" {
		req.CertificateKey = new(key)
	}
	resp, err := c.CreateCertificate(req)
	if err != nil {
		t.Fatalf("CreateCertificate(type %d): %v", typ, err)
	}
	return *resp.Response.CertificateId
}

var nextPort atomic.Uint64

func init() { nextPort.Store(8000) }

// l7Listener creates an HTTP listener, or an HTTPS one when certID is
// set, on proxy and waits until it runs.
func l7Listener(t *testing.T, api *xtest.API, proxy, certID string, authType uint64) string {
	t.Helper()
	c := api.GAAP()
	var id string
	if certID == "" {
		req := gaapsdk.NewCreateHTTPListenerRequest()
		req.ProxyId, req.ListenerName, req.Port = new(proxy), new("http"), new(nextPort.Add(1))
		resp, err := c.CreateHTTPListener(req)
		if err != nil {
			t.Fatalf("CreateHTTPListener: %v", err)
		}
		id = *resp.Response.ListenerId
	} else {
		req := gaapsdk.NewCreateHTTPSListenerRequest()
		req.ProxyId, req.ListenerName, req.Port = new(proxy), new("https"), new(nextPort.Add(1))
		req.CertificateId, req.ForwardProtocol, req.AuthType = new(certID), new("HTTP"), new(authType)
		resp, err := c.CreateHTTPSListener(req)
		if err != nil {
			t.Fatalf("CreateHTTPSListener: %v", err)
		}
		id = *resp.Response.ListenerId
	}
	eventually(t, func() bool { pace(); return listenerStatus(t, c, id, certID != "") == 0 }, "listener %s not running", id)
	return id
}

// httpDomain starts an API with a running proxy, an HTTP listener on it
// and host on the listener: the setting most layer-7 tests start from.
func httpDomain(t *testing.T, host string) (api *xtest.API, proxy, listener string) {
	t.Helper()
	api = xtest.StartAPI(t)
	proxy = runningProxy(t, api)
	listener = l7Listener(t, api, proxy, "", 0)
	createDomain(t, api.GAAP(), listener, host)
	return api, proxy, listener
}

// httpsSetup starts an API with a running proxy and an HTTPS listener
// on it whose certificate, cert, is p's leaf (example.com, *.example.com).
func httpsSetup(t *testing.T) (api *xtest.API, p pki, listener, cert string) {
	t.Helper()
	api = xtest.StartAPI(t)
	p = newPKI(t)
	cert = createCert(t, api.GAAP(), 2, p.leafPEM, p.leafKey)
	listener = l7Listener(t, api, runningProxy(t, api), cert, 0)
	return api, p, listener, cert
}

func listenerStatus(t *testing.T, c *gaapsdk.Client, id string, https bool) int64 {
	if https {
		req := gaapsdk.NewDescribeHTTPSListenersRequest()
		req.ListenerId = new(id)
		resp, err := c.DescribeHTTPSListeners(req)
		if err != nil || len(resp.Response.ListenerSet) != 1 {
			t.Fatalf("DescribeHTTPSListeners(%s): %v", id, err)
		}
		return int64(*resp.Response.ListenerSet[0].ListenerStatus)
	}
	req := gaapsdk.NewDescribeHTTPListenersRequest()
	req.ListenerId = new(id)
	resp, err := c.DescribeHTTPListeners(req)
	if err != nil || len(resp.Response.ListenerSet) != 1 {
		t.Fatalf("DescribeHTTPListeners(%s): %v", id, err)
	}
	return int64(*resp.Response.ListenerSet[0].ListenerStatus)
}

// describeDomain returns the DomainRuleSet of host, nil when absent.
func describeDomain(t *testing.T, c *gaapsdk.Client, listener, host string) *gaapsdk.DomainRuleSet {
	t.Helper()
	req := gaapsdk.NewDescribeRulesRequest()
	req.ListenerId = new(listener)
	resp, err := c.DescribeRules(req)
	if err != nil {
		t.Fatalf("DescribeRules(%s): %v", listener, err)
	}
	for _, d := range resp.Response.DomainRuleSet {
		if *d.Domain == host {
			return d
		}
	}
	return nil
}

// createDomain adds host to listener and waits until it runs.
func createDomain(t *testing.T, c *gaapsdk.Client, listener, host string) {
	t.Helper()
	req := gaapsdk.NewCreateDomainRequest()
	req.ListenerId, req.Domain = new(listener), new(host)
	if _, err := c.CreateDomain(req); err != nil {
		t.Fatalf("CreateDomain(%s): %v", host, err)
	}
	waitDomain(t, c, listener, host) // read back as given
}

func waitDomain(t *testing.T, c *gaapsdk.Client, listener, host string) {
	t.Helper()
	eventually(t, func() bool {
		pace()
		d := describeDomain(t, c, listener, host)
		return d != nil && *d.DomainStatus == 0
	}, "domain %s not running", host)
}

// describeRule returns a rule by ID.
func describeRule(t *testing.T, c *gaapsdk.Client, id string) *gaapsdk.RuleInfo {
	t.Helper()
	req := gaapsdk.NewDescribeRulesByRuleIdsRequest()
	req.RuleIds = []*string{new(id)}
	resp, err := c.DescribeRulesByRuleIds(req)
	if err != nil {
		t.Fatalf("DescribeRulesByRuleIds(%s): %v", id, err)
	}
	return resp.Response.RuleSet[0]
}

// createRule adds a rule for path and waits until it runs.
func createRule(t *testing.T, c *gaapsdk.Client, listener, host, path string) string {
	t.Helper()
	resp, err := c.CreateRule(ruleRequest(listener, host, path))
	if err != nil {
		t.Fatalf("CreateRule(%s%s): %v", host, path, err)
	}
	id := *resp.Response.RuleId
	waitRule(t, c, id)
	return id
}

func ruleRequest(listener, host, path string) *gaapsdk.CreateRuleRequest {
	req := gaapsdk.NewCreateRuleRequest()
	req.ListenerId, req.Domain, req.Path = new(listener), new(host), new(path)
	req.RealServerType, req.Scheduler, req.HealthCheck = new("IP"), new("rr"), new(uint64(0))
	return req
}

// bindingFixture starts an API without rate limits (the binding-bound
// tests make hundreds of calls) with a running proxy, an HTTP listener on
// it and an origin at 1.1.1.1 (bindPorts binds its ports).
func bindingFixture(t *testing.T) (api *xtest.API, proxy, listener, origin string) {
	api = xtest.StartAPIWith(t, func(o *server.Options) { o.NoRateLimits = true })
	proxy = runningProxy(t, api)
	return api, proxy, l7Listener(t, api, proxy, "", 0), addOrigins(t, api.GAAP(), 0, "o", "1.1.1.1")[0]
}

// bindPorts replaces rule's origins with n ports (10000 on) of origin, an
// origin at 1.1.1.1; n 0 unbinds them all.
func bindPorts(c *gaapsdk.Client, rule, origin string, n int) error {
	req := gaapsdk.NewBindRuleRealServersRequest()
	req.RuleId = new(rule)
	req.RealServerBindSet = []*gaapsdk.RealServerBindSetReq{}
	for p := range n {
		req.RealServerBindSet = append(req.RealServerBindSet, &gaapsdk.RealServerBindSetReq{
			RealServerId: new(origin), RealServerIP: new("1.1.1.1"), RealServerPort: new(uint64(10000 + p)), RealServerWeight: new(uint64(1))})
	}
	_, err := c.BindRuleRealServers(req)
	return err
}

func waitRule(t *testing.T, c *gaapsdk.Client, id string) {
	t.Helper()
	eventually(t, func() bool { pace(); return *describeRule(t, c, id).RuleStatus == 0 }, "rule %s not running", id)
}

// pace keeps polling under the API's 20 calls per second per action.
func pace() { time.Sleep(60 * time.Millisecond) }
