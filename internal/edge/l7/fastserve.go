package l7

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// fastPath turns on the HTTP/1.1 fast path (docs/dataplane-l7.md, "Fast
// path"): a connection is read by fastConn, which serves simple requests
// itself (parseFastHead) through the same Handler.ServeHTTP, and hands the
// connection, with what it has buffered, to net/http at the first request
// it does not take. False: net/http serves every connection.
const fastPath = true

// fastBufSize bounds a head the fast path takes; a longer one goes to
// net/http (which applies MaxHeaderBytes).
const fastBufSize = 4 << 10

var (
	fastReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, fastBufSize) }}
	fastWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, fastBufSize) }}
)

// fastConn is one client connection on the fast path. Not safe for
// concurrent use; owned by its serve goroutine.
type fastConn struct {
	s      *Server
	nc     net.Conn // What admit returned: *conn, shaped, or *tls.Conn.
	cc     *conn
	tls    *tls.ConnectionState
	remote string
	// br and bw are held from the wait for a request to the end of its
	// answer, nil (in their pools) in between (await), and br is nil once
	// handed to net/http.
	br *bufio.Reader
	bw *bufio.Writer
	// body is the current request's body until serveOne has closed it
	// (fastBody.finish); close closes it if not, before br is pooled.
	body *fastBody
	// w is each request's writer, reused with its header map and early
	// body buffer: nothing holds them once serveOne is done (the handler,
	// and any ReverseProxy copy, returned), and an answer costs two
	// allocations fewer. serveOne empties it when done, so that an idle
	// connection keeps nothing of its last request.
	w     fastWriter
	rd    readDeadline
	src   io.Reader     // What br reads: the raw reader, or a *leadReader (await).
	base  *http.Request // Empty but for the connection's context (serveOne copies it).
	watch *connWatch    // The connection context's: it ends what the request left open.
	seq   uint64        // Requests served, for cc.req.
	// aborted: a handler aborted its answer (run); the close is then a
	// reset (close).
	aborted bool
	out     sentCounter // Under bw: what its answers handed to nc.

	// The head being read (readHead resumes after errWait).
	first   bool      // The connection's first head.
	inHead  bool      // Its clock is set.
	waiting bool      // For its first byte, idle.
	headBy  time.Time // When it must be complete (ReadHeaderTimeout); zero: no header deadline set.
}

// serveFast serves one admitted connection until it closes or is handed
// to net/http.
func (s *Server) serveFast(nc net.Conn, cc *conn) {
	fc := &fastConn{s: s, nc: nc, cc: cc, remote: nc.RemoteAddr().String(), first: true,
		base: (&http.Request{}).WithContext(cc.ctx)}
	fc.watch, _ = cc.ctx.Value(connWatchKey{}).(*connWatch)
	if tc, ok := nc.(*tls.Conn); ok {
		if !fc.handshake(tc) {
			return
		}
		if fc.tls.NegotiatedProtocol == "h2" {
			cc.awaitHead()
			s.handoff.give(tc)
			return
		}
	}
	fc.out.w = nc
	defer fc.releaseWriter()
	if rc, rr := fc.rawConn(); rr != nil {
		fc.src = rr
		fc.serveRaw(rc, rr)
		return
	}
	fc.src = &leadReader{c: nc}
	for {
		f, ok, err := fc.request()
		if !fc.serveNext(&f, ok, err) {
			return
		}
	}
}

// serveNext serves what request returned; false when the connection has
// been closed or handed to net/http.
func (fc *fastConn) serveNext(f *fastHead, ok bool, err error) bool {
	switch {
	case err != nil:
		fc.close()
	case !ok:
		fc.handOff()
	case fc.serveOne(f):
		return true
	default:
		fc.close()
	}
	return false
}

// rawConn returns the raw connection and reader that serveRaw needs for
// a plain TCP connection without bandwidth limit; nil for the others.
func (fc *fastConn) rawConn() (syscall.RawConn, *rawReader) {
	tc, ok := fc.cc.Conn.(*net.TCPConn)
	if !ok || fc.nc != net.Conn(fc.cc) {
		return nil, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, nil
	}
	rr := &rawReader{cc: fc.cc, fd: -1}
	_ = rc.Control(func(fd uintptr) { rr.inq.Enable(int(fd)) })
	return rc, rr
}

