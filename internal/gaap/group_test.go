package gaap_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/xtest"
)

// createGroup creates an empty group forwarding to region.
func createGroup(t *testing.T, api *xtest.API, region string) string {
	t.Helper()
	return createGroupWith(t, api, map[string]any{"RealServerRegion": region})
}

// createGroupWith creates a group from raw parameters (the SDK version
// lacks IPAddressVersion and PackageType), with defaults for the required ones.
func createGroupWith(t *testing.T, api *xtest.API, params map[string]any) string {
	t.Helper()
	p := map[string]any{"ProjectId": 0, "GroupName": "g", "RealServerRegion": "NorthChina"}
	for k, v := range params {
		p[k] = v
	}
	var out struct{ GroupId string }
	if err := api.Call(api.GAAP(), "CreateProxyGroup", p, &out); err != nil {
		t.Fatalf("CreateProxyGroup: %v", err)
	}
	return out.GroupId
}

// groupWithRegions creates a group with one proxy per access region and
// waits until it runs; it returns the group and its proxies.
func groupWithRegions(t *testing.T, api *xtest.API, regions ...string) (string, []string) {
	t.Helper()
	var set []map[string]any
	for _, r := range regions {
		set = append(set, map[string]any{"AccessRegion": r, "Bandwidth": 10, "Concurrent": 2})
	}
	g := createGroupWith(t, api, map[string]any{"AccessRegionSet": set})
	waitGroupStatus(t, api.GAAP(), g, 0)
	var ids []string
	for _, p := range groupProxies(t, api.GAAP(), g) {
		ids = append(ids, *p.ProxyId)
	}
	return g, ids
}

// groupDetail fetches one group.
func groupDetail(t *testing.T, c *gaapsdk.Client, id string) *gaapsdk.ProxyGroupDetail {
	t.Helper()
	req := gaapsdk.NewDescribeProxyGroupDetailsRequest()
	req.GroupId = new(id)
	resp, err := c.DescribeProxyGroupDetails(req)
	if err != nil {
		t.Fatalf("DescribeProxyGroupDetails(%s): %v", id, err)
	}
	return resp.Response.ProxyGroupDetail
}

// groupGone waits until the controller has removed a group.
func groupGone(t *testing.T, c *gaapsdk.Client, id string) {
	t.Helper()
	eventually(t, func() bool {
		req := gaapsdk.NewDescribeProxyGroupDetailsRequest()
		req.GroupId = new(id)
		_, err := c.DescribeProxyGroupDetails(req)
		return err != nil
	}, "group %s still exists", id)
}

// groupProxies lists the proxies of a group.
func groupProxies(t *testing.T, c *gaapsdk.Client, group string) []*gaapsdk.ProxyInfo {
	t.Helper()
	req := gaapsdk.NewDescribeProxiesRequest()
	req.Filters = []*gaapsdk.Filter{{Name: new("GroupId"), Values: []*string{new(group)}}}
	resp, err := c.DescribeProxies(req)
	if err != nil {
		t.Fatalf("DescribeProxies(GroupId=%s): %v", group, err)
	}
	return resp.Response.ProxySet
}

// waitGroupStatus waits until the group reports the status code.
func waitGroupStatus(t *testing.T, c *gaapsdk.Client, id string, status int64) {
	t.Helper()
	var last int64
	var lastS string
	eventually(t, func() bool {
		req := gaapsdk.NewDescribeProxyGroupDetailsRequest()
		req.GroupId = new(id)
		resp, err := c.DescribeProxyGroupDetails(req)
		var e *sdkerrors.TencentCloudSDKError
		if errors.As(err, &e) && e.Code == "RequestLimitExceeded" {
			return false // polling faster than the documented 20 requests/s
		}
		if err != nil {
			t.Fatalf("DescribeProxyGroupDetails(%s): %v", id, err)
		}
		last = *resp.Response.ProxyGroupDetail.Status
		lastS = strconv.FormatInt(last, 10)
		return last == status
	}, "group %s status %s; want %d", id, &lastS, status)
}

