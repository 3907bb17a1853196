package edge_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
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

// zone is a DNS server for domain origins: it answers the A and AAAA
// queries of the names set (TTL 1), which a test may change while it runs,
// and NODATA for any other name.
type zone struct {
	// resolver asks only this server (edge.Options.Resolver).
	resolver *net.Resolver
	mu       sync.Mutex
	records  map[string][]netip.Addr // By FQDN.
	queries  int
}

// startZone serves a zone on a fresh loopback address until the test ends.
func startZone(t *testing.T) *zone {
	t.Helper()
	pc, err := net.ListenPacket("udp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	z := &zone{records: map[string][]netip.Addr{}}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		qn, qt := q.Question[0].Name, q.Question[0].Qtype
		z.mu.Lock()
		z.queries++
		addrs := z.records[dns.CanonicalName(qn)]
		z.mu.Unlock()
		for _, a := range addrs {
			h := dns.RR_Header{Name: qn, Rrtype: qt, Class: dns.ClassINET, Ttl: 1}
			switch {
			case a.Is4() && qt == dns.TypeA:
				m.Answer = append(m.Answer, &dns.A{Hdr: h, A: a.AsSlice()})
			case a.Is6() && qt == dns.TypeAAAA:
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: h, AAAA: a.AsSlice()})
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	server := pc.LocalAddr().String()
	z.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, server)
	}}
	return z
}

// set makes name resolve to addrs (A records for the IPv4 ones, AAAA for
// the others).
func (z *zone) set(name string, addrs ...netip.Addr) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.records[dns.CanonicalName(name)] = addrs
}

// asked returns how many queries the zone has answered.
func (z *zone) asked() int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.queries
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
