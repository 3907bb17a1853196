package edge_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/textproto"
	"net/url"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// h3Setup is what every HTTP/3 test starts with: a runtime with opts, a
// server CA, and a free address for the listener.
func h3Setup(t *testing.T, opts edge.Options) (*edge.Runtime, *testPKI, netip.Addr, int, netip.AddrPort) {
	t.Helper()
	rt := newRuntime(t, opts)
	ca := newTestPKI(t, "server CA")
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	return rt, ca, ip, port, netip.AddrPortFrom(ip, uint16(port))
}

func TestHTTP3(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
	l := h3Listener(t, ca, port, a)
	mustApply(t, rt, httpProxy(1, ip, l))

	h3 := h3Client(t, lo.Next(), addr, ca.pool)
	resp, s, body := get(t, h3, "https://www.test/x", "www.test")
	if resp.ProtoMajor != 3 || s.Name != "a" || s.Path != "/x" || s.Header.Get("X-Forwarded-Proto") != "https" ||
		s.Header.Get("X-Forwarded-Port") != fmt.Sprint(port) {
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

	// HTTP/3 off: the QUIC side drains (the idle connection is closed once
	// quiet) and releases the port; TCP keeps serving without Alt-Svc.
	l.HTTP3 = false
	mustApply(t, rt, httpProxy(3, ip, l))
	waitUDPFree(t, addr, 3*time.Second)
	if resp, _, _ := get(t, httpsClient(addr, ca.pool, false), "https://www.test/", "www.test"); resp.Header.Get("Alt-Svc") != "" {
		t.Errorf("HTTP/3 off: got Alt-Svc %q", resp.Header.Get("Alt-Svc"))
	}
}

// TestHTTP3PathForwardedAsSent: an HTTP/3 request's path reaches the
// origin as the client sent it, escapes included, as over HTTP/1 (Go
// would re-escape "/a%2Fb|c" as "/a/b%7Cc", another resource).
func TestHTTP3PathForwardedAsSent(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	o, heads := recordingOrigin(t)
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, o)))
	req, _ := http.NewRequest(http.MethodGet, "https://www.test/", nil)
	req.URL.Opaque = "//www.test/a%2Fb|c?q=|" // The :path as is.
	resp, err := h3Client(t, lo.Next(), addr, ca.pool).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if head := <-heads; !strings.HasPrefix(head, "GET /a%2Fb|c?q=| HTTP/1.1 |") {
		t.Errorf("the origin got %q; want the path as sent", head)
	}
}

// TestHTTP3RetriesGET: an HTTP/3 GET refused by a dead origin is retried
// on the live one, as over HTTP/1 and HTTP/2 (quic-go gives every request
// a body of unknown length; a GET's is not forwarded).
func TestHTTP3RetriesGET(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
	dead := netip.AddrPortFrom(lo.Next(), 9) // Nothing listens: connection refused.
	l := h3Listener(t, ca, port, a)
	l.Domains[0].Rules[0].Origins = l7Origins(dead, a)
	mustApply(t, rt, httpProxy(1, ip, l))
	h3 := h3Client(t, lo.Next(), addr, ca.pool)
	for i := range 6 {
		if resp, s, body := get(t, h3, "https://www.test/", "www.test"); resp.StatusCode != http.StatusOK || s.Name != "a" {
			t.Fatalf("GET %d: got %d %q; want 200 from a", i, resp.StatusCode, body)
		}
	}
}

