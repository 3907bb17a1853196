package gaap

import (
	"cmp"
	"context"
	"slices"
	"strconv"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// Documented limits of DescribeProxies.
const (
	maxFilters         = 10
	maxFilterValues    = 5
	maxTagFilters      = 5
	maxDescribeProxies = 100
)

// proxyFilters maps DescribeProxies filter names to the field they test.
var proxyFilters = map[string]func(p *model.Proxy) string{
	"ProjectId":        func(p *model.Proxy) string { return strconv.FormatInt(p.ProjectID, 10) },
	"AccessRegion":     func(p *model.Proxy) string { return p.AccessRegion },
	"RealServerRegion": func(p *model.Proxy) string { return p.RealServerRegion },
	"GroupId":          func(p *model.Proxy) string { return p.GroupID },
	"IPAddressVersion": func(p *model.Proxy) string { return p.IPAddressVersion },
	"PackageType":      func(p *model.Proxy) string { return p.PackageType },
}

// proxyOrder maps OrderField values to comparisons.
var proxyOrder = map[string]func(a, b *model.Proxy) int{
	"create_time":            func(a, b *model.Proxy) int { return cmp.Compare(a.CreateTime, b.CreateTime) },
	"proxy_id":               func(a, b *model.Proxy) int { return cmp.Compare(a.ID, b.ID) },
	"bandwidth":              func(a, b *model.Proxy) int { return cmp.Compare(a.Bandwidth, b.Bandwidth) },
	"concurrent_connections": func(a, b *model.Proxy) int { return cmp.Compare(a.Concurrent, b.Concurrent) },
}

// DescribeProxies lists proxies, newest first by default.
func (s *Service) DescribeProxies(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeProxiesRequest) (*gaapapi.DescribeProxiesResponse, error) {
	offset, limit, err := paging(req.Offset, req.Limit, maxDescribeProxies)
	if err != nil {
		return nil, err
	}
	ids, err := describedProxyIDs(req)
	if err != nil {
		return nil, err
	}
	if err := checkProxyQuery(req, ids); err != nil {
		return nil, err
	}
	desc := trimmed(req.Order) != "asc"
	var page []*model.Proxy
	var total int
	var related map[string][]string
	var policies map[string]string
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		if related, err = relatedGlobalDomains(tx); err != nil {
			return err
		}
		if policies, err = groupPolicies(tx); err != nil {
			return err
		}
		if len(ids) == 0 && len(req.Filters) == 0 && len(req.TagSet) == 0 && req.Independent == nil && cmp.Or(trimmed(req.OrderField), "create_time") == "create_time" {
			page, total, err = pageByCreation[model.Proxy](tx, store.Query{}, offset, limit, desc)
			return err
		}
		all, _, err := resource.List[model.Proxy](tx, store.Query{IDs: ids})
		if err != nil {
			return err
		}
		want := tagsIn(req.TagSet)
		all = slices.DeleteFunc(all, func(p *model.Proxy) bool { return !proxyMatches(p, req, want) })
		sortBy(all, proxyOrder[cmp.Or(trimmed(req.OrderField), "create_time")], desc)
		total = len(all)
		page = resource.Window(all, offset, limit)
		return nil
	})
	if err != nil {
		return nil, err
	}
	set := make([]gaapapi.ProxyInfo, len(page))
	for i, p := range page {
		set[i] = s.proxyInfo(p, related[p.ID], policies[p.GroupID], call.Language)
	}
	return &gaapapi.DescribeProxiesResponse{TotalCount: new(int64(total)), InstanceSet: set, ProxySet: set}, nil
}

// describedProxyIDs merges ProxyIds and InstanceIds as every action taking
// both does (model.ProxyIDs: trimmed, without duplicates, at most 100
// distinct); none given is none, which lists every proxy.
func describedProxyIDs(req *gaapapi.DescribeProxiesRequest) ([]string, error) {
	if len(req.ProxyIds) == 0 && len(req.InstanceIds) == 0 {
		return nil, nil
	}
	return model.ProxyIDs(req.InstanceIds, req.ProxyIds)
}

