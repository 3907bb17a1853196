package edge_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/l7"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// The abuse tests hold the L7 listener to its documented client-side limits
// (docs/dataplane-l7.md, "Limits" and "Limits and abuse").

// abuseListener serves host "abuse.test" on a fresh address: "/" to a
// reporting origin, "/upload" to one that counts the body it gets. With
// pki it also starts an HTTPS listener with a certificate from it, and
// returns its address second.
func abuseListener(t *testing.T, rt *edge.Runtime, pki *testPKI) (netip.AddrPort, netip.AddrPort) {
	t.Helper()
	counter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
		}
		fmt.Fprint(w, n)
	}))
	t.Cleanup(counter.Close)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	domains := []snapshot.Domain{{Host: "abuse.test", Rules: []snapshot.Rule{rule("r-root", "/", l7Origins(httpOrigin(t, "a", nil))),
		rule("r-upload", "/upload", l7Origins(netip.MustParseAddrPort(counter.Listener.Addr().String())))}}}
	ls := []snapshot.HTTPListener{{ID: "lsr-abuse", Protocol: snapshot.ProtoHTTP, Port: port, Domains: domains}}
	var taddr netip.AddrPort
	if pki != nil {
		cert, key := pki.leaf(t, "abuse", "abuse.test")
		tport := edgetest.FreePort(t, ip)
		ls = append(ls, snapshot.HTTPListener{ID: "lsr-abuse-tls", Protocol: snapshot.ProtoHTTPS, Port: tport,
			TLS: &snapshot.TLS{CertPEM: cert, KeyPEM: key}, Domains: domains})
		taddr = netip.AddrPortFrom(ip, uint16(tport))
	}
	mustApply(t, rt, httpProxy(1, ip, ls...))
	return netip.AddrPortFrom(ip, uint16(port)), taddr
}

// plainGet sends GET / over a new connection and fails the test unless the
// origin answers 200 within a second.
func plainGet(t *testing.T, addr netip.AddrPort) time.Duration {
	t.Helper()
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr.String()+"/", nil)
	req.Host = "abuse.test"
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Errorf("normal client: %v", err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("normal client: got %d; want 200", resp.StatusCode)
	}
	return time.Since(start)
}

// slowKinds are the ways TestAbuseSlowloris trickles a request head.
var slowKinds = []slowKind{
	{name: "trickling at once"},
	{name: "silent for 10 s, then trickling", silence: 10 * time.Second},
	{name: "trickling, 4 KiB of head at once after 20 s", burstAt: 20 * time.Second},
}

// slowKind trickles a head one byte per second after silence; at burstAt
// (if not 0) it sends 4 KiB of it at once.
type slowKind struct {
	name             string
	silence, burstAt time.Duration
}

// TestAbuseSlowloris opens 210 connections that send a request head one
// byte per second (slowKinds: at once, after 10 s of silence, with a
// 4 KiB burst after 20 s). Normal clients keep being served meanwhile;
// each slow connection must be closed by the proxy ReadHeaderTimeout after
// it was accepted, however it trickles: the deadline is absolute, as in
// net/http for a connection's first request. A deadline restarted at the
// first byte, or at a change of parser once the head outgrows a buffer,
// would let the second or third kind live 10 or 20 s longer. The wait for
// the cut (ReadHeaderTimeout, 30 s) is skipped in -short mode.
func TestAbuseSlowloris(t *testing.T) {
	t.Parallel()
	slow := 70 * len(slowKinds)
	rt := newRuntime(t, edge.Options{})
	addr, _ := abuseListener(t, rt, nil)
	var cut atomic.Int64
	cutAt := make([]time.Duration, slow)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range slow {
		c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		wg.Go(func() {
			if d, ok := slowKinds[i%len(slowKinds)].trickle(c, stop); ok {
				cutAt[i] = d
				cut.Add(1)
			}
		})
	}
	var worst time.Duration
	for range 20 {
		worst = max(worst, plainGet(t, addr))
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("normal requests during %d slow connections: worst %v", slow, worst)
	if testing.Short() {
		close(stop)
		wg.Wait()
		return
	}
	waitAll(&cut, int64(slow), l7.ReadHeaderTimeout+5*time.Second)
	if cut.Load() < int64(slow) {
		waitAll(&cut, int64(slow), 20*time.Second) // Only to tell how long the others live.
	}
	close(stop)
	wg.Wait()
	for k, kind := range slowKinds {
		var uncut int
		first, last := time.Hour, time.Duration(0)
		for i := k; i < slow; i += len(slowKinds) {
			if cutAt[i] == 0 {
				uncut++
				continue
			}
			first, last = min(first, cutAt[i]), max(last, cutAt[i])
		}
		t.Logf("slow connections %s: cut after %v to %v, %d not cut", kind.name, first.Round(time.Millisecond),
			last.Round(time.Millisecond), uncut)
		if uncut > 0 || first < l7.ReadHeaderTimeout-time.Second || last > l7.ReadHeaderTimeout+3*time.Second {
			t.Errorf("slow connections %s: got cut after %v to %v (%d of %d not cut); want all after ReadHeaderTimeout (%v)",
				kind.name, first.Round(time.Millisecond), last.Round(time.Millisecond), uncut, slow/len(slowKinds), l7.ReadHeaderTimeout)
		}
	}
	plainGet(t, addr)
}

// waitAll waits up to d for n to reach want.
func waitAll(n *atomic.Int64, want int64, d time.Duration) {
	for deadline := time.Now().Add(d); n.Load() < want && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
}

// trickle sends a request head on c as k says until the proxy closes c
// (returning how long c lived, true) or stop is closed.
func (k slowKind) trickle(c net.Conn, stop <-chan struct{}) (time.Duration, bool) {
	start := time.Now()
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, c) // Returns when the proxy closes c.
		close(closed)
	}()
	head := "GET / HTTP/1.1\r\nHost: abuse.test\r\nX-Slow: " + strings.Repeat("a", 1000)
	select {
	case <-closed:
		return time.Since(start), true
	case <-stop:
		return 0, false
	case <-time.After(k.silence):
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	burst := k.burstAt
	for i := 0; ; i++ {
		_, _ = c.Write([]byte{head[i%len(head)]})
		if burst > 0 && time.Since(start) >= burst {
			_, _ = io.WriteString(c, strings.Repeat("a", 4<<10)) // Within X-Slow's value.
			burst = 0
		}
		select {
		case <-closed:
			return time.Since(start), true
		case <-stop:
			return 0, false
		case <-tick.C:
		}
	}
}

