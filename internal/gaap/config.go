package gaap

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/opengaap/opengaap/internal/jsonstrict"
	"github.com/opengaap/opengaap/internal/model"
)

// Config is the operator's configuration of the GAAP service. Every field
// has a built-in default (withDefaults), so an empty Config is a working
// service; an operator overrides parts of it with a JSON file (LoadConfig).
// Region catalogues, option lists and prices are data here, never answers
// hard-coded in handlers.
type Config struct {
	// Caps are what the operator's flags allow and the data plane can
	// do, set by the server at start, not by the file.
	Caps model.Capabilities `json:"-"`
	// ForwardIPs are the addresses origins see the proxies connect from
	// (ProxyInfo.ForwardIP, for origins' allow-lists). The host's routing
	// picks them, so only the operator knows them; none by default.
	ForwardIPs []string `json:"forwardIPs,omitempty"`
	// DomainSuffix is appended to generated access domains
	// (link-xxxxxxxx.<suffix>).
	DomainSuffix string `json:"domainSuffix"`

	// AccessRegions are where clients connect (DescribeAccessRegions).
	AccessRegions []Region `json:"accessRegions,omitempty"`
	// DestRegions are where origins live (DescribeDestRegions).
	DestRegions []Region `json:"destRegions,omitempty"`
	// BandwidthOptions (Mbps) and ConcurrentOptions (units of 10,000
	// connections) are the values a proxy may be created or scaled to,
	// unless its access region lists its own.
	BandwidthOptions  []int64 `json:"bandwidthOptions,omitempty"`
	ConcurrentOptions []int64 `json:"concurrentOptions,omitempty"`
	// Countries is the nearest-access mapping table
	// (DescribeCountryAreaMapping, ModifyGroupDomainConfig).
	Countries []Country `json:"countries,omitempty"`
	// Prices drive InquiryPriceCreateProxy and DescribeRegionAndPrice.
	Prices *Prices `json:"prices,omitempty"`
	// AuthSignature controls DescribeAuthSignature.
	AuthSignature *AuthSignature `json:"authSignature,omitempty"`
	// MaxProxiesPerGroup bounds the proxies of one group
	// (FailedOperation.LimitNumofProxiesInGroup).
	MaxProxiesPerGroup int `json:"maxProxiesPerGroup,omitempty"`
	// Warnings are what LoadConfig accepted but ignores (retired fields),
	// for the server to log once at start.
	Warnings []string `json:"-"`
}

// clientIPMethods are the ClientIPMethod values proxies and groups of
// ipVersion offer (ProxyInfo, ProxyGroupDetail): Proxy Protocol always,
// TOA where the data plane writes it and the clients are IPv4
// (owner.checkTOA).
func (c Config) clientIPMethods(ipVersion string) []int64 {
	if c.Caps.TOA && ipVersion != model.AddrIPv6 {
		return []int64{model.ClientIPTOA, model.ClientIPProxyProtocol}
	}
	return []int64{model.ClientIPProxyProtocol}
}

// forwardIP renders ForwardIPs as ProxyInfo.ForwardIP spells them
// ("a;b;"), empty but never null when none is configured: clients such
// as the Terraform provider refuse a proxy whose ForwardIP is null.
func (c Config) forwardIP() string {
	var b strings.Builder
	for _, ip := range c.ForwardIPs {
		b.WriteString(ip)
		b.WriteByte(';')
	}
	return b.String()
}

// Region is one access or origin region of the catalogue.
type Region struct {
	ID string `json:"id"`
	// Name is the Chinese display name, NameEn the English one; the
	// response carries the one matching the call's Language. So for the
	// area's name.
	Name       string `json:"name"`
	NameEn     string `json:"nameEn,omitempty"`
	Area       string `json:"area"`
	AreaName   string `json:"areaName"`
	AreaNameEn string `json:"areaNameEn,omitempty"`
	// IDCType is dc (data centre) or ec (edge computing node).
	IDCType string `json:"idcType,omitempty"`
	// NetworkTypes the region supports (normal, cn2, triple, secure_eip);
	// none listed means all. With IPv6 they decide what CreateProxy
	// accepts in the region and its FeatureBitmap (Region.features).
	NetworkTypes []string `json:"networkTypes,omitempty"`
	// IPv6 reports whether proxies with IPAddressVersion IPv6 can be made.
	IPv6 bool `json:"ipv6,omitempty"`
	// Mainland marks regions in mainland China: a CrossBorder proxy
	// goes from a mainland access region to a non-mainland origin region.
	Mainland bool `json:"mainland,omitempty"`
	// ZoneCode and ContinentCode place an access region in the country
	// table (DescribeGroupDomainConfig).
	ZoneCode      string `json:"zoneCode,omitempty"`
	ContinentCode string `json:"continentCode,omitempty"`
	// BandwidthOptions and ConcurrentOptions override the global lists
	// for proxies accessed in this region.
	BandwidthOptions  []int64 `json:"bandwidthOptions,omitempty"`
	ConcurrentOptions []int64 `json:"concurrentOptions,omitempty"`
	// PriceFactor multiplies the daily configuration fee of proxies
	// accessed in (or forwarding to) this region; 0 means 1.
	PriceFactor float64 `json:"priceFactor,omitempty"`
	// RetiredFeatureBitmap is the featureBitmap the previous release
	// configured. It is derived now (Region.features); a catalogue that
	// still sets it loads, so an upgrade keeps starting, and LoadConfig
	// clears it with a warning.
	RetiredFeatureBitmap json.RawMessage `json:"featureBitmap,omitempty"`
}

