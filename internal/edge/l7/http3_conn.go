package l7

import (
	"context"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/opengaap/opengaap/internal/edge/l4"
)

// h3Conn is a served QUIC connection. It keeps the handler (and so the
// counters and gate slot) it was accepted with.
type h3Conn struct {
	c    *quic.Conn
	h    *Handler
	reqs atomic.Int64 // Requests in flight.
	// streams counts them against the proxy's connection cap.
	streams streams
	// src is the client address the policy last admitted the connection
	// from (nil until the first check and after a policy change); denied
	// is set once the policy refused the connection (counted once).
	src    atomic.Pointer[netip.Addr]
	denied atomic.Bool
	// Guarded by H3Server.mu:
	in, out       uint64    // Wire bytes already added to the counters...
	pktIn, pktOut uint64    // ...and packets.
	busy          time.Time // Last sweep that saw requests or traffic.
}

type h3ConnKey struct{}

// streamsOf is hc's requests in flight (nil for a nil hc: not limited).
func (hc *h3Conn) streamsOf() *streams {
	if hc == nil {
		return nil
	}
	return &hc.streams
}

// cut closes the connection of a client that cancelled too many
// requests (streams.release).
func (hc *h3Conn) cut() { _ = hc.c.CloseWithError(h3Refused, "too many requests cancelled") }

// onPath reports whether the proxy's policy admits src, the client address
// the connection uses now. A client may move its connection to another
// address (RFC 9000 §9): quic-go's server validates the new path and
// switches to it, and has no option to refuse migration (the
// disable_active_migration transport parameter would only ask clients).
// admitInitial checks the first packet's address; an address other than
// the one last admitted is checked here by the same rule (admitsQUIC). The
// caller closes a denied connection (deny).
func (hc *h3Conn) onPath(src netip.Addr) bool {
	if last := hc.src.Load(); last != nil && *last == src {
		return true
	}
	if !hc.h.admitsQUIC(src) {
		return false
	}
	hc.src.Store(&src)
	return true
}

// deny closes a connection the policy refuses, as TCP listeners reset
// one, counting it once.
func (hc *h3Conn) deny() {
	if hc.denied.CompareAndSwap(false, true) {
		hc.h.count(func(c *statsCounters) { c.Denied.Add(1) })
	}
	_ = hc.c.CloseWithError(h3Denied, h3DenyText) // Unblocks its ServeQUICConn.
}

// publish adds the wire bytes and the QUIC packets moved since the last
// call to the counters (quic-go's totals are monotonic) and reports
// whether any bytes moved. The caller holds H3Server.mu.
func (hc *h3Conn) publish(st quic.ConnectionStats) bool {
	in, out := st.BytesReceived-hc.in, st.BytesSent-hc.out
	pin, pout := st.PacketsReceived-hc.pktIn, st.PacketsSent-hc.pktOut
	if in == 0 && out == 0 {
		return false
	}
	hc.in, hc.out = st.BytesReceived, st.BytesSent
	hc.pktIn, hc.pktOut = st.PacketsReceived, st.PacketsSent
	hc.h.count(func(c *statsCounters) {
		c.BytesIn.Add(int64(in))
		c.BytesOut.Add(int64(out))
		c.PacketsIn.Add(int64(pin))
		c.PacketsOut.Add(int64(pout))
	})
	return true
}

// connContext (http3.Server.ConnContext) lets requests find their
// connection, to count themselves in flight for the drain. It also gives
// them net/http's ServerContextKey, as the TCP side's requests have
// (Server.admit; quic-go sets its own key): without it httputil ends an
// answer whose origin failed midway as if it were complete (quic-go then
// closes the stream cleanly, and a chunked answer's client cannot tell)
// instead of panicking with http.ErrAbortHandler, which quic-go honours
// by resetting the stream.
func (s *H3Server) connContext(ctx context.Context, c *quic.Conn) context.Context {
	s.mu.Lock()
	hc := s.conns[c]
	s.mu.Unlock()
	return context.WithValue(context.WithValue(ctx, http.ServerContextKey, h3StdServer), h3ConnKey{}, hc)
}

