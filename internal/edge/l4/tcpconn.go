package l4

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/limit"
	"github.com/opengaap/opengaap/internal/edge/sockio"
	"github.com/opengaap/opengaap/internal/edge/stats"
)

// tcpConn is one proxied connection. Its byte counts come from io.Copy's
// return values plus TCP_INFO samples, never from wrapping the sockets, so
// the kernel can splice(2) between them.
type tcpConn struct {
	client *net.TCPConn
	origin atomic.Pointer[net.TCPConn]
	src    netip.AddrPort
	route  *Route
	o      *Origin
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	tap    TCPTap       // Mirror observer chosen at accept; nil = splice.
	reset  atomic.Bool  // Set by abort: the connection ended with RST.
	ended  atomic.Int32 // Directions that ended with EOF.

	// Live accounting, touched by the sweeper and once at the end (after
	// the sweeper can no longer see the connection, guarded by mu).
	mu              sync.Mutex
	liveIn, liveOut int64
	segs            Segments // The client socket's.
	finished        bool
	// upExtra is what the origin socket acknowledges besides payload: its
	// SYN and the PROXY header. Set before the origin is stored, so that
	// the sweeper sees it.
	upExtra int64
}

func (c *tcpConn) run() {
	r := c.route
	defer c.cancel()
	set := r.counters(nil)
	set.Add(newConns, 1)
	set.Open()
	defer set.Add(active, -1)
	// Before the count above: a connection no longer active holds none of
	// the node's descriptor budget, as on layer 7 (conn.release).
	defer r.Proxy.ReleaseConn()
	up := c.dial()
	if up == nil {
		_ = c.client.Close()
		return
	}
	// The client's pin (SessionPersist) lives while the connection does.
	if client := c.src.Addr().Unmap(); r.Picker.Hold(client) {
		defer r.Picker.Release(client)
	}
	set = r.counters(c.o)
	c.o.Stats.NewConns.Add(1)
	c.o.Stats.Open()
	defer c.o.Stats.Active.Add(-1)
	defer c.o.Backend.ConnEnd() // dial counted it.
	c.tap = r.Proxy.ObserveTCP(func() Flow { return c.flow(up) })
	in, out := c.pipe(up, r.Proxy.BW)
	c.finish(set, in, out) // Before closing: it reads TCP_INFO.
	if c.tap != nil {
		c.tap.Close(c.reset.Load())
	}
	_ = c.client.Close()
	_ = up.Close()
}

// maxConnectTries bounds the origins of each failover role one client
// connection tries (balance.Picker.PickWithin): with FailoverSwitch, up to
// 3 primaries and then up to 3 secondaries, so that primaries that all
// fail do not use up the tries a secondary is there to take. A failed
// connect (to every address of a DOMAIN origin: connect) is retried on
// another origin, since nothing has been sent yet
// (nginx's proxy_next_upstream, haproxy's redispatch): an origin that
// refuses costs the client a delay, not the connection. Each try may take
// the whole ConnectTimeout, per address; the passive check (balance) keeps later
// connections off an origin that timed out.
const maxConnectTries = 3

// dial connects to a picked origin, sets c.o to it and sends the PROXY
// header, if any. The origin's lc count (Backend.ConnStart) includes the
// connection from the moment it is picked, as nginx counts at get_peer:
// connections arriving while a dial is slow see it and go elsewhere. A
// failed try is uncounted before the next pick; on success the caller
// owns the count (ConnEnd).
func (c *tcpConn) dial() *net.TCPConn {
	r := c.route
	hdr, err := proxyHeader(r.ClientIP, c.client.RemoteAddr(), c.client.LocalAddr())
	if err != nil {
		return nil
	}
	c.upExtra = 1 + int64(len(hdr))
	var buf [2 * maxConnectTries]*balance.Target // Two failover roles.
	tried := buf[:0]
	for {
		o, t := r.pick(c.src.Addr().Unmap(), tried...)
		if o == nil {
			if len(tried) == 0 {
				r.counters(nil).Add(dialFails, 1)
			}
			return nil
		}
		c.o = o
		o.Backend.ConnStart()
		up, err := c.connect(o)
		if err != nil {
			o.Backend.ConnEnd()
			if c.ctx.Err() != nil { // The edge ended the connection: no retry.
				return nil
			}
			tried = append(tried, t)
			continue
		}
		c.origin.Store(up)
		// Given up when aborted since the dial returned (abort may not have
		// seen up) or when the PROXY header cannot be sent.
		if c.ctx.Err() == nil && sendHeader(up, hdr) == nil {
			return up
		}
		o.Backend.ConnEnd()
		_ = up.Close()
		return nil
	}
}

