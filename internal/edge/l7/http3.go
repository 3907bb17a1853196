package l7

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// HTTP/3 application error codes sent when the edge closes a connection.
const (
	h3NoError = quic.ApplicationErrorCode(http3.ErrCodeNoError)
	h3Refused = quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad)
	h3Denied  = quic.ApplicationErrorCode(http3.ErrCodeRequestRejected)
)

const (
	// policyUDP is the protocol security policies see for QUIC: what the
	// wire carries (a "TCP" rule does not cover HTTP/3, a "UDP" one does).
	policyUDP  = "UDP"
	h3DenyText = "denied by security policy"
)

// H3Server owns one UDP socket and serves the current Handler over HTTP/3
// (QUIC) with the Handler's certificates, next to the Server of the same
// listener on the TCP port of the same number. The socket is the edge's,
// not quic-go's: a configuration change swaps the Handler and keeps the
// socket and its QUIC connections. Shutdown drains (http3_conn.go), Close
// releases the port at once. Safe for concurrent use.
type H3Server struct {
	pc   *quicSocket // Shaped by the proxy's bandwidth (http3_shape.go).
	tr   *quic.Transport
	ln   *quic.Listener
	srv  *http3.Server
	qcfg *quic.Config
	h    atomic.Pointer[Handler]
	// handshakes is the number of QUIC handshakes in flight (maxHandshakes).
	handshakes atomic.Int64
	tls        atomic.Pointer[h3Configs] // Derived from the current handler.

	mu     sync.Mutex
	conns  map[*quic.Conn]*h3Conn
	denied map[netip.AddrPort]time.Time // Client sockets refused lately, when (firstDenial).
	closed bool                         // No more connections are served; the sweep closes quiet ones (drain).
	wg     sync.WaitGroup               // Connection goroutines and the sweeper.
	once   sync.Once
	quit   chan struct{} // Stops the sweeper.
	done   chan struct{} // Accept loop ended.
	gone   chan struct{} // Close finished waiting for handlers.
}

// ListenHTTP3 binds addr (UDP) and serves h, which must have TLS, over
// HTTP/3.
func ListenHTTP3(addr netip.AddrPort, h *Handler) (*H3Server, error) {
	if h.tls == nil {
		return nil, errors.New("HTTP/3 needs TLS")
	}
	udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	s := &H3Server{conns: map[*quic.Conn]*h3Conn{}, denied: map[netip.AddrPort]time.Time{},
		quit: make(chan struct{}), done: make(chan struct{}), gone: make(chan struct{})}
	s.h.Store(h)
	s.pc = newQUICSocket(udp, s.h.Load, s.countDenied)
	s.tr = &quic.Transport{Conn: s.pc, ConnContext: func(ctx context.Context, _ *quic.ClientInfo) (context.Context, error) {
		stamp := &h3Stamp{}
		s.handshakeStarts(ctx, stamp)
		return context.WithValue(ctx, h3StampKey{}, stamp), nil
	}, VerifySourceAddress: func(net.Addr) bool { return s.handshakes.Load() >= maxHandshakes }}
	// quic-go applies the returned config as is: it must carry the limits.
	s.qcfg = &quic.Config{MaxIdleTimeout: IdleTimeout, GetConfigForClient: s.admitInitial}
	s.ln, err = s.tr.Listen(&tls.Config{GetConfigForClient: s.configFor}, s.qcfg)
	if err != nil {
		_ = s.pc.Close()
		return nil, err
	}
	s.srv = &http3.Server{
		Handler:        http.HandlerFunc(s.serveHTTP),
		MaxHeaderBytes: MaxHeaderBytes, IdleTimeout: IdleTimeout,
		ConnContext: s.connContext,
	}
	s.wg.Add(1)
	go s.sweepLoop()
	go s.acceptLoop()
	h.h3Live.Store(true) // Served: Alt-Svc may name the port from now on.
	return s, nil
}

// Addr is the bound UDP address.
func (s *H3Server) Addr() netip.AddrPort { return s.pc.LocalAddr().(*net.UDPAddr).AddrPort() }

// Update swaps the handler for new requests and handshakes; connections
// keep their QUIC state (and the counters and gate slot of their accept).
// A handler that demands something else of clients closes the QUIC
// connections that do not meet its demands, as Server.Update does for TCP.
func (s *H3Server) Update(h *Handler) {
	h.h3Live.Store(true)
	if old := swapHandler(&s.h, h); old != nil {
		for _, hc := range lockedValues(&s.mu, s.conns) {
			s.recheckTLS(hc, h, old)
		}
	}
}

