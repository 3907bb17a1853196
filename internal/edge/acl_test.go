package edge_test

import (
	"bufio"
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

func TestSecurityPolicy(t *testing.T) {
	t.Parallel()
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	good, bad := lo.Next(), lo.Next()
	rt := newRuntime(t, edge.Options{})
	s := oneProxy(1, ip, listener("lsr-acl", snapshot.ProtoTCP, port, origins(origin.Addr)))
	s.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionDrop,
		Rules: []snapshot.SecurityRule{{SourceCIDR: good.String() + "/32", Protocol: "TCP", DestPorts: "1-65535", Action: snapshot.ActionAccept}}}
	mustApply(t, rt, s)
	to := netip.AddrPortFrom(ip, uint16(port))

	if !echoes(t, good, to) {
		t.Errorf("allowed source %v refused", good)
	}
	if echoes(t, bad, to) {
		t.Errorf("denied source %v served", bad)
	}
	if d := rt.Stats().Values[stats.Key{Kind: stats.KindProxy, ID: "link-1"}].Denied; d != 1 {
		t.Errorf("denied: got %d; want 1", d)
	}

	// A long-lived allowed connection is closed when a new policy denies it.
	c := dial(t, good, to)
	roundTrip(t, c)
	s2 := oneProxy(2, ip, s.Proxies[0].Listeners...)
	s2.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionDrop}
	mustApply(t, rt, s2)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := io.ReadAll(c) // EOF or reset: either way the edge closed it.
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("connection still open after the policy denied it")
	}
}

// echoes reports whether a round trip from src through to works.
func echoes(t *testing.T, src netip.Addr, to netip.AddrPort) bool {
	d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	c, err := d.Dial("tcp", to.String())
	if err != nil {
		return false // A denied client may see the reset already in connect.
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return false
	}
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	return err == nil && string(buf) == "ping"
}

func roundTrip(t *testing.T, c interface {
	Write([]byte) (int, error)
	Read([]byte) (int, error)
}) {
	t.Helper()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("round trip: got %q, %v; want ping", buf, err)
	}
}

