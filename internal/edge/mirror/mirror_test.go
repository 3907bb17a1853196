package mirror

import (
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

func testMirror(dir string, filters ...snapshot.MirrorFilter) snapshot.Mirror {
	return snapshot.Mirror{ID: "imgf-t", VNI: 1, Sources: []snapshot.MirrorSource{{ProxyID: "p"}}, Direction: dir,
		Filters: filters, Targets: []snapshot.MirrorTarget{{IP: "127.0.0.1", Port: 9}}}
}

// TestQueueFullDrops fills the queue of an engine whose sender is not
// running: the data path must drop and count, never block.
func TestQueueFullDrops(t *testing.T) {
	reg := stats.NewRegistry()
	e := New(reg, Options{Rate: -1})
	tf := testTCPFlow(e, reg)
	m := tf.m
	chunk := make([]byte, 1000) // One segment: QueueEvents of them fit QueueBytes.
	keeps := 0
	for range QueueEvents + 10 {
		tf.Data(l4.Ingress, len(chunk), &countingChunk{Chunk: l4.CopyChunk(chunk), keeps: &keeps})
	}
	if keeps != QueueEvents {
		t.Errorf("Keep called %d times; want %d (a dropped chunk must not be kept)", keeps, QueueEvents)
	}
	if got, want := m.stats.Dropped.Load(), int64(10*2); got != want {
		t.Errorf("dropped %d packets; want %d (10 chunks of one segment + its ACK)", got, want)
	}
	if got := len(e.queue); got != QueueEvents {
		t.Errorf("queue holds %d; want %d", got, QueueEvents)
	}
}

type countingChunk struct {
	l4.Chunk
	keeps *int
}

func (c *countingChunk) Keep(limit int) int { *c.keeps++; return c.Chunk.Keep(limit) }

func TestCopiesDir(t *testing.T) {
	client, local := netip.MustParseAddrPort("198.51.100.9:40000"), netip.MustParseAddrPort("203.0.113.1:443")
	tests := []struct {
		desc    string
		m       snapshot.Mirror
		in, out bool
	}{
		{"all", testMirror(snapshot.MirrorAll), true, true},
		{"ingress", testMirror(snapshot.MirrorIngress), true, false},
		{"first match wins", testMirror(snapshot.MirrorAll,
			snapshot.MirrorFilter{Direction: snapshot.MirrorIngress, SrcCIDR: "198.51.100.0/24", Action: snapshot.MirrorDrop},
			snapshot.MirrorFilter{Direction: snapshot.MirrorIngress, Action: snapshot.MirrorAccept}), false, true},
		{"egress port filter", testMirror(snapshot.MirrorAll,
			snapshot.MirrorFilter{Direction: snapshot.MirrorEgress, SrcPorts: snapshot.PortRange{Lo: 443, Hi: 443}, DstPorts: snapshot.PortRange{Lo: 40000, Hi: 40010}, Action: snapshot.MirrorAccept}), true, true},
		{"no match copies nothing", testMirror(snapshot.MirrorAll,
			snapshot.MirrorFilter{Direction: snapshot.MirrorEgress, Protocol: "UDP", Action: snapshot.MirrorAccept}), true, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := compile(tc.m)
			in, out := m.copiesDir(l4.Ingress, "TCP", client, local), m.copiesDir(l4.Egress, "TCP", client, local)
			if in != tc.in || out != tc.out {
				t.Errorf("got in=%v out=%v; want %v %v", in, out, tc.in, tc.out)
			}
		})
	}
}

func TestFlowHashKeepsFlowOnOneTarget(t *testing.T) {
	cfg := testMirror(snapshot.MirrorAll)
	cfg.Targets = []snapshot.MirrorTarget{{IP: "127.0.0.1"}, {IP: "127.0.0.2"}, {IP: "127.0.0.3", Port: 5000}}
	m := compile(cfg)
	local := netip.MustParseAddrPort("203.0.113.1:80")
	seen := map[netip.AddrPort]bool{}
	for port := range uint16(64) {
		client := netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), 1000+port)
		a, b := m.targets[m.target("TCP", client, local)], m.targets[m.target("TCP", client, local)]
		if a != b {
			t.Fatalf("flow %v went to %v then %v", client, a, b)
		}
		seen[a] = true
	}
	if len(seen) != 3 || !seen[netip.MustParseAddrPort("127.0.0.1:4789")] {
		t.Errorf("targets used %v; want all three, default port 4789", seen)
	}
}

