// Package edgetest provides helpers for edge tests: loopback address
// allocation and small TCP/UDP origin servers. It does not import testing
// (the edge's dependency fence forbids it outside _test files); TB is the
// slice of testing.TB it needs.
package edgetest

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// TB is the part of testing.TB the helpers use.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// AllocNet is the second octet of every Alloc address; test vip pools
// (xtest.NextVIPPool) avoid it.
const AllocNet = 77

// Alloc hands out distinct loopback addresses 127.77.<net>.<n>. Give each
// test package its own net so parallel packages never collide; all of
// 127.0.0.0/8 is routed to lo on Linux.
type Alloc struct {
	net byte
	n   atomic.Uint32
}

// NewAlloc returns an allocator over 127.77.net.1-254. It wraps around
// after 254 addresses (repeated runs with -count); earlier tests have
// released theirs by then.
func NewAlloc(net byte) *Alloc { return &Alloc{net: net} }

// Next returns a fresh address.
func (a *Alloc) Next() netip.Addr {
	n := (a.n.Add(1)-1)%254 + 1
	return netip.AddrFrom4([4]byte{127, AllocNet, a.net, byte(n)})
}

// Ports FreePort hands out: below the kernel's ephemeral range
// (32768-60999 by default), so no socket bound to port 0 takes one of them
// between the probe and the listener's bind.
const firstPort, lastPort = 20000, 32000

// handed counts, per address, the ports FreePort has returned.
var handed sync.Map // netip.Addr → *atomic.Uint32

// FreePort returns a port free for both TCP and UDP on ip at the time of the
// call and never returned before for ip in this process (until 12,000 have
// been): two calls for two listeners of one proxy must not get the same
// port, which asking the kernel for one (bind to port 0, close) allows.
func FreePort(t TB, ip netip.Addr) int {
	t.Helper()
	v, _ := handed.LoadOrStore(ip, new(atomic.Uint32))
	next := v.(*atomic.Uint32)
	for range 100 {
		port := firstPort + int(next.Add(1)-1)%(lastPort-firstPort)
		if portFree(ip, port) {
			return port
		}
	}
	t.Fatalf("no free port on %v", ip)
	return 0
}

func portFree(ip netip.Addr, port int) bool {
	ap := netip.AddrPortFrom(ip, uint16(port))
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap))
	if err != nil {
		return false
	}
	defer ln.Close()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return false
	}
	_ = pc.Close()
	return true
}

// TCPServer is a test origin.
type TCPServer struct {
	Addr     netip.AddrPort
	Accepted atomic.Int64
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

// StartTCP serves handle on ip (port 0 picks one) until cleanup, which
// closes the listener and every connection and waits for handlers.
func StartTCP(t TB, ap netip.AddrPort, handle func(net.Conn)) *TCPServer {
	t.Helper()
	ln, err := net.Listen("tcp", ap.String())
	if err != nil {
		t.Fatalf("origin listen: %v", err)
	}
	s := &TCPServer{Addr: ln.Addr().(*net.TCPAddr).AddrPort(), ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.loop(handle)
	t.Cleanup(s.Close)
	return s
}

func (s *TCPServer) loop(handle func(net.Conn)) {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.Accepted.Add(1)
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			handle(c)
		}()
	}
}

// Close stops the server and closes its connections.
func (s *TCPServer) Close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Echo copies input back, then half-closes.
func Echo(c net.Conn) {
	_, _ = io.Copy(c, c)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// Name writes name and closes: lets a client see which origin it reached.
func Name(name string) func(net.Conn) {
	return func(c net.Conn) { _, _ = io.WriteString(c, name) }
}

// Sink reads everything and discards it.
func Sink(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// Blast writes until the connection breaks.
func Blast(c net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// MeasureMbps reads c for window, closes it and returns the rate in
// Mbit/s. The window starts once what c's socket already holds is read:
// its first read (a token bucket's initial burst), and what came while
// the reader was late (a loaded machine), which was sent before the
// window and would make a shaped rate read high.
func MeasureMbps(c net.Conn, window time.Duration) float64 {
	defer c.Close()
	return ReadMbps(c, window)
}

// ReadMbps is MeasureMbps leaving c open, to be measured again.
func ReadMbps(c net.Conn, window time.Duration) float64 {
	buf := make([]byte, 64<<10)
	_ = c.SetReadDeadline(time.Now().Add(window)) // Nothing at all must not hang the test.
	_, _ = c.Read(buf)
	// The backlog: what comes without a wait (bounded, for a rate so high
	// that something always has).
	for end := time.Now().Add(window / 4); time.Now().Before(end); {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	start := time.Now()
	total := 0
	_ = c.SetReadDeadline(start.Add(window))
	for {
		n, err := c.Read(buf)
		total += n
		if err != nil {
			break
		}
	}
	return float64(total) * 8 / time.Since(start).Seconds() / 1e6
}

// ShapedRate checks a rate in Mbit/s that a cap of want shapes: one
// measurement (a fresh window of traffic) must come within want ± tol
// (a fraction). Over the cap fails at once; short of it, it is measured
// again, up to three times: a starved machine (a loaded CI box) can fall
// short of a cap, but never carry more than it.
func ShapedRate(t interface {
	TB
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
}, what string, want, tol float64, measure func() float64) {
	t.Helper()
	const tries = 3
	for try := 1; ; try++ {
		r := measure()
		t.Logf("%s: %.2f Mbps (cap %g)", what, r, want)
		switch {
		case r > want*(1+tol):
			t.Errorf("%s: got %.2f Mbps; want %g ± %g%%", what, r, want, tol*100)
			return
		case r >= want*(1-tol):
			return
		case try == tries:
			t.Errorf("%s: got %.2f Mbps in each of %d tries; want %g ± %g%%", what, r, tries, want, tol*100)
			return
		}
	}
}

// UDPServer is a test UDP origin that answers every datagram with
// prefix+payload.
type UDPServer struct {
	Addr     netip.AddrPort
	Received atomic.Int64
	pc       *net.UDPConn
	done     chan struct{}
}

// StartUDP starts a UDP origin; handle returns the reply (nil: no reply).
func StartUDP(t TB, ap netip.AddrPort, handle func(from netip.AddrPort, p []byte) []byte) *UDPServer {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		t.Fatalf("udp origin listen: %v", err)
	}
	s := &UDPServer{Addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), pc: pc, done: make(chan struct{})}
	go s.loop(handle)
	t.Cleanup(func() { _ = pc.Close(); <-s.done })
	return s
}

// Close closes the origin's socket before the test ends: its port then
// answers ICMP port unreachable.
func (s *UDPServer) Close() { _ = s.pc.Close() }

func (s *UDPServer) loop(handle func(netip.AddrPort, []byte) []byte) {
	defer close(s.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := s.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		s.Received.Add(1)
		if r := handle(from, buf[:n]); r != nil {
			_, _ = s.pc.WriteToUDPAddrPort(r, from)
		}
	}
}

// Prefix returns a UDP handler answering prefix+payload.
func Prefix(prefix string) func(netip.AddrPort, []byte) []byte {
	return func(_ netip.AddrPort, p []byte) []byte { return append([]byte(prefix), p...) }
}

// Eventually polls cond every 10ms until it holds or d passes.
func Eventually(t TB, d time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", d, fmt.Sprintf(format, args...))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
