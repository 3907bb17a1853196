package l4

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/limit"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/edge/udpbatch"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// udpSession is one client's flow: a connected upstream socket to the
// origin picked when the session started.
type udpSession struct {
	srv    *UDPServer
	client netip.AddrPort
	caddr  *net.UDPAddr
	up     *net.UDPConn
	bc     batchConn
	route  *Route
	o      *Origin
	oaddr  netip.Addr      // The address of o the session sends to.
	t      *balance.Target // o's target in the picker of route.
	set    stats.Set
	hdr    []byte       // PROXY v2 or SPP header prefixed to every datagram, if configured.
	last   atomic.Int64 // Coarse mono.Now of the last datagram either way.
	once   sync.Once
	held   bool // The session holds its client's pin (balance.Picker.Hold).
	// refused is set when the origin answered a datagram with ICMP port
	// unreachable: the client's next datagram starts a session elsewhere.
	refused atomic.Bool
	born    int64 // Coarse mono.Now when the session started.
	vouched bool  // Sweep only: the session cleared its origin's suspicion (vouch).

	pending []ipv4.Message   // Read loop only: datagrams queued for flush.
	ovfl    bool             // Reads carry the upstream socket's drop counter.
	upw     *udpbatch.Writer // Read loop only: writes pending upstream.
	replyw  *udpbatch.Writer // Reply loop only: writes replies to the client.
	bufs    [][]byte         // Read loop only: header+payload scratch for PROXY mode.
	inTap   UDPTapCache      // Read loop only: mirror observer of client datagrams.
	outTap  UDPTapCache      // Reply loop only: mirror observer of replies.
}

// dialSession picks an origin for a new session of src and connects its
// upstream socket. An origin that cannot be connected to (see
// dialOrigin) is left out and another picked, as a TCP connection's
// connect is retried, up to maxConnectTries origins of each failover role;
// so is leave, the origin of the client's previous session if that origin
// refused it (else nil; it counts as one of the tries), unless it is the
// only one left: the datagram goes there again (it may have come back),
// as a new TCP connection tries a listener's only origin again.
func dialSession(s *UDPServer, r *Route, src netip.AddrPort, leave *balance.Target) (*udpSession, error) {
	var buf [2 * maxConnectTries]*balance.Target // Two failover roles.
	tried := buf[:0]
	if leave != nil {
		tried = append(tried, leave)
	}
	err := errNoOrigin
	for n := 0; ; n++ {
		o, t := r.pick(src.Addr().Unmap(), tried...)
		if o == nil && n == 0 && leave != nil {
			tried = tried[:0]
			o, t = r.pick(src.Addr().Unmap())
		}
		if o == nil {
			if n == 0 {
				r.counters(nil).Add(dialFails, 1)
			}
			return nil, err
		}
		var up *net.UDPConn
		var ap netip.AddrPort
		if up, ap, err = dialOrigin(r, o); err == nil {
			return newSession(s, r, src, o, t, up, ap)
		}
		tried = append(tried, t)
	}
}

// errNoOrigin is the error of a session with no origin to go to.
var errNoOrigin = errors.New("no origin")

// dialOrigin connects an upstream socket to o. A UDP connect fails only
// locally (an IPv6 address on an edge without IPv6 route, say): a DOMAIN
// origin's other addresses may still do. An address the node itself
// listens on is refused (health.ErrOwnListener): each hop of that loop
// would be a new session. A failure is counted and makes o suspect, as a
// failed TCP connect does.
func dialOrigin(r *Route, o *Origin) (*net.UDPConn, netip.AddrPort, error) {
	var ap netip.AddrPort
	up, err := health.TryAddrs(o.Backend, func(a netip.AddrPort) (*net.UDPConn, error) {
		ap = a
		return net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(a))
	}, nil)
	if err != nil {
		r.counters(o).Add(dialFails, 1)
		if err != health.ErrUnresolved && !health.LocalFailure(err) {
			o.Backend.ConnectFailed()
		}
	}
	return up, ap, err
}

