package gaap_test

import (
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// The SDK version in use lacks the global domain actions: they go through
// api.Call with these shapes.
type (
	tagPair      struct{ TagKey, TagValue string }
	globalDomain struct {
		DomainId, FullDomain, Alias, Type, DefaultValue, BanStatus string
		Status, ProjectId, ProxyCount, CreateTime                  int64
		UpdateTime                                                 *int64
		TagSet                                                     []tagPair
	}
	globalDomains struct {
		Domains    []globalDomain
		TotalCount int64
	}
	globalDns struct {
		DnsRecordId     int64
		Status          int64
		CountryAreaList []struct{ NationCountryInnerCode, NationCountryName string }
		AccessList      []struct{ ProxyId, Vip, RegionId string }
	}
	filter struct {
		Name   string
		Values []string
	}
)

func listGlobalDomains(t *testing.T, api *xtest.API, acct cloudapi.Account, params map[string]any) globalDomains {
	t.Helper()
	var out globalDomains
	params["Offset"], params["Limit"] = 0, 100
	if _, ok := params["ProjectId"]; !ok {
		params["ProjectId"] = -1
	}
	if err := api.Call(api.GAAP(acct), "DescribeGlobalDomains", params, &out); err != nil {
		t.Fatalf("DescribeGlobalDomains: %v", err)
	}
	return out
}

func oneGlobalDomain(t *testing.T, api *xtest.API, id string) globalDomain {
	t.Helper()
	out := listGlobalDomains(t, api, xtest.Root, map[string]any{"Filters": []filter{{"DomainId", []string{id}}}})
	if out.TotalCount != 1 || len(out.Domains) != 1 {
		t.Fatalf("DescribeGlobalDomains(DomainId=%s) found %d", id, out.TotalCount)
	}
	return out.Domains[0]
}

func dnsRecords(t *testing.T, api *xtest.API, domain string) []globalDns {
	t.Helper()
	var out struct{ GlobalDnsList []globalDns }
	if err := api.Call(api.GAAP(), "DescribeGlobalDomainDns", map[string]any{"DomainId": domain}, &out); err != nil {
		t.Fatalf("DescribeGlobalDomainDns: %v", err)
	}
	return out.GlobalDnsList
}

func TestGlobalDomain(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	call := func(action string, params any) error {
		var out map[string]any
		return api.Call(c, action, params, &out)
	}

	wantCode(t, call("CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "not a domain!"}), "InvalidParameterValue")
	var created struct{ DomainId string }
	err := api.Call(c, "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.1.1.1", "Alias": "web",
		"TagSet": []tagPair{{"env", "prod"}}}, &created)
	if err != nil || !strings.HasPrefix(created.DomainId, "dm-") {
		t.Fatalf("CreateGlobalDomain = %q, %v; want dm-xxxxxxxx", created.DomainId, err)
	}
	id := created.DomainId

	g := oneGlobalDomain(t, api, id)
	if g.Status != 0 || g.Type != "IP" || g.DefaultValue != "1.1.1.1" || g.Alias != "web" || !strings.HasPrefix(g.FullDomain, "gd-") ||
		len(g.TagSet) != 1 || g.TagSet[0] != (tagPair{"env", "prod"}) || g.BanStatus != "RECOVER" || g.CreateTime == 0 {
		t.Fatalf("created domain = %+v", g)
	}
	if g.UpdateTime != nil { // Documented nullable: a domain never modified has no update time, not 1970.
		t.Fatalf("UpdateTime of a never modified domain = %d; want null", *g.UpdateTime)
	}
	if n := listGlobalDomains(t, api, xtest.Root, map[string]any{"TagSet": []tagPair{{"env", "dev"}}}).TotalCount; n != 0 {
		t.Fatalf("tag filter env=dev found %d domains; want 0", n)
	}
	if n := listGlobalDomains(t, api, xtest.Root, map[string]any{"ProjectId": 7}).TotalCount; n != 0 {
		t.Fatalf("project 7 holds %d domains; want 0", n)
	}
	if n := listGlobalDomains(t, api, xtest.Other, map[string]any{}).TotalCount; n != 0 {
		t.Fatalf("another account sees %d domains", n)
	}
	wantCode(t, call("DescribeGlobalDomains", map[string]any{"ProjectId": 0, "Offset": 0, "Limit": 10,
		"Filters": []filter{{"Colour", []string{"red"}}}}), "InvalidParameterValue")

	if err := call("ModifyGlobalDomainAttribute", map[string]any{"DomainId": id, "ProjectId": 0, "DefaultValue": "Origin.Example.com", "Alias": "www"}); err != nil {
		t.Fatalf("ModifyGlobalDomainAttribute: %v", err)
	}
	// DefaultValue reads back as given: Terraform's
	// tencentcloud_gaap_global_domain sets default_value from it.
	if g := oneGlobalDomain(t, api, id); g.Type != "DOMAIN" || g.DefaultValue != "Origin.Example.com" || g.Alias != "www" ||
		g.UpdateTime == nil || *g.UpdateTime < g.CreateTime {
		t.Fatalf("modified domain = %+v", g)
	}
	// Domain names compare without case (RFC 4343 §2), so the filters find
	// them in any spelling.
	for _, f := range []filter{{"FullDomain", []string{strings.ToUpper(g.FullDomain)}}, {"DefaultValue", []string{"ORIGIN.example.com"}}} {
		if n := listGlobalDomains(t, api, xtest.Root, map[string]any{"Filters": []filter{f}}).TotalCount; n != 1 {
			t.Errorf("filter %s=%s found %d domains; want 1", f.Name, f.Values[0], n)
		}
	}
	// A domain that does not exist (or is another account's) is
	// FailedOperation, as the reference's DisableGlobalDomain example
	// answers it; none of these actions lists ResourceNotFound.
	wantCode(t, api.Call(api.GAAP(xtest.Other), "ModifyGlobalDomainAttribute", map[string]any{"DomainId": id, "ProjectId": 0, "Alias": "x"}, new(map[string]any)), "FailedOperation")
	for _, action := range []string{"DisableGlobalDomain", "EnableGlobalDomain", "DeleteGlobalDomain", "DescribeGlobalDomainDns"} {
		wantCode(t, api.Call(api.GAAP(), action, map[string]any{"DomainId": "dm-00000000"}, new(map[string]any)), "FailedOperation")
	}

	testGlobalDomainDns(t, api, id)

	wantCode(t, call("DeleteGlobalDomain", map[string]any{"DomainId": id}), "FailedOperation")
	if err := call("DisableGlobalDomain", map[string]any{"DomainId": id}); err != nil {
		t.Fatalf("DisableGlobalDomain: %v", err)
	}
	eventually(t, func() bool { return oneGlobalDomain(t, api, id).Status == 1 }, "domain never disabled")
	wantCode(t, call("DisableGlobalDomain", map[string]any{"DomainId": id}), "FailedOperation")
	if err := call("EnableGlobalDomain", map[string]any{"DomainId": id}); err != nil {
		t.Fatalf("EnableGlobalDomain: %v", err)
	}
	eventually(t, func() bool { return oneGlobalDomain(t, api, id).Status == 0 }, "domain never enabled")
	if err := call("DisableGlobalDomain", map[string]any{"DomainId": id}); err != nil {
		t.Fatalf("DisableGlobalDomain: %v", err)
	}
	eventually(t, func() bool { return oneGlobalDomain(t, api, id).Status == 1 }, "domain never disabled")
	if err := call("DeleteGlobalDomain", map[string]any{"DomainId": id}); err != nil {
		t.Fatalf("DeleteGlobalDomain: %v", err)
	}
	if n := listGlobalDomains(t, api, xtest.Root, map[string]any{}).TotalCount; n != 0 {
		t.Fatalf("%d domains left after delete", n)
	}
}

// TestGlobalDomainRefusedParameters checks that a global domain is held to
// the rules every other resource's create and modify follow.
func TestGlobalDomainRefusedParameters(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	var created struct{ DomainId string }
	if err := api.Call(api.GAAP(), "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4"}, &created); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, action string
		params       map[string]any
		code         string
	}{
		// -1 means "every project" in listings; no resource belongs to it.
		{"create in a negative project", "CreateGlobalDomain", map[string]any{"ProjectId": -7, "DefaultValue": "1.2.3.4"}, "InvalidParameterValue"},
		// CreateGlobalDomain's error list has no InvalidParameterValue.InvalidTags
		// (CreateProxy's and CreateProxyGroup's code): the common
		// InvalidParameterValue, as listedCode falls back to.
		{"tag without a key", "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4",
			"TagSet": []tagPair{{"", "v"}}}, "InvalidParameterValue"},
		{"tag key twice", "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4",
			"TagSet": []tagPair{{"k", "1"}, {"k", "2"}}}, "InvalidParameterValue"},
		// DescribeGlobalDomains' error list names InvalidParameterValue.InvalidTags
		// and no plain InvalidParameterValue.
		{"list by 6 tags", "DescribeGlobalDomains", map[string]any{"ProjectId": -1, "Offset": 0, "Limit": 10,
			"TagSet": slices.Repeat([]tagPair{{"k", "v"}}, 6)}, "InvalidParameterValue.InvalidTags"},
		{"move to a negative project", "ModifyGlobalDomainAttribute", map[string]any{"DomainId": created.DomainId, "ProjectId": -1}, "InvalidParameterValue"},
		// DefaultValue is put in DNS answers; a zone names an interface of
		// some host, which no answer can carry.
		{"create with an IPv6 zone", "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "fe80::1%eth0"}, "InvalidParameterValue"},
		{"modify to an IPv6 zone", "ModifyGlobalDomainAttribute", map[string]any{"DomainId": created.DomainId, "ProjectId": 0,
			"DefaultValue": "fe80::1%eth0"}, "InvalidParameterValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, api.Call(api.GAAP(), tc.action, tc.params, new(map[string]any)), tc.code)
		})
	}
	if got := oneGlobalDomain(t, api, created.DomainId).ProjectId; got != 0 {
		t.Errorf("refused modification moved the domain to project %d; want 0", got)
	}
}