// waitUDPFree waits up to within for the UDP port at addr to be free.
func waitUDPFree(t *testing.T, addr netip.AddrPort, within time.Duration) {
	t.Helper()
	for end := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		if err == nil {
			_ = pc.Close()
			return
		}
		if time.Now().After(end) {
			t.Fatalf("UDP port still held after %v: %v", within, err)
		}
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

// TestHTTP3BindFailureAndRemoval: a UDP port taken fails only the QUIC
// side, which is then not advertised; a later Apply retries the bind.
func TestHTTP3BindFailureAndRemoval(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
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
	// Not served, so not advertised: Alt-Svc would send clients to
	// whatever holds the port.
	if resp, s, _ := get(t, httpsClient(addr, ca.pool, false), "https://www.test/", "www.test"); s.Name != "a" || resp.Header.Get("Alt-Svc") != "" {
		t.Errorf("TCP side with UDP bind failed: got %d from %q, Alt-Svc %q; want a, none", resp.StatusCode, s.Name, resp.Header.Get("Alt-Svc"))
	}

	_ = squatter.Close() // The next Apply retries the bind.
	rep = mustApply(t, rt, httpProxy(2, ip, l))
	if st, _ := rep.Listener("lsr-h3"); st.State != edge.StateRunning {
		t.Errorf("after the port was freed: got %q %q; want running", st.State, st.Error)
	}
	if resp, _, _ := get(t, httpsClient(addr, ca.pool, false), "https://www.test/", "www.test"); resp.Header.Get("Alt-Svc") == "" {
		t.Errorf("HTTP/3 bound after the retry, yet no Alt-Svc on the TCP side")
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
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
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

// TestHTTP3DeniedCountedOnce: one refused QUIC connection attempt from a
// denied source counts one Denied, as one refused TCP connection does.
// Go's default ClientHello (an X25519MLKEM768 key share, as Chrome and
// Firefox send) spans two Initial packets, and quic-go asks the edge
// about each. Connection IDs are not empty, as browsers' are.
func TestHTTP3DeniedCountedOnce(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	src := lo.Next()
	s := httpProxy(1, ip, h3Listener(t, ca, port, httpOrigin(t, "a", nil)))
	s.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionAccept,
		Rules: []snapshot.SecurityRule{{SourceCIDR: src.String(), Protocol: snapshot.ProtoAll, DestPorts: "ALL", Action: snapshot.ActionDrop}}}
	mustApply(t, rt, s)
	tr := &quic.Transport{Conn: h3Socket(t, src), ConnectionIDLength: 8}
	t.Cleanup(func() { _ = tr.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if qc, err := tr.Dial(ctx, net.UDPAddrFromAddrPort(addr),
		&tls.Config{RootCAs: ca.pool, ServerName: "www.test", NextProtos: []string{http3.NextProtoH3}},
		&quic.Config{HandshakeIdleTimeout: 2 * time.Second}); err == nil {
		_ = qc.CloseWithError(0, "")
		t.Fatal("denied source completed a QUIC handshake")
	}
	time.Sleep(100 * time.Millisecond) // Any Initial still on its way.
	for _, k := range []stats.Key{{Kind: stats.KindListener, ID: "lsr-h3"}, {Kind: stats.KindProxy, ID: "link-1"}} {
		if d := rt.Stats().Values[k].Denied; d != 1 {
			t.Errorf("%v: one denied QUIC connection attempt counted Denied = %d; want 1", k, d)
		}
	}
}

// h3Dial opens an HTTP/3 connection to addr from a socket on src. Its
// connection IDs are not empty, as browsers' are, so that it can migrate.
func h3Dial(t *testing.T, src netip.Addr, addr netip.AddrPort, pool *x509.CertPool) (*quic.Conn, *http3.ClientConn) {
	t.Helper()
	tr := &quic.Transport{Conn: h3Socket(t, src), ConnectionIDLength: 8}
	t.Cleanup(func() { _ = tr.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	qc, err := tr.Dial(ctx, net.UDPAddrFromAddrPort(addr),
		&tls.Config{RootCAs: pool, ServerName: "www.test", NextProtos: []string{http3.NextProtoH3}},
		&quic.Config{HandshakeIdleTimeout: 2 * time.Second, MaxIdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = qc.CloseWithError(0, "") })
	return qc, (&http3.Transport{}).NewClientConn(qc)
}

func h3Socket(t *testing.T, src netip.Addr) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// h3Migrate moves qc to a socket on to (RFC 9000 §9: probe the new path,
// then switch to it), as a client does when its network changes. It
// reports false if the edge did not validate the path.
func h3Migrate(t *testing.T, qc *quic.Conn, to netip.Addr) bool {
	t.Helper()
	tr := &quic.Transport{Conn: h3Socket(t, to), ConnectionIDLength: 8}
	t.Cleanup(func() { _ = tr.Close() })
	p, err := qc.AddPath(tr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.Probe(ctx); err != nil {
		return false
	}
	if err := p.Switch(); err != nil {
		t.Fatal(err)
	}
	return true
}

// TestHTTP3MigrationToDeniedSource: a client may move its QUIC connection
// to another address (RFC 9000 §9), which quic-go's server accepts and
// cannot be told to refuse. The policy holds the connection to the address
// it uses now, as a TCP connection is to its only one: a connection that
// moves to an address the policy drops is closed (counted Denied) at its
// next request, which is not served and whose origin never sees that
// address, or within a sweep while a download is in flight. A move to an
// allowed address goes on being served.
func TestHTTP3MigrationToDeniedSource(t *testing.T) {
	good, other, bad := lo.Next(), lo.Next(), lo.Next()
	deny := func(s *snapshot.Snapshot) *snapshot.Snapshot {
		s.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionAccept,
			Rules: []snapshot.SecurityRule{{SourceCIDR: bad.String() + "/32", Protocol: snapshot.ProtoAll, DestPorts: "ALL", Action: snapshot.ActionDrop}}}
		return s
	}
	denied := func(rt *edge.Runtime) int64 {
		return rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-h3"}].Denied
	}

	t.Run("request", func(t *testing.T) {
		rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
		mustApply(t, rt, deny(httpProxy(1, ip, h3Listener(t, ca, port, httpOrigin(t, "a", nil)))))
		qc, cc := h3Dial(t, good, addr, ca.pool)
		do := func() (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://www.test/", nil)
			resp, err := cc.RoundTrip(req)
			if err != nil {
				return "", err
			}
			var s seen
			decode(t, resp, &s)
			return s.Header.Get("X-Real-Ip"), nil
		}
		if ip, err := do(); ip != good.String() {
			t.Fatalf("from %v: X-Real-Ip %q, %v", good, ip, err)
		}
		if !h3Migrate(t, qc, other) {
			t.Fatalf("migration to %v, which the policy allows, refused", other)
		}
		if ip, err := do(); ip != other.String() {
			t.Fatalf("after migrating to %v: X-Real-Ip %q, %v", other, ip, err)
		}
		if !h3Migrate(t, qc, bad) {
			return // Not validated: never served from bad either.
		}
		if ip, err := do(); err == nil {
			t.Errorf("after migrating to %v, which the policy drops: served, X-Real-Ip %q", bad, ip)
		}
		if d := denied(rt); d != 1 {
			t.Errorf("denied: got %d; want 1", d)
		}
	})

	t.Run("download", func(t *testing.T) {
		rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
		o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
			for chunk := make([]byte, 4<<10); ; time.Sleep(10 * time.Millisecond) {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		})
		mustApply(t, rt, deny(httpProxy(1, ip, h3Listener(t, ca, port, o.Addr))))
		qc, cc := h3Dial(t, good, addr, ca.pool)
		req, _ := http.NewRequest(http.MethodGet, "https://www.test/", nil)
		resp, err := cc.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadFull(resp.Body, make([]byte, 8<<10)); err != nil {
			t.Fatal(err)
		}
		go func() { _, _ = io.Copy(io.Discard, resp.Body) }() // Acknowledges from the new path.
		if !h3Migrate(t, qc, bad) {
			return
		}
		select {
		case <-qc.Context().Done():
		case <-time.After(3 * time.Second):
			t.Errorf("download still served 3 s after migrating to %v, which the policy drops", bad)
		}
		if d := denied(rt); d != 1 {
			t.Errorf("denied: got %d; want 1", d)
		}
	})
}

// streamOrigin starts an origin that answers every request with first
// zero bytes, flushed, waits for hold (if not nil) to be closed, then, if
// endless, sends zeros until the client goes.
func streamOrigin(t *testing.T, first int, hold <-chan struct{}, endless bool) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		for n := 0; n < first; n += len(buf) {
			if _, err := w.Write(buf[:min(len(buf), first-n)]); err != nil {
				return
			}
		}
		w.(http.Flusher).Flush()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		for endless {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return netip.MustParseAddrPort(ln.Addr().String())
}

// TestHTTP3Bandwidth downloads over HTTP/3 through a proxy whose 4 Mbps
// limit is set while the listener runs, and checks 4 Mbps ± 10%.
func TestHTTP3Bandwidth(t *testing.T) {
	// Not parallel: it measures a rate (see TestBandwidthCap). QUIC runs in
	// user space, so a starved CPU lowers its rate sooner than TCP's: a
	// lower cap than TCP's test leaves more slack (a 16 KiB burst is 32 ms).
	const mbps, window = 4, 2 * time.Second
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	l := h3Listener(t, ca, port, streamOrigin(t, 0, nil, true))
	mustApply(t, rt, httpProxy(1, ip, l))
	s2 := httpProxy(2, ip, l)
	s2.Proxies[0].BandwidthMbps = mbps
	if st, _ := mustApply(t, rt, s2).Listener("lsr-h3"); st.Change != edge.ChangeUnchanged {
		t.Fatalf("listener change: got %q; want unchanged (same UDP socket)", st.Change)
	}

	c := h3Client(t, lo.Next(), addr, ca.pool)
	c.Timeout = 0 // The read deadline is the window.
	req, _ := http.NewRequest(http.MethodGet, "https://www.test/", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 4*window+time.Second) // The first read and three tries.
	defer cancel()
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64<<10)
	_, _ = resp.Body.Read(buf) // The first read includes the bucket's initial burst.
	edgetest.ShapedRate(t, "HTTP/3 origin→client, body (cap on the wire)", mbps, 0.1, func() float64 {
		start, total := time.Now(), 0
		for time.Since(start) < window {
			n, err := resp.Body.Read(buf)
			total += n
			if err != nil {
				t.Fatalf("after %d bytes: %v", total, err)
			}
		}
		return float64(total) * 8 / time.Since(start).Seconds() / 1e6
	})
}

// TestHTTP3LiveBytes checks that a QUIC connection's bytes show while it
// is open, and that the totals only grow when it ends.
func TestHTTP3LiveBytes(t *testing.T) {
	t.Parallel()
	const first = 256 << 10
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	hold := make(chan struct{})
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, streamOrigin(t, first, hold, false))))
	c := h3Client(t, lo.Next(), addr, ca.pool)
	req, _ := http.NewRequest(http.MethodGet, "https://www.test/", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, first)); err != nil {
		t.Fatal(err)
	}
	key := stats.Key{Kind: stats.KindListener, ID: "lsr-h3"}
	var live stats.Values
	for end := time.Now().Add(3 * time.Second); live.BytesOut < first; time.Sleep(50 * time.Millisecond) {
		if live = rt.Stats().Values[key]; time.Now().After(end) {
			t.Fatalf("open connection: got %d bytes out, %d in; want ≥ %d out", live.BytesOut, live.BytesIn, first)
		}
	}
	if live.Active != 1 || live.BytesIn == 0 {
		t.Errorf("open connection: active %d, bytes in %d; want 1 and > 0", live.Active, live.BytesIn)
	}

	close(hold)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = c.Transport.(*http3.Transport).Close()
	var final stats.Values
	for end := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if final = rt.Stats().Values[key]; final.Active == 0 || time.Now().After(end) {
			break
		}
	}
	if final.Active != 0 || final.BytesOut < live.BytesOut || final.BytesIn < live.BytesIn {
		t.Errorf("closed: active %d, bytes %d/%d; want 0 and ≥ live %d/%d",
			final.Active, final.BytesIn, final.BytesOut, live.BytesIn, live.BytesOut)
	}
	if final.PacketsIn == 0 || final.PacketsOut == 0 {
		t.Errorf("closed: packets %d/%d; want the QUIC packets counted", final.PacketsIn, final.PacketsOut)
	}
	proxy := rt.Stats().Values[stats.Key{Kind: stats.KindProxy, ID: "link-1"}]
	if proxy.BytesIn != final.BytesIn || proxy.BytesOut != final.BytesOut {
		t.Errorf("proxy bytes %d/%d; want the listener's %d/%d", proxy.BytesIn, proxy.BytesOut, final.BytesIn, final.BytesOut)
	}
}

