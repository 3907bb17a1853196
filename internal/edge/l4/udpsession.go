package l4

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

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
	set    stats.Set
	hdr    []byte       // PROXY v2 or SPP header prefixed to every datagram, if configured.
	last   atomic.Int64 // Unix nanos of the last datagram either way.
	once   sync.Once
	held   bool // The session holds its client's pin (balance.Picker.Hold).

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
// connect is retried, up to maxConnectTries origins.
func dialSession(s *UDPServer, r *Route, src netip.AddrPort) (*udpSession, error) {
	var buf [maxConnectTries]*balance.Target
	tried := buf[:0]
	err := errNoOrigin
	for len(tried) < maxConnectTries {
		o, t := r.pick(src.Addr().Unmap(), tried...)
		if o == nil {
			if len(tried) == 0 {
				r.counters(nil).Add(dialFails, 1)
			}
			return nil, err
		}
		var up *net.UDPConn
		var ap netip.AddrPort
		if up, ap, err = dialOrigin(r, o); err == nil {
			return newSession(s, r, src, o, up, ap)
		}
		tried = append(tried, t)
	}
	return nil, err
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
		if err != health.ErrUnresolved {
			o.Backend.ConnectFailed()
		}
	}
	return up, ap, err
}

// newSession sets up the session of src on origin o through up, the
// upstream socket connected to o's address ap.
func newSession(s *UDPServer, r *Route, src netip.AddrPort, o *Origin, up *net.UDPConn, ap netip.AddrPort) (*udpSession, error) {
	set := r.counters(o)
	var err error
	ss := &udpSession{srv: s, client: src, caddr: net.UDPAddrFromAddrPort(src), up: up,
		bc: newBatchConn(up, ap.Addr().Is4()), route: r, o: o, set: set, ovfl: enableRxqOvfl(up)}
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
	ss.last.Store(s.clock.Load())
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
	ss.count(ss.pending, ss.upw.Send(ss.pending), len(ss.hdr), packetsIn, bytesIn)
	clear(ss.pending)
	ss.pending = ss.pending[:0]
}

// replyLoop relays origin datagrams back to the client through the
// listening socket (so the client sees the address it sent to).
func (ss *udpSession) replyLoop() {
	defer ss.srv.wg.Done()
	// One buffer until replies come in bursts: a session that gets no
	// reply, or one at a time (a flood of spoofed sources, DNS), holds
	// 9 KiB instead of a whole batch's 288 KiB. An SPP reply carries the
	// header before its payload: the buffer has room for both, so the
	// largest payload forwarded is the same both ways.
	spp := ss.route.ClientIP == snapshot.ClientIPSPP
	size := udpBuf
	if spp {
		size += SPPHeaderLen
	}
	in := readMessages(ss.ovfl, 1, size)
	out := make([]ipv4.Message, 0, udpBatch)
	var pace readBackoff
	var drops dropMeter
	for {
		n, err := ss.bc.ReadBatch(in, 0)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			pace.failed() // ECONNREFUSED from an ICMP error: keep the session.
			continue
		}
		pace.ok()
		if d := drops.batch(in[:n]); d > 0 { // Replies lost on the upstream socket's full queue.
			ss.set.Add(dropped, d)
		}
		ss.last.Store(ss.srv.clock.Load())
		out = out[:0]
		tap := ss.outTap.Get(ss.route.Proxy, Egress, ss.flow)
		for i := range in[:n] {
			p := in[i].Buffers[0][:in[i].N]
			if spp {
				p, _ = stripSPP(p)
			}
			// Larger than udpBuf (a bare SPP reply may fill the buffer's
			// room for a header): dropped, as client datagrams are.
			if in[i].Flags&unix.MSG_TRUNC != 0 || len(p) > udpBuf {
				ss.set.Add(dropped, 1)
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
		if n == len(in) && n < udpBatch { // A full read: more may be queued.
			in = readMessages(ss.ovfl, udpBatch, size)
		}
	}
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
