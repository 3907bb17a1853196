package edgetest

import (
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/opengaap/opengaap/internal/edge/toa"
)

// Segment is a TCP segment seen on the wire.
type Segment struct {
	Src, Dst netip.AddrPort
	Flags    byte // TCP flags: FIN 0x01, SYN 0x02, ACK 0x10.
	Payload  int  // Bytes of data.
	Options  []byte
	TOA      netip.AddrPort
	HasTOA   bool
}

// FlagSYN is the TCP SYN flag.
const FlagSYN = 0x02

// Wire records the IPv4 TCP segments the host receives for one port: a
// raw socket sees every TCP packet, loopback included (it needs
// CAP_NET_RAW).
type Wire struct {
	fd   int
	mu   sync.Mutex
	segs []Segment
	quit chan struct{}
	done chan struct{}
}

// WatchTCP starts recording segments to port.
func WatchTCP(port uint16) (*Wire, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, err
	}
	if err := onlyPort(fd, port); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	tv := syscall.NsecToTimeval(int64(50 * time.Millisecond)) // How soon Stop is noticed.
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	w := &Wire{fd: fd, quit: make(chan struct{}), done: make(chan struct{})}
	go w.read(port)
	return w, nil
}

func (w *Wire) read(port uint16) {
	defer close(w.done)
	buf := make([]byte, 1<<16+100)
	for {
		flags := 0
		select {
		case <-w.quit:
			// What came before Stop is in the socket even if this loop ran
			// late: taken, then the end.
			flags = syscall.MSG_DONTWAIT
		default:
		}
		n, _, err := syscall.Recvfrom(w.fd, buf, flags)
		if err != nil && flags != 0 {
			return
		}
		if err != nil || n < 40 {
			continue
		}
		b := buf[:n]
		ihl := int(b[0]&0x0f) * 4
		if n < ihl+20 { // IP options left no room for a TCP header.
			continue
		}
		tcp := b[ihl:]
		off := int(tcp[12]>>4) * 4
		if off < 20 || len(tcp) < off {
			continue
		}
		s := Segment{
			Src:   netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[12:16])), uint16(tcp[0])<<8|uint16(tcp[1])),
			Dst:   netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[16:20])), uint16(tcp[2])<<8|uint16(tcp[3])),
			Flags: tcp[13], Payload: int(b[2])<<8 | int(b[3]) - ihl - off,
		}
		if s.Dst.Port() != port {
			continue
		}
		s.Options = append([]byte(nil), tcp[20:off]...)
		s.TOA, s.HasTOA = toa.Parse(s.Options)
		w.mu.Lock()
		w.segs = append(w.segs, s)
		w.mu.Unlock()
	}
}

// Stop ends the recording and returns the segments in arrival order.
func (w *Wire) Stop() []Segment {
	close(w.quit)
	<-w.done
	_ = syscall.Close(w.fd)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.segs
}

// HandshakeACKs returns, per connection in segs, the segment that ended
// its handshake (the first from the same side after its SYN), where TOA
// modules read the option.
func HandshakeACKs(segs []Segment) []Segment {
	var out []Segment
	open := map[netip.AddrPort]bool{}
	for _, s := range segs {
		switch {
		case s.Flags&FlagSYN != 0:
			open[s.Src] = true
		case open[s.Src]:
			delete(open, s.Src)
			out = append(out, s)
		}
	}
	return out
}

// CarriesTOA reports whether a connection in segs ended its handshake
// with client's address in a TOA option.
func CarriesTOA(segs []Segment, client netip.AddrPort) bool {
	for _, s := range HandshakeACKs(segs) {
		if s.HasTOA && s.TOA == client {
			return true
		}
	}
	return false
}
