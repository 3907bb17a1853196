package edge_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

func TestHealthFailoverAndRecovery(t *testing.T) {
	t.Parallel()
	primary := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name("primary"))
	secondary := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name("secondary"))
	os := origins(primary.Addr, secondary.Addr)
	os[1].Secondary = true
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-hc", snapshot.ProtoTCP, port, os)
	l.FailoverSwitch = true
	const interval = 100 * time.Millisecond
	l.Health = snapshot.HealthCheck{Enabled: true, Interval: interval, Timeout: 50 * time.Millisecond, Healthy: 2, Unhealthy: 2}
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	src := lo.Next()
	if got := readName(t, src, to); got != "primary" {
		t.Fatalf("got %q; want primary", got)
	}

	primary.Close()
	down := time.Now()
	bound := 2*interval + interval + 150*time.Millisecond // fall×interval + one interval + slack.
	edgetest.Eventually(t, bound, func() bool { return !rt.Health()["lsr-hc/o0"] }, "primary not marked down")
	t.Logf("failover after %v (bound %v)", time.Since(down), bound)
	for range 5 {
		if got := readName(t, src, to); got != "secondary" {
			t.Fatalf("got %q; want secondary", got)
		}
	}
	ev := waitEvent(t, rt, func(e edge.Event) bool { return e.Kind == edge.EventOriginHealth && !e.Healthy })
	if len(ev.Users) != 1 || ev.Users[0] != "lsr-hc/o0" {
		t.Errorf("event users: got %v; want [lsr-hc/o0]", ev.Users)
	}

	edgetest.StartTCP(t, primary.Addr, edgetest.Name("primary"))
	up := time.Now()
	edgetest.Eventually(t, bound, func() bool { return rt.Health()["lsr-hc/o0"] }, "primary not marked up")
	t.Logf("recovery after %v", time.Since(up))
	if got := readName(t, src, to); got != "primary" {
		t.Errorf("got %q; want primary after recovery", got)
	}
}

func waitEvent(t *testing.T, rt *edge.Runtime, match func(edge.Event) bool) edge.Event {
	t.Helper()
	timeout := time.After(2 * time.Second)
	for {
		select {
		case e := <-rt.Events():
			if match(e) {
				return e
			}
		case <-timeout:
			t.Fatal("no matching event")
		}
	}
}
