package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// capServer serves "ok" on a listener capped at n connections.
func capServer(t *testing.T, n int) (string, *capListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := newCapListener(ln, n)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}), ConnState: cl.Track, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 20 * time.Second}
	go func() { _ = srv.Serve(cl) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), cl
}

// waitIdle waits until cl's idle list holds idle connections, stirred of
// them stirred: net/http marks a connection idle after its client may
// have read the answer, and reads the next bytes when it gets to it.
func waitIdle(t *testing.T, cl *capListener, idle, stirred int) {
	t.Helper()
	edgetest.Eventually(t, 5*time.Second, func() bool {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		st := 0
		for e := cl.idle.Front(); e != nil; e = e.Next() {
			if e.Value.(*capConn).stirred.Load() {
				st++
			}
		}
		return cl.idle.Len() == idle && st == stirred
	}, "want %d idle connections, %d of them stirred", idle, stirred)
}

// keptAlive opens a connection to addr and has one call answered on it.
func keptAlive(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return c, br
}

// served reports whether a call on a new connection to addr is answered.
func served(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

// TestCapListenerSparesConnectionWithHeadArriving: a keep-alive connection
// whose next head is arriving still reads StateIdle in net/http (Active
// only once the whole head is in). At the cap, a quiet idle connection
// gives way first, even a younger one: the longest idle was closed under
// its client's call.
func TestCapListenerSparesConnectionWithHeadArriving(t *testing.T) {
	addr, cl := capServer(t, 2)
	a, br := keptAlive(t, addr) // The longest idle...
	keptAlive(t, addr)          // ...and a quiet one.
	_, _ = io.WriteString(a, "POST / HTTP/1.1\r\nHost: x\r\n")
	waitIdle(t, cl, 2, 1) // Read by net/http, which waits for the rest.
	if err := served(addr); err != nil {
		t.Fatalf("a new connection at the cap: %v; want it served", err)
	}
	_, _ = io.WriteString(a, "Content-Length: 0\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil {
		t.Errorf("a keep-alive connection whose head was arriving when a new one came at the cap: %v; want its answer (the quiet one closed)", err)
	} else {
		resp.Body.Close()
	}
}

// TestCapListenerEvictsStirredWhenNoneQuiet: bytes that never become a
// call (a stray CRLF after a POST, RFC 9112 2.2; a byte sent to keep a
// slot) leave net/http waiting until IdleTimeout. When no quiet connection
// is left, such a one gives way: a new connection waited.
func TestCapListenerEvictsStirredWhenNoneQuiet(t *testing.T) {
	addr, cl := capServer(t, 1)
	a, _ := keptAlive(t, addr)
	_, _ = io.WriteString(a, "\r\n")
	waitIdle(t, cl, 1, 1)
	if err := served(addr); err != nil {
		t.Errorf("a new connection at the cap while the only other one idles after a stray CRLF: %v; want it served", err)
	}
}