// TestSegmentSize: segments fill the route to the collector without
// fragmenting the VXLAN packet: a 1500-byte MTU carries 1410 payload bytes
// (1500 with the 90 bytes of headers), loopback one IPv4 packet's worth;
// jumbo first hops get Ethernet's size, tiny MTUs IPv4's minimum.
func TestSegmentSize(t *testing.T) {
	for _, tc := range []struct{ mtu, want int }{{1500, 1410}, {9001, 1410}, {1400, 1310}, {68, 486}, {0, 486}, {65535, 65445}, {65536, 65445}} {
		if got := segmentSize(tc.mtu); got != tc.want {
			t.Errorf("segmentSize(%d) = %d; want %d", tc.mtu, got, tc.want)
		}
	}
	m := compile(testMirror(snapshot.MirrorAll))
	if runtime.GOOS != "linux" {
		return
	}
	if got := m.mss[0].Load(); got != 65535-90 {
		t.Errorf("segment size to a loopback collector %d; want %d (lo's 64 KiB MTU)", got, 65535-90)
	}
	m.mss[0].Store(1000)
	m.learnMTUs()
	if got := m.mss[0].Load(); got != 65535-90 {
		t.Errorf("segment size after relearning %d; want %d", got, 65535-90)
	}
}

// TestCloseReleasesQueue: Close discards what is queued and returns its
// bytes and slots, so the engine's accounting ends at zero, and releases
// every kept chunk (each holds its source's pipe).
func TestCloseReleasesQueue(t *testing.T) {
	reg := stats.NewRegistry()
	e := New(reg, Options{Rate: -1})
	tf := testTCPFlow(e, reg)
	var chunks []*recChunk
	for range 10 {
		c := &recChunk{keep: 3000}
		chunks = append(chunks, c)
		tf.Data(l4.Ingress, 3000, c)
	}
	e.Close()
	if e.pending.Load() != 0 || e.slots.Load() != 0 {
		t.Errorf("pending %d bytes, %d slots after close; want 0, 0", e.pending.Load(), e.slots.Load())
	}
	for i, c := range chunks {
		if !c.released {
			t.Errorf("chunk %d not released", i)
		}
	}
}

// recChunk is a chunk that keeps up to keep bytes and records how it is
// kept, read and released.
type recChunk struct {
	keep, limit, read, unread int
	released                  bool
}

func (c *recChunk) Keep(limit int) int { c.limit = limit; return min(c.keep, limit) }
func (c *recChunk) Read(b []byte) int  { c.read += len(b); return len(b) }
func (c *recChunk) Release(unread int) { c.unread, c.released = unread, true }

func testTCPFlow(e *Engine, reg *stats.Registry) *tcpFlow {
	m := newMirror(e, testMirror(snapshot.MirrorAll), reg.Get(StatsKind, "imgf-t"))
	return &tcpFlow{flow: testFlow(m, [2]bool{true, true})}
}

// testFlow opens a TCP flow of m's proxy, observing the directions want.
func testFlow(m *mirror, want [2]bool) *flow {
	k := flowKey{proxy: "p", proto: "TCP", client: netip.MustParseAddrPort("10.0.0.1:1000"), local: netip.MustParseAddrPort("10.0.0.2:80"), want: want}
	return newFlow(m, k, m.cfg.Load().route(&k))
}

