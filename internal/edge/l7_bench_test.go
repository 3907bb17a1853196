package edge_test

import (
	"io"
	"net/http"
	"net/netip"
	"testing"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// BenchmarkHTTPKeepAlive measures small GETs through an HTTP listener, on
// keep-alive connections at both ends, in parallel.
func BenchmarkHTTPKeepAlive(b *testing.B) {
	rt := edge.New(edge.Options{})
	defer rt.Close(b.Context())
	o := httpOrigin(b, "a", nil)
	ip := lo.Next()
	port := edgetest.FreePort(b, ip)
	l := snapshot.HTTPListener{ID: "lsr-b", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
		{Host: "b.test", Rules: []snapshot.Rule{rule("r-b", "/", l7Origins(o))}}}}
	if rep := rt.Apply(httpProxy(1, ip, l)); !rep.OK() {
		b.Fatalf("apply: %+v", rep)
	}
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Host = "b.test"
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