func TestProxyGroupLifecycle(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	req := gaapsdk.NewCreateProxyGroupRequest()
	req.ProjectId, req.GroupName, req.RealServerRegion = new(uint64(0)), new("edge"), new("NorthChina")
	req.TagSet = []*gaapsdk.TagPair{{TagKey: new("env"), TagValue: new("prod")}}
	req.AccessRegionSet = []*gaapsdk.AccessConfiguration{
		{AccessRegion: new("SouthChina"), Bandwidth: new(uint64(10)), Concurrent: new(uint64(2))},
		{AccessRegion: new("Hongkong"), Bandwidth: new(uint64(20)), Concurrent: new(uint64(5))},
	}
	resp, err := c.CreateProxyGroup(req)
	if err != nil {
		t.Fatal(err)
	}
	id := *resp.Response.GroupId
	waitGroupStatus(t, c, id, 0)
	d := groupDetail(t, c, id)
	if *d.ProxyNum != 2 || *d.GroupName != "edge" || *d.RealServerRegionInfo.RegionId != "NorthChina" || *d.Version != "3.0" {
		t.Errorf("detail: proxies %d name %s region %s version %s; want 2 edge NorthChina 3.0",
			*d.ProxyNum, *d.GroupName, *d.RealServerRegionInfo.RegionId, *d.Version)
	}
	proxies := groupProxies(t, c, id)
	var regions []string
	for _, p := range proxies {
		regions = append(regions, *p.AccessRegion)
		if *p.GroupId != id || *p.RealServerRegion != "NorthChina" || *p.Status != "RUNNING" {
			t.Errorf("proxy %s: group %s origin %s status %s; want %s NorthChina RUNNING", *p.ProxyId, *p.GroupId, *p.RealServerRegion, *p.Status, id)
		}
	}
	slices.Sort(regions)
	if !slices.Equal(regions, []string{"Hongkong", "SouthChina"}) {
		t.Errorf("access regions %v; want [Hongkong SouthChina]", regions)
	}

	mod := gaapsdk.NewModifyProxyGroupAttributeRequest()
	mod.GroupId, mod.GroupName, mod.ProjectId = new(id), new("edge2"), new(uint64(3))
	if _, err := c.ModifyProxyGroupAttribute(mod); err != nil {
		t.Fatal(err)
	}
	if d := groupDetail(t, c, id); *d.GroupName != "edge2" || *d.ProjectId != 3 {
		t.Errorf("after modify: name %s project %d; want edge2 3", *d.GroupName, *d.ProjectId)
	}
	for _, p := range groupProxies(t, c, id) {
		if *p.ProjectId != 3 {
			t.Errorf("proxy %s project %d; want 3 (follows its group)", *p.ProxyId, *p.ProjectId)
		}
	}

	t.Run("close and open", func(t *testing.T) { closeAndOpenGroup(t, c, id) })

	del := gaapsdk.NewDeleteProxyGroupRequest()
	del.GroupId, del.Force = new(id), new(uint64(0))
	_, err = c.DeleteProxyGroup(del)
	wantCode(t, err, "FailedOperation.DeleteProxyGroupProxyRemained")

	other := gaapsdk.NewDescribeProxyGroupDetailsRequest()
	other.GroupId = new(id)
	_, err = api.GAAP(xtest.Other).DescribeProxyGroupDetails(other)
	wantCode(t, err, "ResourceNotFound")

	del.Force = new(uint64(1))
	if _, err := c.DeleteProxyGroup(del); err != nil {
		t.Fatal(err)
	}
	groupGone(t, c, id)
	for _, p := range proxies {
		proxyGone(t, c, *p.ProxyId)
	}
}

func closeAndOpenGroup(t *testing.T, c *gaapsdk.Client, id string) {
	cl := gaapsdk.NewCloseProxyGroupRequest()
	cl.GroupId = new(id)
	if _, err := c.CloseProxyGroup(cl); err != nil {
		t.Fatal(err)
	}
	waitGroupStatus(t, c, id, 5) // CLOSED
	resp, err := c.CloseProxyGroup(cl)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(resp.Response.InvalidStatusInstanceSet); got != 2 {
		t.Errorf("closing a closed group: %d invalid proxies; want 2", got)
	}
	op := gaapsdk.NewOpenProxyGroupRequest()
	op.GroupId = new(id)
	if _, err := c.OpenProxyGroup(op); err != nil {
		t.Fatal(err)
	}
	waitGroupStatus(t, c, id, 0)
	for _, p := range groupProxies(t, c, id) {
		if *p.Status != "RUNNING" {
			t.Errorf("proxy %s is %s after OpenProxyGroup; want RUNNING", *p.ProxyId, *p.Status)
		}
	}
}

