package gaap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// The nearest-access domain of a group (deprecated at Tencent, still
// served): a DNS name that resolves, by the client's country, to the
// proxy of the access region configured for it, else to DefaultDnsIp.

// CreateProxyGroupDomain gives a group its access domain (groupDomain).
// A group that has one keeps it. A DefaultDnsIp set before must not lead
// back to the new name: the account's defaults may have changed since
// ModifyGroupDomainConfig checked it.
func (s *Service) CreateProxyGroupDomain(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateProxyGroupDomainRequest) (*gaapapi.CreateProxyGroupDomainResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		g, err := liveGroup(tx, req.GroupId)
		if err != nil || g.Domain != "" {
			return err
		}
		if err := checkGroupDefault(tx, s.groupDomain(g), g.DnsDefaultIP); err != nil {
			return err
		}
		g.Domain = s.groupDomain(g)
		return tx.Put(g)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateProxyGroupDomainResponse{GroupId: req.GroupId}, nil
}

// groupDomain is the group's access domain: the one it has, else the one
// CreateProxyGroupDomain gives it, <group-id>.<DomainSuffix>.
func (s *Service) groupDomain(g *model.ProxyGroup) string {
	if g.Domain != "" {
		return g.Domain
	}
	return g.ID + "." + s.cfg.DomainSuffix
}

// checkGroupDefault refuses a group default dflt that leads back to the
// group's domain through the account's domains (model.DefaultEntries).
func checkGroupDefault(tx *resource.Tx, domain, dflt string) error {
	if dflt == "" {
		return nil
	}
	entries, err := defaultEntries(tx)
	if err != nil {
		return err
	}
	return entries.CheckLoop("DefaultDnsIp", domain, dflt)
}

// liveGroup loads the group a request's GroupId names (loadGroup) when it
// is not being destroyed.
func liveGroup(tx *resource.Tx, groupID *string) (*model.ProxyGroup, error) {
	g, _, err := loadGroup(tx, groupID)
	if err == nil && g.Status == model.GroupDestroying {
		err = apierr.New(notRunningCode(tx.Action, apierr.FailedOperationGroupStatusNotInRuning), "group %s is being destroyed", g.ID)
	}
	return g, err
}

// ModifyGroupDomainConfig sets the default answer and the country lists of
// the group's access regions (replacing the previous configuration).
func (s *Service) ModifyGroupDomainConfig(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyGroupDomainConfigRequest) (*gaapapi.ModifyGroupDomainConfigResponse, error) {
	// The group's default answer is checked like a global domain's.
	dflt, err := model.ParseGlobalTarget("DefaultDnsIp", *req.DefaultDnsIp)
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		g, err := liveGroup(tx, req.GroupId)
		if err != nil {
			return err
		}
		// Nor may it lead back to the group's own domain, or the one
		// CreateProxyGroupDomain will give it: a CNAME loop.
		if err := checkGroupDefault(tx, s.groupDomain(g), dflt); err != nil {
			return err
		}
		proxies, err := resource.Children[model.Proxy](tx, g.ID)
		if err != nil {
			return err
		}
		conf, err := s.domainConfig(req.AccessRegionList, model.Members(proxies))
		if err != nil {
			return err
		}
		g.DnsDefaultIP, g.DnsDefaultIPAsGiven, g.DomainConfig = dflt, strings.TrimSpace(*req.DefaultDnsIp), conf
		return tx.Put(g)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyGroupDomainConfigResponse{}, nil
}

// domainConfig validates AccessRegionList: each region is the access
// region of one of the group's members, listed once; each country code is in
// the mapping table and routed to one region only.
func (s *Service) domainConfig(list []gaapapi.AccessRegionDomainConf, proxies []*model.Proxy) ([]model.GroupDomainConf, error) {
	out := make([]model.GroupDomainConf, 0, len(list))
	seen := map[string]string{} // country → region
	for i, c := range list {
		field := fmt.Sprintf("AccessRegionList.%d.", i)
		region := trimmed(c.RegionId)
		if !slices.ContainsFunc(proxies, func(p *model.Proxy) bool { return p.AccessRegion == region }) {
			return nil, cloudapi.Invalid(field+"RegionId", "no proxy of the group is in access region %q", region)
		}
		if slices.ContainsFunc(out, func(o model.GroupDomainConf) bool { return o.AccessRegion == region }) {
			return nil, cloudapi.Invalid(field+"RegionId", "%s is listed twice", region)
		}
		for _, code := range c.NationCountryInnerList {
			if s.cfg.country(code) == nil {
				return nil, cloudapi.Invalid(field+"NationCountryInnerList", "%q is not a country code of DescribeCountryAreaMapping", code)
			}
			if prev, dup := seen[code]; dup {
				return nil, cloudapi.Invalid(field+"NationCountryInnerList", "country %s is already routed to %s", code, prev)
			}
			seen[code] = region
		}
		out = append(out, model.GroupDomainConf{AccessRegion: region, NationCountryInnerCodes: slices.Clone(c.NationCountryInnerList)})
	}
	return out, nil
}

// DescribeGroupDomainConfig returns the nearest-access configuration: one
// entry per access region of the group's members (model.Members).
func (s *Service) DescribeGroupDomainConfig(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeGroupDomainConfigRequest) (*gaapapi.DescribeGroupDomainConfigResponse, error) {
	var g *model.ProxyGroup
	var proxies []*model.Proxy
	err := s.view(ctx, call, func(tx *resource.Tx) (err error) {
		g, proxies, err = loadGroup(tx, req.GroupId)
		return err
	})
	if err != nil {
		return nil, err
	}
	proxies = model.Members(proxies)
	var regions []string
	for _, p := range proxies {
		if !slices.Contains(regions, p.AccessRegion) {
			regions = append(regions, p.AccessRegion)
		}
	}
	list := make([]gaapapi.DomainAccessRegionDict, 0, len(regions))
	for _, r := range regions {
		list = append(list, s.regionDict(g, r, proxies, call.Language))
	}
	return &gaapapi.DescribeGroupDomainConfigResponse{
		AccessRegionList: list, DefaultDnsIp: new(g.ShownDnsDefaultIP()), GroupId: new(g.ID),
		AccessRegionCount: new(int64(len(list))),
	}, nil
}

// regionDict is the entry of one access region.
func (s *Service) regionDict(g *model.ProxyGroup, region string, proxies []*model.Proxy, lang string) gaapapi.DomainAccessRegionDict {
	d := gaapapi.DomainAccessRegionDict{RegionId: new(region), RegionName: new(region),
		NationCountryInnerList: []gaapapi.NationCountryInnerInfo{}, ProxyList: []gaapapi.ProxyIdDict{}}
	if r := findRegion(s.cfg.AccessRegions, region); r != nil {
		d.RegionName, d.GeographicalZoneInnerCode, d.ContinentInnerCode = new(r.name(lang)), new(r.ZoneCode), new(r.ContinentCode)
	}
	for _, p := range proxies {
		if p.AccessRegion == region {
			d.ProxyList = append(d.ProxyList, gaapapi.ProxyIdDict{ProxyId: new(p.ID)})
		}
	}
	for _, c := range g.DomainConfig {
		if c.AccessRegion != region {
			continue
		}
		for _, code := range c.NationCountryInnerCodes {
			name := code
			if ct := s.cfg.country(code); ct != nil {
				name = ct.Name
			}
			d.NationCountryInnerList = append(d.NationCountryInnerList, gaapapi.NationCountryInnerInfo{NationCountryName: new(name), NationCountryInnerCode: new(code)})
		}
	}
	return d
}
