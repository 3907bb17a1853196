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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

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

// TestMirrorHTTPClientReset: a client resets its connection to an HTTP
// listener in the middle of a request head (SO_LINGER 0, as browsers and
// load balancers abort). On the wire the client sends an RST and the proxy
// nothing more; the mirror must show no FIN from the proxy but the
// connection reset, as a layer-4 listener's does (TestMirrorTCPReset).
func TestMirrorHTTPClientReset(t *testing.T) {
	t.Parallel()
	col := startCollector(t)
	origin := httpOrigin(t, "o", nil)
	ip := lo.Next()
	hp := edgetest.FreePort(t, ip)
	domains := []snapshot.Domain{{Host: "www.test", IsDefault: true, Rules: []snapshot.Rule{rule("r-m", "/", l7Origins(origin))}}}
	s := httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-h", Protocol: snapshot.ProtoHTTP, Port: hp, Domains: domains})
	s.Mirrors = []snapshot.Mirror{{ID: "imgf-1", VNI: 1, Sources: []snapshot.MirrorSource{{ProxyID: "link-1"}}, Direction: snapshot.MirrorAll,
		Targets: []snapshot.MirrorTarget{{IP: col.Addr.Addr().String(), Port: int(col.Addr.Port())}}}}
	mustApply(t, newRuntime(t, edge.Options{}), s)

	c := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(hp)))
	client := c.LocalAddr().(*net.TCPAddr).AddrPort()
	_, _ = io.WriteString(c, "GET /x HTTP/1.1\r\nHost: www.test\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_, _ = io.WriteString(c, "GET /partial HTTP/1.1\r\n") // A head in progress.
	// Its bytes, not a packet count taken after the write: the copy may
	// be at the collector by then.
	edgetest.Eventually(t, 3*time.Second, func() bool {
		return bytes.Contains(summarize(t, col.packets(), client).payload[0], []byte("GET /partial"))
	}, "the partial head was not mirrored")
	_ = c.SetLinger(0)
	_ = c.Close() // RST.
	var sum tcpSummary
	edgetest.Eventually(t, 3*time.Second, func() bool {
		sum = summarize(t, col.packets(), client)
		return sum.rst != [2]int{} || sum.fin[1] != 0
	}, "the end of the connection was not mirrored")
	time.Sleep(50 * time.Millisecond) // Anything the mirror would add after it.
	if sum = summarize(t, col.packets(), client); sum.fin != [2]int{} || sum.rst != [2]int{0, 1} {
		t.Errorf("client reset: mirror shows FIN %v and RST %v (ingress, egress); want no FIN (none was sent) and the reset [0 1]", sum.fin, sum.rst)
	}
}

// recordingPC is a QUIC client's socket that records the datagrams it
// sends and receives. It is a plain PacketConn, so quic-go moves one
// datagram per call through it.
type recordingPC struct {
	net.PacketConn
	mu      sync.Mutex
	in, out [][]byte // Received from and sent to the proxy.
}

func (c *recordingPC) ReadFrom(b []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(b)
	if n > 0 {
		c.mu.Lock()
		c.in = append(c.in, bytes.Clone(b[:n]))
		c.mu.Unlock()
	}
	return n, a, err
}

func (c *recordingPC) WriteTo(b []byte, a net.Addr) (int, error) {
	n, err := c.PacketConn.WriteTo(b, a)
	if err == nil {
		c.mu.Lock()
		c.out = append(c.out, bytes.Clone(b))
		c.mu.Unlock()
	}
	return n, err
}

func (c *recordingPC) wire() (in, out [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.in), slices.Clone(c.out)
}

// udpPayloads splits a capture's UDP datagrams of client's flow by
// direction: sent by the client (in) and to it (out).
func udpPayloads(pkts []gopacket.Packet, client netip.AddrPort) (in, out [][]byte) {
	for _, p := range pkts {
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		switch {
		case ip == nil || udp == nil:
		case ip.SrcIP.Equal(client.Addr().AsSlice()) && int(udp.SrcPort) == int(client.Port()):
			in = append(in, udp.Payload)
		case ip.DstIP.Equal(client.Addr().AsSlice()) && int(udp.DstPort) == int(client.Port()):
			out = append(out, udp.Payload)
		}
	}
	return in, out
}

// TestMirrorHTTP3: a mirror of an HTTP/3 listener copies its QUIC
// datagrams both ways, each as it crossed the wire: those the server sent
// with GSO (several in one write) come out one by one.
func TestMirrorHTTP3(t *testing.T) {
	t.Parallel()
	col := startCollector(t)
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	s := httpProxy(1, ip, h3Listener(t, ca, port, httpOrigin(t, "a", nil)))
	s.Mirrors = []snapshot.Mirror{{ID: "imgf-3", VNI: 3, Sources: []snapshot.MirrorSource{{ProxyID: "link-1", ListenerID: "lsr-h3"}},
		Direction: snapshot.MirrorAll, Targets: []snapshot.MirrorTarget{{IP: col.Addr.Addr().String(), Port: int(col.Addr.Port())}}}}
	mustApply(t, rt, s)

	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo.Next(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	pc := &recordingPC{PacketConn: udp}
	client := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool},
		Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			return quic.Dial(ctx, pc, net.UDPAddrFromAddrPort(addr), tc, qc)
		}}
	// A body larger than a datagram, so that the answer spans several.
	resp, s2, _ := get(t, &http.Client{Transport: tr, Timeout: 5 * time.Second}, "https://www.test/"+strings.Repeat("x", 3000), "www.test")
	if resp.ProtoMajor != 3 || s2.Name != "a" {
		t.Fatalf("got %s from %q; want HTTP/3 from a", resp.Proto, s2.Name)
	}
	_ = tr.Close() // Sends CONNECTION_CLOSE.

	var sent, got, in, out [][]byte
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, sent = pc.wire()
		in, out = udpPayloads(col.packets(), client)
		if len(in) == len(sent) && len(out) >= len(got) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mirrored %d/%d datagrams; want the %d/%d on the client's socket", len(in), len(out), len(sent), len(got))
		}
	}
	for i := range sent {
		if !bytes.Equal(in[i], sent[i]) {
			t.Fatalf("client datagram %d: mirrored %d bytes differ from the %d sent", i, len(in[i]), len(sent[i]))
		}
	}
	for i := range got { // The server may send after the client stopped reading.
		if !bytes.Equal(out[i], got[i]) {
			t.Fatalf("server datagram %d: mirrored %d bytes differ from the %d received", i, len(out[i]), len(got[i]))
		}
	}
	t.Logf("%d datagrams in, %d out", len(in), len(out))
}