// TestAbuseOversizedHeaders: a head over MaxHeaderBytes is refused with
// 431 and never reaches the origin; one just under it is proxied.
func TestAbuseOversizedHeaders(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, edge.Options{})
	addr, _ := abuseListener(t, rt, nil)
	for _, tc := range []struct {
		name   string
		header int // Bytes of one header value.
		count  int // Number of such headers.
		want   int
	}{
		{"one header just under the limit", l7.MaxHeaderBytes - 2<<10, 1, http.StatusOK},
		{"one header over the limit", l7.MaxHeaderBytes + 8<<10, 1, http.StatusRequestHeaderFieldsTooLarge},
		{"many small headers over the limit", 100, l7.MaxHeaderBytes / 100 * 2, http.StatusRequestHeaderFieldsTooLarge},
		{"one huge header", 1 << 20, 1, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawStatus(t, addr, tc.header, tc.count); got != tc.want {
				t.Errorf("got %d; want %d", got, tc.want)
			}
		})
	}
	plainGet(t, addr)
}

// TestAbuseRefusedRequestsCounted: the answers the edge gives a request
// it refuses before routing (a head over MaxHeaderBytes: 431; both
// Content-Length and Transfer-Encoding: 400 from the fast path; a
// malformed header line: 400 from net/http) are counted on the listener
// and the proxy like routed ones, so a flood of bad requests shows in
// Requests, HttpQPS and Status4xx.
func TestAbuseRefusedRequestsCounted(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := snapshot.HTTPListener{ID: "lsr-bad", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "a.test", Rules: []snapshot.Rule{rule("r-bad", "/", l7Origins(httpOrigin(t, "a", nil)))}}}}
	mustApply(t, rt, httpProxy(1, ip, l))
	addr := netip.AddrPortFrom(ip, uint16(port))
	heads := []string{
		"GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: " + strings.Repeat("b", 80<<10) + "\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a.test\r\nBad Header Line\r\n\r\n",
		// After a request net/http routed (the fast path hands Pragma over),
		// on the same connection: each counted once.
		"GET / HTTP/1.1\r\nHost: a.test\r\nPragma: no-cache\r\n\r\nGET / HTTP/1.1\r\nHost: a.test\r\nBad Header Line\r\n\r\n",
	}
	for _, head := range heads {
		c := dial(t, ip, addr)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, head)
		_, _ = io.Copy(io.Discard, c) // Every refusal closes the connection.
		c.Close()
	}
	for _, k := range []stats.Key{{Kind: stats.KindListener, ID: "lsr-bad"}, {Kind: stats.KindProxy, ID: "link-1"}} {
		var v stats.Values
		edgetest.Eventually(t, 5*time.Second, func() bool { v = rt.Stats().Values[k]; return v.Requests >= 5 },
			"%v: fewer than 5 requests counted", k)
		if v.Requests != 5 || v.Status[4] != 4 || v.Status[2] != 1 || v.AnswerCount != 5 {
			t.Errorf("%v: got %d requests, status classes %v, %d timed; want 4 refused (4xx) and 1 routed, all timed",
				k, v.Requests, v.Status, v.AnswerCount)
		}
	}
}

// rawStatus sends a GET with count headers of size bytes each and returns
// the status of the answer.
func rawStatus(t *testing.T, addr netip.AddrPort, size, count int) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() { // The proxy may answer before it has read everything.
		w := bufio.NewWriter(c)
		fmt.Fprint(w, "GET / HTTP/1.1\r\nHost: abuse.test\r\n")
		v := strings.Repeat("v", size)
		for i := range count {
			fmt.Fprintf(w, "X-Big-%d: %s\r\n", i, v)
		}
		fmt.Fprint(w, "\r\n")
		_ = w.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAbuseLargeBody: there is no body size cap (documented); a 64 MiB
// upload reaches the origin whole, and is streamed, not buffered: the heap
// grows by far less than the body.
func TestAbuseLargeBody(t *testing.T) {
	const size = 64 << 20
	rt := newRuntime(t, edge.Options{})
	addr, _ := abuseListener(t, rt, nil)
	before := heapInuse()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr.String()+"/upload", io.LimitReader(zeros{}, size))
	req.Host, req.ContentLength = "abuse.test", size
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != strconv.Itoa(size) {
		t.Fatalf("upload of %d bytes: got %d %q; want 200 and the origin counting every byte", size, resp.StatusCode, body)
	}
	grew := int64(peak.Load()) - int64(before)
	t.Logf("heap in use during a %d MiB upload: +%d KiB at peak", size>>20, grew>>10)
	if grew > 16<<20 {
		t.Errorf("heap grew by %d MiB during a %d MiB upload; want < 16 MiB (streamed)", grew>>20, size>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestAbuseBurstLeavesNoResidue throws rounds of 200 abusive connections
// at an HTTP and an HTTPS listener (half-sent heads, oversized heads,
// garbage, TLS garbage, bodies cut midway, upgrades dropped, plain
// connect-and-close) and checks that afterwards the goroutine count is
// back at its baseline and the heap has not grown with the rounds. The
// count leaves out idle origin connections (see residue): their number
// wanders with the pools, bounded by l7.MaxIdlePerOrigin. The tolerance
// of 20 is 1 in 50 of the 1000 abusive connections. Not parallel: it
// counts the process's goroutines.
func TestAbuseBurstLeavesNoResidue(t *testing.T) {
	const rounds, perRound, tolerance = 5, 200, 20
	rt := newRuntime(t, edge.Options{})
	addr, taddr := abuseListener(t, rt, newTestPKI(t, "abuse CA"))
	burst(t, perRound, addr, taddr)
	baseG, baseHeap := settle(0), heapInuse()
	start := time.Now()
	var heaps []uint64
	for round := range rounds {
		burst(t, perRound, addr, taddr)
		heaps = append(heaps, heapInuse())
		n, _ := residue()
		t.Logf("round %d: %d goroutines (%d besides idle origin connections), heap in use %d KiB",
			round, runtime.NumGoroutine(), n, heaps[round]>>10)
	}
	got := settle(baseG + tolerance)
	t.Logf("%d abusive connections in %v; goroutines: baseline %d, after %d; heap in use: baseline %d KiB, after %d KiB",
		rounds*perRound, time.Since(start).Round(time.Millisecond), baseG, got, baseHeap>>10, heaps[rounds-1]>>10)
	if got > baseG+tolerance {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: got %d after the bursts; want ≤ %d (baseline + %d)\n%s", got, baseG+tolerance, tolerance,
			buf[:runtime.Stack(buf, true)])
	}
	// What residue leaves out is bounded by the pools: two origins, at
	// most MaxIdlePerOrigin idle connections each, three goroutines per
	// connection (the proxy's read and write loops, the origin's server).
	if _, pooled := residue(); pooled > 2*l7.MaxIdlePerOrigin*3 {
		t.Errorf("%d goroutines of idle origin connections; want ≤ %d (the pools' bound)", pooled, 2*l7.MaxIdlePerOrigin*3)
	}
	if last := heapInuse(); last > baseHeap+8<<20 {
		t.Errorf("heap in use: got %d KiB after %d rounds; want ≤ baseline %d KiB + 8 MiB", last>>10, rounds, baseHeap>>10)
	}
}

// burst runs n abusive connections at once, then checks a normal client
// is served.
func burst(t *testing.T, n int, addr, taddr netip.AddrPort) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { abuse(i, addr, taddr) })
	}
	wg.Wait()
	plainGet(t, addr)
}