// sendHeader writes a PROXY header, if there is one, to the origin.
func sendHeader(up *net.TCPConn, hdr []byte) error {
	if len(hdr) == 0 {
		return nil
	}
	_, err := up.Write(hdr)
	return err
}

// connect opens a connection to o: to its next address and, while
// connects fail, to each of its other addresses (a DOMAIN origin's) in
// turn (health.TryAddrs), so one dead server of a name with several costs
// the client a retry, not the connection. The outcome is recorded on the
// origin, which counts as failed only when every address failed, unless
// the edge itself cut the attempt (listener removed or aborted, policy
// change, shutdown): that says nothing about the origin.
func (c *tcpConn) connect(o *Origin) (*net.TCPConn, error) {
	r := c.route
	set := r.counters(o)
	// KeepAlive -1: see ListenTCP.
	d := net.Dialer{Timeout: r.ConnectTimeout, KeepAlive: -1}
	if r.TOA != nil {
		d.Control = c.markTOA
	}
	var start time.Time
	up, err := health.TryAddrs(o.Backend, func(ap netip.AddrPort) (*net.TCPConn, error) {
		start = time.Now()
		// Not Dialer.DialTCP: its zero local address still binds 0.0.0.0:0
		// before connect, which takes an ephemeral port for every
		// destination and runs out of them under load.
		nc, err := d.DialContext(c.ctx, "tcp", ap.String())
		if err != nil {
			return nil, err
		}
		return nc.(*net.TCPConn), nil
	}, func(error) bool { return c.ctx.Err() == nil })
	switch {
	case err == nil:
	case err == health.ErrUnresolved:
		set.Add(dialFails, 1)
		return nil, err
	default:
		if c.ctx.Err() == nil {
			set.Add(dialFails, 1)
		}
		if c.ctx.Err() == nil && !health.LocalFailure(err) {
			// Suspect for FailTimeout, then tried by one connection (the
			// passive check). Not charged to the lrtt EWMA: with checks
			// off only proxied connects move it, and lrtt would never
			// pick the origin again to bring a penalty down. Not for the
			// edge's own lack of a descriptor or port, which says nothing
			// of the origin (as the checks have it).
			o.Backend.ConnectFailed()
		}
		return nil, err
	}
	took := time.Since(start)
	o.Backend.ObserveRTT(took)
	o.Backend.Connected()
	set.Add(dialCount, 1)
	set.Add(dialNanos, int64(took))
	return up, nil
}

// markTOA makes the origin connection about to be made carry the
// client's address in a TOA option (net.Dialer.Control: after the
// socket exists, before it connects).
func (c *tcpConn) markTOA(_, _ string, rc syscall.RawConn) error {
	var err error
	if cerr := rc.Control(func(fd uintptr) { err = c.route.TOA.Mark(fd, c.src) }); cerr != nil {
		return cerr
	}
	return err
}

// pipe copies both ways until both directions end. Each direction ends
// with CloseWrite on its destination, so a client's half-close reaches the
// origin and the reply still flows back (the direction that ends last
// skips it: both sockets are closed right after, which sends the FIN). An
// error in either direction aborts both.
func (c *tcpConn) pipe(up *net.TCPConn, bw *limit.Bandwidth) (in, out int64) {
	// Decided once: splice can be neither shaped nor observed.
	shape := bw.Limited()
	var wg sync.WaitGroup
	wg.Add(1)
	spawn(func() {
		defer wg.Done()
		out = c.copyDir(c.client, up, shape, bw, Egress)
	})
	in = c.copyDir(up, c.client, shape, bw, Ingress)
	wg.Wait()
	return in, out
}

