package l7

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// observe wraps a client connection in a tapConn when a traffic mirror of
// the proxy selects it; otherwise it returns nc. Decided once, at accept,
// as for layer-4 connections.
func observe(nc net.Conn, h *Handler, client, local netip.AddrPort) net.Conn {
	tap := h.Proxy.ObserveTCP(func() l4.Flow {
		return l4.Flow{ProxyID: h.Proxy.ID, ListenerID: h.ID, Proto: snapshot.ProtoTCP, Client: client, Local: local}
	})
	if tap == nil {
		return nc
	}
	return &tapConn{Conn: nc, tap: tap}
}

// tapConn shows a mirror the wire bytes of one client connection (TLS
// records included: what the access IP receives and sends). Such a
// connection takes the buffered path, since the raw one (fastraw.go)
// reads the bare socket. Reads come from one goroutine at a time (net/http
// serialises its background read with the others), and so do writes; but
// Close may come from another goroutine while a write is under way (a TLS
// connection closed under its writer, a WebSocket copy ending), hence mu.
type tapConn struct {
	net.Conn
	tap    l4.TCPTap
	eof    bool // The client's FIN was seen; only readers touch it.
	mu     sync.Mutex
	closed bool // Under mu: egress ended, nothing more is offered.
	reset  bool // Under mu: the client reset the connection.
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.tap.Data(l4.Ingress, n, l4.CopyChunk(b[:n]))
	}
	switch {
	case err == io.EOF && !c.eof:
		c.eof = true
		c.tap.End(l4.Ingress)
	case aborted(err):
		c.sawReset()
	}
	return n, err
}

// Write offers the mirror what was written, after the write (a copy
// either way), so that it never shows bytes the socket did not send, nor
// any after the FIN that Close shows.
func (c *tapConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.mu.Lock()
		if !c.closed {
			c.tap.Data(l4.Egress, n, l4.CopyChunk(b[:n]))
		}
		c.mu.Unlock()
	}
	if aborted(err) {
		c.sawReset()
	}
	return n, err
}

// Close ends the proxy's side with a FIN. The client's FIN shows only if
// it was read before: a connection the proxy ends first is not read on.
// A connection the client reset sends nothing more, so it shows no FIN
// but the reset, as a layer-4 connection's abort does (l4.TCPTap.Close).
func (c *tapConn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		if !c.reset {
			c.tap.End(l4.Egress)
		}
		c.tap.Close(c.reset)
	}
	return err
}

// sawReset records that the client reset the connection.
func (c *tapConn) sawReset() {
	c.mu.Lock()
	c.reset = true
	c.mu.Unlock()
}

// aborted reports whether err is the client's reset: its RST, read as
// ECONNRESET, or a write into the reset socket (EPIPE). Timeouts and the
// proxy's own Close end the connection with the proxy's FIN instead.
func aborted(err error) bool {
	return err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}
