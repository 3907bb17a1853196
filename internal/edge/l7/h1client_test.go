package l7

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rawOrigin serves each connection with answer, which reads requests from
// br and writes raw bytes to c. It returns the address.
func rawOrigin(t *testing.T, answer func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveRaw(t, ln, answer)
	return ln.Addr().String()
}

// serveRaw serves each connection of ln with answer, as rawOrigin does,
// until the test ends.
func serveRaw(t *testing.T, ln net.Listener, answer func(c net.Conn, br *bufio.Reader)) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				answer(c, bufio.NewReader(c))
			}()
		}
	}()
}

// countingOrigin is a rawOrigin that counts its connections in conns and
// calls answer for each request until it returns false or the client
// stops sending.
func countingOrigin(t *testing.T, conns *atomic.Int32, answer func(c net.Conn, req *http.Request, n int) bool) string {
	return rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
		conns.Add(1)
		for n := 1; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil || !answer(c, req, n) {
				return
			}
		}
	})
}

func h1Get(t *testing.T, cl *h1Client, addr, method string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+"/p", nil)
	if !cl.eligible(req) {
		t.Fatalf("%s request not eligible", method)
	}
	resp, _, err := cl.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	resp.Body.Close()
	return resp, string(b)
}

func newTestH1(t *testing.T) *h1Client {
	cl := newH1Client(originDialer(), OriginReadTimeout)
	t.Cleanup(cl.close)
	return cl
}

func idleCount(cl *h1Client, addr string) int {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if p := cl.idle[addr]; p != nil {
		return len(p.conns)
	}
	return 0
}

func TestH1ClientFraming(t *testing.T) {
	for _, tc := range []struct {
		name, method, raw, wantBody string
		wantIdle                    int
		wantTrailer                 string
	}{
		{"content-length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", "abc", 1, ""},
		{"chunked with trailer", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n" +
			"2\r\nab\r\n1\r\nc\r\n0\r\nX-T: done\r\n\r\n", "abc", 1, "done"},
		{"no length: read to close", "GET", "HTTP/1.1 200 OK\r\n\r\nabc", "abc", 0, ""},
		{"origin closes", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc", "abc", 0, ""},
		{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", "", 1, ""},
		{"HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "", 1, ""},
		{"1xx then final", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", "abc", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err == nil {
					io.WriteString(c, tc.raw)
				}
				if tc.wantIdle == 1 { // Keep the connection open for reuse.
					_, _ = br.ReadByte()
				}
			})
			cl := newTestH1(t)
			resp, body := h1Get(t, cl, addr, tc.method)
			if body != tc.wantBody {
				t.Errorf("body: got %q; want %q", body, tc.wantBody)
			}
			if got := resp.Trailer.Get("X-T"); got != tc.wantTrailer {
				t.Errorf("trailer: got %q; want %q", got, tc.wantTrailer)
			}
			if got := idleCount(cl, addr); got != tc.wantIdle {
				t.Errorf("idle connections: got %d; want %d", got, tc.wantIdle)
			}
		})
	}
}

func TestH1ClientForwards1xx(t *testing.T) {
	addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})
	var got []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		got = append(got, code)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://"+addr+"/", nil)
	resp, _, err := newTestH1(t).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(got) != 1 || got[0] != 103 {
		t.Errorf("got status %d and 1xx %v; want 200 and [103]", resp.StatusCode, got)
	}
}

// A keep-alive connection is reused; one the origin closed while idle is
// replaced transparently (the request has no body: it can be replayed).
func TestH1ClientReuseAndStale(t *testing.T) {
	for _, tc := range []struct {
		name      string
		perConn   int // Requests answered before the origin hangs up; 0 = all.
		wantConns int32
	}{
		{"reuse", 0, 1},
		{"stale", 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int32
			addr := countingOrigin(t, &conns, func(c net.Conn, _ *http.Request, n int) bool {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				return n != tc.perConn // Hangs up without "Connection: close": the client finds out on reuse.
			})
			cl := newTestH1(t)
			for range 3 {
				if _, body := h1Get(t, cl, addr, "GET"); body != "ok" {
					t.Fatalf("body: got %q; want ok", body)
				}
				time.Sleep(20 * time.Millisecond) // Let the origin's close arrive.
			}
			if got := conns.Load(); got != tc.wantConns {
				t.Errorf("origin connections: got %d; want %d", got, tc.wantConns)
			}
		})
	}
}

