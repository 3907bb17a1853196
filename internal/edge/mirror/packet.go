package mirror

import (
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/ipv4"

	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/udpbatch"
)

// batch is the number of packets per sendmmsg.
const batch = 64

// mtuRecheck is how often the routes to the collectors are asked their
// MTU again.
const mtuRecheck = 30 * time.Second

// Synthesized link-layer addresses: the client side and the proxy side of
// the access IP's "wire" (locally administered, so never real NICs).
var (
	clientMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01}
	proxyMAC  = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x00, 0x02}
)

// sender turns events into VXLAN packets. It is owned by one goroutine.
// The packets of one data chunk have one size but the last, so the writer
// sends each chunk's run as one UDP GSO message: the kernel walks the IP
// stack once per run instead of once per packet.
type sender struct {
	w       *udpbatch.Writer
	bufs    [batch]gopacket.SerializeBuffer
	iov     [batch][1][]byte // msgs[i].Buffers, preallocated.
	msgs    [batch]ipv4.Message
	owners  [batch]*mirror
	n       int
	retry   [batch]int          // resend's scratch: indices in msgs,
	again   [batch]ipv4.Message // and their messages.
	payload [maxIPPacket]byte   // One segment's payload, read from its chunk.
	opts    gopacket.SerializeOptions

	// Layers reused for every packet.
	vx  layers.VXLAN
	eth layers.Ethernet
	ip  layers.IPv4
	tcp layers.TCP
	udp layers.UDP
}

func newSender(c *net.UDPConn) *sender {
	s := &sender{opts: gopacket.SerializeOptions{FixLengths: true}} // Checksums: fillChecksums.
	s.w = udpbatch.NewWriter(ipv4.NewPacketConn(c), udpbatch.Supported())
	for i := range s.bufs {
		s.bufs[i] = gopacket.NewSerializeBufferExpectedSize(128, 1500)
	}
	s.vx.ValidIDFlag = true
	s.eth.EthernetType = layers.EthernetTypeIPv4
	s.ip = layers.IPv4{Version: 4, TTL: 64, Flags: layers.IPv4DontFragment}
	s.tcp.Window = 65535
	return s
}

// run sends until the engine closes: it blocks for one event, then takes
// whatever else is queued, so packets leave in sendmmsg batches under load
// and at once when idle.
func (s *sender) run(e *Engine) {
	relearn := time.NewTicker(mtuRecheck)
	defer relearn.Stop()
	for {
		select {
		case <-e.done:
			return // Close releases what is queued.
		case <-relearn.C:
			e.learnMTUs()
		case ev := <-e.queue:
			s.take(e, &ev)
			for more := true; more; {
				select {
				case ev := <-e.queue:
					s.take(e, &ev)
				default:
					more = false
				}
			}
			s.flush()
		}
	}
}

func (s *sender) take(e *Engine, ev *event) {
	e.unadmit(ev.size())
	if ev.fl.m.stopped.Load() {
		ev.skip(s.payload[:]) // Read anyway: the source stays in step.
	} else {
		s.handle(ev)
	}
	ev.release()
}

// handle emits the packets of one event, as a capture on the access IP's
// link would show them.
func (s *sender) handle(ev *event) {
	fl, r := ev.fl, ev.fl.sendRoute()
	d, o := ev.dir, 1-ev.dir
	const in, out = l4.Ingress, l4.Egress
	fl.seen[o] = max(fl.seen[o], ev.other)
	if ev.kind != evData {
		fl.seen[d] = max(fl.seen[d], ev.off)
	}
	switch ev.kind {
	case evOpen:
		s.segment(fl, r, in, tcpSYN, fl.isn[in], 0, nil)
		s.segment(fl, r, out, tcpSYN|tcpACK, fl.isn[out], fl.isn[in]+1, nil)
		s.segment(fl, r, in, tcpACK, fl.isn[in]+1, fl.isn[out]+1, nil)
	case evData:
		// Read segment by segment: the chunk's bytes pass through one
		// buffer that stays in cache.
		off, mss := ev.off, r.mss()
		for ev.read < ev.n {
			want := min(ev.n-ev.read, mss)
			k := ev.chunk.Read(s.payload[:want])
			ev.read += k
			short := k < want // The source failed: the rest is lost.
			if short {
				fl.m.stats.Dropped.Add(int64((ev.n - ev.read + mss - 1) / mss))
			}
			if k > 0 {
				flags := tcpACK
				if ev.read == ev.n || short {
					flags |= tcpPSH
				}
				s.segment(fl, r, d, flags, fl.seqAt(d, off), fl.ackOf(r, d), s.payload[:k])
				off += uint64(k)
			}
			if short {
				break
			}
		}
		fl.next[d] = max(fl.next[d], off)
		s.segment(fl, r, o, tcpACK, fl.seqNext(r, o), fl.ackOf(r, o), nil) // The receiver's ACK.
	case evFin:
		fl.next[d] = max(fl.next[d], ev.off)
		s.segment(fl, r, d, tcpFIN|tcpACK, fl.seqAt(d, ev.off), fl.ackOf(r, d), nil)
		fl.fin[d] = true
		s.segment(fl, r, o, tcpACK, fl.seqNext(r, o), fl.ackOf(r, o), nil)
	case evClose:
		// The edge aborts both sockets; the client sees the proxy's RST.
		s.segment(fl, r, out, tcpRST|tcpACK, fl.seqNext(r, out), fl.ackOf(r, out), nil)
	case evUDP:
		if r.copies[d] {
			s.datagram(fl, r, d, ev.data)
		}
	}
}

