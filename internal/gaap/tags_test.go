package gaap_test

import (
	"fmt"
	"strings"
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

// TestTagSetLimits: a TagSet follows Tencent Cloud's tag limits
// (cloud.tencent.com/document/product/597/33355, "使用限制"): keys starting
// with qcloud, tencent or project are reserved, a key has at most 255
// characters and a value at most 127, letters (CJK too), digits, spaces and
// +-=._:/@ only, and a resource holds at most 50 tags. Otherwise one tenant
// could store megabytes of tags on a proxy, which every DescribeProxies
// returns.
func TestTagSetLimits(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	tagList := func(n int) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = map[string]any{"TagKey": fmt.Sprintf("k%d", i), "TagValue": "v"}
		}
		return out
	}
	create := func(tags []map[string]any) error {
		var out struct{ InstanceId string }
		return api.Call(api.GAAP(), "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "p", "AccessRegion": "SouthChina",
			"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2, "TagSet": tags}, &out)
	}
	for _, tc := range []struct {
		name string
		tags []map[string]any
		want string
	}{
		{"reserved qcloud key", []map[string]any{{"TagKey": "qcloud:owner", "TagValue": "x"}}, "InvalidParameterValue.InvalidTags"},
		{"reserved project key", []map[string]any{{"TagKey": "projectId", "TagValue": "x"}}, "InvalidParameterValue.InvalidTags"},
		{"256-character key", []map[string]any{{"TagKey": strings.Repeat("k", 256), "TagValue": "v"}}, "InvalidParameterValue.InvalidTags"},
		{"100000-character value", []map[string]any{{"TagKey": "k", "TagValue": strings.Repeat("v", 100000)}}, "InvalidParameterValue.InvalidTags"},
		{"128-character value", []map[string]any{{"TagKey": "k", "TagValue": strings.Repeat("v", 128)}}, "InvalidParameterValue.InvalidTags"},
		{"key with a comma", []map[string]any{{"TagKey": "a,b", "TagValue": "v"}}, "InvalidParameterValue.InvalidTags"},
		{"51 tags", tagList(51), "LimitExceeded.TagQuota"},
		{"200 tags", tagList(200), "LimitExceeded.TagQuota"},
		{"50 tags", tagList(50), ""},
		{"longest key and value", []map[string]any{{"TagKey": strings.Repeat("键", 255), "TagValue": strings.Repeat("v", 127)}}, ""},
		{"every allowed character", []map[string]any{{"TagKey": "Team 部门 +-=._:/@ 9", "TagValue": "a b+-=._:/@值"}, {"TagKey": "Project", "TagValue": ""}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := create(tc.tags)
			if tc.want == "" {
				if err != nil {
					t.Errorf("CreateProxy: %v; want it accepted", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CreateProxy accepted the TagSet; want %s", tc.want)
			}
			wantCode(t, err, tc.want)
		})
	}
}
