package l7

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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
	dialer *net.Dialer

	mu   sync.Mutex
	idle map[string][]*h1Conn // By origin "ip:port"; most recently used last.
	stop chan struct{}        // Closed by close: ends the janitor.
}

// h1Conn is one origin connection; owned by a single request at a time.
type h1Conn struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	addr   string
	idleAt time.Time
	rd     readDeadline
}

func newH1Client(d *net.Dialer) *h1Client {
	cl := &h1Client{dialer: d, idle: map[string][]*h1Conn{}, stop: make(chan struct{})}
	go cl.janitor()
	return cl
}

// eligible reports whether the request can take the synchronous path.
func (cl *h1Client) eligible(req *http.Request) bool {
	return cl != nil && req.URL.Scheme == "http" && (req.Body == nil || req.Body == http.NoBody) &&
		req.Header["Upgrade"] == nil && req.Header["Expect"] == nil
}

// RoundTrip sends req (eligible) to req.URL.Host.
func (cl *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
	pc, stop, err := cl.send(req.Context(), req.URL.Host, retriable(req), func(bw *bufio.Writer) error { return req.Write(bw) })
	if err != nil {
		return nil, err
	}
	return cl.receive(pc, stop, req)
}

// send writes a request with write on an idle connection to addr, or a
// new one, and waits for the first byte of the answer (within
// ResponseHeaderTimeout; the deadline stays set for the head). When
// replay (an idempotent request; callers send no body), a reused
// connection that turns out to be closed by the origin is replaced by a
// new one, as http.Transport does; otherwise the request is sent once, on
// an idle connection only if it is still open (alive). stop ends the watch that closes the connection
// when ctx ends; the exchange must end with receive, done or abort.
func (cl *h1Client) send(ctx context.Context, addr string, replay bool, write func(*bufio.Writer) error) (pc *h1Conn, stop func() bool, err error) {
	if pc = cl.get(addr); pc != nil && !replay && !pc.alive() {
		_ = pc.c.Close() // Closed by the origin while idle: never try it.
		pc = nil
	}
	if pc != nil {
		if stop, err = cl.start(ctx, pc, write); err == nil || !errors.Is(err, errStale) || !replay {
			return pc, stop, err
		}
	}
	dialed, err := cl.dial(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	stop, err = cl.start(ctx, dialed, write)
	if errors.Is(err, errStale) {
		err = io.ErrUnexpectedEOF
	}
	return dialed, stop, err
}

// alive reports whether an idle connection is still usable: neither a FIN
// nor a stray byte has arrived (a non-blocking peek, one system call).
// Requests that must not be sent twice check it first, since a failure
// after sending them cannot be told from an origin that acted and dropped
// the connection.
func (pc *h1Conn) alive() bool {
	sc, ok := pc.c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var b [1]byte
	_ = rc.Read(func(fd uintptr) bool {
		_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		open = err == unix.EAGAIN
		return true
	})
	return open
}

// errStale marks a connection that failed before the origin sent a byte.
var errStale = errors.New("origin connection closed before answering")

func (cl *h1Client) dial(ctx context.Context, addr string) (*h1Conn, error) {
	c, err := cl.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &h1Conn{c: c, br: bufio.NewReaderSize(c, 4<<10), bw: bufio.NewWriterSize(c, 4<<10), addr: addr}, nil
}

// start writes the request and waits for the answer's first byte. On
// error the connection is closed.
func (cl *h1Client) start(ctx context.Context, pc *h1Conn, write func(*bufio.Writer) error) (func() bool, error) {
	// A client that goes away (or a shutdown) cancels the context: close
	// the connection so that a blocked read or write returns.
	stop := closeOnDone(ctx, pc)
	if err := write(pc.bw); err != nil {
		return nil, abort(ctx, pc, stop, staleIf(err, true))
	}
	if err := pc.bw.Flush(); err != nil {
		return nil, abort(ctx, pc, stop, staleIf(err, true))
	}
	// The read right after the request nearly always fails with EAGAIN
	// and parks; the client side avoids that (fastraw.go), but here a
	// wait without that read would miss a FIN that came while the
	// connection was idle (TestH1ClientHalfClosedOrigin).
	pc.rd.set(pc.c, coarseDeadline(ResponseHeaderTimeout))
	if _, err := pc.br.Peek(1); err != nil {
		return nil, abort(ctx, pc, stop, staleIf(err, !isTimeout(err)))
	}
	return stop, nil
}

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
	w.cur.Store(pc)
	if ctx.Err() != nil { // Ended before the store: the watch has fired.
		w.fire()
	}
	return func() bool { return w.cur.CompareAndSwap(pc, nil) }
}

// connWatch closes the origin connection of a client connection's
// current exchange when the client connection's context ends (its
// exchanges are sequential).
type connWatch struct {
	ctx context.Context
	cur atomic.Pointer[h1Conn]
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
	resp, err := readFinal(pc.br, req)
	if err != nil {
		return nil, abort(req.Context(), pc, stop, err)
	}
	pc.rd.set(pc.c, time.Time{})
	if resp.StatusCode == http.StatusSwitchingProtocols { // Not asked for: eligible excludes Upgrade.
		return nil, abort(req.Context(), pc, stop, errors.New("origin switched protocols without an Upgrade request"))
	}
	b := &h1Body{rc: resp.Body, pc: pc, cl: cl, stop: stop, reuse: !resp.Close}
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

// readFinal reads responses until a final one, passing 1xx heads to the
// request's trace (httputil.ReverseProxy forwards them to the client).
func readFinal(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	trace := httptrace.ContextClientTrace(req.Context())
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
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
// body is closed before EOF.
type h1Body struct {
	rc    io.ReadCloser
	pc    *h1Conn
	cl    *h1Client
	stop  func() bool
	reuse bool // The origin did not ask to close.
	done  bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

func (b *h1Body) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

// finish ends the exchange.
func (b *h1Body) finish(atEOF bool) {
	b.done = true
	b.cl.done(b.pc, b.stop, atEOF, b.reuse)
}

// get takes the most recently used idle connection to addr, if any.
func (cl *h1Client) get(addr string) *h1Conn {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	l := cl.idle[addr]
	if len(l) == 0 {
		return nil
	}
	pc := l[len(l)-1]
	l[len(l)-1] = nil
	cl.idle[addr] = l[:len(l)-1]
	return pc
}

// put parks a connection; beyond MaxIdlePerOrigin it is closed.
func (cl *h1Client) put(pc *h1Conn) {
	pc.idleAt = time.Now()
	cl.mu.Lock()
	l := cl.idle[pc.addr]
	select {
	case <-cl.stop:
	default:
		if len(l) < MaxIdlePerOrigin {
			cl.idle[pc.addr] = append(l, pc)
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
	for addr, l := range cl.idle {
		kept := l[:0]
		for _, pc := range l {
			if old(pc) {
				gone = append(gone, pc)
			} else {
				kept = append(kept, pc)
			}
		}
		clear(l[len(kept):])
		if len(kept) == 0 {
			delete(cl.idle, addr)
		} else {
			cl.idle[addr] = kept
		}
	}
	cl.mu.Unlock()
	for _, pc := range gone {
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
