package model

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/opengaap/opengaap/internal/apierr"
)

// KindVpc is the stored kind of Vpc.
const KindVpc = "vpc"

// PrefixVpc is the ID prefix of VPCs (vpc-xxxxxxxx).
const PrefixVpc = "vpc"

// VPC limits and defaults.
const (
	MaxVpcs           = 20 // per account, Tencent's default per-region quota
	MaxVpcNameLen     = 60 // characters
	MaxVpcDNSServers  = 4
	DefaultVpcName    = "Default-VPC"
	DefaultVpcCidr    = "172.16.0.0/16"
	maxVpcTags        = 50
	maxVpcTagKeyLen   = 127
	maxVpcTagValueLen = 255
)

// DefaultDNSServers are the resolvers a VPC gets when none are given;
// Tencent's public intranet resolvers, which its own VPCs report.
var DefaultDNSServers = []string{"183.60.83.19", "183.60.82.98"}

// Vpc is a private network. In opengaap it exists to own traffic mirrors
// (a mirror is created "in" a VPC); nothing is routed through it, so its
// CIDR and DHCP options are kept and echoed, never applied.
type Vpc struct {
	Base
	Name            string   `json:"name"`
	CidrBlock       string   `json:"cidrBlock"`
	IsDefault       bool     `json:"isDefault"`
	EnableMulticast bool     `json:"enableMulticast"`
	DNSServers      []string `json:"dnsServers,omitempty"`
	DomainName      string   `json:"domainName,omitempty"`
	// Route publication switches of the CCN association; echoed only.
	RouteVpcPublish     bool  `json:"routeVpcPublish,omitempty"`
	RouteVpcPublishIpv6 bool  `json:"routeVpcPublishIpv6,omitempty"`
	CdcPublish          bool  `json:"cdcPublish,omitempty"`
	Tags                []Tag `json:"tags,omitempty"`
}

func (v *Vpc) Kind() string   { return KindVpc }
func (v *Vpc) Parent() string { return "" }
func (v *Vpc) Project() int64 { return 0 }

func init() {
	registerKind(KindVpc, func() Object { return new(Vpc) })
}

// NewDefaultVpc returns the account's default VPC, created on its first
// VPC call the way Tencent gives every account one per region.
func NewDefaultVpc() *Vpc {
	return &Vpc{Base: Base{ID: NewID(PrefixVpc)}, Name: DefaultVpcName, CidrBlock: DefaultVpcCidr,
		IsDefault: true, DNSServers: DefaultDNSServers}
}

// vpcRanges are the private ranges a VPC CIDR must lie in, with the
// largest (shortest) prefix length each allows; all allow down to /28.
var vpcRanges = []struct {
	net     netip.Prefix
	minBits int
}{
	{netip.MustParsePrefix("10.0.0.0/8"), 12},
	{netip.MustParsePrefix("172.16.0.0/12"), 12},
	{netip.MustParsePrefix("192.168.0.0/16"), 16},
}

// ValidateVpcCidr checks a CreateVpc CidrBlock: an IPv4 network address
// (no host bits) inside 10.0.0.0/8 or 172.16.0.0/12 with a mask of 12–28,
// or inside 192.168.0.0/16 with a mask of 16–28.
func ValidateVpcCidr(cidr string) (string, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return "", apierr.New(apierr.InvalidParameterValueMalformed, "CidrBlock %q is not an IPv4 network address such as 10.0.0.0/16", cidr)
	}
	for _, r := range vpcRanges {
		if r.net.Contains(p.Addr()) && p.Bits() >= r.minBits && p.Bits() <= 28 {
			return p.String(), nil
		}
	}
	return "", apierr.New(apierr.Code("InvalidParameterValue.Range"),
		"CidrBlock %s must lie in 10.0.0.0/8 or 172.16.0.0/12 with a mask of 12-28, or in 192.168.0.0/16 with a mask of 16-28", cidr)
}

