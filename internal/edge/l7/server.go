package l7

import (
	"context"
	"crypto/tls"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/edge/l4"
)

// Client-side limits of every listener (see docs/dataplane-l7.md).
const (
	ReadHeaderTimeout = 30 * time.Second // Also bounds the TLS handshake.
	IdleTimeout       = 75 * time.Second // nginx keepalive_timeout.
	// BodyIdleTimeout ends a request whose client sends none of its body
	// for this long while the proxy waits for it (nginx's
	// client_body_timeout): an HTTP/1 connection is closed, an HTTP/2 or
	// HTTP/3 stream's body is closed. Time the proxy spends writing the
	// body to a slow origin does not count.
	BodyIdleTimeout = 60 * time.Second
	// SendTimeout bounds each write to a client (nginx's send_timeout): a
	// client that stops reading is disconnected after it.
	SendTimeout    = 60 * time.Second
	MaxHeaderBytes = 64 << 10
	// LingeringTime and LingeringTimeout bound a lingering close (nginx's
	// lingering_time and lingering_timeout): what a client still sends
	// after the edge closed its side is read and discarded for at most
	// LingeringTime, each read waiting at most LingeringTimeout
	// (conn.lingerConn).
	LingeringTime    = 30 * time.Second
	LingeringTimeout = 5 * time.Second
)

// Server owns one TCP socket and serves the current Handler over HTTP, or
// over TLS with HTTP/2 when the Handler has TLS. Safe for concurrent use.
type Server struct {
	ln   *net.TCPListener
	h    atomic.Pointer[Handler]
	http *http.Server
	tls  *tls.Config // Resolves the real config per handshake.
	// handoff feeds http (fastserve.go): connections the fast path
	// does not serve.
	handoff *handoff

	mu    sync.Mutex
	conns map[*conn]struct{} // Including hijacked (WebSocket) ones.
	quit  atomic.Bool
}

// Listen binds addr and starts serving h.
func Listen(addr netip.AddrPort, h *Handler) (*Server, error) {
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, conns: map[*conn]struct{}{}}
	s.h.Store(h)
	s.tls = &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		// The handler current at handshake time: certificates rotate
		// without a restart.
		h := s.h.Load()
		if cc, ok := hello.Context().Value(clientConnKey{}).(*conn); ok {
			cc.hsBy = h
		}
		if h.tls != nil {
			return h.tls.forHello(hello)
		}
		return nil, nil
	}}
	s.http = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			withTLS(r)
			handlerAnswers(r)
			st := connStreams(r)
			if r.ProtoMajor == 2 {
				serveStream(&s.h, w, r, st)
				return
			}
			if r.TLS != nil { // Listed before the handler is read, as serveStream lists its requests.
				host := r.Host
				st.enter(host)
				defer st.leave(host)
			}
			// A handler that aborts its answer (panics: httputil and the
			// direct path panic with http.ErrAbortHandler when an origin's
			// body fails midway) has its connection reset as conn.cut
			// resets: net/http would close it with a FIN, after TLS's
			// close_notify, which ends a close-delimited answer (an HTTP/1.0
			// client's: RFC 9112 6.3) as if it were whole. net/http still
			// closes the connection afterwards, which releases it. The fast
			// path does the same in fastConn.close.
			returned := false
			defer func() {
				if !returned && st != nil {
					st.conn.cut()
				}
			}()
			s.h.Load().ServeHTTP(w, r)
			returned = true
		}),
		ReadHeaderTimeout: ReadHeaderTimeout, IdleTimeout: IdleTimeout, MaxHeaderBytes: MaxHeaderBytes,
		ErrorLog: quietLog, ConnContext: connContext, ConnState: connState,
		// "OPTIONS *" (HTTP/1 and HTTP/2) goes to ServeHTTP like any
		// request: net/http's own answer to it skipped the Host check, the
		// counters and the connection close after a request whose framing
		// may be smuggled (mayBeSmuggled).
		DisableGeneralOptionsHandler: true,
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: maxStreams,
			MaxReceiveBufferPerStream: h2StreamWindow, MaxReceiveBufferPerConnection: h2ConnWindow},
	}
	go s.sweepLoop()
	if !fastPath {
		go func() { _ = s.http.Serve(&acceptor{s}) }()
		return s, nil
	}
	s.handoff = newHandoff(s)
	go func() { _ = s.http.Serve(s.handoff) }()
	go s.acceptFast()
	return s, nil
}

// sweepLoop publishes the open connections' packets as often as TCP
// listeners do, so that a long connection's show in the minutes it spans,
// not all in the one it closes in, and cuts those whose client left during
// a request (conn.sweep). It ends after Shutdown, once every connection
// has closed (each publishes its last packets then).
func (s *Server) sweepLoop() {
	t := time.NewTicker(l4.SweepEvery)
	defer t.Stop()
	for range t.C {
		conns := lockedKeys(&s.mu, s.conns)
		if len(conns) == 0 && s.quit.Load() {
			return
		}
		for _, c := range conns {
			c.sweep()
		}
	}
}

// connStreams is the requests in flight on the connection net/http
// serves r on (HTTP/2, or HTTP/1 handed over by the fast path).
func connStreams(r *http.Request) *streams {
	if c, ok := r.Context().Value(clientConnKey{}).(net.Conn); ok {
		if cc := connUnder(c); cc != nil {
			return &cc.streams
		}
	}
	return nil
}

// acceptFast accepts connections for the fast path (fastserve.go).
func (s *Server) acceptFast() {
	var delay time.Duration
	for {
		c, err := s.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go func() {
			if nc, cc := s.admit(c); nc != nil {
				s.serveFast(nc, cc)
			}
		}()
	}
}

