package l7

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/opengaap/opengaap/internal/edge/l4"
)

// fastWriter is the http.ResponseWriter of the fast path (fastserve.go).
// It frames the answer as net/http's server does for an HTTP/1.1 request:
// a small body that is complete when the handler returns gets a
// Content-Length, a longer or flushed one without Content-Length is
// chunked (with declared trailers), HEAD, 1xx, 204 and 304 answers carry
// no body, Date is added, a missing Content-Type is sniffed, and
// "Connection: close" is sent when the connection ends after the answer.
// Not safe for concurrent use.
type fastWriter struct {
	bw     *bufio.Writer
	out    *sentCounter // Under bw; nil: not counted (sentNothing).
	headAt int64        // out's count past which the final answer's bytes have gone out.
	cc     *conn        // The client's, for clientGone.
	req    *http.Request
	header http.Header
	status int
	pre    []byte // Body written before the head: at most preMax bytes.

	wroteHead   bool
	done        bool // The handler returned.
	bodyOK      bool // Status and method allow a body.
	chunked     bool
	contentLen  int64 // -1: unknown.
	written     int64
	closeAfter  bool      // The connection ends after this answer.
	body        *fastBody // The request's; nil without body.
	trailerKeys []string
	err         error
	// relayed: the head is origin's, an origin's answer taken by relay.
	relayed bool
	origin  originHead
}

// preMax mirrors net/http's bufferBeforeChunkingSize.
const preMax = 2048

// maxPostHandlerRead mirrors net/http's maxPostHandlerReadBytes: an unread
// request body up to this size is discarded to keep the connection.
const maxPostHandlerRead = 256 << 10

var errFastAborted = errors.New("response framing broken")

func (w *fastWriter) Header() http.Header { return w.header }

func (w *fastWriter) WriteHeader(code int) {
	if w.wroteHead || w.status >= 200 {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInterim(code)
		return
	}
	w.status = code
}

// clientGone reports whether the client closed or reset its connection
// (one getsockopt): the fast path does not read it while it serves.
func (w *fastWriter) clientGone() bool {
	if w.cc == nil {
		return false
	}
	tc, ok := w.cc.Conn.(*net.TCPConn)
	return ok && l4.PeerClosed(tc)
}

// sentNothing reports whether no byte of the final answer has gone to
// the client: its head not written, or still in bw (recorder.abortedMidway).
func (w *fastWriter) sentNothing() bool {
	return w.out != nil && (!w.wroteHead || w.out.n <= w.headAt)
}

// sentCounter counts the bytes written through it, to w.
type sentCounter struct {
	w io.Writer
	n int64
}

func (c *sentCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// excludedNoBody are the headers a 1xx head never carries (net/http's
// excludedHeadersNoBody).
var excludedNoBody = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}

// writeInterim sends a 1xx head at once, as net/http does.
func (w *fastWriter) writeInterim(code int) {
	w.statusLine(code)
	_ = w.header.WriteSubset(w.bw, excludedNoBody)
	_, _ = w.bw.WriteString("\r\n")
	w.err = w.bw.Flush()
}

func (w *fastWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.wroteHead {
		if len(w.pre)+len(p) <= preMax {
			w.pre = append(w.pre, p...)
			return len(p), nil
		}
		w.writeHead(p)
	}
	return w.writeBody(p)
}

