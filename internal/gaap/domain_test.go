package gaap_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

func TestDomainLifecycleHTTP(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	listener := l7Listener(t, api, proxy, "", 0)

	createDomain(t, c, listener, "Www.Example.com") // reads back as given; the ModifyDomain below respells it
	d := describeDomain(t, c, listener, "Www.Example.com")
	if d == nil || *d.BasicAuth != 0 || len(d.RuleSet) != 0 {
		t.Fatalf("got domain %+v; want www.example.com without auth or rules", d)
	}
	// Without certificates of its own it shows the listener's, "default",
	// as the reference's example does (the Terraform provider's
	// http_domains data source reads PolyClientCertificateAliasInfo[0]).
	if *d.CertificateId != "default" || *d.ClientCertificateId != "default" || len(d.PolyClientCertificateAliasInfo) != 1 ||
		*d.PolyClientCertificateAliasInfo[0].CertificateId != "default" || *d.PolyClientCertificateAliasInfo[0].CertificateAlias != "默认证书" {
		t.Errorf("domain of an HTTP listener: CertificateId %v, ClientCertificateId %v, PolyClientCertificateAliasInfo %v; want default each",
			d.CertificateId, d.ClientCertificateId, d.PolyClientCertificateAliasInfo)
	}

	t.Run("invalid", func(t *testing.T) {
		cases := []struct {
			name, listener, host, cert, code string
		}{
			{"duplicate", listener, "www.example.com", "", "FailedOperation.DomainAlreadyExisted"},
			{"bad host", listener, "bad host!", "", "InvalidParameterValue"},
			{"certificate on HTTP", listener, "a.example.com", "cert-00000000", "InvalidParameterValue"},
			{"unknown listener", "listener-00000000", "a.example.com", "", "ResourceNotFound"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req := gaapsdk.NewCreateDomainRequest()
				req.ListenerId, req.Domain = new(tc.listener), new(tc.host)
				if tc.cert != "" {
					req.CertificateId = new(tc.cert)
				}
				_, err := c.CreateDomain(req)
				wantCode(t, err, tc.code)
			})
		}
	})

	// Terraform's provider sends "default" certificates with every
	// ModifyDomain (is_default_server), HTTP listeners included: they mean
	// the listener's, which on HTTP is none. Real certificates stay refused.
	// (A raw call: SDK v1.0.162 lacks IsDefaultServer.)
	tf := map[string]any{"ListenerId": listener, "OldDomain": "www.example.com", "NewDomain": "www.example.com",
		"CertificateId": "default", "PolyClientCertificateIds": []string{"default"}, "IsDefaultServer": true}
	if err := api.Call(c, "ModifyDomain", tf, nil); err != nil {
		t.Fatalf("ModifyDomain with the default certificates on an HTTP listener: %v", err)
	}
	waitDomain(t, c, listener, "www.example.com")
	var rules struct {
		DomainRuleSet []struct {
			IsDefaultServer bool
			CertificateId   *string
		}
	}
	if err := api.Call(c, "DescribeRules", map[string]any{"ListenerId": listener}, &rules); err != nil {
		t.Fatal(err)
	}
	if d := rules.DomainRuleSet[0]; !d.IsDefaultServer || d.CertificateId == nil || *d.CertificateId != "default" {
		t.Errorf("got IsDefaultServer %v, CertificateId %v; want true, default", d.IsDefaultServer, d.CertificateId)
	}
	for _, certs := range []map[string]any{
		{"CertificateId": "cert-00000000"},
		{"PolyClientCertificateIds": []string{"default", "cert-00000000"}},
		{"ClientCertificateId": "cert-00000000"},
	} {
		req := maps.Clone(tf)
		maps.Copy(req, certs)
		wantCode(t, api.Call(c, "ModifyDomain", req, nil), "InvalidParameterValue")
	}

	rule := createRule(t, c, listener, "www.example.com", "/api")
	mod := gaapsdk.NewModifyDomainRequest()
	mod.ListenerId, mod.OldDomain, mod.NewDomain = new(listener), new("www.example.com"), new("api.example.com")
	if _, err := c.ModifyDomain(mod); err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "api.example.com")
	if got := *describeRule(t, c, rule).Domain; got != "api.example.com" {
		t.Errorf("rule domain after rename: got %q; want api.example.com", got)
	}
	_, err := api.GAAP(xtest.Other).ModifyDomain(mod)
	wantCode(t, err, "ResourceNotFound")

	del := gaapsdk.NewDeleteDomainRequest()
	del.ListenerId, del.Domain, del.Force = new(listener), new("api.example.com"), new(uint64(0))
	if _, err := c.DeleteDomain(del); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { pace(); return describeDomain(t, c, listener, "api.example.com") == nil }, "domain not deleted")
	req := gaapsdk.NewDescribeRulesByRuleIdsRequest()
	req.RuleIds = []*string{new(rule)}
	_, err = c.DescribeRulesByRuleIds(req)
	wantCode(t, err, "ResourceNotFound")
}