// abuse makes abusive connection i (its kind is i mod 8) and closes it.
func abuse(i int, addr, taddr netip.AddrPort) {
	to := addr
	if i%8 == 3 || i%8 == 7 {
		to = taddr
	}
	c, err := net.DialTimeout("tcp", to.String(), 2*time.Second)
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	switch i % 8 {
	case 0: // Half a head, then gone.
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: abuse.test\r\nX-Half: ")
		time.Sleep(50 * time.Millisecond)
	case 1: // Oversized head: read the 431.
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: abuse.test\r\nX-Big: "+strings.Repeat("b", l7.MaxHeaderBytes+8<<10)+"\r\n\r\n")
		_, _ = io.Copy(io.Discard, c)
	case 2: // Garbage.
		io.WriteString(c, "\x16\x00\xffnot http at all\r\n\r\n")
		_, _ = io.Copy(io.Discard, c)
	case 3: // A handshake record of garbage to the HTTPS listener.
		io.WriteString(c, "\x16\x03\x01\x00\x40"+strings.Repeat("\x00", 64))
		_, _ = io.Copy(io.Discard, c)
	case 4: // A body cut midway.
		io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: abuse.test\r\nContent-Length: 1048576\r\n\r\n"+strings.Repeat("x", 10<<10))
		time.Sleep(50 * time.Millisecond)
	case 5: // An upgrade dropped once it is proxied.
		io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: abuse.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		_, _ = bufio.NewReader(c).ReadString('\n')
	case 6: // Connect and close.
	case 7: // A TLS handshake, then half a head.
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "abuse.test"})
		if tc.Handshake() == nil {
			io.WriteString(tc, "GET / HTTP/1.1\r\nHost: abuse.test\r\n")
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// settle waits up to 5 s for residue to fall to want, or with want 0 to
// hold still, and returns it.
func settle(want int) int {
	n, _ := residue()
	last := -1
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); n, _ = residue() {
		if (want > 0 && n <= want) || (want == 0 && n == last) {
			return n
		}
		last = n
		time.Sleep(200 * time.Millisecond)
	}
	return n
}

// residue counts the process's goroutines but those of idle origin
// connections (pooled): the read and write loops of the proxy's pooled
// net/http connections (the direct exchange's pool has no goroutines) and
// the test origins' connections waiting for a request (created by the
// Serve loop of an httptest server). A request stuck on either end still
// counts.
func residue() (n, pooled int) {
	buf := make([]byte, 16<<20)
	stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
	origins := map[string]bool{} // IDs of the goroutines running an origin's Serve loop
	for _, s := range stacks {
		if f := strings.Fields(s); len(f) > 1 && strings.Contains(s, "created by net/http/httptest.(*Server).goServe") {
			origins[f[1]] = true
		}
	}
	const byServe = "created by net/http.(*Server).Serve in goroutine "
	for _, s := range stacks {
		if strings.Contains(s, "created by net/http.(*Transport).dialConn") {
			pooled++
			continue
		}
		waiting := strings.Contains(s, "net/http.(*conn).readRequest") || // Or idle between requests:
			strings.Contains(s, "bufio.(*Reader).Peek") && strings.Contains(s, "net/http.(*conn).serve")
		if i := strings.LastIndex(s, byServe); i >= 0 && waiting {
			if f := strings.Fields(s[i+len(byServe):]); len(f) > 0 && origins[f[0]] {
				pooled++
				continue
			}
		}
		n++
	}
	return n, pooled
}

func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestAbuseSlowBody: a request whose client stops sending its body is
// ended BodyIdleTimeout later (its connection closed), with a declared
// length (the fast path) and chunked (net/http), over HTTP/1.1 and over
// HTTP/2 (the stream's body closed: the answer is an error, the
// connection lives); a body that trickles steadily, each wait shorter than
// the timeout, gets through whole.
func TestAbuseSlowBody(t *testing.T) {
	const idle = 300 * time.Millisecond
	rt := newRuntime(t, edge.Options{BodyIdleTimeout: idle})
	pki := newTestPKI(t, "abuse CA")
	addr, taddr := abuseListener(t, rt, pki)
	for _, head := range []string{
		"POST /upload HTTP/1.1\r\nHost: abuse.test\r\nContent-Length: 100\r\n\r\n0123456789",
		"POST /upload HTTP/1.1\r\nHost: abuse.test\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n",
	} {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, c) // Until the proxy closes.
		if took := time.Since(start); took < idle || took > idle+time.Second {
			t.Errorf("%q: closed after %v; want about %v", head[:40], took, idle)
		}
		c.Close()
	}

	// HTTP/2: the stalled body ends the stream only, with 408 as nginx
	// answers (the client's one connection serves the next request).
	h2 := httpsClient(taddr, pki.pool, true)
	var dials atomic.Int32
	h2tr := h2.Transport.(*http.Transport)
	dial := h2tr.DialContext
	h2tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}
	pr, pw := io.Pipe()
	go func() { _, _ = io.WriteString(pw, "0123456789") }() // Then nothing, never closed.
	req, _ := http.NewRequest(http.MethodPost, "https://abuse.test/upload", pr)
	start := time.Now()
	resp, err := h2.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if took := time.Since(start); err != nil || resp.StatusCode != http.StatusRequestTimeout || took > idle+2*time.Second {
		t.Errorf("HTTP/2 stalled body: got %v, %v after %v; want 408 (the client's, not the origin's fault) within about %v",
			resp, err, took, idle)
	}
	pw.Close()
	if resp, _, _ := get(t, h2, "https://abuse.test/", "abuse.test"); resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("HTTP/2 after a stalled stream: got %s %d; want HTTP/2 200", resp.Proto, resp.StatusCode)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("HTTP/2: %d connections for the stalled stream and the next request; want 1 (the connection lives)", n)
	}

	// Steady trickle: 10 bytes, one every 150 ms, 1.5 s in all, to a
	// runtime whose timeout is 1 s: each wait has 850 ms to spare on a
	// loaded machine (idle/3 left 200 ms).
	const trickleIdle = time.Second
	tAddr, _ := abuseListener(t, newRuntime(t, edge.Options{BodyIdleTimeout: trickleIdle}), nil)
	tr, tw := io.Pipe()
	go func() {
		for i := range 10 {
			time.Sleep(trickleIdle * 3 / 20)
			_, _ = fmt.Fprint(tw, i)
		}
		tw.Close()
	}()
	req, _ = http.NewRequest(http.MethodPost, "http://"+tAddr.String()+"/upload", tr)
	req.Host, req.ContentLength = "abuse.test", 10
	resp, err = (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "10" {
		t.Errorf("trickled body: got %d %q; want 200 and 10 bytes", resp.StatusCode, body)
	}
}

