package edge_test

import (
	"bufio"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/toa"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestTCPClientAddressInTOA: a TOA listener's origin connections carry
// the client's address in the TCP option (read off the wire, on the ACK
// that ends the handshake, where an origin's TOA module reads it); a
// runtime that cannot write TOA refuses such a listener instead of
// serving it without.
func TestTCPClientAddressInTOA(t *testing.T) {
	w, err := toa.New()
	if errors.Is(err, toa.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		_, _ = c.Write([]byte(line))
	})
	wire, err := edgetest.WatchTCP(origin.Addr.Port())
	if err != nil {
		t.Skipf("no raw socket to watch the wire: %v", err)
	}
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{TOA: w})
	l := listener("lsr-toa", snapshot.ProtoTCP, port, origins(origin.Addr))
	l.ClientIP = snapshot.ClientIPTOA
	mustApply(t, rt, oneProxy(1, ip, l))
	c := dial(t, lo.Next(), netip.AddrPortFrom(ip, uint16(port)))
	_, _ = c.Write([]byte("hi\n"))
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "hi\n" {
		t.Fatalf("echo through a TOA listener: %q, %v", line, err)
	}
	c.Close()
	time.Sleep(50 * time.Millisecond)
	segs := wire.Stop()
	client := netip.MustParseAddrPort(c.LocalAddr().String())
	if !edgetest.CarriesTOA(segs, client) {
		t.Errorf("no handshake to the origin carried TOA %s (%d segments, handshake ACKs %+v)", client, len(segs), edgetest.HandshakeACKs(segs))
	}
}

// TestTOAListenerInvalidSaysWhy guards that a runtime without TOA reports
// its TOA listeners invalid with the reason it was given (a node started
// with --no-toa said the machine could not load the program), and with
// toa.ErrUnsupported when given none.
func TestTOAListenerInvalidSaysWhy(t *testing.T) {
	off := errors.New("TOA is off on this node (--no-toa)")
	for _, c := range []struct {
		why  error
		want string
	}{{off, off.Error()}, {nil, toa.ErrUnsupported.Error()}} {
		rt := newRuntime(t, edge.Options{NoTOA: c.why})
		ip := lo.Next()
		l := listener("lsr-toa", snapshot.ProtoTCP, edgetest.FreePort(t, ip), origins(netip.MustParseAddrPort("127.0.0.1:9")))
		l.ClientIP = snapshot.ClientIPTOA
		rep := rt.Apply(oneProxy(1, ip, l))
		if len(rep.Listeners) != 1 || rep.Listeners[0].State != edge.StateInvalid || rep.Listeners[0].Error != c.want {
			t.Errorf("TOA listener on a runtime without TOA (NoTOA %v): %+v; want it invalid, saying %q", c.why, rep.Listeners, c.want)
		}
	}
}