// TestDomainNamesReadBackAsGiven: a domain, its rules and its error pages
// read back the name as the caller wrote it, while lookups and uniqueness
// ignore case. Terraform's provider (v1.82.10) waits after CreateDomain
// for a DomainRuleSet whose Domain equals the configured name exactly,
// and sets the ForceNew domain of tencentcloud_gaap_http_rule and
// tencentcloud_gaap_domain_error_page from what Describe answers: a
// rewritten spelling is a create that times out, a resource dropped from
// state, or a replacement on every plan.
func TestDomainNamesReadBackAsGiven(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "Www.Example.COM") // createDomain waits for it as given
	c := api.GAAP()
	wantCode(t, api.Call(c, "CreateDomain", map[string]any{"ListenerId": listener, "Domain": "www.example.com"}, nil),
		"FailedOperation.DomainAlreadyExisted")
	rule := createRule(t, c, listener, "WWW.example.com", "/api")
	var page struct{ ErrorPageId string }
	err := api.Call(c, "CreateDomainErrorPageInfo", map[string]any{"ListenerId": listener, "Domain": "www.EXAMPLE.com",
		"ErrorNos": []int64{502}, "NewErrorNo": 200, "Body": "oops"}, &page)
	if err != nil {
		t.Fatal(err)
	}
	pageDomain := func() string {
		var out struct{ ErrorPageSet []struct{ Domain string } }
		if err := api.Call(c, "DescribeDomainErrorPageInfoByIds", map[string]any{"ErrorPageIds": []string{page.ErrorPageId}}, &out); err != nil || len(out.ErrorPageSet) != 1 {
			t.Fatalf("DescribeDomainErrorPageInfoByIds: %v, %+v", err, out)
		}
		return out.ErrorPageSet[0].Domain
	}
	if got := *describeRule(t, c, rule).Domain; got != "WWW.example.com" {
		t.Errorf("rule domain %q; want WWW.example.com, as created", got)
	}
	if got := pageDomain(); got != "www.EXAMPLE.com" {
		t.Errorf("error page domain %q; want www.EXAMPLE.com, as created", got)
	}

	// A new spelling of the same name is a rename: rules and error pages follow.
	err = api.Call(c, "ModifyDomain", map[string]any{"ListenerId": listener, "OldDomain": "www.example.com", "NewDomain": "www.example.COM"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "www.example.COM")
	if got := *describeRule(t, c, rule).Domain; got != "www.example.COM" {
		t.Errorf("rule domain after respelling %q; want www.example.COM", got)
	}
	if got := pageDomain(); got != "www.example.COM" {
		t.Errorf("error page domain after respelling %q; want www.example.COM", got)
	}
}

