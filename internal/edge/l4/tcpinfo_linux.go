package l4

import (
	"net"

	"golang.org/x/sys/unix"
)

// tcpInfo is the slice of TCP_INFO the edge uses. Reading it costs one
// getsockopt and leaves the splice fast path alone.
type tcpInfo struct {
	// Bytes the peer acknowledged: payload, +1 once a FIN is acknowledged
	// and, on a socket that connected (not accepted), +1 for the SYN.
	bytesAcked              uint64
	dataSegsIn, dataSegsOut uint32 // Segments carrying data, as TCP counted them.
	lastRecvMs              uint32 // Milliseconds since data was last received.
	state                   uint8  // TCP state: established, close-wait (the peer's FIN came), ...
}

func readTCPInfo(c *net.TCPConn) (tcpInfo, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return tcpInfo{}, false
	}
	var ti *unix.TCPInfo
	cerr := rc.Control(func(fd uintptr) {
		ti, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if cerr != nil || err != nil {
		return tcpInfo{}, false
	}
	return tcpInfo{ti.Bytes_acked, ti.Data_segs_in, ti.Data_segs_out, ti.Last_data_recv, ti.State}, true
}

// wasReset reports whether c, whose TCP_INFO is ti, was reset by its peer:
// closed (TCP_CLOSE) with the reset's error pending (SO_ERROR, which the
// read clears: the connection is then aborted). A socket the FIN exchange
// closed (the peer's FIN, then ours, acknowledged) is in TCP_CLOSE too but
// without an error, while the other direction may still be delivering.
func wasReset(c *net.TCPConn, ti tcpInfo) bool {
	if ti.peer() != PeerReset {
		return false
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var soErr int
	cerr := rc.Control(func(fd uintptr) {
		soErr, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
	})
	return cerr == nil && err == nil && soErr != 0
}

// PeerClosed reports whether c's peer has closed or reset the connection
// (its socket is no longer established), at the cost of one getsockopt.
func PeerClosed(c *net.TCPConn) bool {
	ti, ok := readTCPInfo(c)
	return ok && ti.peer() != PeerOpen
}

func (ti tcpInfo) peer() Peer {
	switch ti.state {
	case unix.BPF_TCP_ESTABLISHED:
		return PeerOpen
	case unix.BPF_TCP_CLOSE: // Not waiting for the local close after a FIN.
		return PeerReset
	}
	return PeerSentFIN
}

// Unread is the number of bytes c received that no read took yet
// (SIOCINQ; a FIN is not counted), 0 if unknown.
func Unread(c *net.TCPConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n
}
