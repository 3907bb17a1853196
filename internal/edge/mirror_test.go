package edge_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/mirror"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// collector receives VXLAN packets and keeps their decoded inner frames.
type collector struct {
	Addr netip.AddrPort
	mu   sync.Mutex
	pkts []gopacket.Packet
	vnis map[uint32]int
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo.Next(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{Addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), vnis: map[uint32]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, err := pc.Read(buf)
			if err != nil {
				return
			}
			p := gopacket.NewPacket(bytes.Clone(buf[:n]), layers.LayerTypeVXLAN, gopacket.Default)
			vx, _ := p.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
			if vx == nil {
				continue
			}
			c.mu.Lock()
			c.vnis[vx.VNI]++
			c.pkts = append(c.pkts, gopacket.NewPacket(vx.Payload, layers.LayerTypeEthernet, gopacket.Default))
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { _ = pc.Close(); <-done })
	return c
}

func (c *collector) packets() []gopacket.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]gopacket.Packet(nil), c.pkts...)
}

// tcpSummary folds a capture into what each direction carried.
type tcpSummary struct {
	syn, synAck, fin, rst [2]int
	payload               [2][]byte
	seqGaps               int
	badChecksums          int
}

// summarize checks every TCP segment of the capture: contiguous sequence
// numbers per direction and valid checksums.
func summarize(t *testing.T, pkts []gopacket.Packet, client netip.AddrPort) tcpSummary {
	t.Helper()
	var s tcpSummary
	var next [2]uint32
	var started [2]bool
	for _, p := range pkts {
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			continue
		}
		d := 1 // egress
		if ip.SrcIP.Equal(client.Addr().AsSlice()) && int(tcp.SrcPort) == int(client.Port()) {
			d = 0
		}
		if !checksumOK(ip, tcp) {
			s.badChecksums++
		}
		switch {
		case tcp.SYN && tcp.ACK:
			s.synAck[d]++
		case tcp.SYN:
			s.syn[d]++
		}
		if tcp.RST {
			s.rst[d]++
		}
		if tcp.SYN {
			next[d], started[d] = tcp.Seq+1, true
			continue
		}
		if len(tcp.Payload) > 0 || tcp.FIN {
			if started[d] && tcp.Seq != next[d] {
				s.seqGaps++
			}
			next[d], started[d] = tcp.Seq+uint32(len(tcp.Payload)), true
			s.payload[d] = append(s.payload[d], tcp.Payload...)
		}
		if tcp.FIN {
			s.fin[d]++
			next[d]++
		}
	}
	return s
}

// checksumOK recomputes the TCP checksum of a decoded segment.
func checksumOK(ip *layers.IPv4, tcp *layers.TCP) bool {
	want := tcp.Checksum
	c := *tcp
	_ = c.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, &c, gopacket.Payload(tcp.Payload)); err != nil {
		return false
	}
	return c.Checksum == want
}

// mirrored sets up origin → proxy with a mirror of the proxy to col.
func mirrored(t *testing.T, opts edge.Options, proto string, origin netip.AddrPort, m snapshot.Mirror) (*edge.Runtime, netip.AddrPort, *snapshot.Snapshot) {
	t.Helper()
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, opts)
	s := oneProxy(1, ip, listener("lsr-m", proto, port, origins(origin)))
	s.Mirrors = []snapshot.Mirror{m}
	mustApply(t, rt, s)
	return rt, netip.AddrPortFrom(ip, uint16(port)), s
}

