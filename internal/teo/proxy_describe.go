package teo

import (
	"context"
	"slices"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

const maxDescribeL4 = 1000

// proxyFilters maps DescribeL4Proxy filter names to the values they test.
// ddos-protection-type matches either level (PLATFORM, ANYCAST300, ...).
var proxyFilters = map[string]func(p *model.TeoL4Proxy) []string{
	"proxy-id":             func(p *model.TeoL4Proxy) []string { return []string{p.ID} },
	"ddos-protection-type": func(p *model.TeoL4Proxy) []string { return []string{p.DDoS.Mainland(), p.DDoS.Overseas()} },
}

// DescribeL4Proxy lists the L4 proxies of a zone, oldest first.
func (s *Service) DescribeL4Proxy(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeL4ProxyRequest) (*teoapi.DescribeL4ProxyResponse, error) {
	offset, limit, err := pagingZeroDefault(req.Offset, req.Limit, maxDescribeL4)
	if err != nil {
		return nil, err
	}
	fs := plainFilters(req.Filters)
	if err := checkFilters(fs, "proxy-id", "ddos-protection-type"); err != nil {
		return nil, err
	}
	var page []*model.TeoL4Proxy
	var total int
	counts := map[string]int{}
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		if _, err := zoneOf(tx, cloudapi.Value(req.ZoneId)); err != nil {
			return err
		}
		all, err := resource.Children[model.TeoL4Proxy](tx, cloudapi.Value(req.ZoneId))
		if err != nil {
			return err
		}
		all = slices.DeleteFunc(all, func(p *model.TeoL4Proxy) bool { return !matchAll(fs, proxyFilters, p) })
		total, page = len(all), resource.Window(all, offset, limit)
		return countRules(tx, page, counts)
	})
	if err != nil {
		return nil, err
	}
	out := make([]teoapi.L4Proxy, 0, len(page))
	for _, p := range page {
		out = append(out, proxyInfo(p, counts[p.ID]))
	}
	return &teoapi.DescribeL4ProxyResponse{TotalCount: new(int64(total)), L4Proxies: out}, nil
}

// countRules counts the rules of each proxy in one query.
func countRules(tx *resource.Tx, proxies []*model.TeoL4Proxy, counts map[string]int) error {
	if len(proxies) == 0 {
		return nil
	}
	ids := make([]string, len(proxies))
	for i, p := range proxies {
		ids[i] = p.ID
	}
	rules, _, err := resource.List[model.TeoL4Rule](tx, store.Query{Parents: ids})
	for _, r := range rules {
		counts[r.ProxyID]++
	}
	return err
}

// proxyInfo is the wire form of a proxy. Cname is the access IP itself
// (opengaap runs no DNS; an IP literal resolves to itself everywhere); Ips
// lists it only when StaticIp is on, as documented. DDosProtectionConfig
// is left out for a proxy created without one (TeoL4Proxy.DDoSShown) and
// otherwise echoes what was given, the PLATFORM defaults filled in.
func proxyInfo(p *model.TeoL4Proxy, rules int) teoapi.L4Proxy {
	ips := []string{}
	if p.StaticIP == model.TeoOn {
		ips = append(ips, p.IP)
	}
	var d *teoapi.DDosProtectionConfig
	if p.DDoSShown() {
		d = &teoapi.DDosProtectionConfig{LevelMainland: new(p.DDoS.LevelMainland),
			MaxBandwidthMainland: new(p.DDoS.MaxBandwidthMainland), LevelOverseas: new(p.DDoS.LevelOverseas)}
	}
	return teoapi.L4Proxy{
		ZoneId: new(p.ZoneID), ProxyId: new(p.ID), ProxyName: new(p.Name), Area: new(p.Area),
		Cname: new(p.IP), Ips: ips, Status: new(p.Status), Ipv6: new(p.Ipv6), StaticIp: new(p.StaticIP),
		AccelerateMainland: new(p.AccelerateMainland), DDosProtectionConfig: d,
		L4ProxyRuleCount: new(int64(rules)), UpdateTime: isoTime(p.UpdateTime),
	}
}
