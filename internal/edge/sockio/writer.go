package sockio

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// rawWriteMax is the largest write made raw (see the package comment).
const rawWriteMax = 64 << 10

// Writer returns what writes c: a raw writer if c is a TCP connection,
// else c itself; c too in race-detector builds, where the detector must
// see the system calls (fdIO).
func Writer(c net.Conn) io.Writer {
	tc, ok := c.(*net.TCPConn)
	if !ok || raceBuild {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	w := &rawWriter{c: tc, rc: rc}
	w.step = w.write
	return w
}

// rawWriter writes a TCP connection with raw system calls, waiting for
// the poller as net.Conn does, so its deadlines hold; errors are the
// *net.OpError net.Conn returns. Safe for concurrent use, as net.Conn:
// each Write is one call of the socket's RawConn, which serialises them.
type rawWriter struct {
	c  *net.TCPConn
	rc syscall.RawConn

	// A call's buffer, progress and error, for its RawConn callback
	// (step: write bound once, so that a call allocates nothing).
	mu   sync.Mutex
	b    []byte
	n    int
	err  error
	step func(uintptr) bool
}

// Write writes as c.Write does: all of b, or an error.
func (w *rawWriter) Write(b []byte) (int, error) {
	if len(b) > rawWriteMax {
		return w.c.Write(b)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b, w.n, w.err = b, 0, nil
	err := w.rc.Write(w.step)
	n, werr := w.n, w.err
	w.b = nil
	switch {
	case err != nil:
		return n, w.opError(err)
	case werr != nil:
		return n, w.opError(os.NewSyscallError("write", werr))
	}
	return n, nil
}

func (w *rawWriter) write(fd uintptr) bool {
	for w.n < len(w.b) {
		n, err := writeFD(int(fd), w.b[w.n:])
		switch err {
		case nil:
			w.n += n
		case syscall.EAGAIN:
			return false
		default:
			w.err = err
			return true
		}
	}
	return true
}

// opError is err as net.Conn's Write would return it: a RawConn's error
// (the connection closed, a deadline passed) comes as the op "raw-write";
// what it carries is what net.Conn reports.
func (w *rawWriter) opError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return &net.OpError{Op: "write", Net: "tcp", Source: w.c.LocalAddr(), Addr: w.c.RemoteAddr(), Err: err}
}
