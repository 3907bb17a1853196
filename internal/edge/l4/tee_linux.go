package l4

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// teePipe is the pipe size asked for, and so the most one round moves: as
// for io.Copy's splice, fewer and larger rounds cost less per byte.
const teePipe = 1 << 20

// copyTee copies src to dst for an observed connection. The bytes go
// socket → pipe → socket with splice(2), as for any connection, and
// tee(2) duplicates a chunk into a second pipe, read into the tap's buffer
// only when the tap takes the chunk. So the forwarded bytes never pass
// through user space, and a chunk the mirror drops (its queue full) costs
// the data path no copy at all: observing a connection must not slow it
// down (docs/dataplane-mirror.md). If the pipes cannot be made (fd limit)
// the connection falls back to the userspace copy.
func (c *tcpConn) copyTee(dst, src *net.TCPConn, d Dir) (int64, error) {
	var data, dup [2]int
	if err := unix.Pipe2(data[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return c.copyLoop(dst, src, false, nil, d)
	}
	defer closePipe(data)
	if err := unix.Pipe2(dup[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return c.copyLoop(dst, src, false, nil, d)
	}
	defer closePipe(dup)
	chunk := pipeSize(data[1], teePipe)
	if chunk != pipeSize(dup[1], chunk) { // tee must fit a whole chunk.
		return c.copyLoop(dst, src, false, nil, d)
	}
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	wc, err := dst.SyscallConn()
	if err != nil {
		return 0, err
	}
	// fill duplicates the data pipe's content (the chunk) and reads the copy
	// out. dup is empty whenever fill is not running; should a read ever come
	// up short the pipe is no longer in step and observing stops.
	broken := false
	fill := func(b []byte) int {
		if broken {
			return 0
		}
		m, err := retry(func() (int64, error) { return unix.Tee(data[0], dup[1], len(b), unix.SPLICE_F_NONBLOCK) })
		if err != nil || m <= 0 {
			return 0
		}
		k := 0
		for k < int(m) {
			r, err := retry(func() (int64, error) { n, err := unix.Read(dup[0], b[k:m]); return int64(n), err })
			if err != nil || r <= 0 {
				broken = true
				break
			}
			k += int(r)
		}
		return k
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
		c.tap.Data(d, int(n), fill)
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
