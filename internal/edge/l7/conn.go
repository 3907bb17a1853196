package l7

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/sockio"
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
// included: what crosses the wire) and packets (segs) and releases its
// connection-cap slot when closed. It keeps the counters it was accepted
// with.
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
	// req numbers the fast path's request being served, one that nothing
	// pipelined after, 0 between requests; swept is its value at the
	// previous sweep (the sweep's own).
	req   atomic.Uint64
	swept uint64
	// inRaw: a raw read's callback holds the socket (fastraw.go); cutOff:
	// cut ended the connection, so its request sends nothing more.
	inRaw, cutOff atomic.Bool
	// sendTimeout bounds each write (SendTimeout), through wd; held: a
	// caller set a write deadline, which Write leaves alone (crypto/tls's
	// 5 s for its close_notify).
	sendTimeout time.Duration
	wd          movingDeadline
	held        atomic.Bool
	// isTLS: the connection was accepted for TLS; tlsState is its
	// finished handshake (nil until then), hsBy the handler whose config
	// the handshake took.
	isTLS    bool
	tlsState atomic.Pointer[tls.ConnectionState]
	hsBy     *Handler
	// segs publishes the socket's data segments as packets, from the
	// Server's sweep and when the socket closes (l4.Segments).
	segs l4.Segments
	// head cuts an HTTP/2 connection whose first request head is not in
	// firstHeadTimeout after its handshake (awaitHead). Set before the
	// connection is handed to net/http.
	head *time.Timer
	// streams counts an HTTP/2 connection's requests against gate.
	streams streams
	// bodyLeft: a request's body was not read to its end when the edge
	// chose to close, so the client may still be sending it (Close
	// lingers). closing makes the first Close the one that decides;
	// lingerOn is the socket's duplicate read while it lingers.
	bodyLeft atomic.Bool
	closing  sync.Once
	lingerOn atomic.Pointer[net.TCPConn]
}

// lingerTime and lingerTimeout are LingeringTime and LingeringTimeout;
// variables so that tests need not wait 30 s.
var lingerTime, lingerTimeout = LingeringTime, LingeringTimeout

// firstHeadTimeout is ReadHeaderTimeout; a variable so that tests need
// not wait 30 s.
var firstHeadTimeout = ReadHeaderTimeout

// awaitHead gives an HTTP/2 connection firstHeadTimeout, from now (its
// handshake), to complete its first request head, as the fast path and
// net/http give an HTTP/1 one: net/http's HTTP/2 server applies no
// ReadHeaderTimeout, and its idle timer (IdleTimeout, 75 s) is the only
// bound on a head that trickles in CONTINUATION frames. headIn stops it.
func (c *conn) awaitHead() { c.head = time.AfterFunc(firstHeadTimeout, c.cut) }

// headIn notes that a request head of c is in (its handler runs).
func (c *conn) headIn() {
	if c.head != nil {
		c.head.Stop()
	}
}

// connUnder returns the counting connection under nc, through the
// wrappers admit and the hand-off to net/http put on it (TLS, a mirror's
// tap, shaping, handedConn); nil if none.
func connUnder(nc net.Conn) *conn {
	for {
		switch c := nc.(type) {
		case *conn:
			return c
		case *handedConn:
			nc = c.Conn
		case *tls.Conn:
			nc = c.NetConn()
		case *tapConn:
			nc = c.Conn
		case *shapedConn:
			nc = c.Conn
		default:
			return nil
		}
	}
}

// publishPackets adds the data segments the socket moved since the last
// call to the listener's and proxy's packets, and reports whether the
// client closed or reset the connection (l4.PeerOpen when unknown).
func (c *conn) publishPackets() l4.Peer {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		return c.segs.Publish(stats.Set{c.listener, c.proxy}, tc)
	}
	return l4.PeerOpen
}

