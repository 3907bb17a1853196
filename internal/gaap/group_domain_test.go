package gaap_test

import (
	"slices"
	"strings"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

func TestGroupDomainConfig(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	access := func(r string) map[string]any {
		return map[string]any{"AccessRegion": r, "Bandwidth": 10, "Concurrent": 2}
	}
	id := createGroupWith(t, api, map[string]any{"AccessRegionSet": []any{access("SouthChina"), access("Hongkong")}})

	dom := gaapsdk.NewCreateProxyGroupDomainRequest()
	dom.GroupId = new(id)
	if _, err := c.CreateProxyGroupDomain(dom); err != nil {
		t.Fatal(err)
	}
	if d := groupDetail(t, c, id).Domain; d == nil || !strings.HasPrefix(*d, id+".") {
		t.Errorf("group domain %v; want %s.<suffix>", d, id)
	}

	conf := func(region string, codes ...string) *gaapsdk.AccessRegionDomainConf {
		return &gaapsdk.AccessRegionDomainConf{RegionId: new(region), NationCountryInnerList: sdkIDs(codes...)}
	}
	mod := gaapsdk.NewModifyGroupDomainConfigRequest()
	mod.GroupId, mod.DefaultDnsIp = new(id), new("1.1.1.1")
	mod.AccessRegionList = []*gaapsdk.AccessRegionDomainConf{conf("SouthChina", "101001", "101002")}
	if _, err := c.ModifyGroupDomainConfig(mod); err != nil {
		t.Fatal(err)
	}
	get := gaapsdk.NewDescribeGroupDomainConfigRequest()
	get.GroupId = new(id)
	resp, err := c.DescribeGroupDomainConfig(get)
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Response
	if *r.DefaultDnsIp != "1.1.1.1" || *r.AccessRegionCount != 2 {
		t.Fatalf("DefaultDnsIp %s, %d regions; want 1.1.1.1, 2", *r.DefaultDnsIp, *r.AccessRegionCount)
	}
	for _, e := range r.AccessRegionList {
		var names []string
		for _, n := range e.NationCountryInnerList {
			names = append(names, *n.NationCountryName)
		}
		want := []string(nil)
		if *e.RegionId == "SouthChina" {
			want = []string{"North China", "East China"}
		}
		if !slices.Equal(names, want) || len(e.ProxyList) != 1 || *e.ContinentInnerCode != "100000" {
			t.Errorf("%s: countries %v, %d proxies, continent %s; want %v, 1, 100000", *e.RegionId, names, len(e.ProxyList), *e.ContinentInnerCode, want)
		}
	}

	tests := []struct {
		name string
		ip   string
		list []*gaapsdk.AccessRegionDomainConf
	}{
		{"bad default", "not an ip!", nil},
		// A zone names an interface of some host: no DNS answer carries it.
		{"default with an IPv6 zone", "fe80::1%eth0", nil},
		// The address of no one host reaches no server.
		{"default is unspecified", "0.0.0.0", nil},
		{"default is broadcast", "255.255.255.255", nil},
		{"default is multicast", "ff02::1", nil},
		// The group's own domain: a CNAME loop.
		{"default is the group's domain", *groupDetail(t, c, id).Domain + ".", nil},
		{"region without proxy", "1.1.1.1", []*gaapsdk.AccessRegionDomainConf{conf("Japan")}},
		{"unknown country", "1.1.1.1", []*gaapsdk.AccessRegionDomainConf{conf("SouthChina", "999999")}},
		{"country twice", "1.1.1.1", []*gaapsdk.AccessRegionDomainConf{conf("SouthChina", "101001"), conf("Hongkong", "101001")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := gaapsdk.NewModifyGroupDomainConfigRequest()
			m.GroupId, m.DefaultDnsIp, m.AccessRegionList = new(id), new(tc.ip), tc.list
			_, err := c.ModifyGroupDomainConfig(m)
			wantCode(t, err, "InvalidParameterValue")
		})
	}
	// A domain name reads back as the caller spelled it, trimmed
	// (Terraform compares it exactly), though DNS answers use its
	// canonical form.
	mod.DefaultDnsIp = new(" Backup.Example.COM ")
	if _, err := c.ModifyGroupDomainConfig(mod); err != nil {
		t.Fatal(err)
	}
	if resp, err := c.DescribeGroupDomainConfig(get); err != nil || *resp.Response.DefaultDnsIp != "Backup.Example.COM" {
		t.Errorf("DefaultDnsIp after a domain: %v, %v; want Backup.Example.COM", resp, err)
	}
	if got := groupDetail(t, c, id).DnsDefaultIp; *got != "Backup.Example.COM" {
		t.Errorf("DescribeProxyGroupDetails DnsDefaultIp %q; want Backup.Example.COM", *got)
	}
	_, err = api.GAAP(xtest.Other).DescribeGroupDomainConfig(get)
	wantCode(t, err, "ResourceNotFound")
}

// TestGroupDefaultDnsIpUnsetIsEmpty: a group whose domain config has no
// default IP answers ProxyGroupDetail.DnsDefaultIp as "", the value
// DescribeGroupDomainConfig answers as DefaultDnsIp; the reference does
// not mark DnsDefaultIp nullable (as it marks Domain beside it), so a
// strongly typed client expects a string there.
func TestGroupDefaultDnsIpUnsetIsEmpty(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	id := createGroup(t, api, "NorthChina")
	get := gaapsdk.NewDescribeGroupDomainConfigRequest()
	get.GroupId = new(id)
	conf, err := c.DescribeGroupDomainConfig(get)
	if err != nil {
		t.Fatal(err)
	}
	d := groupDetail(t, c, id).DnsDefaultIp
	if d == nil || *d != "" || *conf.Response.DefaultDnsIp != "" {
		t.Errorf("DescribeProxyGroupDetails DnsDefaultIp %v, DescribeGroupDomainConfig DefaultDnsIp %q; want both \"\"", d, *conf.Response.DefaultDnsIp)
	}
}

// TestGroupDefaultIsOwnFutureDomain: CreateProxyGroupDomain gives a group
// the domain <group-id>.<domainSuffix>, known before it exists. A
// DefaultDnsIp that is that name is the group's own domain, a CNAME loop,
// even while the group has no domain yet: InvalidParameterValue. A default
// that only leads back to it through a global domain changed since is
// refused when CreateProxyGroupDomain would close the loop.
func TestGroupDefaultIsOwnFutureDomain(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	var gd struct{ DomainId string }
	if err := api.Call(c, "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4"}, &gd); err != nil {
		t.Fatal(err)
	}
	full := oneGlobalDomain(t, api, gd.DomainId).FullDomain
	suffix := full[strings.Index(full, ".")+1:] // gd-xxxxxxxx.<suffix>

	group := createGroup(t, api, "NorthChina")
	own := group + "." + suffix
	mod := gaapsdk.NewModifyGroupDomainConfigRequest()
	mod.GroupId, mod.DefaultDnsIp = new(group), new(own)
	_, err := c.ModifyGroupDomainConfig(mod)
	wantCode(t, err, "InvalidParameterValue")

	// group → gd, then gd → the group's future domain: no loop until the
	// group has that domain, so CreateProxyGroupDomain refuses.
	mod.DefaultDnsIp = new(full)
	if _, err := c.ModifyGroupDomainConfig(mod); err != nil {
		t.Fatalf("ModifyGroupDomainConfig(DefaultDnsIp=%s): %v", full, err)
	}
	if err := api.Call(c, "ModifyGlobalDomainAttribute", map[string]any{"DomainId": gd.DomainId, "ProjectId": 0, "DefaultValue": own}, new(map[string]any)); err != nil {
		t.Fatalf("ModifyGlobalDomainAttribute(DefaultValue=%s) while the group has no domain: %v", own, err)
	}
	dom := gaapsdk.NewCreateProxyGroupDomainRequest()
	dom.GroupId = new(group)
	_, err = c.CreateProxyGroupDomain(dom)
	wantCode(t, err, "InvalidParameterValue")
	if d := groupDetail(t, c, group); d.Domain != nil && *d.Domain != "" {
		t.Errorf("group %s got domain %s although its default %s leads back to it", group, *d.Domain, *d.DnsDefaultIp)
	}
}
