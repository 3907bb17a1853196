package cloudapi

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
)

// Defaults of the limits on reading request bodies (Endpoint.BodyIdleTimeout,
// BodyTimeout and BodyBudget). A 10 MB body at 2 Mbit/s takes 40 s.
const (
	DefaultBodyIdleTimeout = 20 * time.Second
	DefaultBodyTimeout     = 60 * time.Second
	DefaultBodyBudget      = 128 << 20
)

// bodyBudget counts the bytes of requests held at once: their heads from
// the handler's start, their bodies from the first byte read, until the
// answer is written. Both are read before any authentication (the
// signature covers them), so without it anyone who can reach the port
// could make the server buffer 10 MB per connection, or 64 KiB per HTTP/2
// stream.
type bodyBudget struct {
	mu   sync.Mutex
	used int64
}

func (b *bodyBudget) take(n, max int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > max {
		return false
	}
	b.used += n
	return true
}

func (b *bodyBudget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

func orDefault[T int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// readBody reads at most limit bytes; a longer body is refused whole. The
// buffer grows only as bytes arrive and is charged to the budget (held
// says how much, for the caller to give back once answered); a body that
// sends nothing for BodyIdleTimeout, or is not complete after BodyTimeout,
// is cut.
func (e *Endpoint) readBody(w http.ResponseWriter, r *http.Request, limit int64, held *int64) ([]byte, error) {
	body, err := e.readBodyUpTo(w, r, limit, held)
	if err != nil {
		// What is left of the body is not read. After readBodyUpTo, which
		// clears the deadline it renewed.
		DropBody(w, r)
	}
	return body, err
}

// DropBody is for a handler that answers without reading (what is left
// of) r's body: on HTTP/1 the connection is closed after the answer, and
// net/http's own reading of the body (up to 256 KB before the answer, to
// keep the connection, or after the handler, to find its end) gives up
// after dropGrace instead of waiting, with no deadline, for a client that
// may never send it. Not at once: net/http drains what the client is still
// sending for a moment before it closes, and a connection closed with
// unread bytes is reset, which a client still writing its body sees before
// the answer (an SDK would report "connection reset" instead of the error
// telling it to retry). Not on HTTP/2, where the server resets only this stream when
// the handler returns, while "Connection: close" would send a GOAWAY to
// every call multiplexed on the connection.
func DropBody(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 1 {
		return
	}
	w.Header().Set("Connection", "close")
	// Not supported (a test's recorder): nothing to bound.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(dropGrace))
}

// dropGrace is how long DropBody lets net/http drain a body it will not
// use: net/http's own wait for a closing client (closeWriteAndWait).
const dropGrace = 500 * time.Millisecond

func (e *Endpoint) readBodyUpTo(w http.ResponseWriter, r *http.Request, limit int64, held *int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	idle := orDefault(e.BodyIdleTimeout, DefaultBodyIdleTimeout)
	rc := http.NewResponseController(w)
	end := time.Now().Add(orDefault(e.BodyTimeout, DefaultBodyTimeout))
	// Not supported (a test's recorder): nothing to bound.
	defer rc.SetReadDeadline(time.Time{})
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength == 0 {
		return nil, nil
	}
	// The buffer doubles from 64 KB, up to the announced length (and one
	// byte more, to see the end) when there is one: a client is charged
	// for what it sent, not for what it announced.
	most := limit + 1
	if r.ContentLength > 0 {
		most = min(most, r.ContentLength+1)
	}
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			grow := min(max(int64(cap(buf)), 64<<10), most-int64(cap(buf)))
			if grow <= 0 { // Longer than announced: net/http refuses it.
				grow = 1
			}
			if err := e.charge(grow, held); err != nil {
				return nil, err
			}
			next := make([]byte, len(buf), int64(cap(buf))+grow)
			copy(next, buf)
			buf = next
		}
		deadline := time.Now().Add(idle)
		if deadline.After(end) {
			deadline = end
		}
		rc.SetReadDeadline(deadline)
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			return nil, tooLarge(limit)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, apierr.New(apierr.InvalidRequest, "the request body did not arrive in time")
		}
		if err != nil {
			return nil, apierr.New(apierr.InvalidRequest, "the request body could not be read")
		}
	}
}

// charge takes n bytes from the budget, adding them to held (for the
// caller to give back once answered), or answers ServiceUnavailable.
func (e *Endpoint) charge(n int64, held *int64) error {
	if !e.bodies.take(n, orDefault(e.BodyBudget, DefaultBodyBudget)) {
		return apierr.New(apierr.ServiceUnavailable, "the server is reading too many requests at once; retry later")
	}
	*held += n
	return nil
}

// headSize is about what r's head takes in memory.
func headSize(r *http.Request) int64 {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return int64(n)
}

func tooLarge(limit int64) error {
	return apierr.New(apierr.RequestSizeLimitExceeded, "the request body exceeds %d bytes", limit)
}
