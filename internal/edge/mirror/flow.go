package mirror

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/opengaap/opengaap/internal/edge/l4"
)

// Sizes of the VXLAN packet around a synthesized TCP segment's payload:
// outer IPv4 + UDP, VXLAN, Ethernet, inner IPv4 + TCP.
const (
	segOverhead = 20 + 8 + 8 + 14 + 20 + 20
	maxIPPacket = 65535 // IPv4 total length.
	defaultMTU  = 1500  // Ethernet's: when the route's MTU cannot be learnt, or is larger.
	minMTU      = 576   // IPv4's minimum datagram every host accepts.
)

// segmentSize is the largest TCP payload of a synthesized segment sent
// over a route whose MTU is mtu. A collector on this host (loopback) gets
// a chunk of up to 64 KiB as one segment, as a capture on lo or on a host
// with TCP segmentation offload shows it. Any other gets packets of at
// most Ethernet's 1500 bytes (1410 payload bytes), since the first hop's
// MTU (a jumbo-frame interface's 9001) says nothing of the path beyond it
// and the packets have DF set.
func segmentSize(mtu int) int {
	if mtu >= maxIPPacket { // Loopback: 64 KiB, reported capped at 65535.
		return maxIPPacket - segOverhead
	}
	return min(max(mtu, minMTU), defaultMTU) - segOverhead
}

// flowKey is what decides how a flow is copied: its listener, its
// five-tuple and the directions its tap observes.
type flowKey struct {
	proxy, listener string
	proto           string
	client, local   netip.AddrPort
	want            [2]bool // By l4.Dir.
}

// flow is one mirrored connection or session, shared by the data path
// (which offers events) and the sender (which owns the seq state).
type flow struct {
	m *mirror
	flowKey
	rt  atomic.Pointer[route] // As last decided, under some configuration of m.
	isn [2]uint32

	// Producer side: bytes read per direction, each written by the one
	// goroutine copying that direction; events carry them (event.other).
	off [2]atomic.Uint64

	// Sender side only.
	copied [2]bool   // By l4.Dir: the directions the route of the last event handled copied.
	next   [2]uint64 // Bytes of each direction emitted so far.
	// seen is how far each direction had got when the events handled so
	// far were offered: the ack numbers of a direction not copied. Not
	// off as the sender reads it, which a sender that lags the relay
	// would show acknowledging bytes not yet sent.
	seen [2]uint64
	fin  [2]bool // FIN emitted.
	ipID [2]uint16
}

func newFlow(m *mirror, k flowKey, r *route) *flow {
	fl := &flow{m: m, flowKey: k, isn: [2]uint32{rand.Uint32(), rand.Uint32()}, copied: r.copies}
	fl.rt.Store(r)
	return fl
}

// route returns how the flow is copied under its mirror's current
// configuration, deciding again when the mirror was updated: a flow keeps
// being copied as long as the mirror runs and still covers it. Both
// producers and the sender may decide at once; they decide alike.
func (fl *flow) route() *route {
	c, r := fl.m.cfg.Load(), fl.rt.Load()
	if r.c != c {
		r = c.route(&fl.flowKey)
		fl.rt.Store(r)
	}
	return r
}

// sendRoute is route as the sender sees it: it keeps the flow's sequence state
// across updates of its mirror. While a direction is not copied, the other
// direction's acks count the bytes the edge relayed (sent); when an update
// starts copying it again, what it emits resumes there, so its sequence
// numbers and the other side's acks go on rather than back to what was
// last emitted.
func (fl *flow) sendRoute() *route {
	r := fl.route()
	for d, c := range r.copies {
		if c && !fl.copied[d] {
			fl.next[d] = max(fl.next[d], fl.off[d].Load())
		}
	}
	fl.copied = r.copies
	return r
}

// copying returns the flow's route, or nil when the flow goes quiet: its
// mirror stopped or no longer copies it.
func (fl *flow) copying() *route {
	if fl.m.stopped.Load() {
		return nil
	}
	if r := fl.route(); r.any() {
		return r
	}
	return nil
}

// mss is the largest payload of a segment on the route to the flow's
// collector, as last learnt.
func (fl *flow) mss() int { return fl.route().mss() }

// Event kinds.
const (
	evOpen  = iota // TCP three-way handshake.
	evData         // TCP payload chunk at offset off.
	evFin          // TCP FIN after off bytes.
	evClose        // TCP end by reset: the proxy's RST.
	evUDP          // One datagram.
)

// event is one unit of work for the sender.
type event struct {
	fl    *flow
	kind  uint8
	dir   l4.Dir
	off   uint64
	other uint64  // TCP: the other direction's offset when the event was offered.
	data  []byte  // evUDP: the datagram.
	buf   *[]byte // Pool handle of data, if pooled.
	chunk l4.Chunk
	n     int // evData: bytes kept in chunk.
	read  int // evData: bytes of them the sender has read.
}

