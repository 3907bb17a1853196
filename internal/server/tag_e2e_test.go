package server_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"
	tagsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tag/v20180813"

	"github.com/opengaap/opengaap/internal/xtest"
)

// TestTagDescribeUnknownResource: the Terraform provider's Read of
// tencentcloud_gaap_realserver and _global_domain always asks the tag
// product (at tag.<domain>) for the resource's tags; a resource without
// tags, or unknown, is an empty list, not an error.
func TestTagDescribeUnknownResource(t *testing.T) {
	n := startNode(t)
	var out struct {
		TotalCount int
		Tags       []struct{ ResourceId, TagKey, TagValue string }
	}
	err := xtest.CallService(&n.c.Client, "tag", "2018-08-13", "DescribeResourceTagsByResourceIds", map[string]any{
		"ServiceType": "gaap", "ResourcePrefix": "realServer", "ResourceRegion": "ap-guangzhou",
		"ResourceIds": []string{"rs-xxxxxxxx"}, "Limit": 20, "Offset": 0}, &out)
	if err != nil {
		t.Fatalf("DescribeResourceTagsByResourceIds as the provider's Read sends it: %v", err)
	}
	if out.TotalCount != 0 || len(out.Tags) != 0 {
		t.Errorf("unknown real server: %+v; want no tags", out)
	}
}

