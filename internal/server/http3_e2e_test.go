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

// TestHTTPSListenerHTTP3 creates an HTTPS listener with Http3Supported
// through the API (a raw call: SDK v1.0.162 lacks the field) and fetches
// over HTTP/3 and over HTTP/2, which advertises HTTP/3 with Alt-Svc.
func TestHTTPSListenerHTTP3(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy() // IPv4 proxies support HTTP/3, as at Tencent.
	a := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(a.Addr())
	ca := newTestCA(t, "e2e h3 CA")
	lc, lk := ca.leaf(t, "h3-cert", "h3.e2e.test")
	cert := n.cert(2, lc, lk)

	port := edgetest.FreePort(t, ip)
	var resp struct{ ListenerId string }
	err := n.Call(n.c, "CreateHTTPSListener", map[string]any{"ProxyId": proxy, "ListenerName": "h3", "Port": port,
		"CertificateId": cert, "ForwardProtocol": "HTTP", "AuthType": 0, "Http3Supported": 1}, &resp)
	if err != nil {
		t.Fatal(err)
	}
	n.waitListener(resp.ListenerId)
	n.domain(resp.ListenerId, "h3.e2e.test", "", "")
	n.rule(resp.ListenerId, "h3.e2e.test", "/", nil, map[string]netip.AddrPort{ids[0]: a})

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
	del.ProxyId, del.ListenerIds, del.Force = new(proxy), []*string{new(resp.ListenerId)}, new(uint64(1))
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