func TestDeleteProxyGroupBound(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	id := createGroup(t, api, "EastChina")
	l := &model.Listener{Base: model.Base{ID: model.NewID(model.PrefixListener)}, GroupID: id, Protocol: model.TCP,
		Port: 40000 + time.Now().UnixNano()%20000, Bindings: []model.Bound{{RealServerID: "rs-00000000", Port: 80, Weight: 1}}}
	err := api.Store.Update(context.Background(), func(tx store.Tx) error {
		return (&resource.Tx{Store: tx, Account: xtest.Root.Uin, Now: time.Now()}).Insert(l)
	})
	if err != nil {
		t.Fatal(err)
	}
	del := gaapsdk.NewDeleteProxyGroupRequest()
	del.GroupId = new(id)
	_, err = c.DeleteProxyGroup(del)
	wantCode(t, err, "FailedOperation.RealServerAlreadyBound")
	del.Force = new(uint64(1))
	if _, err := c.DeleteProxyGroup(del); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return countUnder(t, api, model.KindListener, id) == 0 }, "listener of deleted group %s remains", id)
}

func TestCreateProxyGroupInvalid(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPIWith(t, xtest.WithIPv6Pool)
	region := func(r string, bw, conc int) map[string]any {
		return map[string]any{"AccessRegion": r, "Bandwidth": bw, "Concurrent": conc}
	}
	many := make([]any, 21)
	for i := range many {
		many[i] = region("SouthChina", 10, 2)
	}
	tests := []struct {
		name   string
		params map[string]any
		code   string
	}{
		// CreateProxyGroup's error list has none of the specific codes
		// (UnknownDestRegion, UnknownAccessRegion, InvalidBandwidth).
		{"unknown origin region", map[string]any{"RealServerRegion": "Atlantis"}, "InvalidParameterValue"},
		{"unknown access region", map[string]any{"AccessRegionSet": []any{region("Atlantis", 10, 2)}}, "InvalidParameterValue"},
		{"bandwidth not offered", map[string]any{"AccessRegionSet": []any{region("SouthChina", 11, 2)}}, "InvalidParameterValue"},
		{"region twice", map[string]any{"AccessRegionSet": []any{region("SouthChina", 10, 2), region("SouthChina", 20, 2)}}, "InvalidParameterValue"},
		{"too many proxies", map[string]any{"AccessRegionSet": many}, "FailedOperation.LimitNumofProxiesInGroup"},
		{"cross-border group", map[string]any{"PackageType": "CrossBorder"}, "InvalidParameterValue"},
		{"empty tag key", map[string]any{"TagSet": []any{map[string]any{"TagKey": "", "TagValue": "v"}}}, "InvalidParameterValue.InvalidTags"},
		{"name too long", map[string]any{"GroupName": "0123456789012345678901234567890"}, "InvalidParameterValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := map[string]any{"ProjectId": 0, "GroupName": "g", "RealServerRegion": "NorthChina"}
			for k, v := range tc.params {
				p[k] = v
			}
			wantCode(t, api.Call(api.GAAP(), "CreateProxyGroup", p, &struct{}{}), tc.code)
		})
	}

	// CreateProxy into a group checks the group's features.
	group := createGroup(t, api, "NorthChina")
	p := map[string]any{"ProjectId": 0, "ProxyName": "p", "AccessRegion": "SouthChina", "Bandwidth": 10,
		"Concurrent": 2, "GroupId": group, "IPAddressVersion": "IPv6"}
	wantCode(t, api.Call(api.GAAP(), "CreateProxy", p, &struct{}{}), "InvalidParameterValue.ProxyAndGroupFeatureConflict")
}