func TestDomainHTTPSCertificatesAndAuth(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)
	proxy := runningProxy(t, api)
	listenerCert := createCert(t, c, 2, p.leafPEM, p.leafKey)
	listener := l7Listener(t, api, proxy, listenerCert, 0)

	createDomain(t, c, listener, "www.example.com")
	if d := describeDomain(t, c, listener, "www.example.com"); *d.CertificateId != "default" {
		t.Errorf("got CertificateId %q; want default (the listener's)", *d.CertificateId)
	}

	req := gaapsdk.NewCreateDomainRequest()
	req.ListenerId, req.Domain, req.CertificateId = new(listener), new("www.other.org"), new(listenerCert)
	_, err := c.CreateDomain(req)
	wantCode(t, err, "InvalidParameterValue.CertificateNotMatchDomain")

	domainCert := createCert(t, c, 2, p.leafPEM, p.leafKey)
	mc := gaapsdk.NewModifyCertificateRequest()
	mc.ListenerId, mc.Domain, mc.CertificateId = new(listener), new("www.example.com"), new(domainCert)
	if _, err := c.ModifyCertificate(mc); err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "www.example.com")

	basic := createCert(t, c, 0, "root:$apr1$x$y", "")
	gaapCert := createCert(t, c, 4, p.leafPEM, p.leafKey)
	originCA := createCert(t, c, 3, p.caPEM, "")
	auth := gaapsdk.NewSetAuthenticationRequest()
	auth.ListenerId, auth.Domain = new(listener), new("www.example.com")
	auth.BasicAuth, auth.BasicAuthConfId = new(int64(1)), new(basic)
	auth.GaapAuth, auth.GaapCertificateId = new(int64(1)), new(gaapCert)
	auth.RealServerAuth, auth.RealServerCertificateId = new(int64(1)), new(originCA)
	if _, err := c.SetAuthentication(auth); err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "www.example.com")
	d := describeDomain(t, c, listener, "www.example.com")
	if *d.CertificateId != domainCert || *d.BasicAuthConfId != basic || *d.GaapCertificateId != gaapCert ||
		*d.RealServerCertificateId != originCA || *d.BasicAuth != 1 || *d.GaapAuth != 1 || *d.RealServerAuth != 1 {
		t.Errorf("got domain certs %s/%s/%s/%s; want %s/%s/%s/%s, all switches on",
			*d.CertificateId, *d.BasicAuthConfId, *d.GaapCertificateId, *d.RealServerCertificateId, domainCert, basic, gaapCert, originCA)
	}
	if *d.BasicAuthConfAlias != "alias" {
		t.Errorf("got BasicAuthConfAlias %q; want alias", *d.BasicAuthConfAlias)
	}

	// A certificate of the wrong type is refused.
	auth.BasicAuthConfId = new(gaapCert)
	_, err = c.SetAuthentication(auth)
	wantCode(t, err, "InvalidParameterValue.InvalidCertificateId")

	// TLS versions as SetTlsVersion checks them: none, or one twice, is refused.
	// (A raw call: SDK v1.0.162 lacks the field.)
	for _, versions := range [][]string{{}, {"TLSv1.2", "TLSv1.2"}} {
		err = api.Call(c, "SetAuthentication", map[string]any{"ListenerId": listener, "Domain": "www.example.com", "TLSSupportVersion": versions}, nil)
		wantCode(t, err, "InvalidParameterValue")
	}
}

