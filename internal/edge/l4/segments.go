package l4

import (
	"net"
	"sync"

	"github.com/opengaap/opengaap/internal/edge/stats"
)

// Segments publishes a TCP connection's packets: the data segments the
// kernel counted on the socket (TCP_INFO), as PacketsIn and PacketsOut.
// Reading them costs a getsockopt per call, not per read or write, and no
// wrapper. The kernel's totals only grow, so each call adds the growth
// since the last. Safe for concurrent use.
type Segments struct {
	mu      sync.Mutex
	in, out int64
}

// Peer is what a TCP socket's state says of its peer.
type Peer uint8

const (
	PeerOpen    Peer = iota // Established (or unknown).
	PeerSentFIN             // It closed its side.
	PeerReset               // It reset the connection.
)

// Publish reads c's TCP_INFO and adds the new segments to set; once c is
// closed there is nothing to read, so the last call must come before. It
// reports, from the same read, what became of the peer.
func (s *Segments) Publish(set stats.Set, c *net.TCPConn) Peer {
	ti, ok := readTCPInfo(c)
	if !ok {
		return PeerOpen
	}
	s.publish(set, ti)
	return ti.peer()
}

func (s *Segments) publish(set stats.Set, ti tcpInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.in = publish(set, packetsIn, s.in, int64(ti.dataSegsIn))
	s.out = publish(set, packetsOut, s.out, int64(ti.dataSegsOut))
}