func testGlobalDomainDns(t *testing.T, api *xtest.API, domain string) {
	c := api.GAAP()
	var mapping struct {
		CountryAreaMappingList []struct{ NationCountryInnerCode string }
	}
	if err := api.Call(c, "DescribeCountryAreaMapping", map[string]any{}, &mapping); err != nil || len(mapping.CountryAreaMappingList) < 2 {
		t.Fatalf("DescribeCountryAreaMapping: %v (%d countries)", err, len(mapping.CountryAreaMappingList))
	}
	c1, c2 := mapping.CountryAreaMappingList[0].NationCountryInnerCode, mapping.CountryAreaMappingList[1].NationCountryInnerCode
	proxy := runningProxy(t, api)
	create := func(codes, proxies []string) error {
		return api.Call(c, "CreateGlobalDomainDns", map[string]any{"DomainId": domain, "ProxyIdList": proxies, "NationCountryInnerCodes": codes}, new(map[string]any))
	}

	wantCode(t, create([]string{"999999999"}, []string{proxy}), "InvalidParameterValue")
	wantCode(t, create([]string{c1}, []string{"link-00000000"}), "FailedOperation")
	if err := create([]string{c1}, []string{proxy}); err != nil {
		t.Fatalf("CreateGlobalDomainDns: %v", err)
	}
	wantCode(t, create([]string{c2, c1}, []string{proxy}), "FailedOperation")

	recs := dnsRecords(t, api, domain)
	if len(recs) != 1 || len(recs[0].AccessList) != 1 || recs[0].AccessList[0].ProxyId != proxy || recs[0].AccessList[0].Vip == "" ||
		len(recs[0].CountryAreaList) != 1 || recs[0].CountryAreaList[0].NationCountryInnerCode != c1 || recs[0].CountryAreaList[0].NationCountryName == "" {
		t.Fatalf("records = %+v", recs)
	}
	rec := recs[0].DnsRecordId
	eventually(t, func() bool { return dnsRecords(t, api, domain)[0].Status == 1 }, "record never running")
	if n := oneGlobalDomain(t, api, domain).ProxyCount; n != 1 {
		t.Fatalf("ProxyCount %d; want 1", n)
	}

	modify := map[string]any{"DomainId": domain, "DnsRecordId": rec, "ProxyIdList": []string{proxy}, "NationCountryInnerCodes": []string{c2}}
	if err := api.Call(c, "ModifyGlobalDomainDns", modify, new(map[string]any)); err != nil {
		t.Fatalf("ModifyGlobalDomainDns: %v", err)
	}
	if r := dnsRecords(t, api, domain)[0]; r.Status != 3 && r.Status != 1 || r.CountryAreaList[0].NationCountryInnerCode != c2 {
		t.Fatalf("modified record = %+v", r)
	}
	eventually(t, func() bool { return dnsRecords(t, api, domain)[0].Status == 1 }, "record never running")

	// The reference requires both lists; an absent one is kept, as
	// Terraform's provider sends only the one that changed. Neither is
	// still refused.
	proxy2 := runningProxy(t, api)
	only := func(param string, list []string) {
		t.Helper()
		modify := map[string]any{"DomainId": domain, "DnsRecordId": rec, param: list}
		if err := api.Call(c, "ModifyGlobalDomainDns", modify, new(map[string]any)); err != nil {
			t.Fatalf("ModifyGlobalDomainDns with only %s: %v", param, err)
		}
		eventually(t, func() bool { return dnsRecords(t, api, domain)[0].Status == 1 }, "record never running")
	}
	only("ProxyIdList", []string{proxy2})
	only("NationCountryInnerCodes", []string{c1})
	if r := dnsRecords(t, api, domain)[0]; len(r.AccessList) != 1 || r.AccessList[0].ProxyId != proxy2 ||
		len(r.CountryAreaList) != 1 || r.CountryAreaList[0].NationCountryInnerCode != c1 {
		t.Fatalf("record after changing each list alone = %+v; want proxy %s, country %s", r, proxy2, c1)
	}
	wantCode(t, api.Call(c, "ModifyGlobalDomainDns", map[string]any{"DomainId": domain, "DnsRecordId": rec}, new(map[string]any)), "MissingParameter")
	wantCode(t, api.Call(c, "ModifyGlobalDomainDns", map[string]any{"DomainId": domain, "DnsRecordId": rec, "ProxyIdList": []string{}}, new(map[string]any)), "InvalidParameterValue")

	wantCode(t, api.Call(c, "DeleteGlobalDomainDns", map[string]any{"DnsRecordId": rec + 100}, new(map[string]any)), "FailedOperation")
	wantCode(t, api.Call(api.GAAP(xtest.Other), "DeleteGlobalDomainDns", map[string]any{"DnsRecordId": rec}, new(map[string]any)), "FailedOperation")
	if err := api.Call(c, "DeleteGlobalDomainDns", map[string]any{"DnsRecordId": rec}, new(map[string]any)); err != nil {
		t.Fatalf("DeleteGlobalDomainDns: %v", err)
	}
	eventually(t, func() bool { return len(dnsRecords(t, api, domain)) == 0 }, "record never deleted")
}

