package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest/faultproxy"
)

// TestPostgresSessionsEndedUnderTraffic: while a client makes calls, the
// PostgreSQL server ends every session of the store (what a database
// restart or failover does). The calls that follow must succeed: each
// stale pooled connection must not cost one client an InternalError.
func TestPostgresSessionsEndedUnderTraffic(t *testing.T) {
	if os.Getenv("OPENGAAP_TEST_STORE") != "postgres" {
		t.Skip("needs OPENGAAP_TEST_STORE=postgres (and OPENGAAP_TEST_POSTGRES)")
	}
	var dsn string
	n := startNode(t, func(o *server.Options) { o.NoRateLimits = true; o.LockCheck = 200 * time.Millisecond; dsn = o.StoreDSN })
	proxy, _ := n.proxy()
	u, _ := url.Parse(dsn)
	admin, err := sql.Open("pgx", os.Getenv("OPENGAAP_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	call := func(i int) []string {
		var fails []string
		req := gaapsdk.NewModifyProxiesAttributeRequest()
		req.InstanceIds, req.ProxyName = []*string{&proxy}, new(fmt.Sprint("n", i))
		if _, err := n.c.ModifyProxiesAttribute(req); err != nil {
			fails = append(fails, fmt.Sprintf("call %d write: %v", i, err))
		}
		if _, err := n.c.DescribeProxies(gaapsdk.NewDescribeProxiesRequest()); err != nil {
			fails = append(fails, fmt.Sprintf("call %d read: %v", i, err))
		}
		return fails
	}
	// A steady client: a write and a read every 100 ms.
	for i := range 10 {
		if f := call(i); len(f) > 0 {
			t.Fatalf("before: %v", f)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var killed int
	if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1`,
		strings.TrimPrefix(u.Path, "/")).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	t.Logf("terminated the store's %d sessions", killed)
	var fails []string
	for i := 10; i < 30; i++ {
		time.Sleep(100 * time.Millisecond)
		fails = append(fails, call(i)...)
	}
	if len(fails) > 0 {
		t.Fatalf("%d of 40 calls failed after the sessions ended:\n%s", len(fails), strings.Join(fails, "\n"))
	}
}

// TestFrozenStoreStatisticsStayOnTheirMinute: the database stops answering
// without a reset (a partition, a paused host: faultproxy.Freeze) across a
// minute boundary while clients connect in the new minute. Once it answers
// again, that minute's connections must be stored at that minute
// (docs/statistics.md: the point at 10:00 holds 10:00:00-10:01:00): the
// recorder waited for the frozen write before it sampled again, and the
// sample taken then was stamped with the minute the outage began in. It
// waits up to a minute for a boundary.
func TestFrozenStoreStatisticsStayOnTheirMinute(t *testing.T) {
	if os.Getenv("OPENGAAP_TEST_STORE") != "postgres" {
		t.Skip("needs OPENGAAP_TEST_STORE=postgres (and OPENGAAP_TEST_POSTGRES)")
	}
	var p *faultproxy.Proxy
	n := startNode(t, func(o *server.Options) {
		u, err := url.Parse(o.StoreDSN)
		if err != nil {
			t.Fatal(err)
		}
		p = faultproxy.New(t, u.Host)
		u.Host = p.Addr()
		o.StoreDSN = u.String()
		o.NoRateLimits = true
	})
	proxy, ip := n.proxy()
	ids, srvs := n.proxyNamedOrigins("a")
	listener, port := n.tcpListener(proxy, ip, "rr", false)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: srvs[0].Addr})
	addr := netip.AddrPortFrom(ip, uint16(port))
	// Frozen from 3 s before a boundary to 3 s after it.
	now := time.Now()
	boundary := now.Truncate(time.Minute).Add(time.Minute)
	if boundary.Sub(now) < 4*time.Second {
		boundary = boundary.Add(time.Minute)
	}
	time.Sleep(time.Until(boundary.Add(-3 * time.Second)))
	p.Freeze()
	time.Sleep(time.Until(boundary.Add(time.Second)))
	for range 10 { // All in the minute starting at boundary.
		if got := fetch(t, addr); got != "a" {
			t.Fatalf("while the store is frozen: got %q", got)
		}
	}
	time.Sleep(2 * time.Second)
	p.Restore()
	perMinute := map[time.Time]float64{}
	n.until("the 10 connections recorded", func() bool {
		pts, err := n.Store.Stats().Query(context.Background(), listener, "NewConnections", 60, boundary.Add(-2*time.Minute), boundary.Add(2*time.Minute))
		if err != nil {
			return false
		}
		clear(perMinute)
		total := 0.0
		for _, pt := range pts {
			perMinute[pt.Time.Local()] += pt.Value
			total += pt.Value
		}
		return total >= 10
	})
	if perMinute[boundary] != 10 {
		t.Errorf("NewConnections per minute: %v; want the 10 connections made at %v-%v stamped %v",
			perMinute, boundary.Add(time.Second).Format("15:04:05"), boundary.Add(2*time.Second).Format("15:04:05"), boundary.Format("15:04"))
	}
}