func checkProxyQuery(req *gaapapi.DescribeProxiesRequest, ids []string) error {
	switch {
	case len(ids) > 0 && len(req.Filters) > 0:
		// InvalidParameter.ConflictParameters would say it better, but
		// DescribeProxies' error list names only InvalidParameter.
		return apierr.New(apierr.InvalidParameter, "ProxyIds (InstanceIds) and Filters cannot be combined")
	case len(req.TagSet) > maxTagFilters:
		return apierr.New(apierr.InvalidParameterValue, "at most %d tags may be given in TagSet", maxTagFilters)
	case req.Order != nil && *req.Order != "asc" && *req.Order != "desc":
		return apierr.New(apierr.InvalidParameterValue, "Order must be asc or desc")
	case req.OrderField != nil && proxyOrder[*req.OrderField] == nil:
		return apierr.New(apierr.InvalidParameterValue, "OrderField must be create_time, proxy_id, bandwidth or concurrent_connections")
	case req.Independent != nil && *req.Independent != 0 && *req.Independent != 1:
		return apierr.New(apierr.InvalidParameterValue, "Independent must be 0 or 1")
	}
	return checkFilters(req.Filters, proxyFilters)
}

// checkFilters enforces the documented filter names and counts.
func checkFilters[T any](filters []gaapapi.Filter, known map[string]T) error {
	if len(filters) > maxFilters {
		return apierr.New(apierr.InvalidParameterValue, "at most %d Filters may be given", maxFilters)
	}
	for i, f := range filters {
		if _, ok := known[trimmed(f.Name)]; !ok {
			return apierr.New(apierr.InvalidParameterValue, "Filters.%d.Name %q is not a supported filter", i, trimmed(f.Name))
		}
		if len(f.Values) == 0 || len(f.Values) > maxFilterValues {
			return apierr.New(apierr.InvalidParameterValue, "Filters.%d.Values must hold 1 to %d values", i, maxFilterValues)
		}
	}
	return nil
}

// foldFilters name the filters whose field a value names in any case: an
// enum the create actions take in any case (model.ParseIPVersion,
// ParsePackageType), or a global domain's FullDomain and DefaultValue,
// domain names (RFC 4343 §2: compared without case) stored lower-case, or
// IP addresses.
var foldFilters = map[string]bool{"IPAddressVersion": true, "PackageType": true, "FullDomain": true, "DefaultValue": true}

// filtersMatch reports whether obj passes filters (checked by checkFilters
// against fields, which gives each name's field): filters are ANDed, the
// values of one ORed, and a value matches a field it equals, or names by
// model.SameEnum for foldFilters.
func filtersMatch[T any](filters []gaapapi.Filter, fields map[string]func(T) string, obj T) bool {
	for _, f := range filters {
		name := trimmed(f.Name)
		field := fields[name](obj)
		match := func(v string) bool { return v == field }
		if foldFilters[name] {
			match = func(v string) bool { return model.SameEnum(v, field) }
		}
		if !slices.ContainsFunc(f.Values, match) {
			return false
		}
	}
	return true
}

func proxyMatches(p *model.Proxy, req *gaapapi.DescribeProxiesRequest, want []model.Tag) bool {
	if req.Independent != nil && (*req.Independent == 1) != (p.GroupID == "") {
		return false
	}
	return filtersMatch(req.Filters, proxyFilters, p) && model.MatchesAny(p.Tags, want)
}