// globalDomainTo creates a global domain with one DNS record that sends
// a country to the proxy px, and returns the domain's ID.
func globalDomainTo(t *testing.T, api *xtest.API, px string) string {
	t.Helper()
	c := api.GAAP()
	var cm struct {
		CountryAreaMappingList []struct{ NationCountryInnerCode string }
	}
	if err := api.Call(c, "DescribeCountryAreaMapping", map[string]any{}, &cm); err != nil {
		t.Fatal(err)
	}
	var gd struct{ DomainId string }
	if err := api.Call(c, "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4"}, &gd); err != nil {
		t.Fatal(err)
	}
	if err := api.Call(c, "CreateGlobalDomainDns", map[string]any{"DomainId": gd.DomainId, "ProxyIdList": []string{px},
		"NationCountryInnerCodes": []string{cm.CountryAreaMappingList[0].NationCountryInnerCode}}, nil); err != nil {
		t.Fatal(err)
	}
	return gd.DomainId
}

// TestDnsRecordIDsNeverReused: DeleteGlobalDomainDns names a record by its
// DnsRecordId alone, so the ID of a deleted domain's record must not be
// issued again, after a restart either.
func TestDnsRecordIDsNeverReused(t *testing.T) {
	t.Parallel()
	api, mod, _ := startRestartable(t)
	c := api.GAAP()
	px := runningProxy(t, api)
	gone := globalDomainTo(t, api, px)
	first := dnsRecords(t, api, gone)[0].DnsRecordId
	eventually(t, func() bool { return dnsRecords(t, api, gone)[0].Status == 1 }, "record never running")
	if err := api.Call(c, "DisableGlobalDomain", map[string]any{"DomainId": gone}, new(map[string]any)); err != nil {
		t.Fatalf("DisableGlobalDomain: %v", err)
	}
	eventually(t, func() bool { return oneGlobalDomain(t, api, gone).Status == 1 }, "domain never disabled")
	if err := api.Call(c, "DeleteGlobalDomain", map[string]any{"DomainId": gone}, new(map[string]any)); err != nil {
		t.Fatalf("DeleteGlobalDomain: %v", err)
	}
	api.Close(t.Context())

	api = xtest.StartAPIWith(t, mod)
	kept := globalDomainTo(t, api, px)
	if id := dnsRecords(t, api, kept)[0].DnsRecordId; id <= first {
		t.Fatalf("new record got DnsRecordId %d after the deleted domain's record had %d; want a never-issued ID", id, first)
	}
}

