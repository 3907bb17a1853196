package l7

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
)

// countTap is an l4.Tap that observes every UDP flow and counts the
// observers it hands out and the datagrams it is told were skipped.
type countTap struct{ flows, skipped int }

func (t *countTap) TCP(l4.Flow) l4.TCPTap { return nil }
func (t *countTap) UDP(l4.Flow, l4.Dir) l4.UDPTap {
	t.flows++
	return nopUDPTap{}
}
func (t *countTap) SkipUDP(_ l4.Flow, _ l4.Dir, n int) { t.skipped += n }

type nopUDPTap struct{}

func (nopUDPTap) Datagram([]byte) {}

// TestH3MirrorFlowsBounded: while a proxy has a traffic mirror, every
// datagram an HTTP/3 listener reads makes a flow for its source address
// before QUIC has validated anything, kept IdleTimeout (75 s). A UDP
// source is trivially spoofed, so the flows of one socket are bounded by
// count: 100,000 single datagrams from distinct sources leave at most
// MaxH3MirrorFlows flows, and the datagrams of the sources past the bound
// are not mirrored but counted as skipped. A client mirrored before the
// flood goes on being mirrored.
func TestH3MirrorFlowsBounded(t *testing.T) {
	tap := &countTap{}
	h := &Handler{ID: "lsr-h3", Proxy: l4.NewProxy("link-1", new(stats.Counters))}
	h.Proxy.SetTap(tap)
	var m h3Mirror
	local := netip.MustParseAddrPort("127.0.0.1:443")
	payload := []byte{0xc0, 0, 0, 0, 1} // A QUIC long-header first byte, say.
	first := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5000}
	m.ingress(h, local, []ipv4.Message{{Buffers: [][]byte{payload}, N: len(payload), Addr: first}})
	const n = 100_000
	batch := make([]ipv4.Message, 0, 64)
	for i := range n {
		src := &net.UDPAddr{IP: net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)), Port: 40000 + i%20000}
		batch = append(batch, ipv4.Message{Buffers: [][]byte{payload}, N: len(payload), Addr: src})
		if len(batch) == cap(batch) || i == n-1 {
			m.ingress(h, local, batch)
			batch = batch[:0]
		}
	}
	m.prune(time.Now()) // The sweep that follows, 500 ms later at most.
	if got := len(m.flows); got > MaxH3MirrorFlows {
		t.Errorf("h3 mirror holds %d flows after %d spoofed single datagrams; want at most %d", got, n, MaxH3MirrorFlows)
	}
	if want := n + 1 - MaxH3MirrorFlows; tap.skipped != want || tap.flows != MaxH3MirrorFlows {
		t.Errorf("%d flows observed, %d datagrams skipped; want %d and %d", tap.flows, tap.skipped, MaxH3MirrorFlows, want)
	}
	// The first client's replies are still mirrored: its flow was kept.
	m.egress(h, local, first, payload, nil)
	if tap.flows != MaxH3MirrorFlows+1 || tap.skipped != n+1-MaxH3MirrorFlows {
		t.Errorf("a reply to the client mirrored before the flood was not offered (%d flows, %d skipped)", tap.flows, tap.skipped)
	}
}
