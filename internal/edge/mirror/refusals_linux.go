package mirror

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watchRefusals turns on IP_RECVERR on the engine's socket: without it
// Linux reports no ICMP error (a dead collector's port unreachable, a
// router's host unreachable or fragmentation needed) for an unconnected
// UDP socket, and every copy would count as sent. With it, each error is
// queued on the socket's error queue, which countRefusals reads.
func watchRefusals(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1) }); err != nil {
		return false
	}
	return serr == nil
}

// countRefusals counts each copy an ICMP error reports lost in the Dropped
// counter of the mirror that sent it, until c closes. It waits in the
// runtime's poller (an error report wakes readers), so the send path pays
// nothing for it. The refused copy was sent, so it also stays in
// PacketsOut. Errors the kernel made itself (a send refused locally) are
// not counted here: the send's own failure counted them.
func (e *Engine) countRefusals(c *net.UDPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	var b [16]byte // The refused copy's first bytes: its VXLAN header.
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.SockExtendedErr{}))+unix.SizeofSockaddrInet4))
	read := func(fd uintptr) bool {
		for {
			n, oobn, _, to, err := unix.Recvmsg(int(fd), b[:], oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				break // EAGAIN: none left.
			}
			e.refused(to, b[:n], oob[:oobn])
		}
		// Datagrams sent to the engine's port (the replies of a listener
		// that is a collector) are not wanted; left queued they would
		// fill the receive buffer that error reports are charged to.
		for range 1024 {
			_, _, _, _, err := unix.Recvmsg(int(fd), b[:], nil, unix.MSG_DONTWAIT)
			if err == unix.EAGAIN {
				break
			}
		}
		return false // Wait for the next report.
	}
	for {
		err := rc.Read(read)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// The poller saw an error event alone (ErrNotPollable) and
			// will not wait until another event comes: poll meanwhile.
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// refused counts one error report: p is the start of the refused copy,
// oob the report, to the copy's destination.
func (e *Engine) refused(to unix.Sockaddr, p, oob []byte) {
	sa, ok := to.(*unix.SockaddrInet4)
	if !ok || !icmpReport(oob) {
		return
	}
	vni, known := uint32(0), len(p) >= 8
	if known {
		vni = binary.BigEndian.Uint32(p[4:8]) >> 8
	}
	if m := e.sentTo.sender(netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), vni, known); m != nil {
		m.stats.Dropped.Add(1)
	}
}

// icmpReport reports whether oob holds an IP_RECVERR report of an ICMP
// error.
func icmpReport(oob []byte) bool {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR && len(m.Data) >= int(unsafe.Sizeof(unix.SockExtendedErr{})) {
			ee := (*unix.SockExtendedErr)(unsafe.Pointer(&m.Data[0]))
			return ee.Origin == unix.SO_EE_ORIGIN_ICMP
		}
	}
	return false
}
