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

// fdIO is read(2) or write(2) (trap) on fd, retried on EINTR. Raw,
// except a read in race-detector builds, where syscall.Read tells the
// detector that it synchronises with the write that sent its bytes
// (writes are raw only outside them: Writer returns the net.Conn there).
func fdIO(trap uintptr, fd int, b []byte) (int, error) {
	for {
		var n int
		var err error
		if raceBuild && trap == unix.SYS_READ {
			n, err = syscall.Read(fd, b)
		} else {
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
