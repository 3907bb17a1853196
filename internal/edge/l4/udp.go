package l4

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/limit"
	"github.com/opengaap/opengaap/internal/edge/mono"
)

const (
	udpBatch = 32 // Datagrams per recvmmsg/sendmmsg.
	// udpBuf is the read buffer of each datagram of a batch until larger
	// datagrams come (a jumbo frame's payload): a listener's batch and a
	// session's reply buffers then grow to udpMaxBuf.
	udpBuf = 9216
	// udpMaxBuf holds the largest UDP payload (65507 bytes over IPv4,
	// 65527 over IPv6), so nothing larger can arrive.
	udpMaxBuf = 65535

	udpListenRcvBuf = 4 << 20 // SO_RCVBUF of a listening socket.
)

// udpWideFor is how long a listener's batch keeps udpMaxBuf buffers after
// its last datagram over udpBuf (a variable: tests shorten it).
var udpWideFor = 10 * time.Second

// batchConn is the recvmmsg/sendmmsg API shared by ipv4 and ipv6
// PacketConns (their Message types are the same type).
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func newBatchConn(c *net.UDPConn, v4 bool) batchConn {
	if v4 {
		return ipv4.NewPacketConn(c)
	}
	return ipv6.NewPacketConn(c)
}

// UDPServer forwards datagrams on one UDP socket. It owns its session table
// (client address → upstream socket), so sessions outlive Route changes
// (caddy-l4 ties them to a config generation; we don't). Safe for
// concurrent use.
type UDPServer struct {
	pc    *net.UDPConn
	bc    batchConn
	route atomic.Pointer[Route]
	ovfl  bool // Reads carry the socket's drop counter (SO_RXQ_OVFL).
	// wideAt is when (the coarse clock) an origin last sent a reply over
	// udpBuf, 0 if never: for udpWideFor after it, new sessions start
	// with buffers that hold any datagram (replyLoop, wideReplies).
	wideAt atomic.Int64

	mu       sync.Mutex
	sessions map[netip.AddrPort]*udpSession
	stopping bool
	clock    atomic.Int64 // Coarse mono.Now, set by the sweeper; stamps activity.
	wg       sync.WaitGroup
	quit     chan struct{} // Closed with the socket.
	cut      chan struct{} // Closed by Abort during a drain.

	closeOnce, cutOnce sync.Once
}

// ListenUDP binds addr and starts serving r.
func ListenUDP(addr netip.AddrPort, r *Route) (*UDPServer, error) {
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	// One socket takes every client's datagrams: a larger receive queue
	// (capped by net.core.rmem_max) absorbs bursts while the read loop is
	// descheduled. Best effort.
	_ = pc.SetReadBuffer(udpListenRcvBuf)
	v4 := addr.Addr().Unmap().Is4() || !addr.Addr().IsValid()
	s := &UDPServer{pc: pc, bc: newBatchConn(pc, v4),
		sessions: map[netip.AddrPort]*udpSession{}, quit: make(chan struct{}), cut: make(chan struct{})}
	s.ovfl = enableRxqOvfl(pc)
	s.clock.Store(mono.Now())
	s.route.Store(r)
	s.wg.Add(2)
	go s.readLoop()
	go s.sweepLoop()
	return s, nil
}

// Addr returns the bound address.
func (s *UDPServer) Addr() netip.AddrPort { return s.pc.LocalAddr().(*net.UDPAddr).AddrPort() }

// Update swaps the route. Sessions keep their origin unless the new route
// no longer has it or sends clients' addresses otherwise, in which case
// they end (the next datagram starts a session under the new route).
func (s *UDPServer) Update(r *Route) {
	s.route.Store(r)
	for _, ss := range s.list() {
		if stale(ss, r) {
			ss.close()
		}
	}
}

// stale reports whether session ss cannot go on under route r: its origin
// left or changed (another address), or the header its datagrams carry did.
// A change of health-check settings alone keeps the session: its origin is
// the same (SameOrigin), and the sweep reads health from r's backend.
func stale(ss *udpSession, r *Route) bool {
	o := r.Origins[ss.o.ID]
	return o == nil || !o.Backend.SameOrigin(ss.o.Backend) || r.ClientIP != ss.route.ClientIP
}

// Recheck ends sessions whose client the proxy's policy now denies.
// (Datagrams are checked one by one anyway; this frees their slots.)
func (s *UDPServer) Recheck() {
	for _, ss := range s.list() {
		if !ss.route.Proxy.Policy.Load().Allow(ss.client.Addr().Unmap(), "UDP", ss.route.Port) {
			ss.close()
		}
	}
}

func (s *UDPServer) list() []*udpSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*udpSession, 0, len(s.sessions))
	for _, ss := range s.sessions {
		out = append(out, ss)
	}
	return out
}

