package gaap_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

func TestCreateProxyLifecycle(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	id := runningProxy(t, api)

	req := gaapsdk.NewDescribeProxyDetailRequest()
	req.ProxyId = &id
	resp, err := api.GAAP().DescribeProxyDetail(req)
	if err != nil {
		t.Fatal(err)
	}
	d := resp.Response.ProxyDetail
	if *d.ProxyName != "test-proxy" || *d.Bandwidth != 10 || *d.Concurrent != 2 || *d.InstanceId != id {
		t.Errorf("got name %q bandwidth %d concurrent %d id %s; want test-proxy 10 2 %s", *d.ProxyName, *d.Bandwidth, *d.Concurrent, *d.InstanceId, id)
	}
	if *d.IP == "" {
		t.Error("got no access IP")
	}
	if d.ForwardIP == nil || *d.ForwardIP != "" {
		t.Errorf("ForwardIP %v with none configured; want \"\" (clients refuse null)", d.ForwardIP)
	}

	other := gaapsdk.NewDescribeProxyDetailRequest()
	other.ProxyId = &id
	_, err = api.GAAP(xtest.Other).DescribeProxyDetail(other)
	wantCode(t, err, "ResourceNotFound")
}

// TestCreateProxyTask: the Terraform provider waits for a new proxy with
// DescribeTaskStatus on CreateProxy's RequestId, and reads ForwardIP, the
// operator's list in Tencent's "a;b;" form.
func TestCreateProxyTask(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "gaap.json")
	if err := os.WriteFile(cfg, []byte(`{"forwardIPs":["203.0.113.9","203.0.113.10"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.GAAPConfig = cfg })
	c := api.GAAP()
	req := gaapsdk.NewCreateProxyRequest()
	req.ProjectId, req.ProxyName, req.AccessRegion = new(int64(0)), new("tf"), new("SouthChina")
	req.RealServerRegion, req.Bandwidth, req.Concurrent = new("NorthChina"), new(uint64(10)), new(uint64(2))
	resp, err := c.CreateProxy(req)
	if err != nil {
		t.Fatal(err)
	}
	var task taskStatus
	eventually(t, func() bool {
		if err := api.Call(c, "DescribeTaskStatus", map[string]string{"TaskId": *resp.Response.RequestId}, &task); err != nil {
			t.Fatalf("DescribeTaskStatus(CreateProxy's RequestId): %v", err)
		}
		return task.Status == "SUCCESS"
	}, "CreateProxy task %s; want SUCCESS", &task.Status)
	dr := gaapsdk.NewDescribeProxiesRequest()
	dr.ProxyIds = []*string{resp.Response.InstanceId}
	got, err := c.DescribeProxies(dr)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Response.ProxySet[0]
	if *p.Status != "RUNNING" || p.ForwardIP == nil || *p.ForwardIP != "203.0.113.9;203.0.113.10;" {
		t.Errorf("after the task: status %s, ForwardIP %v; want RUNNING and the configured list", *p.Status, p.ForwardIP)
	}
}

// TestAsyncActionsRecordTask: DescribeTaskStatus's TaskId is "the
// RequestId an async action returned". Every action that leaves an object
// in a transitional status the controller settles (a group CREATING, a
// domain or rule creating, changing, binding or deleting) records one, as
// CreateProxy and BindListenerRealServers do, so polling its RequestId
// answers RUNNING or SUCCESS, never ResourceNotFound.
func TestAsyncActionsRecordTask(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	wantTask := func(t *testing.T, requestID string) {
		t.Helper()
		if got := taskOf(t, api, requestID); got != "RUNNING" && got != "SUCCESS" {
			t.Errorf("task %s; want RUNNING or SUCCESS", got)
		}
	}

	t.Run("CreateProxyGroup", func(t *testing.T) {
		var out struct{ GroupId, RequestId string }
		err := api.Call(c, "CreateProxyGroup", map[string]any{"ProjectId": 0, "GroupName": "g", "RealServerRegion": "NorthChina",
			"AccessRegionSet": []map[string]any{{"AccessRegion": "EastChina", "Bandwidth": 10, "Concurrent": 2}}}, &out)
		if err != nil {
			t.Fatal(err)
		}
		wantTask(t, out.RequestId)
	})
	t.Run("CreateDomain", func(t *testing.T) {
		req := gaapsdk.NewCreateDomainRequest()
		req.ListenerId, req.Domain = new(listener), new("api.example.com")
		resp, err := c.CreateDomain(req)
		if err != nil {
			t.Fatal(err)
		}
		wantTask(t, *resp.Response.RequestId)
	})
	t.Run("ModifyDomain", func(t *testing.T) {
		waitDomain(t, c, listener, "api.example.com")
		req := gaapsdk.NewModifyDomainRequest()
		req.ListenerId, req.OldDomain, req.NewDomain = new(listener), new("api.example.com"), new("api2.example.com")
		resp, err := c.ModifyDomain(req)
		if err != nil {
			t.Fatal(err)
		}
		wantTask(t, *resp.Response.RequestId)
	})
	t.Run("DeleteDomain", func(t *testing.T) {
		waitDomain(t, c, listener, "api2.example.com")
		req := gaapsdk.NewDeleteDomainRequest()
		req.ListenerId, req.Domain, req.Force = new(listener), new("api2.example.com"), new(uint64(0))
		resp, err := c.DeleteDomain(req)
		if err != nil {
			t.Fatal(err)
		}
		wantTask(t, *resp.Response.RequestId)
	})
	var rule string
	t.Run("CreateRule", func(t *testing.T) {
		resp, err := c.CreateRule(ruleRequest(listener, "www.example.com", "/"))
		if err != nil {
			t.Fatal(err)
		}
		rule = *resp.Response.RuleId
		wantTask(t, *resp.Response.RequestId)
	})
	t.Run("ModifyRuleAttribute", func(t *testing.T) {
		waitRule(t, c, rule)
		req := gaapsdk.NewModifyRuleAttributeRequest()
		req.ListenerId, req.RuleId, req.Scheduler = new(listener), new(rule), new("wrr")
		resp, err := c.ModifyRuleAttribute(req)
		if err != nil {
			t.Fatal(err)
		}
		wantTask(t, *resp.Response.RequestId)
	})
	t.Run("BindRuleRealServers", func(t *testing.T) {
		waitRule(t, c, rule)
		rs := addOrigins(t, c, 0, "web", "10.0.0.1")[0]
		req := gaapsdk.NewBindRuleRealServersRequest()
		req.RuleId, req.RealServerBindSet = new(rule), []*gaapsdk.RealServerBindSetReq{bindOne(rs, "10.0.0.1", 80)}
		resp, err := c.BindRuleRealServers(req)
		if err != nil {
			t.Fatal(err)
		}
		wantTask(t, *resp.Response.RequestId)
	})
	t.Run("DeleteRule", func(t *testing.T) {
		waitRule(t, c, rule)
		req := gaapsdk.NewDeleteRuleRequest()
		req.ListenerId, req.RuleId, req.Force = new(listener), new(rule), new(uint64(1))
		resp, err := c.DeleteRule(req)
		if err != nil {
			t.Fatal(err)
		}
		wantTask(t, *resp.Response.RequestId)
	})
}

func TestCreateProxyParameters(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	valid := func() map[string]any {
		return map[string]any{"ProjectId": 0, "ProxyName": "p", "AccessRegion": "SouthChina",
			"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}
	}
	tests := []struct {
		name string
		mod  func(r map[string]any)
		code string
	}{
		{"missing name", func(r map[string]any) { delete(r, "ProxyName") }, "MissingParameter"},
		{"zero bandwidth", func(r map[string]any) { r["Bandwidth"] = 0 }, "InvalidParameterValue.InvalidBandwidth"},
		{"bad ip version", func(r map[string]any) { r["IPAddressVersion"] = "IPv5" }, "InvalidParameterValue"},
		{"ip version in lower case", func(r map[string]any) { r["IPAddressVersion"] = "ipv4" }, ""},
		{"unknown group", func(r map[string]any) { r["GroupId"] = "lg-nothere0" }, "ResourceNotFound"},
		{"client token of 64 characters", func(r map[string]any) { r["ClientToken"] = strings.Repeat("t", 64) }, ""},
		{"client token over 64 characters", func(r map[string]any) { r["ClientToken"] = strings.Repeat("t", 65) }, "InvalidParameterValue"},
		{"client token of 64 characters and a space", func(r map[string]any) { r["ClientToken"] = strings.Repeat("t", 64) + " " }, "InvalidParameterValue"},
		{"client token not ASCII", func(r map[string]any) { r["ClientToken"] = "tökén" }, "InvalidParameterValue"},
		{"client token with a NUL", func(r map[string]any) { r["ClientToken"] = "tok-\x00" }, "InvalidParameterValue"},
		{"client token with a tab", func(r map[string]any) { r["ClientToken"] = "tok\t1" }, "InvalidParameterValue"},
		{"tag without a key", func(r map[string]any) { r["TagSet"] = []tagPair{{"", "v"}} }, "InvalidParameterValue.InvalidTags"},
		{"tag key twice", func(r map[string]any) { r["TagSet"] = []tagPair{{"env", "a"}, {"env", "b"}} }, "InvalidParameterValue.InvalidTags"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := valid()
			tc.mod(req)
			var out struct{ InstanceId string }
			err := api.Call(api.GAAP(), "CreateProxy", req, &out)
			if tc.code == "" { // Accepted, and stored in the canonical spelling.
				if err != nil {
					t.Fatal(err)
				}
				var d struct {
					ProxyDetail struct{ IPAddressVersion string }
				}
				if err := api.Call(api.GAAP(), "DescribeProxyDetail", map[string]any{"ProxyId": out.InstanceId}, &d); err != nil ||
					d.ProxyDetail.IPAddressVersion != "IPv4" {
					t.Errorf("IPAddressVersion stored as %q, %v; want IPv4", d.ProxyDetail.IPAddressVersion, err)
				}
				return
			}
			wantCode(t, err, tc.code)
		})
	}
}

// An ID holding NUL or invalid UTF-8 is a miss like any unknown ID, on
// every store engine (PostgreSQL text cannot hold either, and used to turn
// the query into InternalError).
func TestProxyIDNotStorable(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	var unknownDetail, unknownList error
	for i, id := range []string{"link-nothere", "link-\x00", "link-\xff"} {
		detail := api.Call(api.GAAP(), "DescribeProxyDetail", map[string]any{"ProxyId": id}, nil)
		list := api.Call(api.GAAP(), "DescribeProxies", map[string]any{"ProxyIds": []string{id}}, nil)
		if i == 0 {
			unknownDetail, unknownList = detail, list
			wantCode(t, detail, "ResourceNotFound")
			continue
		}
		if code(detail) != code(unknownDetail) || code(list) != code(unknownList) {
			t.Errorf("ProxyId %q: DescribeProxyDetail %v, DescribeProxies %v; want %v, %v as for an unknown ID",
				id, detail, list, unknownDetail, unknownList)
		}
	}
}

// code is the API error code of err, "" for nil.
func code(err error) string {
	var e *sdkerrors.TencentCloudSDKError
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestDescribeProxiesPagingAndOrder(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	var ids []string
	for range 5 {
		req := gaapsdk.NewCreateProxyRequest()
		req.ProjectId, req.ProxyName, req.AccessRegion = new(int64(0)), new("p"), new("SouthChina")
		req.RealServerRegion, req.Bandwidth, req.Concurrent = new("NorthChina"), new(uint64(10)), new(uint64(2))
		resp, err := api.GAAP().CreateProxy(req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, *resp.Response.InstanceId)
	}
	req := gaapsdk.NewDescribeProxiesRequest()
	req.Offset, req.Limit = new(uint64(1)), new(uint64(2))
	resp, err := api.GAAP().DescribeProxies(req)
	if err != nil {
		t.Fatal(err)
	}
	if *resp.Response.TotalCount != 5 || len(resp.Response.ProxySet) != 2 {
		t.Fatalf("got total %d, %d items; want 5, 2", *resp.Response.TotalCount, len(resp.Response.ProxySet))
	}
	// Newest first: offset 1 skips ids[4].
	if got := *resp.Response.ProxySet[0].ProxyId; got != ids[3] {
		t.Errorf("got first %s; want %s", got, ids[3])
	}
	if got := *resp.Response.InstanceSet[1].InstanceId; got != ids[2] {
		t.Errorf("got second %s; want %s", got, ids[2])
	}
	// The SDK v1.0.162 lacks Order: send it raw.
	var asc struct {
		TotalCount int64
		ProxySet   []struct{ ProxyId string }
	}
	err = api.Call(api.GAAP(), "DescribeProxies", map[string]any{"Order": "asc", "ProxyIds": ids[:3]}, &asc)
	if err != nil {
		t.Fatal(err)
	}
	if asc.TotalCount != 3 || asc.ProxySet[0].ProxyId != ids[0] {
		t.Errorf("got total %d first %s; want 3 %s", asc.TotalCount, asc.ProxySet[0].ProxyId, ids[0])
	}
	req.Limit = new(uint64(101))
	_, err = api.GAAP().DescribeProxies(req)
	wantCode(t, err, "InvalidParameterValue")
}

// TestDescribeProxiesIDsWithFilters checks that the documented conflict of
// ProxyIds and Filters answers a code of DescribeProxies' own error list.
func TestDescribeProxiesIDsWithFilters(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	req := gaapsdk.NewDescribeProxiesRequest()
	req.ProxyIds = sdkIDs("link-00000000")
	req.Filters = []*gaapsdk.Filter{{Name: new("ProjectId"), Values: []*string{new("0")}}}
	_, err := api.GAAP().DescribeProxies(req)
	wantDocumented(t, "DescribeProxies", err)
	wantCode(t, err, "InvalidParameter")
}

// TestDescribeProxiesIDListsMerged: DescribeProxies merges ProxyIds and
// InstanceIds as every other action taking both does (model.ProxyIDs, as
// DescribeProxiesStatus): trimmed, without duplicates, and the cap of 100
// counts the distinct IDs, so a client filling the old and the new name
// with the same 60 IDs is served, and " link-x" finds link-x.
func TestDescribeProxiesIDListsMerged(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	px := runningProxy(t, api)
	same := slices.Repeat([]string{px}, 60)
	tests := []struct {
		name   string
		params map[string]any
	}{
		{"one ID 60 times under both names", map[string]any{"ProxyIds": same, "InstanceIds": same}},
		{"ID with white space", map[string]any{"ProxyIds": []string{" " + px}}},
		{"old name with white space", map[string]any{"InstanceIds": []string{px + " "}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out struct {
				TotalCount int
				ProxySet   []struct{ ProxyId string }
			}
			if err := api.Call(c, "DescribeProxies", tc.params, &out); err != nil {
				t.Fatalf("DescribeProxies: %v", err)
			}
			if out.TotalCount != 1 || len(out.ProxySet) != 1 || out.ProxySet[0].ProxyId != px {
				t.Errorf("got %+v; want proxy %s once", out, px)
			}
		})
	}
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf("link-%08d", i))
	}
	wantCode(t, api.Call(c, "DescribeProxies", map[string]any{"ProxyIds": many}, nil), "InvalidParameterValue")
	wantCode(t, api.Call(c, "DescribeProxies", map[string]any{"ProxyIds": []string{" "}}, nil), "MissingParameter")
}

// TestDescribeProxiesOrderWithFilters checks that a filter does not change
// the order: the three proxies of a group share their CreateTime second,
// and newest first must still hold among them.
func TestDescribeProxiesOrderWithFilters(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	var regions []map[string]any
	for _, r := range []string{"SouthChina", "EastChina", "Hongkong"} {
		regions = append(regions, map[string]any{"AccessRegion": r, "Bandwidth": 10, "Concurrent": 2})
	}
	g := createGroupWith(t, api, map[string]any{"AccessRegionSet": regions})
	list := func(order string, filters ...*gaapsdk.Filter) []string {
		t.Helper()
		var out struct{ ProxySet []struct{ ProxyId string } }
		// The SDK v1.0.162 lacks Order: send it raw.
		if err := api.Call(c, "DescribeProxies", map[string]any{"Order": order, "Filters": filters}, &out); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range out.ProxySet {
			ids = append(ids, p.ProxyId)
		}
		return ids
	}
	desc := list("desc")
	if len(desc) != 3 {
		t.Fatalf("listed %v; want the group's 3 proxies", desc)
	}
	byGroup := &gaapsdk.Filter{Name: new("GroupId"), Values: []*string{new(g)}}
	if got := list("desc", byGroup); !slices.Equal(got, desc) {
		t.Errorf("filtered order %v; want the unfiltered %v", got, desc)
	}
	asc := list("asc", byGroup)
	slices.Reverse(asc)
	if !slices.Equal(asc, desc) {
		t.Errorf("ascending order reversed is %v; want the descending %v", asc, desc)
	}
}

// TestCloneProxy checks that a clone takes the settings the caller gave,
// explicit zero values included, and the source's for the rest.
// TestDescribeProxiesEnumFilterCase: CreateProxy accepts IPAddressVersion
// and PackageType in any case ("IPV4" is the reference's own spelling) and
// stores them canonically, so the Filters of DescribeProxies match those
// values in any case too: the value a proxy was created with finds it.
func TestDescribeProxiesEnumFilterCase(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	var created struct{ InstanceId string }
	if err := api.Call(c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "v4", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2, "IPAddressVersion": "IPV4", "PackageType": "thunder"}, &created); err != nil {
		t.Fatalf("CreateProxy(IPAddressVersion IPV4, PackageType thunder): %v", err)
	}
	for _, tc := range []struct {
		name, value string
		want        int64
	}{
		{"IPAddressVersion", "IPV4", 1},
		{"IPAddressVersion", "ipv4", 1},
		{"IPAddressVersion", "IPV6", 0},
		{"PackageType", "thunder", 1},
		{"PackageType", "ACCELERATOR", 0},
	} {
		req := gaapsdk.NewDescribeProxiesRequest()
		req.Filters = []*gaapsdk.Filter{{Name: new(tc.name), Values: []*string{new(tc.value)}}}
		resp, err := c.DescribeProxies(req)
		if err != nil {
			t.Fatalf("DescribeProxies(%s=%s): %v", tc.name, tc.value, err)
		}
		if got := *resp.Response.TotalCount; got != tc.want {
			t.Errorf("DescribeProxies(%s=%s) finds %d proxies; want %d", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestCloneProxy(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	create := func(origin *string, billing *int64, clone string) string {
		t.Helper()
		req := gaapsdk.NewCreateProxyRequest()
		req.ProjectId, req.ProxyName, req.AccessRegion = new(int64(0)), new("p"), new("SouthChina")
		req.Bandwidth, req.Concurrent, req.RealServerRegion, req.BillingType = new(uint64(10)), new(uint64(2)), origin, billing
		if clone != "" {
			req.ClonedProxyId = new(clone)
		}
		resp, err := c.CreateProxy(req)
		if err != nil {
			t.Fatalf("CreateProxy: %v", err)
		}
		return *resp.Response.InstanceId
	}
	src := create(new("Hongkong"), new(int64(1)), "")
	waitProxyStatus(t, api, src, "RUNNING")
	tests := []struct {
		name        string
		origin      *string
		billing     *int64
		wantOrigin  string
		wantBilling int64
	}{
		{"caller's values win", new("NorthChina"), new(int64(0)), "NorthChina", 0},
		{"source fills what is left out", nil, nil, "Hongkong", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := proxyDetail(t, c, create(tc.origin, tc.billing, src))
			if *d.RealServerRegion != tc.wantOrigin || *d.BillingType != tc.wantBilling {
				t.Errorf("clone has RealServerRegion %s BillingType %d; want %s %d", *d.RealServerRegion, *d.BillingType, tc.wantOrigin, tc.wantBilling)
			}
		})
	}
}

// TestFeatureBitmap: proxies and groups report what they carry in the
// reference's bit order (layer 4, layer 7, HTTP/3, IPv6, premium BGP), as
// Tencent's own answers do (its examples read 7 and 71), not 0, which would
// say "neither layer 4 nor layer 7".
func TestFeatureBitmap(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	var plain, cn2 struct{ InstanceId string }
	base := map[string]any{"ProjectId": 0, "ProxyName": "p", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}
	if err := api.Call(api.GAAP(), "CreateProxy", base, &plain); err != nil {
		t.Fatal(err)
	}
	base["NetworkType"] = "cn2"
	if err := api.Call(api.GAAP(), "CreateProxy", base, &cn2); err != nil {
		t.Fatal(err)
	}
	// An IPv4 proxy has HTTP/3 (docs/api-proxies.md).
	for id, want := range map[string]int64{plain.InstanceId: 1 | 2 | 4, cn2.InstanceId: 1 | 2 | 4 | 16} {
		var d struct{ ProxyDetail struct{ FeatureBitmap int64 } }
		if err := api.Call(api.GAAP(), "DescribeProxyDetail", map[string]any{"ProxyId": id}, &d); err != nil {
			t.Fatal(err)
		}
		if d.ProxyDetail.FeatureBitmap != want {
			t.Errorf("proxy %s FeatureBitmap %d; want %d", id, d.ProxyDetail.FeatureBitmap, want)
		}
	}

	var g struct{ GroupId string }
	if err := api.Call(api.GAAP(), "CreateProxyGroup", map[string]any{"ProjectId": 0, "GroupName": "g",
		"RealServerRegion": "NorthChina", "Http3Supported": 1}, &g); err != nil {
		t.Fatal(err)
	}
	var detail struct{ ProxyGroupDetail struct{ FeatureBitmap int64 } }
	if err := api.Call(api.GAAP(), "DescribeProxyGroupDetails", map[string]any{"GroupId": g.GroupId}, &detail); err != nil {
		t.Fatal(err)
	}
	var list struct {
		ProxyGroupList []struct{ FeatureBitmap int64 }
	}
	if err := api.Call(api.GAAP(), "DescribeProxyGroupList", map[string]any{"ProjectId": -1, "Offset": 0, "Limit": 20}, &list); err != nil {
		t.Fatal(err)
	}
	if detail.ProxyGroupDetail.FeatureBitmap != 7 || len(list.ProxyGroupList) != 1 || list.ProxyGroupList[0].FeatureBitmap != 7 {
		t.Errorf("group FeatureBitmap %d (detail), %+v (list); want 7 in both", detail.ProxyGroupDetail.FeatureBitmap, list.ProxyGroupList)
	}
}

// TestCloneIntoGroupKeepsGroupPolicy: a proxy cloned into a group serves
// its group's configuration, its security policy included, as every other
// member does (CreateSecurityPolicy refuses a member's ProxyId); a private
// copy of the source's policy would be enforced instead of the group's.
func TestCloneIntoGroupKeepsGroupPolicy(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g, _ := groupWithRegions(t, api, "SouthChina")
	gp := gaapsdk.NewCreateSecurityPolicyRequest()
	gp.GroupId, gp.DefaultAction = new(g), new("DROP")
	resp, err := c.CreateSecurityPolicy(gp)
	if err != nil {
		t.Fatalf("CreateSecurityPolicy(GroupId): %v", err)
	}
	groupPolicy := *resp.Response.PolicyId

	src := runningProxy(t, api)
	srcPolicy := createPolicy(t, c, src, "ACCEPT")

	req := gaapsdk.NewCreateProxyRequest()
	req.ProjectId, req.ProxyName, req.AccessRegion, req.GroupId = new(int64(0)), new("clone"), new("Hongkong"), new(g)
	req.Bandwidth, req.Concurrent, req.ClonedProxyId = new(uint64(10)), new(uint64(2)), new(src)
	out, err := c.CreateProxy(req)
	if err != nil {
		t.Fatalf("CreateProxy(ClonedProxyId into a group): %v", err)
	}
	clone := *out.Response.InstanceId
	waitProxyStatus(t, api, clone, "RUNNING")

	got := proxyDetail(t, c, clone)
	if got.PolicyId == nil || *got.PolicyId != groupPolicy {
		pid := "<nil>"
		if got.PolicyId != nil {
			pid = *got.PolicyId
		}
		t.Errorf("clone in group %s has PolicyId %s (source's is %s); want the group's policy %s", g, pid, srcPolicy, groupPolicy)
	}
}

// TestProxyErrorCodesDocumented: the checks CreateProxy, CreateProxyGroup
// and ModifyProxyConfiguration share with CheckProxyCreate and
// InquiryPriceCreateProxy answer each action a code of its own error list
// (listedCode), since clients branch on those; the specific codes
// (UnknownAccessRegion, InvalidBandwidth, ...) only where listed.
func TestProxyErrorCodesDocumented(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "gaap.json")
	if err := os.WriteFile(cfg, []byte(`{"maxProxiesPerGroup":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.GAAPConfig = cfg })
	c := api.GAAP()
	with := func(base, mod map[string]any) map[string]any {
		p := map[string]any{}
		for k, v := range base {
			p[k] = v
		}
		for k, v := range mod {
			if v == nil {
				delete(p, k)
			} else {
				p[k] = v
			}
		}
		return p
	}
	proxy := map[string]any{"ProjectId": 0, "ProxyName": "p", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}
	group := map[string]any{"ProjectId": 0, "GroupName": "g", "RealServerRegion": "NorthChina"}
	ac := func(r string, bw int) []any {
		return []any{map[string]any{"AccessRegion": r, "Bandwidth": bw, "Concurrent": 2}}
	}
	full := createGroupWith(t, api, map[string]any{"AccessRegionSet": ac("SouthChina", 10)})
	waitGroupStatus(t, c, full, 0)
	running := runningProxy(t, api)

	tests := []struct {
		name, action string
		params       map[string]any
		code         string
	}{
		{"CreateProxy unknown access region", "CreateProxy", with(proxy, map[string]any{"AccessRegion": "Atlantis"}), "InvalidParameterValue"},
		{"CreateProxy unknown origin region", "CreateProxy", with(proxy, map[string]any{"RealServerRegion": "Atlantis"}), "InvalidParameterValue"},
		{"CreateProxy bandwidth not offered", "CreateProxy", with(proxy, map[string]any{"Bandwidth": 11}), "InvalidParameterValue.InvalidBandwidth"},
		{"CreateProxy IPv6 where not offered", "CreateProxy", with(proxy, map[string]any{"AccessRegion": "Japan", "IPAddressVersion": "IPv6"}), "InvalidParameterValue.ProxyAndRegionFeatureConflict"},
		{"CreateProxy into a full group", "CreateProxy", with(proxy, map[string]any{"AccessRegion": "EastChina", "GroupId": full, "RealServerRegion": nil}), "FailedOperation"},
		{"CreateProxyGroup unknown origin region", "CreateProxyGroup", with(group, map[string]any{"RealServerRegion": "Atlantis"}), "InvalidParameterValue"},
		{"CreateProxyGroup unknown access region", "CreateProxyGroup", with(group, map[string]any{"AccessRegionSet": ac("Atlantis", 10)}), "InvalidParameterValue"},
		{"CreateProxyGroup bandwidth not offered", "CreateProxyGroup", with(group, map[string]any{"AccessRegionSet": ac("SouthChina", 11)}), "InvalidParameterValue"},
		{"CreateProxyGroup IPv6 where not offered", "CreateProxyGroup", with(group, map[string]any{"IPAddressVersion": "IPv6", "AccessRegionSet": ac("Japan", 10)}), "InvalidParameterValue.FeatureConflict"},
		{"ModifyProxyConfiguration bandwidth not offered", "ModifyProxyConfiguration", map[string]any{"ProxyId": running, "Bandwidth": 11}, "InvalidParameterValue"},
		{"ModifyProxyConfiguration concurrency not offered", "ModifyProxyConfiguration", map[string]any{"ProxyId": running, "Concurrent": 3}, "InvalidParameterValue"},
		{"CheckProxyCreate unknown access region", "CheckProxyCreate", with(proxy, map[string]any{"AccessRegion": "Atlantis", "ProjectId": nil, "ProxyName": nil}), "InvalidParameterValue.UnknownAccessRegion"},
		{"InquiryPriceCreateProxy unknown origin region", "InquiryPriceCreateProxy", with(proxy, map[string]any{"RealServerRegion": "Atlantis", "ProjectId": nil, "ProxyName": nil}), "InvalidParameterValue.UnknownDestRegion"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := api.Call(c, tc.action, tc.params, &struct{}{})
			wantCode(t, err, tc.code)
			wantDocumented(t, tc.action, err)
		})
	}
}

