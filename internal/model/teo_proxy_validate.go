package model

import "github.com/opengaap/opengaap/internal/apierr"

// CheckL4ProxyName applies the ProxyName rule: 1-50 of a-z, 0-9 and '-',
// no leading, trailing or consecutive '-'.
func CheckL4ProxyName(name string) error {
	bad := func(why string) error {
		return apierr.New(apierr.Code("InvalidParameter.ProxyNameNotMatched"),
			"ProxyName %q %s: use 1-50 of a-z, 0-9 and '-', with no '-' at either end or twice in a row", name, why)
	}
	if len(name) == 0 || len(name) > 50 {
		return bad("has the wrong length")
	}
	for i := range len(name) {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 || name[i-1] == '-' {
				return bad("misplaces '-'")
			}
		default:
			return bad("holds a character other than a-z, 0-9 and '-'")
		}
	}
	return nil
}

// CheckOnOff validates an on|off parameter.
func CheckOnOff(param, v string) error {
	if v != TeoOn && v != TeoOff {
		return invalid(param, "%q is not on or off", v)
	}
	return nil
}

// CheckDDoS validates a DDosProtectionConfig for a proxy in area. An empty
// level is PLATFORM, the reference's default, and reads back empty as
// given (the caller fills in levels left out). MaxBandwidthMainland is
// kept as given: 0 means not set (clients such as the Terraform provider
// always send the member, 0 when unset), and the reference gives no
// default for it, so it reads back 0 rather than a value the caller never
// sent; a value set must be in the level's range. With PLATFORM the
// reference calls the member ineffective, and it is kept unchecked.
func CheckDDoS(d TeoDDoS, area string) error {
	// Bandwidths are unsigned (uint64 in the reference), ineffective or not:
	// a negative one read back breaks every client's decoding of the list.
	if d.MaxBandwidthMainland < 0 {
		return invalid("DDosProtectionConfig.MaxBandwidthMainland", "%d is negative", d.MaxBandwidthMainland)
	}
	var lo, hi int64
	switch d.Mainland() {
	case DDoSPlatform:
	case DDoSBase30Max300:
		lo, hi = 30, 300
	case DDoSBase60Max600:
		lo, hi = 60, 600
	default:
		return invalid("DDosProtectionConfig.LevelMainland", "%q is not PLATFORM, BASE30_MAX300 or BASE60_MAX600", d.LevelMainland)
	}
	if hi > 0 {
		if d.MaxBandwidthMainland != 0 && (d.MaxBandwidthMainland < lo || d.MaxBandwidthMainland > hi) {
			return invalid("DDosProtectionConfig.MaxBandwidthMainland", "must be %d-%d (Gbps) for %s, or 0 (not set)", lo, hi, d.LevelMainland)
		}
		if area == AreaOverseas {
			return invalid("DDosProtectionConfig.LevelMainland", "exclusive mainland protection needs Area mainland or global")
		}
	}
	switch d.Overseas() {
	case DDoSPlatform:
	case DDoSAnycast300, DDoSAnycastAllIn:
		if area == AreaMainland {
			return invalid("DDosProtectionConfig.LevelOverseas", "exclusive overseas protection needs Area overseas or global")
		}
	default:
		return invalid("DDosProtectionConfig.LevelOverseas", "%q is not PLATFORM, ANYCAST300 or ANYCAST_ALLIN", d.LevelOverseas)
	}
	return nil
}

// CheckFeatures applies the documented conflicts between the proxy's
// switches, area and protection (docs/api-teo.md lists the matrix).
func (p *TeoL4Proxy) CheckFeatures() error {
	for _, f := range [...]struct{ param, v string }{{"Ipv6", p.Ipv6}, {"StaticIp", p.StaticIP}, {"AccelerateMainland", p.AccelerateMainland}} {
		if err := CheckOnOff(f.param, f.v); err != nil {
			return err
		}
	}
	switch {
	case p.Ipv6 == TeoOn && p.StaticIP == TeoOn:
		return apierr.New(apierr.OperationDeniedIpv6StaticIpConflict, "IPv6 access and static IP cannot both be on")
	case p.StaticIP == TeoOn && p.Area == AreaGlobal:
		return apierr.New(apierr.OperationDeniedStaticIpAreaConflict, "static IP is available in the mainland and overseas areas only, not global")
	case p.AccelerateMainland == TeoOn && p.Ipv6 == TeoOn:
		return apierr.New(apierr.OperationDeniedAccelerateMainlandIpv6Conflict, "mainland network optimization and IPv6 access cannot both be on")
	case p.AccelerateMainland == TeoOn && p.Area != AreaOverseas:
		return apierr.New(apierr.OperationDenied, "mainland network optimization (AccelerateMainland) is available for Area overseas only")
	case p.Ipv6 == TeoOn && p.DDoS.Mainland() != DDoSPlatform:
		return apierr.New(apierr.OperationDeniedIpv6AdvancedConflict, "IPv6 access cannot be on with exclusive mainland DDoS protection (%s)", p.DDoS.LevelMainland)
	}
	return nil
}
