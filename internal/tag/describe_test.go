package tag_test

import (
	"math"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"
	tagsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tag/v20180813"

	"github.com/opengaap/opengaap/internal/xtest"
)

// TestDescribeResourceTagsHugeLimit: DescribeResourceTagsByResourceIds'
// Limit has no upper bound (docs/api-tag.md), so the largest Limit the
// SDK can send pages like any other: every tag from Offset on.
func TestDescribeResourceTagsHugeLimit(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	rs := gaapsdk.NewAddRealServersRequest()
	rs.RealServerIP, rs.RealServerName, rs.ProjectId = []*string{new("10.1.1.1")}, new("origin"), new(uint64(0))
	rs.TagSet = []*gaapsdk.TagPair{{TagKey: new("a"), TagValue: new("1")}, {TagKey: new("b"), TagValue: new("2")}}
	resp, err := api.GAAP().AddRealServers(rs)
	if err != nil {
		t.Fatalf("AddRealServers: %v", err)
	}
	d := tagsdk.NewDescribeResourceTagsByResourceIdsRequest()
	d.ServiceType, d.ResourcePrefix, d.ResourceRegion = new("gaap"), new("realServer"), new("ap-guangzhou")
	d.ResourceIds = []*string{resp.Response.RealServerSet[0].RealServerId}
	d.Offset, d.Limit = new(uint64(1)), new(uint64(math.MaxInt64))
	dr, err := api.Tag().DescribeResourceTagsByResourceIds(d)
	if err != nil {
		t.Fatalf("DescribeResourceTagsByResourceIds(Offset 1, Limit MaxInt64): %v; want the second of 2 tags", err)
	}
	if *dr.Response.TotalCount != 2 || len(dr.Response.Tags) != 1 || *dr.Response.Tags[0].TagKey != "b" {
		t.Fatalf("got %s; want TotalCount 2 and tag b", dr.ToJsonString())
	}
}
