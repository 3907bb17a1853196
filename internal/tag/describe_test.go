package tag_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
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

// TestTerraformGlobalDomainTags: the Terraform provider's ID of a global
// domain is "<projectId>#<domainId>" (d.SetId(strconv.Itoa(projectId) +
// FILED_SP + domainId)), and it names the domain to the tag product by
// that ID: ModifyResourceTags on qcs::gaap:<region>:uin/:domain/0#dm-…
// and DescribeResourceTagsByResourceIds with ResourceIds ["0#dm-…"].
// Both reach the dm-… domain (docs/api-tag.md), so a tagged
// tencentcloud_gaap_global_domain applies and reads back its tags.
func TestTerraformGlobalDomainTags(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	var gd struct{ DomainId string }
	if err := api.Call(api.GAAP(), "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4"}, &gd); err != nil {
		t.Fatal(err)
	}
	tfID := "0#" + gd.DomainId
	m := tagsdk.NewModifyResourceTagsRequest()
	m.Resource = new("qcs::gaap:ap-guangzhou:uin/:domain/" + tfID)
	m.ReplaceTags = []*tagsdk.Tag{{TagKey: new("env"), TagValue: new("prod")}}
	if _, err := api.Tag().ModifyResourceTags(m); err != nil {
		t.Fatalf("ModifyResourceTags(%s) as the provider sends it: %v", *m.Resource, err)
	}
	d := tagsdk.NewDescribeResourceTagsByResourceIdsRequest()
	d.ServiceType, d.ResourcePrefix, d.ResourceRegion = new("gaap"), new("domain"), new("ap-guangzhou")
	d.ResourceIds = []*string{new(tfID)}
	resp, err := api.Tag().DescribeResourceTagsByResourceIds(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Response.Tags) != 1 || *resp.Response.Tags[0].TagKey != "env" {
		t.Errorf("provider's read of %s: %s; want tag env=prod", tfID, resp.ToJsonString())
	}
	var list struct {
		Domains []struct {
			TagSet []struct{ TagKey, TagValue string }
		}
	}
	if err := api.Call(api.GAAP(), "DescribeGlobalDomains", map[string]any{"ProjectId": -1, "Offset": 0, "Limit": 10,
		"Filters": []map[string]any{{"Name": "DomainId", "Values": []string{gd.DomainId}}}}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Domains) != 1 || len(list.Domains[0].TagSet) != 1 || list.Domains[0].TagSet[0].TagKey != "env" {
		t.Errorf("DescribeGlobalDomains = %+v; want the domain with tag env=prod", list.Domains)
	}
}

// TestModifyResourceTagsLimits: ModifyResourceTags holds the tags it adds
// to the tag limits (docs/api-tag.md): no reserved key, and no 51st tag,
// while DeleteTags is held to no limit, so a tag stored before the limits
// existed stays removable.
func TestModifyResourceTagsLimits(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	rs := gaapsdk.NewAddRealServersRequest()
	rs.RealServerIP, rs.RealServerName, rs.ProjectId = []*string{new("10.1.1.1")}, new("origin"), new(uint64(0))
	for i := range 50 {
		rs.TagSet = append(rs.TagSet, &gaapsdk.TagPair{TagKey: new(fmt.Sprintf("k%d", i)), TagValue: new("v")})
	}
	resp, err := api.GAAP().AddRealServers(rs)
	if err != nil {
		t.Fatalf("AddRealServers with 50 tags: %v", err)
	}
	modify := func(replace, remove string) error {
		m := tagsdk.NewModifyResourceTagsRequest()
		m.Resource = new("qcs::gaap:ap-guangzhou:uin/:realServer/" + *resp.Response.RealServerSet[0].RealServerId)
		if replace != "" {
			m.ReplaceTags = []*tagsdk.Tag{{TagKey: new(replace), TagValue: new("v")}}
		}
		if remove != "" {
			m.DeleteTags = []*tagsdk.TagKeyObject{{TagKey: new(remove)}}
		}
		_, err := api.Tag().ModifyResourceTags(m)
		return err
	}
	for _, tc := range []struct{ name, replace, remove, want string }{
		{"a 51st tag", "new", "", "InvalidParameterValue.InvalidTags"},
		{"a reserved key", "qcloud:owner", "k0", "InvalidParameterValue.InvalidTags"},
		{"deleting a reserved key", "", "qcloud:owner", ""},
		{"a tag for another", "new", "k0", ""},
	} {
		err := modify(tc.replace, tc.remove)
		var e *sdkerrors.TencentCloudSDKError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v; want it accepted", tc.name, err)
		case tc.want != "" && (!errors.As(err, &e) || e.Code != tc.want):
			t.Errorf("%s: %v; want %s", tc.name, err, tc.want)
		}
	}
}

// TestGroupRetagReachesMembers: CreateProxyGroup gives every proxy of the
// group the group's TagSet (docs/api-proxies.md), so GAAP's tag filters find
// a group and its proxies under the same tags. ModifyResourceTags on the
// group, the only way to change a group's tags, changes its proxies' too,
// as a change of its project does: afterwards they answer to the new tag
// and not to the old one, in DescribeProxies' TagSet filter and
// DescribeResourcesByTag.
func TestGroupRetagReachesMembers(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	group := taggedGroup(t, api, map[string]any{"TagKey": "env", "TagValue": "prod"})
	byTag := func(value string) []string {
		t.Helper()
		req := gaapsdk.NewDescribeProxiesRequest()
		req.TagSet = []*gaapsdk.TagPair{{TagKey: new("env"), TagValue: new(value)}}
		resp, err := api.GAAP().DescribeProxies(req)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range resp.Response.ProxySet {
			ids = append(ids, *p.ProxyId)
		}
		return ids
	}
	if ids := byTag("prod"); len(ids) != 1 {
		t.Fatalf("before: DescribeProxies(TagSet env=prod) = %v; want the group's proxy", ids)
	}

	if err := modifyTags(api, "qcs::gaap:ap-guangzhou:uin/:group/"+group, map[string]string{"env": "dev"}); err != nil {
		t.Fatal(err)
	}
	if ids := byTag("dev"); len(ids) != 1 {
		t.Errorf("after retagging the group env=dev: DescribeProxies(TagSet env=dev) = %v; want the group's proxy", ids)
	}
	if ids := byTag("prod"); len(ids) != 0 {
		t.Errorf("after retagging the group env=dev: DescribeProxies(TagSet env=prod) = %v; want none", ids)
	}
	var found struct {
		ResourceSet []struct{ ResourceType, ResourceId string }
	}
	if err := api.Call(api.GAAP(), "DescribeResourcesByTag", map[string]any{"TagKey": "env", "TagValue": "prod"}, &found); err != nil {
		t.Fatal(err)
	}
	if len(found.ResourceSet) != 0 {
		t.Errorf("after retagging the group env=dev: DescribeResourcesByTag(env=prod) = %+v; want none", found.ResourceSet)
	}
}
