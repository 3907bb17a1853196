package gaap_test

import (
	"slices"
	"testing"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

// regionOut is RegionDetail / AccessRegionDetial as sent (the SDK version
// lacks most fields).
type regionOut struct {
	RegionId, RegionName, RegionArea, IDCType string
	FeatureBitmap                             int64
	SupportFeature                            *struct{ NetworkType []string }
	BandwidthList, ConcurrentList             []int64
}

type regionList struct {
	TotalCount                     int
	AccessRegionSet, DestRegionSet []regionOut
}

func regionIDs(set []regionOut) []string {
	var ids []string
	for _, r := range set {
		ids = append(ids, r.RegionId)
	}
	return ids
}

// accessRegions is DescribeAccessRegions' answer to client c.
func accessRegions(t *testing.T, api *xtest.API, c *gaapsdk.Client) regionList {
	t.Helper()
	var out regionList
	if err := api.Call(c, "DescribeAccessRegions", nil, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRegionCatalogue(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()

	access := accessRegions(t, api, c)
	if access.TotalCount != len(access.AccessRegionSet) || !slices.Contains(regionIDs(access.AccessRegionSet), "SouthChina") {
		t.Fatalf("DescribeAccessRegions: total %d, regions %v; want SouthChina among them", access.TotalCount, regionIDs(access.AccessRegionSet))
	}
	south := access.AccessRegionSet[slices.Index(regionIDs(access.AccessRegionSet), "SouthChina")]
	if south.RegionArea != "SouthChina" || south.IDCType != "dc" || south.SupportFeature == nil || !slices.Contains(south.SupportFeature.NetworkType, "cn2") {
		t.Errorf("SouthChina = %+v; want area SouthChina, dc, cn2 supported", south)
	}

	dest, err := c.DescribeDestRegions(gaapsdk.NewDescribeDestRegionsRequest())
	if err != nil {
		t.Fatal(err)
	}
	if n := *dest.Response.TotalCount; n != uint64(len(dest.Response.DestRegionSet)) || n < 10 {
		t.Errorf("DescribeDestRegions total %d for %d regions; want >= 10, equal", n, len(dest.Response.DestRegionSet))
	}
	wantCode(t, api.Call(c, "DescribeDestRegions", map[string]any{"QualityType": 2}, &struct{}{}), "InvalidParameterValue")

	byDest := func(params map[string]any) []regionOut {
		t.Helper()
		var out regionList
		if err := api.Call(c, "DescribeAccessRegionsByDestRegion", params, &out); err != nil {
			t.Fatal(err)
		}
		return out.AccessRegionSet
	}
	all := byDest(map[string]any{"DestRegion": "Hongkong"})
	ch := all[slices.Index(regionIDs(all), "Chongqing")]
	if !slices.Equal(ch.BandwidthList, []int64{10, 20, 50, 100, 200, 500, 1000}) || ch.ConcurrentList[0] != 2 {
		t.Errorf("Chongqing options: bandwidth %v concurrency %v", ch.BandwidthList, ch.ConcurrentList)
	}
	cross := byDest(map[string]any{"DestRegion": "Hongkong", "PackageType": "CrossBorder"})
	if len(cross) == 0 || slices.Contains(regionIDs(cross), "Japan") || len(cross) >= len(all) {
		t.Errorf("cross-border access regions into Hongkong = %v; want mainland ones only", regionIDs(cross))
	}
	if got := byDest(map[string]any{"DestRegion": "SouthChina", "PackageType": "CrossBorder"}); len(got) != 0 {
		t.Errorf("cross-border into SouthChina = %v; want none", regionIDs(got))
	}
	wantCode(t, api.Call(c, "DescribeAccessRegionsByDestRegion", map[string]any{"DestRegion": "Atlantis"}, &struct{}{}),
		"InvalidParameterValue.UnknownDestRegion")
	wantCode(t, api.Call(c, "DescribeAccessRegionsByDestRegion", map[string]any{"DestRegion": "Hongkong", "PackageType": "Boat"}, &struct{}{}),
		"InvalidParameterValue")

	countries, err := c.DescribeCountryAreaMapping(gaapsdk.NewDescribeCountryAreaMappingRequest())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(countries.Response.CountryAreaMappingList, func(m *gaapsdk.CountryAreaMap) bool { return *m.NationCountryName == "Fiji Islands" })
	if i < 0 || len(countries.Response.CountryAreaMappingList) < 50 {
		t.Fatalf("country table of %d rows without Fiji Islands", len(countries.Response.CountryAreaMappingList))
	}
	if f := countries.Response.CountryAreaMappingList[i]; *f.NationCountryInnerCode != "401012" || *f.ContinentInnerCode != "400000" {
		t.Errorf("Fiji Islands = %s in continent %s; want 401012 in 400000", *f.NationCountryInnerCode, *f.ContinentInnerCode)
	}
}

// TestRegionFeatureBitmapMatchesOffer: a region's FeatureBitmap (bit 4,
// 8, "支持IPv6"; bit 5, 16, "支持精品BGP接入") agrees with what
// CheckProxyCreate (and so CreateProxy) accepts there and with the
// region's SupportFeature.NetworkType: clients such as the console offer
// IPv6 and premium BGP from the bitmap.
func TestRegionFeatureBitmapMatchesOffer(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPIWith(t, xtest.WithIPv6Pool)
	c := api.GAAP()
	access := accessRegions(t, api, c)
	accepts := func(region string, params map[string]any) bool {
		t.Helper()
		p := map[string]any{"AccessRegion": region, "RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}
		for k, v := range params {
			p[k] = v
		}
		var out struct{ CheckFlag int64 }
		if err := api.Call(c, "CheckProxyCreate", p, &out); err != nil {
			t.Fatalf("CheckProxyCreate(%v): %v", p, err)
		}
		return out.CheckFlag == 1
	}
	// A mainland region (IPv6 and cn2), Hongkong (IPv6 only) and an
	// overseas one (neither); more would hit the rate limit.
	for _, id := range []string{"SouthChina", "Hongkong", "Japan"} {
		i := slices.Index(regionIDs(access.AccessRegionSet), id)
		if i < 0 {
			t.Fatalf("DescribeAccessRegions lacks %s", id)
		}
		r := access.AccessRegionSet[i]
		var nets []string
		if r.SupportFeature != nil {
			nets = r.SupportFeature.NetworkType
		}
		if adv, ok := r.FeatureBitmap&8 != 0, accepts(id, map[string]any{"IPAddressVersion": "IPv6"}); adv != ok {
			t.Errorf("%s: FeatureBitmap %d says IPv6 %v; CheckProxyCreate IPv6 accepted %v", id, r.FeatureBitmap, adv, ok)
		}
		adv, ok := r.FeatureBitmap&16 != 0, accepts(id, map[string]any{"NetworkType": "cn2"})
		if adv != ok || adv != slices.Contains(nets, "cn2") {
			t.Errorf("%s: FeatureBitmap %d says cn2 %v; CheckProxyCreate cn2 accepted %v; SupportFeature.NetworkType %v",
				id, r.FeatureBitmap, adv, ok, nets)
		}
	}
}

type priceOut struct {
	ProxyDailyPrice, DiscountProxyDailyPrice float64
	FlowUnitPrice                            *float64
	Cn2BandwidthPrice                        float64
	Currency                                 string
	BandwidthUnitPrice                       []struct {
		BandwidthRange     []int64
		BandwidthUnitPrice float64
	}
	DestRegionSet []regionOut
}

func TestInquiryPriceCreateProxy(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPIWith(t, xtest.WithIPv6Pool)
	c := api.GAAP()
	tests := []struct {
		name   string
		params map[string]any
		daily  float64
		code   string
	}{
		{"reference example", map[string]any{}, 80.64, ""},
		{"old parameter names", map[string]any{"Concurrent": nil, "Concurrency": 2, "RealServerRegion": nil, "DestRegion": "NorthChina"}, 80.64, ""},
		{"overseas access", map[string]any{"AccessRegion": "Hongkong"}, 120.96, ""},
		{"both concurrency names disagree", map[string]any{"Concurrency": 5}, 0, "InvalidParameter"},
		{"no concurrency", map[string]any{"Concurrent": nil}, 0, "MissingParameter"},
		{"no origin region", map[string]any{"RealServerRegion": nil}, 0, "MissingParameter"},
		{"unknown access region", map[string]any{"AccessRegion": "Atlantis"}, 0, "InvalidParameterValue.UnknownAccessRegion"},
		{"bandwidth not offered", map[string]any{"Bandwidth": 7}, 0, "InvalidParameterValue.InvalidBandwidth"},
		{"concurrency not offered", map[string]any{"Concurrent": 3}, 0, "InvalidParameterValue.InvalidConcurrency"},
		{"bad billing type", map[string]any{"BillingType": 2}, 0, "InvalidParameterValue"},
		// What CreateProxy refuses (and CheckProxyCreate answers 0 for) has
		// no price: a CrossBorder proxy within the mainland.
		{"not creatable", map[string]any{"PackageType": "CrossBorder"}, 0, "InvalidParameterValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := inquire(api, c, tc.params)
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.ProxyDailyPrice != tc.daily || out.Currency != "CNY" || len(out.BandwidthUnitPrice) != 5 || out.FlowUnitPrice != nil {
				t.Errorf("got daily %v %s, %d tiers, flow %v; want %v CNY, 5 tiers, no flow price",
					out.ProxyDailyPrice, out.Currency, len(out.BandwidthUnitPrice), out.FlowUnitPrice, tc.daily)
			}
		})
	}
	t.Run("traffic billing on cn2", func(t *testing.T) {
		out, err := inquire(api, c, map[string]any{"BillingType": 1, "NetworkType": "cn2"})
		if err != nil {
			t.Fatal(err)
		}
		// Cn2BandwidthPrice is 元/Mbps/天, a unit price: 1.5 whatever the
		// Bandwidth (it was multiplied by it).
		if out.FlowUnitPrice == nil || len(out.BandwidthUnitPrice) != 0 || out.Cn2BandwidthPrice != 1.5 {
			t.Errorf("flow %v, %d tiers, cn2 %v; want a flow price, no tiers, cn2 1.5 per Mbps", out.FlowUnitPrice, len(out.BandwidthUnitPrice), out.Cn2BandwidthPrice)
		}
	})
	t.Run("region and price", func(t *testing.T) {
		var out priceOut
		if err := api.Call(c, "DescribeRegionAndPrice", map[string]any{"IPAddressVersion": "IPv6"}, &out); err != nil {
			t.Fatal(err)
		}
		ids := regionIDs(out.DestRegionSet)
		if !slices.Contains(ids, "Hongkong") || slices.Contains(ids, "Japan") || len(out.BandwidthUnitPrice) != 5 || out.Currency != "CNY" {
			t.Errorf("IPv6 origin regions %v, %d tiers, currency %q; want Hongkong without Japan, 5 tiers, CNY", ids, len(out.BandwidthUnitPrice), out.Currency)
		}
	})
}

// inquire prices the reference example's configuration changed by params
// (a nil value removes a parameter).
func inquire(api *xtest.API, c *gaapsdk.Client, params map[string]any) (priceOut, error) {
	p := map[string]any{"AccessRegion": "SouthChina", "RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}
	for k, v := range params {
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	var out priceOut
	err := api.Call(c, "InquiryPriceCreateProxy", p, &out)
	return out, err
}

// TestProxyRegionNameFollowsLanguage: a proxy's AccessRegionInfo and
// RealServerRegionInfo name their regions in the call's Language, as
// DescribeAccessRegions does (docs/api-proxies.md: Chinese unless Language
// starts with "en"; the README's client snippet sets en-US).
func TestProxyRegionNameFollowsLanguage(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	id := runningProxy(t, api) // SouthChina -> NorthChina
	cpf := api.Profile()
	cpf.Language = "en-US"
	en, err := gaapsdk.NewClient(common.NewCredential(xtest.Root.SecretID, xtest.Root.SecretKey), "ap-guangzhou", cpf)
	if err != nil {
		t.Fatal(err)
	}
	regions := accessRegions(t, api, en)
	var wantName, wantDest string
	for _, r := range regions.AccessRegionSet {
		if r.RegionId == "SouthChina" {
			wantName = r.RegionName
		}
	}
	var dests regionList
	if err := api.Call(en, "DescribeDestRegions", nil, &dests); err != nil {
		t.Fatal(err)
	}
	for _, r := range dests.DestRegionSet {
		if r.RegionId == "NorthChina" {
			wantDest = r.RegionName
		}
	}
	if wantName == "" || wantDest == "" {
		t.Fatal("no SouthChina in DescribeAccessRegions or no NorthChina in DescribeDestRegions")
	}

	req := gaapsdk.NewDescribeProxiesRequest()
	req.ProxyIds = []*string{&id}
	resp, err := en.DescribeProxies(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := *resp.Response.ProxySet[0].AccessRegionInfo.RegionName; got != wantName {
		t.Errorf("DescribeProxies (en-US) AccessRegionInfo.RegionName = %q; want %q as DescribeAccessRegions (en-US) answers", got, wantName)
	}
	if got := *resp.Response.ProxySet[0].RealServerRegionInfo.RegionName; got != wantDest {
		t.Errorf("DescribeProxies (en-US) RealServerRegionInfo.RegionName = %q; want %q as DescribeDestRegions (en-US) answers", got, wantDest)
	}
	d := gaapsdk.NewDescribeProxyDetailRequest()
	d.ProxyId = &id
	dr, err := en.DescribeProxyDetail(d)
	if err != nil {
		t.Fatal(err)
	}
	if got := *dr.Response.ProxyDetail.AccessRegionInfo.RegionName; got != wantName {
		t.Errorf("DescribeProxyDetail (en-US) AccessRegionInfo.RegionName = %q; want %q", got, wantName)
	}
}