func TestMirrorTCPFlow(t *testing.T) {
	t.Parallel()
	col := startCollector(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		b, _ := io.ReadAll(c) // Until the client's half-close.
		_, _ = c.Write(append([]byte("got:"), b[:10]...))
	})
	target := snapshot.MirrorTarget{IP: col.Addr.Addr().String(), Port: int(col.Addr.Port())}
	rt, to, _ := mirrored(t, edge.Options{}, snapshot.ProtoTCP, origin.Addr, snapshot.Mirror{ID: "imgf-1", VNI: 4242,
		Sources: []snapshot.MirrorSource{{ProxyID: "link-1"}}, Direction: snapshot.MirrorAll,
		Targets: []snapshot.MirrorTarget{target}})

	c := dial(t, lo.Next(), to)
	req := bytes.Repeat([]byte("0123456789"), 500) // 5000 bytes: four segments.
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = c.CloseWrite()
	reply, err := io.ReadAll(c)
	if err != nil || string(reply) != "got:0123456789" {
		t.Fatalf("reply %q, %v; want got:0123456789", reply, err)
	}
	client := c.LocalAddr().(*net.TCPAddr).AddrPort()
	var s tcpSummary
	edgetest.Eventually(t, 3*time.Second, func() bool {
		s = summarize(t, col.packets(), client)
		return s.fin[0] == 1 && s.fin[1] == 1
	}, "no FIN in both directions")
	switch {
	case s.syn != [2]int{1, 0} || s.synAck != [2]int{0, 1}:
		t.Errorf("SYN %v SYN-ACK %v; want one each, client first", s.syn, s.synAck)
	case !bytes.Equal(s.payload[0], req) || string(s.payload[1]) != string(reply):
		t.Errorf("mirrored payload %d/%d bytes; want %d/%d", len(s.payload[0]), len(s.payload[1]), len(req), len(reply))
	case s.seqGaps != 0 || s.badChecksums != 0 || s.rst != [2]int{}:
		t.Errorf("seq gaps %d, bad checksums %d, RST %v; want none", s.seqGaps, s.badChecksums, s.rst)
	}
	col.mu.Lock()
	if col.vnis[4242] == 0 || len(col.vnis) != 1 {
		t.Errorf("VNIs %v; want only 4242", col.vnis)
	}
	col.mu.Unlock()
	// A batch is counted once its sendmmsg returned, which may be after
	// the collector read it.
	var v stats.Values
	edgetest.Eventually(t, 3*time.Second, func() bool {
		v = rt.Stats().Values[stats.Key{Kind: mirror.StatsKind, ID: "imgf-1"}]
		return v.PacketsOut >= 10
	}, "mirror counters never reached 10 packets sent")
	if v.Dropped != 0 {
		t.Errorf("mirror counters %+v; want >= 10 packets sent, none dropped", v)
	}
}

// TestMirrorTCPReset: an origin that resets the connection makes the edge
// abort both legs; the mirror shows the client leg ending with the proxy's
// RST after the data, in sequence.
func TestMirrorTCPReset(t *testing.T) {
	t.Parallel()
	col := startCollector(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		b := make([]byte, 5)
		_, _ = io.ReadFull(c, b)
		_ = c.(*net.TCPConn).SetLinger(0) // Close with RST.
	})
	target := snapshot.MirrorTarget{IP: col.Addr.Addr().String(), Port: int(col.Addr.Port())}
	_, to, _ := mirrored(t, edge.Options{}, snapshot.ProtoTCP, origin.Addr, snapshot.Mirror{ID: "imgf-r", VNI: 9,
		Sources: []snapshot.MirrorSource{{ProxyID: "link-1"}}, Direction: snapshot.MirrorAll, Targets: []snapshot.MirrorTarget{target}})
	c := dial(t, lo.Next(), to)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err == nil {
		t.Error("the client's read ended cleanly; want the reset passed on")
	}
	client := c.LocalAddr().(*net.TCPAddr).AddrPort()
	var s tcpSummary
	edgetest.Eventually(t, 3*time.Second, func() bool {
		s = summarize(t, col.packets(), client)
		return s.rst[1] == 1
	}, "no RST from the proxy side mirrored")
	if string(s.payload[0]) != "hello" || s.seqGaps != 0 || s.badChecksums != 0 || s.rst[0] != 0 || s.fin != [2]int{} {
		t.Errorf("payload %q, seq gaps %d, bad checksums %d, RST %v, FIN %v; want hello, 0, 0, [0 1], none",
			s.payload[0], s.seqGaps, s.badChecksums, s.rst, s.fin)
	}
}