// TestHTTPSDomainTLSShowsWhatItIsServedWith checks that DescribeRules
// answers a domain's TLSCiphers and TLSSupportVersion as the values it is
// served with: those of its listener (the defaults, WIDE and
// [TLSv1.2, TLSv1.3]) until SetAuthentication sets its own, and per field,
// so a domain that sets only its ciphers keeps its listener's versions.
// An answer of "" and [] is outside the fields' enums: a client copying it
// back into SetAuthentication would be refused.
func TestHTTPSDomainTLSShowsWhatItIsServedWith(t *testing.T) {
	t.Parallel()
	api, _, listener, _ := httpsSetup(t)
	c := api.GAAP()
	createDomain(t, c, listener, "www.example.com")
	tlsOf := func() (string, []string) { // A raw call: SDK v1.0.162's DomainRuleSet lacks the fields.
		var resp struct {
			DomainRuleSet []struct {
				TLSCiphers        string
				TLSSupportVersion []string
			}
		}
		if err := api.Call(c, "DescribeRules", map[string]any{"ListenerId": listener}, &resp); err != nil || len(resp.DomainRuleSet) != 1 {
			t.Fatalf("DescribeRules: %+v, %v; want one domain", resp, err)
		}
		return resp.DomainRuleSet[0].TLSCiphers, resp.DomainRuleSet[0].TLSSupportVersion
	}
	if ciphers, versions := tlsOf(); ciphers != "GAAP_TLS_CIPHERS_WIDE" || !slices.Equal(versions, []string{"TLSv1.2", "TLSv1.3"}) {
		t.Errorf("domain TLS %s %v; want its listener's, GAAP_TLS_CIPHERS_WIDE [TLSv1.2 TLSv1.3]", ciphers, versions)
	}
	err := api.Call(c, "SetAuthentication", map[string]any{"ListenerId": listener, "Domain": "www.example.com",
		"TLSCiphers": "GAAP_TLS_CIPHERS_STRICT"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "www.example.com")
	if ciphers, versions := tlsOf(); ciphers != "GAAP_TLS_CIPHERS_STRICT" || !slices.Equal(versions, []string{"TLSv1.2", "TLSv1.3"}) {
		t.Errorf("domain TLS %s %v; want its own ciphers, its listener's versions: GAAP_TLS_CIPHERS_STRICT [TLSv1.2 TLSv1.3]", ciphers, versions)
	}
}

// TestRenameDomainChecksCertificate checks that ModifyDomain checks the
// server certificate a renamed domain keeps against the new name, as
// CreateDomain checks it: clients of the new name would fail host name
// verification.
// TestDomainCertificateByCNWithoutSAN: a server certificate with no DNS
// subjectAltName (`openssl req -x509 -subj /CN=host`) covers the host its
// subject CN names, wildcards included, as Tencent's console and OpenSSL
// read it; with subjectAltNames the CN is not read, as browsers do not read
// it. Go's VerifyHostname alone refused the CN's own host, with a message
// naming that CN as not valid for it.
func TestDomainCertificateByCNWithoutSAN(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)
	proxy := runningProxy(t, api)
	listener := l7Listener(t, api, proxy, createCert(t, c, 2, p.leafPEM, p.leafKey), 0)
	selfSigned := func(cn string, sans ...string) string {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn}, DNSNames: sans,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return createCert(t, c, 2, pemOf("CERTIFICATE", der), keyPEM(t, key))
	}
	createDomain := func(host, cert string) error {
		req := gaapsdk.NewCreateDomainRequest()
		req.ListenerId, req.Domain, req.CertificateId = new(listener), new(host), new(cert)
		_, err := c.CreateDomain(req)
		return err
	}
	cnOnly, wildCN := selfSigned("cn-only.example.org"), selfSigned("*.wild.example.org")
	withSAN := selfSigned("cn.example.org", "san.example.org")
	for _, tc := range []struct{ host, cert string }{{"cn-only.example.org", cnOnly}, {"a.wild.example.org", wildCN}} {
		if err := createDomain(tc.host, tc.cert); err != nil {
			t.Errorf("CreateDomain %s with a certificate naming it only in its CN: %v; want it accepted", tc.host, err)
		}
	}
	for _, tc := range []struct{ host, cert, message string }{
		{"other.example.org", cnOnly, "(subject CN cn-only.example.org, no subjectAltName) is not valid"},
		{"cn.example.org", withSAN, "(subjectAltName san.example.org; its subject CN is not read beside them"},
	} {
		err := createDomain(tc.host, tc.cert)
		wantCode(t, err, "InvalidParameterValue.CertificateNotMatchDomain")
		if !strings.Contains(err.Error(), tc.message) {
			t.Errorf("CreateDomain %s: message %q; want it to say %q", tc.host, err, tc.message)
		}
	}
}