// A client connection's context (withConnWatch) watches one exchange at
// a time: its end aborts the exchange in flight at once, but never closes
// a connection an earlier exchange gave back to the pool.
func TestH1ClientConnWatch(t *testing.T) {
	var conns atomic.Int32
	addr := countingOrigin(t, &conns, func(c net.Conn, req *http.Request, _ int) bool {
		if req.URL.Path == "/slow" {
			time.Sleep(2 * time.Second)
			return false
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	cl := newTestH1(t)
	get := func(ctx context.Context, path string) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
		resp, _, err := cl.RoundTrip(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return err
	}
	ctx, cancel := withConnWatch(context.Background())
	for range 2 {
		if err := get(ctx, "/"); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := get(context.Background(), "/"); err != nil || conns.Load() != 1 || idleCount(cl, addr) != 1 {
		t.Fatalf("after the client's end: %v, %d origin connections, %d idle; want the pooled one reused",
			err, conns.Load(), idleCount(cl, addr))
	}

	ctx, cancel = withConnWatch(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if err := get(ctx, "/slow"); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("client gone mid-exchange: got %v after %v; want context.Canceled at once", err, time.Since(start))
	}
	if err := get(ctx, "/"); !errors.Is(err, context.Canceled) {
		t.Errorf("exchange after the client's end: got %v; want context.Canceled", err)
	}
}

// TestH1ClientNoDialForGoneClient: a request whose client is already
// gone (an HTTP/2 stream the client reset before its handler ran) is
// neither dialled nor written: thousands of reset streams each cost an
// origin a connection, opened and closed at once (CVE-2023-44487). The
// pooled connection is left to the next request.
func TestH1ClientNoDialForGoneClient(t *testing.T) {
	var conns atomic.Int32
	addr := countingOrigin(t, &conns, func(c net.Conn, _ *http.Request, _ int) bool {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	cl := newTestH1(t)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, pooled := range []int{0, 1} {
		if pooled == 1 {
			h1Get(t, cl, addr, "GET")
		}
		req, _ := http.NewRequestWithContext(gone, "GET", "http://"+addr+"/", nil)
		if _, _, err := cl.RoundTrip(req); !errors.Is(err, context.Canceled) || conns.Load() != int32(pooled) ||
			idleCount(cl, addr) != pooled {
			t.Errorf("%d pooled: got %v, %d origin connections, %d idle; want context.Canceled, %d, %d",
				pooled, err, conns.Load(), idleCount(cl, addr), pooled, pooled)
		}
	}
}

// An origin that half-closes an idle keep-alive connection and goes on
// reading (a lingering close) answers nothing more on it: the request is
// sent on a new connection at once, not after ResponseHeaderTimeout,
// however soon after the last answer it comes. The FIN came before the
// exchange's RawConn.Read, which forgets it: the peek before the request
// finds it.
func TestH1ClientHalfClosedOrigin(t *testing.T) {
	for _, idle := range []time.Duration{0, 20 * time.Millisecond, 200 * time.Millisecond} {
		var conns atomic.Int32
		addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
			if conns.Add(1) > 1 {
				for {
					if _, err := http.ReadRequest(br); err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}
			http.ReadRequest(br)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			c.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, br) // Lingers: reads what comes.
		})
		cl := newTestH1(t)
		h1Get(t, cl, addr, "GET")
		time.Sleep(idle)
		start := time.Now()
		if _, body := h1Get(t, cl, addr, "GET"); body != "ok" || time.Since(start) > time.Second {
			t.Errorf("idle %v: got %q after %v; want ok at once", idle, body, time.Since(start))
		}
	}
}

func TestH1ClientErrors(t *testing.T) {
	t.Run("dial", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		_, _, err := newTestH1(t).RoundTrip(req)
		if !isDialError(err) {
			t.Errorf("got %v; want a dial error (retried on other origins)", err)
		}
	})
	t.Run("client gone", func(t *testing.T) {
		addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) { http.ReadRequest(br); time.Sleep(2 * time.Second) })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/", nil)
		start := time.Now()
		_, _, err := newTestH1(t).RoundTrip(req)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
			t.Errorf("got %v after %v; want the context's error at once", err, time.Since(start))
		}
	})
	t.Run("truncated body", func(t *testing.T) {
		addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
			http.ReadRequest(br)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
		})
		cl := newTestH1(t)
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		resp, _, err := cl.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Error("got no error for a truncated body")
		}
		if n := idleCount(cl, addr); n != 0 {
			t.Errorf("idle connections: got %d; want 0", n)
		}
	})
	t.Run("endless 1xx", func(t *testing.T) {
		addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
			http.ReadRequest(br)
			io.WriteString(c, strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", max1xx+1)+"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		})
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		if _, _, err := newTestH1(t).RoundTrip(req); err == nil {
			t.Errorf("%d 1xx answers before the final one: got no error", max1xx+1)
		}
	})
}