// TestHTTP3NeedsTLS13: a listener limited to TLS ≤ 1.2 serves no HTTP/3
// (no UDP bind, no Alt-Svc) and says so; a domain limited so refuses QUIC
// handshakes for its name.
func TestHTTP3NeedsTLS13(t *testing.T) {
	t.Parallel()
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
	l := h3Listener(t, ca, port, a)
	l.TLS.MinVersion, l.TLS.MaxVersion = snapshot.TLS11, snapshot.TLS12
	rep := mustApply(t, rt, httpProxy(1, ip, l))
	if st, _ := rep.Listener("lsr-h3"); st.State != edge.StateRunning || !strings.Contains(st.Error, "TLS 1.3") {
		t.Errorf("status: got %q %q; want running, HTTP/3 not served for want of TLS 1.3", st.State, st.Error)
	}
	mustBindUDP(t, addr)
	if resp, _, _ := get(t, httpsClient(addr, ca.pool, false), "https://www.test/", "www.test"); resp.Header.Get("Alt-Svc") != "" {
		t.Errorf("TLS ≤ 1.2: got Alt-Svc %q", resp.Header.Get("Alt-Svc"))
	}
	h3 := h3Client(t, lo.Next(), addr, ca.pool)
	req, _ := http.NewRequest(http.MethodGet, "https://www.test/", nil)
	if resp, err := h3.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("TLS ≤ 1.2: served over HTTP/3: %s", resp.Status)
	}

	// TLS 1.3 allowed by the listener, not by one domain: that name's QUIC
	// handshakes are refused, the other's served, and only the other's
	// answers over TCP advertise HTTP/3.
	oldCert, oldKey := ca.leaf(t, "old", "old.test")
	old := snapshot.Domain{Host: "old.test", TLS: &snapshot.TLS{CertPEM: oldCert, KeyPEM: oldKey, MaxVersion: snapshot.TLS12},
		Rules: []snapshot.Rule{rule("r-old", "/", l7Origins(a))}}
	l = h3Listener(t, ca, port, a)
	l.Domains = append(l.Domains, old)
	mustApply(t, rt, httpProxy(2, ip, l))
	h3 = h3Client(t, lo.Next(), addr, ca.pool)
	if resp, _, _ := get(t, h3, "https://www.test/", "www.test"); resp.ProtoMajor != 3 {
		t.Errorf("www.test: got %s; want HTTP/3", resp.Proto)
	}
	req, _ = http.NewRequest(http.MethodGet, "https://old.test/", nil)
	if resp, err := h3Client(t, lo.Next(), addr, ca.pool).Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("old.test (TLS ≤ 1.2): served over HTTP/3: %s", resp.Status)
	}
	for host, want := range map[string]string{"www.test": fmt.Sprintf(`h3=":%d"; ma=86400`, port), "old.test": ""} {
		resp, _, _ := get(t, httpsClient(addr, ca.pool, false), "https://"+host+"/", host)
		if got := resp.Header.Get("Alt-Svc"); got != want {
			t.Errorf("%s over TCP: Alt-Svc %q; want %q", host, got, want)
		}
	}
}

// TestHTTP3DomainOff: a domain with NoHTTP3 on a listener with HTTP/3 is
// kept off it as a domain limited to TLS ≤ 1.2 is: QUIC handshakes for its
// name are refused, its answers over TCP carry no Alt-Svc, and a request
// for it on another domain's QUIC connection (same certificate) is
// misdirected (421) rather than served over HTTP/3.
func TestHTTP3DomainOff(t *testing.T) {
	t.Parallel()
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
	l := h3Listener(t, ca, port, a)
	l.TLS.CertPEM, l.TLS.KeyPEM = ca.leaf(t, "listener", "www.test", "off.test")
	l.Domains = append(l.Domains, snapshot.Domain{Host: "off.test", NoHTTP3: true, Rules: []snapshot.Rule{rule("r-off", "/", l7Origins(a))}})
	mustApply(t, rt, httpProxy(1, ip, l))

	h3 := h3Client(t, lo.Next(), addr, ca.pool)
	if resp, _, _ := get(t, h3, "https://www.test/", "www.test"); resp.ProtoMajor != 3 {
		t.Errorf("www.test: got %s; want HTTP/3", resp.Proto)
	}
	if resp, _, _ := get(t, h3, "https://www.test/", "off.test"); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("off.test on www.test's QUIC connection: got %s; want 421", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://off.test/", nil)
	if resp, err := h3Client(t, lo.Next(), addr, ca.pool).Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("off.test (NoHTTP3): served over HTTP/3: %s", resp.Status)
	}
	for host, want := range map[string]string{"www.test": fmt.Sprintf(`h3=":%d"; ma=86400`, port), "off.test": ""} {
		resp, _, _ := get(t, httpsClient(addr, ca.pool, false), "https://"+host+"/", host)
		if got := resp.Header.Get("Alt-Svc"); got != want {
			t.Errorf("%s over TCP: Alt-Svc %q; want %q", host, got, want)
		}
	}
}