// sweep is the Server's look at c every l4.SweepEvery: packets, and a
// fast-path request still being served since the previous look whose
// client has gone. The fast path reads nothing while it serves (no
// background read, which would cost a goroutine or a syscall per
// request), so without this a client that gives up on a slow origin kept
// its origin connection, goroutine and cap slot until the answer came, up
// to ResponseHeaderTimeout. Cutting the connection ends the origin
// exchange (its context), as net/http's background read does.
func (c *conn) sweep() {
	peer := c.publishPackets()
	n := c.req.Load()
	if n != 0 && n == c.swept && peer != l4.PeerOpen && c.left(peer) {
		c.cut()
	}
	c.swept = n
}

// left reports whether the client of c, whose socket is established no
// more (peer), has left rather than half-closed after pipelining a request, which
// is still there for it: a reset, or a FIN with nothing unread before it.
// Over TLS the client's close_notify waits unread before its FIN (every
// TLS stack sends one), while a pipelined request may already sit in
// crypto/tls's own buffer, out of sight: there a reset, or a FIN behind
// a lone close_notify, counts; a FIN alone is left to the answer's check
// (recorder.answered).
func (c *conn) left(peer l4.Peer) bool {
	if peer == l4.PeerReset {
		return true
	}
	tc := c.Conn.(*net.TCPConn)
	n := l4.Unread(tc)
	if !c.isTLS {
		return n == 0
	}
	return n > 0 && closeNotifyOnly(tc, n)
}

