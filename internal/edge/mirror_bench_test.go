package edge_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/mirror"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// BenchmarkTCPThroughputMirror streams through the proxy to a sink origin
// with mirroring off (splice path) and on (copy loop + VXLAN copies to a
// collector that discards them). Besides MB/s it reports the share of
// mirror packets dropped at the queue (drop%): mirroring is allowed to
// lose copies, never to slow the mirrored connection down much.
func BenchmarkTCPThroughputMirror(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) { benchMirror(b, on) })
	}
}

func benchMirror(b *testing.B, on bool) {
	sink := edgetest.StartTCP(b, netip.AddrPortFrom(lo.Next(), 0), edgetest.Sink)
	col, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lo.Next(), 0)))
	if err != nil {
		b.Fatal(err)
	}
	defer col.Close()
	_ = col.SetReadBuffer(8 << 20)
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, err := col.Read(buf); err != nil {
				return
			}
		}
	}()
	ip := lo.Next()
	port := edgetest.FreePort(b, ip)
	rt := edge.New(edge.Options{DrainGrace: time.Second})
	defer closeRuntime(rt)
	s := oneProxy(1, ip, listener("lsr-mbench", snapshot.ProtoTCP, port, origins(sink.Addr)))
	if on {
		ca := col.LocalAddr().(*net.UDPAddr).AddrPort()
		s.Mirrors = []snapshot.Mirror{{ID: "imgf-bench", VNI: 1, Direction: snapshot.MirrorAll,
			Sources: []snapshot.MirrorSource{{ProxyID: "link-1"}},
			Targets: []snapshot.MirrorTarget{{IP: ca.Addr().String(), Port: int(ca.Port())}}}}
	}
	if rep := rt.Apply(s); !rep.OK() {
		b.Fatalf("apply: %+v", rep)
	}
	c, err := net.Dial("tcp", netip.AddrPortFrom(ip, uint16(port)).String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if on {
		v := rt.Stats().Values[stats.Key{Kind: mirror.StatsKind, ID: "imgf-bench"}]
		if total := v.PacketsOut + v.Dropped; total > 0 {
			b.ReportMetric(100*float64(v.Dropped)/float64(total), "drop%")
		}
	}
}