// TestGlobalDomainProxyCountAfterDestroy checks that ProxyCount leaves out
// a destroyed proxy, as DescribeGlobalDomainDns's AccessList does.
func TestGlobalDomainProxyCountAfterDestroy(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	px := runningProxy(t, api)
	domain := globalDomainTo(t, api, px)
	if n := oneGlobalDomain(t, api, domain).ProxyCount; n != 1 {
		t.Fatalf("ProxyCount = %d; want 1", n)
	}
	req := gaapsdk.NewDestroyProxiesRequest()
	req.ProxyIds, req.Force = sdkIDs(px), new(int64(1))
	if _, err := c.DestroyProxies(req); err != nil {
		t.Fatal(err)
	}
	proxyGone(t, c, px)
	if n, access := oneGlobalDomain(t, api, domain).ProxyCount, len(dnsRecords(t, api, domain)[0].AccessList); n != 0 || access != 0 {
		t.Errorf("after its only proxy was destroyed: ProxyCount %d, AccessList %d entries; want 0 and 0", n, access)
	}
}

// TestProxyRelatedGlobalDomains checks that ProxyInfo names the global
// domains whose DNS records resolve to the proxy, and only those.
func TestProxyRelatedGlobalDomains(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	px, other := runningProxy(t, api), runningProxy(t, api)
	full := oneGlobalDomain(t, api, globalDomainTo(t, api, px)).FullDomain
	names := func(v []*string) []string {
		out := []string{}
		for _, s := range v {
			out = append(out, *s)
		}
		return out
	}
	if got := names(proxyDetail(t, c, px).RelatedGlobalDomains); !slices.Equal(got, []string{full}) {
		t.Errorf("DescribeProxyDetail RelatedGlobalDomains = %v; want [%s]", got, full)
	}
	req := gaapsdk.NewDescribeProxiesRequest()
	req.ProxyIds = sdkIDs(px, other)
	resp, err := c.DescribeProxies(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Response.ProxySet {
		want := []string{}
		if *p.ProxyId == px {
			want = []string{full}
		}
		if got := names(p.RelatedGlobalDomains); !slices.Equal(got, want) {
			t.Errorf("DescribeProxies: %s RelatedGlobalDomains = %v; want %v", *p.ProxyId, got, want)
		}
	}
}

// TestGlobalDomainDnsRefusesDestroyingProxy: a proxy whose DestroyProxies
// was accepted is removed at the next reconcile, so a DNS record naming it
// would resolve its countries to no proxy at all (and hold those countries,
// which a domain's other records cannot take). CreateGlobalDomainDns and
// ModifyGlobalDomainDns refuse it with FailedOperation, the only failure
// code their error lists give. The controller is held so that the proxy
// stays DESTROYING while the calls are made.
func TestGlobalDomainDnsRefusesDestroyingProxy(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	var cm struct {
		CountryAreaMappingList []struct{ NationCountryInnerCode string }
	}
	if err := api.Call(c, "DescribeCountryAreaMapping", map[string]any{}, &cm); err != nil || len(cm.CountryAreaMappingList) < 2 {
		t.Fatalf("DescribeCountryAreaMapping: %v (%d countries)", err, len(cm.CountryAreaMappingList))
	}
	kept, doomed := runningProxy(t, api), runningProxy(t, api)
	domain := globalDomainTo(t, api, kept)
	eventually(t, func() bool { return dnsRecords(t, api, domain)[0].Status == 1 }, "record never running")
	rec := dnsRecords(t, api, domain)[0].DnsRecordId

	release := sync.OnceFunc(api.Controller.Hold())
	defer release() // a held controller would block the node's Close
	req := gaapsdk.NewDestroyProxiesRequest()
	req.ProxyIds, req.Force = sdkIDs(doomed), new(int64(1))
	if _, err := c.DestroyProxies(req); err != nil {
		t.Fatal(err)
	}
	wantCode(t, api.Call(c, "CreateGlobalDomainDns", map[string]any{"DomainId": domain, "ProxyIdList": []string{doomed},
		"NationCountryInnerCodes": []string{cm.CountryAreaMappingList[1].NationCountryInnerCode}}, new(map[string]any)), "FailedOperation")
	wantCode(t, api.Call(c, "ModifyGlobalDomainDns", map[string]any{"DomainId": domain, "DnsRecordId": rec,
		"ProxyIdList": []string{kept, doomed}}, new(map[string]any)), "FailedOperation")
	release()

	proxyGone(t, c, doomed)
	if recs := dnsRecords(t, api, domain); len(recs) != 1 || len(recs[0].AccessList) != 1 || recs[0].AccessList[0].ProxyId != kept {
		t.Errorf("records after the refused calls = %+v; want only the first, resolving to %s", recs, kept)
	}
}

// TestDeleteGlobalDomainWaitsForRecordChange: DeleteGlobalDomain removes
// the domain at once, so no pass sees what it takes. A record still being
// created (2) must hold it back with FailedOperation, as it holds back
// changing the record: removed before a pass applied it, the record would
// never reach DNS while CreateGlobalDomainDns's task answered SUCCESS.
// Once the record settles, the task succeeds. A record being deleted (4)
// does not hold the domain back (Terraform deletes records, without
// waiting, before their domain), and its deletion's task succeeds.
func TestDeleteGlobalDomainWaitsForRecordChange(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	px := runningProxy(t, api)
	var cm struct {
		CountryAreaMappingList []struct{ NationCountryInnerCode string }
	}
	if err := api.Call(c, "DescribeCountryAreaMapping", map[string]any{}, &cm); err != nil || len(cm.CountryAreaMappingList) == 0 {
		t.Fatalf("DescribeCountryAreaMapping: %v (%d countries)", err, len(cm.CountryAreaMappingList))
	}
	var gd struct{ DomainId string }
	if err := api.Call(c, "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4"}, &gd); err != nil {
		t.Fatal(err)
	}
	if err := api.Call(c, "DisableGlobalDomain", map[string]any{"DomainId": gd.DomainId}, new(map[string]any)); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return oneGlobalDomain(t, api, gd.DomainId).Status == 1 }, "domain never disabled")

	release := sync.OnceFunc(api.Controller.Hold())
	defer release() // a held controller would block the node's Close
	var created struct{ RequestId string }
	if err := api.Call(c, "CreateGlobalDomainDns", map[string]any{"DomainId": gd.DomainId, "ProxyIdList": []string{px},
		"NationCountryInnerCodes": []string{cm.CountryAreaMappingList[0].NationCountryInnerCode}}, &created); err != nil {
		t.Fatal(err)
	}
	if recs := dnsRecords(t, api, gd.DomainId); len(recs) != 1 || recs[0].Status != 2 {
		t.Fatalf("record before any pass = %+v; want one record in status 2 (creating)", recs)
	}
	wantCode(t, api.Call(c, "DeleteGlobalDomain", map[string]any{"DomainId": gd.DomainId}, new(map[string]any)), "FailedOperation")
	release()

	var last string
	eventually(t, func() bool { last = taskOf(t, api, created.RequestId); return last != "RUNNING" }, "task still RUNNING")
	if last != "SUCCESS" {
		t.Fatalf("CreateGlobalDomainDns task = %s; want SUCCESS", last)
	}
	recs := dnsRecords(t, api, gd.DomainId)
	if len(recs) != 1 || recs[0].Status != 1 {
		t.Fatalf("record after the pass = %+v; want one record in status 1", recs)
	}

	hold := sync.OnceFunc(api.Controller.Hold())
	defer hold()
	var deleted struct{ RequestId string }
	if err := api.Call(c, "DeleteGlobalDomainDns", map[string]any{"DnsRecordId": recs[0].DnsRecordId}, &deleted); err != nil {
		t.Fatal(err)
	}
	if err := api.Call(c, "DeleteGlobalDomain", map[string]any{"DomainId": gd.DomainId}, new(map[string]any)); err != nil {
		t.Fatalf("DeleteGlobalDomain with its record being deleted: %v", err)
	}
	hold()
	eventually(t, func() bool { last = taskOf(t, api, deleted.RequestId); return last != "RUNNING" }, "task still RUNNING")
	if last != "SUCCESS" {
		t.Fatalf("DeleteGlobalDomainDns task = %s after its domain went too; want SUCCESS", last)
	}
}

