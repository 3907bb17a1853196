package sockio

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Dup returns a second connection on c's socket (the edge reads a closed
// connection's socket on through one while it lingers). Not through
// c.File and net.FileConn: FileConn calls the File's Fd, which clears
// O_NONBLOCK on the socket, shared by every descriptor of it, until
// FileConn sets it again on its own duplicate. A read of c in that moment
// (another goroutine reading a request body) blocks in read(2) until the
// client sends, deaf to its deadline; a raw one (Reader) also holds its P,
// and the next garbage collection, which waits for every P, stops the
// process. A descriptor duplicated here and handed to os.NewFile stays
// non-blocking: Fd leaves such a File's mode alone.
func Dup(c *net.TCPConn) (*net.TCPConn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("fcntl", derr)
	}
	f := os.NewFile(uintptr(fd), "dup")
	defer f.Close()
	nc, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		_ = nc.Close()
		return nil, &net.OpError{Op: "dup", Net: "tcp", Err: os.ErrInvalid}
	}
	return tc, nil
}
