package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/netip"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// joinGroup creates a proxy in group g, accessed from region, and waits
// until the group's members (want with it) all run; it returns their IPs.
func (n *node) joinGroup(g, region string, want int) []netip.Addr {
	n.t.Helper()
	req := gaapsdk.NewCreateProxyRequest()
	req.ProjectId, req.ProxyName, req.AccessRegion, req.GroupId = new(int64(0)), new("late"), new(region), new(g)
	req.RealServerRegion, req.Bandwidth, req.Concurrent = new("NorthChina"), new(uint64(10)), new(uint64(2))
	if _, err := n.c.CreateProxy(req); err != nil {
		n.t.Fatal(err)
	}
	_, ips := n.groupMembers(g, want)
	return ips
}

// groupHTTPSListener creates an HTTPS listener on group g's port, with
// cert and mutual TLS against the client CA clientCA, and waits until it
// runs; for every host of hosts (host → its own certificate, "" for the
// listener's) it creates the domain and a rule to origin.
func (n *node) groupHTTPSListener(g string, port int, cert, clientCA string, origin netip.AddrPort, hosts map[string]string) string {
	n.t.Helper()
	var resp struct{ ListenerId string }
	if err := n.Call(n.c, "CreateHTTPSListener", map[string]any{"GroupId": g, "ListenerName": "group-https", "Port": port,
		"CertificateId": cert, "ForwardProtocol": "HTTP", "AuthType": 1, "ClientCertificateId": clientCA}, &resp); err != nil {
		n.t.Fatal(err)
	}
	n.waitListener(resp.ListenerId)
	ids := n.realServers(origin.Addr())
	for host, hostCert := range hosts {
		n.domain(resp.ListenerId, host, hostCert, "")
		n.rule(resp.ListenerId, host, "/", nil, map[string]netip.AddrPort{ids[0]: origin})
	}
	return resp.ListenerId
}

// clientTLS trusts serverCA and presents a certificate named cn issued by
// clientCA (none if clientCA is nil).
func clientTLS(t *testing.T, serverCA, clientCA *testCA, cn string) *tls.Config {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(serverCA.pem))
	cfg := &tls.Config{RootCAs: roots}
	if clientCA != nil {
		cc, ck := clientCA.leaf(t, cn, cn)
		pair, err := tls.X509KeyPair([]byte(cc), []byte(ck))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

// peerCN does one HTTPS request for host on a new connection to addr and
// returns the CN of the certificate served and the status.
func peerCN(addr netip.AddrPort, cfg *tls.Config, host string) (string, int, error) {
	req, _ := http.NewRequest(http.MethodGet, "https://"+host+"/", nil)
	c := pinnedClient(addr, cfg)
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return "", 0, err
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].Subject.CommonName, resp.StatusCode, nil
}