func TestRenameDomainChecksCertificate(t *testing.T) {
	t.Parallel()
	api, _, listener, cert := httpsSetup(t)
	c := api.GAAP()
	req := gaapsdk.NewCreateDomainRequest()
	req.ListenerId, req.Domain, req.CertificateId = new(listener), new("www.example.com"), new(cert)
	if _, err := c.CreateDomain(req); err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "www.example.com")

	rename := func(from, to string, certID *string) error {
		mod := gaapsdk.NewModifyDomainRequest()
		mod.ListenerId, mod.OldDomain, mod.NewDomain, mod.CertificateId = new(listener), new(from), new(to), certID
		_, err := c.ModifyDomain(mod)
		return err
	}
	wantCode(t, rename("www.example.com", "www.other.org", nil), "InvalidParameterValue.CertificateNotMatchDomain")
	if err := rename("www.example.com", "api.example.com", nil); err != nil { // *.example.com covers it
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "api.example.com")
	if err := rename("api.example.com", "www.other.org", new("default")); err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "www.other.org")
	if d := describeDomain(t, c, listener, "www.other.org"); *d.CertificateId != "default" {
		t.Errorf("got CertificateId %s; want default", *d.CertificateId)
	}
}

// TestDomainHTTP3NeedsListenerHTTP3 checks that a domain asks for HTTP/3
// only on an HTTPS listener created with it: the listener's flag opens the
// UDP port and cannot change later, so elsewhere DescribeRules would show
// HTTP/3 on that no client could ever use.
func TestDomainHTTP3NeedsListenerHTTP3(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)
	cert := createCert(t, c, 2, p.leafPEM, p.leafKey)
	proxy := runningProxy(t, api)
	var h3 struct{ ListenerId string }
	err := api.Call(c, "CreateHTTPSListener", map[string]any{"ProxyId": proxy, "ListenerName": "h3", "Port": nextPort.Add(1),
		"CertificateId": cert, "ForwardProtocol": "HTTP", "AuthType": 0, "Http3Supported": 1}, &h3)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { pace(); return listenerStatus(t, c, h3.ListenerId, true) == 0 }, "listener not running")

	for _, tc := range []struct{ name, listener, code string }{
		{"HTTP", l7Listener(t, api, proxy, "", 0), "InvalidParameterValue"},
		{"HTTPS without HTTP/3", l7Listener(t, api, proxy, cert, 0), "InvalidParameterValue"},
		{"HTTPS with HTTP/3", h3.ListenerId, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := api.Call(c, "CreateDomain", map[string]any{"ListenerId": tc.listener, "Domain": "www.example.com", "Http3Supported": 1}, nil)
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				DomainRuleSet []struct{ Http3Supported int64 }
			}
			if err := api.Call(c, "DescribeRules", map[string]any{"ListenerId": tc.listener}, &out); err != nil {
				t.Fatal(err)
			}
			if len(out.DomainRuleSet) != 1 || out.DomainRuleSet[0].Http3Supported != 1 {
				t.Errorf("got %+v; want one domain with Http3Supported 1", out.DomainRuleSet)
			}
		})
	}
	err = api.Call(c, "CreateDomain", map[string]any{"ListenerId": h3.ListenerId, "Domain": "a.example.com", "Http3Supported": 2}, nil)
	wantCode(t, err, "InvalidParameterValue")
}

