package model

// Bits of FeatureBitmap, from the right as the reference numbers them.
// Access QoS (the seventh) is a Tencent service opengaap does not have.
const (
	FeatureL4     int64 = 1 << iota // TCP/UDP listeners
	FeatureL7                       // HTTP/HTTPS listeners
	FeatureHTTP3                    // HTTP/3 access
	FeatureIPv6                     // IPv6 access
	FeatureCN2                      // premium BGP access
	FeatureTriple                   // three-network access
)

// Features is the proxy's FeatureBitmap.
func (p *Proxy) Features() int64 {
	return features(p.Http3Supported, p.IPAddressVersion, p.NetworkType)
}

// Features is the group's FeatureBitmap; a group has no network type.
func (g *ProxyGroup) Features() int64 { return features(g.Http3Supported, g.IPAddressVersion, "") }

// features: every opengaap proxy forwards layer 4 and layer 7, as its
// SupportProtocols says; the rest follow its settings.
func features(http3 int64, ipVersion, network string) int64 {
	f := FeatureL4 | FeatureL7
	if http3 == 1 {
		f |= FeatureHTTP3
	}
	if ipVersion == AddrIPv6 {
		f |= FeatureIPv6
	}
	switch network {
	case NetworkCN2:
		f |= FeatureCN2
	case NetworkTriple:
		f |= FeatureTriple
	}
	return f
}