// Country is one row of the country/area mapping table.
type Country struct {
	Code          string `json:"code"` // NationCountryInnerCode
	Name          string `json:"name"`
	ZoneCode      string `json:"zoneCode"`
	ZoneName      string `json:"zoneName"`
	ContinentCode string `json:"continentCode"`
	ContinentName string `json:"continentName"`
	Remark        string `json:"remark,omitempty"`
}

// Prices is the price list. The daily configuration fee of a proxy is
// (Base + PerMbps×Bandwidth + PerConcurrent×Concurrent) × region factors.
type Prices struct {
	Currency      string  `json:"currency"`
	Base          float64 `json:"base"`          // per day
	PerMbps       float64 `json:"perMbps"`       // per Mbps of the cap, per day
	PerConcurrent float64 `json:"perConcurrent"` // per 10,000 connections, per day
	// Discount multiplies list prices into the Discount* outputs; 0 means 1.
	Discount float64 `json:"discount,omitempty"`
	// BandwidthTiers are the usage prices of bandwidth billing.
	BandwidthTiers []PriceTier `json:"bandwidthTiers"`
	// FlowPerGB is the usage price of traffic billing.
	FlowPerGB float64 `json:"flowPerGB"`
	// Cn2PerMbps is the extra price of premium (cn2) bandwidth per Mbps per day.
	Cn2PerMbps float64 `json:"cn2PerMbps"`
}

// PriceTier is a bandwidth range [From, To) (To -1 = unbounded) and its
// price per Mbps per day.
type PriceTier struct {
	From  int64   `json:"from"`
	To    int64   `json:"to"`
	Price float64 `json:"price"`
}

// AuthSignature configures the billing-signature service. When Disabled,
// DescribeAuthSignature answers UnsupportedOperation, as an installation
// without billing would.
type AuthSignature struct {
	Disabled bool `json:"disabled"`
}

// LoadConfig reads an operator configuration file (JSON, fields as in
// Config). Absent fields keep their defaults; unknown fields are an error so
// that a typo is not silently ignored.
func LoadConfig(path string) (Config, error) {
	var c Config
	f, err := os.Open(path)
	if err != nil {
		return c, err
	}
	defer f.Close()
	if err := jsonstrict.Decode(f, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.withDefaults().validate(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	var retired []string
	for _, rs := range [][]Region{c.AccessRegions, c.DestRegions} {
		for i := range rs {
			if rs[i].RetiredFeatureBitmap != nil {
				retired = append(retired, rs[i].ID)
				rs[i].RetiredFeatureBitmap = nil
			}
		}
	}
	if len(retired) > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("config %s: featureBitmap of regions %s is retired and ignored: "+
			"a region's FeatureBitmap is derived from its networkTypes and ipv6 (docs/api-proxies.md)", path, strings.Join(retired, ", ")))
	}
	return c, nil
}

// withoutIPv6 is c with no region offering IPv6, for a server without an
// IPv6 access-IP pool: CreateProxy and CreateProxyGroup then refuse IPv6
// proxies as in a region without IPv6, CheckProxyCreate answers 0 and the
// regions' FeatureBitmap and DescribeAccessRegionsByDestRegion do not
// advertise it.
func (c Config) withoutIPv6() Config {
	strip := func(rs []Region) []Region {
		rs = slices.Clone(rs)
		for i := range rs {
			rs[i].IPv6 = false
		}
		return rs
	}
	c.AccessRegions, c.DestRegions = strip(c.AccessRegions), strip(c.DestRegions)
	return c
}