// readLoop reads client datagrams in batches. Until a datagram larger
// than udpBuf comes, each datagram of a batch has a udpBuf buffer and the
// rest of a larger one goes to a spill buffer the batch shares: the last
// such datagram of a batch is whole, earlier ones were overwritten and are
// dropped. The first one makes the batch's buffers udpMaxBuf until no
// larger datagram has come for udpWideFor (a read deadline, so an idle
// listener goes back too): a listener pays for large datagrams (2 MiB)
// only while they come, not for good after one (a scan of a port range
// with one each held gigabytes).
func (s *UDPServer) readLoop() {
	defer s.wg.Done()
	narrow := readMessages(s.ovfl, udpBatch, udpBuf)
	spill := make([]byte, udpMaxBuf-udpBuf)
	for i := range narrow {
		narrow[i].Buffers = append(narrow[i].Buffers, spill)
	}
	ms, wide := narrow, false
	var touched []*udpSession
	var pace readBackoff
	var drops dropMeter
	for {
		n, err := s.bc.ReadBatch(ms, 0)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if wide && errors.Is(err, os.ErrDeadlineExceeded) {
			ms, wide = narrow, false
			_ = s.pc.SetReadDeadline(time.Time{})
			continue
		}
		if err != nil {
			pace.failed()
			continue
		}
		pace.ok()
		r := s.route.Load()
		if d := drops.batch(ms[:n]); d > 0 { // Lost before the edge could read them.
			r.counters(nil).Add(dropped, d)
		}
		touched = touched[:0]
		last := lastSpilled(ms[:n])
		for i := range ms[:n] {
			if ss := s.inbound(r, &ms[i], i == last); ss != nil && len(ss.pending) == 1 {
				touched = append(touched, ss)
			}
		}
		for _, ss := range touched {
			ss.flush()
		}
		if largest(ms[:n]) > udpBuf { // Flushed: nothing aliases ms now.
			if !wide {
				ms, wide = readMessages(s.ovfl, udpBatch, udpMaxBuf), true
			}
			_ = s.pc.SetReadDeadline(time.Now().Add(udpWideFor))
		}
	}
}

// largest returns the size of the largest datagram read into ms.
func largest(ms []ipv4.Message) int {
	most := 0
	for i := range ms {
		most = max(most, ms[i].N)
	}
	return most
}

// lastSpilled returns the index of the last datagram of ms larger than
// its first buffer (the only one whose spill is intact), or -1.
func lastSpilled(ms []ipv4.Message) int {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].N > len(ms[i].Buffers[0]) {
			return i
		}
	}
	return -1
}

// payload returns the datagram read into m, or nil if it is lost: cut
// short (MSG_TRUNC), or spilled and not whole (whole: the batch's last
// spilled datagram, copied out of its two buffers).
func payload(m *ipv4.Message, whole bool) []byte {
	b := m.Buffers[0]
	switch {
	case m.Flags&unix.MSG_TRUNC != 0:
		return nil
	case m.N <= len(b):
		return b[:m.N]
	case !whole:
		return nil
	}
	return append(b[:len(b):len(b)], m.Buffers[1][:m.N-len(b)]...)
}

// inbound filters one client datagram and queues it on its session; it
// returns the session, or nil if the datagram was dropped. whole says
// whether a datagram that spilled is whole (payload).
func (s *UDPServer) inbound(r *Route, m *ipv4.Message, whole bool) *udpSession {
	ua, ok := m.Addr.(*net.UDPAddr)
	if !ok {
		return nil
	}
	src := ua.AddrPort()
	set := r.counters(nil)
	p := payload(m, whole)
	switch {
	case p == nil:
		set.Add(dropped, 1)
		return nil
	case !r.Proxy.Policy.Load().Allow(src.Addr().Unmap(), "UDP", r.Port):
		set.Add(denied, 1)
		return nil
	}
	// Bandwidth last: a datagram refused by the cap (or not forwarded for
	// want of an origin, or while stopping) must not spend the tokens of
	// the proxy's admitted traffic, as a refused TCP connection spends none.
	ss := s.session(r, src)
	if ss == nil {
		return nil
	}
	if !r.Proxy.BW.Allow(limit.In, m.N) {
		set.Add(shaped, 1)
		return nil
	}
	ss.queue(p, s.clock.Load())
	return ss
}