// TestRateChargesKeptBytes: the rate cap is spent on what a chunk kept,
// not on what it offered, and what was not kept is counted dropped. A
// chunk larger than the tokens left is kept in part, up to them.
func TestRateChargesKeptBytes(t *testing.T) {
	reg := stats.NewRegistry()
	e := New(reg, Options{Rate: 1000}) // Burst: one largest datagram.
	if got := e.rate.Burst(); got != maxIPPacket {
		t.Fatalf("burst %d at 1000 bytes/s; want %d (one largest datagram)", got, maxIPPacket)
	}
	tf := testTCPFlow(e, reg)
	full := &recChunk{}
	tf.Data(l4.Ingress, 1<<20, full) // Its source is full: nothing kept.
	if got, want := tf.m.stats.Dropped.Load(), int64(tf.dataPackets(1<<20)); got != want || full.limit != maxIPPacket {
		t.Errorf("dropped %d packets for a chunk kept in no part, offered to keep %d; want %d (its segments and ACK), %d (the tokens)",
			got, full.limit, want, maxIPPacket)
	}
	tf.Data(l4.Ingress, 1000, &recChunk{keep: 1000})
	if len(e.queue) != 1 {
		t.Fatalf("queue holds %d events; want the 1000-byte chunk (the first one spent no tokens)", len(e.queue))
	}
	n := 2 * maxIPPacket
	part := &recChunk{keep: n}
	tf.Data(l4.Ingress, n, part) // Kept in part: the tokens left.
	left := maxIPPacket - 1000
	if part.limit < left-1 || part.limit > left+1 || len(e.queue) != 2 {
		t.Fatalf("chunk of %d bytes offered to keep %d, queue holds %d; want about %d (the tokens left), 2", n, part.limit, len(e.queue), left)
	}
	if got, want := tf.m.stats.Dropped.Load(), int64(tf.dataPackets(1<<20)+tf.dataPackets(n)-tf.dataPackets(part.limit)); got != want {
		t.Errorf("dropped %d packets; want %d (the segments of the partly kept chunk beyond its prefix)", got, want)
	}
	if got := e.rate.TokensAt(time.Now()); got > 1 {
		t.Errorf("%.0f tokens left; want none", got)
	}
	late := &recChunk{keep: 1000}
	tf.Data(l4.Ingress, 1000, late)
	if late.limit != 0 || len(e.queue) != 2 {
		t.Errorf("chunk offered with no tokens left: Keep asked for %d, queue holds %d; want it dropped unasked", late.limit, len(e.queue))
	}
	if got := New(reg, Options{}).rate.Burst(); got != DefaultRate/4 {
		t.Errorf("burst %d at the default rate; want a quarter second, %d", got, DefaultRate/4)
	}
}

// TestStoppedMirrorReadsKeptChunks: a chunk queued before its mirror
// stopped is still read out of its source, so the source stays in step
// for anything else reading it, and released.
func TestStoppedMirrorReadsKeptChunks(t *testing.T) {
	reg := stats.NewRegistry()
	e := New(reg, Options{Rate: -1})
	tf := testTCPFlow(e, reg)
	c := &recChunk{keep: 3000}
	tf.Data(l4.Ingress, 3000, c)
	tf.m.stopped.Store(true)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := newSender(conn)
	ev := <-e.queue
	s.take(e, &ev)
	if c.read != 3000 || !c.released || c.unread != 0 {
		t.Errorf("chunk read %d bytes, released %v with %d unread; want 3000, true, 0", c.read, c.released, c.unread)
	}
	if e.pending.Load() != 0 || e.slots.Load() != 0 {
		t.Errorf("pending %d bytes, %d slots after the take; want 0, 0", e.pending.Load(), e.slots.Load())
	}
}

// TestOfferAfterClose: a chunk offered while the engine closes is
// released (a kept chunk holds its source's pipe) and accounted for.
func TestOfferAfterClose(t *testing.T) {
	reg := stats.NewRegistry()
	e := New(reg, Options{Rate: -1})
	tf := testTCPFlow(e, reg)
	e.Close()
	c := &recChunk{keep: 100}
	e.offer(event{fl: tf.flow, kind: evData}, 100, func(ev *event, limit int) int { return ev.keep(c, limit) }) // As a producer that saw the mirror running.
	if !c.released || e.pending.Load() != 0 || e.slots.Load() != 0 {
		t.Errorf("released %v, pending %d, slots %d; want true, 0, 0", c.released, e.pending.Load(), e.slots.Load())
	}
}