// handshake runs the TLS handshake within ReadHeaderTimeout, as net/http
// does, including its answer to plain HTTP sent to a TLS port.
func (fc *fastConn) handshake(tc *tls.Conn) bool {
	_ = tc.SetDeadline(time.Now().Add(ReadHeaderTimeout))
	if err := tc.HandshakeContext(fc.cc.ctx); err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
			countRefused(fc.cc.listener, fc.cc.proxy, http.StatusBadRequest)
		}
		_ = tc.Close()
		return false
	}
	_ = tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	fc.tls = &st
	// Published before the handler is read, as Update swaps the handler
	// before it reads the states: a change during the handshake is seen
	// by one side or the other.
	fc.cc.tlsState.Store(&st)
	if h := fc.s.h.Load(); h != fc.cc.hsBy && !fc.cc.admittedBy(h, fc.cc.hsBy) {
		_ = tc.Close()
		return false
	}
	return true
}

// leadingEOLs is the number of CR and LF bytes buf starts with.
func leadingEOLs(buf []byte) int {
	n := 0
	for n < len(buf) && (buf[n] == '\r' || buf[n] == '\n') {
		n++
	}
	return n
}

func looksLikeHTTP(h [5]byte) bool {
	switch string(h[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// request reads and parses the next request head; ok false with a nil
// error means the fast path does not take the request.
func (fc *fastConn) request() (f fastHead, ok bool, err error) {
	head, err := fc.readHead()
	if err != nil {
		return f, false, err
	}
	if f, ok = parseFastHead(head); ok {
		_, _ = fc.br.Discard(len(head))
	}
	return f, ok, nil
}

// readHead waits for a request (IdleTimeout between requests) and returns
// its head, still buffered; a head that does not fit is returned partial
// and then refused by parseFastHead. Where it would wait on a raw-read
// connection it returns errWait, and resumes there when called again.
func (fc *fastConn) readHead() ([]byte, error) {
	if !fc.inHead {
		fc.inHead, fc.headBy = true, time.Time{}
		if fc.first {
			// As in net/http, the first head's clock starts at the
			// connection (after the TLS handshake), not at its first byte.
			fc.headBy = time.Now().Add(ReadHeaderTimeout)
			fc.rd.set(fc.nc, fc.headBy)
		}
		// Waiting for a request's first byte counts as idle: Shutdown
		// closes such connections at once (a new one too, which net/http
		// only does after 5 s; a client cannot tell it from a close just
		// before accept).
		if fc.waiting = fc.br == nil || fc.br.Buffered() == 0; fc.waiting {
			fc.cc.idle.Store(true)
			if fc.s.quit.Load() { // Set before Shutdown's closeIdle looks.
				fc.cc.idle.Store(false)
				return nil, net.ErrClosed
			}
			if !fc.first {
				fc.rd.set(fc.nc, coarseDeadline(IdleTimeout))
			}
		}
	}
	if fc.waiting {
		err := fc.await()
		if err == errWait {
			return nil, err
		}
		fc.waiting = false
		fc.cc.idle.Store(false)
		if err != nil || fc.s.quit.Load() {
			return nil, errors.Join(err, net.ErrClosed)
		}
	}
	// A head that arrived whole with its first byte (the usual case)
	// needs no header deadline: no further read happens before the
	// handler, which then reads only a body (serveOne clears the
	// deadline for that). Over TLS, one longer than the lead buffer
	// (await) takes a second read, and sets it.
	for {
		buf, _ := fc.br.Peek(fc.br.Buffered())
		if n := leadingEOLs(buf); n > 0 {
			// Empty lines before a request line are skipped (RFC 9112
			// 2.2: old clients send a CRLF after a POST's body), as nginx
			// does; net/http does after a POST, which a connection the
			// fast path served and then handed off would not know.
			_, _ = fc.br.Discard(n)
			buf = buf[n:]
		}
		end := headEnd(buf)
		if end >= 0 || len(buf) == fc.br.Size() {
			fc.inHead, fc.first = false, false
			if end >= 0 {
				buf = buf[:end]
			}
			return buf, nil
		}
		if fc.headBy.IsZero() {
			fc.headBy = time.Now().Add(ReadHeaderTimeout)
			fc.rd.set(fc.nc, fc.headBy)
		}
		if _, err := fc.br.Peek(len(buf) + 1); err != nil {
			return nil, err
		}
	}
}

// await waits for the next request holding neither the read nor the write
// buffer (4 KiB each, back in their pools), as nginx frees its own on an
// idle keep-alive connection: they were 8 of the ~24 KiB an idle HTTP
// connection cost, and of the ~45 KiB of an HTTPS one (BENCHMARKS.md,
// "Idle connections"), for a pool's Get and Put of each per request. A
// raw-read connection parks (errWait) once a read finds nothing; one read
// through nc (TLS, shaped) waits in a read of its request's first bytes
// into its small lead buffer, which the read buffer then takes first. The
// buffers are held again once the request's first byte is buffered.
func (fc *fastConn) await() error {
	if lr, ok := fc.src.(*leadReader); ok {
		fc.releaseBuffers()
		if err := lr.wait(); err != nil {
			return err
		}
	}
	fc.holdBuffers()
	_, err := fc.br.Peek(1)
	if err == errWait {
		fc.releaseBuffers()
	}
	return err
}

// leadReader is what the read buffer of a connection read through nc
// reads: first the bytes that ended its wait for a request (await), then
// nc.
type leadReader struct {
	c    net.Conn
	buf  [512]byte // Most request heads fit: then one read takes them all.
	left []byte    // Not yet read from buf.
}

// wait reads the next bytes from the connection into buf.
func (r *leadReader) wait() error {
	n, err := r.c.Read(r.buf[:])
	if r.left = r.buf[:n]; n > 0 {
		return nil // An error comes again at the next read.
	}
	return err
}

func (r *leadReader) Read(p []byte) (int, error) {
	if len(r.left) == 0 {
		return r.c.Read(p)
	}
	n := copy(p, r.left)
	r.left = r.left[n:]
	return n, nil
}

// holdBuffers takes the connection's read and write buffers from their
// pools, unless it holds them (await).
func (fc *fastConn) holdBuffers() {
	if fc.br != nil {
		return
	}
	fc.br = fastReaders.Get().(*bufio.Reader)
	fc.br.Reset(fc.src)
	fc.bw = fastWriters.Get().(*bufio.Writer)
	fc.bw.Reset(&fc.out)
}

// releaseBuffers gives the buffers back, unless something is buffered
// either way (never, where await calls it: a request's head is read only
// when nothing is buffered, and finish flushes the answer; if it were,
// the lead bytes would simply be read after it).
func (fc *fastConn) releaseBuffers() {
	if fc.br != nil && (fc.br.Buffered() > 0 || fc.bw.Buffered() > 0) {
		return
	}
	fc.releaseReader()
	fc.releaseWriter()
}

func (fc *fastConn) releaseReader() {
	if fc.br != nil {
		fc.br.Reset(nil)
		fastReaders.Put(fc.br)
		fc.br = nil
	}
}

func (fc *fastConn) releaseWriter() {
	if fc.bw != nil {
		fc.bw.Reset(nil)
		fastWriters.Put(fc.bw)
		fc.bw = nil
	}
}

// smuggling reports whether the complete request head at the start of
// buf has framing that RFC 9112 (6.1) makes faulty: a Transfer-Encoding
// with a Content-Length, or in an HTTP/1.0 request, Content-Length or not
// (net/http ignores it there and frames by Content-Length, or takes no
// body). Whatever sent the request may have framed it the other way
// (request smuggling). mayBeSmuggled is the same rule where only net/http
// saw the head.
func smuggling(buf []byte) bool {
	end := headEnd(buf)
	if end < 0 {
		return false
	}
	line, _, _ := bytes.Cut(buf[:end], []byte("\n"))
	http10 := bytes.HasSuffix(bytes.TrimSuffix(line, []byte("\r")), []byte(" HTTP/1.0"))
	cl, te := framingFields(buf[:end])
	return te && (cl || http10)
}

// framingFields reports whether the head at the start of buf (a request
// or an answer; its first line is skipped) has Content-Length and
// Transfer-Encoding fields.
func framingFields(buf []byte) (cl, te bool) {
	_, head, _ := bytes.Cut(buf, []byte("\n"))
	for line := range bytes.Lines(head) {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		cl = cl || bytes.EqualFold(name, []byte("Content-Length"))
		te = te || bytes.EqualFold(name, []byte("Transfer-Encoding"))
	}
	return cl, te
}

// mayBeSmuggled reports whether the connection must close after req, an
// HTTP/1 request that net/http read, because its framing may not be the
// sender's (smuggling's rule, for heads the fast path did not see: after
// a hand-off, or over its buffer): a chunked one may have come with a
// Content-Length, which net/http drops without a trace; an HTTP/1.0 one
// may have come with a Transfer-Encoding, which it drops before the
// handler could see it.
func mayBeSmuggled(req *http.Request) bool {
	return req.ProtoMajor == 1 && (req.TransferEncoding != nil || req.ProtoMinor == 0)
}

// headEnd returns the length of the head at the start of buf, up to and
// including its empty line, or -1. The empty line may end with a bare LF
// ("\n\n"), which parseFastHead refuses and net/http then reads: waiting
// for a CRLF one would hold such a request until ReadHeaderTimeout.
func headEnd(buf []byte) int {
	end := -1
	if i := bytes.Index(buf, []byte("\n\r\n")); i >= 0 {
		end, buf = i+3, buf[:i]
	}
	if i := bytes.Index(buf, []byte("\n\n")); i >= 0 {
		end = i + 2
	}
	return end
}

// handOff gives the connection, with its buffered bytes, to net/http,
// except for a request with faulty framing (smuggling): net/http would
// read it its own way and go on reading the connection, where RFC 9112
// (6.1) has the server close it, since whatever sent it may frame it the
// other way (request smuggling); such a request gets 400 and the
// connection is closed, as nginx does.
func (fc *fastConn) handOff() {
	if buf, _ := fc.br.Peek(fc.br.Buffered()); smuggling(buf) {
		_, _ = io.WriteString(fc.nc, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		countRefused(fc.cc.listener, fc.cc.proxy, http.StatusBadRequest)
		fc.close()
		return
	}
	c := &handedConn{Conn: fc.nc, cc: fc.cc, tls: fc.tls, headBy: fc.headBy}
	c.atEnd.Store(true) // What it buffered starts with a request line.
	if fc.br.Buffered() > 0 {
		c.br, fc.br = fc.br, nil
	} else {
		fc.releaseReader()
	}
	fc.rd.set(fc.nc, time.Time{})
	fc.s.handoff.give(c)
}

// close closes the connection; after an aborted answer, with a reset and
// no TLS close_notify (conn.cut), as net/http's path does (Server's handler).
// Called outside a raw read's callback, where cut could wait on itself.
//
// A body serveOne did not close (the handler panicked, the connection was
// cut) may still be read through br by a transport, blocked on the client:
// closing the connection ends that read, and br goes back to its pool only
// once the body is closed, which waits for the read to end.
func (fc *fastConn) close() {
	if fc.aborted {
		fc.cc.cut()
	}
	_ = fc.nc.Close()
	if fc.body != nil {
		fc.body.shut()
		fc.body = nil
	}
	fc.releaseReader()
}

// serveOne serves a parsed request; false means the connection must close.
func (fc *fastConn) serveOne(f *fastHead) bool {
	ctx, cancel := fc.cc.ctx, context.CancelFunc(nil)
	var body io.ReadCloser = http.NoBody
	var bp *fastBody
	if f.contentLength > 0 {
		fc.rd.set(fc.nc, time.Time{}) // No ReadTimeout: uploads can be long.
		// A new one each time: a transport may still hold the previous
		// request's body (it then reads ErrBodyReadAfterClose).
		bp = &fastBody{br: fc.br, left: f.contentLength}
		body, fc.body = bp, bp
		ctx, cancel = context.WithCancel(ctx) // Ends uploads still being sent to origins.
		defer cancel()
	}
	// A copy of base has the connection's context: one allocation where
	// WithContext would make a second request.
	req := new(http.Request)
	*req = *fc.base
	req.Method, req.URL, req.Proto, req.ProtoMajor, req.ProtoMinor = f.method, f.url, "HTTP/1.1", 1, 1
	req.Header, req.Body, req.ContentLength, req.Host = f.header, body, f.contentLength, f.host
	req.RemoteAddr, req.RequestURI, req.TLS, req.Close = fc.remote, f.target, fc.tls, f.close
	if cancel != nil {
		req = req.WithContext(ctx)
	}
	if fc.w.header == nil {
		fc.w.header = make(http.Header, 8)
	}
	defer func() {
		clear(fc.w.header)
		fc.w = fastWriter{header: fc.w.header, pre: fc.w.pre[:0]}
	}()
	fc.w = fastWriter{bw: fc.bw, out: &fc.out, cc: fc.cc, req: req, header: fc.w.header, pre: fc.w.pre, body: bp,
		closeAfter: f.close}
	w := &fc.w
	// The sweep may cut a request's connection when its client leaves
	// (conn.sweep), unless the client sent more: a pipelined request,
	// which a FIN after it does not take back, or a body not all read yet
	// (its end starts the watch, fastBody.Read). Stopped once the body is
	// closed, which a late read can no longer restart.
	fc.seq++
	if bp != nil {
		bp.watch, bp.seq = &fc.cc.req, fc.seq
	} else if fc.br.Buffered() == 0 {
		fc.cc.req.Store(fc.seq)
	}
	defer fc.cc.req.Store(0)
	if fc.tls != nil { // Listed before run reads the handler (serveStream says why).
		fc.cc.streams.enter(f.host)
		defer fc.cc.streams.leave(f.host)
	}
	ok := fc.run(w, req)
	fc.watch.requestEnded() // The request has ended (closeWithRequest).
	if !ok || fc.cc.cutOff.Load() {
		return false
	}
	keep := w.finish()
	if bp != nil {
		cancel()
		// What the edge did not read (its own 404 or 401, a redirect)
		// must come within BodyIdleTimeout to be discarded, as over
		// net/http (ServeHTTP): a client that declares a body and never
		// sends it must not hold the connection.
		// Not known (a transport still reading it, which may let go
		// before finish looks): timed all the same.
		if left, known := bp.unread(); left > 0 || !known {
			fc.rd.set(fc.nc, time.Now().Add(fc.s.h.Load().bodyIdleTimeout()))
			defer fc.rd.set(fc.nc, time.Time{})
			// Until it is discarded, the client may still be sending it:
			// a close then lingers (conn.lingerConn), finish's own too.
			fc.cc.bodyLeft.Store(true)
		}
		discarded := bp.finish(fc.nc)
		fc.body = nil
		fc.cc.bodyLeft.Store(!discarded)
		keep = discarded && keep
	}
	return keep
}

// run calls the handler; false when it panicked (httputil aborts a
// response that failed midway with http.ErrAbortHandler), after which the
// connection closes, as in net/http, but with a reset (aborted).
func (fc *fastConn) run(w *fastWriter, req *http.Request) (ok bool) {
	defer func() {
		if recover() != nil {
			ok, fc.aborted = false, true
		}
	}()
	fc.s.h.Load().ServeHTTP(w, req)
	return true
}

// fastBody is a request body of known length read from the connection's
// buffer. An origin transport may still read it from another goroutine
// after the handler returned (http.RoundTripper allows that), hence the
// lock, as in net/http's body.
type fastBody struct {
	mu     sync.Mutex
	br     *bufio.Reader
	left   int64
	closed bool
	// watch is the connection's conn.req, set to seq once the body has
	// been read and nothing follows it.
	watch *atomic.Uint64
	seq   uint64
}

func (b *fastBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if b.left == 0 && b.watch != nil && b.br.Buffered() == 0 {
		b.watch.Store(b.seq)
	}
	return n, err
}

// Close is called by origin transports; the connection's own end of the
// body is finish.
func (b *fastBody) Close() error { return nil }

// unread is the part of the body not read yet; false when a transport
// is reading it. That read may be waiting on the client (an origin that
// answered early, before the upload ended, and goes on reading): the
// answer's head, which asks, must not wait for it, and since the body's
// end is then unknown the connection closes after the answer (finish).
func (b *fastBody) unread() (int64, bool) {
	if !b.mu.TryLock() {
		return 0, false
	}
	defer b.mu.Unlock()
	return b.left, true
}

// finish closes the body for the handler's side and discards a small
// remainder; false means the connection cannot be reused.
func (b *fastBody) finish(c net.Conn) bool {
	if !b.mu.TryLock() {
		// A transport is still reading it, blocked on the client: closing
		// the connection ends that read; the buffer must not be touched
		// (nor pooled) before it has.
		_ = c.Close()
		b.shut()
		return false
	}
	defer b.mu.Unlock()
	b.closed = true
	if b.left == 0 {
		return true
	}
	if b.left > maxPostHandlerRead {
		return false
	}
	n, err := b.br.Discard(int(b.left))
	b.left -= int64(n)
	return err == nil
}

// shut closes the body once a transport's read of it, which the
// connection's close ends, has returned.
func (b *fastBody) shut() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// handedConn is an HTTP/1 connection given to net/http after the fast
// path read from it: reads drain the fast path's buffer first, and writes
// count net/http's own answers.
type handedConn struct {
	net.Conn
	cc  *conn // The counting connection under it (and under TLS).
	br  *bufio.Reader
	tls *tls.ConnectionState // net/http cannot see it through the wrapper.
	// headBy keeps the ReadHeaderTimeout clock of a head the fast path
	// started reading: net/http's first deadline (its header deadline)
	// is cut to it, so a slow head gains no time by being handed over.
	headBy time.Time
	// answering: net/http called the handler for the current request,
	// and has not yet finished its answer (handlerAnswers, connState).
	answering atomic.Bool
	// discarding: net/http is discarding a body the handler left, by a
	// deadline (boundDiscard) until net/http sets its next one.
	discarding atomic.Bool
	// What Read notes for net/http's answer to a head over
	// MaxHeaderBytes (Write): atEnd, what was read so far ends a request
	// (the hand-over, or an empty line: the end of a head or of a chunked
	// body); hasBody, the request being answered has a body, which is
	// what comes after its head; inLine, a request line began at such an
	// end and has not ended yet. Only a head whose start is sure is
	// followed: one read ahead with the request before it (pipelined, or
	// behind a body with a Content-Length, whose end Read does not look
	// for) keeps net/http's 431.
	atEnd, hasBody, inLine atomic.Bool
}

// uriTooLong is the answer to a request line over MaxHeaderBytes, in
// net/http's form of its 431.
const uriTooLong = "HTTP/1.1 414 URI Too Long\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" +
	"414 URI Too Long"

// boundDiscard has what net/http reads of a request's body after the
// handler (to discard it) come by t, else the connection closes: net/http
// takes a discard that failed for a reusable connection, and would read
// the rest of that body, when it came, as a next request.
func (c *handedConn) boundDiscard(t time.Time) {
	c.discarding.Store(true)
	_ = c.Conn.SetReadDeadline(t)
}

// Write counts net/http's own answers, which the handler never sees:
// to a request it refuses before calling the handler (a malformed or
// oversized head: 400, 414, 431, 501; an Expect it does not know: 417) it
// writes an answer while no handler's answer is under way, after which it
// closes the connection.
//
// net/http answers 431 to a head over MaxHeaderBytes whether its request
// line or its header fields overflow it; RFC 9112 (3) has a request
// target longer than the server takes answered 414 (as nginx does), which
// tells the client that trimming its headers will not help.
func (c *handedConn) Write(p []byte) (int, error) {
	if !c.answering.Load() {
		if code, ok := answerStatus(p); ok {
			if code == http.StatusRequestHeaderFieldsTooLarge && c.inLine.Load() {
				countRefused(c.cc.listener, c.cc.proxy, http.StatusRequestURITooLong)
				if _, err := io.WriteString(c.Conn, uriTooLong); err != nil {
					return 0, err
				}
				return len(p), nil
			}
			countRefused(c.cc.listener, c.cc.proxy, code)
		}
	}
	return c.Conn.Write(p)
}

// answerStatus is the status of the answer head at the start of p.
func answerStatus(p []byte) (int, bool) {
	if len(p) < len("HTTP/1.1 200") || !bytes.HasPrefix(p, []byte("HTTP/1.")) || p[8] != ' ' {
		return 0, false
	}
	code, err := strconv.Atoi(string(p[9:12]))
	return code, err == nil && code >= 100
}

// handlerAnswers notes, for a request net/http serves on a handedConn,
// that the handler answers it (handedConn.Write); on an HTTP/2
// connection, that a request head is in (conn.awaitHead). net/http's
// HTTP/2 server answers some requests itself (431, 400) without calling
// the handler, and with no hook to see them: those are not counted
// (docs/dataplane-l7.md, "Counters").
func handlerAnswers(r *http.Request) {
	switch c := r.Context().Value(clientConnKey{}).(type) {
	case *handedConn:
		c.answering.Store(true)
		c.hasBody.Store(r.Body != http.NoBody)
	case *tls.Conn:
		if r.ProtoMajor != 2 {
			return
		}
		if cc := connUnder(c); cc != nil {
			cc.headIn()
		}
	}
}

// connState is the http.Server's ConnState hook: an HTTP/1 connection
// goes idle once net/http has written the handler's answer whole.
func connState(c net.Conn, st http.ConnState) {
	if hc, ok := c.(*handedConn); ok && st == http.StateIdle {
		hc.answering.Store(false)
		hc.hasBody.Store(false)
	}
}

// SetReadDeadline: net/http's first call sets the head's deadline. Any
// call ends a discard's (boundDiscard).
func (c *handedConn) SetReadDeadline(t time.Time) error {
	if !c.headBy.IsZero() && !t.IsZero() && t.After(c.headBy) {
		t = c.headBy
	}
	c.headBy = time.Time{}
	c.discarding.Store(false)
	return c.Conn.SetReadDeadline(t)
}

func (c *handedConn) Read(p []byte) (n int, err error) {
	if c.br != nil {
		if c.br.Buffered() > 0 {
			n, err = c.br.Read(p)
			c.follow(p[:n])
			return n, err
		}
		c.br.Reset(nil)
		fastReaders.Put(c.br)
		c.br = nil
	}
	n, err = c.Conn.Read(p)
	if err != nil && c.discarding.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		_ = c.Conn.Close() // See boundDiscard.
	}
	c.follow(p[:n])
	return n, err
}

// follow notes b, just read, for inLine: a scan only from a request
// line's start to its end, a look at b's last bytes otherwise.
func (c *handedConn) follow(b []byte) {
	if len(b) == 0 {
		return
	}
	if c.atEnd.Load() && !c.hasBody.Load() {
		c.inLine.Store(true)
	}
	if c.inLine.Load() && bytes.IndexByte(b, '\n') >= 0 {
		c.inLine.Store(false)
	}
	c.atEnd.Store(bytes.HasSuffix(b, []byte("\n\r\n")) || bytes.HasSuffix(b, []byte("\n\n")))
}

// tlsStateKey carries a handed-over TLS connection's state from
// http.Server.ConnContext to the handler.
type tlsStateKey struct{}

// connContext is the http.Server's ConnContext hook. A connection's
// context ends when the edge cuts it (conn.cut: policy, drain grace,
// Close) or it closes, as net/http's own ends when it sees the connection
// fail: a hijacked (upgraded) connection, which net/http no longer reads,
// then has its relay and origin connection closed too.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if cc := connUnder(c); cc != nil && cc.ctx != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		context.AfterFunc(cc.ctx, cancel)
	}
	ctx = context.WithValue(ctx, clientConnKey{}, c)
	if hc, ok := c.(*handedConn); ok && hc.tls != nil {
		return context.WithValue(ctx, tlsStateKey{}, hc.tls)
	}
	return ctx
}

// clientConnKey is the context key of a request's client connection (a
// net.Conn), for HTTP/1 requests to close it (watchBody).
type clientConnKey struct{}

// withTLS gives a request of a handed-over TLS connection its TLS state
// (net/http sets Request.TLS only for a *tls.Conn).
func withTLS(r *http.Request) {
	if r.TLS == nil {
		if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
			r.TLS = st
		}
	}
}

// handoff is the net.Listener net/http serves: connections that the fast
// path gives up (or never takes, when fastPath is off) arrive through it.
type handoff struct {
	s    *Server
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	n    atomic.Int64 // Connections given, for tests.
}

func newHandoff(s *Server) *handoff {
	return &handoff{s: s, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops net/http's accept loop and closes the socket.
func (l *handoff) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.s.ln.Close()
}

func (l *handoff) Addr() net.Addr { return l.s.ln.Addr() }

// give passes c to net/http, or closes it when net/http has stopped.
func (l *handoff) give(c net.Conn) {
	l.n.Add(1)
	select {
	case l.ch <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// Interface guards.
var (
	_ http.ResponseWriter = (*fastWriter)(nil)
	_ http.Flusher        = (*fastWriter)(nil)
	_ io.ReadCloser       = (*fastBody)(nil)
	_ net.Listener        = (*handoff)(nil)
	_ net.Conn            = (*handedConn)(nil)
)