// TestGroupHTTPSCertificatesReachLateMember: an HTTPS group listener with
// mutual TLS, a listener certificate and a domain's own (SNI) certificate,
// then a member that joins the group afterwards. Every member, the late
// one included, serves each host its certificate and refuses clients
// without a certificate, and follows the rotation of the listener's
// certificate (ModifyHTTPSListenerAttribute), the domain's
// (ModifyCertificate) and the client CA, refusing the old CA's clients.
func TestGroupHTTPSCertificatesReachLateMember(t *testing.T) {
	n := startL7Node(t)
	g, _, ips := n.groupOf("SouthChina")
	serverCA, clientCA := newTestCA(t, "server CA"), newTestCA(t, "client CA")
	lc, lk := serverCA.leaf(t, "listener-v1", "www.e2e.test")
	sc, sk := serverCA.leaf(t, "sni-v1", "sni.e2e.test")
	port := edgetest.FreePort(t, ips[0])
	listener := n.groupHTTPSListener(g, port, n.cert(2, lc, lk), n.cert(1, clientCA.pem, ""), echoOrigin(t, l7Origins, "a"),
		map[string]string{"www.e2e.test": "", "sni.e2e.test": n.cert(2, sc, sk)})
	members := n.joinGroup(g, "Hongkong", 2)

	withCert, noCert := clientTLS(t, serverCA, clientCA, "client"), clientTLS(t, serverCA, nil, "")
	check := func(step string, want map[string]string) {
		t.Helper()
		for _, ip := range members {
			addr := netip.AddrPortFrom(ip, uint16(port))
			for host, cn := range want {
				n.until(step+": "+addr.String()+" serving "+host+" with "+cn, func() bool {
					got, code, err := peerCN(addr, withCert, host)
					return err == nil && got == cn && code == http.StatusOK
				})
				if _, _, err := peerCN(addr, noCert, host); err == nil {
					t.Errorf("%s: %v %s: handshake without a client certificate succeeded", step, addr, host)
				}
			}
		}
	}
	check("initial", map[string]string{"www.e2e.test": "listener-v1", "sni.e2e.test": "sni-v1"})

	lc, lk = serverCA.leaf(t, "listener-v2", "www.e2e.test")
	sc, sk = serverCA.leaf(t, "sni-v2", "sni.e2e.test")
	if err := n.Call(n.c, "ModifyHTTPSListenerAttribute", map[string]any{"ListenerId": listener, "CertificateId": n.cert(2, lc, lk)}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitListener(listener)
	if err := n.Call(n.c, "ModifyCertificate", map[string]any{"ListenerId": listener, "Domain": "sni.e2e.test", "CertificateId": n.cert(2, sc, sk)}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitListener(listener)
	rotated := map[string]string{"www.e2e.test": "listener-v2", "sni.e2e.test": "sni-v2"}
	check("certificates rotated", rotated)

	clientCA2 := newTestCA(t, "client CA 2")
	if err := n.Call(n.c, "ModifyHTTPSListenerAttribute", map[string]any{"ListenerId": listener, "ClientCertificateId": n.cert(1, clientCA2.pem, "")}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitListener(listener)
	old := withCert
	withCert = clientTLS(t, serverCA, clientCA2, "client2")
	check("client CA rotated", rotated)
	for _, ip := range members {
		if _, _, err := peerCN(netip.AddrPortFrom(ip, uint16(port)), old, "www.e2e.test"); err == nil {
			t.Errorf("%v: a client of the old client CA is still accepted", ip)
		}
	}
}

// TestGroupHTTPErrorPageHeadersRedirectReachLateMember: on a group's HTTP
// listener, an error page (replacing the origin's 502, clearing and
// setting headers), custom headers and a forced redirect apply on every
// member, one that joins the group afterwards included; deleting the
// error page reaches every member.
func TestGroupHTTPErrorPageHeadersRedirectReachLateMember(t *testing.T) {
	n := startL7Node(t)
	g, _, ips := n.groupOf("SouthChina")
	o := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(o.Addr())
	port := edgetest.FreePort(t, ips[0])
	var lr struct{ ListenerId string }
	if err := n.Call(n.c, "CreateHTTPListener", map[string]any{"GroupId": g, "ListenerName": "group-http", "Port": port}, &lr); err != nil {
		t.Fatal(err)
	}
	l := lr.ListenerId
	n.waitListener(l)
	n.domain(l, "www.e2e.test", "", "")
	n.domain(l, "redir.e2e.test", "", "")
	rule := n.rule(l, "www.e2e.test", "/", nil, map[string]netip.AddrPort{ids[0]: o})
	n.rule(l, "redir.e2e.test", "/", map[string]any{"ForcedRedirect": "https://redir.e2e.test/"}, map[string]netip.AddrPort{ids[0]: o})
	if err := n.Call(n.c, "CreateCustomHeader", map[string]any{"RuleId": rule, "Headers": []map[string]string{
		{"HeaderName": "X-Static", "HeaderValue": "v1"}, {"HeaderName": "X-Client", "HeaderValue": "$remote_addr"}}}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitRule(rule)
	var page struct{ ErrorPageId string }
	if err := n.Call(n.c, "CreateDomainErrorPageInfo", map[string]any{"ListenerId": l, "Domain": "www.e2e.test",
		"ErrorNos": []int{502, 503}, "NewErrorNo": 418, "Body": "custom page", "ClearHeaders": []string{"X-Origin"},
		"SetHeaders": []map[string]string{{"HeaderName": "X-Page", "HeaderValue": "p"}}}, &page); err != nil {
		t.Fatal(err)
	}
	n.waitListener(l)
	members := n.joinGroup(g, "Hongkong", 2)

	for _, ip := range members {
		addr := netip.AddrPortFrom(ip, uint16(port))
		c, base := pinnedClient(addr, nil), "http://"+addr.String()
		var resp *http.Response
		var body string
		n.until(addr.String()+" serving the error page", func() bool {
			resp, body = request(t, c, base, "www.e2e.test", "/status/502", nil)
			return resp.StatusCode == http.StatusTeapot
		})
		if body != "custom page" || resp.Header.Get("X-Page") != "p" || resp.Header.Get("X-Origin") != "" {
			t.Errorf("%v error page: body %q, X-Page %q, X-Origin %q; want custom page, p, none", addr, body, resp.Header.Get("X-Page"), resp.Header.Get("X-Origin"))
		}
		_, body = request(t, c, base, "www.e2e.test", "/hello", nil)
		if h := parse(t, body).Header; h.Get("X-Static") != "v1" || h.Get("X-Client") != "127.0.0.1" {
			t.Errorf("%v custom headers: X-Static %q, X-Client %q; want v1, 127.0.0.1", addr, h.Get("X-Static"), h.Get("X-Client"))
		}
		resp, _ = request(t, c, base, "redir.e2e.test", "/x?y=1", nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "https://redir.e2e.test/x?y=1" {
			t.Errorf("%v forced redirect: %d to %q; want 301 to https://redir.e2e.test/x?y=1", addr, resp.StatusCode, loc)
		}
	}
	if err := n.Call(n.c, "DeleteDomainErrorPageInfo", map[string]any{"ErrorPageId": page.ErrorPageId}, nil); err != nil {
		t.Fatal(err)
	}
	for _, ip := range members {
		addr := netip.AddrPortFrom(ip, uint16(port))
		c := pinnedClient(addr, nil)
		n.until(addr.String()+" passing the origin's 502 again", func() bool {
			resp, _ := request(t, c, "http://"+addr.String(), "www.e2e.test", "/status/502", nil)
			return resp.StatusCode == http.StatusBadGateway
		})
	}
}

// TestClientCARotationEndsOldConnections: keep-alive connections made
// with a certificate of the old client CA, on every member of a group, for
// a domain inheriting the listener's client CA and for one given its own,
// are not served any more once the listener's CA
// (ModifyHTTPSListenerAttribute) and the domain's (ModifyCertificate) are
// replaced.
func TestClientCARotationEndsOldConnections(t *testing.T) {
	n := startL7Node(t)
	g, _, ips := n.groupOf("SouthChina", "Hongkong")
	serverCA, clientCA, clientCA2 := newTestCA(t, "server CA"), newTestCA(t, "client CA"), newTestCA(t, "client CA 2")
	lc, lk := serverCA.leaf(t, "listener", "www.e2e.test", "sni.e2e.test")
	ca2 := n.cert(1, clientCA2.pem, "")
	port := edgetest.FreePort(t, ips[0])
	l := n.groupHTTPSListener(g, port, n.cert(2, lc, lk), n.cert(1, clientCA.pem, ""), echoOrigin(t, l7Origins, "a"),
		map[string]string{"www.e2e.test": "", "sni.e2e.test": ""})
	old := clientTLS(t, serverCA, clientCA, "client")
	type conn struct {
		c    *http.Client
		addr netip.AddrPort
		host string
	}
	var conns []conn
	for _, ip := range ips {
		addr := netip.AddrPortFrom(ip, uint16(port))
		for _, h := range []string{"www.e2e.test", "sni.e2e.test"} {
			c := pinnedClient(addr, old)
			if resp, _ := request(t, c, "https://"+h, h, "/", nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("%v %s before the rotation: got %d; want 200", addr, h, resp.StatusCode)
			}
			conns = append(conns, conn{c, addr, h})
		}
	}
	if err := n.Call(n.c, "ModifyHTTPSListenerAttribute", map[string]any{"ListenerId": l, "ClientCertificateId": ca2}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitListener(l)
	if err := n.Call(n.c, "ModifyCertificate", map[string]any{"ListenerId": l, "Domain": "sni.e2e.test", "CertificateId": "default", "ClientCertificateId": ca2}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitListener(l)
	for _, k := range conns {
		n.until(k.addr.String()+" "+k.host+" refusing new handshakes of the old CA", func() bool {
			_, _, err := peerCN(k.addr, old, k.host)
			return err != nil
		})
	}
	for _, k := range conns {
		req, _ := http.NewRequest(http.MethodGet, "https://"+k.host+"/", nil)
		if resp, err := k.c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("%v %s: the old CA's keep-alive connection is still served (%s) after the rotation", k.addr, k.host, resp.Proto)
			}
		}
	}
}