func TestH1ClientEligible(t *testing.T) {
	cl := &h1Client{}
	for _, tc := range []struct {
		name   string
		mod    func(*http.Request)
		method string
		want   bool
	}{
		{"plain GET", func(*http.Request) {}, "GET", true},
		{"https origin", func(r *http.Request) { r.URL.Scheme = "https" }, "GET", false},
		{"body", func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader("x")) }, "POST", false},
		{"upgrade", func(r *http.Request) { r.Header.Set("Upgrade", "websocket") }, "GET", false},
		{"expect", func(r *http.Request) { r.Header.Set("Expect", "100-continue") }, "GET", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://o/", nil)
			tc.mod(req)
			if got := cl.eligible(req); got != tc.want {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}
}

// TestH1ClientNoReuseWithLeftover: bytes beyond an answer's framing keep
// its connection out of the pool.
func TestH1ClientNoReuseWithLeftover(t *testing.T) {
	addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\njunk")
		}
	})
	cl := newTestH1(t)
	h1Get(t, cl, addr, "GET")
	if n := idleCount(cl, addr); n != 0 {
		t.Errorf("idle connections after an answer followed by junk: %d; want 0", n)
	}
}

// TestH1ClientNoReplayOfNonIdempotent: a bodyless POST is never sent
// twice. An idle connection the origin has closed is not tried for it (the
// liveness check), so it goes out once on a new connection and succeeds;
// an origin that takes it on a live pooled connection and hangs up without
// answering gets it once, and the client an error rather than a replay.
func TestH1ClientNoReplayOfNonIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		closeIdle bool // The origin closes its first connection after one answer.
		dropPOST  bool // The origin takes a POST and hangs up.
		wantErr   bool
		wantConns int32
	}{
		{"idle connection closed", true, false, false, 2},
		{"dropped after taking it", false, true, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var posts, conns atomic.Int32
			closed := make(chan struct{}) // The first connection closed (closeIdle).
			addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
				n := conns.Add(1)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if req.Method == http.MethodPost {
						if posts.Add(1); tc.dropPOST {
							return
						}
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					if tc.closeIdle && n == 1 {
						closeOnceFINAcked(t, c) // The FIN is in the client's socket, not just sent.
						close(closed)
						return
					}
				}
			})
			cl := newTestH1(t)
			h1Get(t, cl, addr, "GET")
			if tc.closeIdle {
				select {
				case <-closed:
				case <-time.After(5 * time.Second):
					t.Fatal("the origin never closed its first connection")
				}
			}
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/p", nil)
			resp, _, err := cl.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("POST: error %v; want error: %v", err, tc.wantErr)
			}
			if got := posts.Load(); got != 1 {
				t.Errorf("origin got the POST %d times; want once", got)
			}
			if got := conns.Load(); got != tc.wantConns {
				t.Errorf("origin connections: %d; want %d", got, tc.wantConns)
			}
		})
	}
}

