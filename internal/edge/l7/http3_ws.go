package l7

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// wsGUID is RFC 6455's key suffix for Sec-WebSocket-Accept.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// errBadUpgrade: the origin answered 101 but not as a WebSocket server
// answers the key it was sent.
var errBadUpgrade = errors.New("origin's 101 is not a WebSocket handshake for the key sent")

// serveWebSocket3 serves an RFC 9220 WebSocket: an HTTP/3 extended
// CONNECT with :protocol websocket, already routed like a GET of the
// same authority and path. Origins speak HTTP/1.1, so it goes out as the
// RFC 6455 handshake (GET with Upgrade: websocket and a fresh key) through
// the rule's scheduler and Transport, as an HTTP/1.1 WebSocket does
// (the upgraded origin connection is exempt from OriginReadTimeout:
// send/upgraded). A 101 whose Sec-WebSocket-Accept matches becomes the
// client's 200, after which bytes are relayed between the HTTP/3 stream
// and the origin connection until either side ends; any other answer is
// the client's answer.
func (r *rule) serveWebSocket3(rw *recorder, req *http.Request) {
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	out := (&http.Request{Method: http.MethodGet, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Body: http.NoBody,
		URL:    &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery},
		Header: make(http.Header, len(req.Header)+8), Host: req.Host}).WithContext(req.Context())
	// What ReverseProxy drops before Rewrite: hop-by-hop headers (none may
	// come over HTTP/3, but a client may send them) and the client's
	// forwarding headers; and the handshake's own, set below.
	conn := req.Header["Connection"]
	for name, vv := range req.Header {
		switch {
		case hopByHop(name, conn), strings.HasPrefix(name, "Sec-Websocket-") && name != "Sec-Websocket-Protocol" &&
			name != "Sec-Websocket-Extensions":
		case name == "Forwarded", name == "X-Forwarded-For", name == "X-Forwarded-Host", name == "X-Forwarded-Proto":
		default:
			out.Header[name] = vv
		}
	}
	out.Header["Upgrade"] = []string{"websocket"}
	out.Header["Connection"] = []string{"Upgrade"}
	out.Header["Sec-Websocket-Version"] = []string{"13"}
	out.Header["Sec-Websocket-Key"] = []string{key}
	pr := &httputil.ProxyRequest{In: req, Out: out}
	r.rewrite(pr)
	resp, err := r.RoundTrip(pr.Out)
	if err != nil {
		r.errorHandler(rw, req, err)
		return
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		// Over HTTP/3 a 2xx is the tunnel's success (RFC 9220): an
		// origin that ignored the Upgrade and served a page (200) would
		// have its page read as WebSocket frames.
		r.errorHandler(rw, req, errBadUpgrade)
		return
	case resp.StatusCode != http.StatusSwitchingProtocols:
		r.relayAnswer(rw, resp)
		return
	}
	back, ok := resp.Body.(io.ReadWriteCloser)
	if !ok || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
		resp.Header.Get("Sec-Websocket-Accept") != wsAccept(key) {
		r.errorHandler(rw, req, errBadUpgrade)
		return
	}
	h, hop := rw.Header(), resp.Header["Connection"]
	for name, vv := range resp.Header {
		switch {
		case hopByHop(name, hop), name == "Sec-Websocket-Accept", name == "Content-Length":
		default:
			h[name] = vv
		}
	}
	rw.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(rw)
	if rc.Flush() != nil {
		return
	}
	// Either side ending ends both (a stream's FIN is its end; ReverseProxy's
	// upgrade copier passes a half-close on instead):
	// the client's FIN or reset ends the body, the origin's the reads of
	// back; closing back, then the body (quic-go cancels the read), frees
	// the other copier. The request's context ends with the stream or the
	// QUIC connection (drain, policy, Close). back counts the tunnel's
	// bytes on the rule (endUpgraded), as for an HTTP/1.1 WebSocket, so the
	// client's half is written past the recorder (whose head is sent).
	stop := context.AfterFunc(req.Context(), func() { _ = back.Close() })
	client := rw.ResponseWriter
	done := make(chan struct{})
	var up error // The client's half's end: nil for its FIN; read after done.
	go func() {
		defer close(done)
		buf := buffers.Get()
		defer buffers.Put(buf)
		_, up = io.CopyBuffer(back, req.Body, buf)
		_ = back.Close()
	}()
	var down error // The origin's half's end.
	buf := buffers.Get()
	for {
		var n int
		n, down = back.Read(buf)
		if n > 0 {
			if _, werr := client.Write(buf[:n]); werr != nil {
				down = werr
			} else if ferr := rc.Flush(); ferr != nil {
				down = ferr
			}
		}
		if down != nil {
			break
		}
	}
	buffers.Put(buf)
	stop()
	_ = back.Close()
	_ = req.Body.Close()
	<-done
	// RFC 9220 (3), as RFC 8441 (5): an orderly TCP close is the stream's
	// FIN, a reset a stream error. The stream ends in order when the
	// origin's side did (EOF), or the client's did, back being closed
	// for it; anything else (an origin's reset, a failed write either
	// way, a context ended) resets it. quic-go resets the stream of a
	// handler that aborts, with H3_INTERNAL_ERROR: H3_REQUEST_CANCELLED,
	// the RFC's code, cannot be chosen once the body has begun.
	if down != io.EOF && (up != nil || !errors.Is(down, net.ErrClosed)) {
		panic(http.ErrAbortHandler)
	}
}

// wsAccept is the Sec-WebSocket-Accept answering key (RFC 6455 4.2.2).
func wsAccept(key string) string {
	s := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(s[:])
}

// relayAnswer writes an origin's answer (not an upgrade) to the client,
// the domain's error pages applied, as ReverseProxy would.
func (r *rule) relayAnswer(rw *recorder, resp *http.Response) {
	_ = r.modifyResponse(resp)
	h, hop := rw.Header(), resp.Header["Connection"]
	for name, vv := range resp.Header {
		if !hopByHop(name, hop) {
			h[name] = vv
		}
	}
	rw.WriteHeader(resp.StatusCode)
	buf := buffers.Get()
	_, err := io.CopyBuffer(rw, resp.Body, buf)
	buffers.Put(buf)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
}
