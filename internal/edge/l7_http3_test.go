package edge_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// h3Client speaks HTTP/3 to addr (UDP) from src, whatever the URL's host,
// trusting pool.
func h3Client(t *testing.T, src netip.Addr, addr netip.AddrPort, pool *x509.CertPool) *http.Client {
	t.Helper()
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		QUICConfig: &quic.Config{HandshakeIdleTimeout: 2 * time.Second, MaxIdleTimeout: 5 * time.Second},
		Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
			if err != nil {
				return nil, err
			}
			t.Cleanup(func() { _ = pc.Close() }) // quic.Dial leaves the socket to its owner.
			return quic.Dial(ctx, pc, net.UDPAddrFromAddrPort(addr), tc, qc)
		}}
	t.Cleanup(func() { _ = tr.Close() })
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// h3Listener is an HTTPS listener with HTTP/3 for www.test routed to o.
func h3Listener(t *testing.T, ca *testPKI, port int, o netip.AddrPort) snapshot.HTTPListener {
	cert, key := ca.leaf(t, "listener", "www.test")
	return snapshot.HTTPListener{ID: "lsr-h3", Protocol: snapshot.ProtoHTTPS, Port: port, HTTP3: true,
		TLS:     &snapshot.TLS{CertPEM: cert, KeyPEM: key},
		Domains: []snapshot.Domain{{Host: "www.test", Rules: []snapshot.Rule{rule("r-h3", "/", l7Origins(o))}}}}
}

func TestHTTP3(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca := newTestPKI(t, "server CA")
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	addr := netip.AddrPortFrom(ip, uint16(port))
	l := h3Listener(t, ca, port, a)
	mustApply(t, rt, httpProxy(1, ip, l))

	h3 := h3Client(t, lo.Next(), addr, ca.pool)
	resp, s, body := get(t, h3, "https://www.test/x", "www.test")
	if resp.ProtoMajor != 3 || s.Name != "a" || s.Path != "/x" || s.Header.Get("X-Forwarded-Proto") != "https" {
		t.Fatalf("HTTP/3: got %s origin %q path %q headers %v (%q)", resp.Proto, s.Name, s.Path, s.Header, body)
	}
	if got := resp.Header.Get("Alt-Svc"); got != "" {
		t.Errorf("HTTP/3 answer: got Alt-Svc %q; want none", got)
	}
	wantAlt := fmt.Sprintf(`h3=":%d"; ma=86400`, port)
	for _, h2 := range []bool{false, true} {
		resp, _, _ := get(t, httpsClient(addr, ca.pool, h2), "https://www.test/", "www.test")
		if got := resp.Header.Get("Alt-Svc"); got != wantAlt {
			t.Errorf("%s: got Alt-Svc %q; want %q", resp.Proto, got, wantAlt)
		}
	}
	resp, _, _ = get(t, h3, "https://www.test/status/404", "www.test") // Edge routing applies.
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HTTP/3 /status/404: got %d", resp.StatusCode)
	}

	// A change keeps the UDP socket and the client's QUIC connection: the
	// same client sees the new configuration.
	b := httpOrigin(t, "b", nil)
	l.Domains = []snapshot.Domain{{Host: "www.test", Rules: []snapshot.Rule{rule("r-h3", "/", l7Origins(b))}}} // Fresh: v1 shares the old slice.
	rep := mustApply(t, rt, httpProxy(2, ip, l))
	if st, _ := rep.Listener("lsr-h3"); st.Change != edge.ChangeUpdated {
		t.Errorf("change: got %q; want updated", st.Change)
	}
	if _, s, body := get(t, h3, "https://www.test/", "www.test"); s.Name != "b" {
		t.Errorf("after update: got origin %q (%q); want b", s.Name, body)
	}
	v := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-h3"}]
	if v.NewConns != 3 { // One QUIC connection (kept across the update), two TCP.
		t.Errorf("listener new connections: got %d; want 3", v.NewConns)
	}

	// HTTP/3 off: the UDP port is released, TCP keeps serving without Alt-Svc.
	l.HTTP3 = false
	mustApply(t, rt, httpProxy(3, ip, l))
	mustBindUDP(t, addr)
	if resp, _, _ := get(t, httpsClient(addr, ca.pool, false), "https://www.test/", "www.test"); resp.Header.Get("Alt-Svc") != "" {
		t.Errorf("HTTP/3 off: got Alt-Svc %q", resp.Header.Get("Alt-Svc"))
	}
}