// TestCreateProxyInGroupProject checks that a proxy created into a group
// is in the group's project: its members follow the group's project, and
// ModifyProxiesProject cannot move one out of it afterwards.
func TestCreateProxyInGroupProject(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g := createGroupWith(t, api, map[string]any{"ProjectId": 5})
	waitGroupStatus(t, c, g, 0)
	create := func(project int64, origin ...string) (string, error) {
		req := gaapsdk.NewCreateProxyRequest()
		req.ProjectId, req.ProxyName, req.AccessRegion = new(project), new("member"), new("SouthChina")
		if len(origin) > 0 {
			req.RealServerRegion = new(origin[0])
		}
		req.Bandwidth, req.Concurrent, req.GroupId = new(uint64(10)), new(uint64(2)), new(g)
		resp, err := c.CreateProxy(req)
		if err != nil {
			return "", err
		}
		return *resp.Response.InstanceId, nil
	}
	_, err := create(0)
	wantCode(t, err, "InvalidParameterValue")
	// An origin region may be left out, but one given must be the group's.
	_, err = create(5, "Hongkong")
	wantCode(t, err, "InvalidParameterValue.ProxyAndGroupFeatureConflict")
	id, err := create(5)
	if err != nil {
		t.Fatal(err)
	}
	d := proxyDetail(t, c, id)
	if *d.ProjectId != 5 || *d.RealServerRegion != "NorthChina" {
		t.Errorf("member in project %d with origin region %s; want the group's 5 and NorthChina", *d.ProjectId, *d.RealServerRegion)
	}
}

// TestCreateProxyInGroupRegionTaken: CreateProxy with GroupId refuses an
// access region the group already has a proxy in, as CreateProxyGroup
// refuses a region listed twice (InvalidParameterValue); once that proxy
// is destroyed, the region is free again.
func TestCreateProxyInGroupRegionTaken(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g, ps := groupWithRegions(t, api, "SouthChina")
	create := func(region string) (string, error) {
		req := gaapsdk.NewCreateProxyRequest()
		req.ProjectId, req.ProxyName, req.AccessRegion = new(int64(0)), new("member"), new(region)
		req.Bandwidth, req.Concurrent, req.GroupId = new(uint64(10)), new(uint64(2)), new(g)
		resp, err := c.CreateProxy(req)
		if err != nil {
			return "", err
		}
		return *resp.Response.InstanceId, nil
	}
	_, err := create("SouthChina")
	wantCode(t, err, "InvalidParameterValue")
	if _, err := create("Hongkong"); err != nil {
		t.Fatalf("CreateProxy in a region the group lacks: %v", err)
	}
	d := gaapsdk.NewDestroyProxiesRequest()
	d.ProxyIds, d.Force = sdkIDs(ps[0]), new(int64(1))
	if _, err := c.DestroyProxies(d); err != nil {
		t.Fatal(err)
	}
	if _, err := create("SouthChina"); err != nil {
		t.Fatalf("CreateProxy in the region of a destroyed member: %v", err)
	}
}

func TestDescribeProxyGroupList(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	tag := func(v string) []any { return []any{map[string]any{"TagKey": "k", "TagValue": v}} }
	a := createGroupWith(t, api, map[string]any{"TagSet": tag("a")})
	b := createGroupWith(t, api, map[string]any{"RealServerRegion": "EastChina", "ProjectId": 1, "TagSet": tag("b")})
	cc := createGroupWith(t, api, map[string]any{"PackageType": "Accelerator", "ProjectId": 1})
	type groupList struct {
		TotalCount     int
		ProxyGroupList []struct{ GroupId, Status string }
	}
	tests := []struct {
		name   string
		params map[string]any
		want   []string // newest first
		total  int
	}{
		{"all projects", nil, []string{cc, b, a}, 3},
		{"project 1", map[string]any{"ProjectId": 1}, []string{cc, b}, 2},
		{"origin region", map[string]any{"Filters": []any{map[string]any{"Name": "RealServerRegion", "Values": []string{"NorthChina"}}}}, []string{cc, a}, 2},
		{"package", map[string]any{"Filters": []any{map[string]any{"Name": "PackageType", "Values": []string{"Accelerator"}}}}, []string{cc}, 1},
		{"package in any case", map[string]any{"Filters": []any{map[string]any{"Name": "PackageType", "Values": []string{"ACCELERATOR"}}}}, []string{cc}, 1},
		// Not in the reference's filter list, but Tencent takes it and the
		// Terraform provider's tencentcloud_gaap_proxy_groups sends it
		// (docs/terraform.md).
		{"group ID", map[string]any{"Filters": []any{map[string]any{"Name": "GroupId", "Values": []string{b}}}}, []string{b}, 1},
		{"tags ORed", map[string]any{"TagSet": append(tag("a"), tag("b")...)}, []string{b, a}, 2},
		{"paged", map[string]any{"Offset": 1, "Limit": 1}, []string{b}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := map[string]any{"Offset": 0, "Limit": 20, "ProjectId": -1}
			for k, v := range tc.params {
				p[k] = v
			}
			var out groupList
			if err := api.Call(c, "DescribeProxyGroupList", p, &out); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range out.ProxyGroupList {
				got = append(got, g.GroupId)
			}
			if !slices.Equal(got, tc.want) || out.TotalCount != tc.total {
				t.Errorf("got %v (total %d); want %v (total %d)", got, out.TotalCount, tc.want, tc.total)
			}
		})
	}
	invalid := []struct {
		name   string
		params map[string]any
		code   string
	}{
		{"limit over cap", map[string]any{"Offset": 0, "Limit": 101, "ProjectId": -1}, "InvalidParameterValue"},
		{"offset missing", map[string]any{"Limit": 10, "ProjectId": -1}, "MissingParameter"},
		{"unknown filter", map[string]any{"Offset": 0, "Limit": 10, "ProjectId": -1,
			"Filters": []any{map[string]any{"Name": "AccessRegion", "Values": []string{"x"}}}}, "InvalidParameterValue"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, api.Call(c, "DescribeProxyGroupList", tc.params, &struct{}{}), tc.code)
		})
	}
	var other groupList
	if err := api.Call(api.GAAP(xtest.Other), "DescribeProxyGroupList", map[string]any{"Offset": 0, "Limit": 20, "ProjectId": -1}, &other); err != nil || other.TotalCount != 0 {
		t.Errorf("other account sees %d groups (err %v); want 0", other.TotalCount, err)
	}
}