// TestGlobalDomainDefaultValueLoop: DefaultValue is what a domain resolves
// to when no DNS record matches, a CNAME when it is a name. A domain's own
// FullDomain there, or another domain of the account whose default entry
// leads back to it, is a CNAME loop that resolves for no client: it is
// InvalidParameterValue. A chain that ends elsewhere is accepted.
func TestGlobalDomainDefaultValueLoop(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	create := func(dflt string) globalDomain {
		t.Helper()
		var gd struct{ DomainId string }
		if err := api.Call(c, "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": dflt}, &gd); err != nil {
			t.Fatalf("CreateGlobalDomain(%s): %v", dflt, err)
		}
		return oneGlobalDomain(t, api, gd.DomainId)
	}
	modify := func(g globalDomain, dflt string) error {
		return api.Call(c, "ModifyGlobalDomainAttribute", map[string]any{"DomainId": g.DomainId, "ProjectId": 0, "DefaultValue": dflt}, new(map[string]any))
	}
	a := create("1.2.3.4")
	b := create(a.FullDomain) // b → a → 1.2.3.4: a chain, not a loop
	cc := create(strings.ToUpper(b.FullDomain) + ".")

	for _, self := range []string{a.FullDomain, strings.ToUpper(a.FullDomain) + "."} {
		wantCode(t, modify(a, self), "InvalidParameterValue")
	}
	wantCode(t, modify(a, b.FullDomain), "InvalidParameterValue")  // a → b → a
	wantCode(t, modify(a, cc.FullDomain), "InvalidParameterValue") // a → c → b → a
	if got := oneGlobalDomain(t, api, a.DomainId).DefaultValue; got != "1.2.3.4" {
		t.Errorf("DefaultValue after the refused changes = %s; want 1.2.3.4", got)
	}
	// Pointing b elsewhere breaks the chain; a may then name c.
	if err := modify(b, "backup.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := modify(a, cc.FullDomain); err != nil {
		t.Errorf("a → c → b → backup.example.com refused: %v", err)
	}
}

