package sockio

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// readFD is read(2) on the non-blocking socket fd, retried on EINTR.
func readFD(fd int, b []byte) (int, error) { return fdIO(unix.SYS_READ, fd, b) }

// writeFD is write(2) on the non-blocking socket fd, retried on EINTR.
func writeFD(fd int, b []byte) (int, error) { return fdIO(unix.SYS_WRITE, fd, b) }

// fdIO is read(2) or write(2) (trap) on fd, retried on EINTR. Raw, except
// in race-detector builds, where package syscall's calls tell the detector
// that a read synchronises with the write that sent its bytes.
func fdIO(trap uintptr, fd int, b []byte) (int, error) {
	for {
		var n int
		var err error
		switch {
		case raceBuild && trap == unix.SYS_READ:
			n, err = syscall.Read(fd, b)
		case raceBuild:
			n, err = syscall.Write(fd, b)
		default:
			r, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			if n = int(r); e != 0 {
				n, err = 0, e
			}
		}
		if err != syscall.EINTR {
			return n, err
		}
	}
}