// TestHTTP3Drain: removing a listener lets an in-flight HTTP/3 request
// finish (GOAWAY) while new requests fail, then frees the UDP port; a UDP
// listener wanting the port in the same Apply takes it at once instead.
func TestHTTP3Drain(t *testing.T) {
	t.Parallel()
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{DrainGrace: 10 * time.Second})
	hold := make(chan struct{})
	const first = 1000
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, streamOrigin(t, first, hold, false))))

	slow := func(c *http.Client) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, "https://www.test/", nil)
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.ReadFull(resp.Body, make([]byte, first)) // The request is in flight.
		}
		return resp, err
	}
	c := h3Client(t, lo.Next(), addr, ca.pool)
	c.Timeout = 0 // Its first request outlives the others.
	resp, err := slow(c)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, rt, httpProxy(2, ip))
	t0 := time.Now()
	req, _ := http.NewRequest(http.MethodGet, "https://www.test/", nil)
	if r, err := h3Client(t, lo.Next(), addr, ca.pool).Do(req); err == nil {
		r.Body.Close()
		t.Errorf("new connection to a removed listener served: %s", r.Status)
	}
	if r, err := c.Do(req); err == nil { // The draining connection got GOAWAY.
		r.Body.Close()
		t.Errorf("new request on a draining connection served: %s", r.Status)
	}
	t.Logf("new requests failed in %v", time.Since(t0))
	time.Sleep(time.Second) // Longer than a drain takes to close a quiet connection.
	close(hold)
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Errorf("in-flight request after the removal: got %d more bytes, %v; want its clean end", len(rest), err)
	}
	resp.Body.Close()
	waitUDPFree(t, addr, 3*time.Second)

	// The same in flight, but a UDP listener takes the port in the Apply
	// that removes the HTTP/3 one: the drain yields, the request is cut.
	hold = make(chan struct{})
	defer close(hold)
	mustApply(t, rt, httpProxy(3, ip, h3Listener(t, ca, port, streamOrigin(t, first, hold, false))))
	c = h3Client(t, lo.Next(), addr, ca.pool)
	c.Timeout = 0 // Only the cut may end the request, not the client's timeout.
	resp, err = slow(c)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	u := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("u:"))
	if rep := rt.Apply(oneProxy(4, ip, listener("lsr-udp", snapshot.ProtoUDP, port, origins(u.Addr)))); !rep.OK() {
		t.Fatalf("UDP listener on a draining HTTP/3 port: %+v", rep)
	}
	cut := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); cut <- err }()
	select {
	case err := <-cut:
		if err == nil {
			t.Error("in-flight request survived its port passing to a UDP listener")
		}
	case <-time.After(2 * time.Second): // The drain's grace is far longer.
		t.Error("in-flight request still running 2 s after its port passed to a UDP listener; want it cut at once")
	}
}

// TestHTTP3AccessChangeRechecksConnections: as over TCP, turning mutual
// TLS on for a domain closes its QUIC connections made without a client
// certificate, and keeps those of another domain.
func TestHTTP3AccessChangeRechecksConnections(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	clients := newTestPKI(t, "client CA")
	l := h3Listener(t, ca, port, httpOrigin(t, "a", nil))
	cert, key := ca.leaf(t, "listener", "www.test", "keep.test")
	l.TLS = &snapshot.TLS{CertPEM: cert, KeyPEM: key}
	l.Domains = append(l.Domains, snapshot.Domain{Host: "keep.test", Rules: []snapshot.Rule{rule("r-keep", "/", l.Domains[0].Rules[0].Origins)}})
	mustApply(t, rt, httpProxy(1, ip, l))
	h3, keep := h3Client(t, lo.Next(), addr, ca.pool), h3Client(t, lo.Next(), addr, ca.pool)
	var dials atomic.Int32
	tr := keep.Transport.(*http3.Transport)
	dial := tr.Dial
	tr.Dial = func(ctx context.Context, a string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
		dials.Add(1)
		return dial(ctx, a, tc, qc)
	}
	for _, c := range []struct {
		c    *http.Client
		host string
	}{{h3, "www.test"}, {keep, "keep.test"}} {
		if resp, _, _ := get(t, c.c, "https://"+c.host+"/", c.host); resp.StatusCode != 200 {
			t.Fatalf("before, %s: %d", c.host, resp.StatusCode)
		}
	}
	l.Domains = slices.Clone(l.Domains) // The runtime keeps the first snapshot's.
	l.Domains[0].TLS = &snapshot.TLS{ClientCAPEMs: []string{clients.caPEM}}
	mustApply(t, rt, httpProxy(2, ip, l))
	if resp, err := h3.Get("https://www.test/"); err == nil {
		resp.Body.Close()
		t.Errorf("HTTP/3 without a certificate after mutual TLS was turned on: got %d; want the connection closed, a new one refused", resp.StatusCode)
	}
	if resp, _, _ := get(t, keep, "https://keep.test/", "keep.test"); resp.StatusCode != 200 || dials.Load() != 1 {
		t.Errorf("keep.test after mutual TLS was turned on for www.test: %d on %d connections; want 200 on its first", resp.StatusCode, dials.Load())
	}
}

// cannedOrigin answers every request, on keep-alive connections, with the
// raw answer its path names.
func cannedOrigin(t *testing.T, answers map[string]string) netip.AddrPort {
	t.Helper()
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			_, _ = io.WriteString(c, answers[req.URL.Path])
		}
	})
	return o.Addr
}

// TestEarlyHintsKeepAltSvc: the final answer after an origin's 103 Early
// Hints carries Alt-Svc, over HTTP/1.1 and HTTP/2, like one without: it is
// the answer browsers and caches keep. httputil.ReverseProxy clears the
// answer header map after relaying a 1xx, so an Alt-Svc the edge set
// before proxying went out on the 103 alone.
func TestEarlyHintsKeepAltSvc(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	o := cannedOrigin(t, map[string]string{
		"/103": "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"/":    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	})
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, o)))
	wantAlt := fmt.Sprintf(`h3=":%d"; ma=86400`, port)
	for _, h2 := range []bool{false, true} {
		c := httpsClient(addr, ca.pool, h2)
		plain, _, _ := get(t, c, "https://www.test/", "www.test")
		hinted, _, body := get(t, c, "https://www.test/103", "www.test")
		if plain.Header.Get("Alt-Svc") != wantAlt || hinted.Header.Get("Alt-Svc") != wantAlt || body != "hello" {
			t.Errorf("%s: final answer after a 103 (%d %q): Alt-Svc %q; without a 103: %q; want %q",
				hinted.Proto, hinted.StatusCode, body, hinted.Header.Get("Alt-Svc"), plain.Header.Get("Alt-Svc"), wantAlt)
		}
	}
}

// TestHTTP3NoFramingWithoutBody: as over HTTP/1.1 and HTTP/2
// (l7.TestH2NoFramingWithoutBody), a 204 or 304 reaches an HTTP/3 client
// without the origin's Content-Length (RFC 9110 8.6: never on a 204),
// which quic-go's server passed on.
func TestHTTP3NoFramingWithoutBody(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	o := cannedOrigin(t, map[string]string{
		"/204cl": "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
		"/304cl": "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
	})
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, o)))
	h3 := h3Client(t, lo.Next(), addr, ca.pool)
	for _, p := range []string{"/204cl", "/304cl"} {
		req, _ := http.NewRequest("GET", "https://www.test"+p, nil)
		resp, err := h3.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.Header.Get("Content-Length") != "" || resp.ProtoMajor != 3 {
			t.Errorf("GET %s: %s %s with Content-Length %q, body read error %v; want HTTP/3, no Content-Length, no error",
				p, resp.Proto, resp.Status, resp.Header.Get("Content-Length"), err)
		}
	}
}