func (w *fastWriter) writeBody(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if !w.bodyOK {
		if w.req.Method == http.MethodHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.contentLen >= 0 && w.written+int64(len(p)) > w.contentLen {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if len(p) == 0 {
		return 0, nil
	}
	if w.chunked {
		_, _ = w.bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		_, _ = w.bw.WriteString("\r\n")
	}
	n, err := w.bw.Write(p)
	if w.chunked {
		_, err = w.bw.WriteString("\r\n")
	}
	w.err = err
	return n, err
}

// FlushError writes what is buffered to the client (used by
// http.ResponseController, hence by httputil's streaming copies).
func (w *fastWriter) FlushError() error {
	if !w.wroteHead {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		w.writeHead(nil)
	}
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

// Flush implements http.Flusher.
func (w *fastWriter) Flush() { _ = w.FlushError() }

// writeHead decides the framing and writes the status line, headers and
// any body buffered before; next is the body being written, which does not
// fit after it (nil when none).
func (w *fastWriter) writeHead(next []byte) {
	w.beginHead()
	if w.relayed {
		w.writeOriginHead()
	} else {
		w.writeMapHead(next)
	}
	pre := w.pre
	w.pre = w.pre[:0]
	if len(pre) > 0 {
		_, _ = w.writeBody(pre)
	}
}

// writeMapHead writes the head from the header map.
func (w *fastWriter) writeMapHead(next []byte) {
	h, isHead := w.header, w.req.Method == http.MethodHead
	statusOK := !noContent(w.status)
	_, declared := h["Trailer"]
	w.contentLen = -1
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.contentLen = n
		} else {
			h.Del("Content-Length")
		}
	}
	if w.done && w.contentLen < 0 && !declared && statusOK && !isTrailered(h) && (!isHead || len(w.pre) > 0) {
		w.contentLen = int64(len(w.pre))
		h["Content-Length"] = []string{strconv.Itoa(len(w.pre))}
	}
	if !statusOK {
		dropFraming(h, w.status)
	} else if w.contentLen < 0 && w.bodyOK {
		w.chunked = true
		h.Del("Content-Length")
		h["Transfer-Encoding"] = []string{"chunked"}
		w.trailerKeys = trailerKeys(h)
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = httpDate()
	}
	if _, ok := h["Content-Type"]; !ok && statusOK && len(w.pre)+len(next) > 0 && h.Get("Content-Encoding") == "" {
		h["Content-Type"] = []string{sniff(w.pre, next)}
	}
	w.closing()
	w.statusLine(w.status)
	// Declared trailer keys set before the head are sent in the head as
	// well, as net/http does.
	_ = h.Write(w.bw)
	_, _ = w.bw.WriteString("\r\n")
}

// beginHead notes that the final answer's head is being written.
func (w *fastWriter) beginHead() {
	w.wroteHead = true
	if w.out != nil {
		w.headAt = w.out.n + int64(w.bw.Buffered())
	}
	w.bodyOK = !noContent(w.status) && w.req.Method != http.MethodHead
}

// closing decides, as the head is written, whether the connection ends
// after the answer, and if so has the head say it.
func (w *fastWriter) closing() {
	if w.body != nil {
		if n, known := w.body.unread(); !known || n > maxPostHandlerRead {
			w.closeAfter = true
		}
	}
	// A drain (listener removed, proxy closed, Close) that began while
	// the answer was awaited ends the connection after it: the head says
	// so, or the client would pool a connection about to close and send
	// into it a request it cannot safely retry.
	if hasToken(w.header["Connection"], "close") {
		w.closeAfter = true
	} else if w.closeAfter = w.closeAfter || w.cc.s.quit.Load(); w.closeAfter {
		w.header["Connection"] = []string{"close"}
	}
}

// relay takes o, an origin's answer head, as the head of the answer,
// written by writeOriginHead rather than from the header map, and reports
// whether it did: only when nothing is in the map yet (the handler sets
// headers only on its own answers) and no Content-Type is to be sniffed
// (writeMapHead). The head still goes out when writeHead would write it
// (a small body buffered first, as before), so that it says what is known
// then (a drain begun meanwhile, closing) and nothing of an answer cut
// short in the body goes out (sentNothing).
func (w *fastWriter) relay(o *originHead) bool {
	if len(w.header) != 0 || w.wroteHead || !(o.typed || o.encoding != "" || o.bodyLen == 0) {
		return false
	}
	w.relayed, w.origin = true, *o
	return true
}

// writeOriginHead writes the head of the origin's answer that relay took,
// for writeHead: what writeMapHead would write from the header map the
// direct path used to fill, with the origin's fields in the origin's
// order, as they came, rather than through a map (on the keep-alive
// benchmark, a sixth of the proxy's CPU): no hop-by-hop field (its
// Connection names no other), the listener's Alt-Svc rather than the
// origin's (recorder.head), no framing on a 204 or 304 (dropFraming), a
// Date when the origin sent none, and what the recorder put in the map
// (Connection, Alt-Svc).
func (w *fastWriter) writeOriginHead() {
	o := &w.origin
	w.contentLen = o.length
	w.closing()
	w.statusLine(w.status)
	if o.verbatim {
		_, _ = w.bw.WriteString(o.fields)
	} else {
		for k, v := range o.each {
			if relayedField(k, w.status) {
				writeField(w.bw, k, v)
			}
		}
	}
	if !o.dated {
		writeField(w.bw, "Date", httpDate()[0])
	}
	// The edge's own values, which need none of Header.Write's cleaning.
	for k, vv := range w.header {
		for _, v := range vv {
			writeField(w.bw, k, v)
		}
	}
	_, _ = w.bw.WriteString("\r\n")
}

// dropFraming removes from the head h of an answer with status code the
// framing a 204 or 304 must not carry, as net/http's HTTP/1 server does:
// they have no body, so no Content-Length or Transfer-Encoding (RFC 9110
// 8.6 forbids Content-Length on 204; an HTTP/1 client that believed one
// would read the next answer as this one's body, an HTTP/2 one fails the
// answer when the stream ends without it), and a 304 no type. Other
// statuses are left alone. Every protocol's writer applies it: fastWriter
// here, streamWriter for HTTP/2 and HTTP/3, whose servers pass them on.
func dropFraming(h http.Header, code int) {
	if !noContent(code) {
		return
	}
	for _, k := range [...]string{"Content-Length", "Transfer-Encoding", "Content-Type"} {
		if framingDropped(k, code) {
			delete(h, k)
		}
	}
}

// relayedField reports whether writeOriginHead relays an origin's field
// k on an answer with status code.
func relayedField(k string, code int) bool {
	return !hopByHop(k, nil) && k != "Alt-Svc" && !framingDropped(k, code)
}

// framingDropped reports whether dropFraming removes header k from an
// answer with status code.
func framingDropped(k string, code int) bool {
	return noContent(code) && (k == "Content-Length" || k == "Transfer-Encoding" ||
		k == "Content-Type" && code == http.StatusNotModified)
}

// noContent reports whether a final answer with status code carries no
// content whatever its method: 204 and 304 (RFC 9110 15.3.5, 15.4.5).
// Writers refuse a body for them (http.ErrBodyNotAllowed).
func noContent(code int) bool {
	return code == http.StatusNoContent || code == http.StatusNotModified
}

// sniffLen mirrors net/http's: http.DetectContentType reads no further.
const sniffLen = 512

// sniff is the Content-Type net/http's server gives a body it has to
// sniff: that of its first sniffLen bytes, however they were written.
// Here they may lie in two parts, buffered (pre) and being written (next):
// net/http's buffer fills up from next before it sniffs.
func sniff(pre, next []byte) string {
	switch {
	case len(pre) >= sniffLen || len(next) == 0:
		return http.DetectContentType(pre)
	case len(pre) == 0: // The common case: one large write.
		return http.DetectContentType(next)
	}
	b := make([]byte, 0, sniffLen) // A small write, then a large one.
	b = append(b, pre...)
	return http.DetectContentType(append(b, next[:min(len(next), sniffLen-len(b))]...))
}

// finish ends the answer after the handler returned; false means the
// connection cannot carry another request.
func (w *fastWriter) finish() bool {
	w.done = true
	if !w.wroteHead {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		w.writeHead(nil)
	}
	if w.chunked && w.err == nil {
		_, _ = w.bw.WriteString("0\r\n")
		w.writeTrailers()
		_, w.err = w.bw.WriteString("\r\n")
	}
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	if w.contentLen >= 0 && w.bodyOK && w.written != w.contentLen {
		w.err = errFastAborted // The client would wait for the rest.
	}
	return w.err == nil && !w.closeAfter
}

func (w *fastWriter) statusLine(code int) {
	if code >= 0 && code < len(statusLines) && statusLines[code] != "" {
		_, _ = w.bw.WriteString(statusLines[code])
		return
	}
	_, _ = w.bw.WriteString(formatStatusLine(code))
}

// statusLines are the status lines of the codes net/http names, made once.
var statusLines = func() (l [600]string) {
	for code := range l {
		if http.StatusText(code) != "" {
			l[code] = formatStatusLine(code)
		}
	}
	return l
}()

// formatStatusLine is the status line net/http's server writes for code.
func formatStatusLine(code int) string {
	t := http.StatusText(code)
	if t == "" {
		t = "status code " + strconv.Itoa(code)
	}
	return "HTTP/1.1 " + strconv.Itoa(code) + " " + t + "\r\n"
}

// writeTrailers writes the trailers declared before the head (Trailer)
// and those set with http.TrailerPrefix.
func (w *fastWriter) writeTrailers() {
	t := http.Header{}
	for _, k := range w.trailerKeys {
		if vv, ok := w.header[k]; ok {
			t[k] = vv
		}
	}
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			t[http.CanonicalHeaderKey(name)] = vv
		}
	}
	_ = t.Write(w.bw)
}

