package l7

import (
	"bufio"
	"bytes"
	"context"
	"mime"
	"net/http"
	"net/netip"
	"strings"
)

// The direct path (docs/dataplane-l7.md, "Direct origin exchange") serves
// the common proxied request, one without body to a plain-HTTP origin,
// without httputil.ReverseProxy and without building an http.Request or
// http.Response for the origin side: the origin request head is written
// from the client's request and the rule's headers into the pooled origin
// connection's buffer, the answer's head is parsed by parseOriginHead and
// its body relayed from that connection's buffer. On the keep-alive
// benchmark ReverseProxy (request clone, header copies, hop-by-hop scans,
// mime.ParseMediaType) and Request.Write/http.ReadResponse were most of
// the proxy's user-space CPU (BENCHMARKS.md, "Layer 7").
//
// It keeps ReverseProxy's semantics: same origin choice, retries, counters
// and errors (tryOrigins, begin, failed, errorHandler), same headers
// (forwarded, hopByHop), same framing towards the client (the recorder and
// ResponseWriter). An answer it does not take (parseOriginHead refuses it,
// 1xx, or the domain has an error page for its status) is handed, still
// unread, to ReverseProxy (sentRequest), which reads it with h1Client.

// takes reports whether the direct path may serve req: HTTP/1.x, one of
// the fast path's methods (whose request target Request.Write writes as
// RequestURI, as writeRequest does: it writes CONNECT's otherwise), no
// body, no Upgrade, Expect or TE (ReverseProxy gives those special
// treatment), no opaque URL (its request-URI depends on the scheme, which
// rewrite changes). Its Host is valid (ServeHTTP refuses others).
func (r *rule) takes(req *http.Request) bool {
	return r.direct && req.ProtoMajor == 1 && req.ContentLength == 0 && (req.Body == nil || req.Body == http.NoBody) &&
		directMethod(req.Method) &&
		req.Header["Upgrade"] == nil && req.Header["Expect"] == nil && req.Header["Te"] == nil && req.URL.Opaque == ""
}

// directMethod: the methods parseRequestLine accepts.
func directMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodOptions, http.MethodPatch:
		return true
	}
	return false
}

// dropUpgrade removes from req an Upgrade header other than a single
// "websocket" and reports whether it did: only WebSocket is tunnelled
// (what GAAP serves). Any other protocol, h2c in particular, would turn
// the tunnel into a connection whose later requests the edge never sees,
// so never routes, normalises or stamps with X-Real-IP (h2c smuggling).
// The header is hop-by-hop: without it the request is an ordinary one
// (ReverseProxy then forwards no upgrade, and Connection and the headers
// it names, HTTP2-Settings, go as always), and a 101 from the origin is
// refused as an upgrade nobody asked for. Only requests the direct path
// did not take get here: no work for an ordinary GET. An HTTP/1.0
// request's Upgrade goes whatever it names: a server MUST ignore it (RFC
// 9110 7.8), and the 101 would say "Connection: close" (mayBeSmuggled),
// which a WebSocket client must refuse (RFC 6455 4.1).
func dropUpgrade(req *http.Request) bool {
	up := req.Header["Upgrade"]
	if up == nil || req.ProtoAtLeast(1, 1) && len(up) == 1 && strings.EqualFold(strings.Trim(up[0], " \t"), "websocket") {
		return false
	}
	delete(req.Header, "Upgrade")
	return true
}

// sentKey carries a *sentRequest in a request's context.
type sentKey struct{}

// sentRequest is an exchange the direct path started and whose answer it
// leaves to ReverseProxy: rule.RoundTrip reads that answer instead of
// sending the request.
type sentRequest struct {
	o    *origin
	pc   *h1Conn
	stop func() bool
}

// serve proxies req to one of the rule's origins.
func (r *rule) serve(rw *recorder, req *http.Request) {
	if !r.takes(req) && (!dropUpgrade(req) || !r.takes(req)) {
		r.proxy.ServeHTTP(rw, req)
		return
	}
	ctx := req.Context()
	var fw [10]forwardHeader
	fwd := r.forwarded(req, fw[:0])
	var pc *h1Conn
	var stop func() bool
	write := func(bw *bufio.Writer) error {
		writeRequest(bw, req, r.originHost(req), fwd, r.underscored)
		return nil
	}
	o, err := tryOrigins(r, req, func(o *origin, ap netip.AddrPort) (*origin, error) {
		var err error
		if pc, stop, err = r.h1.send(ctx, r.begin(o, ap), retriable(req), write); err != nil {
			r.failed(o, err)
		}
		return o, err
	})
	if err != nil {
		r.errorHandler(rw, req, err)
		return
	}
	r.answered(o, pc.wait)
	head := originHeadBytes(pc.br)
	oh, ok := parseOriginHead(head, req.Method)
	if !ok || r.vhost.pages[oh.status] != nil {
		r.proxy.ServeHTTP(rw, req.WithContext(context.WithValue(ctx, sentKey{}, &sentRequest{o: o, pc: pc, stop: stop})))
		return
	}
	_, _ = pc.br.Discard(len(head))
	if fw, ok := rw.ResponseWriter.(*fastWriter); !ok || !fw.relay(&oh) {
		// Its Connection names no other header (parseOriginHead).
		h := rw.Header()
		for k, v := range oh.each {
			if !hopByHop(k, nil) {
				h[k] = append(h[k], v)
			}
		}
	}
	rw.WriteHeader(oh.status)
	err = relayBody(rw, pc, oh.bodyLen, eventStream(oh.ctype))
	r.h1.done(pc, stop, err == nil, !oh.close)
	o.backend.ConnEnd()
	if err != nil {
		// As ReverseProxy does: the answer cannot be completed, and a
		// panic with this value makes the server close the connection.
		panic(http.ErrAbortHandler)
	}
}

