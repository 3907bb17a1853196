package health

import (
	"errors"
	"net"
	"net/netip"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// ErrOwnListener is the error of a connect, send or check refused because
// its destination is one of the node's own listening addresses: proxying
// there would be a loop in which every hop opens a new connection or UDP
// session (and socket), until descriptors or the node's client
// descriptor budget run out.
var ErrOwnListener = errors.New("origin is a listening address of this node (forwarding loop)")

// Listening is the set of addresses the node listens on, by transport.
// It is immutable once passed to Pool.SetListening.
type Listening struct {
	tcp, udp map[netip.AddrPort]bool
}

// NewListening returns an empty set.
func NewListening() *Listening {
	return &Listening{tcp: map[netip.AddrPort]bool{}, udp: map[netip.AddrPort]bool{}}
}

// Add records a listening socket: udp for UDP (UDP listeners, HTTP/3),
// else TCP (TCP, HTTP and HTTPS listeners). An unspecified address
// listens on every local one.
func (l *Listening) Add(udp bool, ap netip.AddrPort) {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if udp {
		l.udp[ap] = true
	} else {
		l.tcp[ap] = true
	}
}

// has reports whether a connect to ap over the transport of an origin of
// protocol proto would reach one of the listening sockets. Under a
// wildcard listener only the loopback and unspecified addresses are known
// to be local (the node's other addresses are not looked up). A connect
// to an unspecified address goes to the loopback one (127.0.0.1 or ::1,
// as the dialer and kernel choose), so it is judged as both.
func (l *Listening) has(proto string, ap netip.AddrPort) bool {
	m := l.tcp
	if proto == snapshot.ProtoUDP {
		m = l.udp
	}
	a, port := ap.Addr().Unmap(), ap.Port()
	switch {
	case m[netip.AddrPortFrom(a, port)]:
		return true
	case a.IsUnspecified() && (m[netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)] ||
		m[netip.AddrPortFrom(netip.IPv6Loopback(), port)]):
		return true
	case !a.IsLoopback() && !a.IsUnspecified():
		return false
	}
	return m[netip.AddrPortFrom(netip.IPv4Unspecified(), port)] || m[netip.AddrPortFrom(netip.IPv6Unspecified(), port)]
}

// SetListening replaces the set of the node's listening addresses that
// origins' connects, sends and checks refuse (ErrOwnListener). The
// runtime sets it before it binds a snapshot's sockets.
func (p *Pool) SetListening(l *Listening) { p.listening.Store(l) }

// ownListener returns the error of a connect to ap refused because the
// node itself listens there, or nil.
func (b *Backend) ownListener(ap netip.AddrPort) error {
	if b.listening == nil {
		return nil
	}
	if l := b.listening.Load(); l == nil || !l.has(b.key.Proto, ap) {
		return nil
	}
	if b.key.Proto == snapshot.ProtoUDP {
		return &net.OpError{Op: "dial", Net: "udp", Addr: net.UDPAddrFromAddrPort(ap), Err: ErrOwnListener}
	}
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: ErrOwnListener}
}