// TestTagModifyAndDescribe: tags written through the tag product are the
// GAAP objects' TagSet (DescribeProxies, DescribeResourcesByTag) and the
// other way round; other accounts neither see nor change them.
func TestTagModifyAndDescribe(t *testing.T) {
	n := startNode(t)
	tg := n.Tag()
	proxy, _ := n.proxy()
	rs := n.realServers(origins.Next())[0]
	var dom struct{ DomainId string }
	if err := n.Call(n.c, "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4",
		"TagSet": []map[string]string{{"TagKey": "made", "TagValue": "by-gaap"}}}, &dom); err != nil {
		t.Fatal(err)
	}
	res := func(prefix, id string) string { return "qcs::gaap:ap-guangzhou:uin/:" + prefix + "/" + id }

	// Add, as the provider's ModifyTags sends it (uin left empty).
	if err := modifyTags(tg, res("proxy", proxy), map[string]string{"env": "prod", "team": "a"}); err != nil {
		t.Fatalf("ModifyResourceTags(proxy): %v", err)
	}
	if got := describeTags(t, tg, "proxy", proxy); !maps.Equal(got, map[string]string{"env": "prod", "team": "a"}) {
		t.Errorf("proxy tags = %v; want env=prod team=a", got)
	}
	if got := proxyTagged(t, n, "env", "prod"); len(got) != 1 || got[0] != proxy {
		t.Errorf("DescribeProxies(TagSet env=prod) = %v; want [%s]", got, proxy)
	}
	if got := byTag(t, n, "team", "a"); !strings.Contains(got, "Proxy:"+proxy) {
		t.Errorf("DescribeResourcesByTag(team=a) = %s; want the proxy", got)
	}

	// Change one, delete another; the uin may also be spelled out.
	req := tagsdk.NewModifyResourceTagsRequest()
	req.Resource = new("qcs::gaap:ap-guangzhou:uin/" + xtest.Root.Uin + ":proxy/" + proxy)
	req.ReplaceTags = []*tagsdk.Tag{{TagKey: new("env"), TagValue: new("staging")}}
	req.DeleteTags = []*tagsdk.TagKeyObject{{TagKey: new("team")}}
	if _, err := tg.ModifyResourceTags(req); err != nil {
		t.Fatalf("ModifyResourceTags(replace env, delete team): %v", err)
	}
	if got := describeTags(t, tg, "proxy", proxy); !maps.Equal(got, map[string]string{"env": "staging"}) {
		t.Errorf("proxy tags = %v; want env=staging", got)
	}
	if got := proxyTagged(t, n, "env", "prod"); len(got) != 0 {
		t.Errorf("DescribeProxies(TagSet env=prod) after the change = %v; want none", got)
	}
	if got := proxyTagged(t, n, "env", "staging"); len(got) != 1 {
		t.Errorf("DescribeProxies(TagSet env=staging) = %v; want the proxy", got)
	}

	// Real servers and global domains; a domain's create-time TagSet is read back.
	if err := modifyTags(tg, res("realServer", rs), map[string]string{"role": "origin"}); err != nil {
		t.Fatalf("ModifyResourceTags(realServer): %v", err)
	}
	if got := byTag(t, n, "role", "origin"); got != "RealServer:"+rs+" " {
		t.Errorf("DescribeResourcesByTag(role=origin) = %q; want the real server", got)
	}
	if got := describeTags(t, tg, "domain", dom.DomainId); !maps.Equal(got, map[string]string{"made": "by-gaap"}) {
		t.Errorf("domain tags = %v; want the TagSet of CreateGlobalDomain", got)
	}
	if err := modifyTags(tg, res("domain", dom.DomainId), map[string]string{"made": "by-tag"}); err != nil {
		t.Fatalf("ModifyResourceTags(domain): %v", err)
	}
	if got := describeTags(t, tg, "domain", dom.DomainId); !maps.Equal(got, map[string]string{"made": "by-tag"}) {
		t.Errorf("domain tags = %v; want made=by-tag", got)
	}

	// Several IDs, one unknown, and paging over the flat tag list.
	d := tagsdk.NewDescribeResourceTagsByResourceIdsRequest()
	d.ServiceType, d.ResourcePrefix, d.ResourceRegion = new("gaap"), new("realServer"), new("ap-guangzhou")
	d.ResourceIds = []*string{new("rs-unknown1"), &rs}
	d.Limit, d.Offset = new(uint64(1)), new(uint64(0))
	dr, err := tg.DescribeResourceTagsByResourceIds(d)
	if err != nil {
		t.Fatal(err)
	}
	if *dr.Response.TotalCount != 1 || len(dr.Response.Tags) != 1 || *dr.Response.Tags[0].ResourceId != rs ||
		*dr.Response.Tags[0].ServiceType != "gaap" || len(*dr.Response.Tags[0].TagKeyMd5) != 32 {
		t.Errorf("DescribeResourceTagsByResourceIds(unknown, rs) = %s", dr.ToJsonString())
	}

	// Delete the last tag: the proxy carries none.
	req = tagsdk.NewModifyResourceTagsRequest()
	req.Resource, req.DeleteTags = new(res("proxy", proxy)), []*tagsdk.TagKeyObject{{TagKey: new("env")}}
	if _, err := tg.ModifyResourceTags(req); err != nil {
		t.Fatal(err)
	}
	if got := describeTags(t, tg, "proxy", proxy); len(got) != 0 {
		t.Errorf("proxy tags after deleting all = %v", got)
	}

	// Other accounts: empty for Describe, ResourceNotFound for Modify.
	if err := modifyTags(tg, res("realServer", rs), map[string]string{"role": "origin"}); err != nil {
		t.Fatal(err)
	}
	other := n.Tag(xtest.Other)
	if got := describeTags(t, other, "realServer", rs); len(got) != 0 {
		t.Errorf("another account reads the real server's tags: %v", got)
	}
	wantCode(t, "another account's ModifyResourceTags", modifyTags(other, res("realServer", rs), map[string]string{"x": "y"}), "ResourceNotFound")
	wantCode(t, "ModifyResourceTags naming another account's uin",
		modifyTags(tg, "qcs::gaap:ap-guangzhou:uin/"+xtest.Other.Uin+":realServer/"+rs, map[string]string{"x": "y"}), "ResourceNotFound")
	if got := describeTags(t, tg, "realServer", rs); !maps.Equal(got, map[string]string{"role": "origin"}) {
		t.Errorf("real server tags after the refused calls = %v; want role=origin", got)
	}
}

