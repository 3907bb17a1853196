package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// randomChurnOrigins hands out origin addresses 127.77.205.x for the
// random churn test.
var randomChurnOrigins = edgetest.NewAlloc(205)

const (
	// defaultChurnSeed draws the change sequence CI runs; its 60 changes
	// are of 22 of the 23 kinds (no "error page deleted").
	defaultChurnSeed = 7
	// randomChurnChanges is how many changes a run makes.
	randomChurnChanges = 60
)

// TestRandomChurnIsHitless makes 60 configuration changes drawn at random
// from randomChanges (listeners, origins, rules, domains, certificates,
// error pages, security policies, proxy limits and a third proxy; none
// targets the traffic) through the API while traffic runs through two
// proxies. On an L4 proxy: 16 long-lived TCP streams over two listeners,
// a new connection to each listener every 10 ms, 8 UDP sessions. On an L7
// proxy with an HTTP and an HTTPS listener (with HTTP/3): HTTP/1.1 (plain
// and TLS), HTTP/2 and HTTP/3 clients, slow responses in flight across
// changes, and 10 WebSockets. No connection, request, WebSocket or
// datagram may fail, every kind of traffic must have gone through, and
// once the node has closed goroutines and descriptors must return to what
// they were before it started.
//
// The sequence is drawn from a fixed seed, so every run makes the same
// changes. OPENGAAP_CHURN_SEED draws another one; the seed is logged, so
// that a failing sequence can be replayed:
//
//	OPENGAAP_CHURN_SEED=42 go test -count=1 -run TestRandomChurnIsHitless ./internal/server/
func TestRandomChurnIsHitless(t *testing.T) {
	if testing.Short() {
		t.Skip("churn test in -short mode")
	}
	seed := uint64(defaultChurnSeed)
	if env := os.Getenv("OPENGAAP_CHURN_SEED"); env != "" {
		var err error
		if seed, err = strconv.ParseUint(env, 10, 64); err != nil {
			t.Fatalf("OPENGAAP_CHURN_SEED: %v", err)
		}
	}
	t.Logf("seed %d (OPENGAAP_CHURN_SEED=%d replays it)", seed, seed)
	goroutines, fds := runtime.NumGoroutine(), openFDs()
	// In a subtest, so that the node's and the traffic's cleanups have run
	// when the baseline is checked.
	if t.Run("changes", func(t *testing.T) { randomChurnRun(t, rand.New(rand.NewPCG(seed, seed))) }) {
		backToBaseline(t, goroutines, fds)
	}
}

// randomChurnRun builds the proxies, starts the traffic, makes the
// changes and checks what the traffic saw.
func randomChurnRun(t *testing.T, rng *rand.Rand) {
	s := &randomChurn{n: startL7Node(t), rng: rng, cnt: &churnCounters{}, made: map[string]int{}}
	s.buildL4()
	s.buildL7()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	halt := func() { once.Do(func() { close(stop) }); wg.Wait() }
	t.Cleanup(halt) // A failed setup or change must not leave the traffic running.
	s.startTraffic(stop, &wg)
	time.Sleep(300 * time.Millisecond) // Traffic before the first change.

	start := time.Now()
	for i := range randomChurnChanges {
		for {
			c := randomChanges[s.rng.IntN(len(randomChanges))]
			if c.make(s, i) {
				s.made[c.name]++
				break
			}
		}
	}
	churned := time.Since(start)
	time.Sleep(500 * time.Millisecond) // Traffic after the last change.
	halt()
	cnt := s.cnt
	t.Logf("%d changes %v in %v; %d successes %v, %d WebSocket echoes", randomChurnChanges, s.made,
		churned.Round(time.Millisecond), cnt.ok.Load(), cnt.kinds(), cnt.echoes.Load())
	if cnt.failed.Load() != 0 || cnt.dropped.Load() != 0 {
		t.Errorf("%d failures and %d of 10 WebSockets dropped in traffic no change targeted; want none; first ones:\n%s",
			cnt.failed.Load(), cnt.dropped.Load(), strings.Join(cnt.firstFailures, "\n"))
	}
	for _, kind := range []string{"tcp", "probe", "udp", "h1", "h1tls", "h2", "h3", "slow h1", "slow h1tls", "slow h2", "slow h3"} {
		if cnt.kinds()[kind] == 0 {
			t.Errorf("no %s traffic went through", kind)
		}
	}
	if cnt.echoes.Load() == 0 {
		t.Errorf("no WebSocket echo went through")
	}
}