// TestRenameDomainMovesCheckDomain checks that a rename moves the health
// check domain of the rules that checked the old name (the default), and
// only theirs: ModifyRuleAttribute cannot change it afterwards.
func TestRenameDomainMovesCheckDomain(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	byDefault := createRule(t, c, listener, "www.example.com", "/")
	req := ruleRequest(listener, "www.example.com", "/own")
	req.CheckParams = &gaapsdk.RuleCheckParams{DelayLoop: new(uint64(5)), ConnectTimeout: new(uint64(2)), Path: new("/"),
		Method: new("HEAD"), StatusCode: []*uint64{new(uint64(200))}, Domain: new("health.example.com")}
	resp, err := c.CreateRule(req)
	if err != nil {
		t.Fatal(err)
	}
	own := *resp.Response.RuleId
	waitRule(t, c, own)

	mod := gaapsdk.NewModifyDomainRequest()
	mod.ListenerId, mod.OldDomain, mod.NewDomain = new(listener), new("www.example.com"), new("api.example.com")
	if _, err := c.ModifyDomain(mod); err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "api.example.com")
	for id, want := range map[string]string{byDefault: "api.example.com", own: "health.example.com"} {
		if r := describeRule(t, c, id); *r.Domain != "api.example.com" || *r.CheckParams.Domain != want {
			t.Errorf("rule %s: got domain %s, check domain %s; want api.example.com, %s", id, *r.Domain, *r.CheckParams.Domain, want)
		}
	}
}

