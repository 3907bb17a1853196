// Command epollfloor is the least a Go TCP forwarder can do per
// connection: one raw epoll loop per core (SO_REUSEPORT listeners,
// edge-triggered, EPOLLRDHUP, non-blocking connect, read/write with one
// buffer per direction), none of the net package, goroutines or features
// (no ACL, limits, health, statistics or PROXY header). It exists to
// measure how much of opengaap's gap to haproxy in new connections per
// second an own event loop would close (bench/l4/floor.sh); it is not a
// data plane.
package main

import (
	"flag"
	"log"
	"net/netip"
	"runtime"

	"golang.org/x/sys/unix"
)

// side is one socket of a proxied connection; buf holds what was read
// from it and not yet written to its peer.
type side struct {
	fd        int
	peer      *side
	buf       []byte
	off, end  int
	eof       bool // read returned 0
	rdhup     bool // epoll reported the peer's FIN
	connected bool // for the origin side: connect completed
	closed    bool
}

type loop struct {
	ep, lfd int
	origin  unix.SockaddrInet4
	sides   map[int]*side
}

func main() {
	listen := flag.String("listen", "127.0.93.7:9000", "ip:port to accept on")
	origin := flag.String("origin", "127.0.93.1:9000", "ip:port to forward to")
	flag.Parse()
	la, oa := netip.MustParseAddrPort(*listen), netip.MustParseAddrPort(*origin)
	for range runtime.GOMAXPROCS(0) {
		l, err := newLoop(la, oa)
		if err != nil {
			log.Fatal(err)
		}
		go l.run()
	}
	select {}
}

func newLoop(la, oa netip.AddrPort) (*loop, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(la.Port()), Addr: la.Addr().As4()}); err != nil {
		return nil, err
	}
	if err := unix.Listen(fd, 4096); err != nil {
		return nil, err
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
		return nil, err
	}
	return &loop{ep: ep, lfd: fd, sides: map[int]*side{},
		origin: unix.SockaddrInet4{Port: int(oa.Port()), Addr: oa.Addr().As4()}}, nil
}

func (l *loop) run() {
	evs := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(l.ep, evs, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, ev := range evs[:n] {
			if int(ev.Fd) == l.lfd {
				l.accept()
				continue
			}
			s := l.sides[int(ev.Fd)]
			switch {
			case s == nil:
			case ev.Events&unix.EPOLLERR != 0:
				l.close(s)
			default:
				s.rdhup = s.rdhup || ev.Events&unix.EPOLLRDHUP != 0
				if ev.Events&unix.EPOLLOUT != 0 {
					l.writable(s)
				}
				if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
					l.pump(s)
				}
			}
		}
	}
}

func (l *loop) accept() {
	const events = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET
	for {
		cfd, _, err := unix.Accept4(l.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN, or out of descriptors: the next event retries.
		}
		ofd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			unix.Close(cfd)
			continue
		}
		_ = unix.SetsockoptInt(cfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		_ = unix.SetsockoptInt(ofd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if err := unix.Connect(ofd, &l.origin); err != nil && err != unix.EINPROGRESS {
			unix.Close(cfd)
			unix.Close(ofd)
			continue
		}
		c, o := &side{fd: cfd, connected: true}, &side{fd: ofd}
		c.peer, o.peer = o, c
		l.sides[cfd], l.sides[ofd] = c, o
		_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, cfd, &unix.EpollEvent{Events: events, Fd: int32(cfd)})
		_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, ofd, &unix.EpollEvent{Events: events, Fd: int32(ofd)})
	}
}

// writable: s takes writes again. The origin's first one completes its
// connect (an error would have come as EPOLLERR); then both directions
// may move.
func (l *loop) writable(s *side) {
	if !s.connected {
		s.connected = true
		l.pump(s.peer)
		l.pump(s)
		return
	}
	l.pump(s.peer)
}

// pump moves bytes from s to its peer until s has nothing more to read
// or the peer takes no more. A short read ends the round unless epoll saw
// a FIN, which needs the read that returns 0.
func (l *loop) pump(s *side) {
	for !s.closed && s.connected && s.peer.connected {
		if s.off < s.end { // Flush what an earlier round could not write.
			n, err := unix.Write(s.peer.fd, s.buf[s.off:s.end])
			if err == unix.EAGAIN {
				return
			}
			if err != nil {
				l.close(s)
				return
			}
			s.off += n
			continue
		}
		if s.eof {
			return
		}
		if s.buf == nil {
			s.buf = make([]byte, 16<<10)
		}
		n, err := unix.Read(s.fd, s.buf)
		switch {
		case err == unix.EAGAIN:
			return
		case err != nil:
			l.close(s)
			return
		case n == 0:
			s.eof = true
			if s.peer.eof { // Both directions ended.
				l.close(s)
				return
			}
			_ = unix.Shutdown(s.peer.fd, unix.SHUT_WR)
			return
		}
		s.off, s.end = 0, n
		if n < len(s.buf) && !s.rdhup {
			// Drained and no FIN: write, then wait for the next edge.
			if w, err := unix.Write(s.peer.fd, s.buf[:n]); err == nil {
				s.off += w
			}
			if s.off == s.end {
				return
			}
		}
	}
}

func (l *loop) close(s *side) {
	for _, x := range []*side{s, s.peer} {
		if !x.closed {
			x.closed = true
			delete(l.sides, x.fd)
			unix.Close(x.fd)
		}
	}
}
