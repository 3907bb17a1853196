package edge_test

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

func TestSecurityPolicy(t *testing.T) {
	t.Parallel()
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	good, bad := lo.Next(), lo.Next()
	rt := newRuntime(t, edge.Options{})
	s := oneProxy(1, ip, listener("lsr-acl", snapshot.ProtoTCP, port, origins(origin.Addr)))
	s.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionDrop,
		Rules: []snapshot.SecurityRule{{SourceCIDR: good.String() + "/32", Protocol: "TCP", DestPorts: "1-65535", Action: snapshot.ActionAccept}}}
	mustApply(t, rt, s)
	to := netip.AddrPortFrom(ip, uint16(port))

	if !echoes(t, good, to) {
		t.Errorf("allowed source %v refused", good)
	}
	if echoes(t, bad, to) {
		t.Errorf("denied source %v served", bad)
	}
	if d := rt.Stats().Values[stats.Key{Kind: stats.KindProxy, ID: "link-1"}].Denied; d != 1 {
		t.Errorf("denied: got %d; want 1", d)
	}

	// A long-lived allowed connection is closed when a new policy denies it.
	c := dial(t, good, to)
	roundTrip(t, c)
	s2 := oneProxy(2, ip, s.Proxies[0].Listeners...)
	s2.Proxies[0].Policy = &snapshot.SecurityPolicy{ID: "sp-1", Enabled: true, DefaultAction: snapshot.ActionDrop}
	mustApply(t, rt, s2)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := io.ReadAll(c) // EOF or reset: either way the edge closed it.
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("connection still open after the policy denied it")
	}
}

// echoes reports whether a round trip from src through to works.
func echoes(t *testing.T, src netip.Addr, to netip.AddrPort) bool {
	d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	c, err := d.Dial("tcp", to.String())
	if err != nil {
		return false // A denied client may see the reset already in connect.
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return false
	}
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	return err == nil && string(buf) == "ping"
}

func roundTrip(t *testing.T, c interface {
	Write([]byte) (int, error)
	Read([]byte) (int, error)
}) {
	t.Helper()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("round trip: got %q, %v; want ping", buf, err)
	}
}
