package edge_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestHitlessApplies: a long-lived connection on listener A survives 60
// Applies that add, remove and change other listeners, and listener B,
// changed on every Apply, never refuses a connection.
func TestHitlessApplies(t *testing.T) {
	t.Parallel()
	echo := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	names := namedOrigins(t, 2)
	ip := lo.Next()
	pa, pb, pc := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	a := listener("lsr-a", snapshot.ProtoTCP, pa, origins(echo.Addr))
	snapAt := func(v int) *snapshot.Snapshot {
		b := listener("lsr-b", snapshot.ProtoTCP, pb, origins(names[v%2]))
		b.Scheduler = []string{"rr", "wrr", "lc", "lrtt"}[v%4]
		ls := []snapshot.Listener{a, b}
		if v%3 == 0 {
			ls = append(ls, listener("lsr-c", snapshot.ProtoTCP, pc, origins(echo.Addr)))
		}
		if v%5 == 0 {
			ls = append(ls, listener("lsr-u", snapshot.ProtoUDP, pc, origins(echo.Addr)))
		}
		return oneProxy(int64(v), ip, ls...)
	}
	mustApply(t, rt, snapAt(1))
	long := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(pa)))
	roundTrip(t, long)

	var refused, served atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		hammer(netip.AddrPortFrom(ip, uint16(pb)), stop, &served, &refused)
	}()
	for v := 2; v <= 61; v++ {
		rep := mustApply(t, rt, snapAt(v))
		if st, _ := rep.Listener("lsr-a"); st.Change != edge.ChangeUnchanged {
			t.Fatalf("v%d: lsr-a change %q; want unchanged", v, st.Change)
		}
		roundTrip(t, long)
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("listener B: %d connections served during 60 applies, %d refused", served.Load(), refused.Load())
	if refused.Load() != 0 || served.Load() == 0 {
		t.Errorf("got %d refused, %d served; want 0 refused", refused.Load(), served.Load())
	}
}

func hammer(to netip.AddrPort, stop chan struct{}, served, refused *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		c, err := net.DialTimeout("tcp", to.String(), time.Second)
		if err != nil {
			refused.Add(1)
			continue
		}
		_ = c.SetDeadline(time.Now().Add(time.Second))
		b := make([]byte, 8)
		n, _ := c.Read(b)
		if n > 0 {
			served.Add(1)
		} else {
			refused.Add(1)
		}
		_ = c.Close()
	}
}

func TestBindFailureIsolated(t *testing.T) {
	t.Parallel()
	echo := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	taken, release := takenPort(t, ip)
	free := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	rep := rt.Apply(oneProxy(1, ip, listener("lsr-bad", snapshot.ProtoTCP, taken, origins(echo.Addr)),
		listener("lsr-ok", snapshot.ProtoTCP, free, origins(echo.Addr))))
	bad, _ := rep.Listener("lsr-bad")
	ok, _ := rep.Listener("lsr-ok")
	if rep.OK() || bad.State != edge.StateFailed || !strings.Contains(bad.Error, "address already in use") {
		t.Errorf("lsr-bad: got %+v; want failed with a bind error", bad)
	}
	if ok.State != edge.StateRunning {
		t.Errorf("lsr-ok: got %+v; want running", ok)
	}
	roundTrip(t, dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(free))))
	release() // The next Apply retries the failed bind.
	rep = rt.Apply(oneProxy(2, ip, listener("lsr-bad", snapshot.ProtoTCP, taken, origins(echo.Addr)),
		listener("lsr-ok", snapshot.ProtoTCP, free, origins(echo.Addr))))
	if !rep.OK() {
		t.Errorf("retry: got %+v; want OK", rep)
	}
}

