package server_test

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
)

// TestHTTPSAuthVersionsFailoverStatistics covers, through the SDK with
// real origins, what TestHTTPListenerCarriesRequests and
// TestHTTPSListenerSNIAndMutualTLS leave out: basic auth, an origin over
// HTTPS with verification on (right and wrong CA) and off, TLS version
// refusal, health-check failover on a rule, the proxy's HttpsQPS, and a
// default domain (IsDefaultServer) taking unknown hosts.
func TestHTTPSAuthVersionsFailoverStatistics(t *testing.T) {
	// Statistics every 300 ms, so that HttpsQPS shows within the test.
	n := startNode(t, func(o *server.Options) { o.NoRateLimits = true })
	proxy, ip := n.proxy()
	a := echoOrigin(t, l7Origins, "a")
	serverCA, otherCA := newTestCA(t, "e2e server CA"), newTestCA(t, "e2e other CA")
	s := secureOrigin(t, serverCA, "origin.e2e.test")
	dead := netip.AddrPortFrom(l7Origins.Next(), 9) // Nothing listens.
	ids := n.realServers(a.Addr(), s.Addr(), dead.Addr())

	hosts := []string{"www.e2e.test", "verified.e2e.test", "wrongca.e2e.test", "unverified.e2e.test"}
	lc, lk := serverCA.leaf(t, "listener", hosts...)
	port := edgetest.FreePort(t, ip)
	req := gaapsdk.NewCreateHTTPSListenerRequest()
	req.ProxyId, req.ListenerName, req.Port = new(proxy), new("https"), new(uint64(port))
	req.CertificateId, req.ForwardProtocol, req.AuthType = new(n.cert(2, lc, lk)), new("HTTP"), new(uint64(0))
	resp, err := n.c.CreateHTTPSListener(req)
	if err != nil {
		t.Fatal(err)
	}
	listener := *resp.Response.ListenerId
	n.waitListener(listener)
	for _, h := range hosts {
		n.domain(listener, h, "", "")
	}
	toSecure := map[string]any{"ForwardProtocol": "HTTPS", "ServerNameIndicationSwitch": "ON", "ServerNameIndication": "origin.e2e.test"}
	n.rule(listener, "www.e2e.test", "/", nil, map[string]netip.AddrPort{ids[0]: a})
	for _, h := range hosts[1:] {
		n.rule(listener, h, "/", toSecure, map[string]netip.AddrPort{ids[1]: s})
	}
	check := map[string]any{"HealthCheck": 1, "CheckParams": map[string]any{"DelayLoop": 5, "ConnectTimeout": 2, "Path": "/",
		"Method": "GET", "StatusCode": []int{100, 200, 300, 400, 500}, "FailedThreshold": 1}}
	hc := n.rule(listener, "www.e2e.test", "/hc", check, map[string]netip.AddrPort{ids[0]: a, ids[2]: dead})

	auth := func(host string, params map[string]any) {
		t.Helper()
		params["ListenerId"], params["Domain"] = listener, host
		if err := n.Call(n.c, "SetAuthentication", params, nil); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha1.Sum([]byte("secret"))
	auth("www.e2e.test", map[string]any{"BasicAuth": 1, "BasicAuthConfId": n.cert(0, "e2e:{SHA}"+base64.StdEncoding.EncodeToString(sum[:]), "")})
	auth("verified.e2e.test", map[string]any{"RealServerAuth": 1, "RealServerCertificateId": n.cert(3, serverCA.pem, "")})
	auth("wrongca.e2e.test", map[string]any{"RealServerAuth": 1, "RealServerCertificateId": n.cert(3, otherCA.pem, "")})

	addr := netip.AddrPortFrom(ip, uint16(port))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(serverCA.pem))
	c := pinnedClient(addr, &tls.Config{RootCAs: roots})
	basic := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("e2e:secret"))}
	n.until("basic auth applied", func() bool {
		resp, _ := request(t, c, "https://www.e2e.test", "www.e2e.test", "/", nil)
		return resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != ""
	})
	if resp, body := request(t, c, "https://www.e2e.test", "www.e2e.test", "/", basic); resp.StatusCode != 200 || parse(t, body).Name != "a" {
		t.Errorf("with the user's password: got %d %s; want 200 from a", resp.StatusCode, body)
	}
	for host, want := range map[string]int{"verified.e2e.test": 200, "unverified.e2e.test": 200, "wrongca.e2e.test": 502} {
		n.until(host+" answering "+http.StatusText(want), func() bool {
			resp, body := request(t, c, "https://"+host, host, "/", nil)
			return resp.StatusCode == want && (want != 200 || parse(t, body).Name == "secure")
		})
	}

	// Health checks on the rule mark the dead origin abnormal (DelayLoop
	// 5 s, FailedThreshold 1) and requests keep reaching a.
	n.until("dead origin abnormal on the rule", func() bool {
		d := gaapsdk.NewDescribeRulesByRuleIdsRequest()
		d.RuleIds = []*string{new(hc)}
		r, err := n.c.DescribeRulesByRuleIds(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range r.Response.RuleSet[0].RealServerSet {
			if *rs.RealServerId == ids[2] {
				return *rs.RealServerStatus == 1
			}
		}
		return false
	})
	for range 4 {
		if resp, body := request(t, c, "https://www.e2e.test", "www.e2e.test", "/hc", basic); resp.StatusCode != 200 || parse(t, body).Name != "a" {
			t.Fatalf("after failover: got %d %s; want 200 from a", resp.StatusCode, body)
		}
	}

	// HttpsQPS of the proxy is non-zero while requests flow.
	n.until("HttpsQPS recorded", func() bool {
		for range 20 {
			request(t, c, "https://www.e2e.test", "www.e2e.test", "/", basic)
		}
		now := time.Now().In(time.FixedZone("UTC+8", 8*3600)) // The API's times are Beijing time.
		var r struct {
			StatisticsData []struct {
				MetricName string
				MetricData []struct{ Data float64 }
			}
		}
		if err := n.Call(n.c, "DescribeProxyStatistics", map[string]any{"ProxyId": proxy, "MetricNames": []string{"HttpsQPS"},
			"StartTime": now.Add(-5 * time.Minute).Format(time.DateTime), "EndTime": now.Format(time.DateTime), "Granularity": 60}, &r); err != nil {
			t.Fatal(err)
		}
		for _, m := range r.StatisticsData {
			for _, p := range m.MetricData {
				if m.MetricName == "HttpsQPS" && p.Data > 0 {
					return true
				}
			}
		}
		return false
	})

	// The proxy's own HTTP counters at /metrics: answers by class, 401s
	// among them.
	metrics := httpGet(t, "http://"+n.Addr+"/metrics")
	for _, m := range []string{"opengaap_http_responses_2xx_total", "opengaap_http_responses_4xx_total", "opengaap_http_requests_total"} {
		if !regexp.MustCompile(m + `\{id="` + proxy + `",kind="proxy"\} [1-9]`).MatchString(metrics) {
			t.Errorf("/metrics lacks %s for proxy %s", m, proxy)
		}
	}

	// A domain made the default server takes the hosts no domain names
	// (its own TLS settings, so its connection is made for it: no SNI).
	if err := n.Call(n.c, "ModifyDomain", map[string]any{"ListenerId": listener, "OldDomain": "unverified.e2e.test",
		"NewDomain": "unverified.e2e.test", "IsDefaultServer": true}, nil); err != nil {
		t.Fatal(err)
	}
	anyHost := pinnedClient(addr, &tls.Config{RootCAs: roots, ServerName: "unverified.e2e.test"})
	n.until("unknown host served by the default domain", func() bool {
		resp, body := request(t, anyHost, "https://unverified.e2e.test", "unknown.test", "/", nil)
		return resp.StatusCode == 200 && parse(t, body).Name == "secure"
	})

	// TLS 1.3 only: a TLS 1.2 client, served until then, is refused at
	// the handshake for its version.
	tls12 := func() error {
		cn, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: roots, ServerName: "www.e2e.test", MaxVersion: tls.VersionTLS12})
		if err == nil {
			cn.Close()
		}
		return err
	}
	if err := tls12(); err != nil {
		t.Fatalf("TLS 1.2 client before SetTlsVersion: %v", err)
	}
	if err := n.Call(n.c, "SetTlsVersion", map[string]any{"ListenerId": listener, "TLSSupportVersion": []string{"TLSv1.3"},
		"TLSCiphers": "GAAP_TLS_CIPHERS_STRICT"}, nil); err != nil {
		t.Fatal(err)
	}
	n.until("TLS 1.2 refused", func() bool {
		err := tls12()
		return err != nil && strings.Contains(err.Error(), "protocol version")
	})
	if resp, _ := request(t, c, "https://www.e2e.test", "www.e2e.test", "/", basic); resp.StatusCode != 200 || resp.TLS.Version != tls.VersionTLS13 {
		t.Errorf("TLS 1.3 client: got %d over %x; want 200 over TLS 1.3", resp.StatusCode, resp.TLS.Version)
	}
}