// h3Stamp records, per QUIC connection (in its context), the handler
// whose config its handshake took, and whether the handshake still counts
// in H3Server.handshakes.
type (
	h3Stamp struct {
		h       atomic.Pointer[Handler]
		shaking atomic.Bool
	}
	h3StampKey struct{}
)

// maxHandshakes bounds a listener's QUIC handshakes in flight before
// clients must prove their address (a Retry: one more round trip, and no
// state at all for a source that cannot answer). Each handshake holds a
// connection, its goroutines and TLS state (~80 KiB) until it completes
// or its 5 s timeout, and the proxy's cap counts a connection only once
// it is handshaken: a flood of Initials from spoofed sources, which never
// answer, held ~1,000 of them at once. A busy listener's honest
// handshakes in flight are its new connections per second times a round
// trip: 256 is 2,500 a second over 100 ms.
const maxHandshakes = 256

// handshakeStarts counts the handshake of a connection quic-go is setting
// up, until it is accepted handshaken (acceptLoop) or fails (ctx ends).
func (s *H3Server) handshakeStarts(ctx context.Context, stamp *h3Stamp) {
	stamp.shaking.Store(true)
	s.handshakes.Add(1)
	context.AfterFunc(ctx, func() { s.handshakeEnds(stamp) })
}

func (s *H3Server) handshakeEnds(stamp *h3Stamp) {
	if stamp.shaking.CompareAndSwap(true, false) {
		s.handshakes.Add(-1)
	}
}

// recheckTLS closes hc, which prev admitted, if its handshake does not
// meet h's demands for its SNI and its requests in flight.
func (s *H3Server) recheckTLS(hc *h3Conn, h, prev *Handler) {
	if st := hc.c.ConnectionState().TLS; !h.admits(&st, prev, hc.streams.serving()) {
		_ = hc.c.CloseWithError(h3NoError, "listener settings changed")
	}
}

// errH3Closed refuses handshakes on a draining listener.
var errH3Closed = errors.New("listener closed")

// admitInitial applies the proxy's security policy to a client's first
// packet, before any handshake work. The socket drops a denied source's
// datagrams before quic-go reads them (quicSocket.ReadBatch), so this
// refuses only an Initial let through under a policy replaced since. The
// address is not yet validated, but a spoofed allowed source cannot finish
// the handshake anyway.
func (s *H3Server) admitInitial(info *quic.ClientInfo) (*quic.Config, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed { // Draining: refuse (CONNECTION_REFUSED), so the client falls back to TCP now.
		return nil, errH3Closed
	}
	if !s.h.Load().admitsQUIC(quicSource(info.RemoteAddr)) {
		s.countDenied(info.RemoteAddr)
		return nil, errors.New(h3DenyText)
	}
	return s.qcfg, nil
}

// countDenied counts a denied datagram from a (the socket drops them, and
// admitInitial refuses an Initial let through before a policy change) as a
// refused connection attempt, once per attempt (firstDenial).
func (s *H3Server) countDenied(a net.Addr) {
	if s.firstDenial(a, time.Now()) {
		s.h.Load().count(func(c *statsCounters) { c.Denied.Add(1) })
	}
}

const (
	// deniedWithin is how long apart the denied datagrams from one client
	// socket may come and count as one refused connection attempt:
	// quic-go's handshake timeout.
	deniedWithin = 5 * time.Second
	// maxDenied bounds H3Server.denied; the sweep forgets old entries.
	maxDenied = 4096
)

// firstDenial reports whether a denied datagram from a is the first of its
// connection attempt, to count the attempt once, as a refused TCP
// connection is. A denied client resends its Initials unanswered, and
// (admitInitial) quic-go asks about every Initial of a connection it
// does not know, and a refused one it never knows: today's
// ClientHellos (a post-quantum key share, as Go, Chrome and Firefox send)
// span two Initials, and lost refusals bring retransmissions. Its
// callback gives the address alone, not the connection ID, so datagrams
// from one client address and port less than deniedWithin apart count as
// one attempt (another from the same socket within it too). When the
// table is full, every denial counts until the sweep makes room (prune).
func (s *H3Server) firstDenial(a net.Addr, now time.Time) bool {
	ua, _ := a.(*net.UDPAddr)
	if ua == nil {
		return true
	}
	src := ua.AddrPort()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.denied[src]; ok && now.Sub(t) < deniedWithin {
		// Still the same attempt: the socket drops a denied source's
		// datagrams unanswered, so a client resends for its whole
		// handshake timeout (Chrome's is 10 s), each packet extending it.
		s.denied[src] = now
		return false
	}
	if len(s.denied) < maxDenied {
		s.denied[src] = now
	}
	return true
}

