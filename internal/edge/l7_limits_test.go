package edge_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestHTTPBandwidthCap downloads and uploads through an 8 Mbps proxy and
// checks each direction took the time 8 Mbps allows (± 15%: HTTP framing
// and the bucket's initial burst are included). Not parallel: it measures
// time, like TestBandwidthCap, and they would skew each other on 2 cores.
func TestHTTPBandwidthCap(t *testing.T) {
	const mbps, size = 8, 1 << 20 // 1 MiB ≈ 1.05 s at 8 Mbps.
	blob := strings.Repeat("x", size)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if n == 0 {
			io.WriteString(w, blob)
		}
	}))
	t.Cleanup(origin.Close)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := snapshot.HTTPListener{ID: "lsr-bw", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "bw.test", Rules: []snapshot.Rule{rule("r-bw", "/", l7Origins(netip.MustParseAddrPort(origin.Listener.Addr().String())))}}}}
	s := httpProxy(1, ip, l)
	s.Proxies[0].BandwidthMbps = mbps
	mustApply(t, rt, s)
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	c := &http.Client{Timeout: 10 * time.Second}

	for _, dir := range []string{"download", "upload"} {
		var body []byte
		if dir == "upload" {
			body = []byte(blob)
		}
		edgetest.ShapedRate(t, dir, mbps, 0.15, func() float64 {
			time.Sleep(200 * time.Millisecond) // A second try starts with a full bucket, as the first.
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Host = "bw.test"
			start := time.Now()
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", dir, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return float64(size) * 8 / time.Since(start).Seconds() / 1e6
		})
	}
}

// TestHTTPPolicyRecheck: a keep-alive connection whose source a new policy
// denies is closed; the next request on it is not served.
func TestHTTPPolicyRecheck(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, edge.Options{})
	a := httpOrigin(t, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	to := netip.AddrPortFrom(ip, uint16(port))
	bad, good := lo.Next(), lo.Next()
	l := snapshot.HTTPListener{ID: "lsr-pol", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "p.test", Rules: []snapshot.Rule{rule("r-pol", "/", l7Origins(a))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	cb, cg := dial(t, bad, to), dial(t, good, to)
	for _, c := range []net.Conn{cb, cg} {
		if code := keepAliveGet(c); code != http.StatusOK {
			t.Fatalf("before the policy: got %d", code)
		}
	}

	s := httpProxy(2, ip, l)
	s.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionAccept,
		Rules: []snapshot.SecurityRule{{SourceCIDR: bad.String() + "/32", Protocol: snapshot.ProtoTCP, DestPorts: "ALL", Action: snapshot.ActionDrop}}}
	mustApply(t, rt, s)
	if code := keepAliveGet(cb); code != 0 {
		t.Errorf("denied keep-alive connection: got %d; want closed", code)
	}
	if code := keepAliveGet(cg); code != http.StatusOK {
		t.Errorf("allowed keep-alive connection: got %d; want 200", code)
	}
}

// deniableClient starts an HTTP listener for p.test to origin and
// returns a client connection to it from an address of its own, the
// runtime, and the snapshot whose policy denies that client.
func deniableClient(t *testing.T, origin netip.AddrPort) (*edge.Runtime, net.Conn, *snapshot.Snapshot) {
	t.Helper()
	rt, c, deny, _ := cuttableClient(t, origin, edge.Options{})
	return rt, c, deny
}

// cuttableClient is deniableClient on a runtime with opts, which also
// returns the snapshot that removes the listener (drained, then cut).
func cuttableClient(t *testing.T, origin netip.AddrPort, opts edge.Options) (rt *edge.Runtime, c net.Conn, deny, removed *snapshot.Snapshot) {
	t.Helper()
	rt = newRuntime(t, opts)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	bad := lo.Next()
	l := snapshot.HTTPListener{ID: "lsr-deny", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "p.test", Rules: []snapshot.Rule{rule("r-deny", "/", l7Origins(origin))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	c = dial(t, bad, netip.AddrPortFrom(ip, uint16(port)))
	deny = httpProxy(2, ip, l)
	deny.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-deny", Enabled: true, DefaultAction: snapshot.ActionAccept,
		Rules: []snapshot.SecurityRule{{SourceCIDR: bad.String() + "/32", Protocol: snapshot.ProtoTCP, DestPorts: "ALL", Action: snapshot.ActionDrop}}}
	return rt, c, deny, httpProxy(2, ip)
}

// TestHTTPPolicyRecheckCutsRequestInFlight: a connection whose source a
// new policy denies while its request waits for the origin is closed at
// once, without the answer: the fast path serves a plain-HTTP request
// inside a raw read's callback, which holds the socket, and closing it
// waited for the request to end (the denied client got its answer, and
// the policy change waited, for as long as the origin took).
func TestHTTPPolicyRecheckCutsRequestInFlight(t *testing.T) {
	t.Parallel()
	got := make(chan struct{}, 1)
	slow := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		got <- struct{}{}
		time.Sleep(3 * time.Second)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}).Addr
	rt, c, deny := deniableClient(t, slow)
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: p.test\r\n\r\n")
	<-got

	start := time.Now()
	mustApply(t, rt, deny)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		t.Fatalf("denied client got the answer %d after %v; want its connection closed", resp.StatusCode, time.Since(start))
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("denied client's connection closed %v after the policy change (%v); want at once", d, err)
	}
}

// TestHTTPCutResetsCloseDelimited: a connection the edge cuts (a policy
// that denies its client, the end of a removed listener's drain) is reset,
// not closed with a FIN: a client reading an answer framed by the
// connection's end (an HTTP/1.0 client, no Content-Length; RFC 9112 6.3)
// took the FIN for the end of the body and kept the cut download as whole.
// The client reads once both could have arrived: Linux then answers a
// FIN-then-reset with the end of the stream, a reset alone with an error.
func TestHTTPCutResetsCloseDelimited(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(rt *edge.Runtime, deny, removed *snapshot.Snapshot)
	}{
		{"policy", func(rt *edge.Runtime, deny, _ *snapshot.Snapshot) { mustApply(t, rt, deny) }},
		{"drain end", func(rt *edge.Runtime, _, removed *snapshot.Snapshot) { mustApply(t, rt, removed) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart1,")
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = io.Copy(io.Discard, c) // Until the edge gives up the download.
				_, _ = io.WriteString(c, "part2")
			}).Addr
			rt, c, deny, removed := cuttableClient(t, origin, edge.Options{DrainGrace: 200 * time.Millisecond})
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.WriteString(c, "GET /file HTTP/1.0\r\nHost: p.test\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			first := make([]byte, 6)
			if _, err := io.ReadFull(resp.Body, first); err != nil {
				t.Fatal(err)
			}
			tc.cut(rt, deny, removed)
			time.Sleep(time.Second) // Past the drain, and whatever the cut sent is in.
			if rest, err := io.ReadAll(resp.Body); err == nil {
				t.Errorf("the body ended cleanly after %q+%q; want the connection reset, so that the cut body is not taken for whole",
					first, rest)
			}
		})
	}
}

// keepAliveGet sends one request on c and returns the status, 0 if the
// connection is gone.
func keepAliveGet(c net.Conn) int {
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: p.test\r\n\r\n"); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