// TestL7ActionsOnWrongListener checks the code of a domain or rule action
// given a TCP listener, or ModifyCertificate an HTTP one: the actions
// that document FailedOperation.InvalidListenerProtocol return it, the
// others InvalidParameterValue, a code every one of them lists.
func TestL7ActionsOnWrongListener(t *testing.T) {
	t.Parallel()
	api, proxy, http := httpDomain(t, "www.example.com")
	c := api.GAAP()
	tcp := createTCP(t, c, tcpRequest(proxy, 9100))[0]
	const protocol = "FailedOperation.InvalidListenerProtocol"
	domain := map[string]any{"ListenerId": tcp, "Domain": "www.example.com"}
	with := func(extra map[string]any) map[string]any {
		out := maps.Clone(domain)
		maps.Copy(out, extra)
		return out
	}
	for _, tc := range []struct {
		action string
		params map[string]any
		code   string
	}{
		{"CreateDomain", domain, protocol},
		{"ModifyDomain", map[string]any{"ListenerId": tcp, "OldDomain": "www.example.com", "NewDomain": "a.example.com"}, protocol},
		{"CreateDomainErrorPageInfo", with(map[string]any{"ErrorNos": []int{502}, "Body": "sorry"}), protocol},
		{"CreateRule", with(map[string]any{"Path": "/", "RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0}), "InvalidParameterValue"},
		{"DescribeRules", map[string]any{"ListenerId": tcp}, "InvalidParameterValue"},
		{"DeleteDomain", with(map[string]any{"Force": 0}), "InvalidParameterValue"},
		{"ModifyCertificate", with(map[string]any{"CertificateId": "default"}), "InvalidParameterValue"},
		{"SetAuthentication", domain, "InvalidParameterValue"},
		{"DescribeDomainErrorPageInfo", domain, "InvalidParameterValue"},
		{"ModifyCertificate", map[string]any{"ListenerId": http, "Domain": "www.example.com", "CertificateId": "default"}, "InvalidParameterValue"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			err := api.Call(c, tc.action, tc.params, nil)
			wantDocumented(t, tc.action, err)
			wantCode(t, err, tc.code)
		})
	}
}

// TestDomainChangesBackToBack checks that a domain still applying a change
// (DomainStatus 1) accepts further ones, as Tencent Cloud does: Terraform's
// provider calls SetAuthentication right after CreateDomain, ModifyDomain,
// ModifyCertificate and SetAuthentication back to back in one update, and
// CreateDomainErrorPageInfo right after its domain is listed, never waiting
// for the domain to settle nor retrying DomainStatusNotInRunning. The
// controller is held so that every change lands while the earlier ones are
// pending; released, it applies the latest state and the domain settles to
// 0. Only a domain being deleted refuses changes.
func TestDomainChangesBackToBack(t *testing.T) {
	t.Parallel()
	api, p, listener, _ := httpsSetup(t)
	c := api.GAAP()
	domainCert := createCert(t, c, 2, p.leafPEM, p.leafKey)
	basic := createCert(t, c, 0, "root:$apr1$x$y", "")
	createDomain(t, c, listener, "gone.example.com")

	release := sync.OnceFunc(api.Controller.Hold())
	defer release() // a held controller would block the node's Close

	cd := gaapsdk.NewCreateDomainRequest()
	cd.ListenerId, cd.Domain = new(listener), new("www.example.com")
	if _, err := c.CreateDomain(cd); err != nil {
		t.Fatal(err)
	}
	auth := gaapsdk.NewSetAuthenticationRequest()
	auth.ListenerId, auth.Domain = new(listener), new("www.example.com")
	auth.BasicAuth, auth.BasicAuthConfId = new(int64(1)), new(basic)
	if _, err := c.SetAuthentication(auth); err != nil {
		t.Fatalf("SetAuthentication right after CreateDomain: %v", err)
	}
	rename := gaapsdk.NewModifyDomainRequest()
	rename.ListenerId, rename.OldDomain, rename.NewDomain = new(listener), new("www.example.com"), new("api.example.com")
	if _, err := c.ModifyDomain(rename); err != nil {
		t.Fatalf("ModifyDomain while the domain is changing: %v", err)
	}
	mc := gaapsdk.NewModifyCertificateRequest()
	mc.ListenerId, mc.Domain, mc.CertificateId = new(listener), new("api.example.com"), new(domainCert)
	if _, err := c.ModifyCertificate(mc); err != nil {
		t.Fatalf("ModifyCertificate right after ModifyDomain: %v", err)
	}
	page := gaapsdk.NewCreateDomainErrorPageInfoRequest()
	page.ListenerId, page.Domain, page.Body, page.ErrorNos = new(listener), new("api.example.com"), new("oops"), []*int64{new(int64(502))}
	if _, err := c.CreateDomainErrorPageInfo(page); err != nil {
		t.Fatalf("CreateDomainErrorPageInfo while the domain is changing: %v", err)
	}
	if d := describeDomain(t, c, listener, "api.example.com"); d == nil || *d.DomainStatus != 1 {
		t.Fatalf("got %+v; want api.example.com still changing (status 1) while the controller is held", d)
	}

	// A domain being deleted refuses changes.
	del := gaapsdk.NewDeleteDomainRequest()
	del.ListenerId, del.Domain, del.Force = new(listener), new("gone.example.com"), new(uint64(0))
	if _, err := c.DeleteDomain(del); err != nil {
		t.Fatal(err)
	}
	auth.Domain = new("gone.example.com")
	_, err := c.SetAuthentication(auth)
	wantCode(t, err, "FailedOperation")
	_, err = c.CreateRule(ruleRequest(listener, "gone.example.com", "/"))
	wantCode(t, err, "FailedOperation")

	release()
	waitDomain(t, c, listener, "api.example.com")
	d := describeDomain(t, c, listener, "api.example.com")
	if *d.CertificateId != domainCert || *d.BasicAuth != 1 || *d.BasicAuthConfId != basic {
		t.Errorf("got certificate %s, basic auth %d (%s); want %s, 1 (%s): the latest changes",
			*d.CertificateId, *d.BasicAuth, *d.BasicAuthConfId, domainCert, basic)
	}
	if describeDomain(t, c, listener, "www.example.com") != nil {
		t.Error("www.example.com is still listed after its rename")
	}
	list := gaapsdk.NewDescribeDomainErrorPageInfoRequest()
	list.ListenerId, list.Domain = new(listener), new("api.example.com")
	resp, err := c.DescribeDomainErrorPageInfo(list)
	if err != nil || len(resp.Response.ErrorPageSet) != 1 {
		t.Errorf("error pages of api.example.com: %v, %v; want the one created", resp, err)
	}
	eventually(t, func() bool { pace(); return describeDomain(t, c, listener, "gone.example.com") == nil }, "gone.example.com not deleted")
}

// TestWrongCertificateTypeCodeIsListed: a certificate of the wrong
// type (a client CA, type 1, where a server certificate is expected) or an
// unknown certificate ID is refused with a code the action's own error
// list documents. CreateDomain, ModifyDomain, ModifyCertificate and
// ModifyHTTPSListenerAttribute do not list
// InvalidParameterValue.InvalidCertificateId (CreateHTTPSListener and
// SetAuthentication do, and keep it); clients branch on the documented
// codes, so those four answer InvalidParameterValue.
func TestWrongCertificateTypeCodeIsListed(t *testing.T) {
	t.Parallel()
	api, p, listener, _ := httpsSetup(t)
	c := api.GAAP()
	createDomain(t, c, listener, "www.example.com")
	ca := createCert(t, c, 1, p.caPEM, "")

	for _, id := range []string{ca, "cert-00000000"} {
		for _, tc := range []struct {
			action string
			params map[string]any
		}{
			{"CreateDomain", map[string]any{"ListenerId": listener, "Domain": "new.example.com", "CertificateId": id}},
			{"ModifyDomain", map[string]any{"ListenerId": listener, "OldDomain": "www.example.com", "NewDomain": "www.example.com", "CertificateId": id}},
			{"ModifyCertificate", map[string]any{"ListenerId": listener, "Domain": "www.example.com", "CertificateId": id}},
			{"ModifyHTTPSListenerAttribute", map[string]any{"ListenerId": listener, "CertificateId": id}},
		} {
			err := api.Call(c, tc.action, tc.params, nil)
			var e *sdkerrors.TencentCloudSDKError
			if !errors.As(err, &e) {
				t.Errorf("%s with CertificateId %s: got %v; want a refusal", tc.action, id, err)
				continue
			}
			if e.Code != "InvalidParameterValue" || !slices.Contains(gaapapi.Actions[tc.action].Errors, apierr.Code(e.Code)) {
				t.Errorf("%s with CertificateId %s (wrong type or unknown): got code %s; want InvalidParameterValue, which the action's error list documents",
					tc.action, id, e.Code)
			}
		}
	}
}

// TestDeletingDomainRefusesWithListedCode: a domain being deleted
// (DomainStatus 2) refuses changes with
// FailedOperation.DomainStatusNotInRunning where the action's error list
// names it (ModifyDomain), else FailedOperation (CreateRule,
// SetAuthentication, CreateDomainErrorPageInfo): clients branch on the
// documented codes (docs/api-l7.md).
func TestDeletingDomainRefusesWithListedCode(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "gone.example.com")
	c := api.GAAP()
	release := sync.OnceFunc(api.Controller.Hold())
	defer release() // keep the domain in status 2 while it is asked
	del := gaapsdk.NewDeleteDomainRequest()
	del.ListenerId, del.Domain, del.Force = new(listener), new("gone.example.com"), new(uint64(0))
	if _, err := c.DeleteDomain(del); err != nil {
		t.Fatal(err)
	}

	_, err := c.CreateRule(ruleRequest(listener, "gone.example.com", "/"))
	wantDocumented(t, "CreateRule", err)
	wantCode(t, err, "FailedOperation")

	auth := gaapsdk.NewSetAuthenticationRequest()
	auth.ListenerId, auth.Domain = new(listener), new("gone.example.com")
	_, err = c.SetAuthentication(auth)
	wantDocumented(t, "SetAuthentication", err)
	wantCode(t, err, "FailedOperation")

	page := gaapsdk.NewCreateDomainErrorPageInfoRequest()
	page.ListenerId, page.Domain, page.Body, page.ErrorNos = new(listener), new("gone.example.com"), new("oops"), []*int64{new(int64(502))}
	_, err = c.CreateDomainErrorPageInfo(page)
	wantDocumented(t, "CreateDomainErrorPageInfo", err)
	wantCode(t, err, "FailedOperation")

	mod := gaapsdk.NewModifyDomainRequest()
	mod.ListenerId, mod.OldDomain, mod.NewDomain = new(listener), new("gone.example.com"), new("back.example.com")
	_, err = c.ModifyDomain(mod)
	wantDocumented(t, "ModifyDomain", err)
	wantCode(t, err, "FailedOperation.DomainStatusNotInRunning")
}