// ValidateVpcName checks a VPC name: 1 to 60 characters, counted as the
// product's other names are (ModifyVpcAttribute says 字符, characters;
// CreateVpc says 字节, bytes, and one rule serves both).
func ValidateVpcName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return apierr.New(apierr.Code("InvalidParameterValue.Empty"), "VpcName must not be empty")
	case utf8.RuneCountInString(name) > MaxVpcNameLen:
		return apierr.New(apierr.Code("InvalidParameterValue.TooLong"), "VpcName must be at most %d characters", MaxVpcNameLen)
	}
	return nil
}

// ValidateVpcDomainName checks a VPC's DHCP DomainName with the host-name
// rule: empty (none) or a host name, a single label allowed (the
// reference's example is "demo").
func ValidateVpcDomainName(name string) error {
	if name != "" && !hostName(name, 1, false) {
		return apierr.New(apierr.InvalidParameterValueMalformed, "DomainName %q is not a domain name such as demo or example.com", name)
	}
	return nil
}

// ValidateDNSServers checks a DnsServers list: at most 4 IPv4 addresses.
func ValidateDNSServers(servers []string) error {
	if len(servers) > MaxVpcDNSServers {
		return apierr.New(apierr.InvalidParameterValueLimitExceeded, "at most %d DnsServers may be given", MaxVpcDNSServers)
	}
	for i, s := range servers {
		if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
			return apierr.New(apierr.InvalidParameterValueMalformed, "DnsServers.%d %q is not an IPv4 address", i, s)
		}
	}
	return nil
}

// ParseBoolString reads the "true"/"false" strings of EnableMulticast.
func ParseBoolString(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, apierr.New(apierr.InvalidParameterValue, "%s must be true or false, not %q", name, v)
}

// ValidateVpcTags checks the Tags of a VPC resource (VPC or traffic
// mirror) with the tag service's rules: at most 50, keys of 1–127 and
// values of at most 255 characters of the tag character set (letters,
// digits, spaces and +-=._:/@), keys unique and not reserved.
func ValidateVpcTags(tags []Tag) error {
	if len(tags) > maxVpcTags {
		return apierr.New(apierr.LimitExceededTagKeyPerResourceExceeded, "at most %d tags may be bound to a resource", maxVpcTags)
	}
	seen := map[string]bool{}
	for i, t := range tags {
		switch {
		case t.Key == "" || len([]rune(t.Key)) > maxVpcTagKeyLen:
			return apierr.New(apierr.InvalidParameterValueTagInvalidKeyLen, "Tags.%d.Key must be 1 to %d characters", i, maxVpcTagKeyLen)
		case strings.HasPrefix(strings.ToLower(t.Key), "qcloud:") || strings.HasPrefix(strings.ToLower(t.Key), "tencent:"):
			return apierr.New(apierr.UnsupportedOperationTagSystemReservedTagKey, "Tags.%d.Key %q uses a reserved prefix", i, t.Key)
		case len([]rune(t.Value)) > maxVpcTagValueLen:
			return apierr.New(apierr.InvalidParameterValueTagInvalidVal, "Tags.%d.Value must be at most %d characters", i, maxVpcTagValueLen)
		case hasBadTagRune(t.Key):
			return apierr.New(apierr.InvalidParameterValueTagInvalidKey, "Tags.%d.Key %q holds a character tags may not; they take letters, digits, spaces and %s", i, t.Key, tagPunct)
		case hasBadTagRune(t.Value):
			return apierr.New(apierr.InvalidParameterValueTagInvalidVal, "Tags.%d.Value %q holds a character tags may not; they take letters, digits, spaces and %s", i, t.Value, tagPunct)
		case seen[t.Key]:
			return apierr.New(apierr.InvalidParameterValueTagDuplicateKey, "tag key %q is given twice", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func hasBadTagRune(s string) bool { _, bad := badTagRune(s); return bad }