// recordingOrigin accepts connections and sends every request head it
// receives, one line per header joined by " | ", to the returned channel;
// it answers 400 and closes.
func recordingOrigin(t *testing.T) (netip.AddrPort, <-chan string) {
	t.Helper()
	heads := make(chan string, 16)
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		br := bufio.NewReader(c)
		var head []string
		for {
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
			head = append(head, strings.TrimSpace(l))
		}
		heads <- strings.Join(head, " | ")
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	})
	return o.Addr, heads
}

// TestConnectRefusedAllProtocols: CONNECT, over HTTP/1.1 (handed by the
// fast path to net/http), HTTP/2 and HTTP/3, is answered 405 and never
// reaches an origin (which might be a forward proxy); so is TRACE (which
// an origin would answer with the request's credentials), and an OPTIONS
// with "Max-Forwards: 0" is answered by the edge (RFC 9110 7.6.2). A
// lower-case "trace" was passed on.
func TestConnectRefusedAllProtocols(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	o, heads := recordingOrigin(t)
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, o)))
	clients := map[string]*http.Client{"HTTP/1.1": httpsClient(addr, ca.pool, false), "HTTP/2": httpsClient(addr, ca.pool, true),
		"HTTP/3": h3Client(t, lo.Next(), addr, ca.pool)}
	for name, c := range clients {
		req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Scheme: "https", Host: "www.test:443"}, Host: "www.test:443", Header: http.Header{}}
		resp, err := c.Transport.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s CONNECT: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.ProtoMajor != int(name[5]-'0') {
			t.Errorf("%s CONNECT: got %d over %s; want 405", name, resp.StatusCode, resp.Proto)
		}
		for m, want := range map[string]int{http.MethodTrace: http.StatusMethodNotAllowed, "trace": http.StatusMethodNotAllowed,
			http.MethodOptions: http.StatusOK} { // "trace": an origin may read methods without case.
			req, _ := http.NewRequest(m, "https://www.test/x", nil)
			req.Header.Set("Max-Forwards", "0")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", name, m, err)
			}
			resp.Body.Close()
			if resp.StatusCode != want || resp.Header.Get("Allow") == "" || resp.ProtoMajor != int(name[5]-'0') {
				t.Errorf("%s %s: got %d over %s, Allow %q; want %d with Allow", name, m, resp.StatusCode, resp.Proto, resp.Header.Get("Allow"), want)
			}
		}
	}
	// And over plain HTTP/1.1, where the target routes like a path.
	c := dial(t, lo.Next(), addr)
	tc := tls.Client(c, &tls.Config{RootCAs: ca.pool, ServerName: "www.test", NextProtos: []string{"http/1.1"}})
	io.WriteString(tc, "CONNECT /chat HTTP/1.1\r\nHost: www.test\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(tc), nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("CONNECT /chat: got %v, %v; want 405", resp, err)
	}
	select {
	case h := <-heads:
		t.Errorf("CONNECT, TRACE or OPTIONS reached the origin as %q", h)
	case <-time.After(300 * time.Millisecond):
	}
}

// wsOrigin is an HTTP/1.1 WebSocket origin: a valid RFC 6455 upgrade
// request is answered 101 (Sec-WebSocket-Protocol "chat"), after which
// every byte is echoed back upper-cased until the peer closes, or until
// "bye" comes, upon which the origin closes. /deny is answered 403. Each
// request's head goes to the first channel; the second gets what ended
// each relay ("bye" or "peer closed").
func wsOrigin(t *testing.T) (netip.AddrPort, <-chan *http.Request, <-chan string) {
	t.Helper()
	reqs, ends := make(chan *http.Request, 16), make(chan string, 16)
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		reqs <- req
		key := req.Header.Get("Sec-Websocket-Key")
		if k, _ := base64.StdEncoding.DecodeString(key); req.URL.Path == "/deny" || len(k) != 16 ||
			!strings.EqualFold(req.Header.Get("Upgrade"), "websocket") || req.Header.Get("Sec-Websocket-Version") != "13" {
			io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nX-Origin: ws\r\nConnection: close\r\n\r\ndenied")
			return
		}
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
		buf := make([]byte, 4096)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				if _, werr := c.Write([]byte(strings.ToUpper(string(buf[:n])))); werr != nil {
					return
				}
				if strings.Contains(string(buf[:n]), "bye") {
					ends <- "bye"
					return
				}
			}
			if err != nil {
				ends <- "peer closed"
				return
			}
		}
	})
	return o.Addr, reqs, ends
}

// h3Conn is an HTTP/3 client connection to addr from src, which has
// seen the server's SETTINGS.
func h3Conn(t *testing.T, src netip.Addr, addr netip.AddrPort, ca *testPKI) *http3.ClientConn {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	qc, err := quic.Dial(ctx, pc, net.UDPAddrFromAddrPort(addr),
		&tls.Config{RootCAs: ca.pool, ServerName: "www.test", NextProtos: []string{http3.NextProtoH3}},
		&quic.Config{HandshakeIdleTimeout: 2 * time.Second, MaxIdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = qc.CloseWithError(0, "") })
	cc := (&http3.Transport{}).NewClientConn(qc)
	select {
	case <-cc.ReceivedSettings():
	case <-ctx.Done():
		t.Fatal("no SETTINGS from the edge")
	}
	if !cc.Settings().EnableExtendedConnect {
		t.Fatal("the edge does not advertise extended CONNECT")
	}
	return cc
}

// extendedConnect opens a stream on cc and sends an extended CONNECT for
// path with :protocol proto; it returns the stream and the answer.
func extendedConnect(t *testing.T, cc *http3.ClientConn, proto, path string) (*http3.RequestStream, *http.Response) {
	t.Helper()
	str, err := cc.OpenRequestStream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://www.test" + path)
	req := &http.Request{Method: http.MethodConnect, URL: u, Proto: proto, Host: "www.test",
		Header: http.Header{"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Protocol": {"chat, superchat"},
			"Origin": {"https://www.test"}, "X-Forwarded-For": {"192.0.2.7"}, "X-Real-Ip": {"192.0.2.8"},
			"Accept-Encoding": {"identity"}}}
	if err := str.SendRequestHeader(req); err != nil {
		t.Fatal(err)
	}
	resp, err := str.ReadResponse()
	if err != nil {
		t.Fatalf("extended CONNECT %s %s: %v", proto, path, err)
	}
	return str, resp
}

