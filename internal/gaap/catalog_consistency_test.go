package gaap_test

import (
	"testing"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

// TestOriginRegionSpellingAgreesAcrossActions: CheckProxyCreate and
// InquiryPriceCreateProxy say whether (and at what price) CreateProxy can
// create a configuration, so every action reads RealServerRegion alike: a
// region ID with a space in it is no region, for CreateProxy (which once
// trimmed it and created the proxy) as for the others.
func TestOriginRegionSpellingAgreesAcrossActions(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	cfg := map[string]any{"AccessRegion": "SouthChina", "RealServerRegion": " NorthChina", "Bandwidth": 10, "Concurrent": 2}

	create := map[string]any{"ProjectId": 0, "ProxyName": "spaced"}
	for k, v := range cfg {
		create[k] = v
	}
	wantCode(t, api.Call(c, "CreateProxy", create, &struct{}{}), "InvalidParameterValue")
	wantCode(t, api.Call(c, "CheckProxyCreate", cfg, &struct{}{}), "InvalidParameterValue.UnknownDestRegion")
	_, err := inquire(api, c, map[string]any{"RealServerRegion": " NorthChina"})
	wantCode(t, err, "InvalidParameterValue.UnknownDestRegion")
	group := map[string]any{"ProjectId": 0, "GroupName": "g", "RealServerRegion": " NorthChina",
		"AccessRegionSet": []map[string]any{{"AccessRegion": "EastChina", "Bandwidth": 10, "Concurrent": 2}}}
	wantCode(t, api.Call(c, "CreateProxyGroup", group, &struct{}{}), "InvalidParameterValue")
}

// TestStatisticsListingsRefuseBadProject: ProjectId is -1 (every
// project) or a project ID in every listing (projectQuery); the statistics
// listings once read -5 as a project and answered an empty list, so a
// caller's typo read as "no proxies".
func TestStatisticsListingsRefuseBadProject(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	wantCode(t, api.Call(c, "DescribeProxyGroupList", map[string]any{"ProjectId": -5, "Offset": 0, "Limit": 20}, &struct{}{}), "InvalidParameterValue")
	for action, params := range map[string]map[string]any{
		"DescribeProxyAndStatisticsListeners": {"ProjectId": -5},
		"DescribeGroupAndStatisticsProxy":     {"ProjectId": -5},
		"DescribeGlobalDomains":               {"ProjectId": -5, "Offset": 0, "Limit": 20},
		"DescribeRealServers":                 {"ProjectId": -5},
	} {
		err := api.Call(c, action, params, &struct{}{})
		if err == nil {
			t.Errorf("%s(ProjectId -5) answered a list; want InvalidParameterValue as DescribeProxyGroupList answers", action)
			continue
		}
		wantCode(t, err, "InvalidParameterValue")
	}
}

// TestBandwidthGradientFollowsRegionFactor: a quote for one pair of
// regions prices both billing types for that pair: the bandwidth gradient
// is scaled by the regions' price factors as the traffic price is (it was
// once the mainland list price everywhere).
func TestBandwidthGradientFollowsRegionFactor(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	price := func(access, dest string, billing int) priceOut {
		t.Helper()
		out, err := inquire(api, c, map[string]any{"AccessRegion": access, "RealServerRegion": dest, "BillingType": billing})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	home, abroad := price("SouthChina", "NorthChina", 1), price("Japan", "Europe", 1)
	flowRatio := *abroad.FlowUnitPrice / *home.FlowUnitPrice
	homeBW, abroadBW := price("SouthChina", "NorthChina", 0), price("Japan", "Europe", 0)
	bwRatio := abroadBW.BandwidthUnitPrice[0].BandwidthUnitPrice / homeBW.BandwidthUnitPrice[0].BandwidthUnitPrice
	if flowRatio != bwRatio {
		t.Errorf("Japan->Europe vs SouthChina->NorthChina: traffic price x%.2f (%v vs %v per GB) but bandwidth gradient x%.2f (%v vs %v per Mbps)",
			flowRatio, *abroad.FlowUnitPrice, *home.FlowUnitPrice, bwRatio,
			abroadBW.BandwidthUnitPrice[0].BandwidthUnitPrice, homeBW.BandwidthUnitPrice[0].BandwidthUnitPrice)
	}
}

// TestRegionAreaNameFollowsLanguage: an English caller gets the area's
// name in English, as the region's (it once came in Chinese beside an
// English RegionName).
func TestRegionAreaNameFollowsLanguage(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	cpf := api.Profile()
	cpf.Language = "en-US"
	en, err := gaapsdk.NewClient(common.NewCredential(xtest.Root.SecretID, xtest.Root.SecretKey), "ap-guangzhou", cpf)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		AccessRegionSet []struct{ RegionId, RegionName, RegionAreaName string }
	}
	if err := api.Call(en, "DescribeAccessRegions", map[string]any{}, &out); err != nil {
		t.Fatal(err)
	}
	for _, r := range out.AccessRegionSet {
		for _, ch := range r.RegionAreaName {
			if ch > 0x2e80 {
				t.Errorf("en-US: %s RegionName %q but RegionAreaName %q", r.RegionId, r.RegionName, r.RegionAreaName)
				break
			}
		}
	}
}