// newSession sets up the session of src on origin o through up, the
// upstream socket connected to o's address ap.
func newSession(s *UDPServer, r *Route, src netip.AddrPort, o *Origin, t *balance.Target, up *net.UDPConn, ap netip.AddrPort) (*udpSession, error) {
	set := r.counters(o)
	var err error
	ss := &udpSession{srv: s, client: src, caddr: net.UDPAddrFromAddrPort(src), up: up,
		bc: newBatchConn(up, ap.Addr().Is4()), route: r, o: o, oaddr: ap.Addr(), t: t, set: set, ovfl: enableRxqOvfl(up)}
	switch r.ClientIP {
	case snapshot.ClientIPPPV2:
		if ss.hdr, err = udpProxyHeader(ss.caddr, s.pc.LocalAddr()); err != nil {
			_ = up.Close()
			return nil, err
		}
	case snapshot.ClientIPSPP:
		ss.hdr = sppHeader(src, s.Addr())
	}
	ss.upw = udpbatch.NewWriter(ss.bc, udpbatch.Supported())
	ss.replyw = udpbatch.NewWriter(s.bc, udpbatch.Supported())
	ss.born = s.clock.Load()
	ss.last.Store(ss.born)
	set.Add(newConns, 1)
	set.Open()
	o.Backend.ConnStart()
	ss.held = r.Picker.Hold(src.Addr().Unmap())
	return ss, nil
}

// queue adds one client datagram to the pending batch. The payload aliases
// the read buffer, which stays valid until flush (same loop iteration).
func (ss *udpSession) queue(p []byte, now int64) {
	ss.last.Store(now)
	if t := ss.inTap.Get(ss.route.Proxy, Ingress, ss.flow); t != nil {
		t.Datagram(p)
	}
	if ss.hdr != nil {
		i := len(ss.pending)
		if i >= len(ss.bufs) {
			ss.bufs = append(ss.bufs, make([]byte, 0, udpBuf+len(ss.hdr)))
		}
		ss.bufs[i] = append(append(ss.bufs[i][:0], ss.hdr...), p...)
		p = ss.bufs[i]
	}
	ss.pending = append(ss.pending, ipv4.Message{Buffers: [][]byte{p}})
}

// flush sends the pending datagrams upstream with one sendmmsg (runs of
// equal-size datagrams as UDP GSO messages).
func (ss *udpSession) flush() {
	lost := ss.upw.Send(ss.pending)
	if ss.upw.Refused() { // An earlier datagram's refusal, which the read would have seen.
		ss.originRefused()
	}
	ss.count(ss.pending, lost, len(ss.hdr), packetsIn, bytesIn)
	clear(ss.pending)
	ss.pending = ss.pending[:0]
}

// replyLoop relays origin datagrams back to the client through the
// listening socket (so the client sees the address it sent to).
func (ss *udpSession) replyLoop() {
	defer ss.srv.wg.Done()
	// One buffer until replies come in bursts (one still waits after a
	// read): a session that gets no reply, or one at a time (a flood of
	// spoofed sources, DNS), holds 9 KiB instead of a whole batch's
	// 288 KiB. Buffers hold udpBuf bytes of payload until a larger reply
	// comes: that one is lost (a session has no spill buffer: it would
	// cost 56 KiB each), and the buffers hold any datagram from then on,
	// and in the listener's sessions that start within udpWideFor of a
	// large reply (wideReplies): a client that sends one request per
	// source port (DNS, SNMP) loses one large reply, not each.
	// An SPP reply carries the header before its payload: the buffer has
	// room for both, so the largest payload forwarded is the same both
	// ways.
	spp := ss.route.ClientIP == snapshot.ClientIPSPP
	room := 0
	if spp {
		room = SPPHeaderLen
	}
	most := udpBuf // Largest payload forwarded.
	if ss.srv.wideReplies() {
		most = udpMaxBuf
	}
	in := readMessages(ss.ovfl, 1, most+room)
	out := make([]ipv4.Message, 0, udpBatch)
	var pace readBackoff
	var drops dropMeter
	for {
		n, err := ss.bc.ReadBatch(in, 0)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if errors.Is(err, unix.ECONNREFUSED) {
			ss.originRefused()
			continue
		}
		if err != nil {
			pace.failed()
			continue
		}
		pace.ok()
		if d := drops.batch(in[:n]); d > 0 { // Replies lost on the upstream socket's full queue.
			ss.set.Add(dropped, d)
		}
		ss.last.Store(ss.srv.clock.Load())
		out = out[:0]
		tap := ss.outTap.Get(ss.route.Proxy, Egress, ss.flow)
		grow, large := false, false
		for i := range in[:n] {
			p := in[i].Buffers[0][:in[i].N]
			if spp {
				p, _ = stripSPP(p)
			}
			large = large || len(p) > udpBuf
			// Larger than most (a bare SPP reply may fill the buffer's
			// room for a header): dropped, the buffers grow.
			if in[i].Flags&unix.MSG_TRUNC != 0 || len(p) > most {
				ss.set.Add(dropped, 1)
				grow = most < udpMaxBuf
				continue
			}
			if !ss.route.Proxy.BW.Allow(limit.Out, len(p)) {
				ss.set.Add(shaped, 1)
				continue
			}
			if tap != nil {
				tap.Datagram(p)
			}
			out = append(out, ipv4.Message{Buffers: [][]byte{p}, Addr: ss.caddr})
		}
		ss.count(out, ss.replyw.Send(out), 0, packetsOut, bytesOut)
		if grow || large {
			ss.srv.wideAt.Store(ss.srv.clock.Load())
		}
		switch {
		case grow:
			most = udpMaxBuf
			in = readMessages(ss.ovfl, len(in), most+room)
		case n == len(in) && n < udpBatch && rxqWaiting(ss.up):
			// Another reply already waits: they come in bursts. A full
			// read alone is no sign, as one reply fills a batch of one.
			in = readMessages(ss.ovfl, udpBatch, most+room)
		}
	}
}