// TestRemoveDrainsAndClosedProxy: removing a listener (or closing its proxy)
// stops accepting at once; open connections keep working until the grace.
func TestRemoveDrains(t *testing.T) {
	t.Parallel()
	echo := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{DrainGrace: 2 * time.Second}) // The round trip below must fit in it on a loaded machine.
	s := oneProxy(1, ip, listener("lsr-d", snapshot.ProtoTCP, port, origins(echo.Addr)))
	mustApply(t, rt, s)
	to := netip.AddrPortFrom(ip, uint16(port))
	c := dial(t, lo.Next(), to)
	roundTrip(t, c)
	closed := *s
	closed.Proxies = []snapshot.Proxy{s.Proxies[0]}
	closed.Proxies[0].Closed = true
	closed.Version = 2
	rep := mustApply(t, rt, &closed)
	if st, _ := rep.Listener("lsr-d"); st.State != edge.StateDraining {
		t.Errorf("got %+v; want draining", st)
	}
	if _, err := net.DialTimeout("tcp", to.String(), time.Second); err == nil {
		t.Error("closed proxy still accepts")
	}
	roundTrip(t, c) // Still served during the grace.
	waitEvent(t, rt, func(e edge.Event) bool { return e.Listener == "lsr-d" && e.State == edge.StateClosed })
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection survived the grace")
	}
}

// TestDrainedAnswerSaysClose guards the fast path's late look at the drain
// (fastWriter.writeHead): a request in flight when its listener is removed
// or the runtime closes finishes, and its answer says "Connection: close",
// as net/http's does, since the edge closes the connection after it. The
// fast path decided when the request began, so the answer advertised
// keep-alive and the connection then closed under a client that had
// pooled it (a POST sent into it cannot safely be retried).
func TestDrainedAnswerSaysClose(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, extra string
		close       bool // Runtime.Close (a restart) rather than removing the listener.
	}{{"fast path", "", false}, {"fast path, Runtime.Close", "", true}, {"net/http", "Pragma: no-cache\r\n", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rt := newRuntime(t, edge.Options{DrainGrace: 5 * time.Second})
			slow := make(chan struct{})
			o, open := countingOrigin(t, "a", slow)
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-drain", Protocol: snapshot.ProtoHTTP, Port: port,
				Domains: []snapshot.Domain{{Host: "a.test", Rules: []snapshot.Rule{rule("r-a", "/", l7Origins(o))}}}}))
			to := netip.AddrPortFrom(ip, uint16(port))
			c := dial(t, lo.Next(), to)
			io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a.test\r\n"+tc.extra+"\r\n")
			if !waitOpen(open, 1) {
				t.Fatal("the request did not reach the origin")
			}
			if tc.close {
				go rt.Close(context.Background())
			} else {
				mustApply(t, rt, httpProxy(2, ip))
			}
			// The drain has begun once the socket refuses (Server.Shutdown
			// marks it first).
			for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				d, err := net.DialTimeout("tcp", to.String(), time.Second)
				if err != nil {
					break
				}
				d.Close()
				if time.Now().After(deadline) {
					t.Fatal("the listener still accepts")
				}
			}
			close(slow)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("in-flight request across the drain: %v", err)
			}
			if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "a" {
				t.Fatalf("in-flight answer: %q, %v", body, err)
			}
			if _, err := br.ReadByte(); err == nil || !resp.Close {
				t.Errorf("answer said Connection %q (close %v), then the connection read %v; want it to say close, then end",
					resp.Header.Get("Connection"), resp.Close, err)
			}
		})
	}
}

// TestReplacedListenerRetired: a listener that another takes over on the
// same socket in one snapshot (A deleted, B created on its port) is
// reported removed, sends its "closed" event and has its counters reported
// once more, then dropped, as if its socket had gone. A listener that
// moves to another port while another takes its old one keeps its counters.
func TestReplacedListenerRetired(t *testing.T) {
	t.Parallel()
	addrs := namedOrigins(t, 1)
	ip := lo.Next()
	port, port2 := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-ra", snapshot.ProtoTCP, port, origins(addrs...))))
	to := netip.AddrPortFrom(ip, uint16(port))
	readName(t, lo.Next(), to)
	rep := mustApply(t, rt, oneProxy(2, ip, listener("lsr-rb", snapshot.ProtoTCP, port, origins(addrs...))))
	checkRetired(t, rt, rep, "lsr-ra", func(v stats.Values) bool { return v.NewConns == 1 })

	// lsr-rb moves to port2 while lsr-rc takes port: lsr-rb lives on.
	readName(t, lo.Next(), to)
	mustApply(t, rt, oneProxy(3, ip, listener("lsr-rc", snapshot.ProtoTCP, port, origins(addrs...)),
		listener("lsr-rb", snapshot.ProtoTCP, port2, origins(addrs...))))
	rt.Sample()
	if v := rt.Sample().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-rb"}]; v.NewConns != 1 {
		t.Errorf("moved listener lsr-rb: %+v; want its counters kept", v)
	}
}