// TestTagBadInput: malformed descriptions, other products, bad tags.
func TestTagBadInput(t *testing.T) {
	n := startNode(t)
	tg := n.Tag()
	rs := n.realServers(origins.Next())[0]
	one := map[string]string{"k": "v"}
	for _, c := range []struct{ resource, code string }{
		{"rs-" + rs, "InvalidParameterValue.ResourceDescriptionError"},
		{"qcs::gaap:ap-guangzhou:realServer/" + rs, "InvalidParameterValue.ResourceDescriptionError"},
		{"qcs::gaap:ap-guangzhou:owner/1:realServer/" + rs, "InvalidParameterValue.ResourceDescriptionError"},
		{"qcs::gaap:ap-guangzhou:uin/:" + rs, "InvalidParameterValue.ResourceDescriptionError"},
		{"qcs::cvm:ap-guangzhou:uin/:instance/ins-12345678", "InvalidParameter.UnsupportedService"},
		{"qcs::gaap:ap-guangzhou:uin/:listener/listener-12345678", "InvalidParameterValue.ResourcePrefixInvalid"},
		{"qcs::gaap:ap-guangzhou:uin/:realServer/rs-00000000", "ResourceNotFound"},
	} {
		wantCode(t, "ModifyResourceTags("+c.resource+")", modifyTags(tg, c.resource, one), c.code)
	}
	good := "qcs::gaap:ap-guangzhou:uin/:realServer/" + rs
	wantCode(t, "empty TagKey", modifyTags(tg, good, map[string]string{" ": "v"}), "InvalidParameterValue.InvalidTags")
	wantCode(t, "neither ReplaceTags nor DeleteTags", modifyTags(tg, good, nil), "MissingParameter")
	req := tagsdk.NewModifyResourceTagsRequest()
	req.Resource = &good
	req.ReplaceTags = []*tagsdk.Tag{{TagKey: new("k"), TagValue: new("v")}}
	req.DeleteTags = []*tagsdk.TagKeyObject{{TagKey: new("k")}}
	_, err := tg.ModifyResourceTags(req)
	wantCode(t, "a key both replaced and deleted", err, "InvalidParameterValue.DeleteTagsParamError")
	req.ReplaceTags, req.DeleteTags = append(req.ReplaceTags, &tagsdk.Tag{TagKey: new(" k"), TagValue: new("w")}), nil
	_, err = tg.ModifyResourceTags(req)
	wantCode(t, "a key replaced twice", err, "InvalidParameterValue.InvalidTags")

	d := tagsdk.NewDescribeResourceTagsByResourceIdsRequest()
	d.ServiceType, d.ResourcePrefix, d.ResourceRegion, d.ResourceIds = new("cvm"), new("instance"), new("ap-guangzhou"), []*string{new("ins-1")}
	_, err = tg.DescribeResourceTagsByResourceIds(d)
	wantCode(t, "DescribeResourceTagsByResourceIds(ServiceType cvm)", err, "InvalidParameterValue.ServiceTypeInvalid")
	d.ServiceType = new("gaap")
	_, err = tg.DescribeResourceTagsByResourceIds(d)
	wantCode(t, "DescribeResourceTagsByResourceIds(ResourcePrefix instance)", err, "InvalidParameterValue.ResourcePrefixInvalid")

	// Category, which newer SDKs send: every tag opengaap keeps is Custom.
	if err := modifyTags(tg, good, one); err != nil {
		t.Fatal(err)
	}
	byCategory := func(category string) (int, error) {
		var resp struct {
			Tags []struct{ TagKey, Category string }
		}
		err := xtest.CallService(&tg.Client, "tag", "2018-08-13", "DescribeResourceTagsByResourceIds", map[string]any{"ServiceType": "gaap",
			"ResourcePrefix": "realServer", "ResourceRegion": "ap-guangzhou", "ResourceIds": []string{rs}, "Category": category}, &resp)
		for _, tag := range resp.Tags {
			if tag.Category != "Custom" {
				t.Errorf("Category %s: tag %s is %q; want Custom", category, tag.TagKey, tag.Category)
			}
		}
		return len(resp.Tags), err
	}
	for category, want := range map[string]int{"All": 1, "Custom": 1, "System": 0} {
		if n, err := byCategory(category); n != want || err != nil {
			t.Errorf("Category %s: %d tags, %v; want %d", category, n, err, want)
		}
	}
	_, err = byCategory("Bogus")
	wantCode(t, "Category Bogus", err, "InvalidParameterValue")
}