// wideReplies reports whether a reply over udpBuf came less than
// udpWideFor ago: a new session then starts with buffers that hold any
// datagram. Not for good, as the listening side's batch (readLoop): one
// large reply, which a client can ask for, made every later session, a
// flood of spoofed sources' included, hold 64 KiB instead of 9.
func (s *UDPServer) wideReplies() bool {
	at := s.wideAt.Load()
	return at != 0 && s.clock.Load()-at < int64(udpWideFor)
}

// originRefused handles an ICMP port unreachable from the origin (read
// as ECONNREFUSED on the connected socket), UDP's refused connect: the
// datagram is lost (Dropped, so PacketLoss shows it), the origin suspect
// for every client, as after a refused TCP connect (the passive check),
// and the session marked so that its client's next datagram starts a new
// session on another origin (UDPServer.session). Without checks nothing
// else would ever move a client that keeps sending.
func (ss *udpSession) originRefused() {
	ss.set.Add(dropped, 1)
	ss.set.Add(bounced, 1) // Counted as sent: PacketLoss counts it once.
	ss.o.Backend.ConnectFailed()
	ss.refused.Store(true)
}

// udpRefusalWindow is how long a session runs without a refusal before
// its origin counts as answering (vouch): an ICMP port unreachable comes
// back within a round trip of the first datagram.
const udpRefusalWindow = time.Second

// vouch clears the suspicion of the session's origin once the session has
// run for udpRefusalWindow without a refusal, as a TCP connect that
// succeeds does (Backend.Connected). UDP has no connect, and many UDP
// services never answer: without this, an origin that refused once would
// stay suspect, renewed by each session that tries it, after it came
// back. Called by the sweep, once per session.
func (ss *udpSession) vouch(now int64) {
	if ss.vouched || ss.refused.Load() || now-ss.born < int64(udpRefusalWindow) {
		return
	}
	ss.vouched = true
	ss.o.Backend.Connected()
}

// count counts a batch sent: the datagrams the kernel took as packets
// (pkts) and their payload as bytes (each buffer starts with hdr bytes of
// header), the ones it refused (lost) as dropped only. PacketLoss is lost
// ÷ (delivered + lost): a datagram counted both ways would be counted
// twice there.
func (ss *udpSession) count(ms []ipv4.Message, lost []int, hdr int, pkts, bytes func(*stats.Counters) *atomic.Int64) {
	n := int64(0)
	for i := range ms {
		n += int64(len(ms[i].Buffers[0]) - hdr)
	}
	for _, i := range lost {
		n -= int64(len(ms[i].Buffers[0]) - hdr)
	}
	ss.set.Add(pkts, int64(len(ms)-len(lost)))
	ss.set.Add(bytes, n)
	ss.set.Add(dropped, int64(len(lost)))
}

// close ends the session: removes it from the table and frees its slot.
func (ss *udpSession) close() {
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	ss.closeLocked()
}

func (ss *udpSession) closeLocked() {
	ss.once.Do(func() {
		if ss.srv.sessions[ss.client] == ss {
			delete(ss.srv.sessions, ss.client)
		}
		_ = ss.up.Close()
		ss.set.Add(active, -1)
		ss.o.Backend.ConnEnd()
		if ss.held {
			ss.route.Picker.Release(ss.client.Addr().Unmap())
		}
		ss.route.releaseSession()
	})
}

// flow describes the session to a tap.
func (ss *udpSession) flow() Flow {
	r := ss.route
	return Flow{ProxyID: r.Proxy.ID, ListenerID: r.ListenerID, Proto: "UDP", Client: ss.client,
		Local: ss.srv.Addr(), Origin: ss.up.RemoteAddr().(*net.UDPAddr).AddrPort()}
}
