package l7

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/opengaap/opengaap/internal/edge/sockio"
)

// Plain-HTTP connections without a bandwidth limit are read by rawReader
// inside one syscall.RawConn.Read per run of bodyless requests
// (fastConn.serveRaw), so that waiting for the next request costs no read
// that fails with EAGAIN: one syscall less per request (BENCHMARKS.md,
// "Layer 7"; the recvmsg that replaces the data read costs a little more
// than a read, so the CPU saved is small). RawConn.Read resets the
// socket's readiness once, on entry; between calls of its callback it only
// waits (honouring the read deadline), so after an answer written from the
// callback, returning false once a read drained the socket parks the
// goroutine, and any later arrival, or one during the handler, wakes it.
//
// TLS connections are not read this way: crypto/tls reads through
// net.Conn with its own buffering and locks. Requests with a body are
// served after leaving the callback, because the handler (or a transport
// goroutine) reads the body through the connection, whose read lock the
// callback holds; and the serving goroutine closes the connection only
// outside it, because net.Conn.Close waits for the callback to return.

// errWait is rawReader's answer when the socket has nothing to read: the
// callback returns false and is called again when it becomes readable.
var errWait = errors.New("l7: wait for the socket")

// rawReader is the io.Reader under a raw-read connection's bufio.Reader.
// Inside serveRaw's callback (fd ≥ 0) it reads the socket itself and
// counts the bytes as conn.Read does; outside (fd < 0: handing over to
// net/http, reading a request body) it reads through the conn. Not safe
// for concurrent use.
type rawReader struct {
	cc      *conn
	fd      int
	inq     sockio.Reader
	drained bool // The last read left nothing and no FIN: wait before reading.
}

func (r *rawReader) Read(p []byte) (int, error) {
	if r.fd < 0 {
		return r.cc.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.drained {
		r.drained = false
		return 0, errWait
	}
	n, left, err := r.inq.Read(r.fd, p)
	switch {
	case err == syscall.EAGAIN:
		return 0, errWait
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: r.cc.LocalAddr(), Addr: r.cc.RemoteAddr(), Err: os.NewSyscallError("recvmsg", err)}
	case n == 0:
		return 0, io.EOF
	}
	r.cc.countIn(n)
	r.drained = left == 0
	return n, nil
}

// serveRaw serves the connection (its fastConn reads through rr) until it
// closes or is handed to net/http: bodyless requests inside one
// RawConn.Read, a request with a body after leaving it.
func (fc *fastConn) serveRaw(rc syscall.RawConn, rr *rawReader) {
	// The callback and what it sets live for the connection (they escape
	// to the heap, once), each round starting from zero values.
	var (
		f       fastHead
		ok      bool
		err     error
		closing bool // A request was served and the connection ends.
	)
	serve := func(fd uintptr) bool {
		rr.fd = int(fd)
		for {
			if f, ok, err = fc.request(); err == errWait {
				return false
			}
			// Errors, hand-overs and bodies are dealt with outside.
			if err != nil || !ok || f.contentLength > 0 {
				return true
			}
			if !fc.serveOne(&f) {
				closing = true
				return true
			}
		}
	}
	for {
		f, ok, err, closing = fastHead{}, false, nil, false
		fc.cc.inRaw.Store(true)
		rerr := rc.Read(serve)
		fc.cc.inRaw.Store(false)
		// Readiness is reset on the next entry: the next read must not
		// be skipped.
		rr.fd, rr.drained = -1, false
		if closing {
			fc.close()
			return
		}
		if rerr != nil {
			err = rerr
		}
		if !fc.serveNext(&f, ok, err) {
			return
		}
	}
}
