package l7

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/textproto"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// h1Client is a synchronous HTTP/1.1 client for plain-HTTP origins, used
// for requests without a body and without Upgrade or Expect (the bulk of
// proxied traffic; see eligible). It writes the request and reads the
// response head on the calling goroutine and hands the connection back to
// its idle pool when the response body reaches EOF.
//
// Why not http.Transport: every round trip there crosses two goroutines
// (persistConn's writeLoop and readLoop) through channels and selects; on
// the keep-alive benchmark that hand-off cost about a fifth of the proxy's
// CPU (BENCHMARKS.md, "Layer 7"). Framing is still net/http's own
// (Request.Write, ReadResponse: chunked, trailers, 1xx), and everything
// this client does not take (bodies, upgrades, 100-continue, HTTPS
// origins) keeps going through http.Transport. The direct path
// (direct.go) uses its connections with its own framing: send, then done.
//
// Safe for concurrent use.
type h1Client struct {
	dialer      *net.Dialer
	readTimeout time.Duration // Of each body read (OriginReadTimeout).

	mu sync.Mutex
	// idle holds a pool per origin "ip:port" dialled. A pool stays, empty
	// or not, until retire drops its address: a connection in use parks
	// in the pool it was dialled for, so that retire reaches it too.
	idle map[string]*h1Pool
	stop chan struct{} // Closed by close: ends the janitor.
}

// h1Pool is the idle connections to one origin address, most recently
// used last. Guarded by h1Client.mu.
type h1Pool struct {
	conns []*h1Conn
	// retired: no rule uses the address any more (retire). Connections
	// to it that were in use then are closed when their exchange ends.
	retired bool
}

// h1Conn is one origin connection; owned by a single request at a time.
type h1Conn struct {
	c           net.Conn
	readTimeout time.Duration
	rc          syscall.RawConn
	br          *bufio.Reader // Over src.
	src         headLimit
	bw          *bufio.Writer // Over out: a request is collected, then sent by exchange.
	out         pending
	pool        *h1Pool // The pool of the address it was dialled to.
	idleAt      time.Time
	rd          readDeadline
	// wait is the current exchange's time from its request sent to its
	// answer's first byte (start), for lrtt.
	wait time.Duration

	// exchange's state: step is its RawConn.Read callback, bound once so
	// that an exchange allocates nothing.
	step   func(uintptr) bool
	reused bool
	sent   bool
	sentN  int   // Bytes of out the callback wrote.
	xerr   error // The callback's error.
	peek   [1]byte

	// watch is the client connection's watch of the exchange
	// (closeOnDone); unwatch, its stop, is leaveWatch bound once.
	watch   *connWatch
	unwatch func() bool
}

// pending collects a request's bytes until exchange sends them.
type pending struct{ b []byte }

func (p *pending) Write(b []byte) (int, error) {
	p.b = append(p.b, b...)
	return len(b), nil
}

// reset empties p for the next request; a buffer grown by an unusually
// large head is let go rather than kept by an idle pooled connection.
func (p *pending) reset() {
	if cap(p.b) > 16<<10 {
		p.b = nil
	}
	p.b = p.b[:0]
}

func newH1Client(d *net.Dialer, readTimeout time.Duration) *h1Client {
	cl := &h1Client{dialer: d, readTimeout: readTimeout, idle: map[string]*h1Pool{}, stop: make(chan struct{})}
	go cl.janitor()
	return cl
}

// eligible reports whether the request can take the synchronous path.
func (cl *h1Client) eligible(req *http.Request) bool {
	return cl != nil && req.URL.Scheme == "http" && (req.Body == nil || req.Body == http.NoBody) &&
		req.Header["Upgrade"] == nil && req.Header["Expect"] == nil
}

