package server_test

import (
	"context"
	"testing"
	"time"

	vpcsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/opengaap/opengaap/internal/controller"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestDefaultVpcOutlivesClaimRetention: the marker recording that an
// account's default VPC was made outlives the controller's ClientToken
// expiry (after ClaimRetention), so a later serve does not make the
// default VPC again: no second IsDefault VPC, no deleted one back.
func TestDefaultVpcOutlivesClaimRetention(t *testing.T) {
	mod := xtest.Restartable(t.TempDir(), func(o *server.Options) { o.StatsInterval = time.Hour })
	defaults := func(api *xtest.API) int {
		req := vpcsdk.NewDescribeVpcsRequest()
		req.Filters = []*vpcsdk.Filter{{Name: new("is-default"), Values: []*string{new("true")}}}
		resp, err := api.VPC().DescribeVpcs(req)
		if err != nil {
			t.Fatal(err)
		}
		return len(resp.Response.VpcSet)
	}
	api := xtest.StartAPIWith(t, mod)
	if n := defaults(api); n != 1 {
		t.Fatalf("first call: %d default VPCs; want 1", n)
	}
	// What the controller's expiry job does once ClaimRetention (7 days)
	// has passed since the first VPC call: forget claims made before then.
	if _, err := controller.ExpireClaims(t.Context(), api.Store, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.Close(ctx); err != nil {
		t.Fatal(err)
	}
	api2 := xtest.StartAPIWith(t, mod) // a restart, a week later
	if n := defaults(api2); n != 1 {
		t.Fatalf("after the claims' retention and a restart: %d default VPCs; want still 1", n)
	}
}