// oneRuleListener applies an HTTP listener with one rule "/" to o and
// returns its address.
func oneRuleListener(t *testing.T, rt *edge.Runtime, o netip.AddrPort) netip.AddrPort {
	t.Helper()
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-t", Protocol: snapshot.ProtoHTTP, Port: port,
		Domains: []snapshot.Domain{{Host: "t.test", Rules: []snapshot.Rule{rule("r-t", "/", l7Origins(o))}}}}))
	return netip.AddrPortFrom(ip, uint16(port))
}

// TestAbuseStalledReader: a client that asks for a large answer and stops
// reading it is disconnected SendTimeout after its last write went
// through, and the origin connection goes with it; over HTTP/3, its
// stream is given up, and over HTTP/2 too.
func TestAbuseStalledReader(t *testing.T) {
	const send = 300 * time.Millisecond
	rt, ca, ip, port, h3addr := h3Setup(t, edge.Options{SendTimeout: send})
	failed := make(chan error, 1)
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
		chunk := make([]byte, 64<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				failed <- err
				return
			}
		}
	})
	waitGaveUp := func(what string) {
		t.Helper()
		select {
		case <-failed: // The proxy gave up on the client and closed the origin connection.
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the proxy still holds a client that stopped reading, 5 s on", what)
		}
	}
	c := dial(t, lo.Next(), oneRuleListener(t, rt, o.Addr))
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: t.test\r\n\r\n") // And never reads.
	waitGaveUp("HTTP/1.1")

	mustApply(t, rt, httpProxy(2, ip, h3Listener(t, ca, port, o.Addr)))
	req, _ := http.NewRequest(http.MethodGet, "https://www.test/big", nil)
	// The Transport, not the Client: no timeout of its own ends the stream.
	resp, err := h3Client(t, lo.Next(), h3addr, ca.pool).Transport.RoundTrip(req) // The head only.
	if err != nil {
		t.Fatalf("HTTP/3: %v", err)
	}
	defer resp.Body.Close()
	waitGaveUp("HTTP/3")

	// Over HTTP/2 the client can stop reading without stalling TCP: it
	// grants its streams no flow-control credit (window 0) and keeps the
	// connection alive, acknowledging SETTINGS and PINGs. The handler's
	// write then waits in net/http for credit, which the connection's
	// write deadline never sees.
	h2 := edgetest.DialH2(t, h3addr, "www.test", http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	head := make(chan struct{}, 1)
	h2.ReadLoop(func(f http2.Frame) {
		if _, ok := f.(*http2.HeadersFrame); ok {
			select {
			case head <- struct{}{}:
			default:
			}
		}
	})
	h2.Request(1, "www.test", http.MethodGet, "/big")
	select {
	case <-head:
	case <-time.After(5 * time.Second):
		t.Fatal("HTTP/2: no answer head")
	}
	waitGaveUp("HTTP/2")
}

// TestStreamPausesOutlastSendTimeout: SendTimeout bounds each write to a
// client, not the time between writes. An origin that pauses longer than
// it midway through an answer is relayed whole over HTTP/2 and HTTP/3
// (net/http's HTTP/2 write deadline resets the stream when it fires, even
// between writes, so the stream's bound is only set during a write).
func TestStreamPausesOutlastSendTimeout(t *testing.T) {
	const send = 300 * time.Millisecond
	rt, ca, ip, port, h3addr := h3Setup(t, edge.Options{SendTimeout: send})
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
		time.Sleep(4 * send)
		io.WriteString(c, "world")
	})
	mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, o.Addr)))
	for _, c := range []*http.Client{httpsClient(h3addr, ca.pool, true), h3Client(t, lo.Next(), h3addr, ca.pool)} {
		resp, err := c.Get("https://www.test/paused")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != "helloworld" {
			t.Errorf("%s: got %q, %v; want the whole answer", resp.Proto, body, err)
		}
	}
}

// TestAbuseStalledOrigin: an origin that stops sending an answer's body
// midway is given up OriginReadTimeout after its last bytes, on the direct
// path (GET) and through http.Transport (a POST with a body): the client's
// connection is reset (an aborted answer) without a complete answer. An
// upgraded (WebSocket) connection is exempt: it may stay quiet.
func TestAbuseStalledOrigin(t *testing.T) {
	const read = 300 * time.Millisecond
	rt := newRuntime(t, edge.Options{OriginReadTimeout: read})
	stalled := make(chan struct{})
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Upgrade") != "" {
			upgradeEchoAfter(c, br)
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
		<-stalled // The connection open, nothing more sent.
	})
	t.Cleanup(func() { close(stalled) })
	addr := oneRuleListener(t, rt, o.Addr)
	for _, head := range []string{
		"GET /x HTTP/1.1\r\nHost: t.test\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: t.test\r\nContent-Length: 4\r\n\r\nbody",
	} {
		c := dial(t, lo.Next(), addr)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		io.WriteString(c, head)
		b, err := io.ReadAll(c) // Until the proxy resets.
		if took := time.Since(start); !errors.Is(err, syscall.ECONNRESET) || took > read+2*time.Second || strings.Contains(string(b), strings.Repeat("0123456789", 2)) {
			t.Errorf("%.4s: got %q, %v after %v; want the connection reset within about %v, the answer incomplete", head, b, err, took, read)
		}
	}

	c := dial(t, lo.Next(), addr)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: t.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	time.Sleep(read + 1500*time.Millisecond) // Quiet for longer than OriginReadTimeout.
	io.WriteString(c, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Errorf("WebSocket quiet for %v: echo %q, %v; want ping", read+1500*time.Millisecond, buf, err)
	}
}

