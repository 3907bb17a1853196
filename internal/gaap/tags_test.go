package gaap_test

import (
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

func TestDescribeResourcesByTag(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	tag := []*gaapsdk.TagPair{{TagKey: new("team"), TagValue: new("edge")}}

	px := gaapsdk.NewCreateProxyRequest()
	px.ProjectId, px.ProxyName, px.AccessRegion, px.RealServerRegion = new(int64(0)), new("tagged"), new("SouthChina"), new("NorthChina")
	px.Bandwidth, px.Concurrent, px.TagSet = new(uint64(10)), new(uint64(2)), tag
	pxResp, err := c.CreateProxy(px)
	if err != nil {
		t.Fatalf("CreateProxy: %v", err)
	}
	proxy := *pxResp.Response.InstanceId
	untagged := gaapsdk.NewCreateProxyRequest()
	*untagged = *px
	untagged.TagSet = []*gaapsdk.TagPair{{TagKey: new("team"), TagValue: new("core")}}
	if _, err := c.CreateProxy(untagged); err != nil {
		t.Fatalf("CreateProxy: %v", err)
	}
	rs := gaapsdk.NewAddRealServersRequest()
	rs.RealServerIP, rs.RealServerName, rs.ProjectId, rs.TagSet = []*string{new("10.1.1.1")}, new("origin"), new(uint64(0)), tag
	rsResp, err := c.AddRealServers(rs)
	if err != nil {
		t.Fatalf("AddRealServers: %v", err)
	}
	origin := *rsResp.Response.RealServerSet[0].RealServerId

	find := func(c *gaapsdk.Client, kind string) map[string]string {
		t.Helper()
		req := gaapsdk.NewDescribeResourcesByTagRequest()
		req.TagKey, req.TagValue = new("team"), new("edge")
		if kind != "" {
			req.ResourceType = new(kind)
		}
		resp, err := c.DescribeResourcesByTag(req)
		if err != nil {
			t.Fatalf("DescribeResourcesByTag(%q): %v", kind, err)
		}
		got := map[string]string{}
		for _, r := range resp.Response.ResourceSet {
			got[*r.ResourceId] = *r.ResourceType
		}
		if int(*resp.Response.TotalCount) != len(got) {
			t.Fatalf("TotalCount %d; %d resources", *resp.Response.TotalCount, len(got))
		}
		return got
	}
	for _, tc := range []struct {
		kind string
		want map[string]string
	}{
		{"", map[string]string{proxy: "Proxy", origin: "RealServer"}},
		{"Proxy", map[string]string{proxy: "Proxy"}},
		{"RealServer", map[string]string{origin: "RealServer"}},
		{"ProxyGroup", map[string]string{}},
	} {
		t.Run("type "+tc.kind, func(t *testing.T) {
			got := find(c, tc.kind)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v; want %v", got, tc.want)
			}
			for id, kind := range tc.want {
				if got[id] != kind {
					t.Fatalf("got %v; want %v", got, tc.want)
				}
			}
		})
	}
	if got := find(api.GAAP(xtest.Other), ""); len(got) != 0 {
		t.Fatalf("another account finds %v", got)
	}
	req := gaapsdk.NewDescribeResourcesByTagRequest()
	req.TagKey, req.TagValue, req.ResourceType = new("team"), new("edge"), new("Listener")
	_, err = c.DescribeResourcesByTag(req)
	wantCode(t, err, "InvalidParameterValue")
}