// TestDescribeGlobalDomainsHugeLimit: DescribeGlobalDomains has no Limit
// cap (docs/api-misc.md), so a client asking for "everything" with the
// largest Limit it can send gets every domain from Offset on.
func TestDescribeGlobalDomainsHugeLimit(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	for range 2 {
		var dom struct{ DomainId string }
		if err := api.Call(c, "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4"}, &dom); err != nil {
			t.Fatalf("CreateGlobalDomain: %v", err)
		}
	}
	var out globalDomains
	err := api.Call(c, "DescribeGlobalDomains", map[string]any{"ProjectId": -1, "Offset": 1, "Limit": int64(math.MaxInt64)}, &out)
	if err != nil {
		t.Fatalf("DescribeGlobalDomains(Offset 1, Limit MaxInt64): %v; want the second of 2 domains", err)
	}
	if out.TotalCount != 2 || len(out.Domains) != 1 {
		t.Fatalf("TotalCount %d, %d domains; want 2 and 1", out.TotalCount, len(out.Domains))
	}
}

// TestGlobalDefaultLoopThroughGroupDomain: a group's domain is a name too,
// resolving to its DefaultDnsIp when no country matches, so a default
// entry may lead through group domains as well as global ones. With the
// group's default pointing at global domain gd (group → gd → 1.2.3.4, a
// chain), pointing gd's DefaultValue at the group's domain closes the loop
// gd → group → gd: InvalidParameterValue (docs/api-misc.md). Two groups
// pointing at each other are a loop the same way.
func TestGlobalDefaultLoopThroughGroupDomain(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	withDomain := func() (group, domain string) {
		t.Helper()
		group = createGroup(t, api, "NorthChina")
		dom := gaapsdk.NewCreateProxyGroupDomainRequest()
		dom.GroupId = new(group)
		if _, err := c.CreateProxyGroupDomain(dom); err != nil {
			t.Fatal(err)
		}
		return group, *groupDetail(t, c, group).Domain
	}
	setGroupDefault := func(group, dflt string) error {
		mod := gaapsdk.NewModifyGroupDomainConfigRequest()
		mod.GroupId, mod.DefaultDnsIp = new(group), new(dflt)
		_, err := c.ModifyGroupDomainConfig(mod)
		return err
	}
	group, groupDomain := withDomain()

	var gd struct{ DomainId string }
	if err := api.Call(c, "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4"}, &gd); err != nil {
		t.Fatal(err)
	}
	full := oneGlobalDomain(t, api, gd.DomainId).FullDomain
	if err := setGroupDefault(group, full); err != nil { // group → gd → 1.2.3.4: a chain
		t.Fatalf("ModifyGroupDomainConfig(DefaultDnsIp=%s): %v", full, err)
	}
	err := api.Call(c, "ModifyGlobalDomainAttribute", map[string]any{"DomainId": gd.DomainId, "ProjectId": 0, "DefaultValue": groupDomain}, new(map[string]any))
	if err == nil {
		t.Fatalf("ModifyGlobalDomainAttribute(DefaultValue=%s) accepted although %s's default is %s: a CNAME loop", groupDomain, groupDomain, full)
	}
	wantCode(t, err, "InvalidParameterValue")

	other, otherDomain := withDomain()
	if err := setGroupDefault(other, groupDomain); err != nil { // other → group → gd → 1.2.3.4
		t.Fatalf("ModifyGroupDomainConfig(DefaultDnsIp=%s): %v", groupDomain, err)
	}
	wantCode(t, setGroupDefault(group, otherDomain), "InvalidParameterValue") // group → other → group
}

