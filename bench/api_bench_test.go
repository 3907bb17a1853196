package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/cloudapi/sign"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/xtest"
)

// seedProxies stores n RUNNING proxies of the root account directly, in
// batches, so the benchmark measures reads rather than setup.
func seedProxies(b *testing.B, api *xtest.API, n int) []string {
	b.Helper()
	ids := make([]string, 0, n)
	for done := 0; done < n; done += 1000 {
		err := api.Store.Update(context.Background(), func(t store.Tx) error {
			tx := &resource.Tx{Store: t, Account: xtest.Root.Uin, Now: time.Now()}
			for i := done; i < min(n, done+1000); i++ {
				p := &model.Proxy{Base: model.Base{ID: model.NewID(model.PrefixProxy)}, Name: fmt.Sprintf("p%d", i),
					AccessRegion: "SouthChina", RealServerRegion: "NorthChina", Bandwidth: 10, Concurrent: 2,
					Status: model.ProxyRunning, IP: fmt.Sprintf("127.%d.%d.%d", 200+i>>16, (i>>8)&255, i&255), IPAddressVersion: "IPv4"}
				if err := tx.Insert(p); err != nil {
					return err
				}
				ids = append(ids, p.ID)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// startAPI starts a node on the store named by OPENGAAP_TEST_STORE.
func startAPI(b *testing.B) *xtest.API {
	b.Logf("store: %s", storeName())
	return xtest.StartAPIWith(b, func(o *server.Options) { o.NoRateLimits = true })
}

func storeName() string {
	if os.Getenv("OPENGAAP_TEST_STORE") == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// BenchmarkDescribeProxies pages through 10,000 stored proxies with the
// official SDK, as many clients in parallel as GOMAXPROCS*4.
func BenchmarkDescribeProxies(b *testing.B) {
	api := startAPI(b)
	seedProxies(b, api, 10000)
	c := api.GAAP()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := gaapsdk.NewDescribeProxiesRequest()
		req.Limit = new(uint64(20))
		for pb.Next() {
			resp, err := c.DescribeProxies(req)
			if err != nil || *resp.Response.TotalCount != 10000 || len(resp.Response.ProxySet) != 20 {
				b.Fatalf("DescribeProxies: %v", err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkCreateTCPListeners measures the latency of creating one TCP
// listener through the SDK (one transaction, validation, port checks).
func BenchmarkCreateTCPListeners(b *testing.B) {
	api := startAPI(b)
	ids := seedProxies(b, api, (b.N+199)/200+1)
	c := api.GAAP()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := gaapsdk.NewCreateTCPListenersRequest()
		req.ProxyId = new(ids[i/200])
		req.ListenerName = new("l")
		req.Ports = []*uint64{new(uint64(1000 + i%200))}
		req.Scheduler, req.RealServerType = new("rr"), new("IP")
		req.HealthCheck = new(uint64(0))
		req.ClientIPMethod = new(int64(1))
		if _, err := c.CreateTCPListeners(req); err != nil {
			b.Fatalf("CreateTCPListeners: %v", err)
		}
	}
}

// BenchmarkDescribeProxiesServer measures the server alone: the SDK's
// response parsing costs more CPU than the server's whole call, and on two
// shared cores it would hide the server's throughput. Each client sends one
// TC3-signed request over and over (a signature stays valid for 5 minutes)
// and checks the answer without decoding it.
func BenchmarkDescribeProxiesServer(b *testing.B) {
	api := startAPI(b)
	seedProxies(b, api, 10000)
	body := []byte(`{"Limit":20}`)
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("X-TC-Action", "DescribeProxies")
	hdr.Set("X-TC-Version", "2018-05-29")
	ts := time.Now().Unix()
	hdr.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	hdr.Set("Authorization", sign.SignTC3(xtest.Root.SecretID, xtest.Root.SecretKey, "gaap", "POST", api.Addr, "", hdr, body, ts))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 64<<10)
		for pb.Next() {
			req, _ := http.NewRequest("POST", "http://"+api.Addr+"/", bytes.NewReader(body))
			req.Header = hdr.Clone()
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.ReadFull(resp.Body, buf)
			resp.Body.Close()
			if !bytes.Contains(buf[:n], []byte(`"TotalCount":10000`)) {
				b.Fatalf("unexpected answer %.200s", buf[:n])
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
