package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// h3PinnedClient speaks HTTP/3 to addr (UDP) whatever the URL says.
func h3PinnedClient(t *testing.T, addr netip.AddrPort, tlsCfg *tls.Config) *http.Client {
	tr := &http3.Transport{TLSClientConfig: tlsCfg, QUICConfig: &quic.Config{HandshakeIdleTimeout: 2 * time.Second},
		Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, addr.String(), tc, qc)
		}}
	t.Cleanup(func() { tr.Close() })
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// h3Domain creates host on listener with Http3Supported 1 (a raw call:
// SDK v1.0.162 lacks the field) and waits until it runs.
func (n *node) h3Domain(listener, host string) {
	n.t.Helper()
	err := n.Call(n.c, "CreateDomain", map[string]any{"ListenerId": listener, "Domain": host, "Http3Supported": 1}, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	n.waitDomain(listener, host)
}

// h3Listener creates an HTTPS listener with Http3Supported on proxy (at
// ip), with a certificate of ca for hosts, and waits until it runs; it
// returns the listener and its port.
func (n *node) h3Listener(proxy string, ip netip.Addr, ca *testCA, hosts ...string) (string, int) {
	n.t.Helper()
	lc, lk := ca.leaf(n.t, "h3-cert", hosts...)
	port := edgetest.FreePort(n.t, ip)
	var resp struct{ ListenerId string }
	err := n.Call(n.c, "CreateHTTPSListener", map[string]any{"ProxyId": proxy, "ListenerName": "h3", "Port": port,
		"CertificateId": n.cert(2, lc, lk), "ForwardProtocol": "HTTP", "AuthType": 0, "Http3Supported": 1}, &resp)
	if err != nil {
		n.t.Fatal(err)
	}
	n.waitListener(resp.ListenerId)
	return resp.ListenerId, port
}

// TestHTTPSListenerHTTP3 creates an HTTPS listener and a domain with
// Http3Supported through the API (raw calls: SDK v1.0.162 lacks the field)
// and fetches over HTTP/3 and over HTTP/2, which advertises HTTP/3 with
// Alt-Svc.
func TestHTTPSListenerHTTP3(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy() // IPv4 proxies support HTTP/3, as at Tencent.
	a := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(a.Addr())
	ca := newTestCA(t, "e2e h3 CA")
	listener, port := n.h3Listener(proxy, ip, ca, "h3.e2e.test")
	n.h3Domain(listener, "h3.e2e.test")
	n.rule(listener, "h3.e2e.test", "/", nil, map[string]netip.AddrPort{ids[0]: a})

	addr := netip.AddrPortFrom(ip, uint16(port))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(ca.pem))
	cfg := &tls.Config{RootCAs: roots}
	r3, body := request(t, h3PinnedClient(t, addr, cfg), "https://h3.e2e.test", "h3.e2e.test", "/", nil)
	if r3.ProtoMajor != 3 || parse(t, body).Name != "a" || parse(t, body).Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("HTTP/3: got %s %s; want HTTP/3 from origin a with X-Forwarded-Proto https", r3.Proto, body)
	}
	r2, _ := request(t, pinnedClient(addr, cfg), "https://h3.e2e.test", "h3.e2e.test", "/", nil)
	if want := fmt.Sprintf(`h3=":%d"; ma=86400`, port); r2.Header.Get("Alt-Svc") != want {
		t.Errorf("%s Alt-Svc: got %q; want %q", r2.Proto, r2.Header.Get("Alt-Svc"), want)
	}

	// Deleting the listener releases the UDP port.
	del := gaapsdk.NewDeleteListenersRequest()
	del.ProxyId, del.ListenerIds, del.Force = new(proxy), []*string{new(listener)}, new(uint64(1))
	if _, err := n.c.DeleteListeners(del); err != nil {
		t.Fatal(err)
	}
	n.until("UDP port released", func() bool {
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		if err == nil {
			pc.Close()
		}
		return err == nil
	})
}

// TestDomainWithoutHTTP3 creates, on an HTTPS listener with HTTP/3, one
// domain with Http3Supported 1 and one without (CreateDomain: "默认不开启
// Http3"). Only the first is served over HTTP/3 and advertised with
// Alt-Svc: the other's QUIC handshakes are refused and its HTTP/2 answers
// carry no Alt-Svc, as DescribeRules' Http3Supported 0 says.
func TestDomainWithoutHTTP3(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy()
	a := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(a.Addr())
	ca := newTestCA(t, "e2e h3 off CA")
	listener, port := n.h3Listener(proxy, ip, ca, "on.e2e.test", "off.e2e.test")
	n.h3Domain(listener, "on.e2e.test")
	n.domain(listener, "off.e2e.test", "", "")
	for _, host := range []string{"on.e2e.test", "off.e2e.test"} {
		n.rule(listener, host, "/", nil, map[string]netip.AddrPort{ids[0]: a})
	}

	var rules struct {
		DomainRuleSet []struct {
			Domain         string
			Http3Supported int64
		}
	}
	if err := n.Call(n.c, "DescribeRules", map[string]any{"ListenerId": listener}, &rules); err != nil {
		t.Fatal(err)
	}
	for _, d := range rules.DomainRuleSet {
		if want := map[string]int64{"on.e2e.test": 1}[d.Domain]; d.Http3Supported != want {
			t.Errorf("DescribeRules: %s Http3Supported %d; want %d", d.Domain, d.Http3Supported, want)
		}
	}

	addr := netip.AddrPortFrom(ip, uint16(port))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(ca.pem))
	cfg := &tls.Config{RootCAs: roots}
	if r3, _ := request(t, h3PinnedClient(t, addr, cfg), "https://on.e2e.test", "on.e2e.test", "/", nil); r3.ProtoMajor != 3 {
		t.Errorf("on.e2e.test over HTTP/3: got %s", r3.Proto)
	}
	r2, _ := request(t, pinnedClient(addr, cfg), "https://on.e2e.test", "on.e2e.test", "/", nil)
	if want := fmt.Sprintf(`h3=":%d"; ma=86400`, port); r2.Header.Get("Alt-Svc") != want {
		t.Errorf("on.e2e.test %s Alt-Svc: got %q; want %q", r2.Proto, r2.Header.Get("Alt-Svc"), want)
	}

	req, _ := http.NewRequest(http.MethodGet, "https://off.e2e.test/", nil)
	if r, err := h3PinnedClient(t, addr, cfg).Do(req); err == nil {
		r.Body.Close()
		t.Errorf("off.e2e.test over HTTP/3: got %s %d; want the QUIC handshake refused", r.Proto, r.StatusCode)
	}
	r2, _ = request(t, pinnedClient(addr, cfg), "https://off.e2e.test", "off.e2e.test", "/", nil)
	if alt := r2.Header.Get("Alt-Svc"); alt != "" {
		t.Errorf("off.e2e.test %s answer advertises HTTP/3 (Alt-Svc %q); want none", r2.Proto, alt)
	}
}