// TestSkipUDPCountsDropped: datagrams a caller does not offer (an HTTP/3
// socket past its bound on mirrored flows) count in the Dropped counter
// of the mirror that would copy them, and nowhere when no mirror copies
// that direction.
func TestSkipUDPCountsDropped(t *testing.T) {
	reg := stats.NewRegistry()
	e := New(reg, Options{Rate: -1})
	defer e.Close()
	taps, err := e.Apply([]snapshot.Mirror{testMirror(snapshot.MirrorIngress)})
	if err != nil {
		t.Fatal(err)
	}
	f := l4.Flow{ProxyID: "p", ListenerID: "l1", Proto: "UDP",
		Client: netip.MustParseAddrPort("10.0.0.1:1000"), Local: netip.MustParseAddrPort("10.0.0.2:443")}
	taps["p"].SkipUDP(f, l4.Ingress, 3)
	taps["p"].SkipUDP(f, l4.Egress, 5) // Not copied: not a drop.
	if got := reg.Read().Values[stats.Key{Kind: StatsKind, ID: "imgf-t"}].Dropped; got != 3 {
		t.Errorf("mirror counts %d dropped; want the 3 ingress datagrams skipped", got)
	}
}

// TestOwnCopiesNotMirrored: datagrams from the engine's socket to one of
// its collectors, current or past, are the engine's copies arriving at a
// listener of the node: no mirror copies them. The same datagrams from
// another port, or to an address never a collector, are copied.
func TestOwnCopiesNotMirrored(t *testing.T) {
	reg := stats.NewRegistry()
	e := New(reg, Options{Rate: -1})
	defer e.Close()
	cfg := testMirror(snapshot.MirrorAll)
	if _, err := e.Apply([]snapshot.Mirror{cfg}); err != nil {
		t.Fatal(err)
	}
	cfg.Targets = []snapshot.MirrorTarget{{IP: "127.0.0.2", Port: 9}}
	taps, err := e.Apply([]snapshot.Mirror{cfg})
	if err != nil {
		t.Fatal(err)
	}
	self := e.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	for _, c := range []struct {
		client, local string
		copied        bool
	}{
		{"127.0.0.1:" + strconv.Itoa(int(self)), "127.0.0.2:9", false},
		{"127.0.0.1:" + strconv.Itoa(int(self)), "127.0.0.1:9", false}, // A collector before the change.
		{"127.0.0.1:" + strconv.Itoa(int(self)+1), "127.0.0.2:9", true},
		{"127.0.0.1:" + strconv.Itoa(int(self)), "127.0.0.3:9", true},
	} {
		f := l4.Flow{ProxyID: "p", ListenerID: "l1", Proto: snapshot.ProtoUDP,
			Client: netip.MustParseAddrPort(c.client), Local: netip.MustParseAddrPort(c.local)}
		if got := taps["p"].UDP(f, l4.Ingress) != nil; got != c.copied {
			t.Errorf("datagrams %s → %s copied: %v; want %v", c.client, c.local, got, c.copied)
		}
	}
}

