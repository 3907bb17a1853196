package sockio

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Reader reads a TCP socket with recvmsg(2) and, once enabled, reports
// the bytes left in the receive queue after each read. Not safe for
// concurrent use; one per socket and direction of reading.
type Reader struct {
	on  bool
	msg unix.Msghdr
	iov unix.Iovec
	oob [4]uint64 // One TCP_CM_INQ control message, aligned.
}

// Enable turns TCP_INQ on for fd; false if the kernel refuses (Read then
// reports -1 left), and in race-detector builds (see raceBuild).
func (r *Reader) Enable(fd int) bool {
	r.on = !raceBuild && unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_INQ, 1) == nil
	return r.on
}

// Read is read(2) on the non-blocking socket fd, retried on EINTR, plus
// the bytes left after it: 0 means drained with no FIN pending, -1
// unknown. b must not be empty.
func (r *Reader) Read(fd int, b []byte) (n, left int, err error) {
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
		r0, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.msg)), 0)
		if e == unix.EINTR {
			continue
		}
		r.iov.Base = nil // Do not keep b alive.
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
