package gaap

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
)

// findRegion looks id up in set.
func findRegion(set []Region, id string) *Region {
	i := slices.IndexFunc(set, func(r Region) bool { return r.ID == id })
	if i < 0 {
		return nil
	}
	return &set[i]
}

// accessRegion returns the access region id, or
// InvalidParameterValue.UnknownAccessRegion where action's error list
// names it, else InvalidParameterValue.
func (c *Config) accessRegion(action, id string) (*Region, error) {
	if r := findRegion(c.AccessRegions, id); r != nil {
		return r, nil
	}
	return nil, apierr.New(listedCode(action, apierr.InvalidParameterValueUnknownAccessRegion, apierr.InvalidParameterValue),
		"AccessRegion %q is not an access region; DescribeAccessRegions lists them", id)
}

// destRegion returns the origin region id, or
// InvalidParameterValue.UnknownDestRegion where action's error list names
// it, else InvalidParameterValue.
func (c *Config) destRegion(action, id string) (*Region, error) {
	if r := findRegion(c.DestRegions, id); r != nil {
		return r, nil
	}
	return nil, apierr.New(listedCode(action, apierr.InvalidParameterValueUnknownDestRegion, apierr.InvalidParameterValue),
		"RealServerRegion %q is not an origin region; DescribeDestRegions lists them", id)
}

// checkBandwidth checks that the access region offers the bandwidth cap
// v: InvalidParameterValue.InvalidBandwidth where action's error list
// names it, else InvalidParameterValue.
func (c *Config) checkBandwidth(action string, access *Region, v int64) error {
	code := listedCode(action, apierr.InvalidParameterValueInvalidBandwidth, apierr.InvalidParameterValue)
	return model.ValidateOption(code, "Bandwidth", v, c.bandwidthOptions(access))
}

// checkConcurrent is checkBandwidth for the concurrency cap
// (InvalidParameterValue.InvalidConcurrency where listed).
func (c *Config) checkConcurrent(action string, access *Region, v int64) error {
	code := listedCode(action, apierr.InvalidParameterValueInvalidConcurrency, apierr.InvalidParameterValue)
	return model.ValidateOption(code, "Concurrent", v, c.concurrentOptions(access))
}

// bandwidthOptions are the bandwidth caps offered in an access region.
func (c *Config) bandwidthOptions(access *Region) []int64 {
	if access != nil && len(access.BandwidthOptions) > 0 {
		return access.BandwidthOptions
	}
	return c.BandwidthOptions
}

// concurrentOptions are the concurrency caps offered in an access region.
func (c *Config) concurrentOptions(access *Region) []int64 {
	if access != nil && len(access.ConcurrentOptions) > 0 {
		return access.ConcurrentOptions
	}
	return c.ConcurrentOptions
}

// name picks the display name for the caller's language (Chinese unless
// the call asked for English, as Tencent's console does).
func (r *Region) name(lang string) string { return inLanguage(lang, r.Name, r.NameEn) }

// areaName is name for the region's area.
func (r *Region) areaName(lang string) string { return inLanguage(lang, r.AreaName, r.AreaNameEn) }

func inLanguage(lang, zh, en string) string {
	if strings.HasPrefix(lang, "en") && en != "" {
		return en
	}
	return zh
}

// offers reports whether the region can host a proxy of this IP version
// and package (the region half of DescribeAccessRegionsByDestRegion).
func (r *Region) offers(ipVersion, pkg string, access bool) bool {
	if ipVersion == model.AddrIPv6 && !r.IPv6 {
		return false
	}
	if pkg == model.PackageCrossBorder {
		// Cross-border: clients in mainland China, origins outside it.
		return r.Mainland == access
	}
	return true
}

// offersNetwork reports whether proxies of network type nt can be
// accessed in the region; a region listing no network types offers all.
func (r *Region) offersNetwork(nt string) bool {
	return len(r.NetworkTypes) == 0 || slices.Contains(r.NetworkTypes, nt)
}

// features is the region's FeatureBitmap, derived from the settings that
// decide what CreateProxy accepts there (IPv6, NetworkTypes) so that the
// bitmap clients offer options from cannot contradict it. Every region
// forwards layer 4 and layer 7 and gives IPv4 proxies HTTP/3 (http3For);
// access QoS is a Tencent service opengaap does not have.
func (r *Region) features() int64 {
	f := model.FeatureL4 | model.FeatureL7 | model.FeatureHTTP3
	if r.offers(model.AddrIPv6, model.PackageThunder, true) {
		f |= model.FeatureIPv6
	}
	if r.offersNetwork(model.NetworkCN2) {
		f |= model.FeatureCN2
	}
	if r.offersNetwork(model.NetworkTriple) {
		f |= model.FeatureTriple
	}
	return f
}

// detail converts a catalogue region to the wire RegionDetail.
func (r *Region) detail(lang string) *gaapapi.RegionDetail {
	d := &gaapapi.RegionDetail{
		RegionId: new(r.ID), RegionName: new(r.name(lang)), RegionArea: new(r.Area),
		RegionAreaName: new(r.areaName(lang)), IDCType: new(cmp.Or(r.IDCType, "dc")), FeatureBitmap: new(r.features()),
	}
	if len(r.NetworkTypes) > 0 {
		d.SupportFeature = &gaapapi.SupportFeature{NetworkType: slices.Clone(r.NetworkTypes)}
	}
	return d
}