// RoundTrip sends req (eligible) to req.URL.Host. wait is the time from
// the request sent to the answer's first byte (h1Conn.wait).
func (cl *h1Client) RoundTrip(req *http.Request) (resp *http.Response, wait time.Duration, err error) {
	pc, stop, err := cl.send(req.Context(), req.URL.Host, retriable(req), func(bw *bufio.Writer) error { return req.Write(bw) })
	if err != nil {
		return nil, 0, err
	}
	wait = pc.wait // Before receive: a body read to its end gives pc back to the pool.
	resp, err = cl.receive(pc, stop, req)
	return resp, wait, err
}

// send writes a request with write on an idle connection to addr, or a
// new one, and waits for the first byte of the answer (within
// ResponseHeaderTimeout; the deadline stays set for the head). An idle
// connection the origin closed, or sent stray bytes on, is found before
// anything is sent on it and replaced, whatever the request. When replay
// (an idempotent request; callers send no body), a reused connection that
// the origin closes after the request was sent is replaced by a new one as
// well, as http.Transport does: the origin may have closed it just as the
// request left. That replay is on a newly dialled connection, once: a
// request the origin drops every time (one that crashes its application)
// reaches it twice, not once per pooled connection. stop ends the watch
// that closes the connection when ctx ends; the exchange must end with
// receive, done or abort.
func (cl *h1Client) send(ctx context.Context, addr string, replay bool, write func(*bufio.Writer) error) (pc *h1Conn, stop func() bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err // The client is gone (an HTTP/2 stream reset): no dial.
	}
	for pc = cl.get(addr); pc != nil; pc = cl.get(addr) {
		stop, err = cl.start(ctx, pc, true, write)
		if errors.Is(err, errIdleClosed) {
			continue // Nothing of the request was sent.
		}
		if err == nil || !replay || !errors.Is(err, errStale) {
			return pc, stop, err
		}
		break
	}
	dialed, err := cl.dial(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	stop, err = cl.start(ctx, dialed, false, write)
	if errors.Is(err, errStale) {
		err = io.ErrUnexpectedEOF
	}
	return dialed, stop, err
}

// errStale marks a connection that failed before the origin sent a byte;
// errIdleClosed one found closed, or carrying stray bytes, before the
// request was sent.
var (
	errStale      = errors.New("origin connection closed before answering")
	errIdleClosed = errors.New("idle origin connection closed by the origin")
)

func (cl *h1Client) dial(ctx context.Context, addr string) (*h1Conn, error) {
	c, err := cl.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	pc := &h1Conn{c: c, readTimeout: cl.readTimeout, rc: rc}
	cl.mu.Lock()
	if pc.pool = cl.idle[addr]; pc.pool == nil {
		pc.pool = &h1Pool{}
		cl.idle[addr] = pc.pool
	}
	cl.mu.Unlock()
	pc.src = headLimit{c: c, left: -1}
	pc.br = bufio.NewReaderSize(&pc.src, 4<<10)
	pc.bw = bufio.NewWriterSize(&pc.out, 4<<10)
	pc.step, pc.unwatch = pc.exchangeStep, pc.leaveWatch
	return pc, nil
}

// start writes the request and waits for the answer's first byte, timing
// that wait (pc.wait: a reused connection's check and the write, which do
// not wait, are in it). On error the connection is closed.
func (cl *h1Client) start(ctx context.Context, pc *h1Conn, reused bool, write func(*bufio.Writer) error) (func() bool, error) {
	// A client that goes away (or a shutdown) cancels the context: close
	// the connection so that a blocked read or write returns.
	stop := closeOnDone(ctx, pc)
	pc.rd.set(pc.c, coarseDeadline(responseHeaderTimeout))
	err := write(pc.bw)
	if err == nil {
		err = pc.bw.Flush() // Into pc.out: nothing is sent yet.
	}
	if err != nil {
		pc.out.reset()
		return nil, abort(ctx, pc, stop, err)
	}
	if err := ctx.Err(); err != nil { // Gone while dialling: send nothing.
		pc.out.reset()
		return nil, abort(ctx, pc, stop, err)
	}
	sent := time.Now()
	if err := pc.exchange(reused); err != nil {
		return nil, abort(ctx, pc, stop, err)
	}
	if _, err := pc.br.Peek(1); err != nil {
		return nil, abort(ctx, pc, stop, staleIf(err, !isTimeout(err)))
	}
	pc.wait = time.Since(sent)
	return stop, nil
}