// TestPastCollectorsForgotten: one mirror whose collector changes again
// and again (a user re-running ResetTrafficMirrorTarget, each change a new
// snapshot). The engine recognizes its copies to a collector dropped a
// moment ago, but forgets it after ownGrace: what it remembers stays
// bounded by the collectors of the last few seconds, however many changes
// there were.
func TestPastCollectorsForgotten(t *testing.T) {
	e := New(stats.NewRegistry(), Options{Rate: -1})
	defer e.Close()
	now := time.Unix(1e9, 0)
	e.sentTo.now = func() time.Time { return now }
	collector := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, byte(1 + i/250), byte(1 + i%250), 1}), 4789)
	}
	const changes = 5000
	var taps map[string]l4.Tap
	for i := range changes {
		m := testMirror(snapshot.MirrorAll)
		m.Targets = []snapshot.MirrorTarget{{IP: collector(i).Addr().String(), Port: 4789}}
		var err error
		if taps, err = e.Apply([]snapshot.Mirror{m}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	e.sentTo.mu.Lock()
	n := len(e.sentTo.at)
	e.sentTo.mu.Unlock()
	if limit := int(ownGrace/time.Second) + 1; n > limit {
		t.Errorf("after %d collector changes a second apart, the engine remembers %d collectors; want at most %d (ownGrace)", changes, n, limit)
	}
	self := e.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port()
	for _, c := range []struct {
		i    int
		own  bool
		what string
	}{
		{changes - 1, true, "the current collector"},
		{changes - 2, true, "a collector dropped a second ago"},
		{changes - 100, false, "a collector dropped long ago"},
	} {
		f := l4.Flow{ProxyID: "p", ListenerID: "l1", Proto: snapshot.ProtoUDP,
			Client: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), self), Local: collector(c.i)}
		if got := taps["p"].UDP(f, l4.Ingress) == nil; got != c.own {
			t.Errorf("the engine's datagrams to %s (%v) taken for its own copies: %v; want %v", c.what, f.Local, got, c.own)
		}
	}
}

// TestAppliedChangeKeepsFlows: Apply updates a running mirror in place.
// A live flow goes on being copied when other sources of its mirror
// change, follows its mirror's new direction and collector, and goes quiet
// only when its own listener leaves the sources or the mirror goes.
func TestAppliedChangeKeepsFlows(t *testing.T) {
	reg := stats.NewRegistry()
	e := New(reg, Options{Rate: -1})
	defer e.Close()
	cfg := testMirror(snapshot.MirrorAll)
	cfg.Sources = []snapshot.MirrorSource{{ProxyID: "p", ListenerID: "l1"}, {ProxyID: "p", ListenerID: "l2"}}
	apply := func(ms ...snapshot.Mirror) map[string]l4.Tap {
		t.Helper()
		taps, err := e.Apply(ms)
		if err != nil {
			t.Fatal(err)
		}
		return taps
	}
	tap := apply(cfg)["p"].TCP(l4.Flow{ProxyID: "p", ListenerID: "l1", Proto: "TCP",
		Client: netip.MustParseAddrPort("10.0.0.1:1000"), Local: netip.MustParseAddrPort("10.0.0.2:80")})
	if tap == nil {
		t.Fatal("flow of a mirrored listener not observed")
	}
	copied := func(d l4.Dir) bool {
		keeps := 0
		tap.Data(d, 100, &countingChunk{Chunk: l4.CopyChunk(make([]byte, 100)), keeps: &keeps})
		return keeps == 1
	}
	steps := []struct {
		desc    string
		change  func(m *snapshot.Mirror)
		in, out bool
	}{
		{"unchanged", func(*snapshot.Mirror) {}, true, true},
		{"another listener deleted", func(m *snapshot.Mirror) { m.Sources[1].ListenerID = "l2@p" }, true, true},
		{"a proxy added", func(m *snapshot.Mirror) { m.Sources = append(m.Sources, snapshot.MirrorSource{ProxyID: "q"}) }, true, true},
		{"direction INGRESS", func(m *snapshot.Mirror) { m.Direction = snapshot.MirrorIngress }, true, false},
		{"another collector", func(m *snapshot.Mirror) { m.Targets[0].Port = 10 }, true, false},
		{"both directions, ingress filtered out", func(m *snapshot.Mirror) {
			m.Direction = snapshot.MirrorAll
			m.Filters = []snapshot.MirrorFilter{{Direction: snapshot.MirrorIngress, Action: snapshot.MirrorDrop}}
		}, false, true},
		{"its listener left", func(m *snapshot.Mirror) { m.Sources = m.Sources[1:] }, false, false},
	}
	for _, st := range steps {
		st.change(&cfg)
		cfg.Sources, cfg.Targets = slices.Clone(cfg.Sources), slices.Clone(cfg.Targets) // Each Apply its own.
		apply(cfg)
		if in, out := copied(l4.Ingress), copied(l4.Egress); in != st.in || out != st.out {
			t.Errorf("%s: copies ingress %v, egress %v; want %v, %v", st.desc, in, out, st.in, st.out)
		}
	}
	if got := tap.(*tcpFlow).route().c.addrs[0].Port; got != 10 {
		t.Errorf("flow sends to port %d; want the new collector's 10", got)
	}
	cfg.Sources = append(cfg.Sources, snapshot.MirrorSource{ProxyID: "p", ListenerID: "l1"})
	apply(cfg)
	if !copied(l4.Egress) {
		t.Errorf("flow not copied once its listener is back among the sources")
	}
	apply()
	if copied(l4.Egress) {
		t.Errorf("flow copied after its mirror was removed")
	}
}