// TestForcedRedirectBeforeBasicAuth checks that a plain-HTTP request to a
// ForcedRedirect rule on a domain with basic auth is redirected without
// credentials, not asked for them (which browsers would send in clear).
func TestForcedRedirectBeforeBasicAuth(t *testing.T) {
	s := startSite(t, "/login", map[string]any{"ForcedRedirect": "https:"})
	sum := sha1.Sum([]byte("secret"))
	if err := s.Call(s.c, "SetAuthentication", map[string]any{"ListenerId": s.listener, "Domain": "www.e2e.test",
		"BasicAuth": 1, "BasicAuthConfId": s.cert(0, "e2e:{SHA}"+base64.StdEncoding.EncodeToString(sum[:]), "")}, nil); err != nil {
		t.Fatal(err)
	}
	s.until("auth applied (401 outside the rule)", func() bool {
		resp, _ := request(t, s.client, s.base, "www.e2e.test", "/other", nil)
		return resp.StatusCode == http.StatusUnauthorized
	})
	resp, _ := request(t, s.client, s.base, "www.e2e.test", "/login?q=1", nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "https://www.e2e.test/login?q=1" {
		t.Errorf("plain HTTP without credentials: got %d %q (WWW-Authenticate %q); want 301 to https://www.e2e.test/login?q=1",
			resp.StatusCode, loc, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestRealServerAuthFailureReadsAbnormal: a rule forwards HTTPS with
// RealServerAuth on (SetAuthentication, CA "other") to an origin whose
// certificate another CA signed. Every request is a 502, and the rule's
// health checks (DelayLoop 5, FailedThreshold 1), which verify the origin
// as requests do, report it abnormal (RealServerStatus 1).
func TestRealServerAuthFailureReadsAbnormal(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy()
	serverCA, otherCA := newTestCA(t, "review server CA"), newTestCA(t, "review other CA")
	s := secureOrigin(t, serverCA, "origin.review.test")
	ids := n.realServers(s.Addr())
	listener, port := n.httpListener(proxy, ip)
	host := "rsa.review.test"
	n.domain(listener, host, "", "")
	rule := n.rule(listener, host, "/", map[string]any{"ForwardProtocol": "HTTPS", "ServerNameIndicationSwitch": "ON",
		"ServerNameIndication": "origin.review.test", "HealthCheck": 1, "CheckParams": map[string]any{"DelayLoop": 5,
			"ConnectTimeout": 2, "Path": "/", "Method": "GET", "StatusCode": []int{200, 300}, "FailedThreshold": 1}},
		map[string]netip.AddrPort{ids[0]: s})
	c := &http.Client{Timeout: 5 * time.Second}
	base := "http://" + netip.AddrPortFrom(ip, uint16(port)).String()
	// Control: without RealServerAuth the origin is not verified and serves,
	// so the 502s below are the verification's.
	n.until("requests served before origin verification", func() bool {
		resp, _ := request(t, c, base, host, "/", nil)
		return resp.StatusCode == http.StatusOK
	})
	if err := n.Call(n.c, "SetAuthentication", map[string]any{"ListenerId": listener, "Domain": host,
		"RealServerAuth": 1, "RealServerCertificateId": n.cert(3, otherCA.pem, "")}, nil); err != nil {
		t.Fatal(err)
	}
	n.until("requests refused by origin verification", func() bool {
		resp, _ := request(t, c, base, host, "/", nil)
		return resp.StatusCode == http.StatusBadGateway
	})
	deadline := time.Now().Add(12 * time.Second) // Over two DelayLoops with FailedThreshold 1.
	for n.ruleOriginStatus(rule, ids[0]) != 1 {
		if time.Now().After(deadline) {
			resp, _ := request(t, c, base, host, "/", nil)
			t.Fatalf("origin every request to which fails verification (now %d) still reads RealServerStatus %d (normal) after 12 s",
				resp.StatusCode, n.ruleOriginStatus(rule, ids[0]))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// secureOrigin starts an HTTPS origin on an l7Origins address with a
// certificate for host that ca signed; it answers {"name": "secure",
// "host": the request's Host}.
func secureOrigin(t *testing.T, ca *testCA, host string) netip.AddrPort {
	t.Helper()
	cert, key := ca.leaf(t, "origin", host)
	pair, err := tls.X509KeyPair([]byte(cert), []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"name": "secure", "host": r.Host})
	}))
	srv.Listener.Close()
	if srv.Listener, err = net.Listen("tcp", netip.AddrPortFrom(l7Origins.Next(), 0).String()); err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return netip.MustParseAddrPort(srv.Listener.Addr().String())
}

// TestRuleSNIBeforeDeprecatedCertificateDomain: SetAuthentication's
// RealServerCertificateDomain is deprecated in favour of the rule's SNI
// ("该字段已废弃，请使用创建规则和修改规则中的SNI功能"). A stale value naming
// another host once took precedence over the SNI in verifying the origin
// and failed every request of the domain with 502; a value that is no host
// name was stored unchecked.
func TestRuleSNIBeforeDeprecatedCertificateDomain(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy()
	ca := newTestCA(t, "origin CA")
	s := secureOrigin(t, ca, "origin.example.test")
	ids := n.realServers(s.Addr())
	listener, port := n.httpListener(proxy, ip)
	const host = "old.example.test"
	sni := map[string]any{"ForwardProtocol": "HTTPS", "ServerNameIndicationSwitch": "ON", "ServerNameIndication": "origin.example.test"}
	n.domain(listener, host, "", "")
	n.rule(listener, host, "/", sni, map[string]netip.AddrPort{ids[0]: s})
	caID := n.cert(3, ca.pem, "")
	auth := func(name string) error {
		return n.Call(n.c, "SetAuthentication", map[string]any{"ListenerId": listener, "Domain": host,
			"RealServerAuth": 1, "RealServerCertificateId": caID, "RealServerCertificateDomain": name}, nil)
	}
	for _, junk := range []string{"not a host/at all", "*.example.test"} {
		wantCode(t, "RealServerCertificateDomain "+junk, auth(junk), "InvalidParameterValue")
	}
	if err := auth("legacy.example.test"); err != nil {
		t.Fatal(err)
	}
	n.waitDomain(listener, host)
	c := &http.Client{Timeout: 5 * time.Second}
	base := "http://" + netip.AddrPortFrom(ip, uint16(port)).String()
	n.until("the rule's SNI verified, not the stale name", func() bool {
		resp, _ := request(t, c, base, host, "/", nil)
		return resp.StatusCode == http.StatusOK
	})
}