// TestAbuseHungWebSocketOrigin: an origin that hangs after its 101 (keeps
// its socket, neither reads nor writes) while the client has filled the
// buffers towards it. The relay is then stuck writing to the origin and
// reading from it, and reads nothing of the client. Yet the tunnel ends,
// and with it the connection's Active count and its slot of MaxConns:
// when its client leaves, SendTimeout after the stuck write started (each
// write to an upgraded origin is bounded as writes to clients are); when
// the edge cuts the client connection (listener removed, DrainGrace over;
// a policy DROP cuts the same way), at once, the origin connection with it.
func TestAbuseHungWebSocketOrigin(t *testing.T) {
	for _, tc := range []struct {
		name  string
		send  time.Duration
		leave func(t *testing.T, rt *edge.Runtime, ip netip.Addr, c *net.TCPConn)
	}{
		{"client leaves", 2 * time.Second, func(t *testing.T, _ *edge.Runtime, _ netip.Addr, c *net.TCPConn) {
			_ = c.SetLinger(0)
			c.Close()
		}},
		{"listener removed", time.Minute, func(t *testing.T, rt *edge.Runtime, ip netip.Addr, _ *net.TCPConn) {
			mustApply(t, rt, httpProxy(2, ip)) // DrainGrace 2 s.
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
				<-release // Hung.
			}).Addr
			t.Cleanup(func() { close(release) }) // Before the origin's Close waits for its handler.
			rt := newRuntime(t, edge.Options{SendTimeout: tc.send})
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			s := httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-hung", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
				{Host: "w.test", Rules: []snapshot.Rule{rule("r-hung", "/", l7Origins(o))}}}})
			s.Proxies[0].MaxConns = 1
			mustApply(t, rt, s)
			addr := netip.AddrPortFrom(ip, uint16(port))

			c, _ := upgradeWS(t, ip, addr)
			tcp := c.(*net.TCPConn)
			chunk := make([]byte, 1<<20)
			for { // Until the buffers on the way to the hung origin are full.
				_ = c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
				if _, err := c.Write(chunk); err != nil {
					break
				}
			}
			tc.leave(t, rt, ip, tcp)
			key := stats.Key{Kind: stats.KindProxy, ID: "link-1"}
			edgetest.Eventually(t, 5*time.Second, func() bool { return rt.Stats().Values[key].Active == 0 },
				"the tunnel to a hung origin outlived its client: the proxy still counts it active")
			if tc.name != "client leaves" {
				return
			}
			nc := dial(t, ip, addr) // The slot of MaxConns 1 is free again.
			_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
			io.WriteString(nc, "GET /x HTTP/1.1\r\nHost: w.test\r\n\r\n")
			if _, err := http.ReadResponse(bufio.NewReader(nc), nil); err != nil {
				t.Errorf("new client once the hung WebSocket's client left: %v; want it served (MaxConns 1)", err)
			}
		})
	}
}

// TestAbuseHalfClosedWebSocketBounded: a half-close passes through a
// WebSocket tunnel and the other direction goes on (TestUpgradeHalfClose),
// but not for ever: once the client's side has ended, each read of the
// origin waits at most OriginReadTimeout, as an answer's body; once the
// origin's has, each read of the client waits at most BodyIdleTimeout, as
// a request's body. Here the other side then hangs: the tunnel ends.
func TestAbuseHalfClosedWebSocketBounded(t *testing.T) {
	const idle = 500 * time.Millisecond
	release := make(chan struct{})
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		if req.URL.Path == "/origin-first" {
			_ = c.(*net.TCPConn).CloseWrite()
		}
		<-release // Hung, its side open or half-closed.
	}).Addr
	t.Cleanup(func() { close(release) }) // Before the origin's Close waits for its handler.
	rt := newRuntime(t, edge.Options{OriginReadTimeout: idle, BodyIdleTimeout: idle})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-halfb", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "w.test", Rules: []snapshot.Rule{rule("r-halfb", "/", l7Origins(o))}}}}))
	addr := netip.AddrPortFrom(ip, uint16(port))
	key := stats.Key{Kind: stats.KindListener, ID: "lsr-halfb"}
	for _, path := range []string{"/client-first", "/origin-first"} {
		c := dial(t, ip, addr)
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: w.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		if path == "/client-first" {
			_ = c.CloseWrite()
		}
		edgetest.Eventually(t, idle+3*time.Second, func() bool { return rt.Stats().Values[key].Active == 0 },
			"%s: a half-closed tunnel whose other side hangs was never ended", path)
	}
}

// upgradeEchoAfter answers an upgrade request already read and echoes.
func upgradeEchoAfter(c net.Conn, br *bufio.Reader) {
	io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	_, _ = io.Copy(c, br)
}

// h2OneRule serves www.test over HTTPS on a fresh address, every path to
// origin o, on a proxy of its own (mut edits the domain first).
func h2OneRule(t *testing.T, rt *edge.Runtime, o netip.AddrPort, mut func(*snapshot.Domain)) netip.AddrPort {
	ca := newTestPKI(t, "h2 CA")
	cert, key := ca.leaf(t, "l", "www.test")
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	d := snapshot.Domain{Host: "www.test", Rules: []snapshot.Rule{rule("r-h2", "/", l7Origins(o))}}
	if mut != nil {
		mut(&d)
	}
	mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-h2", Protocol: snapshot.ProtoHTTPS, Port: port,
		TLS: &snapshot.TLS{CertPEM: cert, KeyPEM: key}, Domains: []snapshot.Domain{d}}))
	return netip.AddrPortFrom(ip, uint16(port))
}

// tlsDialInsecure opens an HTTP/1.1 TLS connection to addr (www.test).
func tlsDialInsecure(addr netip.AddrPort) (*tls.Conn, error) {
	return tls.Dial("tcp", addr.String(), &tls.Config{InsecureSkipVerify: true, ServerName: "www.test", NextProtos: []string{"http/1.1"}})
}