func modifyTags(c *tagsdk.Client, resource string, replace map[string]string) error {
	req := tagsdk.NewModifyResourceTagsRequest()
	req.Resource = &resource
	for k, v := range replace {
		req.ReplaceTags = append(req.ReplaceTags, &tagsdk.Tag{TagKey: new(k), TagValue: new(v)})
	}
	_, err := c.ModifyResourceTags(req)
	return err
}

// describeTags is the provider's DescribeResourceTags: the tags of one ID.
func describeTags(t *testing.T, c *tagsdk.Client, prefix, id string) map[string]string {
	t.Helper()
	req := tagsdk.NewDescribeResourceTagsByResourceIdsRequest()
	req.ServiceType, req.ResourcePrefix, req.ResourceRegion = new("gaap"), &prefix, new("ap-guangzhou")
	req.ResourceIds, req.Limit, req.Offset = []*string{&id}, new(uint64(20)), new(uint64(0))
	resp, err := c.DescribeResourceTagsByResourceIds(req)
	if err != nil {
		t.Fatalf("DescribeResourceTagsByResourceIds(%s %s): %v", prefix, id, err)
	}
	out := map[string]string{}
	for _, tg := range resp.Response.Tags {
		if *tg.ResourceId != id {
			t.Errorf("tag of %s in the answer for %s", *tg.ResourceId, id)
		}
		out[*tg.TagKey] = *tg.TagValue
	}
	return out
}

// proxyTagged lists the proxies DescribeProxies finds by one TagSet pair,
// checking that each answers that pair in its TagSet.
func proxyTagged(t *testing.T, n *node, key, value string) []string {
	t.Helper()
	req := gaapsdk.NewDescribeProxiesRequest()
	req.TagSet = []*gaapsdk.TagPair{{TagKey: &key, TagValue: &value}}
	resp, err := n.c.DescribeProxies(req)
	if err != nil {
		t.Fatalf("DescribeProxies(TagSet): %v", err)
	}
	var ids []string
	for _, p := range resp.Response.ProxySet {
		found := false
		for _, tp := range p.TagSet {
			found = found || *tp.TagKey == key && *tp.TagValue == value
		}
		if !found {
			t.Errorf("DescribeProxies: proxy %s found by %s=%s lacks it in TagSet", *p.ProxyId, key, value)
		}
		ids = append(ids, *p.ProxyId)
	}
	return ids
}

// byTag is DescribeResourcesByTag's answer as "Type:ID " entries.
func byTag(t *testing.T, n *node, key, value string) string {
	t.Helper()
	req := gaapsdk.NewDescribeResourcesByTagRequest()
	req.TagKey, req.TagValue = &key, &value
	resp, err := n.c.DescribeResourcesByTag(req)
	if err != nil {
		t.Fatalf("DescribeResourcesByTag: %v", err)
	}
	var b strings.Builder
	for _, r := range resp.Response.ResourceSet {
		b.WriteString(*r.ResourceType + ":" + *r.ResourceId + " ")
	}
	return b.String()
}

// wantCode fails the test unless err is the API error code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var e *sdkerrors.TencentCloudSDKError
	if !errors.As(err, &e) || e.Code != code {
		t.Errorf("%s: %v; want %s", what, err, code)
	} else if e.Message == "" {
		t.Errorf("%s: %s without a message", what, code)
	}
}