// checkRetired checks that listener id, which another listener replaced
// on its socket in the Apply that reported rep, was retired: reported
// removed, its "closed" event sent, its final figures (as final says) in
// the last Sample that reports it, and that one soon: once its last
// connection has stopped counting as open (which may come just after the
// event).
func checkRetired(t *testing.T, rt *edge.Runtime, rep edge.Report, id string, final func(stats.Values) bool) {
	t.Helper()
	if st, _ := rep.Listener(id); st.Change != edge.ChangeRemoved {
		t.Errorf("replaced listener %s: got %+v; want removed", id, st)
	}
	waitEvent(t, rt, func(e edge.Event) bool { return e.Listener == id && e.State == edge.StateClosed })
	k := stats.Key{Kind: stats.KindListener, ID: id}
	var last stats.Values
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		v, ok := rt.Sample().Values[k]
		if !ok {
			break
		}
		if last = v; time.Since(start) > 2*time.Second {
			t.Errorf("replaced listener %s still reported 2 s after it closed: %+v", id, v)
			return
		}
	}
	if !final(last) {
		t.Errorf("last sample of %s: %+v; want its final figures", id, last)
	}
}

// TestDrainingConnectionsCountForLC: a removed listener's connections,
// open while it drains, still count on their origin, so a listener added
// later with lc sends new connections to the other origin.
func TestDrainingConnectionsCountForLC(t *testing.T) {
	t.Parallel()
	hold := func(name string) func(net.Conn) {
		return func(c net.Conn) { _, _ = io.WriteString(c, name); edgetest.Sink(c) }
	}
	x := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), hold("x")).Addr
	y := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), hold("y")).Addr
	ip := lo.Next()
	portA, portB := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{DrainGrace: 10 * time.Second})
	open := func(port int) string {
		c := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
		t.Cleanup(func() { c.Close() })
		b := make([]byte, 1)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(b)
	}
	mustApply(t, rt, oneProxy(1, ip, listener("lsr-a", snapshot.ProtoTCP, portA, origins(x))))
	open(portA)
	open(portA)
	mustApply(t, rt, oneProxy(2, ip)) // lsr-a drains with two connections to x.
	b := listener("lsr-b", snapshot.ProtoTCP, portB, origins(y, x))
	b.Scheduler = snapshot.SchedLC
	mustApply(t, rt, oneProxy(3, ip, b))
	for i := range 2 {
		if got := open(portB); got != "y" {
			t.Fatalf("connection %d with x holding 2 draining connections: got %q; want y", i, got)
		}
	}
}

func TestInvalidListenerKeepsPrevious(t *testing.T) {
	t.Parallel()
	echo := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	good := listener("lsr-v", snapshot.ProtoTCP, port, origins(echo.Addr))
	mustApply(t, rt, oneProxy(1, ip, good))
	broken := good
	broken.Scheduler = "bogus"
	rep := rt.Apply(oneProxy(2, ip, broken))
	st, _ := rep.Listener("lsr-v")
	if rep.OK() || st.State != edge.StateInvalid {
		t.Errorf("got %+v; want invalid", st)
	}
	roundTrip(t, dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port))))
	if n := strings.Count(fmt.Sprint(rep.Listeners), "lsr-v"); n != 1 {
		t.Errorf("lsr-v reported %d times; want once", n)
	}
}