// session returns the live session of src, creating one (cap, pick, dial)
// if there is none or its origin refused a datagram.
func (s *UDPServer) session(r *Route, src netip.AddrPort) *udpSession {
	s.mu.Lock()
	ss, stopping := s.sessions[src], s.stopping
	s.mu.Unlock()
	var leave *balance.Target
	if ss != nil {
		if !ss.refused.Load() {
			return ss
		}
		// Its origin refused a datagram: the client moves, leaving that
		// origin out of this pick even if persistence pins it there, as
		// a TCP connection whose connect failed is retried elsewhere.
		leave = ss.t
		ss.close()
	}
	if stopping { // Draining: no new sessions, so no pick, dial or count either.
		r.counters(nil).Add(dropped, 1)
		return nil
	}
	if !r.acquireSession() {
		r.counters(nil).Add(refused, 1)
		return nil
	}
	ss, err := dialSession(s, r, src, leave)
	if err != nil {
		r.releaseSession()
		r.counters(nil).Add(dropped, 1) // No origin to take it: lost.
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// An Update or a policy change (Recheck) that ran since r and the
	// policy were loaded listed the sessions before this one was in the
	// table: check it against the current route and policy here, under
	// the lock they list the table with (Proxy.Admit says why). Later
	// datagrams are checked one by one, but the origin's replies to a
	// session that escaped the recheck would not be.
	switch {
	case s.stopping || stale(ss, s.route.Load()):
		ss.closeLocked()
		return nil
	case !r.Proxy.Policy.Load().Allow(src.Addr().Unmap(), "UDP", r.Port):
		ss.closeLocked()
		r.counters(nil).Add(denied, 1)
		return nil
	}
	s.sessions[src] = ss
	s.wg.Add(1)
	go ss.replyLoop()
	return ss
}

// acquireSession takes a slot for a new session from the proxy's cap and
// its descriptor from the node's budget, or reports false if either is
// full.
func (r *Route) acquireSession() bool {
	if !r.Proxy.acquire(udpFDs) {
		return false
	}
	if r.Proxy.Node != nil {
		r.Proxy.Node.udp.Add(1)
	}
	return true
}

// releaseSession returns what acquireSession took.
func (r *Route) releaseSession() {
	if r.Proxy.Node != nil {
		r.Proxy.Node.udp.Add(-1)
	}
	r.Proxy.release(udpFDs)
}

func (s *UDPServer) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			now := mono.Now()
			s.clock.Store(now)
			r := s.route.Load()
			for _, ss := range s.list() {
				idle := now-ss.last.Load() >= int64(ss.route.IdleTimeout)
				// A session whose origin went down ends while another is
				// up: the client's next datagram starts one there (UDP has
				// no connection to break; a session would otherwise stay
				// on the dead origin for as long as its client sends).
				// So does one on an address of a name the checks took out
				// while others pass. Health is the current route's: a
				// check-config change gave the origin a new backend, the
				// session's old one is no longer checked.
				b := ss.o.Backend
				if o := r.Origins[ss.o.ID]; o != nil && o.Backend.SameOrigin(b) {
					b = o.Backend
				}
				if idle || !b.Healthy() && r.Picker.AnyHealthy() || b.AddrDown(ss.oaddr) {
					ss.close()
					continue
				}
				ss.vouch(now)
			}
		}
	}
}

// Shutdown stops new sessions at once (datagrams from other clients are
// dropped) and lets the live ones run, through the same socket since their
// replies leave by it, until they go idle or grace ends; then the socket
// closes. The runtime cuts a drain short (Abort) when a new listener wants
// the port, so a drain never blocks re-adding it.
func (s *UDPServer) Shutdown(grace time.Duration) <-chan struct{} {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		end := time.NewTimer(grace)
		defer end.Stop()
		tick := time.NewTicker(udpDrainPoll)
		defer tick.Stop()
		for s.live() {
			select {
			case <-end.C:
				s.Abort()
			case <-s.cut:
			case <-tick.C:
				continue
			}
			break
		}
		s.closeNow()
		s.wg.Wait()
	}()
	return done
}

// udpDrainPoll is how often a draining server checks for live sessions.
const udpDrainPoll = 50 * time.Millisecond

// live reports whether sessions remain.
func (s *UDPServer) live() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions) > 0
}

// closeNow closes the socket (freeing the port) and every session.
func (s *UDPServer) closeNow() {
	s.closeOnce.Do(func() {
		_ = s.pc.Close()
		for _, ss := range s.list() {
			ss.close()
		}
		close(s.quit)
	})
}

// Abort ends every session now; a draining server also closes its socket
// at once.
func (s *UDPServer) Abort() {
	s.mu.Lock()
	draining := s.stopping
	s.mu.Unlock()
	if draining {
		s.closeNow()
		s.cutOnce.Do(func() { close(s.cut) })
		return
	}
	for _, ss := range s.list() {
		ss.close()
	}
}

// readMessages returns a batch of n read buffers of size bytes, with room
// for the SO_RXQ_OVFL control message when the socket reports drops.
func readMessages(ovfl bool, n, size int) []ipv4.Message {
	ms := make([]ipv4.Message, n)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, size)}
		if ovfl {
			ms[i].OOB = make([]byte, rxqOOBLen)
		}
	}
	return ms
}
