package mirror

import (
	"net"
	"net/netip"
	"runtime"
	"testing"

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
	m := compile(e, testMirror(snapshot.MirrorAll), reg.Get(StatsKind, "imgf-t"))
	fl := newFlow(m, "TCP", netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:80"), [2]bool{true, true})
	tf := &tcpFlow{flow: fl}
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

func (c *countingChunk) Keep() int { *c.keeps++; return c.Chunk.Keep() }

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
			m := compile(nil, tc.m, nil)
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
	m := compile(nil, cfg, nil)
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

// TestSegmentSize: segments fill the path to the collector without
// fragmenting the VXLAN packet: a 1500-byte MTU carries 1410 payload bytes
// (1500 with the 90 bytes of headers), loopback one IPv4 packet's worth.
func TestSegmentSize(t *testing.T) {
	if got := segmentSize(1500); got != 1410 {
		t.Errorf("segmentSize(1500) = %d; want 1410", got)
	}
	m := compile(nil, testMirror(snapshot.MirrorAll), nil)
	if runtime.GOOS == "linux" && m.mss[0] != 65535-90 {
		t.Errorf("segment size to a loopback collector %d; want %d (lo's 64 KiB MTU)", m.mss[0], 65535-90)
	}
}

// TestCloseReleasesQueue: a closing sender discards what is queued and
// returns its bytes, so the engine's pending count ends at zero.
func TestCloseReleasesQueue(t *testing.T) {
	reg := stats.NewRegistry()
	e := New(reg, Options{Rate: -1})
	m := compile(e, testMirror(snapshot.MirrorAll), reg.Get(StatsKind, "imgf-t"))
	tf := &tcpFlow{flow: newFlow(m, "TCP", netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:80"), [2]bool{true, true})}
	chunk := make([]byte, 3000)
	for range 10 {
		tf.Data(l4.Ingress, len(chunk), l4.CopyChunk(chunk))
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m.stopped.Store(true) // What it may still take before seeing done, it sends nothing of.
	close(e.done)
	newSender(c).run(e) // Returns once it sees done.
	if got := e.pending.Load(); got != 0 {
		t.Errorf("pending %d bytes after close; want 0", got)
	}
}
