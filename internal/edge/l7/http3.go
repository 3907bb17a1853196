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
// socket and its QUIC connections; Close releases the port at once. Safe
// for concurrent use.
type H3Server struct {
	pc   *net.UDPConn
	tr   *quic.Transport
	ln   *quic.Listener
	srv  *http3.Server
	qcfg *quic.Config
	h    atomic.Pointer[Handler]
	tls  atomic.Pointer[h3Configs] // Derived from the current handler.

	mu     sync.Mutex
	conns  map[*quic.Conn]*Handler // Each with the handler it was accepted with.
	closed bool
	wg     sync.WaitGroup // Connection goroutines.
	once   sync.Once
	done   chan struct{} // Accept loop ended.
	gone   chan struct{} // Close finished waiting for handlers.
}

// ListenHTTP3 binds addr (UDP) and serves h, which must have TLS, over
// HTTP/3.
func ListenHTTP3(addr netip.AddrPort, h *Handler) (*H3Server, error) {
	if h.tls == nil {
		return nil, errors.New("HTTP/3 needs TLS")
	}
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	s := &H3Server{pc: pc, tr: &quic.Transport{Conn: pc}, conns: map[*quic.Conn]*Handler{},
		done: make(chan struct{}), gone: make(chan struct{})}
	s.h.Store(h)
	// quic-go applies the returned config as is: it must carry the limits.
	s.qcfg = &quic.Config{MaxIdleTimeout: IdleTimeout, GetConfigForClient: s.admitInitial}
	s.ln, err = s.tr.Listen(&tls.Config{GetConfigForClient: s.configFor}, s.qcfg)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	s.srv = &http3.Server{
		Handler:        http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.h.Load().ServeHTTP(w, r) }),
		MaxHeaderBytes: MaxHeaderBytes, IdleTimeout: IdleTimeout,
	}
	go s.acceptLoop()
	return s, nil
}

// Addr is the bound UDP address.
func (s *H3Server) Addr() netip.AddrPort { return s.pc.LocalAddr().(*net.UDPAddr).AddrPort() }

// Update swaps the handler for new requests and handshakes; connections
// keep their QUIC state (and the counters and gate slot of their accept).
func (s *H3Server) Update(h *Handler) { s.h.Store(h) }

// admitInitial applies the proxy's security policy to a client's first
// packet, before any handshake work: a denied source is refused at once.
// The address is not yet validated, but a spoofed allowed source cannot
// finish the handshake anyway.
func (s *H3Server) admitInitial(info *quic.ClientInfo) (*quic.Config, error) {
	h := s.h.Load()
	ua, _ := info.RemoteAddr.(*net.UDPAddr)
	if ua == nil || !h.Proxy.Policy.Load().Allow(ua.AddrPort().Addr().Unmap(), policyUDP, h.port) {
		h.count(func(c *statsCounters) { c.Denied.Add(1) })
		return nil, errors.New(h3DenyText)
	}
	return s.qcfg, nil
}

func (s *H3Server) acceptLoop() {
	defer close(s.done)
	for {
		c, err := s.ln.Accept(context.Background())
		if err != nil {
			return // Listener closed.
		}
		s.serve(c)
	}
}

// serve applies the connection cap to a handshaken connection, counts it
// and serves it until it ends.
func (s *H3Server) serve(c *quic.Conn) {
	h := s.h.Load()
	if !h.Proxy.Conns.TryAcquire() {
		h.count(func(c *statsCounters) { c.Refused.Add(1) })
		_ = c.CloseWithError(h3Refused, "connection limit")
		return
	}
	h.count(func(c *statsCounters) { c.NewConns.Add(1); c.Active.Add(1) })
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.end(c, h)
		return
	}
	s.conns[c] = h
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		_ = s.srv.ServeQUICConn(c) // Returns when the connection ends.
		s.end(c, h)
	}()
}

// end closes c (the caller of ServeQUICConn owns it), releases its slot
// and adds its wire bytes to the counters it was accepted with.
func (s *H3Server) end(c *quic.Conn, h *Handler) {
	_ = c.CloseWithError(h3NoError, "")
	st := c.ConnectionStats()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	h.Proxy.Conns.Release()
	h.count(func(c *statsCounters) {
		c.Active.Add(-1)
		c.BytesIn.Add(int64(st.BytesReceived))
		c.BytesOut.Add(int64(st.BytesSent))
	})
}

// Recheck closes connections whose client the proxy's current policy
// denies, as TCP listeners do on a policy change.
func (s *H3Server) Recheck() {
	s.mu.Lock()
	var deny []*quic.Conn
	for c, h := range s.conns {
		src := c.RemoteAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
		if !h.Proxy.Policy.Load().Allow(src, policyUDP, h.port) {
			h.count(func(c *statsCounters) { c.Denied.Add(1) })
			deny = append(deny, c)
		}
	}
	s.mu.Unlock()
	for _, c := range deny {
		_ = c.CloseWithError(h3Denied, h3DenyText) // Unblocks its ServeQUICConn.
	}
}

// Close closes every QUIC connection (clients get CONNECTION_CLOSE and
// fall back to TCP) and releases the UDP port before returning, so the
// port can be bound again in the same Apply. QUIC connections live on the
// socket, so unlike TCP they cannot outlive it to drain. done is closed
// when every request handler has returned.
func (s *H3Server) Close() (done <-chan struct{}) {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*quic.Conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		_ = s.ln.Close()
		for _, c := range conns {
			_ = c.CloseWithError(h3NoError, "listener closed")
		}
		_ = s.tr.Close()
		_ = s.pc.Close()
		go func() {
			defer close(s.gone)
			<-s.done
			s.wg.Wait() // Request contexts end with their connection.
			_ = s.srv.Close()
		}()
	})
	return s.gone
}
