package l4

import (
	"encoding/binary"
	"net"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// rxqOOBLen is the control-message space a read needs for SO_RXQ_OVFL.
var rxqOOBLen = unix.CmsgSpace(4)

// enableRxqOvfl asks the kernel to report, with received datagrams, how
// many the socket has dropped so far (receive queue full): the loss that
// happens before the edge can see a datagram.
func enableRxqOvfl(pc *net.UDPConn) bool {
	rc, err := pc.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		ok = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1) == nil
	})
	return ok
}

// rxqWaiting reports whether a datagram waits in the socket's receive
// queue (SIOCINQ: the size of the next one, 0 when none): the one sign
// that datagrams come faster than they are read, as a read that fills a
// batch of one says nothing about what follows.
func rxqWaiting(pc *net.UDPConn) bool {
	rc, err := pc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	_ = rc.Control(func(fd uintptr) {
		n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	})
	return n > 0
}

// dropMeter turns the socket's cumulative drop counter, carried by the
// SO_RXQ_OVFL control message, into increments. Owned by the read loop.
type dropMeter struct{ last uint32 }

// delta returns the drops since the last call, read from the control
// messages oob of the newest datagram of a batch (none: no drop so far).
func (m *dropMeter) delta(oob []byte) int64 {
	for len(oob) >= unix.CmsgLen(0) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		n := int(h.Len)
		if n < unix.CmsgLen(0) || n > len(oob) {
			return 0
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && n >= unix.CmsgLen(4) {
			now := binary.NativeEndian.Uint32(oob[unix.CmsgLen(0):])
			d := now - m.last // The counter wraps at 2^32.
			m.last = now
			return int64(d)
		}
		oob = oob[min(unix.CmsgSpace(n-unix.CmsgLen(0)), len(oob)):]
	}
	return 0
}

// batch returns the drops since the last call, as reported with the newest
// datagram of a batch (ms: the messages read).
func (m *dropMeter) batch(ms []ipv4.Message) int64 {
	if len(ms) == 0 {
		return 0
	}
	last := &ms[len(ms)-1]
	return m.delta(last.OOB[:last.NN])
}
