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

// Conn reads and writes a TCP connection with raw system calls, waiting
// for the poller as net.Conn does, so its deadlines hold; errors are the
// *net.OpError net.Conn returns. Safe for concurrent use, as net.Conn:
// each Read and each Write is one call of the socket's RawConn, which
// serialises them.
type Conn struct {
	c  *net.TCPConn
	rc syscall.RawConn

	// A call's buffer, progress and error, for its RawConn callback
	// (readStep, writeStep: bound once, so that a call allocates nothing).
	rmu       sync.Mutex
	rb        []byte
	rn        int
	rerr      error
	readStep  func(uintptr) bool
	wmu       sync.Mutex
	wb        []byte
	wn        int
	werr      error
	writeStep func(uintptr) bool
}

// For returns what reads and writes c: a Conn if c is a TCP connection,
// else c itself; c too in race-detector builds, where the detector must
// see the system calls (fdIO).
func For(c net.Conn) io.ReadWriter {
	tc, ok := c.(*net.TCPConn)
	if !ok || raceBuild {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	s := &Conn{c: tc, rc: rc}
	s.readStep, s.writeStep = s.read, s.write
	return s
}

// Read reads as c.Read does.
func (s *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return s.c.Read(b) // Nothing to read raw; net.Conn's answer (an error once closed).
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.rb, s.rn, s.rerr = b, 0, nil
	err := s.rc.Read(s.readStep)
	n, rerr := s.rn, s.rerr
	s.rb = nil
	switch {
	case err != nil:
		return n, s.opError("read", err)
	case rerr != nil:
		return n, s.opError("read", os.NewSyscallError("read", rerr))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (s *Conn) read(fd uintptr) bool {
	n, err := readFD(int(fd), s.rb)
	if err == syscall.EAGAIN {
		return false
	}
	s.rn, s.rerr = n, err
	return true
}

// Write writes as c.Write does: all of b, or an error.
func (s *Conn) Write(b []byte) (int, error) {
	if len(b) > rawWriteMax || len(b) == 0 {
		return s.c.Write(b)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wb, s.wn, s.werr = b, 0, nil
	err := s.rc.Write(s.writeStep)
	n, werr := s.wn, s.werr
	s.wb = nil
	switch {
	case err != nil:
		return n, s.opError("write", err)
	case werr != nil:
		return n, s.opError("write", os.NewSyscallError("write", werr))
	}
	return n, nil
}

func (s *Conn) write(fd uintptr) bool {
	for s.wn < len(s.wb) {
		n, err := WriteFD(int(fd), s.wb[s.wn:])
		switch err {
		case nil:
			s.wn += n
		case syscall.EAGAIN:
			return false
		default:
			s.werr = err
			return true
		}
	}
	return true
}

// opError is err as net.Conn's op would return it: a RawConn's error (the
// connection closed, a deadline passed) comes as the op "raw-read" or
// "raw-write"; what it carries is what net.Conn reports.
func (s *Conn) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: s.c.LocalAddr(), Addr: s.c.RemoteAddr(), Err: err}
}
