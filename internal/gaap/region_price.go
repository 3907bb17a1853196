package gaap

import (
	"context"
	"math"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
)

// factor reads a multiplier where 0 means "unset" (1).
func factor(f float64) float64 {
	if f == 0 {
		return 1
	}
	return f
}

// cents rounds a price to two decimals, as prices are shown.
func cents(v float64) *float64 { return new(math.Round(v*100) / 100) }

// tiers converts the bandwidth price gradient, scaled by a region pair's
// factor f (1 for the list price), with discount applied.
func (p *Prices) tiers(f float64) []gaapapi.BandwidthPriceGradient {
	out := make([]gaapapi.BandwidthPriceGradient, 0, len(p.BandwidthTiers))
	for _, t := range p.BandwidthTiers {
		out = append(out, gaapapi.BandwidthPriceGradient{
			BandwidthRange:             []int64{t.From, t.To},
			BandwidthUnitPrice:         cents(t.Price * f),
			DiscountBandwidthUnitPrice: cents(t.Price * f * factor(p.Discount)),
		})
	}
	return out
}

// quote prices a validated spec.
func (p *Prices) quote(sp proxySpec, access, dest *Region) *gaapapi.InquiryPriceCreateProxyResponse {
	f := factor(access.PriceFactor) * factor(dest.PriceFactor)
	daily := (p.Base + p.PerMbps*float64(sp.Bandwidth) + p.PerConcurrent*float64(sp.Concurrent)) * f
	d := factor(p.Discount)
	resp := &gaapapi.InquiryPriceCreateProxyResponse{
		ProxyDailyPrice: cents(daily), DiscountProxyDailyPrice: cents(daily * d),
		Currency: new(p.Currency), Cn2BandwidthPrice: cents(0), Cn2BandwidthPriceWithDiscount: cents(0),
	}
	// Bandwidth billing charges usage by the gradient; traffic billing by GB.
	if sp.BillingType == model.BillingTraffic {
		resp.FlowUnitPrice, resp.DiscountFlowUnitPrice = cents(p.FlowPerGB*f), cents(p.FlowPerGB*f*d)
	} else {
		resp.BandwidthUnitPrice = p.tiers(f)
	}
	if sp.NetworkType == model.NetworkCN2 {
		cn2 := p.Cn2PerMbps * f // 元/Mbps/天: a unit price, as BandwidthUnitPrice.
		resp.Cn2BandwidthPrice, resp.Cn2BandwidthPriceWithDiscount = cents(cn2), cents(cn2*d)
	}
	return resp
}

// oldOrNew reads a parameter known under an old and a new name; both
// given with different values is an error, neither is MissingParameter.
func oldOrNew[T comparable](oldName string, old *T, newName string, cur *T) (T, error) {
	var zero T
	switch {
	case old == nil && cur == nil:
		return zero, cloudapi.Missing(newName + " (or the older " + oldName + ")")
	case old != nil && cur != nil && *old != *cur:
		return zero, apierr.New(apierr.InvalidParameter, "%s and %s disagree; give one", newName, oldName)
	case cur != nil:
		return *cur, nil
	}
	return *old, nil
}

// InquiryPriceCreateProxy prices a proxy configuration from the operator's
// price list.
func (s *Service) InquiryPriceCreateProxy(ctx context.Context, call *cloudapi.Call, req *gaapapi.InquiryPriceCreateProxyRequest) (*gaapapi.InquiryPriceCreateProxyResponse, error) {
	dest, err := oldOrNew("DestRegion", req.DestRegion, "RealServerRegion", req.RealServerRegion)
	if err != nil {
		return nil, err
	}
	conc, err := oldOrNew("Concurrency", req.Concurrency, "Concurrent", req.Concurrent)
	if err != nil {
		return nil, err
	}
	sp, err := newProxySpec(*req.AccessRegion, dest, *req.Bandwidth, conc, req.IPAddressVersion, req.NetworkType, req.PackageType, req.BillingType)
	if err != nil {
		return nil, err
	}
	// What cannot be created (CreateProxy, CheckProxyCreate) has no price.
	a, d, err := s.cfg.validateProxySpec(call.Action, sp)
	if err != nil {
		return nil, err
	}
	return s.cfg.Prices.quote(sp, a, d), nil
}

// DescribeRegionAndPrice lists the origin regions offering the IP version
// and package, with the bandwidth price gradient.
func (s *Service) DescribeRegionAndPrice(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeRegionAndPriceRequest) (*gaapapi.DescribeRegionAndPriceResponse, error) {
	ipv, err := model.ParseIPVersion(req.IPAddressVersion)
	if err != nil {
		return nil, err
	}
	pkg, err := model.ParsePackageType(req.PackageType)
	if err != nil {
		return nil, err
	}
	set := regionDetails(s.cfg.DestRegions, call.Language, func(r *Region) bool { return r.offers(ipv, pkg, false) })
	return &gaapapi.DescribeRegionAndPriceResponse{
		TotalCount: new(int64(len(set))), DestRegionSet: set,
		BandwidthUnitPrice: s.cfg.Prices.tiers(1), Currency: new(s.cfg.Prices.Currency),
	}, nil
}