// originHeadBytes returns the answer's head, still buffered: up to and
// including its empty line, or, when that is not found (a head larger than
// the buffer, a bare LF, a read error), what is buffered, which
// parseOriginHead refuses and http.ReadResponse then reads again.
func originHeadBytes(br *bufio.Reader) []byte {
	for {
		buf, _ := br.Peek(br.Buffered())
		for i := 0; ; {
			j := bytes.IndexByte(buf[i:], '\n')
			if j < 0 {
				break
			}
			i += j + 1
			if bytes.HasPrefix(buf[i:], []byte("\r\n")) {
				return buf[:i+2]
			}
			if bytes.HasPrefix(buf[i:], []byte("\n")) {
				return buf[:i+1]
			}
		}
		if len(buf) == br.Size() {
			return buf
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return buf
		}
	}
}

// writeRequest writes the head that ReverseProxy with rule.rewrite and
// then Request.Write would send for req (taken by the direct path), with
// the rule's headers fwd: the client's headers without hop-by-hop ones,
// Forwarded, X-Forwarded-* and those that fwd replaces; the client's
// first User-Agent, none without one (ReverseProxy keeps Go's out); and,
// as Request.Write, "Content-Length: 0" for POST, PUT and PATCH.
func writeRequest(bw *bufio.Writer, req *http.Request, host string, fwd []forwardHeader, underscored bool) {
	_, _ = bw.WriteString(req.Method)
	_ = bw.WriteByte(' ')
	_, _ = bw.WriteString(sentURI(req))
	_, _ = bw.WriteString(" HTTP/1.1\r\n")
	writeField(bw, "Host", host)
	if ua := req.Header["User-Agent"]; len(ua) > 0 && ua[0] != "" {
		writeField(bw, "User-Agent", ua[0])
	}
	conn := req.Header["Connection"]
	for k, vv := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
			continue
		}
		if hopByHop(k, conn) || replaced(fwd, k) || posesAs(fwd, k, underscored) {
			continue
		}
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	for i, h := range fwd {
		if !replaced(fwd[i+1:], h.key) {
			writeField(bw, h.key, h.value)
		}
	}
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		_, _ = bw.WriteString("Content-Length: 0\r\n")
	}
	_, _ = bw.WriteString("\r\n")
}

// writeField writes one header line, k and v as they are.
func writeField(bw *bufio.Writer, k, v string) {
	_, _ = bw.WriteString(k)
	_, _ = bw.WriteString(": ")
	_, _ = bw.WriteString(v)
	_, _ = bw.WriteString("\r\n")
}

func replaced(fwd []forwardHeader, k string) bool {
	for _, h := range fwd {
		if h.key == k {
			return true
		}
	}
	return false
}

// hopByHop reports whether header k is one that httputil.ReverseProxy
// removes in both directions: RFC 2616's hop-by-hop list or one named in
// the message's Connection header.
func hopByHop(k string, connection []string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te",
		"Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return connection != nil && hasToken(connection, k)
}

// eventStream: ReverseProxy flushes every write of a text/event-stream
// answer (ct: its first Content-Type).
func eventStream(ct string) bool {
	if len(ct) < len("text/event-stream") || !strings.EqualFold(ct[:len("text/event-stream")], "text/event-stream") {
		return false
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "text/event-stream"
}

// relayBody copies n body bytes from pc to w, through its buffer and, for
// large bodies, a pooled one; with flush (an event stream), each as it
// comes, the head first. A body that came with the head needs no
// read, hence no deadline (the common case).
func relayBody(w http.ResponseWriter, pc *h1Conn, n int64, flush bool) error {
	br := pc.br
	if flush && n > 0 && br.Buffered() == 0 {
		// The head now, as ReverseProxy sends a stream's: the first event
		// may be long in coming, and the client waits for the head
		// (EventSource's onopen, a response-header timeout).
		_ = http.NewResponseController(w).Flush()
	}
	var buf []byte
	defer func() {
		if buf != nil {
			buffers.Put(buf)
		}
	}()
	for n > 0 {
		if br.Buffered() == 0 {
			pc.bodyRead()
		}
		var p []byte
		if br.Buffered() == 0 && n >= int64(br.Size()) {
			if buf == nil {
				buf = buffers.Get()
			}
			k, err := br.Read(buf[:min(int64(len(buf)), n)])
			if err != nil && k == 0 {
				return err
			}
			p = buf[:k]
		} else {
			if _, err := br.Peek(1); err != nil {
				return err
			}
			p, _ = br.Peek(int(min(int64(br.Buffered()), n)))
			_, _ = br.Discard(len(p))
		}
		n -= int64(len(p))
		if _, err := w.Write(p); err != nil {
			return err
		}
		if flush {
			_ = http.NewResponseController(w).Flush()
		}
	}
	return nil
}