// DescribeProxyDetail returns one proxy.
func (s *Service) DescribeProxyDetail(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeProxyDetailRequest) (*gaapapi.DescribeProxyDetailResponse, error) {
	var p *model.Proxy
	var related map[string][]string
	var policy string
	err := s.view(ctx, call, func(tx *resource.Tx) (err error) {
		if p, err = proxyParam(tx, req.ProxyId); err != nil {
			return err
		}
		// One proxy: its group's policy is one read, not a list of groups.
		if policy, err = proxyPolicy(tx, p); err != nil {
			return err
		}
		related, err = relatedGlobalDomains(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	info := s.proxyInfo(p, related[p.ID], policy, call.Language)
	return &gaapapi.DescribeProxyDetailResponse{ProxyDetail: &info}, nil
}

// relatedGlobalDomains maps each of the caller's proxies to the global
// domains (FullDomain) whose DNS records resolve to it.
func relatedGlobalDomains(tx *resource.Tx) (map[string][]string, error) {
	all, _, err := resource.List[model.GlobalDomain](tx, store.Query{})
	related := map[string][]string{}
	for _, g := range all {
		for _, id := range g.ProxyIDs() {
			related[id] = append(related[id], g.FullDomain)
		}
	}
	return related, err
}

// proxyTypeThunder is ProxyInfo.ProxyType of a standard (THUNDER) proxy,
// which every opengaap proxy is; 103, the other documented value, is
// Tencent's Microsoft partnership proxy. Not to be confused with
// ProxyGroupInfo.ProxyType, a 0/1 "holds Microsoft proxies" flag.
const proxyTypeThunder int64 = 100

// proxyInfo renders a proxy as ProxyInfo, under its old and new ID names;
// related are the global domains resolving to it, groupPolicy the policy
// it falls back to (its group's), lang the call's Language (region names).
func (s *Service) proxyInfo(p *model.Proxy, related []string, groupPolicy, lang string) gaapapi.ProxyInfo {
	info := gaapapi.ProxyInfo{
		InstanceId: new(p.ID), ProxyId: new(p.ID), CreateTime: new(p.CreateTime), ProjectId: new(p.ProjectID),
		ProxyName: new(p.Name), AccessRegion: new(p.AccessRegion), RealServerRegion: new(p.RealServerRegion),
		Bandwidth: new(p.Bandwidth), Concurrent: new(p.Concurrent), Status: new(shown(s, p.Status, model.ProxyRunning, model.ProxyCreating, p.ID)), Domain: new(p.Domain),
		IP: new(p.IP), ForwardIP: new(s.cfg.forwardIP()), Version: new("2.0"), Scalarable: new(int64(1)), SupportProtocols: []string{"TCP", "UDP", "HTTP", "HTTPS"},
		TagSet: tagsOut(p.Tags), SupportSecurity: new(int64(1)), BillingType: new(p.BillingType),
		ModifyConfigTime: new(p.ModifyConfigTime), ProxyType: new(proxyTypeThunder), ClientIPMethod: s.cfg.clientIPMethods(p.IPAddressVersion),
		IPAddressVersion: new(p.IPAddressVersion), NetworkType: new(p.NetworkType), PackageType: new(p.PackageType),
		BanStatus: new(banStatus(p)), Http3Supported: new(p.Http3Supported), InBanBlacklist: new(int64(0)),
		FeatureBitmap: new(p.Features()), RelatedGlobalDomains: append([]string{}, related...), IsAutoScaleProxy: new(int64(0)), IsSupportTLSChoice: new(int64(1)),
		IPList:               []gaapapi.IPDetail{{IP: new(p.IP), Provider: new("BGP"), Bandwidth: new(p.Bandwidth)}},
		AccessRegionInfo:     s.regionInfo(p.AccessRegion, lang, true),
		RealServerRegionInfo: s.regionInfo(p.RealServerRegion, lang, false),
	}
	if p.GroupID != "" {
		info.GroupId = new(p.GroupID)
	}
	// A member's own policy, else its group's, which the data plane
	// enforces on it (controller: a member's policy falls back to the group's).
	if policy := cmp.Or(p.PolicyID, groupPolicy); policy != "" {
		info.PolicyId = new(policy)
	}
	return info
}

// groupPolicies maps the caller's proxy groups to their security policy
// ("" for none).
func groupPolicies(tx *resource.Tx) (map[string]string, error) {
	groups, _, err := resource.List[model.ProxyGroup](tx, store.Query{})
	out := make(map[string]string, len(groups))
	for _, g := range groups {
		out[g.ID] = g.PolicyID
	}
	return out, err
}