// mustBindUDP checks that the UDP port at addr is free.
func mustBindUDP(t *testing.T, addr netip.AddrPort) {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatalf("UDP port still held: %v", err)
	}
	_ = pc.Close()
}

func TestHTTP3BindFailureAndRemoval(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca := newTestPKI(t, "server CA")
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	addr := netip.AddrPortFrom(ip, uint16(port))
	squatter, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	l := h3Listener(t, ca, port, a)
	rep := rt.Apply(httpProxy(1, ip, l))
	st, _ := rep.Listener("lsr-h3")
	if st.State != edge.StateFailed || !strings.Contains(st.Error, "bind UDP") {
		t.Errorf("UDP port taken: got %q %q; want failed, bind UDP", st.State, st.Error)
	}
	if resp, s, _ := get(t, httpsClient(addr, ca.pool, false), "https://www.test/", "www.test"); s.Name != "a" {
		t.Errorf("TCP side with UDP bind failed: got %d from %q; want a", resp.StatusCode, s.Name)
	}

	_ = squatter.Close() // The next Apply retries the bind.
	rep = mustApply(t, rt, httpProxy(2, ip, l))
	if st, _ := rep.Listener("lsr-h3"); st.State != edge.StateRunning {
		t.Errorf("after the port was freed: got %q %q; want running", st.State, st.Error)
	}
	if _, s, body := get(t, h3Client(t, lo.Next(), addr, ca.pool), "https://www.test/", "www.test"); s.Name != "a" {
		t.Errorf("HTTP/3 after retry: got %q", body)
	}

	// Removal frees the UDP port within the Apply: a UDP listener takes it.
	u := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("u:"))
	s3 := oneProxy(3, ip, listener("lsr-udp", snapshot.ProtoUDP, port, origins(u.Addr)))
	if rep := rt.Apply(s3); !rep.OK() {
		t.Errorf("UDP listener on the HTTP/3 port in the same Apply: %+v", rep)
	}
}

func TestHTTP3PolicyRecheck(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ca := newTestPKI(t, "server CA")
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	addr := netip.AddrPortFrom(ip, uint16(port))
	src := lo.Next()
	l := h3Listener(t, ca, port, a)
	mustApply(t, rt, httpProxy(1, ip, l))
	h3 := h3Client(t, src, addr, ca.pool)
	if _, s, body := get(t, h3, "https://www.test/", "www.test"); s.Name != "a" {
		t.Fatalf("before the policy: got %q", body)
	}

	s2 := httpProxy(2, ip, l)
	s2.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionAccept,
		Rules: []snapshot.SecurityRule{{SourceCIDR: src.String(), Protocol: snapshot.ProtoAll, DestPorts: "ALL", Action: snapshot.ActionDrop}}}
	mustApply(t, rt, s2)
	req, _ := http.NewRequest(http.MethodGet, "https://www.test/", nil)
	if resp, err := h3.Do(req); err == nil { // Old connection closed, new one refused.
		resp.Body.Close()
		t.Errorf("denied source served over HTTP/3: %s", resp.Status)
	}
	if d := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-h3"}].Denied; d < 1 {
		t.Errorf("denied: got %d; want ≥ 1", d)
	}
	if _, s, body := get(t, h3Client(t, lo.Next(), addr, ca.pool), "https://www.test/", "www.test"); s.Name != "a" {
		t.Errorf("other source after the policy: got %q", body)
	}
}