func trailerKeys(h http.Header) []string {
	var keys []string
	for _, v := range h["Trailer"] {
		for k := range strings.SplitSeq(v, ",") {
			// As net/http's servers (HTTP/1, HTTP/2) and quic-go's keep
			// them: none RFC 9110 6.5.1 forbids (Content-Type,
			// WWW-Authenticate, Content-Length, ...), whose value would
			// be the header's, sent again after the body.
			if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); k != "" && httpguts.ValidTrailerHeader(k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

func isTrailered(h http.Header) bool {
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// hasToken reports whether a comma-separated header value lists tok
// (case-insensitively).
func hasToken(vv []string, tok string) bool {
	for _, v := range vv {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), tok) {
				return true
			}
		}
	}
	return false
}

// httpDate is the Date header value, formatted once per second.
func httpDate() []string {
	now := time.Now().Unix()
	if d := dateCache.Load(); d != nil && d.sec == now {
		return d.v
	}
	d := &cachedDate{sec: now, v: []string{time.Unix(now, 0).UTC().Format(http.TimeFormat)}}
	dateCache.Store(d)
	return d.v
}

// cachedDate is this second's Date header value, shared read-only by
// every answer's header map (no allocation per answer).
type cachedDate struct {
	sec int64
	v   []string
}

var dateCache atomic.Pointer[cachedDate]