// TestGlobalDefaultNotOneHost: a global domain's DefaultValue is the
// address DNS answers with when no country record matches. The
// unspecified, broadcast and multicast addresses reach no server, so they
// are refused on create and on modify, as for origins.
func TestGlobalDefaultNotOneHost(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	var created struct{ DomainId string }
	if err := api.Call(api.GAAP(), "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4"}, &created); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"0.0.0.0", "::", "255.255.255.255", "224.0.0.1", "::ffff:224.0.0.1"} {
		err := api.Call(api.GAAP(), "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": v}, new(map[string]any))
		if err == nil {
			t.Errorf("CreateGlobalDomain accepted DefaultValue %s; want InvalidParameterValue", v)
		} else {
			wantCode(t, err, "InvalidParameterValue")
		}
		err = api.Call(api.GAAP(), "ModifyGlobalDomainAttribute", map[string]any{"DomainId": created.DomainId, "ProjectId": 0,
			"DefaultValue": v}, new(map[string]any))
		if err == nil {
			t.Errorf("ModifyGlobalDomainAttribute accepted DefaultValue %s; want InvalidParameterValue", v)
		} else {
			wantCode(t, err, "InvalidParameterValue")
		}
	}
	if got := oneGlobalDomain(t, api, created.DomainId).DefaultValue; got != "1.2.3.4" {
		t.Errorf("DefaultValue after refused changes: %s; want 1.2.3.4", got)
	}
}