// pruneDenied forgets the refused client sockets older than deniedWithin.
// The caller holds s.mu.
func (s *H3Server) pruneDenied(now time.Time) {
	for a, t := range s.denied {
		if now.Sub(t) >= deniedWithin {
			delete(s.denied, a)
		}
	}
}

// admitsQUIC reports whether h's proxy policy admits QUIC traffic from
// src: the one rule for a client's first packet, for a policy change
// (Recheck) and for an address a connection migrated to (h3Conn.onPath).
func (h *Handler) admitsQUIC(src netip.Addr) bool {
	return src.IsValid() && h.Proxy.Policy.Load().Allow(src, policyUDP, h.port)
}

// quicSource is the client address of a QUIC address (invalid if a is
// not UDP).
func quicSource(a net.Addr) netip.Addr {
	ua, _ := a.(*net.UDPAddr)
	if ua == nil {
		return netip.Addr{}
	}
	return ua.AddrPort().Addr().Unmap()
}

func (s *H3Server) acceptLoop() {
	defer close(s.done)
	for {
		c, err := s.ln.Accept(context.Background())
		if err != nil {
			return // Listener closed.
		}
		if stamp, ok := c.Context().Value(h3StampKey{}).(*h3Stamp); ok {
			s.handshakeEnds(stamp)
		}
		s.serve(c)
	}
}

// serve applies the connection cap to a handshaken connection, counts it
// and serves it until it ends.
func (s *H3Server) serve(c *quic.Conn) {
	h := s.h.Load()
	if !h.Proxy.AcquireStream() { // Its first request's share too: see streams.
		h.count(func(c *statsCounters) { c.Refused.Add(1) })
		_ = c.CloseWithError(h3Refused, "connection limit")
		return
	}
	h.count(func(c *statsCounters) { c.NewConns.Add(1); c.Open() })
	hc := &h3Conn{c: c, h: h, busy: time.Now(), streams: streams{gate: h.Proxy}}
	hc.streams.conn = hc
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.end(hc)
		return
	}
	// The policy admitInitial applied may have been replaced since, and
	// Recheck lists the connections under s.mu after a change stored the
	// new one: checked here, under s.mu, c is either listed by the
	// recheck or checked under the new policy (l4.Proxy.Admit).
	if !hc.onPath(quicSource(c.RemoteAddr())) {
		s.mu.Unlock()
		hc.deny()
		s.end(hc)
		return
	}
	s.conns[c] = hc
	s.wg.Add(1)
	s.mu.Unlock()
	// Listed before the handler is read, as Update swaps the handler
	// before it lists the connections: a change during the handshake is
	// seen by one side or the other.
	var by *Handler
	if stamp, ok := c.Context().Value(h3StampKey{}).(*h3Stamp); ok {
		by = stamp.h.Load()
	}
	if cur := s.h.Load(); by != cur {
		s.recheckTLS(hc, cur, by)
	}
	go func() {
		defer s.wg.Done()
		_ = s.srv.ServeQUICConn(c) // Returns when the connection ends.
		s.end(hc)
	}()
}

// end closes a connection (the caller of ServeQUICConn owns it), releases
// its slot and publishes the last of its wire bytes.
func (s *H3Server) end(hc *h3Conn) {
	_ = hc.c.CloseWithError(h3NoError, "")
	s.mu.Lock()
	hc.publish(hc.c.ConnectionStats())
	delete(s.conns, hc.c)
	s.mu.Unlock()
	hc.h.Proxy.ReleaseStream()
	hc.h.count(func(c *statsCounters) { c.Active.Add(-1) })
}

// Recheck closes connections whose client the proxy's current policy
// denies, as TCP listeners do on a policy change. The address each
// connection was last admitted from is forgotten: the new policy may deny
// it, and a connection could move back to it.
func (s *H3Server) Recheck() {
	s.mu.Lock()
	var deny []*h3Conn
	for c, hc := range s.conns {
		hc.src.Store(nil)
		if !hc.onPath(quicSource(c.RemoteAddr())) {
			deny = append(deny, hc)
		}
	}
	s.mu.Unlock()
	for _, hc := range deny {
		hc.deny()
	}
}