// TestDestroyingGroupCodesDocumented: a group being destroyed
// (DeleteProxyGroup, controller held) refuses attribute and domain
// changes with a code the action's error list names; none of these three
// lists FailedOperation.GroupStatusNotInRuning.
func TestDestroyingGroupCodesDocumented(t *testing.T) {
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g := createGroup(t, api, "NorthChina")
	waitGroupStatus(t, c, g, 0)
	release := sync.OnceFunc(api.Controller.Hold())
	defer release()
	if err := api.Call(c, "DeleteProxyGroup", map[string]any{"GroupId": g, "Force": 1}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		action string
		params map[string]any
	}{
		{"ModifyProxyGroupAttribute", map[string]any{"GroupId": g, "GroupName": "renamed"}},
		{"CreateProxyGroupDomain", map[string]any{"GroupId": g}},
		{"ModifyGroupDomainConfig", map[string]any{"GroupId": g, "DefaultDnsIp": "1.1.1.1"}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			err := api.Call(c, tc.action, tc.params, nil)
			wantDocumented(t, tc.action, err)
		})
	}
}

// TestDeleteProxyGroupForceRefusesTransitionalMember: DeleteProxyGroup with
// Force 1 destroys the group's proxies, and a proxy can be destroyed only
// when RUNNING or CLOSED (DestroyProxies lists it as invalid otherwise). A
// member still CREATING makes the group CHANGING, so the deletion is
// refused with FailedOperation.GroupStatusNotInRuning: destroying the
// member would leave its CreateProxy task, which the Terraform provider
// waits on, with no proxy to report. Once the member runs, the deletion
// goes through.
func TestDeleteProxyGroupForceRefusesTransitionalMember(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g, _ := groupWithRegions(t, api, "SouthChina")
	release := sync.OnceFunc(api.Controller.Hold())
	defer release()
	var cr struct{ InstanceId, RequestId string }
	if err := api.Call(c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "late", "AccessRegion": "EastChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2, "GroupId": g}, &cr); err != nil {
		t.Fatal(err)
	}
	del := map[string]any{"GroupId": g, "Force": 1}
	err := api.Call(c, "DeleteProxyGroup", del, &struct{}{})
	release()
	wantCode(t, err, "FailedOperation.GroupStatusNotInRuning")
	waitProxyStatus(t, api, cr.InstanceId, "RUNNING")
	eventually(t, func() bool { return taskOf(t, api, cr.RequestId) == "SUCCESS" }, "CreateProxy task of %s; want SUCCESS", cr.InstanceId)
	if err := api.Call(c, "DeleteProxyGroup", del, &struct{}{}); err != nil {
		t.Fatalf("DeleteProxyGroup once every member runs: %v", err)
	}
	proxyGone(t, c, cr.InstanceId)
}

