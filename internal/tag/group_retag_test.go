package tag_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	tagsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tag/v20180813"

	"github.com/opengaap/opengaap/internal/xtest"
)

// TestGroupRetagKeepsMemberOwnTags: a change of a group's tags reaches its
// proxies as the change the group went through, applied to each proxy's
// own tags. The request itself was replayed on each member: a DeleteTags
// of a key the group does not carry, a no-op for the group, stripped it
// from a member that had set it on its own, and a ReplaceTags of a value
// the group already had overwrote a member's own value.
func TestGroupRetagKeepsMemberOwnTags(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	g := taggedGroup(t, api, map[string]any{"TagKey": "env", "TagValue": "prod"})
	var cr struct{ InstanceId string }
	if err := api.Call(api.GAAP(), "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "late", "AccessRegion": "Hongkong",
		"Bandwidth": 10, "Concurrent": 2, "GroupId": g,
		"TagSet": []map[string]string{{"TagKey": "owner", "TagValue": "alice"}, {"TagKey": "env", "TagValue": "dev"}}}, &cr); err != nil {
		t.Fatal(err)
	}
	own := map[string]string{"owner": "alice", "env": "dev"} // Its own env wins over the group's.
	group := "qcs::gaap:ap-guangzhou:uin/:group/" + g
	for _, change := range []struct {
		what    string
		replace map[string]string
		del     []string
	}{
		{"DeleteTags owner, which the group does not carry", nil, []string{"owner"}},
		{"ReplaceTags env=prod, which the group has", map[string]string{"env": "prod"}, nil},
	} {
		if err := modifyTags(api, group, change.replace, change.del...); err != nil {
			t.Fatal(err)
		}
		if got := proxyTags(t, api, cr.InstanceId); !maps.Equal(got, own) {
			t.Errorf("%s on group %s: member %s's tags %v; want its own %v kept", change.what, g, cr.InstanceId, got, own)
		}
	}
	// A real change of the group reaches it.
	if err := modifyTags(api, group, map[string]string{"team": "edge"}); err != nil {
		t.Fatal(err)
	}
	if got := proxyTags(t, api, cr.InstanceId); got["team"] != "edge" || got["owner"] != "alice" {
		t.Errorf("ReplaceTags team=edge on the group: member tags %v; want team=edge added, its own kept", got)
	}
}

// TestModifyTagsCountBounded: no resource holds more than 50 tags, so a
// change listing more, to set or to delete, is refused before anything is
// compared: the checks compare every key with every other, and ran on up
// to 10,000 entries inside the write transaction every account waits for
// (deleting 10,000 keys a resource does not carry was accepted).
func TestModifyTagsCountBounded(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	group := taggedGroup(t, api)
	many := map[string]string{}
	for i := range 51 {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	res := "qcs::gaap:ap-guangzhou:uin/:group/" + group
	if err := modifyTags(api, res, many); err == nil || !strings.Contains(err.Error(), "InvalidParameterValue.InvalidTags") {
		t.Errorf("ModifyResourceTags with 51 ReplaceTags: %v; want InvalidParameterValue.InvalidTags", err)
	}
	if err := modifyTags(api, res, nil, slices.Collect(maps.Keys(many))...); err == nil || !strings.Contains(err.Error(), "InvalidParameterValue.InvalidTags") {
		t.Errorf("ModifyResourceTags with 51 DeleteTags: %v; want InvalidParameterValue.InvalidTags", err)
	}
}

func modifyTags(api *xtest.API, res string, replace map[string]string, del ...string) error {
	m := tagsdk.NewModifyResourceTagsRequest()
	m.Resource = new(res)
	for k, v := range replace {
		m.ReplaceTags = append(m.ReplaceTags, &tagsdk.Tag{TagKey: new(k), TagValue: new(v)})
	}
	for _, k := range del {
		m.DeleteTags = append(m.DeleteTags, &tagsdk.TagKeyObject{TagKey: new(k)})
	}
	_, err := api.Tag().ModifyResourceTags(m)
	return err
}

// proxyTags reads a proxy's tags through the tag product.
func proxyTags(t *testing.T, api *xtest.API, id string) map[string]string {
	t.Helper()
	d := tagsdk.NewDescribeResourceTagsByResourceIdsRequest()
	d.ServiceType, d.ResourcePrefix, d.ResourceRegion = new("gaap"), new("proxy"), new("ap-guangzhou")
	d.ResourceIds, d.Limit = []*string{new(id)}, new(uint64(100))
	r, err := api.Tag().DescribeResourceTagsByResourceIds(d)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tg := range r.Response.Tags {
		out[*tg.TagKey] = *tg.TagValue
	}
	return out
}

// taggedGroup creates a proxy group of one proxy with tags and returns its
// ID.
func taggedGroup(t *testing.T, api *xtest.API, tags ...map[string]any) string {
	t.Helper()
	var g struct{ GroupId string }
	if err := api.Call(api.GAAP(), "CreateProxyGroup", map[string]any{
		"ProjectId": 0, "GroupName": "g", "RealServerRegion": "NorthChina",
		"AccessRegionSet": []map[string]any{{"AccessRegion": "SouthChina", "Bandwidth": 10, "Concurrent": 2}},
		"TagSet":          tags,
	}, &g); err != nil {
		t.Fatal(err)
	}
	return g.GroupId
}

// TestGroupRetagKeepsMemberOwnValue: a proxy that joins a group with its
// own value for a key the group also carries keeps it (docs/api-proxies.md),
// and a later change or delete of the group's key leaves it too: it was
// applied to every member, a value the member never took from the group.
// Only members carrying the group's old value follow.
func TestGroupRetagKeepsMemberOwnValue(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	g := taggedGroup(t, api, map[string]any{"TagKey": "env", "TagValue": "prod"})
	var cr struct{ InstanceId string }
	if err := api.Call(api.GAAP(), "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "own", "AccessRegion": "Hongkong",
		"Bandwidth": 10, "Concurrent": 2, "GroupId": g,
		"TagSet": []map[string]string{{"TagKey": "env", "TagValue": "dev"}}}, &cr); err != nil {
		t.Fatal(err)
	}
	own := map[string]string{"env": "dev"}
	if got := proxyTags(t, api, cr.InstanceId); !maps.Equal(got, own) {
		t.Fatalf("member %s created with env=dev in a group with env=prod: tags %v; want %v", cr.InstanceId, got, own)
	}
	group := "qcs::gaap:ap-guangzhou:uin/:group/" + g
	if err := modifyTags(api, group, map[string]string{"env": "staging"}); err != nil {
		t.Fatal(err)
	}
	if got := proxyTags(t, api, cr.InstanceId); !maps.Equal(got, own) {
		t.Errorf("group %s env prod->staging: member's own tags became %v; want its own %v kept", g, got, own)
	}
	if err := modifyTags(api, group, nil, "env"); err != nil {
		t.Fatal(err)
	}
	if got := proxyTags(t, api, cr.InstanceId); !maps.Equal(got, own) {
		t.Errorf("group %s DeleteTags env: member's own tags became %v; want its own %v kept", g, got, own)
	}
}
