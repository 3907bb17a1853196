package l7

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
)

type statsCounters = stats.Counters

// count applies f to the listener's and the proxy's counters.
func (h *Handler) count(f func(*statsCounters)) {
	f(h.Stats)
	if h.Proxy.Stats != nil {
		f(h.Proxy.Stats)
	}
}

// conn counts a client connection's bytes (TLS records and HTTP framing
// included: what crosses the wire) and releases its connection-cap slot
// when closed. It keeps the counters it was accepted with.
type conn struct {
	net.Conn
	s               *Server
	listener, proxy *stats.Counters
	gate            *l4.Proxy
	once            sync.Once
	// ctx ends when the connection closes: the fast path's requests
	// (fastserve.go) use it, as net/http's end when their client goes.
	ctx    context.Context
	cancel context.CancelFunc
	idle   atomic.Bool // The fast path waits for the next request.
	// sendTimeout bounds each write (SendTimeout); wd is the second of
	// the write deadline last set, so that it moves once a second at most
	// (0: none known; callerDeadline: one a caller set, which Write
	// leaves alone, such as crypto/tls's 5 s for its close_notify).
	sendTimeout time.Duration
	wd          atomic.Int64
}

const callerDeadline = -1

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.countIn(n)
	return n, err
}

// countIn counts n bytes read from the client (also by rawReader, which
// reads the socket directly).
func (c *conn) countIn(n int) {
	if n > 0 {
		c.listener.BytesIn.Add(int64(n))
		if c.proxy != nil {
			c.proxy.BytesIn.Add(int64(n))
		}
	}
}

// Write waits at most sendTimeout (nginx's send_timeout): a client that
// stops reading cannot hold the connection, its buffers and an origin
// connection for ever.
func (c *conn) Write(b []byte) (int, error) {
	if d := coarseDeadline(c.sendTimeout); c.wd.Load() != d.Unix() && c.wd.Load() != callerDeadline {
		c.wd.Store(d.Unix())
		_ = c.Conn.SetWriteDeadline(d)
	}
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.listener.BytesOut.Add(int64(n))
		if c.proxy != nil {
			c.proxy.BytesOut.Add(int64(n))
		}
	}
	return n, err
}

func (c *conn) SetDeadline(t time.Time) error {
	c.callerSets(t)
	return c.Conn.SetDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.callerSets(t)
	return c.Conn.SetWriteDeadline(t)
}

// callerSets notes a write deadline set from outside: a time is the
// caller's to keep; none (zero) hands the deadline back to Write.
func (c *conn) callerSets(t time.Time) {
	if t.IsZero() {
		c.wd.Store(0)
	} else {
		c.wd.Store(callerDeadline)
	}
}

// cut closes the raw socket, not c: net/http closes c (releasing its
// slot) when its reads fail. The cancel ends a fast-path request waiting
// for its origin.
func (c *conn) cut() {
	c.cancel()
	_ = c.Conn.Close()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.cancel()
		c.gate.Conns.Release()
		c.listener.Active.Add(-1)
		if c.proxy != nil {
			c.proxy.Active.Add(-1)
		}
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return err
}

// readDeadline is the read deadline last set on a connection, which is
// not set again unchanged: SetReadDeadline re-arms a runtime timer under
// a lock, and the keep-alive path would otherwise do so a few times per
// request (coarseDeadline makes consecutive ones equal). Not safe for
// concurrent use.
type readDeadline struct{ at time.Time }

func (d *readDeadline) set(c net.Conn, t time.Time) {
	if !t.Equal(d.at) {
		d.at = t
		_ = c.SetReadDeadline(t)
	}
}

// coarseDeadline is d from now rounded up to a whole second: a timeout
// that fires up to a second late, and changes once a second.
func coarseDeadline(d time.Duration) time.Time {
	return time.Now().Add(d).Truncate(time.Second).Add(time.Second)
}
