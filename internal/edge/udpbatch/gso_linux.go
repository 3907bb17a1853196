package udpbatch

import (
	"encoding/binary"
	"errors"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Supported reports whether the kernel knows UDP_SEGMENT (Linux 4.18+),
// probed once on a throwaway socket.
var Supported = sync.OnceValue(func() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	_, err = unix.GetsockoptInt(fd, unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	return err == nil
})

// gsoOOBLen is the size of one UDP_SEGMENT control message.
var gsoOOBLen = unix.CmsgSpace(2)

// putGSO writes a UDP_SEGMENT control message announcing segments of seg
// bytes into b, which has gsoOOBLen bytes.
func putGSO(b []byte, seg int) {
	clear(b)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.IPPROTO_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(seg))
}

// SegmentSize returns the segment size a UDP_SEGMENT control message in
// oob announces, or 0 if there is none (b is then one datagram).
func SegmentSize(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level == unix.IPPROTO_UDP && m.Header.Type == unix.UDP_SEGMENT && len(m.Data) >= 2 {
			return int(binary.NativeEndian.Uint16(m.Data))
		}
	}
	return 0
}

// gsoErr classifies a failed GSO send: off when the socket can never send
// GSO (EIO: the route's device has no checksum offload), tooBig when this
// segment size is refused (EINVAL, EMSGSIZE: larger than the path MTU
// allows).
func gsoErr(err error) (off, tooBig bool) {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return false, false
	}
	switch errno {
	case unix.EIO:
		return true, false
	case unix.EINVAL, unix.EMSGSIZE:
		return false, true
	}
	return false, false
}
