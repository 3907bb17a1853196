package l4

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// slowOrigin listens with a full accept queue, so a connect to it hangs
// (SYNs dropped) instead of failing: a slow origin, not a refusing one.
func slowOrigin(t *testing.T) netip.AddrPort {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	for range 2 { // Fill the accept queue.
		c, err := net.DialTimeout("tcp", ap.String(), 200*time.Millisecond)
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return ap
}

// TestEdgeCutConnectLeavesOriginAlone: a connection the edge itself cuts
// (listener removal, Runtime.Close, a policy Recheck) while its connect is
// in progress says nothing about the origin: it is neither made suspect
// (every listener sharing it would pass it over) nor counted as failed.
func TestEdgeCutConnectLeavesOriginAlone(t *testing.T) {
	r, b, srv := oneOriginListener(t, slowOrigin(t))
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(300 * time.Millisecond) // The edge is now connecting.
	if n := r.Stats.DialFails.Load(); n != 0 || b.Suspect() {
		t.Fatalf("connect already failed (%d): the origin is not slow", n)
	}
	srv.Abort()
	<-srv.Shutdown(0)
	if n := r.Stats.DialFails.Load(); b.Suspect() || n != 0 {
		t.Errorf("after the edge cut a connect in progress: suspect %v, DialFails %d; want neither", b.Suspect(), n)
	}
}

// oneOriginListener serves a TCP listener on 127.0.0.1 with one origin,
// rr and no health checks; it returns the route, the origin's backend and
// the server.
func oneOriginListener(t *testing.T, origin netip.AddrPort) (*Route, *health.Backend, *TCPServer) {
	t.Helper()
	pool := health.NewPool(health.Options{Nameservers: []string{}})
	t.Cleanup(pool.Close)
	b := pool.Acquire(health.Key{Proto: snapshot.ProtoTCP, Host: origin.Addr().String(), Port: int(origin.Port())})
	r := &Route{ListenerID: "l", Proxy: NewProxy("p", &stats.Counters{}), ConnectTimeout: 5 * time.Second,
		Origins: map[string]*Origin{"o": {ID: "o", Backend: b, Stats: &stats.Counters{}}}, Stats: &stats.Counters{},
		Picker: balance.New(snapshot.SchedRR, []*balance.Target{{ID: "o", Backend: b}}, false, nil, 0)}
	srv, err := ListenTCP(netip.MustParseAddrPort("127.0.0.1:0"), r)
	if err != nil {
		t.Fatal(err)
	}
	return r, b, srv
}
