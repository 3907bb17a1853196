package l7

import (
	"io"
	"net/http"
	"strconv"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// writeError answers status, through the domain's error page for it if
// there is one (also for the edge's own 401, 404, 502 and 504).
func (v *vhost) writeError(w http.ResponseWriter, status int) {
	p := v.pages[status]
	if p == nil {
		http.Error(w, strconv.Itoa(status)+" "+http.StatusText(status), status)
		return
	}
	status, body := applyPage(w.Header(), p, status)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// replacedBodyHeaders are the headers of an origin's answer that describe
// its body, which a page replaces: its framing, and its representation
// metadata and validators (RFC 9110 section 8), including what other
// specifications add about the body (disposition, digests). Kept, they would describe the origin's bytes to clients of
// the page: Content-Disposition has a browser save the page as the
// origin's file, a digest has a checking client refuse it, a validator
// has a cache revalidate the page as the origin's resource. The page's
// Content-Type is set apart. Headers about the answer or the resource
// (Cache-Control, Vary, Accept-Ranges, ...) stay: SetHeaders and
// ClearHeaders adjust those.
var replacedBodyHeaders = []string{
	"Content-Length", "Transfer-Encoding", "Trailer",
	"Content-Encoding", "Content-Language", "Content-Location", "Content-Range", "Content-Disposition",
	"Content-Digest", "Repr-Digest", "Digest", "Content-Md5",
	"Etag", "Last-Modified",
}

// applyPage sets the page's headers (its type, unless SetHeaders says
// otherwise; the page's clears and sets; its length) and returns the
// status and body of the answer that replaces one with status. A
// NewErrorNo of 204 or 304 (the API takes 200-599, and Body is required)
// is sent without the body, which such an answer cannot carry: its write would
// fail, and ReverseProxy aborts an answer whose body copy fails (an
// HTTP/2 stream reset, an HTTP/1 connection closed without an answer).
// So is a 205, which must carry none either (RFC 9110 15.3.6), though its
// writers take one: it goes out with Content-Length 0.
func applyPage(h http.Header, p *snapshot.ErrorPage, status int) (int, string) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	for _, k := range p.ClearHeaders {
		h.Del(k)
	}
	for _, kv := range p.SetHeaders {
		h.Set(kv.Name, kv.Value)
	}
	if h["Content-Type"] == nil {
		// Cleared: the writers would sniff one, unless the key is there
		// with no value. ReverseProxy copies an origin's header value by
		// value, so a marker stands for it until recorder.head.
		h["Content-Type"] = noType
	}
	if p.NewErrorNo != 0 {
		status = p.NewErrorNo
	}
	body := p.Body
	if noContent(status) || status == http.StatusResetContent {
		body = ""
	}
	// ReverseProxy copies an origin's header, not its ContentLength:
	// without it a page over its first write went out chunked, and a
	// HEAD's had no length.
	if !noContent(status) {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	return status, body
}

// noType marks an answer whose page cleared its Content-Type: recorder.head
// turns it into the key without a value, which net/http and quic-go send
// as no Content-Type and do not sniff one for. A NUL is no value an origin
// can send (its answer would be refused), so an origin's own Content-Type,
// an empty one included, is never taken for it.
var noType = []string{"\x00"}