// TestModifyProxyGroupProjectRefusedWhileBound: origins belong to a
// project and bind only to listeners of that project's proxies and groups
// (InvalidParameterValue.RealServerNotBelong). ModifyProxyGroupAttribute
// therefore refuses (FailedOperation) to move a group whose listeners
// have origins of the old project bound: the bindings would stay, and the
// listener could never be sent the same bind set again (to change a
// weight, say). Unbinding them on the move would cut the traffic they
// serve. Once they are unbound, the move succeeds.
func TestModifyProxyGroupProjectRefusedWhileBound(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g, _ := groupWithRegions(t, api, "SouthChina")
	rs := addOrigins(t, c, 0, "web", "1.1.1.1")[0]
	req := tcpRequest("", 7000)
	req.ProxyId, req.GroupId, req.RealServerPorts = nil, new(g), u64s(80)
	l := createTCP(t, c, req)[0]
	bindWeight := func(w uint64) {
		t.Helper()
		b := bindOne(rs, "1.1.1.1", 80)
		b.RealServerWeight = new(w)
		if _, err := c.BindListenerRealServers(bindReq(l, b)); err != nil {
			t.Fatalf("BindListenerRealServers (weight %d): %v", w, err)
		}
		eventually(t, func() bool { return *describeTCP(t, c, l).ListenerStatus == 0 }, "binding not applied")
	}
	bindWeight(1)

	move := map[string]any{"GroupId": g, "ProjectId": 1}
	wantCode(t, api.Call(c, "ModifyProxyGroupAttribute", move, nil), "FailedOperation")
	if got := *groupDetail(t, c, g).ProjectId; got != 0 {
		t.Fatalf("group in project %d after a refused move; want 0", got)
	}
	bindWeight(2) // the listener keeps its origin, and still accepts its own bind set

	// Naming the group's own project moves nothing and is allowed.
	if err := api.Call(c, "ModifyProxyGroupAttribute", map[string]any{"GroupId": g, "ProjectId": 0, "GroupName": "kept"}, nil); err != nil {
		t.Fatalf("ModifyProxyGroupAttribute to the group's own project: %v", err)
	}
	if _, err := c.BindListenerRealServers(bindReq(l)); err != nil { // an empty set unbinds everything
		t.Fatal(err)
	}
	eventually(t, func() bool { return *describeTCP(t, c, l).ListenerStatus == 0 }, "unbinding not applied")
	if err := api.Call(c, "ModifyProxyGroupAttribute", move, nil); err != nil {
		t.Fatalf("ModifyProxyGroupAttribute ProjectId=1 after unbinding: %v", err)
	}
	if got := *groupDetail(t, c, g).ProjectId; got != 1 {
		t.Errorf("group in project %d; want 1", got)
	}
}

