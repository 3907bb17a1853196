package health

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// exhaustFDs lowers the soft RLIMIT_NOFILE to 512 and opens /dev/null
// until the process gets EMFILE, as under a connection flood. The
// returned func (also run at cleanup) frees them and restores the limit.
// Tests using it must not run in parallel: the whole process is out of
// descriptors meanwhile.
func exhaustFDs(t *testing.T) (release func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = min(old.Cur, 512)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	var held []*os.File
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		for _, f := range held {
			f.Close()
		}
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	}
	t.Cleanup(release)
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("open: %v", err)
			}
			return release
		}
		held = append(held, f)
	}
}

// A check whose socket cannot be created for lack of descriptors says
// nothing about the origin: it is neither a failure nor a success, so an
// origin that answers every connect stays healthy through an episode of
// descriptor exhaustion (which would otherwise take every checked origin
// of the node out of service at once).
func TestCheckOutOfDescriptorsIsInconclusive(t *testing.T) {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				c.Close()
			}
		}
	}()
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	changes := make(chan Change, 16)
	p := NewPool(Options{Nameservers: []string{}, OnChange: func(c Change) { changes <- c }})
	defer p.Close()
	b := p.Acquire(Key{Owner: "u", Proto: snapshot.ProtoTCP, Host: ap.Addr().String(), Port: int(ap.Port()),
		Check: snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond, Healthy: 3, Unhealthy: 3}})
	defer p.Release(b)
	time.Sleep(300 * time.Millisecond)
	if !b.Healthy() {
		t.Fatal("origin down before descriptors ran out")
	}

	release := exhaustFDs(t)
	time.Sleep(time.Second) // About 10 checks while the process has no descriptor.
	healthy := b.Healthy()
	release()
	if !healthy {
		var reason string
		select {
		case c := <-changes:
			reason = c.Reason
		default:
		}
		t.Errorf("origin marked unhealthy while the edge was out of descriptors (reason %q)", reason)
	}
}

// A domain origin re-resolved while the process is out of descriptors
// (no socket for the DNS query) keeps its last good addresses: the name
// and its server are fine, and an empty list would take the origin out of
// service even with checks off.
func TestResolveOutOfDescriptorsKeepsAddresses(t *testing.T) {
	z := startZone(t)
	p, _ := domainPool(t, z)
	addr := netip.MustParseAddr("192.0.2.7")
	z.set("flood.test", record{addrs: []netip.Addr{addr}, ttl: 1})
	b := p.Acquire(domainKey("flood.test")) // Checks off.
	defer p.Release(b)
	edgetest.Eventually(t, 3*time.Second, func() bool { return addrOf(b) == addr }, "never resolved")

	release := exhaustFDs(t)
	var lost error
	// Longer than the 1 s TTL: re-resolved at least once meanwhile.
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end) && lost == nil; time.Sleep(20 * time.Millisecond) {
		_, lost = b.Addr()
	}
	release()
	if lost != nil {
		t.Errorf("domain origin lost its addresses while the edge was out of descriptors: %v", lost)
	}
}