// TestPolicyChangeRechecksDrainingConnections: a removed listener's open
// connections are still served while they drain (DrainGrace), so a policy
// change rechecks them as it does those of running listeners, on either
// layer: a DROP rule added against a client resets its draining TCP
// connection, HTTP/1.1 WebSocket or HTTP/3 WebSocket at once instead of
// leaving it open for the rest of the grace; another client's stays.
func TestPolicyChangeRechecksDrainingConnections(t *testing.T) {
	t.Parallel()
	const grace = 20 * time.Second // Far longer than the test: only the recheck ends a connection.
	// Each case starts a runtime serving one listener of proxy link-1;
	// without is that proxy with the listener removed, and open connects
	// from src and returns a round trip over the connection.
	type setup struct {
		rt      *edge.Runtime
		without func(v int64) *snapshot.Snapshot
		open    func(src netip.Addr) func(msg string) error
	}
	cases := []struct {
		name  string
		start func(t *testing.T) setup
	}{
		{"TCP", func(t *testing.T) setup {
			o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
			rt := newRuntime(t, edge.Options{DrainGrace: grace})
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			mustApply(t, rt, oneProxy(1, ip, listener("lsr-dr", snapshot.ProtoTCP, port, origins(o.Addr))))
			return setup{rt, func(v int64) *snapshot.Snapshot { return oneProxy(v, ip) }, func(src netip.Addr) func(string) error {
				c := dial(t, src, netip.AddrPortFrom(ip, uint16(port)))
				return connEcho(c, c)
			}}
		}},
		{"WebSocket", func(t *testing.T) setup {
			o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), upgradeEcho)
			rt := newRuntime(t, edge.Options{DrainGrace: grace})
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			mustApply(t, rt, httpProxy(1, ip, snapshot.HTTPListener{ID: "lsr-dr", Protocol: snapshot.ProtoHTTP, Port: port,
				Domains: []snapshot.Domain{{Host: "w.test", Rules: []snapshot.Rule{rule("r-ws", "/ws", l7Origins(o.Addr))}}}}))
			return setup{rt, func(v int64) *snapshot.Snapshot { return httpProxy(v, ip) }, func(src netip.Addr) func(string) error {
				return connEcho(upgradeWS(t, src, netip.AddrPortFrom(ip, uint16(port))))
			}}
		}},
		{"HTTP3WebSocket", func(t *testing.T) setup {
			rt, ca, ip, port, addr := h3Setup(t, edge.Options{DrainGrace: grace})
			o, _, _ := wsOrigin(t)
			mustApply(t, rt, httpProxy(1, ip, h3Listener(t, ca, port, o)))
			return setup{rt, func(v int64) *snapshot.Snapshot { return httpProxy(v, ip) }, func(src netip.Addr) func(string) error {
				str, resp := extendedConnect(t, h3Conn(t, src, addr, ca), "websocket", "/chat")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("extended CONNECT: got %d", resp.StatusCode)
				}
				return func(msg string) error { // The origin echoes upper-cased.
					_ = str.SetReadDeadline(time.Now().Add(2 * time.Second))
					if _, err := str.Write([]byte(msg)); err != nil {
						return err
					}
					buf := make([]byte, len(msg))
					if _, err := io.ReadFull(str, buf); err != nil || string(buf) != strings.ToUpper(msg) {
						return fmt.Errorf("echo of %q: got %q, %v", msg, buf, err)
					}
					return nil
				}
			}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.start(t)
			denied, other := lo.Next(), lo.Next()
			d, o := s.open(denied), s.open(other)
			for _, msg := range []string{"open", "draining"} {
				for _, echo := range []func(string) error{d, o} {
					if err := echo(msg); err != nil {
						t.Fatal(err)
					}
				}
				if msg == "open" { // Accepted: the listener drains with both.
					mustApply(t, s.rt, s.without(2))
				}
			}
			drop := s.without(3)
			drop.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionAccept,
				Rules: []snapshot.SecurityRule{{SourceCIDR: denied.String(), Protocol: snapshot.ProtoAll, DestPorts: "ALL", Action: snapshot.ActionDrop}}}
			mustApply(t, s.rt, drop)
			if err := d("denied"); err == nil {
				t.Error("a draining connection of a client the policy now denies is still served; want it reset")
			}
			if err := o("allowed"); err != nil {
				t.Errorf("another client's draining connection after the policy change: %v", err)
			}
		})
	}
}