// TCP flags.
const (
	tcpFIN = 1 << iota
	tcpSYN
	tcpRST
	tcpPSH
	tcpACK
)

// seqAt is the sequence number of byte off of direction d.
func (fl *flow) seqAt(d l4.Dir, off uint64) uint32 { return fl.isn[d] + 1 + uint32(off) }

// sent is how far direction d has got: bytes emitted (or, for a direction
// r does not copy, relayed by the edge as the events so far saw it), plus
// one for a FIN.
func (fl *flow) sent(r *route, d l4.Dir) uint64 {
	n := fl.next[d]
	if !r.copies[d] {
		n = max(n, fl.seen[d])
	}
	if fl.fin[d] {
		n++
	}
	return n
}

func (fl *flow) seqNext(r *route, d l4.Dir) uint32 { return fl.isn[d] + 1 + uint32(fl.sent(r, d)) }

// ackOf is the acknowledgment number packets of direction d carry.
func (fl *flow) ackOf(r *route, d l4.Dir) uint32 { return fl.seqNext(r, 1-d) }

// addrs returns the source and destination of a packet of direction d.
func (fl *flow) addrs(d l4.Dir) (src, dst net.IP, sp, dp uint16) {
	c, l := fl.client.Addr().As4(), fl.local.Addr().As4()
	if d == l4.Ingress {
		return c[:], l[:], fl.client.Port(), fl.local.Port()
	}
	return l[:], c[:], fl.local.Port(), fl.client.Port()
}

func (s *sender) segment(fl *flow, r *route, d l4.Dir, flags int, seq, ack uint32, p []byte) {
	if !r.copies[d] {
		return
	}
	src, dst, sp, dp := fl.addrs(d)
	s.tcp = layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Ack: ack, Window: 65535,
		FIN: flags&tcpFIN != 0, SYN: flags&tcpSYN != 0, RST: flags&tcpRST != 0, PSH: flags&tcpPSH != 0, ACK: flags&tcpACK != 0}
	s.setIP(fl, d, layers.IPProtocolTCP, src, dst)
	s.emit(fl, r, &s.tcp, p)
}

func (s *sender) datagram(fl *flow, r *route, d l4.Dir, p []byte) {
	src, dst, sp, dp := fl.addrs(d)
	s.udp = layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
	s.setIP(fl, d, layers.IPProtocolUDP, src, dst)
	s.emit(fl, r, &s.udp, p)
}

func (s *sender) setIP(fl *flow, d l4.Dir, proto layers.IPProtocol, src, dst net.IP) {
	fl.ipID[d]++
	s.ip.Id, s.ip.Protocol, s.ip.SrcIP, s.ip.DstIP = fl.ipID[d], proto, src, dst
	s.eth.SrcMAC, s.eth.DstMAC = clientMAC, proxyMAC
	if d == l4.Egress {
		s.eth.SrcMAC, s.eth.DstMAC = proxyMAC, clientMAC
	}
}

// emit serializes VXLAN + Ethernet + IPv4 + l4 + payload into the next
// batch slot, to the flow's collector on route r; the kernel adds the
// outer IPv4/UDP header.
func (s *sender) emit(fl *flow, r *route, l gopacket.SerializableLayer, p []byte) {
	s.vx.VNI = r.c.snap.VNI
	buf := s.bufs[s.n]
	if err := gopacket.SerializeLayers(buf, s.opts, &s.vx, &s.eth, &s.ip, l, gopacket.Payload(p)); err != nil {
		fl.m.stats.Dropped.Add(1)
		return
	}
	fillChecksums(buf.Bytes(), byte(s.ip.Protocol))
	s.iov[s.n][0] = buf.Bytes()
	s.msgs[s.n] = ipv4.Message{Buffers: s.iov[s.n][:], Addr: r.c.addrs[r.ti]}
	s.owners[s.n] = fl.m
	if s.n++; s.n == batch {
		s.flush()
	}
}

// flush sends the batch; packets the kernel refuses are counted dropped.
func (s *sender) flush() {
	lost := s.resend(s.w.Send(s.msgs[:s.n]))
	for i, m := range s.owners[:s.n] {
		if len(lost) > 0 && lost[0] == i {
			lost = lost[1:]
			m.stats.Dropped.Add(1)
			continue
		}
		m.stats.PacketsOut.Add(1)
		m.stats.BytesOut.Add(int64(len(s.msgs[i].Buffers[0])))
	}
	clear(s.owners[:s.n])
	s.n = 0
}

// resend sends once more the packets of the batch whose send failed, and
// returns those that fail again. With IP_RECVERR (watchRefusals) the
// socket reports a collector's ICMP error on its next send too, which
// sends nothing: the packet that fails then is not the refused one (that
// one is counted from the error queue), and may be to a live collector.
func (s *sender) resend(lost []int) []int {
	if len(lost) == 0 {
		return lost
	}
	idx := s.retry[:copy(s.retry[:], lost)]
	for j, i := range idx {
		s.again[j] = s.msgs[i]
	}
	again := s.w.Send(s.again[:len(idx)])
	for j, k := range again {
		again[j] = idx[k] // In place: again[j] is read before it is written.
	}
	return again
}