// TestH1ClientUnsolicitedBytes: bytes an origin sends on an idle
// connection after an answer (a HEAD answer's late "body", a 408 before
// its idle close) are never read as the next request's answer: the
// connection is found out before the request is sent on it, and replaced.
func TestH1ClientUnsolicitedBytes(t *testing.T) {
	for _, tc := range []struct{ name, first, late string }{
		{"late HEAD body", http.MethodHead, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"},
		{"idle 408", http.MethodGet, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int32
			spoiled := make(chan struct{}, 4)
			addr := countingOrigin(t, &conns, func(c net.Conn, req *http.Request, _ int) bool {
				if req.Method == http.MethodHead {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
				} else {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal")
				}
				time.Sleep(20 * time.Millisecond) // The client has pooled the connection.
				io.WriteString(c, tc.late)
				waitAcked(t, c) // In the edge's socket, not just sent.
				spoiled <- struct{}{}
				return true
			})
			cl := newTestH1(t)
			h1Get(t, cl, addr, tc.first)
			<-spoiled
			if resp, body := h1Get(t, cl, addr, http.MethodGet); resp.StatusCode != 200 || body != "real" {
				t.Errorf("GET after %s: got %d %q; want 200 real", tc.first, resp.StatusCode, body)
			}
			if n := conns.Load(); n != 2 {
				t.Errorf("%d origin connections; want 2 (the spoiled one replaced)", n)
			}
		})
	}
}

// TestOriginHeadBounded: an origin answer's head is read up to
// MaxOriginHeaderBytes on both origin pools (the direct exchange's
// h1Client read any size before, http.Transport up to 10 MB): a larger
// one is a 502, the origin connection closed; one within it is relayed.
func TestOriginHeadBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		want int
	}{
		{"12MiB", 12 << 20, http.StatusBadGateway},
		{"40KiB", 40 << 10, http.StatusOK},
	} {
		addr := rawOrigin(t, func(c net.Conn, br *bufio.Reader) {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("a", tc.size)+"\r\nContent-Length: 2\r\n\r\nok")
		})
		for _, path := range []struct{ name, head string }{
			{"direct", "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"},
			{"transport", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhi"},
		} {
			t.Run(tc.name+"/"+path.name, func(t *testing.T) {
				s := fastServer(t, netip.MustParseAddrPort(addr))
				c := sendRaw(t, s, path.head)
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReaderSize(c, 64<<10), nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.want {
					t.Fatalf("%d-byte origin header: client got %d with a %d-byte X-Big; want %d",
						tc.size, resp.StatusCode, len(resp.Header.Get("X-Big")), tc.want)
				}
			})
		}
	}
}

// TestHTTP10TransferEncodingAnswer: RFC 9112 (6.1) has a recipient of an
// HTTP/1.0 message with Transfer-Encoding treat its framing as faulty,
// even with a Content-Length, and close the connection after it. Go's
// reader drops the field of an HTTP/1.0 answer and frames it by its
// Content-Length: the edge relayed the chunk framing as content and
// pooled the connection. Now such an answer is a 502 where the edge sees
// its head (the direct exchange's pool), and an HTTP/1.0 answer's
// connection is never pooled, on either pool.
func TestHTTP10TransferEncodingAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, req string
		want      int
	}{
		{"direct", "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", http.StatusBadGateway},
		// http.Transport's reader has dropped the field before anything
		// here sees the answer: framed by its Content-Length, not pooled.
		{"transport", "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhi", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int32
			addr := countingOrigin(t, &conns, func(c net.Conn, req *http.Request, n int) bool {
				_, _ = io.Copy(io.Discard, req.Body)
				io.WriteString(c, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 15\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
				return true
			})
			s := fastServer(t, netip.MustParseAddrPort(addr))
			c := sendRaw(t, s, "")
			br := bufio.NewReader(c)
			for i := 0; i < 2; i++ {
				io.WriteString(c, tc.req)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.want {
					t.Errorf("answer %d: %d %q; want %d", i, resp.StatusCode, b, tc.want)
				}
			}
			if n := conns.Load(); n != 2 {
				t.Errorf("origin connections: %d; want 2 (an HTTP/1.0 answer's is not pooled)", n)
			}
		})
	}
}