// h3StdServer stands for the HTTP/3 server under net/http's
// ServerContextKey, whose value is documented as an *http.Server: nothing
// serves through it; net/http reads its ErrorLog.
var h3StdServer = &http.Server{ErrorLog: quietLog}

func (s *H3Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	hc, _ := r.Context().Value(h3ConnKey{}).(*h3Conn)
	if hc != nil {
		// The address the request came from (quic-go's connection address
		// when the request arrived), as the origin would be told it: a
		// request from an address the policy denies is never served.
		if src, _ := netip.ParseAddrPort(r.RemoteAddr); !hc.onPath(src.Addr().Unmap()) {
			hc.deny()
			return
		}
		hc.reqs.Add(1)
		defer hc.reqs.Add(-1)
	}
	serveStream(&s.h, w, r, hc.streamsOf())
}

// sweepLoop publishes live byte counters, so a long connection shows its
// traffic in per-minute statistics before it ends (end reconciles
// exactly), and, while draining, closes connections that went quiet.
func (s *H3Server) sweepLoop() {
	defer s.wg.Done()
	// The TCP listeners' sampling period: live counters move alike.
	t := time.NewTicker(l4.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			s.sweep(now)
		}
	}
}

// sweep publishes every connection's bytes, closes the connections that
// migrated to an address the policy denies (onPath: a stream in flight or
// an idle connection makes no new request to check it), forgets old
// refused attempts (pruneDenied) and, while draining, closes the
// connections that have no request in flight and have been quiet for a
// sweep and for settle.
func (s *H3Server) sweep(now time.Time) {
	s.pc.mirror.prune(now)
	var quiet []*quic.Conn
	var deny []*h3Conn
	s.mu.Lock()
	s.pruneDenied(now)
	for c, hc := range s.conns {
		if !hc.onPath(quicSource(c.RemoteAddr())) {
			deny = append(deny, hc)
			continue
		}
		st := c.ConnectionStats()
		if hc.publish(st) || hc.reqs.Load() > 0 {
			hc.busy = now
		} else if s.closed && now.Sub(hc.busy) >= settle(st) {
			quiet = append(quiet, c)
		}
	}
	s.mu.Unlock()
	for _, hc := range deny {
		hc.deny()
	}
	for _, c := range quiet {
		_ = c.CloseWithError(h3NoError, "listener closed") // Unblocks its ServeQUICConn.
	}
}

// settle is how long a connection must move no byte before a drain closes
// it: two probe timeouts (RFC 9002 §6.2.1, with quic-go's 25 ms maximum ACK
// delay). Closing discards unacknowledged stream data, and a handler that
// returned may still have its response's tail in flight: within that time
// the tail is either acknowledged (bytes in) or retransmitted (bytes out).
func settle(st quic.ConnectionStats) time.Duration {
	return 2 * (st.SmoothedRTT + max(4*st.MeanDeviation, time.Millisecond) + 25*time.Millisecond)
}

// Shutdown drains: new handshakes are refused (admitInitial; the
// listener stays open so that quic-go answers them with CONNECTION_REFUSED
// at once rather than leave clients to time out, and they fall back to TCP),
// every connection gets an HTTP/3 GOAWAY (requests already sent finish,
// later ones are rejected as safe to retry), connections close once their
// requests are done and their data acknowledged (sweep), and at grace the
// rest are closed. The UDP port stays bound until then, since QUIC
// connections live on the socket; Close cuts the drain short and releases
// the port at once. done is closed when everything is closed.
func (s *H3Server) Shutdown(grace time.Duration) (done <-chan struct{}) {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	s.mu.Unlock()
	if first {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			_ = s.srv.Shutdown(ctx) // GOAWAY; returns when every connection ended, or at grace.
			s.Close()
		}()
	}
	return s.gone
}

// Close closes every QUIC connection (clients get CONNECTION_CLOSE and
// fall back to TCP) and releases the UDP port before returning, so the
// port can be bound again in the same Apply. done is closed when every
// request handler has returned.
func (s *H3Server) Close() (done <-chan struct{}) {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*quic.Conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		// Closing must not wait for bandwidth tokens: what quic-go flushes
		// while closing (CONNECTION_CLOSE, queued data) leaves unshaped.
		s.pc.cancel()
		close(s.quit)
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
