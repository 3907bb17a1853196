package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestCapListenerKeepsConnectionWithHeadArriving: a keep-alive connection
// whose next request head is arriving still reads StateIdle in net/http
// (Active only once the whole head is in); at the cap, a new connection
// closed it under its client's call. Its first bytes make it busy.
func TestCapListenerKeepsConnectionWithHeadArriving(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := newCapListener(ln, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ConnState: cl.Track, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(cl)
	defer srv.Close()

	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(a)
	io.WriteString(a, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The second request's head starts arriving.
	io.WriteString(a, "POST / HTTP/1.1\r\nHost: x\r\n")
	time.Sleep(100 * time.Millisecond)

	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	io.WriteString(b, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(300 * time.Millisecond)

	io.WriteString(a, "Content-Length: 0\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil {
		t.Errorf("a keep-alive connection whose request head was arriving when another connection came at the cap: %v; "+
			"want its answer (docs: a head still arriving is busy, the new connection waits)", err)
	} else {
		resp.Body.Close()
	}
}