// TestOriginHeadBoundCountsHeadOnly: the bound is the head's; body bytes
// read in the same buffer fill as the head's end do not make a head
// within it "too large" (net.Pipe hands each read all it asks for, so
// the reads end exactly at the bound).
func TestOriginHeadBoundCountsHeadOnly(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	head := "HTTP/1.1 200 OK\r\nContent-Length: 8192\r\nX-Big: "
	head += strings.Repeat("a", MaxOriginHeaderBytes-100-len(head)) + "\r\n\r\n"
	go func() { _, _ = io.WriteString(b, head+strings.Repeat("b", 8192)) }()
	pc := &h1Conn{src: headLimit{c: a, left: -1}}
	pc.br = bufio.NewReaderSize(&pc.src, 4<<10)
	req, _ := http.NewRequest(http.MethodGet, "http://a.test/", nil)
	resp, err := readFinal(pc, req)
	if err != nil {
		t.Fatalf("%d-byte head, then its body: %v", len(head), err)
	}
	if n, err := io.Copy(io.Discard, resp.Body); n != 8192 || err != nil {
		t.Errorf("body: %d bytes, %v; want 8192", n, err)
	}
}

// TestOriginCLAndTEAnswerRefused: an origin answer with both
// Content-Length and Transfer-Encoding "ought to be handled as an error"
// (RFC 9112 6.3): it was relayed by its chunks and its connection pooled
// for the next client, where a hop framing by the Content-Length could
// have the rest read as that client's answer. nginx answers 502, and so
// does h1Client (the direct exchange hands such an answer to it), its
// connection closed. (http.Transport, for bodies and HTTPS origins, drops
// the Content-Length and frames by the chunks, as RFC 9112 lets an
// intermediary; docs/dataplane-l7.md.)
func TestOriginCLAndTEAnswerRefused(t *testing.T) {
	var conns atomic.Int32
	origin := countingOrigin(t, &conns, func(c net.Conn, req *http.Request, n int) bool {
		if req.URL.Path == "/clte" {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
		} else {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		return true
	})
	s := fastServer(t, netip.MustParseAddrPort(origin))
	resp, err := http.ReadResponse(bufio.NewReader(sendRaw(t, s, "GET /clte HTTP/1.1\r\nHost: a.test\r\n\r\n")), nil)
	if err != nil {
		t.Fatal(err)
	}
	c2 := sendRaw(t, s, "GET /next HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
	_ = c2.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadAll(c2); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway || conns.Load() != 2 {
		t.Errorf("origin answer with Content-Length and Transfer-Encoding: %d, %d origin connections for it and the next request; want 502 and its connection closed (2)",
			resp.StatusCode, conns.Load())
	}
}

// TestH1ClientReplaysOnce guards "replayed once": a request the origin
// takes and drops on every connection (one that crashes its application)
// is sent on one reused connection, then once more on a new one, not once
// per pooled connection (up to MaxIdlePerOrigin, then a new one).
func TestH1ClientReplaysOnce(t *testing.T) {
	const pooled = 10
	var conns, got atomic.Int32
	var crashing atomic.Bool
	release := make(chan struct{})
	addr := countingOrigin(t, &conns, func(c net.Conn, req *http.Request, _ int) bool {
		if req.URL.Path == "/warm" {
			<-release // Held until every warm-up has a connection of its own.
		}
		if crashing.Load() {
			got.Add(1)
			return false
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
	cl := newTestH1(t)
	warm := make(chan error, pooled)
	for range pooled {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/warm", nil)
			resp, _, err := cl.RoundTrip(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			warm <- err
		}()
	}
	for conns.Load() < pooled {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	for range pooled {
		if err := <-warm; err != nil {
			t.Fatalf("warm-up: %v", err)
		}
	}
	if n := idleCount(cl, addr); n != pooled {
		t.Fatalf("%d pooled connections; want %d", n, pooled)
	}
	crashing.Store(true)
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/crash", nil)
	if resp, _, err := cl.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatal("a GET the origin drops every time was answered")
	}
	if n := got.Load(); n != 2 {
		t.Errorf("a GET the origin drops every time reached it %d times with %d pooled connections; want 2 (sent, replayed once)", n, pooled)
	}
	if n := conns.Load(); n != pooled+1 {
		t.Errorf("%d origin connections; want %d (the replay on a new one)", n, pooled+1)
	}
}
