package model

import (
	"cmp"
	"hash/fnv"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// Mirror limits.
const (
	MaxMirrorSources = 20 // CollectorSrcs, as documented
	MaxMirrorTargets = 10
	MaxMirrorsPerVpc = 10
	MaxMirrorRules   = 50 // per direction
	MaxMirrorFilters = 20 // CollectorNormalFilters
	MaxMirrorNameLen = 60
)

// MirrorTargetIP is the only TargetType opengaap serves: collectors are
// addresses, not ENIs or CLBs.
const MirrorTargetIP = "IP"

// MirrorTarget is where mirrored packets go.
type MirrorTarget struct {
	Type    string `json:"type"`    // MirrorTargetIP
	AlgHash string `json:"algHash"` // AlgFiveTuple | AlgENI
	// IPs (TargetIps) are collectors on DefaultVXLANPort; EndPoints
	// (TargetEndPoints) are "ip:port" collectors. Exactly one is set,
	// normalized, and echoed as given.
	IPs       []string `json:"ips,omitempty"`
	EndPoints []string `json:"endPoints,omitempty"`
}

// MirrorEndpoint is one collector: VXLAN over UDP to IP:Port.
type MirrorEndpoint struct {
	IP   string
	Port int
}

// Collectors returns the target's collectors in the order given; the data
// plane picks one per packet by hashing per AlgHash, modulo len. A stored
// endpoint that is not ip:port (a corrupted row, an older format) keeps its
// text with port -1: the data plane rejects that mirror alone
// (snapshot.Mirror.Validate), where a panic here took the process down.
func (t MirrorTarget) Collectors() []MirrorEndpoint {
	out := make([]MirrorEndpoint, 0, len(t.IPs)+len(t.EndPoints))
	for _, ip := range t.IPs {
		out = append(out, MirrorEndpoint{ip, DefaultVXLANPort})
	}
	for _, ep := range t.EndPoints {
		ap, err := netip.ParseAddrPort(ep)
		if err != nil {
			out = append(out, MirrorEndpoint{ep, -1})
			continue
		}
		out = append(out, MirrorEndpoint{ap.Addr().String(), int(ap.Port())})
	}
	return out
}

// VNI is the VXLAN network identifier the mirror's packets carry, so one
// collector can tell several mirrors apart: 24 bits derived from the ID,
// stable for the mirror's life.
func (m *TrafficMirror) VNI() uint32 {
	h := fnv.New32a()
	h.Write([]byte(m.ID))
	v := h.Sum32() & 0xFFFFFF
	if v == 0 {
		v = 1
	}
	return v
}

// MirrorTargetInput is a TrafficMirrorTarget as received.
type MirrorTargetInput struct {
	IPs, EndPoints      []string
	AlgHash, TargetType string
}

// NoMirrorTarget is the target of a mirror created without
// CollectorTarget (the spec makes it optional): no collectors, so nothing
// is copied until ResetTrafficMirrorTarget names some; the other fields
// hold their defaults.
func NoMirrorTarget() MirrorTarget {
	return MirrorTarget{Type: MirrorTargetIP, AlgHash: AlgFiveTuple}
}

// ParseMirrorTarget validates a CollectorTarget for a mirror of typ;
// allowPrivate admits loopback and private collectors, as it admits such
// origins: copies of clients' traffic must not reach internal addresses
// an operator has closed to origins.
func ParseMirrorTarget(typ string, in MirrorTargetInput, allowPrivate bool) (MirrorTarget, error) {
	t := NoMirrorTarget()
	if err := checkTargetKind(typ, in, &t); err != nil {
		return t, err
	}
	switch n := len(in.IPs) + len(in.EndPoints); {
	case len(in.IPs) > 0 && len(in.EndPoints) > 0:
		return t, apierr.New(apierr.InvalidParameterCoexist, "CollectorTarget.TargetIps and CollectorTarget.TargetEndPoints cannot both be given")
	case n == 0:
		return t, apierr.New(apierr.MissingParameter, "CollectorTarget needs TargetIps or TargetEndPoints")
	case n > MaxMirrorTargets:
		return t, apierr.New(apierr.InvalidParameterValueLimitExceeded, "at most %d collectors may be given", MaxMirrorTargets)
	}
	seen := map[string]bool{}
	for i, s := range in.IPs {
		a, err := parseCollectorIP("CollectorTarget.TargetIps."+strconv.Itoa(i), s, allowPrivate)
		if err != nil {
			return t, err
		}
		t.IPs = append(t.IPs, a.String())
	}
	for i, s := range in.EndPoints {
		ep, err := parseCollectorEndpoint("CollectorTarget.TargetEndPoints."+strconv.Itoa(i), s, allowPrivate)
		if err != nil {
			return t, err
		}
		t.EndPoints = append(t.EndPoints, ep)
	}
	for _, c := range slices.Concat(t.IPs, t.EndPoints) {
		if seen[c] {
			return t, apierr.New(apierr.InvalidParameterValue, "collector %s is given twice", c)
		}
		seen[c] = true
	}
	return t, nil
}

// ParseMirrorTargets validates CollectorTarget entries that together name
// one mirror's collectors, as CheckTrafficMirror's list does. Each entry's
// TargetType and AlgHash is checked; the collectors of all entries are then
// checked as one CollectorTarget (with the first TargetType and AlgHash
// given), so duplicates, TargetIps beside TargetEndPoints and the collector
// limit count across entries, as they do for the mirror created from them.
func ParseMirrorTargets(typ string, ins []MirrorTargetInput, allowPrivate bool) (MirrorTarget, error) {
	var all MirrorTargetInput
	for _, in := range ins {
		if err := checkTargetKind(typ, in, &MirrorTarget{}); err != nil {
			return NoMirrorTarget(), err
		}
		all.IPs = append(all.IPs, in.IPs...)
		all.EndPoints = append(all.EndPoints, in.EndPoints...)
		all.AlgHash, all.TargetType = cmp.Or(all.AlgHash, in.AlgHash), cmp.Or(all.TargetType, in.TargetType)
	}
	return ParseMirrorTarget(typ, all, allowPrivate)
}

// checkTargetKind checks TargetType and AlgHash for the mirror type.
func checkTargetKind(typ string, in MirrorTargetInput, t *MirrorTarget) error {
	switch strings.ToUpper(in.TargetType) {
	case "", MirrorTargetIP:
	case "CLB":
		return apierr.New(apierr.UnsupportedOperationTrafficMirrorNotSupportClb, "CLB collectors are not supported; give collector addresses (TargetType IP)")
	default:
		return apierr.New(apierr.InvalidParameterValue, "CollectorTarget.TargetType %q is not supported; use IP", in.TargetType)
	}
	switch in.AlgHash {
	case "", AlgFiveTuple:
	case AlgENI:
		if typ == MirrorTypePublicIP {
			return apierr.New(apierr.InvalidParameterValue, "PUBLICIP traffic mirrors support only AlgHash FIVE_TUPLE_FLOW")
		}
		t.AlgHash = AlgENI
	default:
		return apierr.New(apierr.InvalidParameterValue, "CollectorTarget.AlgHash must be FIVE_TUPLE_FLOW or ENI, not %q", in.AlgHash)
	}
	return nil
}

// parseCollectorIP accepts a unicast IPv4 address.
func parseCollectorIP(name, s string, allowPrivate bool) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return a, apierr.New(apierr.InvalidParameterValueMalformed, "%s %q is not an IP address", name, s)
	}
	return a, checkCollectorAddr(name, a, allowPrivate)
}

