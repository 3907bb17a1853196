package gaap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/gaap"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// writeConfigFile writes body as a --gaap-config file.
func writeConfigFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gaap.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// configRefused fails unless LoadConfig refuses body with an error naming
// field. It returns the path, for an e2e start on it when it was accepted.
func configRefused(t *testing.T, body, field string) (path string, accepted bool) {
	t.Helper()
	path = writeConfigFile(t, body)
	_, err := gaap.LoadConfig(path)
	switch {
	case err == nil:
		t.Errorf("LoadConfig(%s) succeeded; want it refused at start, naming %q", body, field)
		return path, true
	case !strings.Contains(err.Error(), field):
		t.Errorf("LoadConfig(%s): %v; want the error to name %q", body, err, field)
	}
	return path, false
}

// createProxyRaw creates a proxy from raw parameters.
func createProxyRaw(api *xtest.API, params map[string]any) (string, error) {
	p := map[string]any{"ProjectId": 0, "ProxyName": "p", "RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}
	for k, v := range params {
		p[k] = v
	}
	var out struct{ InstanceId string }
	err := api.Call(api.GAAP(), "CreateProxy", p, &out)
	return out.InstanceId, err
}

// TestConfigNegativeMaxProxiesPerGroup: maxProxiesPerGroup below 1 is
// refused at start; -1 loaded and then refused every CreateProxyGroup.
func TestConfigNegativeMaxProxiesPerGroup(t *testing.T) {
	t.Parallel()
	path, accepted := configRefused(t, `{"maxProxiesPerGroup":-1}`, "maxProxiesPerGroup")
	if !accepted {
		return
	}
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.GAAPConfig = path })
	set := []map[string]any{{"AccessRegion": "SouthChina", "Bandwidth": 10, "Concurrent": 2}}
	var out struct{ GroupId string }
	err := api.Call(api.GAAP(), "CreateProxyGroup", map[string]any{"ProjectId": 0, "GroupName": "g",
		"RealServerRegion": "NorthChina", "AccessRegionSet": set}, &out)
	t.Errorf("with that catalogue, CreateProxyGroup of one proxy: %v", err)
}

// TestConfigUnknownNetworkType: a region's networkTypes hold the
// reference's values only; a misspelt one was advertised and then refused
// every CreateProxy in the region.
func TestConfigUnknownNetworkType(t *testing.T) {
	t.Parallel()
	path, accepted := configRefused(t, `{"accessRegions":[{"id":"Moon","name":"月球","area":"Space","areaName":"太空","networkTypes":["CN2"]}]}`, "networkTypes")
	if !accepted {
		return
	}
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.GAAPConfig = path })
	regions := accessRegions(t, api, api.GAAP())
	t.Logf("DescribeAccessRegions: %+v", regions.AccessRegionSet[0])
	for _, nt := range []any{nil, "normal", "cn2", "CN2"} {
		p := map[string]any{"AccessRegion": "Moon"}
		if nt != nil {
			p["NetworkType"] = nt
		}
		if _, err := createProxyRaw(api, p); err != nil {
			t.Errorf("region Moon advertised with NetworkType %v: CreateProxy NetworkType=%v: %v", regions.AccessRegionSet[0].SupportFeature.NetworkType, nt, err)
		}
	}
}

// TestConfigIDCType: idcType is dc or ec, refused otherwise at start, and
// a region without one reads dc in DescribeAccessRegions as in
// DescribeGlobalDomainDns.
func TestConfigIDCType(t *testing.T) {
	t.Parallel()
	configRefused(t, `{"accessRegions":[{"id":"Moon","name":"月球","area":"Space","areaName":"太空","idcType":"datacentre"}]}`, "idcType")

	path := writeConfigFile(t, `{"accessRegions":[{"id":"Moon","name":"月球","area":"Space","areaName":"太空"}]}`)
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.GAAPConfig = path })
	regions := accessRegions(t, api, api.GAAP())
	dns := accessIdcType(t, api, "Moon")
	if got := regions.AccessRegionSet[0].IDCType; got != dns {
		t.Errorf("region Moon (no idcType in the catalogue): DescribeAccessRegions IDCType %q, DescribeGlobalDomainDns SourceRegionIdcType %q; want the same (dc)", got, dns)
	}
}