// randomChurn is what the random churn test built and what its changes
// made. Not safe for concurrent use: only the change loop uses it.
type randomChurn struct {
	n    *node
	rng  *rand.Rand
	cnt  *churnCounters
	made map[string]int // Changes made, by name.

	// Proxy A (L4): two TCP listeners and a UDP listener, each bound to
	// origin 0 of its pair.
	pA                     string
	ipA                    netip.Addr
	tcp                    [2]string
	tcpAddr                [2]netip.AddrPort
	udp                    string
	udpAddr                netip.AddrPort
	tcpOrigins, udpOrigins originPair

	// Proxy B (L7): an HTTPS listener with HTTP/3 and an HTTP listener
	// with churnHost, its rules "/" and "/load" bound to origin 0 and
	// "/slow" to a slow origin.
	pB                  string
	ipB                 netip.Addr
	https, http         string
	httpsAddr, httpAddr netip.AddrPort
	loaded              [2]string // The "/load" rules of https and http.
	httpOrigins         originPair
	ca                  *testCA
	tlsCfg              *tls.Config // Trusts ca.

	// What changes made, for later changes to undo.
	extra    []string    // Listeners on other ports.
	tmpRules []string    // Rules on other paths.
	domains  [][2]string // Other domains: listener and host.
	pages    []errorPage
	third    string    // A third proxy, while it exists.
	policy   [2]string // The security policy of pA and pB, once created.
	secRules [2][]string
	bw, conc [2]int // Index of the proxies' Bandwidth and Concurrent in the offered values.
}

// originPair is two registered origins.
type originPair struct {
	ids   []string
	addrs [2]netip.AddrPort
}

// bindSet binds both origins with random weights.
func (o originPair) bindSet(rng *rand.Rand) []map[string]any {
	var set []map[string]any
	for j, a := range o.addrs {
		set = append(set, map[string]any{"RealServerId": o.ids[j], "RealServerIP": a.Addr().String(),
			"RealServerPort": a.Port(), "RealServerWeight": 1 + rng.IntN(10)})
	}
	return set
}

// errorPage is an error page created on a loaded listener's domain.
type errorPage struct {
	side, status int
	id           string
}

// buildL4 creates proxy A with its listeners and origins.
func (s *randomChurn) buildL4() {
	n := s.n
	s.pA, s.ipA = n.proxy()
	for i := range 2 {
		e := edgetest.StartTCP(n.t, netip.AddrPortFrom(randomChurnOrigins.Next(), 0), edgetest.Echo)
		u := edgetest.StartUDP(n.t, netip.AddrPortFrom(randomChurnOrigins.Next(), 0), edgetest.Prefix("echo:"))
		s.tcpOrigins.addrs[i], s.udpOrigins.addrs[i] = e.Addr, u.Addr
	}
	s.tcpOrigins.ids = n.realServers(s.tcpOrigins.addrs[0].Addr(), s.tcpOrigins.addrs[1].Addr())
	s.udpOrigins.ids = n.realServers(s.udpOrigins.addrs[0].Addr(), s.udpOrigins.addrs[1].Addr())
	for i := range s.tcp {
		id, port := n.plainListener(s.pA, s.ipA)
		n.bind(id, map[string]netip.AddrPort{s.tcpOrigins.ids[0]: s.tcpOrigins.addrs[0]})
		s.tcp[i], s.tcpAddr[i] = id, netip.AddrPortFrom(s.ipA, uint16(port))
	}
	var port int
	s.udp, port = n.udpListener(s.pA, s.ipA, nil)
	s.udpAddr = netip.AddrPortFrom(s.ipA, uint16(port))
	n.bind(s.udp, map[string]netip.AddrPort{s.udpOrigins.ids[0]: s.udpOrigins.addrs[0]})
}

// buildL7 creates proxy B with its listeners, rules and origins.
func (s *randomChurn) buildL7() {
	n := s.n
	s.pB, s.ipB = n.proxy()
	for i := range s.httpOrigins.addrs {
		s.httpOrigins.addrs[i] = echoOrigin(n.t, randomChurnOrigins, fmt.Sprint("o", i))
	}
	s.httpOrigins.ids = n.realServers(s.httpOrigins.addrs[0].Addr(), s.httpOrigins.addrs[1].Addr())
	s.ca = newTestCA(n.t, "random churn CA")
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(s.ca.pem))
	s.tlsCfg = &tls.Config{RootCAs: roots, ServerName: churnHost}
	var port int
	s.https, port = n.h3Listener(s.pB, s.ipB, s.ca, churnHost)
	s.httpsAddr = netip.AddrPortFrom(s.ipB, uint16(port))
	s.http, port = n.httpListener(s.pB, s.ipB)
	s.httpAddr = netip.AddrPortFrom(s.ipB, uint16(port))
	n.h3Domain(s.https, churnHost)
	n.domain(s.http, churnHost, "", "")
	slow := slowOrigin(n.t, randomChurnOrigins)
	slowID := n.realServers(slow.Addr())[0]
	for i, l := range []string{s.https, s.http} {
		o := map[string]netip.AddrPort{s.httpOrigins.ids[0]: s.httpOrigins.addrs[0]}
		n.rule(l, churnHost, "/", nil, o)
		s.loaded[i] = n.rule(l, churnHost, "/load", nil, o)
		n.rule(l, churnHost, "/slow", nil, map[string]netip.AddrPort{slowID: slow})
	}
}