// parseCollectorEndpoint accepts "ip:port". An IPv6 endpoint is written
// "[ip]:port", so it parses and is then refused for being IPv6, as an
// IPv6 TargetIps entry is.
func parseCollectorEndpoint(name, s string, allowPrivate bool) (string, error) {
	ap, err := netip.ParseAddrPort(strings.TrimSpace(s))
	if err != nil || ap.Port() == 0 {
		return "", apierr.New(apierr.InvalidParameterValueMalformed, "%s %q is not ip:port", name, s)
	}
	if err := checkCollectorAddr(name, ap.Addr(), allowPrivate); err != nil {
		return "", err
	}
	return ap.String(), nil
}

// checkCollectorAddr admits a unicast IPv4 collector: VXLAN collectors are
// reached over IPv4, and an unspecified, multicast or broadcast address
// cannot receive a copy.
func checkCollectorAddr(name string, a netip.Addr, allowPrivate bool) error {
	switch {
	case !a.Is4():
		return apierr.New(apierr.UnsupportedOperationIpv6NotSupport, "%s %s: IPv6 collectors are not supported", name, a)
	case snapshot.NotOneHost(a):
		return apierr.New(apierr.InvalidParameterValueInvalidLbTrafficMirrorReciverEndpoint, "%s %s cannot receive mirrored traffic", name, a)
	case !allowPrivate && !snapshot.PublicAddr(a):
		return apierr.New(apierr.InvalidParameterValueInvalidLbTrafficMirrorReciverEndpoint, "%s %s is a loopback, private or otherwise non-public address, which this server does not send to", name, a)
	}
	return nil
}

// CollectorIPs returns the collector addresses (without ports).
func (t MirrorTarget) CollectorIPs() []string {
	var out []string
	for _, c := range t.Collectors() {
		out = append(out, c.IP)
	}
	return out
}