func (c *tcpConn) copyDir(dst, src *net.TCPConn, shape bool, bw *limit.Bandwidth, d Dir) int64 {
	var n int64
	var err error
	switch {
	case shape:
		n, err = c.copyLoop(dst, src, true, bw, d)
	case c.tap != nil:
		n, err = c.copyTee(dst, src, d)
	default:
		n, err = copyAuto(dst, src, c.route.Proxy.pipes())
	}
	if err != nil {
		c.abort()
		return n
	}
	if c.tap != nil {
		c.tap.End(d)
	}
	if c.ended.Add(1) == 2 && !c.reset.Load() {
		return n // Last direction: run closes both sockets now, sending the FIN.
	}
	_ = dst.CloseWrite()
	return n
}

// autoBuf is copyAuto's read buffer; a read that fills it switches the
// direction to splice(2).
const autoBuf = 16 << 10

var autoBufs = sync.Pool{New: func() any { b := make([]byte, autoBuf); return &b }}

// copyAuto copies src to dst until EOF, like io.Copy, but splices only
// bulk transfers (haproxy's splice-auto idea). While reads return less than
// autoBuf it uses read/write, which for small messages is cheaper than
// splice's two pipe transfers plus a failed splice per wake-up; the first
// read that fills the buffer hands the rest of the stream to io.Copy, i.e.
// splice(2) on Linux. The loop runs inside one RawConn.Read, and the buffer
// is taken from a pool only while a read has data, so idle connections
// hold none.
//
// The splice's pipe is held until the direction ends: it is charged to
// pipes (a node's bound on them), and a direction the bound refuses goes
// on copying through user space, asking again at its next full read.
//
// A wake-up reads until EAGAIN, except on a connection that has shown it
// exchanges small messages (a second short read): there TCP_INQ is turned
// on and a read that leaves nothing behind ends the round without the
// EAGAIN read, as nginx and haproxy do. (They learn of a FIN from
// EPOLLRDHUP; Go's poller does not say, and a short read may have consumed
// a FIN queued behind the data, which no later event would report: TCP_INQ
// counts a received FIN as a byte left.) From then on, too, the writes
// are raw system calls (sockio.Writer): its writer is allocated there only,
// not for every connection.
func copyAuto(dst, src *net.TCPConn, pipes *limit.Gate) (int64, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		total      int64
		rerr, werr error
		bulk       bool
		short      int
		r          sockio.Reader
		w          io.Writer = dst
	)
	err = rc.Read(func(fd uintptr) bool {
		for {
			b := autoBufs.Get().(*[]byte)
			n, left, err := r.Read(int(fd), *b)
			switch {
			case err == syscall.EAGAIN:
				autoBufs.Put(b)
				return false // Wait for data without holding the buffer.
			case err != nil:
				autoBufs.Put(b)
				rerr = os.NewSyscallError("read", err)
				return true
			case n <= 0: // EOF.
				autoBufs.Put(b)
				return true
			}
			m, err := w.Write((*b)[:n])
			autoBufs.Put(b)
			total += int64(m)
			if err != nil {
				werr = err
				return true
			}
			if n == autoBuf && pipes.TryAcquireN(pipeFDs) { // Bulk: splice from now on.
				bulk = true
				return true
			}
			if left == 0 {
				return false // Drained, no FIN pending: wait.
			}
			if short++; short == 2 {
				r.Enable(int(fd))
				w = sockio.Writer(dst)
			}
		}
	})
	switch {
	case err != nil:
		return total, err
	case rerr != nil:
		return total, rerr
	case werr != nil:
		return total, werr
	case bulk:
		defer pipes.ReleaseN(pipeFDs)
		m, err := io.Copy(dst, src)
		return total + m, err
	}
	return total, nil
}