// closeNotifyOnly reports whether the n bytes unread on tc are one TLS
// alert record: of type alert up to TLS 1.2 (whatever the cipher: a CBC
// suite's is 53 bytes or more), or under TLS 1.3, where every record reads
// as application data, one carrying 2 bytes and a 16-byte tag (the
// alert; no request is 2 bytes). It peeks at the record's header.
func closeNotifyOnly(tc *net.TCPConn, n int) bool {
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	var h [5]byte
	got := 0
	_ = rc.Control(func(fd uintptr) {
		got, _, _ = unix.Recvfrom(int(fd), h[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	})
	size := int(h[3])<<8 | int(h[4])
	const alert, appData, tls13Alert = 21, 23, 2 + 1 + 16 // Alert, inner type, tag.
	return got == len(h) && len(h)+size == n && (h[0] == alert || h[0] == appData && size == tls13Alert)
}

// closeSocket closes the raw socket, after publishing its last packets.
func (c *conn) closeSocket() error {
	c.publishPackets()
	return c.Conn.Close()
}

// admittedBy reports whether c, which prev admitted, may stay open under
// h's demands, for its SNI and for the hosts of its requests in flight.
// A handshake still running may: its end checks it (fastConn.handshake).
func (c *conn) admittedBy(h, prev *Handler) bool {
	if !c.isTLS {
		return h.tls == nil
	}
	st := c.tlsState.Load()
	return st == nil || h.admits(st, prev, c.streams.serving())
}

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
	if d, move := c.wd.next(c.sendTimeout); move && !c.held.Load() {
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
	c.held.Store(!t.IsZero())
	c.wd.forget()
}

// cut closes the raw socket, not c: net/http closes c (releasing its
// slot) when its reads fail. The close is a reset (SO_LINGER 0), whoever
// cuts (a policy, a drain's end, an access change): a FIN would end a
// close-delimited answer as if it were whole. The cancel then ends a
// fast-path request waiting for its origin; in that order, nothing the
// request's end writes reaches the client. But a raw read's callback
// holds the socket while it serves a request (fastraw.go), and Close
// waits for it to let go: closing first kept the request going (the
// client getting its answer) while the caller waited, up to
// ResponseHeaderTimeout. There the request is ended first: its reads shut
// (which sends nothing), the cancel, and serveOne sends nothing more once
// cutOff is set.
func (c *conn) cut() {
	c.cutOff.Store(true)
	tc, _ := c.Conn.(*net.TCPConn)
	if tc != nil {
		_ = tc.SetLinger(0)
	}
	if c.inRaw.Load() {
		if tc != nil {
			_ = tc.CloseRead()
		}
		c.cancel() // Before the close; the one after it is then a no-op.
	}
	_ = c.closeSocket()
	if lc := c.lingerOn.Load(); lc != nil {
		_ = lc.SetLinger(0)
		_ = lc.Close()
	}
	c.cancel()
}

// Close closes the connection, lingering when the client may still be
// sending (lingerConn): the connection then keeps its slot until the
// lingering ends.
func (c *conn) Close() error {
	var lc *net.TCPConn
	c.closing.Do(func() { lc = c.lingerConn() })
	err := c.closeSocket()
	c.headIn()
	c.cancel()
	switch {
	case lc != nil:
		go c.linger(lc)
	case c.lingerOn.Load() == nil:
		c.release()
	}
	return err
}

// lingerConn prepares a lingering close, as nginx's lingering_close:
// closing a socket with unread data, or before data still on its way,
// makes the kernel send a reset, and a client still uploading (after an
// early 413 or 401, say) then fails its write and may lose the answer
// before reading it. The answer has gone out whole when Close is called
// (crypto/tls's close_notify too), so the edge's side ends with a FIN,
// and a duplicate of the socket stays open to read what the client
// still sends: the connection itself closes at once, which ends every
// read still waiting on it (an origin transport's of the body). Nil when
// nothing more is expected (no body left, nothing unread) or the socket
// cannot linger.
func (c *conn) lingerConn() *net.TCPConn {
	tc, ok := c.Conn.(*net.TCPConn)
	if !ok || (!c.bodyLeft.Load() && l4.Unread(tc) == 0) {
		return nil
	}
	if tc.CloseWrite() != nil {
		return nil
	}
	lc, err := sockio.Dup(tc)
	if err != nil {
		return nil
	}
	c.lingerOn.Store(lc)
	if c.cutOff.Load() { // cut may have looked before the Store.
		_ = lc.Close()
	}
	return lc
}

// linger reads and discards what the client sends on lc until it closes
// or resets, sends nothing for lingerTimeout, or lingerTime has passed
// (nginx's lingering_timeout and lingering_time: a client that keeps
// sending for ever cannot hold the connection); cut ends it at once.
// Only then is the connection's slot released.
func (c *conn) linger(lc *net.TCPConn) {
	_, _ = io.Copy(io.Discard, &lingerReader{c: c, lc: lc, end: time.Now().Add(lingerTime)})
	c.segs.Publish(stats.Set{c.listener, c.proxy}, lc)
	_ = lc.Close()
	c.release()
}

// lingerReader is a lingering socket's reads, each waiting at most
// lingerTimeout, none past end.
type lingerReader struct {
	c   *conn
	lc  *net.TCPConn
	end time.Time
}

func (r *lingerReader) Read(b []byte) (int, error) {
	d := time.Now().Add(lingerTimeout)
	if d.After(r.end) {
		d = r.end
	}
	_ = r.lc.SetReadDeadline(d)
	n, err := r.lc.Read(b)
	r.c.countIn(n)
	return n, err
}

// release gives back what the connection holds: its cap slot, its place
// among the open connections, its count as active.
func (c *conn) release() {
	c.once.Do(func() {
		c.gate.ReleaseConn()
		c.listener.Active.Add(-1)
		if c.proxy != nil {
			c.proxy.Active.Add(-1)
		}
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
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

// movingDeadline is a deadline that each operation moves to a timeout
// from now, at most once a second (coarseDeadline), for connections that
// several goroutines use (an HTTP/2 writer and a closer; a Transport's
// read and write loops). Safe for concurrent use.
type movingDeadline struct{ at atomic.Int64 } // Unix second last set; 0 none.

// next returns the deadline timeout from now and whether it differs from
// the one last set, which the caller then sets. It reads first so that
// the common case does not write a shared cache line.
func (m *movingDeadline) next(timeout time.Duration) (time.Time, bool) {
	d := coarseDeadline(timeout)
	s := d.Unix()
	return d, m.at.Load() != s && m.at.Swap(s) != s
}

// forget makes the next call of next move the deadline: someone else set it.
func (m *movingDeadline) forget() { m.at.Store(0) }

// coarseDeadline is d from now rounded up to a whole second: a timeout
// that fires up to a second late, and changes once a second.
func coarseDeadline(d time.Duration) time.Time {
	return time.Now().Add(d).Truncate(time.Second).Add(time.Second)
}