// TestMirrorDeadCollectorDropped: a mirror with two collectors, one whose
// port is closed (its process died): it answers every copy with ICMP port
// unreachable. The refused copies count in the mirror's Dropped
// (docs/dataplane-mirror.md, "Never blocking"), and the live collector
// still gets every packet of its connections although the socket reports
// the other's errors on the sends that follow them.
func TestMirrorDeadCollectorDropped(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo.Next(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close() // The port now refuses: ICMP port unreachable.
	live := startCollector(t)
	o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	m := snapshot.Mirror{ID: "imgf-dead", VNI: 5, Sources: []snapshot.MirrorSource{{ProxyID: "link-1"}}, Direction: snapshot.MirrorAll,
		Targets: []snapshot.MirrorTarget{{IP: dead.Addr().String(), Port: int(dead.Port())}, {IP: live.Addr.Addr().String(), Port: int(live.Addr.Port())}}}
	rt, to, _ := mirrored(t, edge.Options{}, snapshot.ProtoTCP, o.Addr, m)
	var clients []netip.AddrPort
	for i := range 20 {
		c := dial(t, lo.Next(), to)
		clients = append(clients, c.LocalAddr().(*net.TCPAddr).AddrPort())
		_, _ = fmt.Fprintf(c, "ping %d", i)
		_ = c.CloseWrite()
		_, _ = io.ReadAll(c)
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	key := stats.Key{Kind: mirror.StatsKind, ID: "imgf-dead"}
	edgetest.Eventually(t, 3*time.Second, func() bool { return rt.Stats().Values[key].Dropped > 0 },
		"collector %v refuses every copy, yet the mirror counts no drop", dead)
	// The sender may still be copying the last connections: wait until
	// they have all ended on the edge (every copy queued), the sender's
	// count has stopped moving, and every flow the live collector has
	// begun has both its FINs.
	edgetest.Eventually(t, 3*time.Second, func() bool {
		return rt.Stats().Values[stats.Key{Kind: stats.KindListener, ID: "lsr-m"}].Active == 0
	}, "connections still open on the edge")
	last := int64(-1)
	edgetest.Eventually(t, 5*time.Second, func() bool {
		v := rt.Stats().Values[key]
		if n := v.PacketsOut + v.Dropped; n != last {
			last = n
			time.Sleep(100 * time.Millisecond)
			return false
		}
		return true
	}, "the mirror kept sending")
	var byClient map[netip.AddrPort][]gopacket.Packet
	edgetest.Eventually(t, 3*time.Second, func() bool {
		byClient = byEnd(live.packets())
		for _, client := range clients {
			if s := summarize(t, byClient[client], client); s.syn != [2]int{} && s.fin != [2]int{1, 1} {
				return false
			}
		}
		return true
	}, "a flow the live collector began never got both its FINs")
	got := 0
	for i, client := range clients {
		s := summarize(t, byClient[client], client)
		if s.syn == [2]int{} {
			continue // Sent to the dead collector.
		}
		got++
		if want := fmt.Sprintf("ping %d", i); string(s.payload[0]) != want || string(s.payload[1]) != want || s.fin != [2]int{1, 1} || s.seqGaps != 0 {
			t.Errorf("connection %d at the live collector: payload %q/%q, FIN %v, seq gaps %d; want %q both ways, both FINs, no gap",
				i, s.payload[0], s.payload[1], s.fin, s.seqGaps, want)
		}
	}
	if got == 0 {
		t.Error("no connection reached the live collector")
	}
}

// byEnd groups the TCP packets of a capture under each of their two
// ends' addresses.
func byEnd(pkts []gopacket.Packet) map[netip.AddrPort][]gopacket.Packet {
	out := map[netip.AddrPort][]gopacket.Packet{}
	for _, p := range pkts {
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			continue
		}
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip.SrcIP.To4())), uint16(tcp.SrcPort))
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip.DstIP.To4())), uint16(tcp.DstPort))
		out[src] = append(out[src], p)
		out[dst] = append(out[dst], p)
	}
	return out
}

