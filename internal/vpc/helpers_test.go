package vpc_test

import (
	"errors"
	"testing"
	"time"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"
	vpcsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

// env is a running node with official SDK clients for both accounts.
type env struct {
	api        *xtest.API
	vpc, other *vpcsdk.Client
}

// start starts a node without rate limits: the tables of invalid
// requests send more than the documented 20 per second.
func start(t *testing.T) *env {
	t.Helper()
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.NoRateLimits = true })
	return &env{api: api, vpc: api.VPC(), other: api.VPC(xtest.Other)}
}

// call sends an action SDK v1.0.162 lacks (every traffic-mirror action)
// through the SDK's own signing and transport: params is the JSON body,
// the {"Response": ...} object is decoded into resp (may be nil).
func call(c *vpcsdk.Client, action string, params, resp any) error {
	return xtest.CallService(&c.Client, "vpc", vpcsdk.APIVersion, action, params, resp)
}

// mustCall is call that fails the test on error.
func mustCall(t *testing.T, c *vpcsdk.Client, action string, params, resp any) {
	t.Helper()
	if err := call(c, action, params, resp); err != nil {
		t.Fatalf("%s: %v", action, err)
	}
}

// wantCode fails unless err is an API error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *sdkerrors.TencentCloudSDKError
	if !errors.As(err, &e) {
		t.Fatalf("got error %v; want API error %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("got code %s (%s); want %s", e.Code, e.Message, code)
	}
}

// proxy creates a GAAP proxy, waits until it runs and returns its ID and
// access IP.
func proxy(t *testing.T, api *xtest.API, acct ...cloudapi.Account) (id, ip string) {
	t.Helper()
	g := api.GAAP(acct...)
	req := gaapsdk.NewCreateProxyRequest()
	req.ProjectId, req.ProxyName = new(int64(0)), new("mirror-src")
	req.AccessRegion, req.RealServerRegion = new("SouthChina"), new("NorthChina")
	req.Bandwidth, req.Concurrent = new(uint64(10)), new(uint64(2))
	resp, err := g.CreateProxy(req)
	if err != nil {
		t.Fatalf("CreateProxy: %v", err)
	}
	id = *resp.Response.InstanceId
	eventually(t, func() bool {
		d := gaapsdk.NewDescribeProxyDetailRequest()
		d.ProxyId = new(id)
		r, err := g.DescribeProxyDetail(d)
		if err != nil {
			t.Fatalf("DescribeProxyDetail: %v", err)
		}
		ip = *r.Response.ProxyDetail.IP
		return *r.Response.ProxyDetail.Status == "RUNNING"
	}, "proxy %s not RUNNING", id)
	return id, ip
}

// tcpListener creates a TCP listener on proxy and returns its ID.
func tcpListener(t *testing.T, api *xtest.API, proxy string, port uint64) string {
	t.Helper()
	req := gaapsdk.NewCreateTCPListenersRequest()
	req.ProxyId, req.ListenerName, req.Ports = new(proxy), new("tcp"), []*uint64{&port}
	req.Scheduler, req.HealthCheck, req.RealServerType = new("rr"), new(uint64(0)), new("IP")
	resp, err := api.GAAP().CreateTCPListeners(req)
	if err != nil {
		t.Fatalf("CreateTCPListeners: %v", err)
	}
	return *resp.Response.ListenerIds[0]
}

// eventually polls cond every 100 ms for up to 10 s.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: "+format, args...)
		}
	}
}

// describeMirror reads one mirror back.
func describeMirror(t *testing.T, c *vpcsdk.Client, id string) vpcapi.TrafficMirror {
	t.Helper()
	var out vpcapi.DescribeTrafficMirrorsResponse
	mustCall(t, c, "DescribeTrafficMirrors", map[string]any{"TrafficMirrorIds": []string{id}}, &out)
	if len(out.TrafficMirrorSet) != 1 {
		t.Fatalf("DescribeTrafficMirrors(%s) returned %d mirrors; want 1", id, len(out.TrafficMirrorSet))
	}
	return out.TrafficMirrorSet[0]
}

// createMirror creates a mirror and returns its ID.
func createMirror(t *testing.T, c *vpcsdk.Client, params map[string]any) string {
	t.Helper()
	var out vpcapi.CreateTrafficMirrorResponse
	mustCall(t, c, "CreateTrafficMirror", params, &out)
	return *out.TrafficMirror.TrafficMirrorId
}

// with returns a copy of base with the overrides applied; a nil value
// removes the key.
func with(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// mirrorBase is the parameters of a valid running VPC mirror of proxy px
// in vpc, for with to vary.
func mirrorBase(vpc, px string) map[string]any {
	return map[string]any{"VpcId": vpc, "TrafficMirrorName": "m", "State": "RUNNING", "CollectorSrcs": []string{px},
		"CollectorTarget": map[string]any{"TargetIps": []string{"10.1.1.1"}}}
}
