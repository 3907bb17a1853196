package edge_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// sppDecode reads a Simple Proxy Protocol header as the EdgeOne/Cloudflare
// documents describe it, independently of the engine's encoder: magic
// 0x56EC, 16-byte client and proxy addresses, client and proxy ports.
func sppDecode(p []byte) (client, proxy netip.AddrPort, payload []byte, err error) {
	if len(p) < 38 || binary.BigEndian.Uint16(p) != 0x56EC {
		return client, proxy, nil, fmt.Errorf("no SPP header in %q", p)
	}
	ca := netip.AddrFrom16([16]byte(p[2:18])).Unmap()
	pa := netip.AddrFrom16([16]byte(p[18:34])).Unmap()
	client = netip.AddrPortFrom(ca, binary.BigEndian.Uint16(p[34:36]))
	proxy = netip.AddrPortFrom(pa, binary.BigEndian.Uint16(p[36:38]))
	return client, proxy, p[38:], nil
}

func TestUDPSimpleProxyProtocol(t *testing.T) {
	t.Parallel()
	// The origin answers "<client>|<proxy>|<payload>" behind the header it
	// got (the SPP contract), except for "bare", answered without one.
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte {
		c, px, payload, err := sppDecode(p)
		if err != nil {
			return []byte(err.Error())
		}
		if string(payload) == "bare" {
			return []byte("bare reply")
		}
		return append(p[:38:38], fmt.Sprintf("%v|%v|%s", c, px, payload)...)
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-spp", snapshot.ProtoUDP, port, origins(origin.Addr))
	l.ClientIP = snapshot.ClientIPSPP
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	src := lo.Next()
	c := udpClient(t, src, to)
	self := c.LocalAddr().String()

	for i := range 3 { // Every datagram carries its own header.
		msg := fmt.Sprint("hello", i)
		want := fmt.Sprintf("%s|%v|%s", self, to, msg)
		if got := udpRoundTrip(t, c, msg); got != want {
			t.Fatalf("got %q; want %q (header stripped from the reply)", got, want)
		}
	}
	if got := udpRoundTrip(t, c, "bare"); got != "bare reply" {
		t.Errorf("reply without header: got %q; want it unchanged", got)
	}
}

// TestSPPLargestReplyForwarded: a UDP session's reply buffers hold 9216
// bytes of payload until a larger reply comes (docs/dataplane-l4.md), and
// an SPP origin replies with the 38-byte header before its payload, which
// the edge removes. So a 9216-byte payload comes back whole both ways
// although the origin's reply is 9254 bytes; the limit applies to the
// payload, so a bare reply of 9217 bytes, the session's first larger one,
// is dropped and counted, and the next one, the buffers grown, is not.
func TestSPPLargestReplyForwarded(t *testing.T) {
	t.Parallel()
	origin := edgetest.StartUDP(t, netip.AddrPortFrom(lo.Next(), 0), func(_ netip.AddrPort, p []byte) []byte {
		if _, _, payload, err := sppDecode(p); err == nil && string(payload) == "bare-big" {
			return bytes.Repeat([]byte{'x'}, 9217)
		}
		return append([]byte(nil), p...) // Echo, header and all (the SPP contract).
	})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-spp-big", snapshot.ProtoUDP, port, origins(origin.Addr))
	l.ClientIP = snapshot.ClientIPSPP
	mustApply(t, rt, oneProxy(1, ip, l))
	c := udpClient(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	key := stats.Key{Kind: stats.KindListener, ID: "lsr-spp-big"}
	for _, size := range []int{1000, 9216} {
		msg := bytes.Repeat([]byte{'z'}, size)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 65536)
		n, err := c.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], msg) {
			t.Errorf("%d-byte datagram: reply %d bytes, %v (origin got %d datagrams, edge dropped %d); want the %d-byte payload back",
				size, n, err, origin.Received.Load(), rt.Stats().Values[key].Dropped, size)
		}
	}

	if _, err := c.Write([]byte("bare-big")); err != nil {
		t.Fatal(err)
	}
	edgetest.Eventually(t, 2*time.Second, func() bool { return rt.Stats().Values[key].Dropped == 1 },
		"a 9217-byte reply without header was not counted as dropped")
	if got := udpRoundTrip(t, c, "hello"); got != "hello" {
		t.Errorf("after the oversized reply got %q; want hello (the oversized one dropped whole)", got)
	}
	if _, err := c.Write([]byte("bare-big")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	if n, err := c.Read(buf); err != nil || n != 9217 {
		t.Errorf("second 9217-byte bare reply: got %d bytes, %v; want it whole", n, err)
	}
}

func TestSPPOnTCPIsInvalid(t *testing.T) {
	t.Parallel()
	ip := lo.Next()
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-spp-tcp", snapshot.ProtoTCP, edgetest.FreePort(t, ip), nil)
	l.ClientIP = snapshot.ClientIPSPP
	rep := rt.Apply(oneProxy(1, ip, l))
	if st, _ := rep.Listener("lsr-spp-tcp"); st.State != edge.StateInvalid {
		t.Errorf("state %q (%s); want invalid", st.State, st.Error)
	}
}