// exchange checks a reused connection, sends the request collected in
// out and waits until the answer can be read, all inside one
// RawConn.Read. That call resets the socket's readiness once, on entry,
// and then only waits between calls of its callback, so nothing that
// arrives after the entry is missed, and what came before is found by the
// check: a FIN or a stray byte that came while the connection was idle (a
// non-blocking peek, which fails with EAGAIN on a good connection). The
// read that would follow the request and fail with EAGAIN is not needed,
// so a reused connection is checked every time for 0.4 syscalls more per
// exchange than before (TestH1ClientHalfClosedOrigin,
// TestH1ClientUnsolicitedBytes). What the socket does not take at once is
// written after the callback, and the answer then waited for by reading.
func (pc *h1Conn) exchange(reused bool) error {
	pc.reused, pc.sent, pc.sentN, pc.xerr = reused, false, 0, nil
	rerr := pc.rc.Read(pc.step)
	rest := pc.out.b[pc.sentN:]
	defer pc.out.reset()
	switch {
	case pc.xerr == errIdleClosed:
		return pc.xerr
	case pc.xerr != nil:
		return staleIf(pc.xerr, true)
	case rerr != nil:
		return staleIf(rerr, !isTimeout(rerr))
	case len(rest) > 0: // The socket did not take the whole head at once (rare).
		_ = pc.c.SetWriteDeadline(coarseDeadline(responseHeaderTimeout))
		_, err := pc.c.Write(rest)
		_ = pc.c.SetWriteDeadline(time.Time{})
		if err != nil {
			return staleIf(err, true)
		}
	}
	return nil
}

// exchangeStep is exchange's callback: the check and the write on its
// first call, which returns false to wait for the answer; true when
// called again (readable: the answer, a FIN or an error came).
func (pc *h1Conn) exchangeStep(fd uintptr) bool {
	if pc.sent {
		return true
	}
	pc.sent = true
	if pc.reused && !idleOpen(int(fd), &pc.peek) {
		pc.xerr = errIdleClosed
		return true
	}
	for {
		n, err := unix.Write(int(fd), pc.out.b)
		switch err {
		case unix.EINTR:
			continue
		case nil:
			pc.sentN = n
		case unix.EAGAIN:
		default:
			pc.xerr = &net.OpError{Op: "write", Net: "tcp", Addr: pc.c.RemoteAddr(), Err: os.NewSyscallError("write", err)}
			return true
		}
		return pc.sentN < len(pc.out.b) // The rest is written outside.
	}
}

// idleOpen reports whether nothing (no FIN, no byte, no error) came on an
// idle connection: a non-blocking one-byte peek (into peek) fails with
// EAGAIN. The raw syscall never blocks, and unlike unix.Recvfrom allocates
// no address. Both origin pools check a pooled connection with it before
// a request goes out (h1Conn.exchange, readTimeoutConn.Write).
func idleOpen(fd int, peek *[1]byte) bool {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&peek[0])), 1,
			unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		if e != unix.EINTR {
			return e == unix.EAGAIN
		}
	}
}

// bodyRead sets the deadline of a read of the answer's body: each waits
// at most readTimeout (the deadline moves once a second at most).
func (pc *h1Conn) bodyRead() { pc.rd.set(pc.c, coarseDeadline(pc.readTimeout)) }

