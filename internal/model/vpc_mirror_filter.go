package model

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
)

// Mirror filter protocols.
const (
	MirrorProtoTCP  = "TCP"
	MirrorProtoUDP  = "UDP"
	MirrorProtoICMP = "ICMP"
	MirrorProtoAll  = "ALL"
)

var anyNet = netip.MustParsePrefix("0.0.0.0/0")

// FiveTuple selects packets by source and destination network, protocol
// and port ranges. Src and Dst are the packet's own addresses: for an
// INGRESS packet the source is the client and the destination the
// mirrored access IP; for EGRESS the other way round.
type FiveTuple struct {
	SrcNet   string    `json:"srcNet"`   // IPv4 CIDR; 0.0.0.0/0 = any
	DstNet   string    `json:"dstNet"`   // IPv4 CIDR; 0.0.0.0/0 = any
	Protocol string    `json:"protocol"` // TCP | UDP | ICMP | ALL
	SrcPort  PortRange `json:"srcPort"`  // ignored for ICMP
	DstPort  PortRange `json:"dstPort"`  // ignored for ICMP
}

// NormalFilter is one CollectorNormalFilter. Unlike a filter rule it has
// no priority: DROP filters win over ACCEPT ones whatever their order, so
// the list reads as "these, except those".
type NormalFilter struct {
	FiveTuple
	// Drop excludes what the filter matches (Action DROP). A bool, so
	// that filters stored before Action was kept read as ACCEPT.
	Drop bool `json:"drop,omitempty"`
}

// Action is the filter's Action on the wire.
func (f NormalFilter) Action() string {
	if f.Drop {
		return MirrorDrop
	}
	return MirrorAccept
}

// ParseNormalFilter validates one CollectorNormalFilter (path names it in
// errors). Priority and Description belong to filter rules: refused here
// rather than dropped, since an order the caller meant would be lost.
func ParseNormalFilter(path string, in FilterRuleInput) (NormalFilter, error) {
	switch {
	case in.Priority != nil:
		return NormalFilter{}, apierr.New(apierr.InvalidParameterValue, "%s.Priority: CollectorNormalFilters are not ordered (DROP filters always win); use IngressFilterRules/EgressFilterRules for prioritized rules", path)
	case in.Description != nil:
		return NormalFilter{}, apierr.New(apierr.InvalidParameterValue, "%s.Description: CollectorNormalFilters have no description; filter rules do", path)
	}
	ft, err := ParseFiveTuple(path, in.FiveTupleInput)
	if err != nil {
		return NormalFilter{}, err
	}
	action, err := parseMirrorAction(path, in.Action)
	return NormalFilter{FiveTuple: ft, Drop: action == MirrorDrop}, err
}

// PortRange is an inclusive port range; 1-65535 = any.
type PortRange struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

var anyPort = PortRange{1, 65535}

// String renders the range as the API does: "80" or "1000-2000".
func (r PortRange) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(r.Min)
	}
	return strconv.Itoa(r.Min) + "-" + strconv.Itoa(r.Max)
}

// Contains reports whether port is in the range.
func (r PortRange) Contains(port int) bool { return port >= r.Min && port <= r.Max }

// AnyFiveTuple matches every packet.
func AnyFiveTuple() FiveTuple {
	return FiveTuple{SrcNet: anyNet.String(), DstNet: anyNet.String(), Protocol: MirrorProtoAll, SrcPort: anyPort, DstPort: anyPort}
}

// Match reports whether a packet matches. proto is TCP, UDP or ICMP.
func (f FiveTuple) Match(src, dst netip.Addr, proto string, srcPort, dstPort int) bool {
	if !prefixContains(f.SrcNet, src) || !prefixContains(f.DstNet, dst) {
		return false
	}
	if f.Protocol != MirrorProtoAll && f.Protocol != proto {
		return false
	}
	if proto == MirrorProtoICMP {
		return true
	}
	return f.SrcPort.Contains(srcPort) && f.DstPort.Contains(dstPort)
}

func prefixContains(cidr string, a netip.Addr) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Contains(a.Unmap())
}

// FiveTupleInput is a TrafficMirrorFilter's five-tuple as received; nil
// fields take their defaults (any network, ALL, 1-65535).
type FiveTupleInput struct {
	SrcNet, DstNet, Protocol, SrcPort, DstPort *string
}

// ParseFiveTuple validates and normalizes a five-tuple; path names the
// parameter in errors (e.g. "CollectorNormalFilters.0").
func ParseFiveTuple(path string, in FiveTupleInput) (FiveTuple, error) {
	var f FiveTuple
	var err error
	if f.SrcNet, err = parseMirrorNet(path+".SrcNet", in.SrcNet); err != nil {
		return f, err
	}
	if f.DstNet, err = parseMirrorNet(path+".DstNet", in.DstNet); err != nil {
		return f, err
	}
	if f.Protocol, err = parseMirrorProto(path+".Protocol", in.Protocol); err != nil {
		return f, err
	}
	if f.SrcPort, err = parsePortRange(path+".SrcPort", in.SrcPort); err != nil {
		return f, err
	}
	f.DstPort, err = parsePortRange(path+".DstPort", in.DstPort)
	return f, err
}

// parseMirrorNet accepts an IPv4 CIDR or a bare address (a /32); host
// bits are cleared.
func parseMirrorNet(name string, v *string) (string, error) {
	if v == nil || *v == "" {
		return anyNet.String(), nil
	}
	s := *v
	if !strings.Contains(s, "/") {
		s += "/32"
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", apierr.New(apierr.InvalidParameterValueMalformed, "%s %q is not an IPv4 CIDR such as 10.0.0.0/24", name, *v)
	}
	if !p.Addr().Is4() {
		return "", apierr.New(apierr.UnsupportedOperationIpv6NotSupport, "%s %q: IPv6 filters are not supported", name, *v)
	}
	return p.Masked().String(), nil
}

func parseMirrorProto(name string, v *string) (string, error) {
	if v == nil || *v == "" {
		return MirrorProtoAll, nil
	}
	switch p := strings.ToUpper(*v); p {
	case MirrorProtoTCP, MirrorProtoUDP, MirrorProtoICMP, MirrorProtoAll:
		return p, nil
	}
	return "", apierr.New(apierr.InvalidParameterValue, "%s must be TCP, UDP, ICMP or ALL, not %q", name, *v)
}

// parsePortRange accepts "80", "1000-2000" or "ALL".
func parsePortRange(name string, v *string) (PortRange, error) {
	if v == nil || *v == "" || strings.EqualFold(*v, "ALL") {
		return anyPort, nil
	}
	lo, hi, isRange := strings.Cut(*v, "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return PortRange{}, apierr.New(apierr.InvalidParameterValueMalformed, "%s %q is not a port (1-65535) or a range such as 1000-2000", name, *v)
	}
	return PortRange{a, b}, nil
}
