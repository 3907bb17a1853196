package l7

import (
	"cmp"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// sendTimeout is the bound on each write to a client (SendTimeout unless
// the runtime sets another).
func (h *Handler) sendTimeout() time.Duration { return cmp.Or(h.env.SendTimeout, SendTimeout) }

// bodyIdleTimeout is the bound on each wait for a client's next bytes of
// a request body (BodyIdleTimeout unless the runtime sets another).
func (h *Handler) bodyIdleTimeout() time.Duration {
	if h.env.BodyIdleTimeout > 0 {
		return h.env.BodyIdleTimeout
	}
	return BodyIdleTimeout
}

// serveStream serves a request of a multiplexed connection (an HTTP/2 or
// HTTP/3 stream) with each write of its answer bounded by the send
// timeout (streamWriter): a stream's writes wait for its flow-control
// credit, which the connection's own write deadline (conn.Write) never
// sees. st is the connection's requests in flight: a request over the
// proxy's connection cap is refused with 503, nginx's limit_conn answer,
// and counted Refused like a connection the cap refuses. The request is
// served by the handler cur holds once st lists it (acquire): a change
// of what domains demand of clients (Server.Update, H3Server.Update)
// either finds it listed or was stored before it is served.
func serveStream(cur *atomic.Pointer[Handler], w http.ResponseWriter, r *http.Request, st *streams) {
	h := cur.Load()
	// A GET or HEAD whose length is not declared: quic-go cannot tell
	// one without a body (its HEADERS frame's FIN is not visible), and
	// an HTTP/2 client may end the stream with an empty DATA frame
	// (RFC 9113). Either would carry a body of unknown length, and not be
	// retried on another origin after a refused connect, unlike over
	// HTTP/1. A GET or HEAD body has no meaning (RFC 9110): without
	// Content-Length, none is forwarded.
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.ContentLength < 0 {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	if declaresMissingBody(r) {
		countRefused(h.Stats, h.Proxy.Stats, http.StatusBadRequest)
		http.Error(w, "content-length declares a body the stream does not carry", http.StatusBadRequest)
		return
	}
	host := r.Host // ServeHTTP may fill it in.
	if !st.acquire(host) {
		h.count(func(c *statsCounters) { c.Refused.Add(1) })
		countRefused(h.Stats, h.Proxy.Stats, http.StatusServiceUnavailable)
		http.Error(w, "connection limit of the proxy reached", http.StatusServiceUnavailable)
		return
	}
	defer func() { st.release(host, r.Context().Err() != nil) }()
	h = cur.Load()
	d, ok := w.(interface{ SetWriteDeadline(time.Time) error })
	if !ok {
		h.ServeHTTP(w, r)
		return
	}
	sw := &streamWriter{ResponseWriter: w, stream: d, timeout: h.sendTimeout()}
	defer sw.stop()
	h.ServeHTTP(sw, r)
	sw.finish()
}

// declaresMissingBody reports a request whose Content-Length declares a
// body its stream cannot carry: net/http's HTTP/2 server checks the
// declared length against the DATA frames only when one of them ends the
// stream, and hands a stream that its HEADERS frame ended (or whose
// Content-Length is not a number) to the handler with ContentLength 0.
// Such a request is malformed (RFC 9113 8.1.1), and an intermediary must
// not forward it: the origin would act on a body-less request, where a
// body cut short after its DATA began gets 400. quic-go keeps the declared
// length and fails a body that ends short (io.ErrUnexpectedEOF), so an
// HTTP/3 request never matches.
func declaresMissingBody(r *http.Request) bool {
	v, ok := r.Header["Content-Length"]
	if !ok || r.ContentLength != 0 || len(v) == 0 {
		return false
	}
	n, err := strconv.ParseUint(v[0], 10, 63)
	return err != nil || n != 0
}

// streamWriter bounds each write of an HTTP/2 or HTTP/3 answer by the
// send timeout, as conn.Write does over a whole TCP connection: a client
// that keeps its connection alive but grants the stream no flow-control
// credit would otherwise hold the handler, and the origin connection, for
// as long as it likes. A write that waits longer gets a past write
// deadline, which ends the stream: net/http resets an HTTP/2 stream at
// once, quic-go fails the write. Only time spent in a write counts: the
// stream's deadline is not left set between writes, since net/http's is a
// timer that resets the stream when it fires, even with no write under way
// (an answer whose origin pauses longer than the timeout would be lost).
type streamWriter struct {
	http.ResponseWriter
	stream  interface{ SetWriteDeadline(time.Time) error }
	timeout time.Duration
	timer   *time.Timer // Running while a write is under way; made by the first.
	// pending: written to since the last flush; finish flushes it.
	pending bool
	mu      sync.Mutex
	expired bool // Under mu: a write outlasted the timeout.
	done    bool // Under mu: the handler returned; the stream is not ours to touch.
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.arm()
	defer w.disarm()
	w.pending = true
	return w.ResponseWriter.Write(p)
}

// WriteHeader is bounded too: a 1xx head is written at once. A 204 or
// 304 loses its framing headers (dropFraming), which net/http's HTTP/2
// server and quic-go's send as they are.
func (w *streamWriter) WriteHeader(code int) {
	dropFraming(w.Header(), code)
	w.arm()
	defer w.disarm()
	w.pending = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *streamWriter) Flush() { _ = w.FlushError() }

// FlushError flushes under the same bound (a flush writes).
func (w *streamWriter) FlushError() error {
	w.arm()
	defer w.disarm()
	w.pending = false
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *streamWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *streamWriter) arm() {
	if w.timer == nil {
		w.timer = time.AfterFunc(w.timeout, w.expire)
	} else {
		w.timer.Reset(w.timeout)
	}
}

func (w *streamWriter) disarm() { w.timer.Stop() }

// expire ends the stream whose write outlasted the timeout, unless the
// handler has returned: after that net/http's HTTP/2 writer is gone.
func (w *streamWriter) expire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.expired = true
		_ = w.stream.SetWriteDeadline(time.Unix(1, 0))
	}
}

// finish flushes what the handler left buffered (with quic-go, a
// bodiless answer's head too) under the bound, before the handler
// returns: what the servers write after it, the stream's end, needs no
// flow-control credit.
func (w *streamWriter) finish() {
	w.mu.Lock()
	expired := w.expired
	w.mu.Unlock()
	if w.pending && !expired {
		_ = w.FlushError()
	}
}

// stop ends the bound when the handler returns (or panics).
func (w *streamWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if w.timer != nil {
		w.timer.Stop()
	}
}
