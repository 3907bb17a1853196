package gaap_test

import (
	"slices"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

// TestLateMemberCarriesGroupTags: CreateProxyGroup's proxies carry the
// group's tags, so a group and its proxies answer the same tag filters
// (docs/api-proxies.md, docs/api-tag.md); a proxy that joined the group
// later with CreateProxy GroupId did not, and a DescribeProxies TagSet
// filter on the group's tag missed it.
func TestLateMemberCarriesGroupTags(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g := createGroupWith(t, api, map[string]any{"TagSet": []map[string]string{{"TagKey": "env", "TagValue": "prod"}},
		"AccessRegionSet": []map[string]any{{"AccessRegion": "SouthChina", "Bandwidth": 10, "Concurrent": 2}}})
	waitGroupStatus(t, c, g, 0)
	var cr struct{ InstanceId string }
	if err := api.Call(c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "late", "AccessRegion": "Hongkong",
		"Bandwidth": 10, "Concurrent": 2, "GroupId": g}, &cr); err != nil {
		t.Fatal(err)
	}
	req := gaapsdk.NewDescribeProxiesRequest()
	req.TagSet = []*gaapsdk.TagPair{{TagKey: new("env"), TagValue: new("prod")}}
	resp, err := c.DescribeProxies(req)
	if err != nil {
		t.Fatal(err)
	}
	var tagged []string
	for _, p := range resp.Response.ProxySet {
		tagged = append(tagged, *p.ProxyId)
	}
	var members []string
	for _, p := range groupProxies(t, c, g) {
		members = append(members, *p.ProxyId)
	}
	slices.Sort(tagged)
	slices.Sort(members)
	if !slices.Equal(tagged, members) {
		t.Errorf("DescribeProxies TagSet env=prod (the group's tag) = %v; the group's members are %v (late member %s)", tagged, members, cr.InstanceId)
	}
}

// TestGroupProjectMoveAndName: ModifyProxyGroupAttribute's name limit, and
// a project move that takes the members along.
func TestGroupProjectMoveAndName(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g, ps := groupWithRegions(t, api, "SouthChina", "Hongkong")
	long := ""
	for range 31 {
		long += "名"
	}
	wantCode(t, api.Call(c, "ModifyProxyGroupAttribute", map[string]any{"GroupId": g, "GroupName": long}, nil), "InvalidParameterValue")
	if err := api.Call(c, "ModifyProxyGroupAttribute", map[string]any{"GroupId": g, "GroupName": long[:len(long)-len("名")]}, nil); err != nil {
		t.Fatalf("30 characters: %v", err)
	}
	if err := api.Call(c, "ModifyProxyGroupAttribute", map[string]any{"GroupId": g, "ProjectId": 7}, nil); err != nil {
		t.Fatal(err)
	}
	var out struct {
		TotalCount     int
		ProxyGroupList []struct{ GroupId string }
	}
	if err := api.Call(c, "DescribeProxyGroupList", map[string]any{"Offset": 0, "Limit": 20, "ProjectId": 7}, &out); err != nil || out.TotalCount != 1 {
		t.Errorf("groups of project 7: %+v, %v", out, err)
	}
	var px struct {
		TotalCount int
		ProxySet   []struct {
			ProxyId   string
			ProjectId int64
		}
	}
	if err := api.Call(c, "DescribeProxies", map[string]any{"Filters": []map[string]any{{"Name": "ProjectId", "Values": []string{"7"}}}}, &px); err != nil || px.TotalCount != len(ps) {
		t.Errorf("proxies of project 7: %+v, %v; want %v", px, err, ps)
	}
	var cr struct{ InstanceId string }
	if err := api.Call(c, "CreateProxy", map[string]any{"ProjectId": 7, "ProxyName": "late", "AccessRegion": "Japan",
		"Bandwidth": 10, "Concurrent": 2, "GroupId": g}, &cr); err != nil {
		t.Fatalf("joining the moved group in its new project: %v", err)
	}
}

// TestCloseGroupListsNoDepartedMember: a member DestroyProxies has taken
// is no longer a member (model.Members: ProxyNum, limits, listings);
// CloseProxyGroup reported it in InvalidStatusInstanceSet until the
// controller removed it.
func TestCloseGroupListsNoDepartedMember(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g, ps := groupWithRegions(t, api, "SouthChina", "Hongkong")
	release := api.Controller.Hold()
	defer release()
	if err := api.Call(c, "DestroyProxies", map[string]any{"ProxyIds": ps[:1], "Force": 1}, nil); err != nil {
		t.Fatal(err)
	}
	var out struct{ InvalidStatusInstanceSet []string }
	if err := api.Call(c, "CloseProxyGroup", map[string]any{"GroupId": g}, &out); err != nil {
		t.Fatal(err)
	}
	if n := *groupDetail(t, c, g).ProxyNum; n != 1 || len(out.InvalidStatusInstanceSet) != 0 {
		t.Errorf("ProxyNum %d, CloseProxyGroup InvalidStatusInstanceSet %v; want 1 member, closed, and nothing invalid (%s is no member)", n, out.InvalidStatusInstanceSet, ps[0])
	}
}

// TestJoinClosingGroup: right after CloseProxyGroup (its members CLOSING
// until the controller settles them) a CreateProxy with its GroupId was
// accepted, and the group, once settled, read RUNNING again with the
// newcomer serving its listeners; refused as for a CLOSED group
// (TestJoinClosedGroup).
func TestJoinClosingGroup(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g, _ := groupWithRegions(t, api, "SouthChina")
	release := api.Controller.Hold()
	var out struct{ InvalidStatusInstanceSet []string }
	if err := api.Call(c, "CloseProxyGroup", map[string]any{"GroupId": g}, &out); err != nil {
		release()
		t.Fatal(err)
	}
	var cr struct{ InstanceId string }
	err := api.Call(c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "late", "AccessRegion": "Hongkong",
		"Bandwidth": 10, "Concurrent": 2, "GroupId": g}, &cr)
	release()
	if err != nil {
		return // Refused: right.
	}
	waitGroupStatus(t, c, g, 0)
	t.Errorf("CreateProxy into group %s right after CloseProxyGroup (members CLOSING) made %s; the group now reads %d RUNNING, reopened without OpenProxyGroup; want the join refused as for a CLOSED group",
		g, cr.InstanceId, *groupDetail(t, c, g).Status)
}