// TestHTTP3WebSocket: an RFC 9220 WebSocket (extended CONNECT with
// :protocol websocket) is routed like a GET and goes to the origin as an
// HTTP/1.1 Upgrade with a fresh key and the forwarded and custom headers;
// the origin's 101 becomes a 200 and bytes are relayed both ways until
// either side closes. A refusal reaches the client as it is; another
// :protocol gets 501 and reaches no origin.
func TestHTTP3WebSocket(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	o, reqs, ends := wsOrigin(t)
	l := h3Listener(t, ca, port, o)
	l.Domains[0].Rules[0].Headers = []snapshot.Header{{Name: "X-Client", Value: "$remote_addr"}}
	mustApply(t, rt, httpProxy(1, ip, l))
	src := lo.Next()
	cc := h3Conn(t, src, addr, ca)

	exchange := func(str *http3.RequestStream, msg string) {
		t.Helper()
		if _, err := str.Write([]byte(msg)); err != nil {
			t.Fatalf("write %q: %v", msg, err)
		}
		got := make([]byte, len(msg))
		_ = str.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(str, got); err != nil || string(got) != strings.ToUpper(msg) {
			t.Fatalf("echo of %q: got %q, %v", msg, got, err)
		}
	}
	for _, closer := range []string{"client", "origin"} {
		str, resp := extendedConnect(t, cc, "websocket", "/chat?room=1")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Sec-Websocket-Protocol") != "chat" ||
			resp.Header.Get("Sec-Websocket-Accept") != "" {
			t.Fatalf("%s: got %d %v; want 200 with the origin's protocol", closer, resp.StatusCode, resp.Header)
		}
		req := <-reqs
		h := req.Header
		if req.Method != http.MethodGet || req.RequestURI != "/chat?room=1" || req.Host != "www.test" ||
			h.Get("Connection") != "Upgrade" || h.Get("Sec-Websocket-Protocol") != "chat, superchat" ||
			h.Get("Origin") != "https://www.test" || h.Get("X-Forwarded-For") != "192.0.2.7, "+src.String() ||
			h.Get("X-Real-Ip") != src.String() || h.Get("X-Client") != src.String() ||
			h.Get("X-Forwarded-Proto") != "https" {
			t.Errorf("%s: origin got %s %s host %q headers %v", closer, req.Method, req.RequestURI, req.Host, h)
		}
		for i := range 5 {
			exchange(str, strings.Repeat("hello ", i+1))
		}
		exchange(str, strings.Repeat("x", 100<<10)) // Larger than a copy buffer.
		if closer == "client" {
			_ = str.Close() // FIN: the edge closes the origin connection.
		} else {
			if _, err := str.Write([]byte("bye")); err != nil {
				t.Fatal(err)
			}
		}
		rest, err := io.ReadAll(str) // Ends when the edge ends the stream.
		if closer == "origin" && (err != nil || string(rest) != "BYE") || closer == "client" && len(rest) != 0 {
			t.Errorf("%s closes: stream ended with %q, %v", closer, rest, err)
		}
		select {
		case end := <-ends:
			if want := map[string]string{"client": "peer closed", "origin": "bye"}[closer]; end != want {
				t.Errorf("%s closes: origin's relay ended with %q; want %q", closer, end, want)
			}
		case <-time.After(3 * time.Second):
			t.Errorf("%s closes: the origin's connection stays open", closer)
		}
	}

	_, resp := extendedConnect(t, cc, "websocket", "/deny")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || string(body) != "denied" || resp.Header.Get("X-Origin") != "ws" {
		t.Errorf("refused upgrade: got %d %q %v; want the origin's 403", resp.StatusCode, body, resp.Header)
	}
	<-reqs

	_, resp = extendedConnect(t, cc, "webtransport", "/chat")
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("extended CONNECT webtransport: got %d; want 501", resp.StatusCode)
	}
	select {
	case r := <-reqs:
		t.Errorf("extended CONNECT webtransport reached the origin as %s %s", r.Method, r.RequestURI)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestHTTP3WebSocketOriginResetResetsStream guards the end of an HTTP/3
// WebSocket whose origin resets its connection: the stream is reset, as
// RFC 9220 (3) has it ("RST exceptions are represented with a stream
// error"), where a FIN is an orderly close (TestHTTP3WebSocket).
func TestHTTP3WebSocketOriginResetResetsStream(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-Websocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\nhello")
		time.Sleep(200 * time.Millisecond)
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	}).Addr
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, o)))
	str, resp := extendedConnect(t, h3Conn(t, lo.Next(), addr, ca), "websocket", "/chat")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d; want 200", resp.StatusCode)
	}
	_ = str.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(str)
	var se *quic.StreamError
	if string(b) != "hello" || !errors.As(err, &se) || !se.Remote {
		t.Errorf("the origin reset the tunnel: the client read %q, then %v; want hello, then the stream reset", b, err)
	}
}

// TestWebSocketRuleBytes: the bytes a WebSocket relays are its rule's
// traffic, over HTTP/1.1 as over HTTP/3 (RFC 9220), each byte counted once
// each way, and counted as it passes: a WebSocket may stay open for hours,
// and its bytes belong to the minutes they were relayed in. The listener
// and proxy count the client connection on the wire as for any request:
// the relay adds nothing to them (no byte counted twice).
func TestWebSocketRuleBytes(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	o, reqs, ends := wsOrigin(t)
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, o)))
	cc := h3Conn(t, lo.Next(), addr, ca)
	ruleKey, lsrKey := stats.Key{Kind: stats.KindRule, ID: "r-h3"}, stats.Key{Kind: stats.KindListener, ID: "lsr-h3"}
	proxyKey := stats.Key{Kind: stats.KindProxy, ID: "link-1"}
	open := map[string]func() io.ReadWriteCloser{
		"HTTP/1.1": func() io.ReadWriteCloser {
			tc := tls.Client(dial(t, lo.Next(), addr), &tls.Config{RootCAs: ca.pool, ServerName: "www.test",
				NextProtos: []string{"http/1.1"}})
			io.WriteString(tc, "GET /ws HTTP/1.1\r\nHost: www.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
			br := bufio.NewReader(tc)
			if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade: got %v, %v", resp, err)
			}
			return struct {
				io.Reader
				io.WriteCloser
			}{br, tc}
		},
		"HTTP/3": func() io.ReadWriteCloser {
			str, resp := extendedConnect(t, cc, "websocket", "/ws")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("extended CONNECT: got %d", resp.StatusCode)
			}
			_ = str.SetReadDeadline(time.Now().Add(5 * time.Second))
			return str
		},
	}
	msg := strings.Repeat("m", 128<<10)
	for _, proto := range []string{"HTTP/1.1", "HTTP/3"} {
		before := rt.Stats().Values
		delta := func(k stats.Key) (in, out int64) {
			v := rt.Stats().Values[k]
			return v.BytesIn - before[k].BytesIn, v.BytesOut - before[k].BytesOut
		}
		ws := open[proto]()
		<-reqs
		go func() { _, _ = io.WriteString(ws, msg) }()
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(ws, got); err != nil || string(got) != strings.ToUpper(msg) {
			t.Fatalf("%s: echo of %d bytes: got %d, %v", proto, len(msg), len(got), err)
		}
		want := int64(len(msg))
		var in, out int64
		edgetest.Eventually(t, 3*time.Second, func() bool { in, out = delta(ruleKey); return in >= want && out >= want },
			"%s: WebSocket open after relaying %d bytes each way: rule counts %d in, %d out", proto, want, in, out)
		if in != want || out != want {
			t.Errorf("%s: WebSocket open after relaying %d bytes each way: rule counts %d in, %d out; want %d each",
				proto, want, in, out, want)
		}
		for _, k := range []stats.Key{lsrKey, proxyKey} {
			edgetest.Eventually(t, 3*time.Second, func() bool { in, out = delta(k); return in >= want && out >= want },
				"%s: %v counts %d in, %d out; want ≥ %d each", proto, k, in, out, want)
			if in > want*3/2 || out > want*3/2 {
				t.Errorf("%s: %v counts %d in, %d out for %d relayed each way; want each counted once", proto, k, in, out, want)
			}
		}
		_ = ws.Close()
		select {
		case <-ends:
		case <-time.After(3 * time.Second):
			t.Fatalf("%s: the origin's connection stays open", proto)
		}
		edgetest.Eventually(t, 3*time.Second, func() bool {
			return rt.Stats().Values[ruleKey].Requests == before[ruleKey].Requests+1
		}, "%s: the WebSocket's request is never counted", proto)
		if in, out = delta(ruleKey); in != want || out != want {
			t.Errorf("%s: WebSocket ended: rule counts %d in, %d out; want %d each", proto, in, out, want)
		}
	}
}