// closeOnDone closes pc when ctx ends, until the returned stop is called
// (stop reports whether it came first, as context.AfterFunc's does). A
// client connection's own context carries a connWatch: then the exchange
// only takes its slot, rather than registering (and allocating) a
// callback in the context per exchange.
func closeOnDone(ctx context.Context, pc *h1Conn) (stop func() bool) {
	w, _ := ctx.Value(connWatchKey{}).(*connWatch)
	if w == nil || w.ctx != ctx {
		return context.AfterFunc(ctx, func() { _ = pc.c.Close() })
	}
	pc.watch = w
	w.cur.Store(pc)
	if ctx.Err() != nil { // Ended before the store: the watch has fired.
		w.fire()
	}
	return pc.unwatch
}

// leaveWatch ends the watch closeOnDone put pc in; false if it fired.
func (pc *h1Conn) leaveWatch() bool { return pc.watch.cur.CompareAndSwap(pc, nil) }

// closeWithRequest closes b when the request whose context is ctx ends.
// A fast path request without body has its client connection's own
// context (or one that only adds values to it), which ends with the
// connection, not the request: b then waits in the connection's watch,
// which serveOne ends with the request (requestEnded), rather than
// registering a callback.
func closeWithRequest(ctx context.Context, b *endBody) {
	if w, _ := ctx.Value(connWatchKey{}).(*connWatch); w != nil && ctx.Done() == w.ctx.Done() {
		if prev := w.body.Swap(b); prev != nil {
			_ = prev.Close()
		}
		return
	}
	context.AfterFunc(ctx, func() { _ = b.Close() })
}

// connWatch closes the origin connection of a client connection's
// current exchange when the client connection's context ends (its
// exchanges are sequential), and, for the fast path, the body that
// closeWithRequest left to its request's end.
type connWatch struct {
	ctx  context.Context
	cur  atomic.Pointer[h1Conn]
	body atomic.Pointer[endBody]
}

// requestEnded closes the body that closeWithRequest left to the end of
// the fast path's current request, if any.
func (w *connWatch) requestEnded() {
	if b := w.body.Swap(nil); b != nil {
		_ = b.Close()
	}
}

type connWatchKey struct{}

// withConnWatch returns a cancelable context for a client connection
// whose exchanges closeOnDone watches through one connWatch. parent is
// never done, so the context ends only through the returned cancel, which
// fires the watch itself: no callback registered, no goroutine started.
func withConnWatch(parent context.Context) (context.Context, context.CancelFunc) {
	w := &connWatch{}
	ctx, cancel := context.WithCancel(context.WithValue(parent, connWatchKey{}, w))
	w.ctx = ctx
	return ctx, func() { cancel(); w.fire() }
}

func (w *connWatch) fire() {
	if pc := w.cur.Swap(nil); pc != nil {
		_ = pc.c.Close()
	}
}

// abort ends an exchange that failed: the connection is closed, and the
// error is the context's when it ended (the client went away).
func abort(ctx context.Context, pc *h1Conn, stop func() bool, err error) error {
	stop()
	_ = pc.c.Close()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return err
}

