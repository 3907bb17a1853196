package edge_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// wireCount records what crossed a client connection.
type wireCount struct {
	net.Conn
	in, out bytes.Buffer // Read from and written to the proxy.
}

func (c *wireCount) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Write(b[:n])
	return n, err
}

func (c *wireCount) Write(b []byte) (int, error) {
	c.out.Write(b)
	return c.Conn.Write(b)
}

// TestMirrorHTTPListeners: a mirror of a proxy copies the client leg of
// its HTTP and HTTPS listeners' connections as of its layer-4 ones, byte
// for byte as they crossed the wire (TLS records for HTTPS), with the
// handshake and both FINs; a mirror of another listener copies nothing.
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
		name string
		port int
		tls  bool
	}{{"HTTP", hp, false}, {"HTTPS", sp, true}} {
		before := len(col.packets())
		c := &wireCount{Conn: dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(tc.port)))}
		client := c.LocalAddr().(*net.TCPAddr).AddrPort()
		var rw io.ReadWriter = c
		if tc.tls {
			tc := tls.Client(c, &tls.Config{ServerName: "www.test", RootCAs: pki.pool})
			defer tc.Close()
			rw = tc
		}
		req, _ := http.NewRequest(http.MethodGet, "http://www.test/mirrored", nil)
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

		var sum tcpSummary
		edgetest.Eventually(t, 3*time.Second, func() bool {
			sum = summarize(t, col.packets()[before:], client)
			return sum.fin[0] == 1 && sum.fin[1] == 1
		}, "%s: no FIN in both directions", tc.name)
		switch {
		case sum.syn != [2]int{1, 0} || sum.synAck != [2]int{0, 1}:
			t.Errorf("%s: SYN %v SYN-ACK %v; want one each, client first", tc.name, sum.syn, sum.synAck)
		case !bytes.Equal(sum.payload[0], c.out.Bytes()) || !bytes.Equal(sum.payload[1], c.in.Bytes()):
			t.Errorf("%s: mirrored %d/%d bytes; want the %d/%d on the wire", tc.name, len(sum.payload[0]), len(sum.payload[1]), c.out.Len(), c.in.Len())
		case sum.seqGaps != 0 || sum.badChecksums != 0 || sum.rst != [2]int{}:
			t.Errorf("%s: seq gaps %d, bad checksums %d, RST %v; want none", tc.name, sum.seqGaps, sum.badChecksums, sum.rst)
		}
	}
	if n := len(other.packets()); n != 0 {
		t.Errorf("a mirror of another listener got %d packets; want none", n)
	}
}