// TestHTTP3TruncatedAnswerAborted: an origin answer cut short mid-body
// (declared length, chunked then the origin gone, chunked then stalled
// past OriginReadTimeout) reaches an HTTP/2 or HTTP/3 client as an error
// (the stream reset), never as a complete answer: a chunked one has no
// length the client could check.
func TestHTTP3TruncatedAnswerAborted(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{OriginReadTimeout: 500 * time.Millisecond})
	body := strings.Repeat("x", 5000)
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		switch req.URL.Path {
		case "/cl":
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n%s", body)
		case "/chunked": // Then the origin closes.
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(body), body)
		case "/stall": // Then the origin stalls past OriginReadTimeout.
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(body), body)
			time.Sleep(2 * time.Second)
		}
	})
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, o.Addr)))
	for _, c := range []*http.Client{httpsClient(addr, ca.pool, true), h3Client(t, lo.Next(), addr, ca.pool)} {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			for _, p := range []string{"/cl", "/chunked", "/stall"} {
				req, _ := http.NewRequest(m, "https://www.test"+p, strings.NewReader("b"))
				resp, err := c.Do(req)
				if err != nil {
					continue // Cut before the head was relayed: an error too.
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					t.Errorf("%s %s %s: truncated answer (%d bytes) ended cleanly", resp.Proto, m, p, len(b))
				}
			}
		}
	}
}

// TestRequestTrailersForwarded: the trailers a client declares and sends
// after its request body (chunked over HTTP/1.1, a trailing HEADERS frame
// over HTTP/2 and HTTP/3, after a streamed body or one of declared length)
// reach the origin, as nginx forwards them; a field RFC 9110 (6.5.1) does
// not allow in trailers, such as Authorization, does not.
// httputil.ReverseProxy alone copies the trailer before the body is read,
// so the origin got the names without values.
func TestRequestTrailersForwarded(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			b, _ := io.ReadAll(req.Body)
			answer := fmt.Sprintf("%s|%s|%s", b, req.Trailer.Get("X-Req-Sum"), req.Trailer.Get("Authorization"))
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer)
		}
	})
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, o.Addr)))
	for i, c := range []*http.Client{httpsClient(addr, ca.pool, false), httpsClient(addr, ca.pool, true), h3Client(t, lo.Next(), addr, ca.pool)} {
		for _, length := range []bool{false, true} {
			if length && i == 0 { // HTTP/1.1 sends trailers with chunked bodies only.
				continue
			}
			var req *http.Request
			if length {
				req, _ = http.NewRequest(http.MethodPost, "https://www.test/", strings.NewReader("data"))
				req.Trailer = http.Header{"X-Req-Sum": {"s1"}}
			} else {
				pr, pw := io.Pipe()
				req, _ = http.NewRequest(http.MethodPost, "https://www.test/", pr)
				req.Trailer = http.Header{"X-Req-Sum": nil}
				if i == 0 { // Go's HTTP/2 and HTTP/3 clients refuse to send it.
					req.Trailer["Authorization"] = nil
				}
				go func() {
					pw.Write([]byte("data"))
					req.Trailer.Set("X-Req-Sum", "s1")
					if i == 0 {
						req.Trailer.Set("Authorization", "Basic eDp5")
					}
					pw.Close()
				}()
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "data|s1|" {
				t.Errorf("%s (declared length %v): origin saw %q; want data|s1|", resp.Proto, length, b)
			}
		}
	}
}

// TestRequestTrailersCannotOverrideEdgeHeaders: the edge replaces whatever
// the client sent for X-Real-IP, X-Forwarded-For and a rule's Headers
// (snapshot.Rule.Headers: "replacing any value the client sent"); a
// client that declares them as trailers must not get its own values to the
// origin after the body either, where an origin that merges trailers into
// headers (httpd's MergeTrailers, CGI gateways) would trust them
// (CVE-2013-5704). Names are matched whatever their case, and underscore
// look-alikes (X_Real_IP) go too; other trailers still pass.
func TestRequestTrailersCannotOverrideEdgeHeaders(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.ReadAll(req.Body)
		var answer strings.Builder
		for _, k := range slices.Sorted(maps.Keys(req.Trailer)) {
			fmt.Fprintf(&answer, "%s=%q ", k, req.Trailer[k])
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", answer.Len(), answer.String())
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	r := rule("r-tr", "/", l7Origins(o.Addr))
	r.Headers = []snapshot.Header{{Name: "X-Client", Value: "$remote_addr"}}
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-tr", Protocol: snapshot.ProtoHTTP, Port: port,
		Domains: []snapshot.Domain{{Host: "a.test", Rules: []snapshot.Rule{r}}}}))
	c, err := net.Dial("tcp", netip.AddrPortFrom(ip, uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n"+
		"Trailer: x-real-ip, X-Forwarded-For, X-FORWARDED-PROTO, x-client, X_Real_IP, Forwarded, Via, X-Sum\r\n\r\n4\r\ndata\r\n0\r\n"+
		"X-Real-IP: 6.6.6.6\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Client: 6.6.6.6\r\n"+
		"X_Real_IP: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nVia: 1.1 6.6.6.6\r\nX-Sum: s1\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if want := `X-Sum=["s1"] `; string(b) != want {
		t.Errorf("origin received trailers %s; want only %s (none of the fields the edge sets)", b, want)
	}
}

