package edge_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// wireCount records what crossed a client connection.
type wireCount struct {
	net.Conn
	mu      sync.Mutex   // An HTTP/2 client reads and writes from its own goroutines.
	in, out bytes.Buffer // Read from and written to the proxy.
}

func (c *wireCount) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.in.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

func (c *wireCount) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.mu.Lock()
	c.out.Write(b[:n])
	c.mu.Unlock()
	return n, err
}

// wire returns copies of what was read and written so far.
func (c *wireCount) wire() (in, out []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.in.Bytes()), bytes.Clone(c.out.Bytes())
}

// TestMirrorHTTPListeners: a mirror of a proxy copies the client leg of
// its HTTP and HTTPS listeners' connections as of its layer-4 ones (HTTP/1.1
// and HTTP/2, whose reader and writer are separate goroutines), byte for
// byte as they crossed the wire (TLS records for HTTPS), with the handshake
// and both FINs; a mirror of another listener copies nothing.
func TestMirrorHTTPListeners(t *testing.T) {
	t.Parallel()
	col, other := startCollector(t), startCollector(t)
	target := func(c *collector) []snapshot.MirrorTarget {
		return []snapshot.MirrorTarget{{IP: c.Addr.Addr().String(), Port: int(c.Addr.Port())}}
	}
	pki := newTestPKI(t, "mirror CA")
	cert, key := pki.leaf(t, "listener", "www.test")
	origin := httpOrigin(t, "o", nil)
	ip := lo.Next()
	hp, sp := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	domains := []snapshot.Domain{{Host: "www.test", IsDefault: true, Rules: []snapshot.Rule{rule("r-m", "/", l7Origins(origin))}}}
	s := httpProxy(1, ip,
		snapshot.HTTPListener{ID: "lsr-h", Protocol: snapshot.ProtoHTTP, Port: hp, Domains: domains},
		snapshot.HTTPListener{ID: "lsr-s", Protocol: snapshot.ProtoHTTPS, Port: sp, TLS: &snapshot.TLS{CertPEM: cert, KeyPEM: key}, Domains: domains})
	s.Mirrors = []snapshot.Mirror{
		{ID: "imgf-1", VNI: 1, Sources: []snapshot.MirrorSource{{ProxyID: "link-1"}}, Direction: snapshot.MirrorAll, Targets: target(col)},
		{ID: "imgf-2", VNI: 2, Sources: []snapshot.MirrorSource{{ProxyID: "link-1", ListenerID: "lsr-none"}}, Direction: snapshot.MirrorAll, Targets: target(other)},
	}
	mustApply(t, newRuntime(t, edge.Options{}), s)

	for _, tc := range []struct {
		name    string
		port    int
		tls, h2 bool
	}{{"HTTP", hp, false, false}, {"HTTPS", sp, true, false}, {"HTTP/2", sp, true, true}} {
		before := len(col.packets())
		c := &wireCount{Conn: dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(tc.port)))}
		client := c.LocalAddr().(*net.TCPAddr).AddrPort()
		var rw io.ReadWriter = c
		if tc.tls {
			cfg := &tls.Config{ServerName: "www.test", RootCAs: pki.pool}
			if tc.h2 {
				cfg.NextProtos = []string{"h2"}
			}
			tconn := tls.Client(c, cfg)
			defer tconn.Close()
			rw = tconn
		}
		req, _ := http.NewRequest(http.MethodGet, "https://www.test/mirrored", nil)
		if tc.h2 {
			tr := &http.Transport{Protocols: new(http.Protocols), DialTLSContext: func(context.Context, string, string) (net.Conn, error) {
				return rw.(*tls.Conn), nil
			}}
			tr.Protocols.SetHTTP2(true)
			cc, err := tr.NewClientConn(t.Context(), "https", "www.test:443")
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			resp, err := cc.RoundTrip(req)
			if err != nil || resp.ProtoMajor != 2 {
				t.Fatalf("%s: %+v, %v; want an HTTP/2 answer", tc.name, resp, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// The FIN, then the client's read loop runs until the proxy's.
			c.Conn.(*net.TCPConn).CloseWrite()
			edgetest.Eventually(t, 3*time.Second, func() bool { return cc.Err() != nil }, "%s: the proxy did not close", tc.name)
		} else {
			if err := req.Write(rw); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(rw), req)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			io.Copy(io.Discard, resp.Body)
			// The client ends the kept-alive connection with a FIN (no TLS
			// close_notify: the TLS layer would stop reading at it, so the
			// FIN after it is not read); the proxy reads it and closes too.
			c.Conn.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, c) // Until the proxy's FIN.
		}

		var sum tcpSummary
		edgetest.Eventually(t, 3*time.Second, func() bool {
			sum = summarize(t, col.packets()[before:], client)
			return sum.fin[0] == 1 && sum.fin[1] == 1
		}, "%s: no FIN in both directions", tc.name)
		in, out := c.wire()
		switch {
		case sum.syn != [2]int{1, 0} || sum.synAck != [2]int{0, 1}:
			t.Errorf("%s: SYN %v SYN-ACK %v; want one each, client first", tc.name, sum.syn, sum.synAck)
		case !bytes.Equal(sum.payload[0], out) || !bytes.Equal(sum.payload[1], in):
			t.Errorf("%s: mirrored %d/%d bytes; want the %d/%d on the wire", tc.name, len(sum.payload[0]), len(sum.payload[1]), len(out), len(in))
		case sum.seqGaps != 0 || sum.badChecksums != 0 || sum.rst != [2]int{}:
			t.Errorf("%s: seq gaps %d, bad checksums %d, RST %v; want none", tc.name, sum.seqGaps, sum.badChecksums, sum.rst)
		}
	}
	if n := len(other.packets()); n != 0 {
		t.Errorf("a mirror of another listener got %d packets; want none", n)
	}
}