// TestDirectionChangeKeepsSeqOrder: a mirror updated in place to copy a
// direction it did not copy goes on with a live flow's sequence state
// (docs/dataplane-mirror.md "Updates"). Until then the other direction's
// acks counted the bytes the edge relayed; from then the direction's
// sequence numbers start there, so the collector never sees a sequence or
// ack number go back, whichever way the direction changes. The direction
// copied throughout sends first after each change, so its acks come before
// any event of the other.
func TestDirectionChangeKeepsSeqOrder(t *testing.T) {
	dirName := [...]string{l4.Ingress: "ingress", l4.Egress: "egress"}
	for _, tc := range []struct {
		dirs []string
		kept l4.Dir // Copied throughout.
	}{
		{[]string{snapshot.MirrorIngress, snapshot.MirrorAll}, l4.Ingress},
		{[]string{snapshot.MirrorAll, snapshot.MirrorIngress, snapshot.MirrorAll}, l4.Ingress},
		{[]string{snapshot.MirrorEgress, snapshot.MirrorAll}, l4.Egress},
	} {
		t.Run(strings.Join(tc.dirs, "-"), func(t *testing.T) {
			e, cfg, tf, s := tcpSender(t, tc.dirs[0])
			m := tf.m
			var last [2]*layers.TCP // By l4.Dir: the last segment emitted.
			relay := func(step string, d l4.Dir, n int) {
				tf.Data(d, n, &recChunk{keep: n})
				for len(e.queue) > 0 {
					ev := <-e.queue
					s.take(e, &ev)
				}
				for _, msg := range s.msgs[:s.n] {
					p := gopacket.NewPacket(msg.Buffers[0], layers.LayerTypeVXLAN, gopacket.Default)
					seg, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
					if seg == nil {
						t.Fatalf("%s: packet without TCP: %v", step, p)
					}
					sd := l4.Egress
					if seg.SrcPort == layers.TCPPort(tf.client.Port()) {
						sd = l4.Ingress
					}
					if prev := last[sd]; prev != nil && (int32(seg.Seq-prev.Seq) < 0 || int32(seg.Ack-prev.Ack) < 0) {
						t.Errorf("%s: %s segment with seq %d, ack %d after seq %d, ack %d: went back",
							step, dirName[sd], seg.Seq, seg.Ack, prev.Seq, prev.Ack)
					}
					if o := 1 - sd; len(seg.Payload) > 0 && seg.Ack != tf.isn[o]+1+uint32(tf.off[o].Load()) {
						t.Errorf("%s: %s data acks %d bytes; want %d, all the other side relayed",
							step, dirName[sd], seg.Ack-tf.isn[o]-1, tf.off[o].Load())
					}
					last[sd] = seg
				}
				s.flush()
			}
			for i, dir := range tc.dirs {
				cfg.Direction = dir
				m.set(cfg)
				step := strings.Join(tc.dirs[:i+1], "-")
				for range 2 {
					relay(step, tc.kept, 100)
					relay(step, 1-tc.kept, 10000)
				}
			}
			if last[l4.Ingress] == nil || last[l4.Egress] == nil {
				t.Errorf("a direction emitted nothing after the mirror copied both")
			}
		})
	}
}

