package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestTLSVersionListServedExactly: SetTlsVersion ["TLSv1", "TLSv1.2"]
// serves those two versions and not TLS 1.1, which lies between them but
// was left out (nor TLS 1.3); a client offering every version gets the
// highest listed.
func TestTLSVersionListServedExactly(t *testing.T) {
	n := startL7Node(t)
	proxy, ip := n.proxy()
	ca := newTestCA(t, "tls CA")
	c1, k1 := ca.leaf(t, "srv", "www.e2e.test")
	cert := n.cert(2, c1, k1)
	l, port := n.churnHTTPSListener(proxy, ip, cert)
	a := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(a.Addr())
	n.domain(l, "www.e2e.test", "", "")
	n.rule(l, "www.e2e.test", "/", nil, map[string]netip.AddrPort{ids[0]: a})
	if err := n.Call(n.c, "SetTlsVersion", map[string]any{"ListenerId": l, "TLSSupportVersion": []string{"TLSv1", "TLSv1.2"},
		"TLSCiphers": "GAAP_TLS_CIPHERS_WIDE"}, nil); err != nil {
		t.Fatal(err)
	}
	n.waitListener(l)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(ca.pem))
	dial := func(lo, hi uint16) (uint16, error) {
		cfg := &tls.Config{RootCAs: roots, ServerName: "www.e2e.test", MinVersion: lo, MaxVersion: hi,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", netip.AddrPortFrom(ip, uint16(port)).String(), cfg)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.ConnectionState().Version, nil
	}
	for _, c := range []struct {
		name   string
		lo, hi uint16
		want   uint16 // 0: refused.
	}{
		{"TLS 1.0 (listed)", tls.VersionTLS10, tls.VersionTLS10, tls.VersionTLS10},
		{"TLS 1.2 (listed)", tls.VersionTLS12, tls.VersionTLS12, tls.VersionTLS12},
		{"TLS 1.1 (not listed)", tls.VersionTLS11, tls.VersionTLS11, 0},
		{"TLS 1.3 (not listed)", tls.VersionTLS13, tls.VersionTLS13, 0},
		{"TLS 1.0-1.3", tls.VersionTLS10, tls.VersionTLS13, tls.VersionTLS12},
		{"TLS 1.0-1.1", tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS10},
	} {
		got, err := dial(c.lo, c.hi)
		if got != c.want {
			t.Errorf("%s: negotiated %s (error %v); want %s", c.name, tls.VersionName(got), err, tls.VersionName(c.want))
		}
	}
	var d struct {
		ListenerSet []struct{ TLSSupportVersion []string }
	}
	if err := n.Call(n.c, "DescribeHTTPSListeners", map[string]any{"ListenerId": l}, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.ListenerSet) != 1 || !slices.Equal(d.ListenerSet[0].TLSSupportVersion, []string{"TLSv1", "TLSv1.2"}) {
		t.Errorf("DescribeHTTPSListeners: %+v; want TLSSupportVersion [TLSv1 TLSv1.2]", d.ListenerSet)
	}
}
