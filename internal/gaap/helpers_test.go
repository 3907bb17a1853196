package gaap_test

import (
	"errors"
	"testing"
	"time"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

// runningProxy creates a proxy through the SDK and waits until it RUNS.
func runningProxy(t *testing.T, api *xtest.API) string {
	t.Helper()
	req := gaapsdk.NewCreateProxyRequest()
	req.ProjectId = new(int64(0))
	req.ProxyName = new("test-proxy")
	req.AccessRegion = new("SouthChina")
	req.RealServerRegion = new("NorthChina")
	req.Bandwidth = new(uint64(10))
	req.Concurrent = new(uint64(2))
	resp, err := api.GAAP().CreateProxy(req)
	if err != nil {
		t.Fatalf("CreateProxy: %v", err)
	}
	id := *resp.Response.InstanceId
	waitProxyStatus(t, api, id, "RUNNING")
	return id
}

// waitProxyStatus waits until the proxy reports status.
func waitProxyStatus(t *testing.T, api *xtest.API, id, status string) {
	t.Helper()
	var last string
	eventually(t, func() bool {
		req := gaapsdk.NewDescribeProxyDetailRequest()
		req.ProxyId = new(id)
		resp, err := api.GAAP().DescribeProxyDetail(req)
		if err != nil {
			t.Fatalf("DescribeProxyDetail(%s): %v", id, err)
		}
		last = *resp.Response.ProxyDetail.Status
		return last == status
	}, "proxy %s status %s; want %s", id, &last, status)
}

// eventually polls cond every 100 ms (under the 20/s rate limit) for up to 10 s.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for i, a := range args {
				if p, ok := a.(*string); ok {
					args[i] = *p
				}
			}
			t.Fatalf("timed out: "+format, args...)
		}
		time.Sleep(100 * time.Millisecond)
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

// taskOf is DescribeTaskStatus's Status for the task id.
func taskOf(t *testing.T, api *xtest.API, id string) string {
	t.Helper()
	var r taskStatus
	if err := api.Call(api.GAAP(), "DescribeTaskStatus", map[string]any{"TaskId": id}, &r); err != nil {
		t.Fatalf("DescribeTaskStatus(%s): %v", id, err)
	}
	return r.Status
}