// TestGroupMemberBeingDestroyedLeftOut: a member being destroyed
// (DestroyProxies has returned; the controller, held here, has yet to
// remove it) is no member for any group describe nor for the group's
// limits (model.Members): DescribeProxyGroupDetails.ProxyNum,
// DescribeGroupAndStatisticsProxy and DescribeGroupDomainConfig all leave
// it out, ModifyGroupDomainConfig cannot configure its region, and a
// replacement in its region joins at once, even in a group already at
// maxProxiesPerGroup.
func TestGroupMemberBeingDestroyedLeftOut(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "gaap.json")
	if err := os.WriteFile(cfg, []byte(`{"maxProxiesPerGroup":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.GAAPConfig = cfg })
	c := api.GAAP()
	g, ps := groupWithRegions(t, api, "SouthChina")
	release := sync.OnceFunc(api.Controller.Hold())
	defer release() // a held controller would block the node's Close
	if err := api.Call(c, "DestroyProxies", map[string]any{"ProxyIds": ps, "Force": 1}, nil); err != nil {
		t.Fatal(err)
	}

	if n := *groupDetail(t, c, g).ProxyNum; n != 0 {
		t.Errorf("ProxyNum %d; want 0", n)
	}
	stats := gaapsdk.NewDescribeGroupAndStatisticsProxyRequest()
	stats.ProjectId = new(uint64(0))
	sresp, err := c.DescribeGroupAndStatisticsProxy(stats)
	if err != nil {
		t.Fatal(err)
	}
	for _, gs := range sresp.Response.GroupSet {
		if *gs.GroupId == g && len(gs.ProxySet) != 0 {
			t.Errorf("DescribeGroupAndStatisticsProxy lists %d proxies of %s; want none", len(gs.ProxySet), g)
		}
	}
	domain := func() []*gaapsdk.DomainAccessRegionDict {
		t.Helper()
		req := gaapsdk.NewDescribeGroupDomainConfigRequest()
		req.GroupId = new(g)
		resp, err := c.DescribeGroupDomainConfig(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Response.AccessRegionList
	}
	if got := domain(); len(got) != 0 {
		t.Errorf("DescribeGroupDomainConfig lists %d regions; want none", len(got))
	}
	conf := map[string]any{"GroupId": g, "DefaultDnsIp": "1.1.1.1",
		"AccessRegionList": []map[string]any{{"RegionId": "SouthChina", "NationCountryInnerList": []string{}}}}
	wantCode(t, api.Call(c, "ModifyGroupDomainConfig", conf, nil), "InvalidParameterValue")

	var cr struct{ InstanceId string }
	if err := api.Call(c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "again", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2, "GroupId": g}, &cr); err != nil {
		t.Fatalf("CreateProxy replacing the member being destroyed in a full group: %v", err)
	}
	got := domain()
	if len(got) != 1 || len(got[0].ProxyList) != 1 || *got[0].ProxyList[0].ProxyId != cr.InstanceId {
		t.Errorf("DescribeGroupDomainConfig lists %s; want SouthChina with %s only", toJSON(got), cr.InstanceId)
	}
}

// TestDeleteProxyGroupAfterLastMemberDestroyed: once DestroyProxies has
// returned for a group's only member, the group reports ProxyNum 0, and
// DeleteProxyGroup follows the same member rule (model.Members): with
// Force 0 no proxy remains, with Force 1 the member being destroyed does
// not ask to wait until it is RUNNING or CLOSED (it never will be). The
// controller then removes both, and both calls' tasks succeed.
func TestDeleteProxyGroupAfterLastMemberDestroyed(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	for _, force := range []uint64{0, 1} {
		g, members := groupWithRegions(t, api, "SouthChina")
		release := sync.OnceFunc(api.Controller.Hold())
		destroy := gaapsdk.NewDestroyProxiesRequest()
		destroy.ProxyIds, destroy.Force = sdkIDs(members[0]), new(int64(0))
		dresp, err := c.DestroyProxies(destroy)
		if err != nil {
			release()
			t.Fatal(err)
		}
		if n := *groupDetail(t, c, g).ProxyNum; n != 0 {
			release()
			t.Fatalf("ProxyNum after its only member was destroyed = %d; want 0", n)
		}
		del := gaapsdk.NewDeleteProxyGroupRequest()
		del.GroupId, del.Force = new(g), new(force)
		gresp, err := c.DeleteProxyGroup(del)
		release()
		if err != nil {
			t.Fatalf("DeleteProxyGroup Force=%d on a group reporting ProxyNum 0: %v", force, err)
		}
		groupGone(t, c, g)
		proxyGone(t, c, members[0])
		for action, id := range map[string]string{"DestroyProxies": *dresp.Response.RequestId, "DeleteProxyGroup": *gresp.Response.RequestId} {
			if got := taskOf(t, api, id); got != "SUCCESS" {
				t.Errorf("Force=%d: %s task = %s; want SUCCESS", force, action, got)
			}
		}
	}
}

// TestGroupMemberTaskSurvivesListenerDeletion: the task of a call that
// brings a group member up (CreateProxy with GroupId, OpenProxies) covers
// the group's listeners it brings up on the member, but a listener another
// call (DeleteListeners) deletes, before or after it, before a controller
// pass applied either, does not fail it: the pass that brings up the
// member also removes that listener, and a client waiting on the task
// (the Terraform provider) would be told the call failed although the
// member runs (its listener failing to bind would fail it,
// TestGroupMemberTaskFailsWhenGroupListenerCannotBind).
func TestGroupMemberTaskSurvivesListenerDeletion(t *testing.T) {
	t.Parallel()
	createMember := func(t *testing.T, api *xtest.API, g string, _ []string) (proxy, task string) {
		var cr struct{ InstanceId, RequestId string }
		if err := api.Call(api.GAAP(), "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "late", "AccessRegion": "Hongkong",
			"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2, "GroupId": g}, &cr); err != nil {
			t.Fatal(err)
		}
		return cr.InstanceId, cr.RequestId
	}
	reopenMember := func(t *testing.T, api *xtest.API, _ string, members []string) (proxy, task string) {
		var open struct{ RequestId string }
		if err := api.Call(api.GAAP(), "OpenProxies", map[string]any{"ProxyIds": members[:1]}, &open); err != nil {
			t.Fatal(err)
		}
		return members[0], open.RequestId
	}
	for _, tc := range []struct {
		name        string
		deleteFirst bool
		bringUp     func(t *testing.T, api *xtest.API, g string, members []string) (proxy, task string)
	}{
		{"delete, then CreateProxy", true, createMember},
		{"CreateProxy, then delete", false, createMember},
		{"OpenProxies, then delete", false, reopenMember},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := xtest.StartAPI(t)
			c := api.GAAP()
			g, members := groupWithRegions(t, api, "SouthChina", "NorthChina")
			var created struct{ ListenerIds []string }
			if err := api.Call(c, "CreateTCPListeners", map[string]any{"GroupId": g, "ListenerName": "tcp", "Ports": []int{9107},
				"Scheduler": "rr", "RealServerType": "IP", "HealthCheck": 0}, &created); err != nil {
				t.Fatal(err)
			}
			listener := created.ListenerIds[0]
			eventually(t, func() bool { pace(); return *describeTCP(t, c, listener).ListenerStatus == 0 }, "listener not running")
			if err := api.Call(c, "CloseProxies", map[string]any{"ProxyIds": members[:1]}, nil); err != nil {
				t.Fatal(err)
			}
			waitProxyStatus(t, api, members[0], "CLOSED")

			release := sync.OnceFunc(api.Controller.Hold())
			defer release()
			deleteListener := func() {
				if err := api.Call(c, "DeleteListeners", map[string]any{"GroupId": g, "ListenerIds": []string{listener}, "Force": 1}, nil); err != nil {
					t.Fatal(err)
				}
			}
			if tc.deleteFirst {
				deleteListener()
			}
			proxy, task := tc.bringUp(t, api, g, members)
			if !tc.deleteFirst {
				deleteListener()
			}
			release()
			waitProxyStatus(t, api, proxy, "RUNNING")
			var status string
			eventually(t, func() bool { pace(); status = taskOf(t, api, task); return status != "RUNNING" }, "task still RUNNING")
			if status != "SUCCESS" {
				t.Errorf("task %s, although proxy %s runs; want SUCCESS (the listener was deleted by another call)", status, proxy)
			}
		})
	}
}

// TestJoinAcceleratorGroupWithoutPackageType: a member's package can only
// be its group's, and CreateProxy gives PackageType no default, so a
// proxy created (or checked, CheckProxyCreate) into an Accelerator group
// without one takes the group's instead of Thunder, which the group
// refused (ProxyAndGroupFeatureConflict).
func TestJoinAcceleratorGroupWithoutPackageType(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	g := createGroupWith(t, api, map[string]any{"PackageType": "Accelerator"})
	waitGroupStatus(t, api.GAAP(), g, 0)
	var check struct{ CheckFlag int64 }
	if err := api.Call(api.GAAP(), "CheckProxyCreate", map[string]any{"AccessRegion": "SouthChina", "RealServerRegion": "NorthChina",
		"Bandwidth": 10, "Concurrent": 2, "GroupId": g}, &check); err != nil {
		t.Fatal(err)
	}
	if check.CheckFlag != 1 {
		t.Errorf("CheckProxyCreate into Accelerator group %s without PackageType: CheckFlag %d; want 1", g, check.CheckFlag)
	}
	var out struct{ InstanceId string }
	if err := api.Call(api.GAAP(), "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "m", "AccessRegion": "SouthChina",
		"Bandwidth": 10, "Concurrent": 2, "GroupId": g}, &out); err != nil {
		t.Fatalf("CreateProxy into Accelerator group %s without PackageType: %v; want the proxy to join with the group's package", g, err)
	}
	// The SDK's ProxyInfo predates PackageType (the reference has it).
	var detail struct{ ProxyDetail struct{ PackageType string } }
	if err := api.Call(api.GAAP(), "DescribeProxyDetail", map[string]any{"ProxyId": out.InstanceId}, &detail); err != nil {
		t.Fatal(err)
	}
	if got := detail.ProxyDetail.PackageType; got != "Accelerator" {
		t.Errorf("the member's PackageType is %q; want Accelerator, its group's", got)
	}
}
