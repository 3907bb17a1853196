package edge_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// rebindConn is a client UDP socket that can be moved to another local
// address without the QUIC stack knowing, as a NAT rebinding or a phone
// switching networks does: writes leave from the current socket, reads
// come from every socket it had (unless deaf: then the new sockets are
// never read, a client that does not answer PATH_CHALLENGE).
type rebindConn struct {
	mu   sync.Mutex
	cur  *net.UDPConn
	all  []*net.UDPConn
	in   chan rebindPkt
	done chan struct{}
	once sync.Once
}

type rebindPkt struct {
	b    []byte
	addr net.Addr
}

func newRebindConn(t *testing.T, src netip.Addr) *rebindConn {
	c := &rebindConn{in: make(chan rebindPkt, 256), done: make(chan struct{})}
	c.rebind(t, src, false)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (c *rebindConn) rebind(t *testing.T, src netip.Addr, deaf bool) {
	t.Helper()
	pc := h3Socket(t, src)
	c.mu.Lock()
	c.cur = pc
	c.all = append(c.all, pc)
	c.mu.Unlock()
	if deaf {
		return
	}
	go func() {
		for {
			b := make([]byte, 2048)
			n, a, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			select {
			case c.in <- rebindPkt{b[:n], a}:
			case <-c.done:
				return
			}
		}
	}()
}

func (c *rebindConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-c.in:
		return copy(b, p.b), p.addr, nil
	case <-c.done:
		return 0, nil, net.ErrClosed
	}
}

func (c *rebindConn) WriteTo(b []byte, a net.Addr) (int, error) {
	c.mu.Lock()
	pc := c.cur
	c.mu.Unlock()
	return pc.WriteTo(b, a)
}

func (c *rebindConn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.mu.Lock()
		for _, pc := range c.all {
			_ = pc.Close()
		}
		c.mu.Unlock()
	})
	return nil
}

func (c *rebindConn) LocalAddr() net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur.LocalAddr()
}
func (c *rebindConn) SetDeadline(time.Time) error { return nil }
func (c *rebindConn) SetReadDeadline(d time.Time) error { // quic-go's Transport.Close unblocks its reader so.
	if !d.IsZero() && !d.After(time.Now()) {
		_ = c.Close()
	}
	return nil
}
func (c *rebindConn) SetWriteDeadline(time.Time) error { return nil }

// h3ServedBeforeDeniedRebind serves an HTTP/3 listener ("lsr-h3") whose
// policy drops the address it returns (bad), and a client connected from
// another address that a GET was served to, ready to rebind to bad.
func h3ServedBeforeDeniedRebind(t *testing.T) (*edge.Runtime, netip.Addr, *rebindConn, *quic.Conn, *http3.ClientConn) {
	good, bad := lo.Next(), lo.Next()
	rt, ca, ip, port, addr := h3Setup(t, edge.Options{})
	mustApply(t, rt, denyFrom(httpProxy(1, ip, h3Listener(t, ca, port, httpOrigin(t, "a", nil))), bad))
	rc, qc, cc := h3DialRebind(t, good, addr, ca.pool)
	if got, err := h3Post(t, cc, http.MethodGet); got != good.String() {
		t.Fatalf("from %v: X-Real-Ip %q, %v", good, got, err)
	}
	return rt, bad, rc, qc, cc
}

// h3DialRebind is h3Dial over a rebindConn.
func h3DialRebind(t *testing.T, src netip.Addr, addr netip.AddrPort, pool *x509.CertPool) (*rebindConn, *quic.Conn, *http3.ClientConn) {
	t.Helper()
	rc := newRebindConn(t, src)
	tr := &quic.Transport{Conn: rc, ConnectionIDLength: 8}
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
	return rc, qc, (&http3.Transport{}).NewClientConn(qc)
}

// h3Post sends method / over cc and returns the X-Real-Ip the origin saw
// ("" and an error if the request was not answered by the origin).
func h3Post(t *testing.T, cc *http3.ClientConn, method string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var body *strings.Reader
	if method == http.MethodPost {
		body = strings.NewReader("transfer=1000")
	} else {
		body = strings.NewReader("")
	}
	req, _ := http.NewRequestWithContext(ctx, method, "https://www.test/", body)
	if method != http.MethodPost {
		req.Body = nil
	}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return "", err
	}
	var s seen
	decode(t, resp, &s)
	return s.Header.Get("X-Real-Ip"), nil
}

func denyFrom(s *snapshot.Snapshot, bad netip.Addr) *snapshot.Snapshot {
	s.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionAccept,
		Rules: []snapshot.SecurityRule{{SourceCIDR: bad.String() + "/32", Protocol: snapshot.ProtoAll, DestPorts: "ALL", Action: snapshot.ActionDrop}}}
	return s
}

// TestHTTP3RebindToDeniedSourceNotServed: a client whose address
// changes without an explicit probe (a NAT rebinding, a phone changing
// networks: the QUIC stack just keeps sending) sends its next request from
// an address the security policy drops. quic-go processes the packet's
// frames at once but keeps the connection's address (RemoteAddr) the old,
// validated one until the new path is validated and switched to; the edge
// checks r.RemoteAddr (serveHTTP / onPath), so the request from the denied
// address passes as coming from the allowed one: the origin executes it
// (a POST here) with X-Real-Ip naming the old address, and the client gets
// the answer. The socket now drops each datagram of a denied source
// before quic-go sees it, so none of its requests is served and the
// attempt counts as denied.
func TestHTTP3RebindToDeniedSourceNotServed(t *testing.T) {
	rt, bad, rc, _, cc := h3ServedBeforeDeniedRebind(t)
	rc.rebind(t, bad, false) // The client's address changes under it.
	if got, err := h3Post(t, cc, http.MethodPost); err == nil {
		t.Errorf("POST sent from %v, which the policy drops, reached the origin and was answered (origin saw X-Real-Ip %q)", bad, got)
	}
	edgetest.Eventually(t, 2*time.Second, func() bool {
		return rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-h3"}].Denied > 0
	}, "the denied source's datagrams not counted as denied")
}

// TestHTTP3RebindDeafClientNotServed: the same, from a client that
// does not read on its new address (so never answers the edge's
// PATH_CHALLENGE): quic-go never switches the connection's address, so
// neither the per-request check nor the 500 ms sweep (both read
// RemoteAddr) ever saw the denied address, and every request sent from it
// was served for as long as the client liked; now none is.
func TestHTTP3RebindDeafClientNotServed(t *testing.T) {
	rt, bad, rc, qc, cc := h3ServedBeforeDeniedRebind(t)
	rc.rebind(t, bad, true)
	served := 0
	deadline := time.Now().Add(2 * time.Second) // Four sweeps.
	for time.Now().Before(deadline) {
		if _, err := h3Post(t, cc, http.MethodPost); err != nil {
			break
		}
		served++
		time.Sleep(100 * time.Millisecond)
	}
	alive := qc.Context().Err() == nil
	if served > 0 {
		t.Errorf("%d POSTs sent from %v (which the policy drops) were served over 2 s; connection still open: %v", served, bad, alive)
	}
	// Refused by the policy, not failing for another reason.
	if d := rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-h3"}].Denied; d == 0 {
		t.Error("the denied source's datagrams not counted as denied")
	}
}