// regionInfo is the RegionDetail of a stored region ID for a response
// (ProxyInfo.AccessRegionInfo, RealServerRegionInfo, groups). A region the
// operator has since removed from the catalogue still gets its ID back.
func (s *Service) regionInfo(id, lang string, access bool) *gaapapi.RegionDetail {
	set := s.cfg.DestRegions
	if access {
		set = s.cfg.AccessRegions
	}
	if r := findRegion(set, id); r != nil {
		return r.detail(lang)
	}
	return &gaapapi.RegionDetail{RegionId: new(id), RegionName: new(id)}
}

// regionDetails converts the regions of set that pass keep.
func regionDetails(set []Region, lang string, keep func(*Region) bool) []gaapapi.RegionDetail {
	out := []gaapapi.RegionDetail{}
	for i := range set {
		if keep == nil || keep(&set[i]) {
			out = append(out, *set[i].detail(lang))
		}
	}
	return out
}

// DescribeAccessRegions lists the access regions of the catalogue.
func (s *Service) DescribeAccessRegions(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeAccessRegionsRequest) (*gaapapi.DescribeAccessRegionsResponse, error) {
	set := regionDetails(s.cfg.AccessRegions, call.Language, nil)
	return &gaapapi.DescribeAccessRegionsResponse{TotalCount: new(int64(len(set))), AccessRegionSet: set}, nil
}

// DescribeDestRegions lists the origin regions. QualityType 0 (gold, the
// default) lists all of them; 1 (silver, Accelerator packages) lists those
// offering plain BGP.
func (s *Service) DescribeDestRegions(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeDestRegionsRequest) (*gaapapi.DescribeDestRegionsResponse, error) {
	var keep func(*Region) bool
	if req.QualityType != nil {
		switch *req.QualityType {
		case 0:
		case 1:
			keep = func(r *Region) bool { return r.offersNetwork(model.NetworkNormal) }
		default:
			return nil, cloudapi.Invalid("QualityType", "%d is not 0 (gold) or 1 (silver)", *req.QualityType)
		}
	}
	set := regionDetails(s.cfg.DestRegions, call.Language, keep)
	return &gaapapi.DescribeDestRegionsResponse{TotalCount: new(int64(len(set))), DestRegionSet: set}, nil
}

// DescribeAccessRegionsByDestRegion lists the access regions that can
// reach an origin region, with the bandwidth and concurrency options each
// offers.
func (s *Service) DescribeAccessRegionsByDestRegion(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeAccessRegionsByDestRegionRequest) (*gaapapi.DescribeAccessRegionsByDestRegionResponse, error) {
	dest, err := s.cfg.destRegion(call.Action, *req.DestRegion)
	if err != nil {
		return nil, err
	}
	ipv, err := model.ParseIPVersion(req.IPAddressVersion)
	if err != nil {
		return nil, err
	}
	pkg, err := model.ParsePackageType(req.PackageType)
	if err != nil {
		return nil, err
	}
	out := []gaapapi.AccessRegionDetial{}
	if dest.offers(ipv, pkg, false) {
		for i := range s.cfg.AccessRegions {
			if a := &s.cfg.AccessRegions[i]; a.offers(ipv, pkg, true) {
				out = append(out, s.accessRegionDetail(a, call.Language))
			}
		}
	}
	return &gaapapi.DescribeAccessRegionsByDestRegionResponse{TotalCount: new(int64(len(out))), AccessRegionSet: out}, nil
}

func (s *Service) accessRegionDetail(a *Region, lang string) gaapapi.AccessRegionDetial {
	d := a.detail(lang)
	return gaapapi.AccessRegionDetial{
		RegionId: d.RegionId, RegionName: d.RegionName, RegionArea: d.RegionArea, RegionAreaName: d.RegionAreaName,
		IDCType: d.IDCType, FeatureBitmap: d.FeatureBitmap,
		ConcurrentList: slices.Clone(s.cfg.concurrentOptions(a)), BandwidthList: slices.Clone(s.cfg.bandwidthOptions(a)),
	}
}

// DescribeCountryAreaMapping returns the country/area table.
func (s *Service) DescribeCountryAreaMapping(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeCountryAreaMappingRequest) (*gaapapi.DescribeCountryAreaMappingResponse, error) {
	out := make([]gaapapi.CountryAreaMap, 0, len(s.cfg.Countries))
	for _, c := range s.cfg.Countries {
		out = append(out, gaapapi.CountryAreaMap{
			NationCountryName: new(c.Name), NationCountryInnerCode: new(c.Code),
			GeographicalZoneName: new(c.ZoneName), GeographicalZoneInnerCode: new(c.ZoneCode),
			ContinentName: new(c.ContinentName), ContinentInnerCode: new(c.ContinentCode), Remark: new(c.Remark),
		})
	}
	return &gaapapi.DescribeCountryAreaMappingResponse{CountryAreaMappingList: out}, nil
}

// country looks a NationCountryInnerCode up.
func (c *Config) country(code string) *Country {
	i := slices.IndexFunc(c.Countries, func(x Country) bool { return x.Code == code })
	if i < 0 {
		return nil
	}
	return &c.Countries[i]
}