// TestPolicyChangeReachesConnectionsBeingAdmitted: a policy change
// rechecks open connections (docs/dataplane-l4.md, docs/dataplane-l7.md),
// and that includes one being admitted while the Apply runs: once Apply
// of a DefaultAction DROP policy has returned, no connection may be
// served, whether it was already open or was admitted under the old
// policy but not yet listed when the recheck walked the connections.
// Clients keep connecting while the policy goes from ACCEPT to DROP, round
// after round. The window, from the policy read at admission to the
// connection's registration, is made wide by construction: the ACCEPT
// policy's one rule (it never matches) lists port 1 slowPorts times, so
// that reading it takes a fraction of a millisecond, and the DROP Apply
// lands in an admission in about one round in three (without -race).
func TestPolicyChangeReachesConnectionsBeingAdmitted(t *testing.T) {
	t.Parallel()
	const slowPorts = 200_000
	slow := strings.Repeat("1,", slowPorts-1) + "1"
	accept := &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionAccept,
		Rules: []snapshot.SecurityRule{{SourceCIDR: "ALL", Protocol: snapshot.ProtoAll, DestPorts: slow, Action: snapshot.ActionDrop}}}
	drop := &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionDrop}
	// Each case serves a listener at ip:port with the given policy, and
	// served reports whether a client connection still gets an answer.
	cases := []struct {
		name   string
		start  func(t *testing.T, ip netip.Addr, port int) func(v int64, p *snapshot.SecurityPolicy) *snapshot.Snapshot
		served func(c net.Conn, br *bufio.Reader) bool
	}{
		{"TCP", func(t *testing.T, ip netip.Addr, port int) func(int64, *snapshot.SecurityPolicy) *snapshot.Snapshot {
			l := listener("lsr-adm", snapshot.ProtoTCP, port, origins(edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo).Addr))
			return func(v int64, p *snapshot.SecurityPolicy) *snapshot.Snapshot {
				s := oneProxy(v, ip, l)
				s.Proxies[0].Policy = p
				return s
			}
		}, func(c net.Conn, br *bufio.Reader) bool {
			if _, err := c.Write([]byte("ping")); err != nil {
				return false
			}
			buf := make([]byte, 4)
			_, err := io.ReadFull(br, buf)
			return err == nil && string(buf) == "ping"
		}},
		{"HTTP", func(t *testing.T, ip netip.Addr, port int) func(int64, *snapshot.SecurityPolicy) *snapshot.Snapshot {
			l := snapshot.HTTPListener{ID: "lsr-adm", Protocol: snapshot.ProtoHTTP, Port: port,
				Domains: []snapshot.Domain{{Host: "w.test", Rules: []snapshot.Rule{rule("r-adm", "/", l7Origins(httpOrigin(t, "o", nil)))}}}}
			return func(v int64, p *snapshot.SecurityPolicy) *snapshot.Snapshot {
				s := httpProxy(v, ip, l)
				s.Proxies[0].Policy = p
				return s
			}
		}, func(c net.Conn, br *bufio.Reader) bool {
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: w.test\r\n\r\n"); err != nil {
				return false
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return false
			}
			_, err = io.Copy(io.Discard, resp.Body)
			return err == nil && resp.StatusCode == http.StatusOK
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ip := lo.Next()
			port := edgetest.FreePort(t, ip)
			to := netip.AddrPortFrom(ip, uint16(port))
			rt := newRuntime(t, edge.Options{})
			snap := tc.start(t, ip, port)
			srcs := make([]netip.Addr, 8)
			for i := range srcs {
				srcs[i] = lo.Next()
			}
			type client struct {
				c  net.Conn
				br *bufio.Reader
			}
			v := int64(0)
			for round, end := 0, time.Now().Add(3*time.Second); round < 100 && time.Now().Before(end); round++ {
				v++
				mustApply(t, rt, snap(v, accept))
				var mu sync.Mutex
				var clients []client
				stop := make(chan struct{})
				var wg sync.WaitGroup
				for _, src := range srcs {
					wg.Add(1)
					go func() { // Connects, and once served connects again.
						defer wg.Done()
						d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
						for {
							select {
							case <-stop:
								return
							default:
							}
							c, err := d.Dial("tcp", to.String())
							if err != nil {
								continue
							}
							cl := client{c, bufio.NewReader(c)}
							mu.Lock()
							clients = append(clients, cl)
							mu.Unlock()
							_ = c.SetDeadline(time.Now().Add(time.Second))
							tc.served(cl.c, cl.br)
						}
					}()
				}
				time.Sleep(time.Duration(5+round%5) * time.Millisecond)
				v++
				mustApply(t, rt, snap(v, drop))
				close(stop)
				wg.Wait()
				var served atomic.Int32
				var check sync.WaitGroup
				for _, cl := range clients {
					check.Add(1)
					go func() {
						defer check.Done()
						defer cl.c.Close()
						_ = cl.c.SetDeadline(time.Now().Add(time.Second))
						if tc.served(cl.c, cl.br) {
							served.Add(1)
						}
					}()
				}
				check.Wait()
				if n := served.Load(); n > 0 {
					t.Fatalf("round %d: %d of %d connections served after Apply of a DefaultAction DROP policy returned; want 0", round, n, len(clients))
				}
			}
		})
	}
}
