package server_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestAPIUnreadBodyIsCut: the endpoint reads (and bounds) only a POST
// body. A GET, PUT, DELETE, OPTIONS... with a body (at most 256 KB, or
// chunked), the scrape's included, is answered without reading it, and
// net/http would then read that body itself, before sending the answer and
// with no deadline: a client announcing a body and sending none would hold
// the connection for ever and never get its answer. It is answered at once
// and its connection closed.
func TestAPIUnreadBodyIsCut(t *testing.T) {
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		o.APIBodyIdleTimeout, o.APIBodyTimeout = 300*time.Millisecond, 1500*time.Millisecond
	})
	for _, head := range []string{
		"GET /?Action=DescribeProxies HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
	} {
		name := strings.SplitN(head, "\r\n", 2)[0] + " " + strings.Split(head, "\r\n")[2]
		c, err := net.Dial("tcp", api.Addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, head)
		start := time.Now()
		c.SetReadDeadline(start.Add(8 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			c.Close()
			t.Errorf("%q with its body never sent: no answer after %v: %v; want one within the body timeouts (1.5 s)",
				name, time.Since(start).Round(time.Millisecond), err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(name, "GET /metrics") && !strings.Contains(string(b), `"RequestId"`) {
			t.Errorf("%q: HTTP %d %.80s; want the HTTP 200 envelope", name, resp.StatusCode, b)
		}
		// The body was not read: the connection must not be kept.
		_, err = br.ReadByte()
		c.Close()
		if took := time.Since(start); !errors.Is(err, io.EOF) || took > 5*time.Second {
			t.Errorf("%q with its body never sent: connection still open %v after the head (%v); want it closed",
				name, took.Round(time.Millisecond), err)
		}
	}
}

// TestAPICutBodyClosesConnection: a POST whose body stalls is answered
// InvalidRequest with "Connection: close" after BodyIdleTimeout, and the
// server must then close: after the handler, net/http reads what is left of
// the body (up to 256 KB) to look for its end, which must not wait for a
// client that sends nothing, or the connection, its goroutine and its
// request would stay until the client goes away.
func TestAPICutBodyClosesConnection(t *testing.T) {
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		o.APIBodyIdleTimeout, o.APIBodyTimeout = 300*time.Millisecond, 1500*time.Millisecond
	})
	for _, head := range []string{
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n",
	} {
		c, err := net.Dial("tcp", api.Addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, head)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), "InvalidRequest") || !resp.Close {
			t.Fatalf("answer (close %v) %q", resp.Close, b)
		}
		// The answer said "Connection: close": the server must close.
		start := time.Now()
		c.SetReadDeadline(start.Add(5 * time.Second))
		_, err = br.ReadByte()
		c.Close()
		if !errors.Is(err, io.EOF) {
			t.Errorf("stalled body (%s): after answering \"Connection: close\", the server still holds the connection %v later (%v); want it closed",
				strings.Split(head, "\r\n")[3], time.Since(start).Round(time.Millisecond), err)
		}
	}
}