// TestMirrorFlowHashTargets: with two collectors and FIVE_TUPLE_FLOW,
// every packet of a connection, both directions, reaches the same
// collector, and the connections spread over both.
func TestMirrorFlowHashTargets(t *testing.T) {
	t.Parallel()
	cols := []*collector{startCollector(t), startCollector(t)}
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) { _, _ = io.Copy(c, c) })
	var targets []snapshot.MirrorTarget
	for _, col := range cols {
		targets = append(targets, snapshot.MirrorTarget{IP: col.Addr.Addr().String(), Port: int(col.Addr.Port())})
	}
	_, to, _ := mirrored(t, edge.Options{}, snapshot.ProtoTCP, origin.Addr, snapshot.Mirror{ID: "imgf-h", VNI: 5,
		Sources: []snapshot.MirrorSource{{ProxyID: "link-1"}}, Direction: snapshot.MirrorAll,
		AlgHash: snapshot.MirrorHashFlow, Targets: targets})
	const conns = 16
	var clients []netip.AddrPort
	for range conns {
		c := dial(t, lo.Next(), to)
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		_ = c.CloseWrite()
		if b, err := io.ReadAll(c); err != nil || string(b) != "ping" {
			t.Fatalf("echo %q, %v", b, err)
		}
		clients = append(clients, c.LocalAddr().(*net.TCPAddr).AddrPort())
	}
	// Which collectors saw each client's flow, and in which directions.
	seen := func() map[netip.AddrPort][2]int {
		out := map[netip.AddrPort][2]int{}
		for i, col := range cols {
			for _, p := range col.packets() {
				ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if ip == nil || tcp == nil {
					continue
				}
				a, _ := netip.AddrFromSlice(ip.SrcIP)
				port := tcp.SrcPort
				if a == to.Addr() { // Egress: the client is the destination.
					a, _ = netip.AddrFromSlice(ip.DstIP)
					port = tcp.DstPort
				}
				v := out[netip.AddrPortFrom(a, uint16(port))]
				v[i]++
				out[netip.AddrPortFrom(a, uint16(port))] = v
			}
		}
		return out
	}
	var by map[netip.AddrPort][2]int
	edgetest.Eventually(t, 3*time.Second, func() bool {
		by = seen()
		for _, c := range clients {
			if n := by[c]; n[0]+n[1] < 9 { // Handshake 3, data and ACK 2 × 2, FINs and ACKs 4: at least 9.
				return false
			}
		}
		return true
	}, "not every flow mirrored")
	used := [2]bool{}
	for _, c := range clients {
		n := by[c]
		if n[0] > 0 && n[1] > 0 {
			t.Errorf("flow %v split over both collectors: %v packets", c, n)
		}
		used[0], used[1] = used[0] || n[0] > 0, used[1] || n[1] > 0
	}
	if !used[0] || !used[1] {
		t.Errorf("collectors used %v by %d flows; want both", used, conns)
	}
}

// TestMirrorBulk streams 16 MiB each way through a mirrored connection,
// which splices in chunks of up to 1 MiB duplicated with tee(2): the
// origin and the client must get exactly what was sent, and every copied
// segment must carry the bytes found at its sequence offset. With the
// engine's rate cap far below the stream's rate, copies are dropped and
// counted, and the stream itself is unaffected.
func TestMirrorBulk(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc   string
		rate   int64
		capped bool
	}{{"uncapped", -1, false}, {"capped", 1 << 20, true}} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			col := startCollector(t)
			const size = 16 << 20
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i * 7 / 3)
			}
			origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
				got, _ := io.ReadAll(c)
				if !bytes.Equal(got, data) {
					_ = c.(*net.TCPConn).SetLinger(0) // The client sees a reset.
					return
				}
				_, _ = c.Write(data)
			})
			target := snapshot.MirrorTarget{IP: col.Addr.Addr().String(), Port: int(col.Addr.Port())}
			rt, to, _ := mirrored(t, edge.Options{MirrorRate: tc.rate}, snapshot.ProtoTCP, origin.Addr, snapshot.Mirror{ID: "imgf-b", VNI: 7,
				Sources: []snapshot.MirrorSource{{ProxyID: "link-1"}}, Direction: snapshot.MirrorAll, Targets: []snapshot.MirrorTarget{target}})
			c := dial(t, lo.Next(), to)
			go func() {
				_, _ = c.Write(data)
				_ = c.CloseWrite()
			}()
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			back, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("echoed %d bytes (equal %v), %v; want the %d bytes sent", len(back), bytes.Equal(back, data), err, size)
			}
			client := c.LocalAddr().(*net.TCPAddr).AddrPort()
			key := stats.Key{Kind: mirror.StatsKind, ID: "imgf-b"}
			var v stats.Values
			edgetest.Eventually(t, 5*time.Second, func() bool {
				v = rt.Stats().Values[key]
				return v.PacketsOut+v.Dropped >= 2*size/(65535-90) // At most one packet per 64 KiB segment.
			}, "mirror did not account for the stream")
			// Uncapped, the sender may still fall behind and drop at its queue.
			if v.PacketsOut == 0 || (tc.capped && v.Dropped < v.PacketsOut) {
				t.Errorf("mirror counters %+v; want packets sent and, when capped, most dropped", v)
			}
			// The collector decodes what it reads in its own goroutine, behind
			// the mirror's count on a loaded machine.
			edgetest.Eventually(t, 10*time.Second, func() bool { return checkOffsets(t, col.packets(), client, data) > 0 },
				"no data segment mirrored")
		})
	}
}

