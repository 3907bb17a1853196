package l7

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
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
	tr, err := newTransport(transportKey{}, readTimeout)
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
