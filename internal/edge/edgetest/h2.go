package edgetest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// RawH2 is a hand-driven HTTP/2 client connection, for clients that
// misbehave in ways http2.Transport never does (granting no flow-control
// credit, trickling a head). Writes hold Mu.
type RawH2 struct {
	Mu   sync.Mutex
	Conn *tls.Conn
	Fr   *http2.Framer
	bw   *bufio.Writer
}

// DialH2 connects over TLS with ALPN h2 (certificates unchecked) and sends
// the preface and settings.
func DialH2(t TB, addr netip.AddrPort, serverName string, settings ...http2.Setting) *RawH2 {
	t.Helper()
	r, err := TryDialH2(t, addr, serverName, settings...)
	if err != nil {
		t.Fatalf("dial %v: %v", addr, err)
	}
	return r
}

// TryDialH2 is DialH2 for a connection the node may refuse: it reports the
// dial's or the handshake's error instead of failing the test.
func TryDialH2(t TB, addr netip.AddrPort, serverName string, settings ...http2.Setting) (*RawH2, error) {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: serverName, NextProtos: []string{"h2"}}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr.String(), cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN: got %q; want h2", p)
	}
	bw := bufio.NewWriter(c)
	_, _ = bw.WriteString(http2.ClientPreface)
	r := &RawH2{Conn: c, Fr: http2.NewFramer(bw, c), bw: bw}
	_ = r.Fr.WriteSettings(settings...)
	_ = bw.Flush()
	return r, nil
}

// H2Head encodes a request head for authority.
func H2Head(method, authority, path string, extra ...string) []byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, f := range [][2]string{{":method", method}, {":scheme", "https"}, {":authority", authority}, {":path", path}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	for i := 0; i+1 < len(extra); i += 2 {
		_ = enc.WriteField(hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
	}
	return buf.Bytes()
}

// Request sends a whole request head (and no body) on stream id.
func (r *RawH2) Request(id uint32, authority, method, path string) {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	_ = r.Fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: H2Head(method, authority, path),
		EndStream: true, EndHeaders: true})
	r.Flush()
}

// Flush sends what the framer buffered; the caller holds Mu.
func (r *RawH2) Flush() { _ = r.bw.Flush() }

// ReadLoop reads frames until the connection ends, acknowledging SETTINGS
// and PINGs (a live client) and granting no flow-control credit; each
// frame then goes to f (may be nil). The channel is closed at the end.
func (r *RawH2) ReadLoop(f func(http2.Frame)) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			fr, err := r.Fr.ReadFrame()
			if err != nil {
				return
			}
			switch x := fr.(type) {
			case *http2.SettingsFrame:
				if !x.IsAck() {
					r.Mu.Lock()
					_ = r.Fr.WriteSettingsAck()
					r.Flush()
					r.Mu.Unlock()
				}
			case *http2.PingFrame:
				if !x.IsAck() {
					r.Mu.Lock()
					_ = r.Fr.WritePing(true, x.Data)
					r.Flush()
					r.Mu.Unlock()
				}
			}
			if f != nil {
				f(fr)
			}
		}
	}()
	return done
}
