package l7

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// slowBody yields one byte every step, n times: a steady upload.
type slowBody struct {
	n    int
	step time.Duration
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, io.EOF
	}
	time.Sleep(b.step)
	b.n--
	p[0] = 'x'
	return 1, nil
}

// TestTransportUploadOutlastsReadTimeout: http.Transport waits for the
// answer from the moment the connection is dialled, while the request is
// still being sent; an upload that lasts longer than the read timeout, to
// an origin that reads it steadily and then answers, must get through.
func TestTransportUploadOutlastsReadTimeout(t *testing.T) {
	const readTimeout = time.Second // Coarse: fires 1 to 2 s after the last move.
	addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	tr, err := newTransport(transportKey{}, readTimeout, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", &slowBody{n: 14, step: 250 * time.Millisecond})
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("3.5 s steady upload with a %v read timeout: %v", readTimeout, err)
	}
	resp.Body.Close()
}

// TestClientWriteDeadlines: a client write waits at most sendTimeout, but
// a deadline a caller sets (crypto/tls bounds its close_notify so) is
// kept until the caller clears it.
func TestClientWriteDeadlines(t *testing.T) {
	a, b := net.Pipe() // Nothing reads b: every write to a blocks.
	defer a.Close()
	defer b.Close()
	cc := &conn{Conn: a, sendTimeout: time.Second, listener: &statsCounters{}}
	took := func() time.Duration {
		start := time.Now()
		if _, err := cc.Write([]byte("x")); err == nil {
			t.Fatal("a write nobody reads went through")
		}
		return time.Since(start)
	}
	if d := took(); d < time.Second/2 || d > 3*time.Second {
		t.Errorf("write with sendTimeout 1 s: gave up after %v", d)
	}
	_ = cc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	if d := took(); d > 600*time.Millisecond {
		t.Errorf("write with a caller's 100 ms deadline: gave up after %v", d)
	}
	_ = cc.SetWriteDeadline(time.Time{}) // Back to sendTimeout.
	if d := took(); d < time.Second/2 || d > 3*time.Second {
		t.Errorf("write after the caller cleared its deadline: gave up after %v", d)
	}
}

// TestTransportHeadWait: through http.Transport (bodies, HTTPS origins)
// the wait for an answer's head is ResponseHeaderTimeout, as on the
// direct path, not the shorter body read timeout.
func TestTransportHeadWait(t *testing.T) {
	const readTimeout = time.Second
	addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		time.Sleep(3 * time.Second) // Well within ResponseHeaderTimeout.
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	tr, err := newTransport(transportKey{}, readTimeout, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader("x"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("head after 3 s (body read timeout %v): %v", readTimeout, err)
	}
	resp.Body.Close()
}

// fakeBackend is a balance.Backend with a fixed health.
type fakeBackend struct{ healthy bool }

func (b *fakeBackend) Healthy() bool               { return b.healthy }
func (b *fakeBackend) Active() int64               { return 0 }
func (b *fakeBackend) RTT(time.Time) time.Duration { return 0 }
func (b *fakeBackend) Suspect() bool               { return false }
func (b *fakeBackend) Picked(time.Time)            {}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestRetryKeepsDialError: when the healthy origin's connect times out and
// the others are marked down (so not retried), the client gets that
// timeout (504), not "rule has no origin" (502).
func TestRetryKeepsDialError(t *testing.T) {
	a := &balance.Target{ID: "a", Backend: &fakeBackend{healthy: true}}
	b := &balance.Target{ID: "b", Backend: &fakeBackend{healthy: false}}
	pool := health.NewPool(health.Options{})
	defer pool.Close()
	ob := pool.Acquire(health.Key{Proto: snapshot.ProtoHTTP, Host: "127.0.0.1", Port: 1}) // Addresses only.
	r := &rule{picker: balance.New(snapshot.SchedRR, []*balance.Target{a, b}, false, nil, 0),
		origins: map[string]*origin{"a": {id: "a", backend: ob}, "b": {id: "b", backend: ob}}}
	req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
	var tries []string
	_, err := tryOrigins(r, req, func(o *origin, _ netip.AddrPort) (int, error) {
		tries = append(tries, o.id)
		return 0, &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}
	})
	if !isTimeout(err) || len(tries) != 1 {
		t.Errorf("tried %v, got %v; want a alone and its connect timeout", tries, err)
	}
}

// deadlineConn records the read deadlines set on it.
type deadlineConn struct {
	net.Conn
	mu sync.Mutex
	rd time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rd = t
	c.mu.Unlock()
	return nil
}
func (c *deadlineConn) Write(p []byte) (int, error) { return len(p), nil }

// TestTransportHeadDeadlineOutlastsTransport: once a request is written,
// the origin connection's read deadline comes after the Transport's own
// ResponseHeaderTimeout. Were it to come first, the failed read of a
// pooled connection would have the Transport send an idempotent request
// again, and a client of an origin that never answers would wait twice
// ResponseHeaderTimeout for its 504.
func TestTransportHeadDeadlineOutlastsTransport(t *testing.T) {
	dc := &deadlineConn{}
	c := &readTimeoutConn{Conn: dc, timeout: time.Second}
	for range 3 { // The deadline moves once a second at most: probe both sides of a tick.
		start := time.Now()
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if min := start.Add(ResponseHeaderTimeout + time.Second); dc.rd.Before(min) {
			t.Fatalf("read deadline %v after the write; want at least %v", dc.rd.Sub(start), ResponseHeaderTimeout+time.Second)
		}
		time.Sleep(400 * time.Millisecond)
	}
}

// TestHeadWaitSurvivesReadRace: the Transport's read for the answer
// starts as the request is written, from another goroutine; whichever
// moves the read deadline last, once the request is written the wait is
// the head's, not the body read timeout (TestTransportHeadWait failed so
// in CI, once).
func TestHeadWaitSurvivesReadRace(t *testing.T) {
	for range 20000 {
		dc := &deadlineConn{}
		c := &readTimeoutConn{Conn: dc, timeout: time.Second}
		var wg sync.WaitGroup
		wg.Go(c.extend) // Read's.
		wg.Go(func() {  // Write's.
			c.asked.Store(true)
			c.extend()
		})
		wg.Wait()
		if left := time.Until(dc.rd); left < ResponseHeaderTimeout {
			t.Fatalf("request written: reads wait %v", left)
		}
	}
}