// Addr is the bound address.
func (s *Server) Addr() netip.AddrPort { return s.ln.Addr().(*net.TCPAddr).AddrPort() }

// Update swaps the handler for new requests and handshakes.
//
// A handler that demands something else of clients (client CAs, TLS
// versions or ciphers of some domain or of the default, TLS at all)
// closes the open connections that do not meet the new demands (mutual
// TLS turned on for their domain, their client CA removed, their TLS
// version dropped), busy or not: a connection made under the old demands
// must not be served under the new ones. The others stay open, their
// requests and WebSockets untouched.
func (s *Server) Update(h *Handler) {
	if old := swapHandler(&s.h, h); old != nil {
		for _, c := range lockedKeys(&s.mu, s.conns) {
			if !c.admittedBy(h, old) {
				c.cut()
			}
		}
	}
}

// swapHandler stores h in p and returns the handler it replaces if that
// demanded something else of clients, else nil.
func swapHandler(p *atomic.Pointer[Handler], h *Handler) *Handler {
	if old := p.Swap(h); old != nil && old.access != h.access {
		return old
	}
	return nil
}

// lockedKeys returns m's keys, read under mu.
func lockedKeys[K comparable, V any](mu *sync.Mutex, m map[K]V) []K {
	mu.Lock()
	defer mu.Unlock()
	return slices.Collect(maps.Keys(m))
}

// lockedValues returns m's values, read under mu.
func lockedValues[K comparable, V any](mu *sync.Mutex, m map[K]V) []V {
	mu.Lock()
	defer mu.Unlock()
	return slices.Collect(maps.Values(m))
}

// Handler returns the current handler.
func (s *Server) Handler() *Handler { return s.h.Load() }

// Shutdown closes the socket now (so the port can be bound again at once),
// lets requests and upgraded connections finish for up to grace, then
// closes what is left. done is closed when everything is closed.
func (s *Server) Shutdown(grace time.Duration) <-chan struct{} {
	s.quit.Store(true)
	_ = s.ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		// Idle keep-alive connections close at once: the fast path's
		// first, as Shutdown returns only when net/http's requests are done.
		s.closeIdle()
		_ = s.http.Shutdown(ctx)
		for s.open() > 0 && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond) // Hijacked connections, which Shutdown ignores.
		}
		s.Abort()
	}()
	return done
}

// Abort closes every connection now, each with a reset (conn.cut) before
// net/http closes those it serves: its plain close would end a
// close-delimited answer with a FIN, as if it were whole.
func (s *Server) Abort() {
	s.mu.Lock()
	for c := range s.conns {
		c.cut()
	}
	s.mu.Unlock()
	_ = s.http.Close()
}

// closeIdle closes the fast path's connections waiting for a request.
func (s *Server) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.idle.Load() {
			_ = c.closeSocket()
		}
	}
}

func (s *Server) open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// acceptor is the net.Listener given to http.Server: it applies the
// proxy's policy and connection cap, counts, and wraps TLS per the
// current handler (so a listener can even switch between HTTP and HTTPS
// without losing its socket).
type acceptor struct{ s *Server }

func (a *acceptor) Accept() (net.Conn, error) {
	for {
		c, err := a.s.ln.AcceptTCP()
		if err != nil {
			return nil, err
		}
		if nc, _ := a.s.admit(c); nc != nil {
			return nc, nil
		}
	}
}

func (a *acceptor) Close() error   { return a.s.ln.Close() }
func (a *acceptor) Addr() net.Addr { return a.s.ln.Addr() }

// track admits cc, from src under h, and adds it to the open connections
// in one step under s.mu, which Recheck lists them under
// (l4.Proxy.Admit says why). On true cc holds a slot of the proxy's
// connection cap.
func (s *Server) track(cc *conn, h *Handler, src netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch h.Proxy.Admit(src, h.port) {
	case l4.Denied:
		h.count(func(c *statsCounters) { c.Denied.Add(1) })
		return false
	case l4.Refused:
		h.count(func(c *statsCounters) { c.Refused.Add(1) })
		return false
	}
	h.count(func(c *statsCounters) { c.NewConns.Add(1); c.Open() })
	s.conns[cc] = struct{}{}
	return true
}

// admit returns the connection to serve (and the counting connection
// under it), or nil after refusing it.
func (s *Server) admit(c *net.TCPConn) (net.Conn, *conn) {
	h := s.h.Load()
	client := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	cc := &conn{Conn: c, s: s, listener: h.Stats, proxy: h.Proxy.Stats, gate: h.Proxy, streams: streams{gate: h.Proxy},
		sendTimeout: h.sendTimeout(), isTLS: h.tls != nil}
	// ServerContextKey, as net/http sets it, makes httputil abort (panic
	// with http.ErrAbortHandler) a response whose copy fails midway, so
	// the fast path closes the connection instead of ending the body.
	base := context.WithValue(context.WithValue(context.Background(), http.ServerContextKey, s.http), clientConnKey{}, net.Conn(cc))
	cc.ctx, cc.cancel = withConnWatch(base)
	cc.streams.conn = cc
	if !s.track(cc, h, client.Addr().Unmap()) {
		cc.cancel()
		_ = c.SetLinger(0)
		_ = c.Close()
		return nil, nil
	}
	if s.quit.Load() {
		cc.Close()
		return nil, nil
	}
	nc := shape(cc, h.Proxy.BW) // shape.go: cc itself when unlimited.
	nc = observe(nc, h, client, c.LocalAddr().(*net.TCPAddr).AddrPort())
	if cc.isTLS {
		return tls.Server(nc, s.tls), cc
	}
	return nc, cc
}