// TestMirrorRateCapHolds: at a cap of 1 Mbit/s (--mirror-rate-mbps 1,
// 125000 bytes/s) a second of 1000-byte datagrams at about 8 Mbit/s is
// copied at the cap, plus the bucket's burst: a quarter second of the
// rate, or one largest datagram (64 KiB) when that is more.
func TestMirrorRateCapHolds(t *testing.T) {
	const rate = 125_000
	const burst = 65535 // max(rate/4, one largest datagram)
	col := startCollector(t)
	o := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix(""))
	m := snapshot.Mirror{ID: "imgf-r", VNI: 9, Sources: []snapshot.MirrorSource{{ProxyID: "link-1"}}, Direction: snapshot.MirrorIngress,
		Targets: []snapshot.MirrorTarget{{IP: col.Addr.Addr().String(), Port: int(col.Addr.Port())}}}
	_, to, _ := mirrored(t, edge.Options{MirrorRate: rate}, snapshot.ProtoUDP, o.Addr, m)
	uc := udpClient(t, lo.Next(), to)
	p := bytes.Repeat([]byte("x"), 1000)
	start := time.Now()
	for range 1000 {
		if _, err := uc.Write(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	time.Sleep(500 * time.Millisecond) // The sender has sent what it was given.
	copied := 0
	for _, pkt := range col.packets() {
		if u, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			copied += len(u.Payload)
		}
	}
	if most := int(rate*elapsed.Seconds()) + burst; copied > most || copied < rate/4 {
		t.Errorf("copied %d payload bytes in %v under a cap of %d bytes/s; want between %d and %d", copied, elapsed, rate, rate/4, most)
	}
}

// checkOffsets checks that every mirrored data segment of the flow from
// client carries the bytes of want at its sequence offset (both
// directions carried want), and returns how many it found.
func checkOffsets(t *testing.T, pkts []gopacket.Packet, client netip.AddrPort, want []byte) (segs int) {
	t.Helper()
	var isn [2]uint32
	var seen [2]bool
	for _, p := range pkts {
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			continue
		}
		d := 1
		if ip.SrcIP.Equal(client.Addr().AsSlice()) && int(tcp.SrcPort) == int(client.Port()) {
			d = 0
		}
		if tcp.SYN {
			isn[d], seen[d] = tcp.Seq+1, true
			continue
		}
		if len(tcp.Payload) == 0 || !seen[d] {
			continue
		}
		off := int(tcp.Seq - isn[d])
		if off+len(tcp.Payload) > len(want) || !bytes.Equal(tcp.Payload, want[off:off+len(tcp.Payload)]) {
			t.Fatalf("direction %d: segment at offset %d (%d bytes) does not match the stream", d, off, len(tcp.Payload))
		}
		segs++
	}
	return segs
}

func TestMirrorDirectionsAndFilters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc      string
		dir       string
		filters   []snapshot.MirrorFilter
		wantIn    bool
		wantOut   bool
		udpOrigin bool
	}{
		{"ingress only", snapshot.MirrorIngress, nil, true, false, false},
		{"egress only", snapshot.MirrorEgress, nil, false, true, false},
		{"dropped by filter", snapshot.MirrorAll, []snapshot.MirrorFilter{
			{Direction: snapshot.MirrorIngress, Protocol: "TCP", Action: snapshot.MirrorDrop},
			{Direction: snapshot.MirrorEgress, SrcCIDR: "10.0.0.0/8", Action: snapshot.MirrorAccept}}, false, false, false},
		{"udp both ways", snapshot.MirrorAll, []snapshot.MirrorFilter{
			{Direction: snapshot.MirrorIngress, Protocol: "UDP", Action: snapshot.MirrorAccept}}, true, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			col := startCollector(t)
			m := snapshot.Mirror{ID: "imgf-d", VNI: 7, Sources: []snapshot.MirrorSource{{ProxyID: "link-1", ListenerID: "lsr-m"}},
				Direction: tc.dir, Filters: tc.filters,
				Targets: []snapshot.MirrorTarget{{IP: col.Addr.Addr().String(), Port: int(col.Addr.Port())}}}
			if tc.udpOrigin {
				o := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Prefix("re:"))
				_, to, _ := mirrored(t, edge.Options{}, snapshot.ProtoUDP, o.Addr, m)
				uc := udpClient(t, lo.Next(), to)
				if got := udpRoundTrip(t, uc, "ping"); got != "re:ping" {
					t.Fatalf("got %q; want re:ping", got)
				}
			} else {
				o := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
				_, to, _ := mirrored(t, edge.Options{}, snapshot.ProtoTCP, o.Addr, m)
				c := dial(t, lo.Next(), to)
				_, _ = c.Write([]byte("ping"))
				_ = c.CloseWrite()
				if b, _ := io.ReadAll(c); string(b) != "ping" {
					t.Fatalf("echo %q; want ping", b)
				}
			}
			var in, out int
			edgetest.Eventually(t, 5*time.Second, func() bool {
				in, out = countDirs(col.packets())
				return (in > 0) == tc.wantIn && (out > 0) == tc.wantOut
			}, "packets in/out %d/%d; want %v/%v", in, out, tc.wantIn, tc.wantOut)
			time.Sleep(100 * time.Millisecond) // Nothing more shows up later.
			if in, out = countDirs(col.packets()); (in > 0) != tc.wantIn || (out > 0) != tc.wantOut {
				t.Errorf("packets in/out %d/%d; want %v/%v", in, out, tc.wantIn, tc.wantOut)
			}
		})
	}
}

