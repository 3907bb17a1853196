package l7

import (
	"context"
	"net"
	"net/netip"

	"github.com/quic-go/quic-go"
	"golang.org/x/net/ipv4"

	"github.com/opengaap/opengaap/internal/edge/limit"
)

// quicSocket is the UDP socket an H3Server hands to quic-go: the raw
// *net.UDPConn (so quic-go keeps batched reads, GSO, ECN and DF, which it
// only enables on an OOBCapablePacketConn) with the two calls quic-go
// moves datagrams through on Linux passed through the proxy's bandwidth
// buckets, shared with its TCP listeners. Reads are charged after the fact
// and delay the next read: the kernel queue fills and drops, and QUIC
// congestion control slows the client down as TCP flow control would.
// Writes wait before the datagram leaves, which backs up quic-go's send
// queue. The buckets are looked up on every call, so a limit set, changed
// or lifted while the listener lives applies at once; unlimited, the cost
// is two atomic loads per batch. Safe for concurrent use.
type quicSocket struct {
	*net.UDPConn
	batch *ipv4.PacketConn // recvmmsg, as quic-go does on a bare socket.
	h     func() *Handler  // The listener's current handler: its proxy's buckets and mirror.
	// denied counts a datagram the proxy's policy drops (H3Server.countDenied).
	denied func(net.Addr)
	local  netip.AddrPort
	mirror h3Mirror
	// ctx ends waits when the socket closes.
	ctx    context.Context
	cancel context.CancelFunc
}

// Interface guards: quic-go uses ReadBatch (its batchConn) and WriteMsgUDP
// only when the socket is both.
var (
	_ quic.OOBCapablePacketConn = (*quicSocket)(nil)
	_ interface {
		ReadBatch([]ipv4.Message, int) (int, error)
	} = (*quicSocket)(nil)
)

func newQUICSocket(pc *net.UDPConn, h func() *Handler, denied func(net.Addr)) *quicSocket {
	ctx, cancel := context.WithCancel(context.Background())
	return &quicSocket{UDPConn: pc, batch: ipv4.NewPacketConn(pc), h: h, denied: denied,
		local: pc.LocalAddr().(*net.UDPAddr).AddrPort(), ctx: ctx, cancel: cancel}
}

// ReadBatch reads datagrams into ms, empties those the proxy's policy
// denies (first: they spend no bandwidth and are not mirrored, as on a UDP
// listener), charges the rest to the In bucket and shows them to the
// proxy's mirror, if any.
func (c *quicSocket) ReadBatch(ms []ipv4.Message, flags int) (int, error) {
	n, err := c.batch.ReadBatch(ms, flags) // n is -1 on error.
	if n <= 0 {
		return n, err
	}
	h := c.h()
	if pol := h.Proxy.Policy.Load(); pol != nil {
		// Per datagram, as a UDP listener's policy: quic-go handles a
		// packet from a client's new address (a NAT rebinding) at once,
		// its requests included, and moves the connection there only
		// once it has validated that path, so checks of a connection's or
		// a request's address saw the old one, and a denied source's
		// requests were served (for ever, if it never answered the
		// path's challenge). An empty datagram is one quic-go drops.
		for i := range ms[:n] {
			if ua, ok := ms[i].Addr.(*net.UDPAddr); ok && !pol.Allow(ua.AddrPort().Addr(), policyUDP, h.port) {
				ms[i].N = 0
				c.denied(ms[i].Addr)
			}
		}
	}
	if h.Proxy.Tapped() {
		c.mirror.ingress(h, c.local, ms[:n])
	}
	if bw := h.Proxy.BW; bw.Limited() {
		total := 0
		for _, m := range ms[:n] {
			total += m.N
		}
		_ = bw.Wait(c.ctx, limit.In, total) // Fails only once closed.
	}
	return n, err
}

// WriteMsgUDP waits for Out tokens, then sends b (several datagrams with
// GSO) and shows what was sent to the proxy's mirror, if any.
func (c *quicSocket) WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (n, oobn int, err error) {
	h := c.h()
	if bw := h.Proxy.BW; bw.Limited() {
		_ = bw.Wait(c.ctx, limit.Out, len(b)) // Fails only once closed.
	}
	n, oobn, err = c.UDPConn.WriteMsgUDP(b, oob, addr)
	if err == nil && h.Proxy.Tapped() {
		c.mirror.egress(h, c.local, addr, b, oob)
	}
	return n, oobn, err
}

// Close ends waits and closes the socket.
func (c *quicSocket) Close() error {
	c.cancel()
	return c.UDPConn.Close()
}