// TestH2MalformedAuthorityRefused: an HTTP/2 :authority that is no valid
// host[:port] ("www.test:443/admin", "www.test:1 evil.example") was routed
// (hostOf cuts the "port" at the last ':' and finds www.test) and
// forwarded: Request.Write zeroes a Host it finds invalid, so the origin
// got an empty Host (its default virtual host, not www.test's) and the raw
// value in X-Forwarded-Host. The same Host over HTTP/1.1 is answered 400
// (RFC 9110 7.2; RFC 9113 8.3.1: :authority carries the authority of the
// target URI): so it is over HTTP/2, nothing sent to the origin.
func TestH2MalformedAuthorityRefused(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	oaddr, heads := recordingOrigin(t)
	addr := h2OneRule(t, rt, oaddr, nil)

	c, err := tlsDialInsecure(addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /h1 HTTP/1.1\r\nHost: www.test:443/admin\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("HTTP/1.1 Host www.test:443/admin: got %d; want 400", resp.StatusCode)
	}
	select {
	case head := <-heads:
		t.Errorf("HTTP/1.1 Host www.test:443/admin: the origin got %q; want nothing", head)
	case <-time.After(50 * time.Millisecond):
	}
	for _, authority := range []string{"www.test:443/admin", "www.test:1 evil.example"} {
		h2, status := dialH2Status(t, addr)
		h2.Request(1, authority, http.MethodGet, "/h2")
		var got string
		select {
		case got = <-status:
		case <-time.After(3 * time.Second):
			t.Fatal("no answer")
		}
		if got != "400" {
			t.Errorf(":authority %q over HTTP/2: got %s; want 400", authority, got)
		}
		select {
		case head := <-heads:
			t.Errorf(":authority %q over HTTP/2: the origin got %q; want nothing", authority, head)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// holdingOrigin accepts connections, reads a request head on each and
// then reads whatever follows until the proxy closes: open counts the
// connections open at the origin now, total those ever accepted, reqs
// the request heads read.
func holdingOrigin(t *testing.T) (addr netip.AddrPort, open, total, reqs *atomic.Int64) {
	open, total, reqs = new(atomic.Int64), new(atomic.Int64), new(atomic.Int64)
	s := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		open.Add(1)
		total.Add(1)
		defer open.Add(-1)
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		reqs.Add(1)
		_, _ = io.Copy(io.Discard, c)
	})
	return s.Addr, open, total, reqs
}

// TestH2StreamsCountAgainstConcurrentCap: the proxy's Concurrent cap
// (MaxConns) gated client TCP connections only. Over HTTP/1.1 a
// connection holds at most one origin connection, so the cap bounds the
// origin connections (and descriptors) a proxy takes; one HTTP/2
// connection, counted once, opened up to 250 streams, each with an origin
// connection of its own: a proxy capped at 2 held 100 origin connections
// for one client. As nginx's limit_conn does, each request in flight
// counts: the connection's slot covers its first, each further one takes
// a slot, and a request over the cap gets 503, counted Refused.
func TestH2StreamsCountAgainstConcurrentCap(t *testing.T) {
	const maxConns, streams = 2, 100
	rt := newRuntime(t, edge.Options{})
	oaddr, open, _, _ := holdingOrigin(t)
	ca := newTestPKI(t, "h2 CA")
	cert, key := ca.leaf(t, "l", "www.test")
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	s := httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-h2", Protocol: snapshot.ProtoHTTPS, Port: port,
		TLS:     &snapshot.TLS{CertPEM: cert, KeyPEM: key},
		Domains: []snapshot.Domain{{Host: "www.test", Rules: []snapshot.Rule{rule("r-h2", "/", l7Origins(oaddr))}}}})
	s.Proxies[0].MaxConns = maxConns
	mustApply(t, rt, s)
	addr := netip.AddrPortFrom(ip, uint16(port))

	h2 := edgetest.DialH2(t, addr, "www.test")
	h2.Fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var refused atomic.Int64
	h2.ReadLoop(func(f http2.Frame) {
		if x, ok := f.(*http2.MetaHeadersFrame); ok && x.PseudoValue("status") == "503" {
			refused.Add(1)
		}
	})
	h2.Mu.Lock()
	for i := range streams {
		id := uint32(2*i + 1)
		// An upload that has only begun: a slow client.
		_ = h2.Fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true,
			BlockFragment: edgetest.H2Head(http.MethodPost, "www.test", "/upload/"+strconv.Itoa(i), "content-length", "1000000")})
		_ = h2.Fr.WriteData(id, false, []byte("x"))
	}
	h2.Flush()
	h2.Mu.Unlock()
	edgetest.Eventually(t, 5*time.Second, func() bool { return refused.Load() == streams-maxConns },
		"streams over the cap not refused")
	time.Sleep(100 * time.Millisecond)
	if n := open.Load(); n > maxConns {
		t.Errorf("one HTTP/2 client connection holds %d origin connections of a proxy whose Concurrent cap is %d; want ≤ %d",
			n, maxConns, maxConns)
	}
	if c, err := tlsDialInsecure(addr); err == nil {
		c.Close() // A refused connection is reset before its handshake.
		t.Errorf("a second connection was served while the first one's streams held the cap")
	}
	k := stats.Key{Kind: stats.KindListener, ID: "lsr-h2"}
	edgetest.Eventually(t, 2*time.Second, func() bool {
		v := rt.Stats().Values[k]
		return v.Refused == streams-maxConns+1 && v.Status[5] == streams-maxConns
	}, "refused streams not counted")
}

// TestH2RapidResetBounded (CVE-2023-44487): a client that opens streams
// and resets them at once, two small frames each, made the edge dial its
// origin for a good share of them (thousands of connections for 80,000
// resets, each closed at once) and was never cut off: net/http's
// mitigation only counts handlers queued beyond the stream limit, and
// these end at once. The edge no longer dials or writes for a request
// whose client is gone, and closes a connection whose client cancels more
// than 256 requests within 10 s.
func TestH2RapidResetBounded(t *testing.T) {
	const resets, bound = 80000, 2*128 + 128 // Cancelled, then in flight at the cut.
	rt := newRuntime(t, edge.Options{})
	oaddr, _, total, reqs := holdingOrigin(t)
	addr := h2OneRule(t, rt, oaddr, nil)
	h2 := edgetest.DialH2(t, addr, "www.test")
	done := h2.ReadLoop(nil)
	start, sent := time.Now(), 0
	for i := range resets {
		id := uint32(2*i + 1)
		h2.Mu.Lock()
		e1 := h2.Fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, EndStream: true,
			BlockFragment: edgetest.H2Head(http.MethodGet, "www.test", "/r")})
		e2 := h2.Fr.WriteRSTStream(id, http2.ErrCodeCancel)
		if i%100 == 99 {
			h2.Flush()
		}
		h2.Mu.Unlock()
		if i%100 == 99 { // Paced so that net/http's handler queue never overflows.
			time.Sleep(10 * time.Millisecond)
		}
		select {
		case <-done:
		default:
			if e1 == nil && e2 == nil {
				sent++
				continue
			}
		}
		break
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Errorf("connection still open after %d HEADERS+RST_STREAM pairs; want it closed", sent)
	}
	time.Sleep(100 * time.Millisecond) // The origin counts what reached it.
	t.Logf("%d HEADERS+RST_STREAM pairs sent in %v; origin connections dialled: %d, requests the origin got: %d",
		sent, time.Since(start).Round(time.Millisecond), total.Load(), reqs.Load())
	if n := total.Load(); n > bound {
		t.Errorf("one client resetting every stream made the edge open %d origin connections; want ≤ %d", n, bound)
	}
}

