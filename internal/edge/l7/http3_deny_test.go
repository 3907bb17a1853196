package l7

import (
	"net"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/opengaap/opengaap/internal/edge/acl"
	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// deniedSocket is a quicSocket on 127.0.0.1 whose proxy drops every
// datagram from denied (127.0.0.2), a client socket on denied, and a
// count of the denials the socket reported.
func deniedSocket(t *testing.T) (*quicSocket, *Handler, *net.UDPConn, *int) {
	t.Helper()
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skip("no 127.0.0.2:", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	pol, err := acl.Compile(&snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionAccept,
		Rules: []snapshot.SecurityRule{{SourceCIDR: "127.0.0.2/32", Protocol: snapshot.ProtoAll, DestPorts: "ALL", Action: snapshot.ActionDrop}}})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{ID: "lsr-h3", Proxy: l4.NewProxy("link-1", new(stats.Counters)), port: srv.LocalAddr().(*net.UDPAddr).Port}
	h.Proxy.Policy.Store(pol)
	denials := new(int)
	c := newQUICSocket(srv, func() *Handler { return h }, func(net.Addr) { *denials++ })
	t.Cleanup(func() { _ = c.Close() })
	return c, h, cli, denials
}

// sendAndRead sends k datagrams of size bytes from cli to c and reads
// them with one ReadBatch, returning how long it took.
func sendAndRead(t *testing.T, c *quicSocket, cli *net.UDPConn, k, size int) (int, time.Duration) {
	t.Helper()
	for range k {
		if _, err := cli.WriteTo(make([]byte, size), c.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // All queued.
	ms := make([]ipv4.Message, k)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 1500)}
	}
	start := time.Now()
	n, err := c.ReadBatch(ms, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:n] {
		if m.N != 0 {
			t.Fatalf("a denied datagram was handed to quic-go (N=%d)", m.N)
		}
	}
	return n, time.Since(start)
}

// TestH3DeniedDatagramsSpendNoBandwidth: datagrams the socket's policy
// drops are not charged to the proxy's In bucket (shared with its TCP
// listeners), as a UDP listener filters first: charged, a denied source's
// flood stalled the socket's reads, every allowed client's QUIC traffic
// with them, and took the tokens of the proxy's admitted traffic.
func TestH3DeniedDatagramsSpendNoBandwidth(t *testing.T) {
	c, h, cli, _ := deniedSocket(t)
	h.Proxy.BW.SetMbps(1) // 125 kB/s.
	n, took := sendAndRead(t, c, cli, 64, 1400)
	if took > 400*time.Millisecond { // Charged, 64 × 1400 B at 1 Mbit/s wait ~700 ms.
		t.Errorf("reading %d datagrams the policy drops waited %v for bandwidth; want no wait (they are not admitted traffic)", n, took)
	}
}

// TestH3DeniedDatagramsNotMirrored: a denied source's datagrams are not
// copied to the proxy's traffic mirror, as a UDP listener mirrors only
// what its policy admits: shown before the filter, each spoofed denied
// source took one of the socket's flow entries, and a denied flood left
// allowed clients unmirrored.
func TestH3DeniedDatagramsNotMirrored(t *testing.T) {
	c, h, cli, denials := deniedSocket(t)
	tap := &countTap{}
	h.Proxy.SetTap(tap)
	sendAndRead(t, c, cli, 4, 100)
	if *denials == 0 {
		t.Fatal("no denial reported")
	}
	if tap.flows != 0 {
		t.Errorf("denied source's datagrams were offered to the mirror (%d flows made); want none", tap.flows)
	}
}