// startTraffic starts the traffic, which runs until stop.
func (s *randomChurn) startTraffic(stop <-chan struct{}, wg *sync.WaitGroup) {
	t := s.n.t
	for i := range 16 {
		a := s.tcpAddr[i%2]
		c, err := net.DialTimeout("tcp", a.String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { stream(c, fmt.Sprintf("TCP stream %d to %v", i, a), stop, s.cnt) })
	}
	for _, a := range s.tcpAddr {
		wg.Go(func() { probe(a, stop, s.cnt) })
	}
	for i := range 8 {
		c, err := net.Dial("udp", s.udpAddr.String())
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { udpSession(c, fmt.Sprintf("UDP session %d (%v)", i, c.LocalAddr()), stop, s.cnt) })
	}
	h1tls := http1Only(churnClient(s.httpsAddr, s.tlsCfg, true))
	clients := []struct {
		kind string
		c    *http.Client
		base string
	}{
		{"h1", churnClient(s.httpAddr, nil, true), "http://" + churnHost}, // No HTTP/2 without TLS.
		{"h1tls", h1tls, "https://" + churnHost},
		{"h2", churnClient(s.httpsAddr, s.tlsCfg, true), "https://" + churnHost},
		{"h3", h3PinnedClient(t, s.httpsAddr, s.tlsCfg), "https://" + churnHost},
	}
	for _, c := range clients {
		t.Cleanup(c.c.CloseIdleConnections)
		for range 2 {
			wg.Go(func() { churnLoad(c.kind, c.c, c.base, stop, s.cnt) })
		}
		wg.Go(func() { slowLoad("slow "+c.kind, c.c, c.base, stop, s.cnt) })
	}
	for i := range 10 {
		addr, cfg := s.httpAddr, (*tls.Config)(nil)
		if i%2 == 0 {
			addr, cfg = s.httpsAddr, s.tlsCfg
		}
		c := churnWebSocket(t, addr, cfg)
		wg.Go(func() { churnEcho(c, i, stop, s.cnt) })
	}
}

// http1Only makes c, a churnClient, speak HTTP/1.1 over TLS too.
func http1Only(c *http.Client) *http.Client {
	c.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	return c
}

// slowOrigin starts an HTTP origin on an address from alloc that answers
// every request with 20 lines over 2 s, so that requests are in flight
// across changes.
func slowOrigin(t *testing.T, alloc *edgetest.Alloc) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(alloc.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for j := range 20 {
			fmt.Fprintf(w, "chunk %02d\n", j)
			http.NewResponseController(w).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return netip.MustParseAddrPort(ln.Addr().String())
}

// slowLoad requests /slow from the slow origin until stop, counting each
// complete answer as kind.
func slowLoad(kind string, c *http.Client, base string, stop <-chan struct{}, cnt *churnCounters) {
	var want strings.Builder
	for j := range 20 {
		fmt.Fprintf(&want, "chunk %02d\n", j)
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		resp, err := c.Get(base + "/slow")
		if err != nil {
			cnt.fail("%s: GET /slow: %v", kind, err)
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || string(b) != want.String() {
			cnt.fail("%s: GET /slow: %s %s, %d bytes, %v", kind, resp.Proto, resp.Status, len(b), err)
			continue
		}
		cnt.count(kind)
	}
}

// udpSession sends a datagram on c every 50 ms until stop and expects its
// echo within 2 s, counting each as "udp".
func udpSession(c net.Conn, name string, stop <-chan struct{}, cnt *churnCounters) {
	defer c.Close()
	buf := make([]byte, 256)
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		msg := fmt.Sprint(name, ":", seq)
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(c, msg); err != nil {
			cnt.fail("%s: write %d: %v", name, seq, err)
			continue
		}
		for {
			nr, err := c.Read(buf)
			if err != nil {
				cnt.fail("%s: datagram %d lost: %v", name, seq, err)
				break
			}
			if string(buf[:nr]) == "echo:"+msg {
				cnt.count("udp")
				break
			}
			// A late echo of an earlier datagram: keep reading.
		}
	}
}

// openFDs counts the process's open descriptors.
func openFDs() int {
	fds, _ := os.ReadDir("/proc/self/fd")
	return len(fds)
}

// backToBaseline waits up to 15 s for the process's goroutines and
// descriptors to come back within 2 of goroutines and fds. (The L4
// forwarder keeps a finished connection's goroutine for 10 s, to reuse it
// for the next one.)
func backToBaseline(t *testing.T, goroutines, fds int) {
	t.Helper()
	var g, fd int
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		runtime.GC()
		g, fd = runtime.NumGoroutine(), openFDs()
		if g <= goroutines+2 && fd <= fds+2 || time.Now().After(deadline) {
			break
		}
	}
	if g > goroutines+2 || fd > fds+2 {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("after the node closed: %d goroutines (%d before), %d descriptors (%d before); goroutines:\n%s",
			g, goroutines, fd, fds, buf[:min(len(buf), 20000)])
	}
}