// TestH2EmptyBodyGETRetried: an HTTP/2 GET whose HEADERS frame does not
// end the stream, ended by an empty DATA frame (RFC 9113 allows it), has
// no body, as an HTTP/1.1 GET without Content-Length: a refused connect is
// retried on the rule's other origin. It was taken for a request with a
// body of unknown length, and got a 502.
func TestH2EmptyBodyGETRetried(t *testing.T) {
	for _, emptyData := range []bool{false, true} {
		rt := newRuntime(t, edge.Options{})
		dead := netip.AddrPortFrom(lo.Next(), 9) // Nothing listens.
		a := httpOrigin(t, "a", nil)
		addr := h2OneRule(t, rt, dead, func(d *snapshot.Domain) { d.Rules[0].Origins = l7Origins(dead, a) })
		h2 := edgetest.DialH2(t, addr, "www.test")
		h2.Fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		status := make(chan string, 16)
		h2.ReadLoop(func(f http2.Frame) {
			if x, ok := f.(*http2.MetaHeadersFrame); ok {
				status <- x.PseudoValue("status")
			}
		})
		kind := "HEADERS with END_STREAM"
		if emptyData {
			kind = "HEADERS, then an empty DATA with END_STREAM"
		}
		for i := range 4 {
			id := uint32(2*i + 1)
			h2.Mu.Lock()
			_ = h2.Fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, EndStream: !emptyData,
				BlockFragment: edgetest.H2Head(http.MethodGet, "www.test", "/")})
			if emptyData {
				_ = h2.Fr.WriteData(id, true, nil)
			}
			h2.Flush()
			h2.Mu.Unlock()
			select {
			case s := <-status:
				if s != "200" {
					t.Errorf("GET %d (%s), rule with a dead and a live origin: got %s; want 200 from the live one", i, kind, s)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no answer")
			}
		}
	}
}

// TestH2StalledUploadLeavesOthersFlowing guards against one stream's
// stalled upload holding an HTTP/2 connection's whole receive window. With
// net/http's default windows (1 MiB for the connection and 1 MiB per
// stream), an upload whose origin read nothing took all of the connection's
// window. Every other upload on the connection, even to another rule and
// origin, then waited. After BodyIdleTimeout it got 408 and was counted as
// its client's fault. Browsers send all of a site's requests on one
// connection.
func TestH2StalledUploadLeavesOthersFlowing(t *testing.T) {
	rt := newRuntime(t, edge.Options{BodyIdleTimeout: 2 * time.Second})
	release := make(chan struct{})
	stall := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		<-release // Reads none of the body: a busy application, a slow disk.
	})
	t.Cleanup(func() { close(release) }) // Before the origin's Close waits for it.
	// Answers once it has read the whole body.
	o := scriptOrigin(t, func(_ *http.Request, c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	addr := h2OneRule(t, rt, o, func(d *snapshot.Domain) {
		d.Rules = append(d.Rules, rule("r-stall", "/stall", l7Origins(stall.Addr)))
	})
	c := httpsClient(addr, nil, true)
	c.Timeout = 0 // The stalled upload must last the whole test.
	tr := c.Transport.(*http.Transport)
	tr.TLSClientConfig.InsecureSkipVerify = true
	var dials atomic.Int32
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sent atomic.Int64 // What the client has taken of the stalled upload.
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://www.test/stall",
			io.TeeReader(io.LimitReader(zeros{}, 1<<30), countWriter{&sent}))
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	// Until the stalled upload has filled whatever buffers and windows
	// it can: the client takes no more of it.
	last, still := int64(-1), 0
	for deadline := time.Now().Add(10 * time.Second); still < 5 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if n := sent.Load(); n > 0 && n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
	if still < 5 {
		t.Fatalf("the upload to an origin that reads nothing never stalled (%d bytes taken)", sent.Load())
	}

	req, _ := http.NewRequest(http.MethodPost, "https://www.test/other", bytes.NewReader(make([]byte, 2<<20)))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || dials.Load() != 1 {
		t.Errorf("a 2 MiB upload beside a stalled one on the same connection (%d dialled): got %s %d %q; "+
			"want HTTP/2 200 while the other stays stalled", dials.Load(), resp.Proto, resp.StatusCode, body)
	}
}

// countWriter adds what is written to it to n.
type countWriter struct{ n *atomic.Int64 }

func (w countWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

// TestH2DeclaredBodyMissingRefused guards against forwarding an HTTP/2
// request whose content-length declares a body but whose HEADERS frame
// ends the stream. Such a request is malformed (RFC 9113 8.1.1), and an
// intermediary must not forward it. net/http checks the declared length
// only when a DATA frame ends the stream and gave the handler
// ContentLength 0, so the origin got, and acted on, a POST or GET with
// "Content-Length: 0". It is refused with 400 and counted like the edge's
// other refusals. A declared 0 still goes through.
func TestH2DeclaredBodyMissingRefused(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	oaddr, heads := recordingOrigin(t)
	addr := h2OneRule(t, rt, oaddr, nil)
	for _, c := range []struct {
		method, length string
		refused        bool
	}{
		{http.MethodPost, "5", true},
		{http.MethodGet, "5", true},
		{http.MethodPost, "x", true},
		{http.MethodPost, "0", false}, // recordingOrigin answers 400 too, but after the head.
	} {
		h2, status := dialH2Status(t, addr)
		h2.Mu.Lock()
		_ = h2.Fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, EndStream: true,
			BlockFragment: edgetest.H2Head(c.method, "www.test", "/body", "content-length", c.length)})
		h2.Flush()
		h2.Mu.Unlock()
		var st string
		select {
		case st = <-status:
		case <-time.After(5 * time.Second):
			st = "no answer"
		}
		var head string
		select {
		case head = <-heads:
		case <-time.After(200 * time.Millisecond):
		}
		if c.refused && (st != "400" || head != "") {
			t.Errorf("%s, content-length %s, HEADERS ends the stream: got %s, origin got %q; want 400 and nothing sent to the origin",
				c.method, c.length, st, head)
		}
		if !c.refused && head == "" {
			t.Errorf("%s, content-length %s, HEADERS ends the stream: got %s and nothing reached the origin; want it forwarded",
				c.method, c.length, st)
		}
	}
	k := stats.Key{Kind: stats.KindListener, ID: "lsr-h2"}
	var v stats.Values
	edgetest.Eventually(t, 2*time.Second, func() bool { v = rt.Stats().Values[k]; return v.Requests >= 4 },
		"fewer than 4 requests counted")
	if v.Requests != 4 || v.Status[4] != 4 {
		t.Errorf("listener: got %d requests, status classes %v; want 4, all 4xx (3 refused, the origin's 400)", v.Requests, v.Status)
	}
}

