package l7

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/udpbatch"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// MaxH3MirrorFlows bounds the client addresses one HTTP/3 socket keeps
// mirror flows for. A flow is made for the first datagram of a source,
// before QUIC has validated anything, and kept IdleTimeout after its last
// one; a UDP source is trivially spoofed, so without a bound a flood of
// sources would keep rate × IdleTimeout flows, as it would keep layer-4
// UDP sessions but for their node-wide bound. That bound counts
// descriptors, which these flows do not hold (they are memory: some 600
// bytes with both directions copied, 10 MB for a full socket), so they
// have their own. The datagrams of a client new to a full socket are not
// mirrored: they count in the Dropped counter of the mirror that would
// have copied them (l4.Proxy.SkipUDP), and the clients already mirrored
// go on being mirrored.
const MaxH3MirrorFlows = 1 << 14

// h3Mirror shows a proxy's traffic mirrors the datagrams of an HTTP/3
// listener's socket (QUIC packets as they crossed the wire), each client
// address being a UDP flow, as a layer-4 listener's sessions are. quic-go
// reads on one goroutine but writes from every connection's, hence mu;
// without a mirror on the proxy none of this runs.
type h3Mirror struct {
	mu    sync.Mutex
	flows map[netip.AddrPort]*h3Flow
}

type h3Flow struct {
	dir  [2]l4.UDPTapCache
	seen time.Time
}

// ingress offers the datagrams of one read batch.
func (m *h3Mirror) ingress(h *Handler, local netip.AddrPort, ms []ipv4.Message) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, msg := range ms {
		ua, ok := msg.Addr.(*net.UDPAddr)
		if !ok || len(msg.Buffers) == 0 || msg.N == 0 { // Empty: dropped (a denied source's).
			continue
		}
		if tap := m.tap(h, local, ua.AddrPort(), l4.Ingress, 1, now); tap != nil {
			tap.Datagram(msg.Buffers[0][:msg.N])
		}
	}
}

// egress offers what one write sent to client: b is one datagram, or
// several of seg bytes each (the last may be shorter) sent with GSO.
func (m *h3Mirror) egress(h *Handler, local netip.AddrPort, client *net.UDPAddr, b, oob []byte) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	seg := udpbatch.SegmentSize(oob)
	if seg <= 0 {
		seg = len(b)
	}
	tap := m.tap(h, local, client.AddrPort(), l4.Egress, (len(b)+seg-1)/seg, now)
	if tap == nil {
		return
	}
	for len(b) > 0 {
		k := min(seg, len(b))
		tap.Datagram(b[:k])
		b = b[k:]
	}
}

// tap returns the observer of direction d of client's flow, about to be
// offered n datagrams, or nil; m.mu is held. Past MaxH3MirrorFlows a new
// client gets no flow and its datagrams are counted as skipped.
func (m *h3Mirror) tap(h *Handler, local, client netip.AddrPort, d l4.Dir, n int, now time.Time) l4.UDPTap {
	flow := func() l4.Flow {
		return l4.Flow{ProxyID: h.Proxy.ID, ListenerID: h.ID, Proto: snapshot.ProtoUDP, Client: client, Local: local}
	}
	f := m.flows[client]
	if f == nil {
		if len(m.flows) >= MaxH3MirrorFlows {
			h.Proxy.SkipUDP(flow, d, n)
			return nil
		}
		if m.flows == nil {
			m.flows = map[netip.AddrPort]*h3Flow{}
		}
		f = &h3Flow{}
		m.flows[client] = f
	}
	f.seen = now
	return f.dir[d].Get(h.Proxy, d, flow)
}

// prune forgets clients quiet for longer than a QUIC connection may idle:
// their connections are gone.
func (m *h3Mirror) prune(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for a, f := range m.flows {
		if now.Sub(f.seen) > IdleTimeout {
			delete(m.flows, a)
		}
	}
}