// TestProxyTypeIsThunder: ProxyInfo.ProxyType is "100表示THUNDER通道，
// 103表示微软合作通道" (100 in the reference's DescribeProxies and
// DescribeProxyDetail examples); every opengaap proxy is a standard one.
func TestProxyTypeIsThunder(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	id := runningProxy(t, api)
	req := gaapsdk.NewDescribeProxyDetailRequest()
	req.ProxyId = new(id)
	resp, err := api.GAAP().DescribeProxyDetail(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Response.ProxyDetail.ProxyType; got == nil || *got != 100 {
		t.Errorf("DescribeProxyDetail ProxyType = %v; want 100 (THUNDER)", fmtPtr(got))
	}
	lr := gaapsdk.NewDescribeProxiesRequest()
	lr.ProxyIds = []*string{new(id)}
	list, err := api.GAAP().DescribeProxies(lr)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Response.ProxySet) != 1 {
		t.Fatalf("DescribeProxies returned %d proxies; want 1", len(list.Response.ProxySet))
	}
	if got := list.Response.ProxySet[0].ProxyType; got == nil || *got != 100 {
		t.Errorf("DescribeProxies ProxyType = %v; want 100 (THUNDER)", fmtPtr(got))
	}
}

// fmtPtr is *p for a message, or nil.
func fmtPtr[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// cloneOf clones src (CreateProxy with ClonedProxyId) with the given
// parameters over a plain request (SouthChina, 10 Mbps, 2; nil deletes
// one) and returns the clone's ID.
func cloneOf(api *xtest.API, c *gaapsdk.Client, src string, mod map[string]any) (string, error) {
	p := map[string]any{"ProjectId": 0, "ProxyName": "clone", "AccessRegion": "SouthChina",
		"Bandwidth": 10, "Concurrent": 2, "ClonedProxyId": src}
	for k, v := range mod {
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	var out struct{ InstanceId string }
	err := api.Call(c, "CreateProxy", p, &out)
	return out.InstanceId, err
}

// TestCloneIPv6RefusesTOA: an IPv4 proxy's TCP listener passing client
// addresses by TOA (ClientIPMethod 0) cannot be cloned into an IPv6 proxy,
// where CreateTCPListeners refuses TOA (it carries IPv4 addresses only):
// the copy kept it, and the clone's clients reached origins as the
// proxy's address.
func TestCloneIPv6RefusesTOA(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPIWith(t, xtest.WithIPv6Pool)
	c := api.GAAP()
	src := runningProxy(t, api)
	req := tcpRequest(src, 9301)
	req.ClientIPMethod, req.HealthCheck = new(int64(0)), new(uint64(0))
	if _, err := c.CreateTCPListeners(req); err != nil {
		t.Skipf("this node cannot write TOA: %v", err)
	}
	_, err := cloneOf(api, c, src, map[string]any{"IPAddressVersion": "IPv6"})
	wantCode(t, err, "InvalidParameterValue")
	if _, err := cloneOf(api, c, src, nil); err != nil {
		t.Errorf("an IPv4 clone of the same proxy: %v; want it made", err)
	}
}

// TestCloneOfBannedProxyBanned: a cross-border proxy made while the
// account's are banned (BanAndRecoverProxy: "per customer UIN"), a clone
// of a banned one included, starts banned: the clone read RECOVER and
// forwarded what the ban stopped.
func TestCloneOfBannedProxyBanned(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	var created struct{ InstanceId string }
	if err := api.Call(c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "xb", "AccessRegion": "SouthChina",
		"RealServerRegion": "Hongkong", "Bandwidth": 10, "Concurrent": 2, "PackageType": "CrossBorder"}, &created); err != nil {
		t.Fatal(err)
	}
	src := created.InstanceId
	waitProxyStatus(t, api, src, "RUNNING")
	if err := api.Call(c, "BanAndRecoverProxy", nil, &struct{}{}); err != nil {
		t.Fatal(err)
	}
	var got string
	eventually(t, func() bool { got = banStatusOf(t, api, src); return got == "BANNED" }, "BanStatus %s; want BANNED", &got)
	waitProxyStatus(t, api, src, "RUNNING")
	clone, err := cloneOf(api, c, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitProxyStatus(t, api, clone, "RUNNING")
	if b := banStatusOf(t, api, clone); b != "BANNED" {
		t.Errorf("clone %s of banned proxy %s reads BanStatus %s; want BANNED, as the account's cross-border proxies", clone, src, b)
	}
}