// TestConfigCountryTable: a country code twice, empty or not digits is
// refused at start (listed, it was then refused by CreateGlobalDomainDns).
func TestConfigCountryTable(t *testing.T) {
	t.Parallel()
	configRefused(t, `{"countries":[{"code":"101001","name":"A","zoneCode":"101000"},{"code":"101001","name":"B","zoneCode":"101000"}]}`, "101001")
	configRefused(t, `{"countries":[{"code":"","name":"Nowhere","zoneCode":"301000"}]}`, "code")
	path, accepted := configRefused(t, `{"countries":[{"code":"US","name":"United States","zoneCode":"301000","zoneName":"North America","continentCode":"300000","continentName":"North America"}]}`, "US")
	if !accepted {
		return
	}
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.GAAPConfig = path })
	c := api.GAAP()
	px := runningProxy(t, api)
	var gd struct{ DomainId string }
	if err := api.Call(c, "CreateGlobalDomain", map[string]any{"ProjectId": 0, "DefaultValue": "1.2.3.4"}, &gd); err != nil {
		t.Fatal(err)
	}
	err := api.Call(c, "CreateGlobalDomainDns", map[string]any{"DomainId": gd.DomainId, "ProxyIdList": []string{px},
		"NationCountryInnerCodes": []string{"US"}}, nil)
	if err != nil {
		t.Errorf("CreateGlobalDomainDns with US, the only code DescribeCountryAreaMapping lists: %v", err)
	}
}

// TestConfigZeroOptions: bandwidth and concurrency options below 1 are
// refused at start (advertised, then refused by CreateProxy).
func TestConfigZeroOptions(t *testing.T) {
	t.Parallel()
	configRefused(t, `{"concurrentOptions":[-2,2]}`, "concurrentOptions")
	configRefused(t, `{"accessRegions":[{"id":"Moon","name":"月球","area":"Space","areaName":"太空","bandwidthOptions":[0]}]}`, "bandwidthOptions")
	path, accepted := configRefused(t, `{"bandwidthOptions":[0,10],"concurrentOptions":[0,2]}`, "Options")
	if !accepted {
		return
	}
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.GAAPConfig = path })
	var regions regionList
	if err := api.Call(api.GAAP(), "DescribeAccessRegionsByDestRegion", map[string]any{"DestRegion": "NorthChina"}, &regions); err != nil {
		t.Fatal(err)
	}
	r := regions.AccessRegionSet[0]
	_, err := createProxyRaw(api, map[string]any{"AccessRegion": r.RegionId, "Bandwidth": r.BandwidthList[0], "Concurrent": r.ConcurrentList[0]})
	t.Errorf("%s offers BandwidthList %v ConcurrentList %v; CreateProxy with the first of each: %v", r.RegionId, r.BandwidthList, r.ConcurrentList, err)
}

// TestConfigPrices: negative or unbounded prices and factors are refused
// at start (a quote of -90 a day; InternalError for 1e308).
func TestConfigPrices(t *testing.T) {
	t.Parallel()
	configRefused(t, `{"prices":{"currency":"CNY","perMbps":1,"discount":-1}}`, "discount")
	configRefused(t, `{"accessRegions":[{"id":"Moon","name":"月球","area":"Space","areaName":"太空","priceFactor":-2}]}`, "priceFactor")
	neg, negAccepted := configRefused(t, `{"prices":{"currency":"CNY","base":-100,"perMbps":1}}`, "base")
	huge, hugeAccepted := configRefused(t, `{"prices":{"currency":"CNY","perMbps":1e308,"flowPerGB":1}}`, "perMbps")
	quote := func(path string) (map[string]any, error) {
		api := xtest.StartAPIWith(t, func(o *server.Options) { o.GAAPConfig = path })
		var out map[string]any
		err := api.Call(api.GAAP(), "InquiryPriceCreateProxy", map[string]any{"AccessRegion": "SouthChina",
			"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}, &out)
		return out, err
	}
	if negAccepted {
		out, err := quote(neg)
		t.Errorf("base -100: InquiryPriceCreateProxy = ProxyDailyPrice %v (err %v); a price list cannot pay the buyer", out["ProxyDailyPrice"], err)
	}
	if hugeAccepted {
		out, err := quote(huge)
		t.Errorf("perMbps 1e308: InquiryPriceCreateProxy = %v, err %v", out["ProxyDailyPrice"], err)
	}
}

// TestConfigTrailingData: a stray closing bracket after the value, and
// anything after it, is refused (jsonstrict let it through).
func TestConfigTrailingData(t *testing.T) {
	t.Parallel()
	configRefused(t, `{"maxProxiesPerGroup":5}]`, "after")
	configRefused(t, `{"maxProxiesPerGroup":5}}`, "after")
}

// TestConfigCountriesAloneLoad: a file that replaces only the country table
// loads, whatever zones the built-in regions name (a check of regions'
// zone codes against the table refused it, naming a region the file does
// not hold).
func TestConfigCountriesAloneLoad(t *testing.T) {
	t.Parallel()
	path := writeConfigFile(t, `{"countries":[{"code":"101001","name":"A","zoneCode":"999000"}]}`)
	if _, err := gaap.LoadConfig(path); err != nil {
		t.Errorf("a file with a country table alone: %v; want it loaded", err)
	}
}