// TestHTTP3StreamsCountAgainstConcurrentCap: as over HTTP/2
// (TestH2StreamsCountAgainstConcurrentCap), each request in flight on a
// QUIC connection counts against the proxy's Concurrent cap, the
// connection's own slot covering the first: with a cap of 2, two of five
// concurrent requests reach the origin and three get 503.
func TestHTTP3StreamsCountAgainstConcurrentCap(t *testing.T) {
	const maxConns, requests = 2, 5
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	oaddr, open, _, _ := holdingOrigin(t)
	s := httpProxy(1, ip, h3Listener(t, ca, port, oaddr))
	s.Proxies[0].MaxConns = maxConns
	mustApply(t, rt, s)
	h3 := h3Client(t, lo.Next(), addr, ca.pool)
	h3.Timeout = 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	codes := make(chan int, requests)
	for range requests {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://www.test/held", nil)
			resp, err := h3.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	for range requests - maxConns {
		select {
		case code := <-codes:
			if code != http.StatusServiceUnavailable {
				t.Errorf("got %d; want 503 (over the cap) or no answer yet (held by the origin)", code)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("fewer than %d requests refused", requests-maxConns)
		}
	}
	if n := open.Load(); n > maxConns {
		t.Errorf("one QUIC connection holds %d origin connections; want ≤ %d", n, maxConns)
	}
}

// TestHTTP3BadHostIsWellFormed400: a request with a Host the edge refuses
// is a 400 over every protocol. The edge closes the connection after it
// with a Connection header, which HTTP/3 forbids (RFC 9114 4.2): sent over
// HTTP/3, the client took the answer as malformed and got no 400.
func TestHTTP3BadHostIsWellFormed400(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, httpOrigin(t, "a", nil))))
	for name, c := range map[string]*http.Client{"HTTP/3": h3Client(t, lo.Next(), addr, ca.pool), "HTTP/2": httpsClient(addr, ca.pool, true)} {
		req, _ := http.NewRequest(http.MethodGet, "https://www.test/", nil)
		req.Host = "www.test:1:2"
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("%s: Host %q: %v; want a 400", name, req.Host, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: Host %q: %d; want 400", name, req.Host, resp.StatusCode)
		}
	}
}

// TestOriginAltSvcNotPassedOn: an origin's own Alt-Svc (Caddy, LiteSpeed
// and nginx-quic origins send h3=":443") names the origin's ports, but
// clients apply it to the edge's address: with the listener's HTTP/3 off
// they were sent, for the origin's ma, to a UDP port of the edge; with it
// on they got two contradicting entries, and HTTP/3 answers one.
func TestOriginAltSvcNotPassedOn(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	const originAlt = `h3=":9443"; ma=2592000`
	o := cannedOrigin(t, map[string]string{
		"/": "HTTP/1.1 200 OK\r\nAlt-Svc: " + originAlt + "\r\nContent-Length: 5\r\n\r\nhello",
		"/103": "HTTP/1.1 103 Early Hints\r\nAlt-Svc: " + originAlt + "\r\nLink: </s.css>; rel=preload\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	})
	l := h3Listener(t, ca, port, o)
	l.HTTP3 = false
	mustApply(t, rt, httpProxy(1, ip, l))
	for _, h2 := range []bool{false, true} {
		resp, _, _ := get(t, httpsClient(addr, ca.pool, h2), "https://www.test/", "www.test")
		if got := resp.Header.Values("Alt-Svc"); len(got) != 0 {
			t.Errorf("HTTP/3 off, %s answer: Alt-Svc %q; want none (the listener serves no HTTP/3)", resp.Proto, got)
		}
	}
	var hints []string // Nor on an interim answer.
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, fmt.Sprint(code, h["Alt-Svc"]))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, "https://www.test/103", nil)
	if resp, err := httpsClient(addr, ca.pool, false).Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if !slices.Equal(hints, []string{"103 []"}) {
		t.Errorf("a 103 whose origin sent Alt-Svc: %q; want it relayed without", hints)
	}
	l.HTTP3 = true
	mustApply(t, rt, httpProxy(2, ip, l))
	if resp, _, _ := get(t, h3Client(t, lo.Next(), addr, ca.pool), "https://www.test/", "www.test"); len(resp.Header.Values("Alt-Svc")) != 0 {
		t.Errorf("HTTP/3 answer: Alt-Svc %q; want none", resp.Header.Values("Alt-Svc"))
	}
	want := []string{fmt.Sprintf(`h3=":%d"; ma=86400`, port)}
	if resp, _, _ := get(t, httpsClient(addr, ca.pool, false), "https://www.test/", "www.test"); !slices.Equal(resp.Header.Values("Alt-Svc"), want) {
		t.Errorf("HTTP/3 on, HTTP/1.1 answer: Alt-Svc %q; want only the edge's %q", resp.Header.Values("Alt-Svc"), want)
	}
}

// firstWrites passes on the first n datagrams a client sends (its
// Initial packets) and drops the rest, as a spoofed source that never
// sees the server's answer behaves. A bare net.PacketConn: quic-go would
// write through a *net.UDPConn's WriteMsgUDP, past WriteTo.
type firstWrites struct {
	net.PacketConn
	left atomic.Int32
}

func (c *firstWrites) WriteTo(b []byte, a net.Addr) (int, error) {
	if c.left.Add(-1) < 0 {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, a)
}

// TestQUICHandshakesBounded: every QUIC Initial made quic-go set up a
// connection (goroutines, TLS state) that a source which never answers,
// as a spoofed one, held for the 5 s handshake timeout, and the proxy's
// cap counts a connection only once handshaken: 1,500 abandoned
// handshakes left ~900 at once. Past maxHandshakes (256) in flight,
// clients must answer a Retry first, and an honest one still gets in.
func TestQUICHandshakesBounded(t *testing.T) {
	const initials = 600
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	s := httpProxy(1, ip, h3Listener(t, ca, port, httpOrigin(t, "a", nil)))
	s.Proxies[0].MaxConns = 10
	mustApply(t, rt, s)

	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for range initials {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fw := &firstWrites{PacketConn: h3Socket(t, lo.Next())}
			fw.left.Store(2) // A post-quantum ClientHello spans two Initials.
			tr := &quic.Transport{Conn: fw}
			defer tr.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			_, _ = tr.Dial(ctx, net.UDPAddrFromAddrPort(addr),
				&tls.Config{RootCAs: ca.pool, ServerName: "www.test", NextProtos: []string{http3.NextProtoH3}},
				&quic.Config{HandshakeIdleTimeout: time.Second})
		})
	}
	wg.Wait()
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	// One goroutine per server connection waiting for its handshake; a few
	// may be ending meanwhile.
	if half := strings.Count(b.String(), "quic-go.(*baseServer).handleNewConn("); half > 300 {
		t.Errorf("%d abandoned QUIC handshakes: %d in flight at the edge; want at most about 256", initials, half)
	}
	if resp, _, _ := get(t, h3Client(t, lo.Next(), addr, ca.pool), "https://www.test/", "www.test"); resp.StatusCode != http.StatusOK {
		t.Errorf("an honest HTTP/3 client amid the flood: %d; want 200", resp.StatusCode)
	}
}

// TestHTTP3WebSocketOrigin200IsNotSuccess: over HTTP/3 a 2xx answer to an
// extended CONNECT is the WebSocket's success (RFC 9220): an origin that
// ignored the Upgrade and served its page (200, no 101) had the page read
// as frames by the client. It is a 502, as a 101 that is no handshake.
func TestHTTP3WebSocketOrigin200IsNotSuccess(t *testing.T) {
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	page := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>")
	}).Addr
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, page)))
	cc := h3Conn(t, lo.Next(), addr, ca)
	_, resp := extendedConnect(t, cc, "websocket", "/chat")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		t.Errorf("origin answered 200 (no 101) to the WebSocket handshake: the HTTP/3 client got %d %q, "+
			"which RFC 9220 makes an established WebSocket; want a non-2xx (502)", resp.StatusCode, body)
	}
}