// receive reads the response head of an exchange begun by send.
func (cl *h1Client) receive(pc *h1Conn, stop func() bool, req *http.Request) (*http.Response, error) {
	resp, err := readFinal(pc, req)
	if err != nil {
		return nil, abort(req.Context(), pc, stop, err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols { // Not asked for: eligible excludes Upgrade.
		return nil, abort(req.Context(), pc, stop, errors.New("origin switched protocols without an Upgrade request"))
	}
	// An HTTP/1.0 answer may have had a Transfer-Encoding that
	// ReadResponse dropped unseen (faultyFraming sees only the first 4
	// KiB): RFC 9112 (6.1) has the connection closed after it.
	b := &h1Body{rc: resp.Body, pc: pc, cl: cl, stop: stop, reuse: !resp.Close && resp.ProtoAtLeast(1, 1)}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// done ends an exchange whose answer was read: the connection goes back
// to the pool when the answer was read to its end (complete) and both
// sides keep it alive (reuse). Bytes buffered beyond the answer (a body
// on a HEAD, 204 or 304 answer, a second answer) would be read as the
// next request's answer: such a connection is closed, as http.Transport
// closes one that sends unsolicited bytes.
func (cl *h1Client) done(pc *h1Conn, stop func() bool, complete, reuse bool) {
	if !stop() || !complete || !reuse || pc.br.Buffered() > 0 {
		_ = pc.c.Close() // stop false: the context fired and closed it.
		return
	}
	cl.put(pc)
}

// max1xx bounds the 1xx answers before a final one, as http.Transport's
// max1xxResponses does: an origin cannot keep a request busy with them.
const max1xx = 5

// readFinal reads responses from pc until a final one, passing 1xx heads
// to the request's trace (httputil.ReverseProxy forwards them to the
// client). Each head may take MaxOriginHeaderBytes from the connection
// (plus what its buffer held already), as http.Transport's
// MaxResponseHeaderBytes bounds the other pool's.
func readFinal(pc *h1Conn, req *http.Request) (*http.Response, error) {
	defer func() { pc.src.left = -1 }() // The body is not bounded.
	trace := httptrace.ContextClientTrace(req.Context())
	for n := 0; ; n++ {
		if n > max1xx {
			return nil, errors.New("origin sent too many 1xx answers")
		}
		pc.src.left = MaxOriginHeaderBytes
		if err := faultyFraming(pc.br); err != nil {
			return nil, err
		}
		resp, err := http.ReadResponse(pc.br, req)
		if err != nil {
			// A head read whole is within the bound, whatever of the
			// body came with its last bytes.
			if pc.src.left == 0 {
				return nil, errOriginHeadTooLarge
			}
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
				return nil, err
			}
		}
	}
}

// errHTTP10Chunked: RFC 9112 (6.1) has the recipient of an HTTP/1.0
// message with a Transfer-Encoding treat its framing as faulty, even with
// a Content-Length: ReadResponse would drop the field and frame the
// answer by its Content-Length (or read it until close), relaying chunk
// framing as content, the pattern of response smuggling between an
// HTTP/1.0 hop and a chunked-aware one. errCLAndTE: an answer with both
// fields "ought to be handled as an error" (6.3): ReadResponse drops the
// Content-Length and frames by the chunks, and the connection went back
// to the pool, where a hop that framed by the Content-Length could have
// the rest read as the next client's answer; nginx answers 502. Either
// answer is a 502, its connection closed.
var (
	errHTTP10Chunked = errors.New("origin sent an HTTP/1.0 answer with Transfer-Encoding")
	errCLAndTE       = errors.New("origin sent an answer with both Content-Length and Transfer-Encoding")
)

// faultyFraming returns the error of the answer about to be read from br
// if its framing fields, in its first buffer's worth (4 KiB:
// originHeadBytes), are faulty: errHTTP10Chunked or errCLAndTE.
func faultyFraming(br *bufio.Reader) error {
	head := originHeadBytes(br)
	cl, te := framingFields(head)
	switch {
	case !te:
		return nil
	case bytes.HasPrefix(head, []byte("HTTP/1.0 ")):
		return errHTTP10Chunked
	case cl:
		return errCLAndTE
	}
	return nil
}

var errOriginHeadTooLarge = fmt.Errorf("origin answer head over %d bytes", MaxOriginHeaderBytes)

// headLimit is the reader under an origin connection's buffer: while an
// answer's head is read (left >= 0) it lets at most left more bytes in,
// so that an origin cannot have the edge buffer a head of any size (the
// process serves every proxy on the node). Only the connection's reader
// uses it.
type headLimit struct {
	c    net.Conn
	left int64 // -1: no limit.
}

func (l *headLimit) Read(p []byte) (int, error) {
	if l.left < 0 {
		return l.c.Read(p)
	}
	if l.left == 0 {
		return 0, errOriginHeadTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.c.Read(p)
	l.left -= int64(n)
	return n, err
}

func staleIf(err error, stale bool) error {
	if stale && !isTimeout(err) {
		return errors.Join(errStale, err)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// h1Body returns the connection to the pool at EOF, or closes it when the
// body is closed before EOF. Close may be called while a Read waits, to
// cut it short (discardBody), as with an http.Transport body: the
// connection is closed under it, and the exchange ends once.
type h1Body struct {
	rc    io.ReadCloser
	pc    *h1Conn
	cl    *h1Client
	stop  func() bool
	reuse bool // The origin did not ask to close.
	done  atomic.Bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done.Load() {
		return 0, io.EOF
	}
	b.pc.bodyRead()
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

func (b *h1Body) Close() error {
	b.finish(false)
	return nil
}

// finish ends the exchange, the first time only. Before EOF it closes
// the connection without touching its buffer, which a Read may be using.
func (b *h1Body) finish(atEOF bool) {
	if !b.done.Swap(true) {
		b.cl.done(b.pc, b.stop, atEOF, b.reuse)
	}
}

// get takes the most recently used idle connection to addr, if any.
func (cl *h1Client) get(addr string) *h1Conn {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	p := cl.idle[addr]
	if p == nil || len(p.conns) == 0 {
		return nil
	}
	l := p.conns
	pc := l[len(l)-1]
	l[len(l)-1] = nil
	p.conns = l[:len(l)-1]
	return pc
}

// put parks a connection; beyond MaxIdlePerOrigin, or when its address
// was retired, it is closed.
func (cl *h1Client) put(pc *h1Conn) {
	pc.idleAt = time.Now()
	cl.mu.Lock()
	p := pc.pool
	select {
	case <-cl.stop:
	default:
		if !p.retired && len(p.conns) < MaxIdlePerOrigin {
			p.conns = append(p.conns, pc)
			cl.mu.Unlock()
			return
		}
	}
	cl.mu.Unlock()
	_ = pc.c.Close()
}

// janitor closes connections idle for longer than OriginIdleTimeout.
func (cl *h1Client) janitor() {
	t := time.NewTicker(OriginIdleTimeout / 4)
	defer t.Stop()
	for {
		select {
		case <-cl.stop:
			return
		case now := <-t.C:
			cl.evict(func(pc *h1Conn) bool { return now.Sub(pc.idleAt) > OriginIdleTimeout })
		}
	}
}

// evict closes the idle connections for which old is true.
func (cl *h1Client) evict(old func(*h1Conn) bool) {
	cl.mu.Lock()
	var gone []*h1Conn
	for _, p := range cl.idle {
		l := p.conns
		kept := l[:0]
		for _, pc := range l {
			if old(pc) {
				gone = append(gone, pc)
			} else {
				kept = append(kept, pc)
			}
		}
		clear(l[len(kept):])
		p.conns = kept
	}
	cl.mu.Unlock()
	for _, pc := range gone {
		_ = pc.c.Close()
	}
}

// retire closes the idle connections to the addresses gone reports no
// rule uses any more, and has those in use closed when their exchange
// ends (put): the pool is shared by every plain-HTTP rule, so a deleted
// rule's connections outlived it for OriginIdleTimeout, and a later rule
// to the address (another tenant's maybe) took them over.
func (cl *h1Client) retire(gone func(netip.AddrPort) bool) {
	var closing []*h1Conn
	cl.mu.Lock()
	for addr, p := range cl.idle {
		if ap, err := netip.ParseAddrPort(addr); err == nil && !gone(ap) {
			continue
		}
		p.retired = true
		closing = append(closing, p.conns...)
		p.conns = nil
		delete(cl.idle, addr)
	}
	cl.mu.Unlock()
	for _, pc := range closing {
		_ = pc.c.Close()
	}
}

// close closes idle connections and stops the janitor; connections in use
// are closed when their request ends.
func (cl *h1Client) close() {
	cl.mu.Lock()
	select {
	case <-cl.stop:
	default:
		close(cl.stop)
	}
	cl.mu.Unlock()
	cl.evict(func(*h1Conn) bool { return true })
}
