package l7

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readAnswers reads n answers to GETs (HEAD for "HEAD" in methods) and
// returns their bodies.
func readAnswers(t *testing.T, br *bufio.Reader, methods ...string) []string {
	t.Helper()
	var bodies []string
	for i, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("answer %d body: %v", i, err)
		}
		bodies = append(bodies, string(b))
	}
	return bodies
}

// TestRawPipelined: requests sent in one write, some split over two, and
// a body between bodyless ones (served outside the raw read, whose
// re-entry must read again rather than wait) are all answered in order.
func TestRawPipelined(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t))
	get := "GET /len HTTP/1.1\r\nHost: a.test\r\n\r\n"
	c := sendRaw(t, s, get+"HEAD /len HTTP/1.1\r\nHost: a.test\r\n\r\n"+get[:9])
	time.Sleep(20 * time.Millisecond) // The head's rest comes after a wait.
	_, _ = io.WriteString(c, get[9:]+"POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\n\r\nbody")
	br := bufio.NewReader(c)
	got := readAnswers(t, br, "GET", "HEAD", "GET", "POST")
	time.Sleep(20 * time.Millisecond) // Parked again, after a body.
	_, _ = io.WriteString(c, get)
	got = append(got, readAnswers(t, br, "GET")...)
	if want := []string{"hello", "", "hello", "body", "hello"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("answers %q; want %q", got, want)
	}
	// A body read to its end at a buffer boundary leaves the next request
	// in the socket, its arrival already reported: the next raw read must
	// happen without waiting for another event.
	body := strings.Repeat("b", 2*fastBufSize)
	_, _ = io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n")
	time.Sleep(20 * time.Millisecond)
	_, _ = io.WriteString(c, body+get)
	if got := readAnswers(t, br, "POST", "GET"); got[0] != body || got[1] != "hello" {
		t.Errorf("answers after a large body: %.10q, %q", got[0], got[1])
	}
}

// TestRawFINWithRequest: a client that half-closes right after its last
// request gets the answer and then the connection's end at once (the FIN
// came with the data: TCP_INQ counts it, so the server reads again rather
// than wait for an event that will not come), not after IdleTimeout.
func TestRawFINWithRequest(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t))
	for _, n := range []int{1, 3} {
		c := sendRaw(t, s, strings.Repeat("GET /len HTTP/1.1\r\nHost: a.test\r\n\r\n", n))
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		all, err := io.ReadAll(c)
		if err != nil || strings.Count(string(all), "hello") != n {
			t.Errorf("%d requests then FIN: read %q, %v; want %d answers and EOF", n, all, err, n)
		}
	}
}

// TestRawParkedShutdown: Shutdown closes a connection parked between
// requests at once, and counts what it read.
func TestRawParkedShutdown(t *testing.T) {
	s := fastServer(t, scriptedOrigin(t))
	req := "GET /len HTTP/1.1\r\nHost: a.test\r\n\r\n"
	c := sendRaw(t, s, req)
	br := bufio.NewReader(c)
	readAnswers(t, br, "GET")
	if in := s.h.Load().Stats.BytesIn.Load(); in != int64(len(req)) {
		t.Errorf("BytesIn %d; want %d", in, len(req))
	}
	start := time.Now()
	<-s.Shutdown(5 * time.Second)
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("parked connection after Shutdown: %v; want EOF", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown took %v with a parked connection", d)
	}
}