// TestDenyPrivateDropsCollectors: under Options.DenyPrivate a mirror sends
// to its public collectors only, and one left with none does not run (no
// tap for its proxy); the caller's snapshot keeps its targets.
func TestDenyPrivateDropsCollectors(t *testing.T) {
	e := New(stats.NewRegistry(), Options{Rate: -1, DenyPrivate: true})
	defer e.Close()
	mixed := testMirror(snapshot.MirrorIngress)
	targets := func() []snapshot.MirrorTarget {
		return []snapshot.MirrorTarget{{IP: "127.0.0.1", Port: 9}, {IP: "198.51.100.7", Port: 9}, {IP: "10.1.2.3", Port: 9}}
	}
	mixed.Targets = targets()
	private := testMirror(snapshot.MirrorIngress)
	private.ID, private.Sources, private.Targets = "imgf-private", []snapshot.MirrorSource{{ProxyID: "q"}}, []snapshot.MirrorTarget{{IP: "192.168.1.1"}}
	ms := []snapshot.Mirror{mixed, private}
	taps, err := e.Apply(ms)
	if err != nil {
		t.Fatal(err)
	}
	m := e.mirrors["imgf-t"]
	if m == nil || !slices.Equal(m.cfg.Load().targets, []netip.AddrPort{netip.MustParseAddrPort("198.51.100.7:9")}) {
		t.Errorf("mixed mirror %v; want it running to 198.51.100.7:9 alone", m)
	}
	if e.mirrors["imgf-private"] != nil || taps["q"] != nil {
		t.Errorf("mirror with private collectors only runs (tap %v); want it dropped", taps["q"])
	}
	if !slices.Equal(ms[0].Targets, targets()) {
		t.Errorf("Apply changed the caller's targets to %v", ms[0].Targets)
	}
}

// TestOneDirectionAckAtRelayTime: with only INGRESS copied, the client's
// data segment acknowledges what the proxy had sent the client when those
// bytes were relayed. The sender (nice 19, behind a queue) read the other
// direction's offset when it got to the event, so a sender that lagged
// showed the client acknowledging bytes it had not been sent yet.
func TestOneDirectionAckAtRelayTime(t *testing.T) {
	e, _, tf, s := tcpSender(t, snapshot.MirrorIngress)

	tf.Data(l4.Ingress, 5, &recChunk{keep: 5}) // The client's request, relayed first.
	tf.Data(l4.Egress, 7, &recChunk{keep: 7})  // Then the answer (egress not copied).
	for len(e.queue) > 0 {                     // The sender gets to the queue only now.
		ev := <-e.queue
		s.take(e, &ev)
	}
	var data *layers.TCP
	for _, msg := range s.msgs[:s.n] {
		p := gopacket.NewPacket(msg.Buffers[0], layers.LayerTypeVXLAN, gopacket.Default)
		if seg, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP); seg != nil && len(seg.Payload) > 0 {
			data = seg
		}
	}
	if data == nil {
		t.Fatal("the client's data segment was not emitted")
	}
	if got, want := data.Ack-tf.isn[l4.Egress]-1, uint32(0); got != want {
		t.Errorf("the client's 5-byte segment acks %d bytes of the proxy's; want %d: the answer was relayed after it", got, want)
	}
}

// tcpSender is an engine with a mirror copying dir (configured as cfg), a
// TCP flow of it, and a sender whose packets stay in its buffer (s.msgs)
// for the test to read.
func tcpSender(t *testing.T, dir string) (e *Engine, cfg snapshot.Mirror, tf *tcpFlow, s *sender) {
	t.Helper()
	reg := stats.NewRegistry()
	e = New(reg, Options{Rate: -1})
	t.Cleanup(e.Close)
	cfg = testMirror(dir)
	m := newMirror(e, cfg, reg.Get(StatsKind, cfg.ID))
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return e, cfg, &tcpFlow{flow: testFlow(m, [2]bool{true, true})}, newSender(conn)
}
