package l4

import (
	"net"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/opengaap/opengaap/internal/edge/limit"
)

// teePipe is the pipe size asked for, and so the most one round moves: as
// for io.Copy's splice, fewer and larger rounds cost less per byte.
const teePipe = 1 << 20

// copyTee copies src to dst for an observed connection. The bytes go
// socket → pipe → socket with splice(2), as for any connection, and a
// chunk the tap keeps is duplicated by tee(2) into a second pipe (page
// references, no copy) that the tap's consumer reads later, off the data
// path. So the forwarded bytes never pass through user space, the data
// path never waits for a copy, and a chunk the mirror drops costs it
// nothing: observing a connection must not slow it down
// (docs/dataplane-mirror.md). If the data pipe cannot be made (fd limit)
// the connection falls back to the userspace copy; if the second one
// cannot, what the tap would have kept is dropped. Both are charged to the
// node's bound on pipes (limit.Pipes), and one it refuses is one that
// cannot be made.
func (c *tcpConn) copyTee(dst, src *net.TCPConn, d Dir) (int64, error) {
	pipes := c.route.Proxy.pipes()
	var data [2]int
	if !pipes.TryAcquireN(pipeFDs) {
		return c.copyLoop(dst, src, false, nil, d)
	}
	if err := newPipe(&data); err != nil {
		pipes.ReleaseN(pipeFDs) // Not for the whole copy: no pipe was made.
		return c.copyLoop(dst, src, false, nil, d)
	}
	defer pipes.ReleaseN(pipeFDs)
	defer closePipe(data)
	chunk := pipeSize(data[1], teePipe)
	pc := &pipeChunk{data: data[0], size: chunk, pipes: pipes}
	pc.refs.Store(1) // The data path's; kept chunks add theirs.
	defer pc.unref()
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	wc, err := dst.SyscallConn()
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		var n int64
		var serr error
		err := rc.Read(func(fd uintptr) bool {
			n, serr = retry(func() (int64, error) {
				return unix.Splice(int(fd), nil, data[1], nil, chunk, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
			})
			return serr != unix.EAGAIN
		})
		switch {
		case err != nil:
			return total, err
		case serr != nil:
			return total, os.NewSyscallError("splice", serr)
		case n == 0: // EOF.
			return total, nil
		}
		pc.n = int(n)
		c.tap.Data(d, int(n), pc)
		left := n
		err = wc.Write(func(fd uintptr) bool {
			for left > 0 {
				k, err := retry(func() (int64, error) {
					return unix.Splice(data[0], nil, int(fd), nil, int(left), unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
				})
				if err == unix.EAGAIN {
					return false
				}
				if err != nil {
					serr = err
					return true
				}
				left -= k
				total += k
			}
			return true
		})
		switch {
		case err != nil:
			return total, err
		case serr != nil:
			return total, os.NewSyscallError("splice", serr)
		}
	}
}

// newPipe makes a non-blocking pipe; a variable so that tests can make it
// fail as it does when the process is out of descriptors.
var newPipe = func(p *[2]int) error { return unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK) }

// pipeChunk is the Chunk of one direction of copyTee: the chunk in the data
// pipe, kept by teeing it into dup, whose consumer reads the kept chunks in
// order. dup is made by the first Keep, so a direction the tap never keeps
// from costs no pipe. The data path and the kept chunks not yet released
// hold references; the last one closes dup.
type pipeChunk struct {
	data   int         // Read end of the data pipe.
	size   int         // The data pipe's size: dup gets as much room.
	n      int         // Size of the chunk in it, set before each Data.
	dup    [2]int      // Kept chunks, in order; made by the first Keep.
	made   bool        // dup exists (data path only, before the first reference).
	pipes  *limit.Gate // Charged for dup while it exists.
	refs   atomic.Int32
	broken atomic.Bool // dup is out of step with the kept chunks, or missing: keep nothing more.
}

// Keep is called by the data path, during Data.
func (p *pipeChunk) Keep(limit int) int {
	if p.broken.Load() {
		return 0
	}
	if !p.made {
		if !p.pipes.TryAcquireN(pipeFDs) {
			p.broken.Store(true)
			return 0
		}
		if err := newPipe(&p.dup); err != nil {
			p.pipes.ReleaseN(pipeFDs)
			p.broken.Store(true)
			return 0
		}
		p.made = true
		pipeSize(p.dup[1], p.size) // Smaller only leaves less room.
	}
	// EAGAIN (or a short tee): dup is full of chunks the consumer has not
	// read yet, so this one is dropped, wholly or in part.
	m, err := retry(func() (int64, error) { return unix.Tee(p.data, p.dup[1], min(limit, p.n), unix.SPLICE_F_NONBLOCK) })
	if err != nil || m <= 0 {
		return 0
	}
	p.refs.Add(1)
	return int(m)
}

// Read is called by the consumer. The kept bytes are already in dup.
func (p *pipeChunk) Read(b []byte) int {
	k := 0
	for k < len(b) {
		r, err := retry(func() (int64, error) { n, err := unix.Read(p.dup[0], b[k:]); return int64(n), err })
		if err != nil || r <= 0 {
			p.broken.Store(true)
			break
		}
		k += int(r)
	}
	return k
}

func (p *pipeChunk) Release(unread int) {
	if unread > 0 {
		p.broken.Store(true)
	}
	p.unref()
}

func (p *pipeChunk) unref() {
	if p.refs.Add(-1) == 0 && p.made {
		closePipe(p.dup)
		p.pipes.ReleaseN(pipeFDs)
	}
}

// retry runs a system call until it is not interrupted.
func retry(call func() (int64, error)) (int64, error) {
	for {
		n, err := call()
		if err != unix.EINTR {
			return n, err
		}
	}
}

// pipeSize asks for a pipe of size bytes and returns the size it has (the
// kernel may refuse: a user's pipe memory is limited).
func pipeSize(fd, size int) int {
	if n, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, size); err == nil {
		return n
	}
	n, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		return 16 << 12 // Linux's default: 16 pages.
	}
	return n
}

func closePipe(p [2]int) {
	_ = unix.Close(p[0])
	_ = unix.Close(p[1])
}
