package model

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/opengaap/opengaap/internal/apierr"
)

// Enumerations of proxies and groups.
const (
	AddrIPv4 = "IPv4"
	AddrIPv6 = "IPv6"

	NetworkNormal = "normal"
	NetworkCN2    = "cn2"
	NetworkTriple = "triple"

	PackageThunder     = "Thunder"
	PackageAccelerator = "Accelerator"
	PackageCrossBorder = "CrossBorder"

	BillingBandwidth = 0
	BillingTraffic   = 1
)

// Limits of the reference.
const (
	MaxProxyNameLen = 32  // ModifyProxiesAttribute.ProxyName
	MaxGroupNameLen = 30  // ModifyProxyGroupAttribute.GroupName
	MaxProxyIDs     = 100 // ID lists of proxy actions
	MaxTags         = 5   // TagSet filters
)

// proxyOneOf returns the canonical spelling of v among allowed (matched without
// regard to case: the reference's own examples write "IPV4"), def when v
// is nil or empty.
func proxyOneOf(name string, v *string, def string, allowed ...string) (string, error) {
	if v == nil || *v == "" {
		return def, nil
	}
	for _, a := range allowed {
		if SameEnum(*v, a) {
			return a, nil
		}
	}
	return "", invalid(name, "%q is not one of %s", *v, strings.Join(allowed, ", "))
}

// SameEnum reports whether v, as a client writes it, names the canonical
// enum value a: case and surrounding spaces do not matter. The create
// actions parse enums so (proxyOneOf), and list filters match them so.
func SameEnum(v, a string) bool { return strings.EqualFold(strings.TrimSpace(v), a) }

// ParseIPVersion validates IPAddressVersion (default AddrIPv4).
func ParseIPVersion(v *string) (string, error) {
	return proxyOneOf("IPAddressVersion", v, AddrIPv4, AddrIPv4, AddrIPv6)
}

// ParseNetworkType validates NetworkType (default normal).
func ParseNetworkType(v *string) (string, error) {
	return proxyOneOf("NetworkType", v, NetworkNormal, NetworkNormal, NetworkCN2, NetworkTriple)
}

// ParsePackageType validates the PackageType of a proxy (default Thunder).
func ParsePackageType(v *string) (string, error) {
	return proxyOneOf("PackageType", v, PackageThunder, PackageThunder, PackageAccelerator, PackageCrossBorder)
}

// ParseGroupPackageType validates the PackageType of a group: CrossBorder
// proxies cannot be grouped.
func ParseGroupPackageType(v *string) (string, error) {
	return proxyOneOf("PackageType", v, PackageThunder, PackageThunder, PackageAccelerator)
}

// ParseBillingType validates BillingType (default bandwidth billing).
func ParseBillingType(v *int64) (int64, error) {
	if v == nil {
		return BillingBandwidth, nil
	}
	if *v != BillingBandwidth && *v != BillingTraffic {
		return 0, invalid("BillingType", "%d is not 0 (bandwidth) or 1 (traffic)", *v)
	}
	return *v, nil
}

// ValidateDisplayName checks a display name: not empty, at most max characters.
func ValidateDisplayName(param, name string, max int) error {
	if strings.TrimSpace(name) == "" {
		return invalid(param, "must not be empty")
	}
	if n := utf8.RuneCountInString(name); n > max {
		return invalid(param, "has %d characters, at most %d are allowed", n, max)
	}
	return nil
}

// ValidateProjectID checks a project ID of a modification (>= 0).
func ValidateProjectID(v int64) error {
	if v < 0 {
		return invalid("ProjectId", "%d is negative", v)
	}
	return nil
}

// ParseForceFlag checks a Force flag (0 or 1).
func ParseForceFlag(v *int64) (bool, error) {
	if v == nil {
		return false, nil
	}
	if *v != 0 && *v != 1 {
		return false, invalid("Force", "%d is not 0 or 1", *v)
	}
	return *v == 1, nil
}

// ValidateOption checks that v is one of the offered values; code is the
// action's documented code (InvalidBandwidth, InvalidConcurrency).
func ValidateOption(code apierr.Code, name string, v int64, options []int64) error {
	if slices.Contains(options, v) {
		return nil
	}
	return apierr.New(code, "%s %d is not offered; choose one of %v", name, v, options)
}

// ProxyIDs merges the old (InstanceIds) and new (ProxyIds) names of a proxy
// ID list, without duplicates, in request order. At least one ID is needed
// and at most MaxProxyIDs.
func ProxyIDs(old, new []string) ([]string, error) {
	var ids []string
	for _, id := range append(slices.Clone(new), old...) {
		id = strings.TrimSpace(id)
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, apierr.New(apierr.MissingParameter, "the required parameter ProxyIds (or the older InstanceIds) is missing")
	}
	if len(ids) > MaxProxyIDs {
		return nil, invalid("ProxyIds", "%d IDs given, at most %d are allowed", len(ids), MaxProxyIDs)
	}
	return ids, nil
}

// ProxyID merges the old (InstanceId) and new (ProxyId) names of one proxy
// ID; giving both with different values is an error.
func ProxyID(old, new *string) (string, error) {
	o, n := strings.TrimSpace(proxyDeref(old)), strings.TrimSpace(proxyDeref(new))
	switch {
	case o == "" && n == "":
		return "", apierr.New(apierr.MissingParameter, "the required parameter ProxyId (or the older InstanceId) is missing")
	case o != "" && n != "" && o != n:
		return "", apierr.New(apierr.InvalidParameter, "ProxyId %q and InstanceId %q name different proxies; give one", n, o)
	case n != "":
		return n, nil
	}
	return o, nil
}

func proxyDeref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