// accessIdcType creates a running proxy accessed in region, a global
// domain with a record to it, and returns the SourceRegionIdcType
// DescribeGlobalDomainDns gives its access point.
func accessIdcType(t *testing.T, api *xtest.API, region string) string {
	t.Helper()
	px, err := createProxyRaw(api, map[string]any{"AccessRegion": region})
	if err != nil {
		t.Fatal(err)
	}
	waitProxyStatus(t, api, px, "RUNNING")
	domain := globalDomainTo(t, api, px)
	var out struct {
		GlobalDnsList []struct {
			AccessList []struct{ ProxyId, RegionId, SourceRegionIdcType string }
		}
	}
	if err := api.Call(api.GAAP(), "DescribeGlobalDomainDns", map[string]any{"DomainId": domain}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.GlobalDnsList) != 1 || len(out.GlobalDnsList[0].AccessList) != 1 {
		t.Fatalf("DescribeGlobalDomainDns = %+v; want one record with one access point", out)
	}
	return out.GlobalDnsList[0].AccessList[0].SourceRegionIdcType
}

// TestGlobalDnsIdcTypeFollowsRegion: ProxyAccessInfo.SourceRegionIdcType
// is "接入点IDC类型。ec或dc", the IDC type of the proxy's access point: of
// a proxy accessed in a region the catalogue declares "ec" (as
// DescribeAccessRegions answers), "ec", not a fixed "dc".
func TestGlobalDnsIdcTypeFollowsRegion(t *testing.T) {
	t.Parallel()
	path := writeConfigFile(t, `{"accessRegions":[{"id":"EdgeHK","name":"香港边缘","nameEn":"Hong Kong Edge","area":"Asia","areaName":"亚洲","idcType":"ec"}]}`)
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.GAAPConfig = path })
	if regions := accessRegions(t, api, api.GAAP()); len(regions.AccessRegionSet) != 1 || regions.AccessRegionSet[0].IDCType != "ec" {
		t.Fatalf("DescribeAccessRegions = %+v; want EdgeHK with IDCType ec", regions.AccessRegionSet)
	}
	if got := accessIdcType(t, api, "EdgeHK"); got != "ec" {
		t.Errorf("SourceRegionIdcType %q for a proxy accessed in an ec region; want \"ec\" (as DescribeAccessRegions says)", got)
	}
}
