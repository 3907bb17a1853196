package edge_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// lo hands this package's tests addresses in 127.77.1.0/24.
var lo = edgetest.NewAlloc(1)

func newRuntime(t *testing.T, opts edge.Options) *edge.Runtime {
	t.Helper()
	if opts.DrainGrace == 0 {
		opts.DrainGrace = 2 * time.Second
	}
	rt := edge.New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = rt.Close(ctx)
	})
	return rt
}

func mustApply(t *testing.T, rt *edge.Runtime, s *snapshot.Snapshot) edge.Report {
	t.Helper()
	rep := rt.Apply(s)
	if !rep.OK() {
		t.Fatalf("apply v%d not OK: %+v", s.Version, rep)
	}
	return rep
}

// origins turns test servers into snapshot origins named o0, o1, ...
func origins(addrs ...netip.AddrPort) []snapshot.Origin {
	var out []snapshot.Origin
	for i, a := range addrs {
		out = append(out, snapshot.Origin{ID: fmt.Sprintf("o%d", i), Host: a.Addr().String(), Port: int(a.Port()), Weight: 10})
	}
	return out
}

func listener(id, proto string, port int, os []snapshot.Origin) snapshot.Listener {
	return snapshot.Listener{ID: id, Protocol: proto, Port: port, Scheduler: snapshot.SchedRR, Origins: os}
}

func oneProxy(v int64, ip netip.Addr, ls ...snapshot.Listener) *snapshot.Snapshot {
	return &snapshot.Snapshot{Version: v, Proxies: []snapshot.Proxy{{ID: "link-1", AccessIP: ip.String(), Listeners: ls}}}
}

// dial connects to the proxy from a chosen local source address.
func dial(t *testing.T, src netip.Addr, to netip.AddrPort) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	c, err := d.Dial("tcp", to.String())
	if err != nil {
		t.Fatalf("dial %v: %v", to, err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// readName connects, reads the origin's name until EOF.
func readName(t *testing.T, src netip.Addr, to netip.AddrPort) string {
	t.Helper()
	c := dial(t, src, to)
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// namedOrigins starts n origins on fresh addresses answering their name.
func namedOrigins(t *testing.T, n int) []netip.AddrPort {
	var out []netip.AddrPort
	for i := range n {
		s := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name(fmt.Sprintf("o%d", i)))
		out = append(out, s.Addr)
	}
	return out
}

// slowOrigin returns the address of a listening socket whose accept queue
// is full (backlog 0, never accepted): connects to it hang (SYNs dropped).
func slowOrigin(t *testing.T) netip.AddrPort {
	t.Helper()
	ip := lo.Next()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: ip.As4()}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.AddrPortFrom(ip, uint16(sa.(*unix.SockaddrInet4).Port))
	for range 3 { // Fill the accept queue.
		if c, err := net.DialTimeout("tcp", ap.String(), 200*time.Millisecond); err == nil {
			t.Cleanup(func() { _ = c.Close() })
		}
	}
	return ap
}

// connEcho returns a check that msg, written to c, comes back on r.
func connEcho(c net.Conn, r io.Reader) func(string) error {
	return func(msg string) error {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.WriteString(c, msg); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(r, buf); err != nil || string(buf) != msg {
			return fmt.Errorf("echo of %q: got %q, %v", msg, buf, err)
		}
		return nil
	}
}

// upgradeWS upgrades a connection from src through addr to a WebSocket on
// w.test/ws and returns it with its reader, past the 101.
func upgradeWS(t *testing.T, src netip.Addr, addr netip.AddrPort) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dial(t, src, addr)
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: w.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: got %v, %v", resp, err)
	}
	return c, br
}

// takenPort returns a TCP port of ip that another socket holds, for
// listeners whose bind must fail, until release or the test's end.
func takenPort(t *testing.T, ip netip.Addr) (port int, release func()) {
	t.Helper()
	busy, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	return busy.Addr().(*net.TCPAddr).Port, func() { _ = busy.Close() }
}