// size is the payload ev holds (counted in Engine.pending).
func (ev *event) size() int { return len(ev.data) + ev.n }

// packets is the number of packets ev turns into with a payload of n
// bytes (for drop counts).
func (ev *event) packets(n int) int {
	switch ev.kind {
	case evOpen:
		return 3
	case evData:
		return ev.fl.dataPackets(n)
	case evFin:
		return 2
	}
	return 1
}

// dropped counts the packets ev would have produced with n payload bytes
// as dropped.
func (ev *event) dropped(n int) { ev.fl.m.stats.Dropped.Add(int64(ev.packets(n))) }

// dataPackets is the number of packets a data chunk of n bytes turns
// into: its segments and the receiver's ACK.
func (fl *flow) dataPackets(n int) int { mss := fl.mss(); return (n+mss-1)/mss + 1 }

// skip reads and discards what is left of a kept chunk, through buf.
func (ev *event) skip(buf []byte) {
	for ev.chunk != nil && ev.read < ev.n {
		k := ev.chunk.Read(buf[:min(len(buf), ev.n-ev.read)])
		if k == 0 {
			return
		}
		ev.read += k
	}
}

func (ev *event) release() {
	if ev.buf != nil {
		putBuf(ev.buf)
		ev.buf, ev.data = nil, nil
	}
	if ev.chunk != nil {
		ev.chunk.Release(ev.n - ev.read)
		ev.chunk, ev.n = nil, 0
	}
}

// tcpFlow is the l4.TCPTap of one connection.
type tcpFlow struct{ *flow }

func (t *tcpFlow) open() { t.m.e.offer(event{fl: t.flow, kind: evOpen}, 0, nil) }

// Data implements l4.TCPTap: the chunk is kept only when its direction is
// copied and the queue has room for it; otherwise only the offset
// advances, so the sequence numbers of what follows (and the other
// direction's acks) stay right and the loss shows as a gap. The sender
// reads what was kept.
func (t *tcpFlow) Data(d l4.Dir, n int, c l4.Chunk) {
	off := t.off[d].Add(uint64(n)) - uint64(n)
	if r := t.copying(); r == nil || !r.copies[d] {
		return
	}
	t.m.e.offer(event{fl: t.flow, kind: evData, dir: d, off: off, other: t.off[1-d].Load()}, n, func(ev *event, limit int) int { return ev.keep(c, limit) })
}

// keep is the take of a TCP chunk: what c keeps, the sender reads.
func (ev *event) keep(c l4.Chunk, limit int) int {
	if k := c.Keep(limit); k > 0 {
		ev.chunk, ev.n = c, k
	}
	return ev.n
}

// End implements l4.TCPTap.
func (t *tcpFlow) End(d l4.Dir) {
	if t.copying() != nil {
		t.m.e.offer(event{fl: t.flow, kind: evFin, dir: d, off: t.off[d].Load(), other: t.off[1-d].Load()}, 0, nil)
	}
}

// Close implements l4.TCPTap.
func (t *tcpFlow) Close(reset bool) {
	if reset && t.copying() != nil {
		t.m.e.offer(event{fl: t.flow, kind: evClose, dir: l4.Egress, off: t.off[l4.Egress].Load(), other: t.off[l4.Ingress].Load()}, 0, nil)
	}
}

// udpFlow is the l4.UDPTap of one session direction.
type udpFlow struct {
	*flow
	dir l4.Dir
}

// Datagram implements l4.UDPTap.
func (u *udpFlow) Datagram(p []byte) {
	if u.copying() == nil {
		return
	}
	u.m.e.offer(event{fl: u.flow, kind: evUDP, dir: u.dir}, len(p), func(ev *event, limit int) int {
		if limit < len(p) {
			return 0
		}
		ev.buf = getBuf(len(p))
		ev.data = (*ev.buf)[:copy(*ev.buf, p)]
		return len(ev.data)
	})
}

// Payload buffers come from size-classed pools so a queue full of small
// datagrams does not pin 64 KiB buffers.
var pools = [...]struct {
	size int
	p    sync.Pool
}{{size: 2 << 10}, {size: 16 << 10}, {size: 64 << 10}}

// getBuf returns a pooled buffer of at least n bytes (n ≤ 64 KiB, the
// largest datagram; larger ones are allocated and not pooled).
func getBuf(n int) *[]byte {
	for i := range pools {
		if n <= pools[i].size {
			if b, _ := pools[i].p.Get().(*[]byte); b != nil {
				return b
			}
			s := make([]byte, pools[i].size)
			return &s
		}
	}
	s := make([]byte, n)
	return &s
}

func putBuf(b *[]byte) {
	for i := range pools {
		if cap(*b) == pools[i].size {
			pools[i].p.Put(b)
			return
		}
	}
}
