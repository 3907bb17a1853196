package edge_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// BenchmarkTCPThroughput streams through the proxy (splice path) to a
// sink origin; b.SetBytes makes -bench report MB/s.
func BenchmarkTCPThroughput(b *testing.B) {
	sink := edgetest.StartTCP(b, netip.AddrPortFrom(lo.Next(), 0), edgetest.Sink)
	ip := lo.Next()
	port := edgetest.FreePort(b, ip)
	rt := edge.New(edge.Options{DrainGrace: time.Second})
	defer closeRuntime(rt)
	rt.Apply(oneProxy(1, ip, listener("lsr-bench", snapshot.ProtoTCP, port, origins(sink.Addr))))
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
}

// BenchmarkUDPPackets measures request/response datagrams per second
// through the proxy with a window of 32 in flight.
func BenchmarkUDPPackets(b *testing.B) {
	origin := edgetest.StartUDP(b, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte { return p })
	ip := lo.Next()
	port := edgetest.FreePort(b, ip)
	rt := edge.New(edge.Options{})
	defer closeRuntime(rt)
	rt.Apply(oneProxy(1, ip, listener("lsr-ubench", snapshot.ProtoUDP, port, origins(origin.Addr))))
	c, err := net.Dial("udp", netip.AddrPortFrom(ip, uint16(port)).String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const window = 32
	msg := make([]byte, 512)
	in := make([]byte, 2048)
	lost := 0
	b.ResetTimer()
	for i := 0; i < b.N; i += window {
		n := min(window, b.N-i)
		for range n {
			_, _ = c.Write(msg)
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for range n {
			if _, err := c.Read(in); err != nil {
				lost++
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(lost), "timeouts")
}

func closeRuntime(rt *edge.Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = rt.Close(ctx)
}