// copyLoop is the userspace copy used when the proxy has a bandwidth limit
// (and for observed connections where copyTee is not available): read a
// chunk (Bandwidth.Chunk when shaped, sized when the copy starts),
// show it to the tap, wait for tokens, write. Wait charges every read in
// full, so a limit lowered later holds with the buffer as it is.
func (c *tcpConn) copyLoop(dst, src *net.TCPConn, shape bool, bw *limit.Bandwidth, d Dir) (int64, error) {
	size := 64 << 10
	if shape {
		size = min(32<<10, bw.Chunk())
	}
	ld := limit.In
	if d == Egress {
		ld = limit.Out
	}
	buf := make([]byte, size)
	var total int64
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if c.tap != nil {
				c.tap.Data(d, n, CopyChunk(buf[:n]))
			}
			if shape {
				if err := bw.Wait(c.ctx, ld, n); err != nil {
					return total, err
				}
			}
			w, werr := dst.Write(buf[:n])
			total += int64(w)
			if werr != nil {
				return total, werr
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// abort resets the client socket and closes the origin's (idempotent),
// which ends both copies. The deadlines come first: a small-message copy
// writes to one socket from inside the other's RawConn.Read, and Close
// waits for operations in flight to let go of the socket, so closing the
// reading socket first would wait on a write that only the other socket's
// closing could end. A past deadline wakes every wait on either socket.
func (c *tcpConn) abort() {
	c.once.Do(func() {
		c.reset.Store(true)
		c.cancel()
		past := time.Unix(1, 0)
		up := c.origin.Load()
		_ = c.client.SetDeadline(past)
		if up != nil {
			_ = up.SetDeadline(past)
		}
		c.lastSegments(up)
		_ = c.client.SetLinger(0)
		_ = c.client.Close()
		if up != nil {
			_ = up.Close()
		}
	})
}

// lastSegments publishes the client socket's packet counts before abort
// closes it: finish cannot read TCP_INFO then, and a reset connection's
// packets (all of them, for one shorter than the sweep's interval) were
// lost while its bytes counted.
func (c *tcpConn) lastSegments(up *net.TCPConn) {
	if up == nil || c.o == nil {
		return
	}
	ci, ok := readTCPInfo(c.client)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.finished {
		c.segs.publish(c.route.counters(c.o), ci)
	}
}

// sweep publishes byte and packet progress from TCP_INFO, enforces the
// idle timeout and ends a connection one of whose sockets was reset: a
// reset shows only to a copy that reads or writes that socket, and none
// may for long (a half-closed side; a client whose writes wait on an
// origin that is not reading), while the other leg, the connection's slot
// and the origin's lc count stayed taken until the idle timeout.
//
// Bytes are published as the side they were copied to acknowledged them,
// which is never more than io.Copy wrote there, so finish's exact totals
// only add to them. (Bytes the edge received would include some it may
// never forward, as when an origin stops reading and resets: finish would
// take them back, and a cumulative counter would go down.)
func (c *tcpConn) sweep() {
	up := c.origin.Load()
	if up == nil || c.o == nil {
		return
	}
	ci, ok1 := readTCPInfo(c.client)
	oi, ok2 := readTCPInfo(up)
	if !ok1 || !ok2 {
		return
	}
	if idle := c.route.IdleTimeout; idle > 0 && time.Duration(min(ci.lastRecvMs, oi.lastRecvMs))*time.Millisecond >= idle ||
		wasReset(c.client, ci) || wasReset(up, oi) {
		c.abort()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return
	}
	set := c.route.counters(c.o)
	c.liveIn = publish(set, bytesIn, c.liveIn, acked(oi, c.upExtra))
	c.liveOut = publish(set, bytesOut, c.liveOut, acked(ci, 0))
	c.segs.publish(set, ci)
}

// acked is the payload a socket's peer acknowledged: bytes_acked less
// extra (what was sent besides payload) and less one for a FIN that may be
// among them, so it lags by a byte until finish.
func acked(ti tcpInfo, extra int64) int64 { return int64(ti.bytesAcked) - extra - 1 }

// publish adds the growth from reported to now and returns the new mark.
func publish(set stats.Set, f func(*stats.Counters) *atomic.Int64, reported, now int64) int64 {
	if now <= reported {
		return reported
	}
	set.Add(f, now-reported)
	return now
}

// finish reconciles live counters with the exact totals. The live bytes
// cannot exceed them (see sweep); should a kernel count otherwise, they
// stand rather than make a cumulative counter go down.
func (c *tcpConn) finish(set stats.Set, in, out int64) {
	ci, ok := readTCPInfo(c.client)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished = true
	set.Add(bytesIn, max(0, in-c.liveIn))
	set.Add(bytesOut, max(0, out-c.liveOut))
	if ok {
		c.segs.publish(set, ci)
	}
}

// flow describes the connection to a tap.
func (c *tcpConn) flow(up *net.TCPConn) Flow {
	r := c.route
	return Flow{ProxyID: r.Proxy.ID, ListenerID: r.ListenerID, Proto: "TCP", Client: c.src,
		Local:  c.client.LocalAddr().(*net.TCPAddr).AddrPort(),
		Origin: up.RemoteAddr().(*net.TCPAddr).AddrPort()}
}
