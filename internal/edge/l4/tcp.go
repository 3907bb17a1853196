package l4

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// SweepEvery is how often a TCP server samples TCP_INFO of its connections
// for live counters and idle timeouts. Idle timeouts are therefore enforced
// to within this granularity.
const SweepEvery = 500 * time.Millisecond

// TCPServer accepts on one TCP socket and forwards each connection to an
// origin chosen by the current Route. Safe for concurrent use.
type TCPServer struct {
	ln    *net.TCPListener
	route atomic.Pointer[Route]

	mu       sync.Mutex
	conns    map[*tcpConn]struct{}
	stopping bool
	wg       sync.WaitGroup // Accept loop, sweeper and connections.
	quit     chan struct{}  // Closed by Shutdown; stops the sweeper.
}

// ListenTCP binds addr and starts serving r.
func ListenTCP(addr netip.AddrPort, r *Route) (*TCPServer, error) {
	// KeepAlive -1: no TCP keep-alive on accepted connections (Go's default
	// costs four setsockopt per socket); the sweeper's idle timeout already
	// ends dead connections.
	lc := net.ListenConfig{KeepAlive: -1}
	l, err := lc.Listen(context.Background(), "tcp", net.TCPAddrFromAddrPort(addr).String())
	if err != nil {
		return nil, err
	}
	ln := l.(*net.TCPListener)
	s := &TCPServer{ln: ln,
		conns: map[*tcpConn]struct{}{}, quit: make(chan struct{})}
	s.route.Store(r)
	s.wg.Add(2)
	go s.acceptLoop()
	go s.sweepLoop()
	return s, nil
}

// Addr returns the bound address.
func (s *TCPServer) Addr() netip.AddrPort { return s.ln.Addr().(*net.TCPAddr).AddrPort() }

// Update swaps the route; open connections keep theirs.
func (s *TCPServer) Update(r *Route) { s.route.Store(r) }

// Recheck closes connections whose client the proxy's policy now denies.
// A policy change thus applies to open connections too: a DROP rule added
// against an attacker must not wait for their connections to end.
func (s *TCPServer) Recheck() {
	for _, c := range s.snapshotConns() {
		if !c.route.Proxy.Policy.Load().Allow(c.src.Addr(), "TCP", c.route.Port) {
			c.route.counters(nil).Add(denied, 1)
			c.abort()
		}
	}
}

func (s *TCPServer) acceptLoop() {
	defer s.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := s.ln.AcceptTCP()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // EMFILE and friends: back off instead of spinning.
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		s.serve(c)
	}
}

// serve admits c and starts its goroutine; refused clients are reset here.
func (s *TCPServer) serve(c *net.TCPConn) {
	r := s.route.Load()
	tc := s.track(r, c)
	if tc == nil {
		_ = c.SetLinger(0) // Reset rather than linger: the client is unwanted.
		_ = c.Close()
		return
	}
	s.wg.Add(1)
	spawn(func() {
		defer s.wg.Done()
		defer s.untrack(tc)
		tc.run()
	})
}

// track admits c on r and adds it to the open connections in one step
// under s.mu, which Recheck lists them under (Proxy.Admit says why). It
// returns nil for a refused client, which costs no connection state; an
// admitted one holds a slot of its proxy's connection cap.
func (s *TCPServer) track(r *Route, c *net.TCPConn) *tcpConn {
	src := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping || !r.admit(src.Addr().Unmap()) {
		return nil
	}
	tc := &tcpConn{client: c, src: src, route: r}
	tc.ctx, tc.cancel = context.WithCancel(context.Background())
	s.conns[tc] = struct{}{}
	return tc
}

func (s *TCPServer) untrack(c *tcpConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *TCPServer) snapshotConns() []*tcpConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*tcpConn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Conns is the number of open connections.
func (s *TCPServer) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// sweepLoop publishes live counters and enforces idle timeouts.
func (s *TCPServer) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			for _, c := range s.snapshotConns() {
				c.sweep()
			}
		}
	}
}

// Shutdown closes the socket at once, waits up to grace for connections to
// finish, then aborts the rest.
func (s *TCPServer) Shutdown(grace time.Duration) <-chan struct{} {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	_ = s.ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		timer := time.NewTimer(grace)
		defer timer.Stop()
		for s.Conns() > 0 {
			select {
			case <-timer.C:
				s.Abort()
			case <-time.After(20 * time.Millisecond):
			}
		}
		close(s.quit)
		s.wg.Wait()
	}()
	return done
}

// Abort closes every open connection now.
func (s *TCPServer) Abort() {
	for _, c := range s.snapshotConns() {
		c.abort()
	}
}
