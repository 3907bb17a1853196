package health

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// errNoICMP is a ping that could not open an ICMP socket: the node's own
// lack (LocalFailure), which says nothing of the origin.
var errNoICMP = errors.New("ping: this node cannot open an ICMP socket (needs CAP_NET_RAW, or net.ipv4.ping_group_range including its group)")

// CanPing reports whether this node can open an ICMP socket, which
// CheckType PING needs: the API refuses PING where it cannot.
func CanPing() bool {
	c, _, err := listenICMP(true)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// ping sends one ICMP echo and waits for the matching reply. It uses a raw
// socket (needs root or CAP_NET_RAW) and falls back to an unprivileged
// datagram ping socket (needs net.ipv4.ping_group_range to include the
// process's group); if neither opens, the check is inconclusive
// (errNoICMP): a PING listener stored before the node lost the privilege
// keeps its origins' state instead of reading every one abnormal.
// Each probe opens its own socket: raw sockets see every echo reply on the
// host, so replies are matched by ID, sequence and source. rtt is the
// echo's round trip: a PING-checked UDP origin's latency, which lrtt ranks.
func ping(ctx context.Context, dst netip.Addr, timeout time.Duration) (rtt time.Duration, err error) {
	c, raw, err := listenICMP(dst.Is4())
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return 0, fmt.Errorf("%w: %w", errNoICMP, err)
		}
		return 0, fmt.Errorf("ping: %w", err)
	}
	defer c.Close()
	defer context.AfterFunc(ctx, func() { _ = c.Close() })()
	id, seq := rand.IntN(0xffff), rand.IntN(0xffff)
	var typ, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if !dst.Is4() {
		typ, reply, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("opengaap")}}
	wb, err := msg.Marshal(nil)
	if err != nil {
		return 0, err
	}
	var to net.Addr = &net.IPAddr{IP: dst.AsSlice()}
	if !raw {
		to = &net.UDPAddr{IP: dst.AsSlice()}
	}
	start := time.Now()
	_ = c.SetDeadline(start.Add(timeout))
	if _, err := c.WriteTo(wb, to); err != nil {
		return 0, fmt.Errorf("ping: %w", err)
	}
	if err := awaitEcho(c, proto, reply, id, seq, raw, dst); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func listenICMP(v4 bool) (*icmp.PacketConn, bool, error) {
	rawNet, dgramNet, addr := "ip4:icmp", "udp4", "0.0.0.0"
	if !v4 {
		rawNet, dgramNet, addr = "ip6:ipv6-icmp", "udp6", "::"
	}
	c, err := icmp.ListenPacket(rawNet, addr)
	if err == nil {
		return c, true, nil
	}
	c, err2 := icmp.ListenPacket(dgramNet, addr)
	if err2 != nil {
		return nil, false, errors.Join(err, err2)
	}
	return c, false, nil
}

func awaitEcho(c *icmp.PacketConn, proto int, reply icmp.Type, id, seq int, raw bool, dst netip.Addr) error {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("ping: %w", err)
		}
		if !sameHost(from, dst) {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		// Datagram ping sockets rewrite the ID to the socket's port.
		if ok && e.Seq == seq && (e.ID == id || !raw) {
			return nil
		}
	}
}

func sameHost(a net.Addr, dst netip.Addr) bool {
	var ip net.IP
	switch v := a.(type) {
	case *net.IPAddr:
		ip = v.IP
	case *net.UDPAddr:
		ip = v.IP
	}
	got, ok := netip.AddrFromSlice(ip)
	return ok && got.Unmap() == dst
}
