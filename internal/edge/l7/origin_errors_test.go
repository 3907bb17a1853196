package l7

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestClientUploadAbortLeavesOriginAlone: a client that goes away in the
// middle of its upload (a FIN, a reset, a chunked body cut short) says
// nothing about the origin. The Transport hands back the failed read of
// the client's body as its own error, which rule.failed took for an
// origin that dropped the request: the healthy origin turned suspect.
func TestClientUploadAbortLeavesOriginAlone(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		reset      bool
	}{
		{"content-length FIN", "POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 100000\r\n\r\n", false},
		{"content-length RST", "POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 100000\r\n\r\n", true},
		{"chunked FIN", "POST /echo HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := scriptedOrigin(t)
			s := editedServer(t, origin, func(*snapshot.HTTPListener) {})
			b := s.h.Load().rules[0].origins["o"].backend
			c := sendRaw(t, s, tc.head+strings.Repeat("x", 1000))
			time.Sleep(200 * time.Millisecond) // The edge has sent the head and what it has of the body.
			if tc.reset {
				_ = c.(*net.TCPConn).SetLinger(0)
			}
			_ = c.Close()
			deadline := time.Now().Add(1500 * time.Millisecond)
			for time.Now().Before(deadline) {
				if b.Suspect() {
					t.Fatalf("the client cut its upload (%s) and the healthy origin is now suspect: "+
						"a client-side body read error was taken for the origin's failure", tc.name)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestTLSHandshakeTimeoutIs504: an HTTPS origin whose port accepts and
// never answers the handshake is a timeout while connecting: a 504, as a
// dial timeout is. Wrapped as a failed connect, the handshake's timeout
// read as no timeout, a 502.
func TestTLSHandshakeTimeoutIs504(t *testing.T) {
	stall := edgetest.StartTCP(t, netip.MustParseAddrPort("127.0.0.1:0"), func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c) // Takes the ClientHello, never answers.
	}).Addr
	s := editedServer(t, stall, func(l *snapshot.HTTPListener) { l.ForwardProtocol = snapshot.ProtoHTTPS })
	s.h.Load().rules[0].transport.TLSHandshakeTimeout = 300 * time.Millisecond // DialTimeout, shortened.
	c := sendRaw(t, s, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("origin TLS handshake timed out: %d; want 504, as a dial timeout (and as before the handshakeFailed wrapping)", resp.StatusCode)
	}
}

// TestForeignHandshakeErrorNotPinned: the Transport may go on dialling
// for a request in the background while it sends the request on a
// connection another request freed. A failed handshake of that dial was
// taken for this request's (which had gone out and failed otherwise): a
// request the origin had received counted as never sent, and a bodiless
// POST could be sent again to another origin.
func TestForeignHandshakeErrorNotPinned(t *testing.T) {
	st := selfSigned(t)
	pair, _ := tls.X509KeyPair([]byte(st.CertPEM), []byte(st.KeyPEM))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var (
		releaseB = make(chan struct{})
		gotB     = make(chan struct{})
		gotA     = make(chan struct{})
		dialed2  = make(chan struct{})
		hsFailed = make(chan struct{})
		conns    = make(chan net.Conn, 4)
		accepted atomic.Int32
	)
	t.Cleanup(func() {
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			switch accepted.Add(1) {
			case 1: // B's connection, then A's.
				go func() {
					tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{pair}})
					br := bufio.NewReader(tc)
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					close(gotB)
					<-releaseB
					io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					if _, err := http.ReadRequest(br); err != nil { // A, on the reused connection.
						return
					}
					close(gotA)
					<-hsFailed
					time.Sleep(200 * time.Millisecond) // A's trace has seen the foreign handshake fail.
					_ = c.(*net.TCPConn).SetLinger(0)
					c.Close() // The origin took A and reset: A was sent.
				}()
			case 2: // The dial made for A, which A no longer waits for.
				go func() {
					close(dialed2)
					<-gotA
					io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n") // No TLS: the handshake fails.
					c.Close()
					close(hsFailed)
				}()
			default:
				c.Close()
			}
		}
	}()
	tr, err := newTransport(transportKey{}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	url := "https://" + ln.Addr().String() + "/"
	go func() {
		req, _ := http.NewRequest(http.MethodGet, url+"b", nil)
		resp, _, _, err := roundTrip(tr, req, false)
		if err == nil {
			io.ReadAll(resp.Body) // Frees the connection, which goes to A.
			resp.Body.Close()
		}
	}()
	select {
	case <-gotB:
	case <-time.After(3 * time.Second):
		t.Fatal("origin never got B")
	}
	go func() {
		select {
		case <-dialed2:
			close(releaseB)
		case <-time.After(3 * time.Second):
		}
	}()
	req, _ := http.NewRequest(http.MethodPost, url+"a", http.NoBody)
	_, _, _, err = roundTrip(tr, req, false)
	select {
	case <-gotA:
	default:
		t.Fatalf("setup: A did not go out on B's connection (err %v)", err)
	}
	if err == nil {
		t.Fatal("setup: A got an answer")
	}
	if isDialError(err) {
		t.Errorf("A was written to the origin (which then reset it), yet roundTrip says %v: a failed connect, "+
			"from a handshake the Transport did in the background for a connection A never used; "+
			"tryOrigins would send this POST again to another origin", err)
	}
}

// TestUploadToDeafOriginIs504: an origin that takes a POST's head, then
// neither reads its body nor answers (a hung application), while the
// client uploads more than the socket buffers hold. The Transport's
// ResponseHeaderTimeout never starts (the request is never written in
// full); the read deadline of readTimeoutConn ends the wait, and the
// Transport reports the write it cut short ("use of closed network
// connection"): a 502, the origin not made suspect. It is an origin
// timeout, as for the same origin given a small body
// (TestSilentOriginSuspect) and as nginx's proxy_send_timeout: a 504, the
// origin suspect, counted as a 5xx and not as a failed connect, and the
// origin connection closed.
func TestUploadToDeafOriginIs504(t *testing.T) {
	old := responseHeaderTimeout
	responseHeaderTimeout = time.Second
	t.Cleanup(func() { responseHeaderTimeout = old })
	look := make(chan struct{})
	drained := make(chan error, 1)
	deaf := edgetest.StartTCP(t, netip.MustParseAddrPort("127.0.0.1:0"), func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		select { // Read nothing, answer nothing, until the test looks.
		case <-look:
		case <-time.After(15 * time.Second):
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err := io.Copy(io.Discard, br)
		drained <- err
	}).Addr
	s := envServer(t, deaf, func(e *Env) { e.Transports = NewTransports(time.Second) }, func(*snapshot.HTTPListener) {})
	b := s.h.Load().rules[0].origins["o"].backend
	start := time.Now()
	c := sendRaw(t, s, "POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1073741824\r\n\r\n")
	_ = c.SetDeadline(time.Time{})
	go func() { // Until the edge stops reading, then until the test closes c.
		chunk := []byte(strings.Repeat("x", 64<<10))
		for {
			_ = c.SetWriteDeadline(time.Now().Add(15 * time.Second))
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(12 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	took := time.Since(start)
	close(look)
	if err != nil {
		t.Fatalf("no answer after %v: %v; want a 504 within a few seconds", took, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || took > 6*time.Second {
		t.Errorf("got %d after %v; want 504 within a few seconds: the origin neither read the upload nor answered", resp.StatusCode, took)
	}
	if !b.Suspect() {
		t.Errorf("an origin that hung on an upload is not suspect; one that hangs on a small body is")
	}
	st := s.h.Load().Stats
	for wait := time.Now().Add(2 * time.Second); st.Status[5].Load() == 0 && time.Now().Before(wait); { // Counted as the handler returns.
		time.Sleep(10 * time.Millisecond)
	}
	if st.Status[5].Load() != 1 || st.DialFails.Load() != 0 {
		t.Errorf("counted 5xx %d, failed connects %d; want 1 and 0, as for other origin timeouts", st.Status[5].Load(), st.DialFails.Load())
	}
	select {
	case err := <-drained:
		if err != nil && !strings.Contains(err.Error(), "reset") {
			t.Errorf("origin connection after the answer: %v; want it closed", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("origin connection still open after the answer")
	}
}

func truncatingOrigin(t *testing.T, answer string, rst bool) netip.AddrPort {
	t.Helper()
	return netip.MustParseAddrPort(rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		_, _ = io.WriteString(c, answer)
		time.Sleep(100 * time.Millisecond)
		if rst {
			_ = c.(*net.TCPConn).SetLinger(0)
		}
	}))
}

// TestAbortedAnswerResetsConnection guards the close of a connection
// whose answer was aborted (an origin's body cut short): an HTTP/1.0
// client gets every answer without a Content-Length close-delimited, so a
// FIN, or TLS's close_notify, would end the cut answer as if it were whole
// (RFC 9112 6.3). The connection is reset instead, as conn.cut resets
// (TestHTTPCutResetsCloseDelimited): on the direct path (GET) and through
// the Transport (POST), plain and over TLS.
func TestAbortedAnswerResetsConnection(t *testing.T) {
	chunkedCut := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"800\r\n" + strings.Repeat("a", 0x800) + "\r\n800\r\n" + strings.Repeat("b", 0x800) + "\r\n"
	for _, tc := range []struct {
		name, answer string
		rst, tls     bool
	}{
		{"chunked without last chunk, FIN", chunkedCut, false, false},
		{"close-delimited, RST", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + strings.Repeat("a", 5000), true, false},
		{"chunked without last chunk, FIN, TLS", chunkedCut, false, true},
	} {
		for _, req := range []string{"GET / HTTP/1.0\r\nHost: a.test\r\n\r\n",
			"POST / HTTP/1.0\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhi"} {
			t.Run(tc.name+", "+strings.Fields(req)[0], func(t *testing.T) {
				var c net.Conn
				if tc.tls {
					s := fastServer(t, truncatingOrigin(t, tc.answer, tc.rst), true)
					tlsc, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"})
					if err != nil {
						t.Fatal(err)
					}
					defer tlsc.Close()
					_ = tlsc.SetDeadline(time.Now().Add(5 * time.Second))
					_, _ = io.WriteString(tlsc, req)
					c = tlsc
				} else {
					c = sendRaw(t, fastServer(t, truncatingOrigin(t, tc.answer, tc.rst)), req)
				}
				b, err := io.ReadAll(c)
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("HTTP/1.0 client of a truncated answer: read %d bytes (%q...), then %v; want the connection reset",
						len(b), b[:min(len(b), 40)], err)
				}
			})
		}
	}
}

// TestAbortedAnswerCountedByWhatReachedClient guards how an answer
// aborted midway (the origin's body cut short) is counted: under the
// status the client got, as nginx logs it, but as no answer (Status[0])
// when none of it reached the client, its head still buffered.
func TestAbortedAnswerCountedByWhatReachedClient(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		class        int
	}{
		{"head buffered", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", 0},
		{"part sent", "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + strings.Repeat("a", 5000), 2},
	} {
		for _, req := range []string{"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
			"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhi"} {
			s := fastServer(t, truncatingOrigin(t, tc.answer, false))
			b, _ := io.ReadAll(sendRaw(t, s, req))
			rc := s.h.Load().rules[0].stats
			edgetest.Eventually(t, 2*time.Second, func() bool { return rc.Requests.Load() == 1 }, "request never counted")
			if n := rc.Status[tc.class].Load(); n != 1 {
				t.Errorf("%s, %s: client got %d bytes; status class %d counted %d times; want once",
					tc.name, strings.Fields(req)[0], len(b), tc.class, n)
			}
		}
	}
}
