package l7

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestFirstDenial: the datagrams of one client socket less than
// deniedWithin apart count once, however long it keeps resending (the
// socket drops them unanswered: a client resends for its whole handshake
// timeout, and one of over deniedWithin counted twice); after
// deniedWithin of silence, again. The table stays bounded (when full,
// every denial counts) and the sweep's prune makes room again.
func TestFirstDenial(t *testing.T) {
	s := &H3Server{denied: map[netip.AddrPort]time.Time{}}
	now := time.Now()
	a := net.UDPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.1:4000"))
	if !s.firstDenial(a, now) || s.firstDenial(a, now.Add(deniedWithin-time.Millisecond)) {
		t.Fatal("one socket's Initials within deniedWithin: want one denial")
	}
	if s.firstDenial(a, now.Add(2*deniedWithin-2*time.Millisecond)) {
		t.Fatal("a client resending for longer than deniedWithin, each datagram within it of the last: want one denial")
	}
	if !s.firstDenial(a, now.Add(4*deniedWithin)) {
		t.Fatal("after deniedWithin of silence: want a new denial")
	}
	for i := range maxDenied {
		s.firstDenial(net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), uint16(i))), now)
	}
	if len(s.denied) != maxDenied {
		t.Fatalf("table holds %d; want %d", len(s.denied), maxDenied)
	}
	b := net.UDPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.2:4000"))
	for range 2 {
		if !s.firstDenial(b, now) || len(s.denied) != maxDenied {
			t.Fatal("full table: want every denial counted and nothing added")
		}
	}
	s.pruneDenied(now.Add(6 * deniedWithin))
	if len(s.denied) != 0 {
		t.Fatalf("after prune: %d left", len(s.denied))
	}
}
