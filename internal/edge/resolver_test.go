package edge_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

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
	pc, err := net.ListenPacket("udp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	asked := make(chan string, 16)
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		select {
		case asked <- q.Question[0].Name:
		default:
		}
		if q.Question[0].Name == "resolver-origin.internal." && q.Question[0].Qtype == dns.TypeA {
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30},
				A: origin.Addr().AsSlice()}}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	defer srv.Shutdown()
	zone := pc.LocalAddr().String()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, zone)
	}}
	rt := newRuntime(t, edge.Options{Resolver: r})
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
	n := len(asked)
	t.Errorf("the DOMAIN origin never served within 8 s; the configured Resolver's server was asked %d times", n)
}
