package server_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/telemetry"
	"github.com/opengaap/opengaap/internal/xtest"
)

// largeAccount is what seedLargeAccount stored.
type largeAccount struct {
	proxies   []string
	ips       []string
	listeners []string // listeners[i] is on proxies[i/perProxy]
	rss       []string
}

// seedLargeAccount stores, directly, nProxies RUNNING proxies of the root
// account (IPs in the node's vip pool), nRS real servers and perProxy
// layer-4 listeners per proxy (every 4th UDP), each bound to 2 or 3 real
// servers: the shape of a large but ordinary account.
func seedLargeAccount(t *testing.T, api *xtest.API, pool string, nProxies, perProxy, nRS int) largeAccount {
	t.Helper()
	var a largeAccount
	pfx := netip.MustParsePrefix(pool)
	ip := pfx.Addr().Next()
	err := api.Store.Update(context.Background(), func(st store.Tx) error {
		tx := &resource.Tx{Store: st, Account: xtest.Root.Uin, Now: time.Now()}
		for i := range nRS {
			rs := &model.RealServer{Base: model.Base{ID: model.NewID(model.PrefixRealServer)}, Name: fmt.Sprintf("rs%d", i),
				Address: fmt.Sprintf("127.78.%d.%d", i/250, i%250+1)}
			if err := tx.Insert(rs); err != nil {
				return err
			}
			a.rss = append(a.rss, rs.ID)
		}
		for i := range nProxies {
			ip = ip.Next()
			p := &model.Proxy{Base: model.Base{ID: model.NewID(model.PrefixProxy)}, Name: fmt.Sprintf("p%d", i),
				AccessRegion: "SouthChina", RealServerRegion: "NorthChina", Bandwidth: 10, Concurrent: 2,
				Status: model.ProxyRunning, IP: ip.String(), IPAddressVersion: "IPv4"}
			if err := tx.Insert(p); err != nil {
				return err
			}
			a.proxies, a.ips = append(a.proxies, p.ID), append(a.ips, p.IP)
			for j := range perProxy {
				proto := model.TCP
				if j%4 == 3 {
					proto = model.UDP
				}
				l := &model.Listener{Base: model.Base{ID: model.NewID(model.PrefixListener)}, Name: fmt.Sprintf("l%d", j),
					ProxyID: p.ID, Protocol: proto, Port: int64(30000 + j), Scheduler: "rr", RealServerType: "IP",
					ClientIPMethod: 1}
				if proto == model.UDP {
					l.ClientIPMethod = 0
				}
				k := i*perProxy + j
				for b := range 2 + k%2 {
					l.Bindings = append(l.Bindings, model.Bound{RealServerID: a.rss[(k*3+b)%nRS], Port: int64(8000 + b), Weight: 10})
				}
				if err := tx.Insert(l); err != nil {
					return err
				}
				a.listeners = append(a.listeners, l.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestIdleMinuteStoresNoZeroPoints: an account of 200 proxies, 2,000
// layer-4 listeners and 5,000 bindings with no traffic at all. A traffic
// point of 0 reads the same as no point (docs/statistics.md "Missing
// points"), so an idle minute stores none: only the origins' health (whose
// 0 means abnormal) and nothing of the 8 traffic series of every proxy,
// listener and origin, nor their three rollups. Recording the minute stays
// a small share of the minute (a generous bound: the machine is shared).
func TestIdleMinuteStoresNoZeroPoints(t *testing.T) {
	var pool, dir string
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		o.NoRateLimits, o.DrainGrace, o.StatsInterval = true, time.Second, time.Hour
		pool, dir = o.VIPPool, o.DataDir
	})
	seedLargeAccount(t, api, pool, 200, 10, 500)
	ctx := context.Background()
	if err := api.Controller.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if err := api.Telemetry.Record(ctx, time.Now()); err != nil { // First part since start.
		t.Fatal(err)
	}
	var worst time.Duration
	for range 2 {
		t0 := time.Now()
		if err := api.Telemetry.Record(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(t0))
	}
	zero, total := 0, 0
	for _, gran := range []int{60, 300, 3600, 86400} {
		pts, err := api.Store.Stats().Range(ctx, gran, time.Now().Add(-48*time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		total += len(pts)
		for _, p := range pts {
			if p.Value == 0 && p.Metric != telemetry.HealthMetric {
				zero++
			}
		}
	}
	var size int64
	for _, f := range []string{"opengaap.db", "opengaap.db-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			size += fi.Size()
		}
	}
	t.Logf("idle minute record: slowest %v; points stored %d, %d of them zero traffic points; sqlite files %d MB",
		worst, total, zero, size>>20)
	if worst > 10*time.Second {
		t.Errorf("recording one idle minute took %v; want well under the minute the recorder has for it", worst)
	}
	if zero > 0 {
		t.Errorf("idle minutes stored %d zero-valued traffic points (of %d); want none: a missing point reads as 0", zero, total)
	}
}
