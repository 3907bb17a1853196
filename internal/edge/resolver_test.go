package edge_test

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestResolverOptionResolvesDomainOrigins: edge.Options.Resolver, when
// set, is the resolver of domain origins, not a fallback behind the
// nameservers of /etc/resolv.conf: wherever those answer (NXDOMAIN for a
// name only the configured resolver knows), it would never be asked and
// the origin would never resolve.
func TestResolverOptionResolvesDomainOrigins(t *testing.T) {
	origin := namedOrigins(t, 1)[0]
	z := startZone(t)
	z.set("resolver-origin.internal", origin.Addr())
	rt := newRuntime(t, edge.Options{Resolver: z.resolver})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	l := listener("lsr-resolver", snapshot.ProtoTCP, port,
		[]snapshot.Origin{{ID: "o0", Host: "resolver-origin.internal", IsDomain: true, Port: int(origin.Port()), Weight: 10}})
	mustApply(t, rt, oneProxy(1, ip, l))
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(ip, uint16(port)).String(), time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			b := make([]byte, 8)
			n, _ := c.Read(b)
			c.Close()
			if string(b[:n]) == "o0" {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("the DOMAIN origin never served within 8 s; the configured Resolver's server was asked %d times", z.asked())
}
