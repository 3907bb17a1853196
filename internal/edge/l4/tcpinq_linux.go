package l4

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// inqReader reads a TCP socket with recvmsg(2) and TCP_INQ, which reports
// with every read how many bytes are left in the receive queue, a received
// FIN counting as one (tcp_inq_hint). Zero means the read drained the
// socket and no FIN is pending, so the next step is to wait for the poller
// rather than a read that fails with EAGAIN. One per copy direction.
type inqReader struct {
	on, tried bool
	msg       unix.Msghdr
	iov       unix.Iovec
	oob       [4]uint64 // One TCP_CM_INQ control message, aligned.
}

// enable turns TCP_INQ on for fd (once); false if the kernel refuses.
func (r *inqReader) enable(fd int) {
	r.tried = true
	r.on = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_INQ, 1) == nil
}

// read is read(2) plus, once enabled, the bytes left after it (-1 when
// unknown).
func (r *inqReader) read(fd int, b []byte) (n, left int, err error) {
	if !r.on {
		n, err = readFD(fd, b)
		return n, -1, err
	}
	r.iov.Base = &b[0]
	r.iov.SetLen(len(b))
	r.msg.Iov = &r.iov
	r.msg.SetIovlen(1)
	r.msg.Control = (*byte)(unsafe.Pointer(&r.oob[0]))
	r.msg.SetControllen(len(r.oob) * 8)
	r.msg.Flags = 0
	for {
		r0, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.msg)), 0)
		if e == unix.EINTR {
			continue
		}
		r.iov.Base = nil
		if e != 0 {
			return 0, -1, e
		}
		n = int(r0)
		break
	}
	left = -1
	if int(r.msg.Controllen) >= unix.CmsgLen(4) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&r.oob[0]))
		if h.Level == unix.SOL_TCP && h.Type == unix.TCP_CM_INQ {
			oob := unsafe.Slice((*byte)(unsafe.Pointer(&r.oob[0])), len(r.oob)*8)
			left = int(int32(binary.NativeEndian.Uint32(oob[unix.CmsgLen(0):])))
		}
	}
	return n, left, nil
}