// TestH2StreamsChargeNodeDescriptors: each request of an HTTP/2
// connection beyond its first may hold an origin connection, and took a
// slot of its proxy's cap but nothing of the node's descriptor budget
// (l4.Node.FDs): five proxies' HTTP/2 clients held more descriptors than
// the whole budget, where HTTP/1.1 clients stop at it.
func TestH2StreamsChargeNodeDescriptors(t *testing.T) {
	const budget, proxies, streamsPer = 40, 5, 10 // Share: budget/4 = 10 slots a proxy.
	rt := newRuntime(t, edge.Options{MaxClientDescriptors: budget})
	oaddr, open, _, _ := holdingOrigin(t)
	ca := newTestPKI(t, "h2 CA")
	cert, key := ca.leaf(t, "l", "www.test")
	snap := &snapshot.Snapshot{Version: 1}
	var addrs []netip.AddrPort
	for i := range proxies {
		ip := lo.Next()
		port := edgetest.FreePort(t, ip)
		snap.Proxies = append(snap.Proxies, snapshot.Proxy{ID: fmt.Sprintf("link-%d", i), AccessIP: ip.String(),
			HTTPListeners: []snapshot.HTTPListener{{ID: fmt.Sprintf("lsr-%d", i), Protocol: snapshot.ProtoHTTPS, Port: port,
				TLS:     &snapshot.TLS{CertPEM: cert, KeyPEM: key},
				Domains: []snapshot.Domain{{Host: "www.test", Rules: []snapshot.Rule{rule(fmt.Sprintf("r-%d", i), "/", l7Origins(oaddr))}}}}}})
		addrs = append(addrs, netip.AddrPortFrom(ip, uint16(port)))
	}
	mustApply(t, rt, snap)
	clients := 0
	for p, addr := range addrs {
		// Once earlier proxies' streams are charged, the node may refuse a
		// later proxy's connection: that is the budget working.
		h2, err := edgetest.TryDialH2(t, addr, "www.test")
		if err != nil {
			t.Logf("proxy %d: connection refused (%v)", p, err)
			continue
		}
		clients++
		h2.ReadLoop(nil)
		h2.Mu.Lock()
		for i := range streamsPer {
			id := uint32(2*i + 1)
			_ = h2.Fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true,
				BlockFragment: edgetest.H2Head(http.MethodPost, "www.test", fmt.Sprintf("/upload/%d/%d", p, i), "content-length", "1000000")})
			_ = h2.Fr.WriteData(id, false, []byte("x"))
		}
		h2.Flush()
		h2.Mu.Unlock()
	}
	time.Sleep(time.Second)
	held := open.Load() + int64(clients) // Origin connections, and the clients' own sockets.
	if held > budget {
		t.Errorf("clients hold %d descriptors (%d client sockets, %d origin connections) on a node whose client budget is %d",
			held, clients, open.Load(), budget)
	}
}

// TestH2QueryWithSpaceRefused: an HTTP/2 :path whose query has a space
// (which no HTTP/1.1 request line can carry) reached the origin raw, as
// the request line "GET /q?a HTTP/1.0 x HTTP/1.1", read differently by
// each origin. It is refused with 400 and never sent, as nginx refuses an
// invalid :path; a space in the path is escaped and sent, as before.
func TestH2QueryWithSpaceRefused(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	oaddr, heads := recordingOrigin(t)
	addr := h2OneRule(t, rt, oaddr, nil)
	for _, c := range []struct{ method, path, status, line string }{
		{http.MethodGet, "/q?a HTTP/1.0 x", "400", ""},
		{http.MethodPost, "/post?a b", "400", ""},                  // Through ReverseProxy.
		{http.MethodGet, "/a b?q", "400", "GET /a%20b?q HTTP/1.1"}, // The recording origin answers 400.
	} {
		h2 := edgetest.DialH2(t, addr, "www.test")
		h2.Fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		status := make(chan string, 1)
		h2.ReadLoop(func(f http2.Frame) {
			if h, ok := f.(*http2.MetaHeadersFrame); ok {
				select {
				case status <- h.PseudoValue("status"):
				default:
				}
			}
		})
		h2.Request(1, "www.test", c.method, c.path)
		var st string
		select {
		case st = <-status:
		case <-time.After(5 * time.Second):
			st = "no answer"
		}
		var line string
		select {
		case h := <-heads:
			line, _, _ = strings.Cut(h, " | ")
		case <-time.After(200 * time.Millisecond):
		}
		if st != c.status || line != c.line {
			t.Errorf("%s %q over HTTP/2: status %s, origin's request line %q; want %s, %q", c.method, c.path, st, line, c.status, c.line)
		}
	}
}

// dialH2Status dials an HTTP/2 connection to addr (SNI www.test) whose
// first stream's answer arrives on the channel: its status, or
// "RST_STREAM <code>" when the edge resets it.
func dialH2Status(t *testing.T, addr netip.AddrPort) (*edgetest.RawH2, <-chan string) {
	h2 := edgetest.DialH2(t, addr, "www.test")
	h2.Fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	status := make(chan string, 1)
	h2.ReadLoop(func(f http2.Frame) {
		switch x := f.(type) {
		case *http2.MetaHeadersFrame:
			status <- x.PseudoValue("status")
		case *http2.RSTStreamFrame:
			status <- "RST_STREAM " + x.ErrCode.String()
		}
	})
	return h2, status
}