// countDirs counts packets by synthesized source MAC (client side = in).
func countDirs(pkts []gopacket.Packet) (in, out int) {
	for _, p := range pkts {
		if eth, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok && eth.SrcMAC[5] == 1 {
			in++
		} else {
			out++
		}
	}
	return in, out
}

// TestInvalidMirrorSharingProxyID: an invalid mirror whose ID happens to
// equal a proxy's ID is reported, but does not mark that proxy invalid.
func TestInvalidMirrorSharingProxyID(t *testing.T) {
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name("o0"))
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	s := oneProxy(1, ip, listener("lsr-x", snapshot.ProtoTCP, port, origins(origin.Addr)))
	s.Mirrors = []snapshot.Mirror{{ID: s.Proxies[0].ID}} // Invalid: no VNI, no targets.
	rep := rt.Apply(s)
	if _, ok := rep.Invalid[s.Mirrors[0].ID]; len(rep.Invalid) != 1 || !ok || len(rep.Errors) != 0 {
		t.Fatalf("invalid %q, errors %q; want the mirror's only", rep.Invalid, rep.Errors)
	}
	if st, _ := rep.Listener("lsr-x"); st.State != edge.StateRunning || st.Error != "" {
		t.Fatalf("listener %+v; want running without error", st)
	}
	if got := readName(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port))); got != "o0" {
		t.Errorf("got %q through the proxy; want o0", got)
	}
}

// TestMirrorPipesBounded: a mirrored TCP connection tees through a pipe
// per direction, and a second once the mirror keeps a chunk: they are
// held within the node's bound on pipes (MaxPipeDescriptors), and
// directions past it copy through user space; every connection is served.
// Uncounted, 30 idle mirrored connections of one proxy, within its share
// of the client budget, held ten descriptors each and took the process's
// last ones.
func TestMirrorPipesBounded(t *testing.T) {
	const bound, conns = 8, 12
	col := startCollector(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), echoWithoutPipes)
	target := snapshot.MirrorTarget{IP: col.Addr.Addr().String(), Port: int(col.Addr.Port())}
	_, to, _ := mirrored(t, edge.Options{MaxPipeDescriptors: bound}, snapshot.ProtoTCP, origin.Addr, snapshot.Mirror{ID: "imgf-pipes",
		VNI: 7, Sources: []snapshot.MirrorSource{{ProxyID: "link-1"}}, Direction: snapshot.MirrorAll, Targets: []snapshot.MirrorTarget{target}})
	before := pipeFDs(t)
	var cs []*net.TCPConn
	for range conns {
		c := dial(t, lo.Next(), to)
		roundTrip(t, c) // Kept by the mirror both ways; then the connection idles.
		cs = append(cs, c)
	}
	if held := pipeFDs(t) - before; held > bound+4 {
		t.Errorf("%d idle mirrored connections hold %d pipe descriptors; want at most the bound, %d", conns, held, bound)
	}
	for _, c := range cs {
		roundTrip(t, c)
	}
}