func (c Config) withDefaults() Config {
	if c.DomainSuffix == "" {
		c.DomainSuffix = "gaap.opengaap.local"
	}
	if c.AccessRegions == nil {
		c.AccessRegions = defaultAccessRegions()
	}
	if c.DestRegions == nil {
		c.DestRegions = defaultDestRegions()
	}
	if c.BandwidthOptions == nil {
		c.BandwidthOptions = []int64{10, 20, 50, 100, 200, 500, 1000}
	}
	if c.ConcurrentOptions == nil {
		c.ConcurrentOptions = []int64{2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	}
	if c.Countries == nil {
		c.Countries = defaultCountries()
	}
	if c.Prices == nil {
		c.Prices = defaultPrices()
	}
	if c.AuthSignature == nil {
		c.AuthSignature = &AuthSignature{}
	}
	if c.MaxProxiesPerGroup == 0 {
		c.MaxProxiesPerGroup = 20
	}
	return c
}

// validate rejects catalogues that would make handlers misbehave.
func (c Config) validate() error {
	for _, set := range [][]Region{c.AccessRegions, c.DestRegions} {
		seen := map[string]bool{}
		for _, r := range set {
			if r.ID == "" || seen[r.ID] {
				return fmt.Errorf("region id %q is empty or repeated", r.ID)
			}
			seen[r.ID] = true
		}
	}
	if len(c.BandwidthOptions) == 0 || len(c.ConcurrentOptions) == 0 {
		return fmt.Errorf("bandwidthOptions and concurrentOptions must not be empty")
	}
	// What an API call would trip over later, a proxy at a time, is
	// refused at start, naming the field.
	if err := positive("bandwidthOptions", c.BandwidthOptions); err != nil {
		return err
	}
	if err := positive("concurrentOptions", c.ConcurrentOptions); err != nil {
		return err
	}
	if c.MaxProxiesPerGroup < 1 {
		return fmt.Errorf("maxProxiesPerGroup %d: a group holds at least one proxy", c.MaxProxiesPerGroup)
	}
	seen := map[string]bool{}
	for _, k := range c.Countries {
		if _, err := strconv.ParseUint(k.Code, 10, 32); err != nil || seen[k.Code] {
			return fmt.Errorf("countries: code %q is empty, not digits (NationCountryInnerCode) or repeated", k.Code)
		}
		seen[k.Code] = true
	}
	for _, set := range [][]Region{c.AccessRegions, c.DestRegions} {
		for _, r := range set {
			if err := r.validate(); err != nil {
				return fmt.Errorf("region %s: %w", r.ID, err)
			}
		}
	}
	if err := c.Prices.validate(); err != nil {
		return fmt.Errorf("prices: %w", err)
	}
	// Every proxy's and group's domain is <id>.<domainSuffix>.
	if strings.HasSuffix(c.DomainSuffix, ".") || !model.IsHostName("link-00000000."+c.DomainSuffix) {
		return fmt.Errorf("domainSuffix %q: not a DNS name (dot-separated labels of letters, digits and -, without a trailing dot)", c.DomainSuffix)
	}
	for _, ip := range c.ForwardIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf("forwardIPs: %w", err)
		}
	}
	return nil
}

// defaultPrices are list prices in CNY modelled on the reference's
// examples (10 Mbps and 20,000 connections cost 80.64 per day).
func defaultPrices() *Prices {
	return &Prices{
		Currency: "CNY", PerMbps: 5.04, PerConcurrent: 15.12, Discount: 1,
		BandwidthTiers: []PriceTier{{0, 20, 130}, {20, 100, 90}, {100, 500, 70}, {500, 2000, 60}, {2000, -1, 50}},
		FlowPerGB:      0.8, Cn2PerMbps: 1.5,
	}
}

// positive refuses a list of options with one below 1.
func positive(field string, opts []int64) error {
	for _, o := range opts {
		if o < 1 {
			return fmt.Errorf("%s: %d is no value a proxy can take", field, o)
		}
	}
	return nil
}

// validate checks a region of the catalogue. (Its zoneCode is not held to
// the country table: a file that replaces the table alone would refuse the
// built-in regions, and a zone of no country only leaves the region out of
// the nearest-access mapping.)
func (r Region) validate() error {
	if r.IDCType != "" && r.IDCType != "dc" && r.IDCType != "ec" {
		return fmt.Errorf("idcType %q is not dc or ec", r.IDCType)
	}
	for _, n := range r.NetworkTypes { // The reference's values (DescribeAccessRegions).
		if !slices.Contains([]string{model.NetworkNormal, model.NetworkCN2, model.NetworkTriple, "secure_eip"}, n) {
			return fmt.Errorf("networkTypes: %q is not normal, cn2, triple or secure_eip", n)
		}
	}
	if err := positive("bandwidthOptions", r.BandwidthOptions); err != nil {
		return err
	}
	if err := positive("concurrentOptions", r.ConcurrentOptions); err != nil {
		return err
	}
	if r.PriceFactor < 0 || !finite(r.PriceFactor) {
		return fmt.Errorf("priceFactor %v is negative", r.PriceFactor)
	}
	return nil
}

// maxPrice bounds a price figure: quotes multiply them by bandwidth,
// concurrency and days, which must stay finite (1e308 answered
// InternalError).
const maxPrice = 1e9

// validate refuses a negative or unbounded figure.
func (p *Prices) validate() error {
	figures := map[string]float64{"base": p.Base, "perMbps": p.PerMbps, "perConcurrent": p.PerConcurrent,
		"discount": p.Discount, "flowPerGB": p.FlowPerGB, "cn2PerMbps": p.Cn2PerMbps}
	for i, t := range p.BandwidthTiers {
		figures[fmt.Sprintf("bandwidthTiers.%d.price", i)] = t.Price
	}
	for _, name := range slices.Sorted(maps.Keys(figures)) {
		if v := figures[name]; v < 0 || v > maxPrice || !finite(v) {
			return fmt.Errorf("%s %v is not a price from 0 to %g", name, v, float64(maxPrice))
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }
