package model

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// Error codes of L4 rule validation (tencentcloud teo 2022-09-01).
const (
	codeRuleProto       = apierr.Code("InvalidParameter.InvalidRuleProto")
	codeRulePortInteger = apierr.Code("InvalidParameter.RulePortInteger")
	codeRulePortGroup   = apierr.Code("InvalidParameter.RulePortGroup")
	codeOriginPortInt   = apierr.Code("InvalidParameter.RuleOriginPortInteger")
	codeOriginType      = apierr.Code("InvalidParameter.InvalidOriginType")
	codeOriginMultiDom  = apierr.Code("InvalidParameter.OriginL4RecordMultiDomain")
	codeOriginMixDomain = apierr.Code("InvalidParameter.OriginL4RecordIPV4MixDomain")
	maxRuleTag          = 50
	maxOriginValues     = MaxBindings
)

// PortSpan is an inclusive port range; a single port has Start == End.
type PortSpan struct{ Start, End int }

// Len is the number of ports in the span.
func (s PortSpan) Len() int { return s.End - s.Start + 1 }

// Overlaps reports whether the spans share a port.
func (s PortSpan) Overlaps(o PortSpan) bool { return s.Start <= o.End && o.Start <= s.End }

func (s PortSpan) String() string {
	if s.Start == s.End {
		return strconv.Itoa(s.Start)
	}
	return fmt.Sprintf("%d-%d", s.Start, s.End)
}

// ParsePortSpan parses "80" or "81-85" (ports 1-65535, start <= end). A
// non-number is RulePortInteger, a bad range RulePortGroup.
func ParsePortSpan(param, v string) (PortSpan, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(v), "-")
	a, err := portNum(param, v, lo)
	if err != nil {
		return PortSpan{}, err
	}
	b := a
	if isRange {
		if b, err = portNum(param, v, hi); err != nil {
			return PortSpan{}, err
		}
		if b < a {
			return PortSpan{}, apierr.New(codeRulePortGroup, "%s: in %q the first port is greater than the last", param, v)
		}
	}
	return PortSpan{a, b}, nil
}

func portNum(param, whole, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, apierr.New(codeRulePortInteger, "%s: %q is not a port or a range like 81-85", param, whole)
	}
	if n < 1 || n > 65535 {
		return 0, apierr.New(codeRulePortGroup, "%s: port %d in %q is outside 1-65535", param, n, whole)
	}
	return n, nil
}

// Check validates the rule's settings, normalizes its ports and origins
// and fills defaults. It does not look origin groups up (the caller
// checks OriginValue[0] exists when OriginType is ORIGIN_GROUP).
func (r *TeoL4Rule) Check(param string, caps Capabilities) error {
	if r.Protocol != TCP && r.Protocol != UDP {
		return apierr.New(codeRuleProto, "%sProtocol: %q is not TCP or UDP", param, r.Protocol)
	}
	if err := r.checkPorts(param); err != nil {
		return err
	}
	if err := r.checkOrigins(param, caps.PrivateOrigins); err != nil {
		return err
	}
	if err := r.checkClientIP(param, caps.TOA); err != nil {
		return err
	}
	if err := CheckOnOff(param+"SessionPersist", r.SessionPersist); err != nil {
		return err
	}
	if err := r.checkSessionPersistTime(param); err != nil {
		return err
	}
	if utf8.RuneCountInString(r.RuleTag) > maxRuleTag {
		return invalid(param+"RuleTag", "must be at most %d characters", maxRuleTag)
	}
	return nil
}

// checkSessionPersistTime applies the reference's rule that
// SessionPersistTime only takes effect with SessionPersist on: then it must
// be 30-3600, and 0 (left out, or sent as 0 by clients that always send the
// member, like the Terraform provider) means the default. With persistence
// off the value is kept as given, 0 included, so that it reads back as sent
// (a stored 0 makes a later modify that turns persistence on without a
// time use the default).
func (r *TeoL4Rule) checkSessionPersistTime(param string) error {
	if r.SessionPersist != TeoOn {
		if r.SessionPersistTime < 0 {
			return invalid(param+"SessionPersistTime", "%d is negative", r.SessionPersistTime)
		}
		return nil
	}
	if r.SessionPersistTime == 0 {
		r.SessionPersistTime = DefaultSessionPersistTime
	}
	if r.SessionPersistTime < 30 || r.SessionPersistTime > 3600 {
		return invalid(param+"SessionPersistTime", "%d is outside 30-3600 (seconds), required with SessionPersist on", r.SessionPersistTime)
	}
	return nil
}

// checkPorts validates PortRange and OriginPortRange: listening spans may
// not overlap each other, and an origin range needs exactly one listening
// span of the same length.
func (r *TeoL4Rule) checkPorts(param string) error {
	if len(r.PortRange) == 0 {
		return apierr.New(codeRulePortGroup, "%sPortRange: at least one port or port range is required", param)
	}
	spans := make([]PortSpan, len(r.PortRange))
	ports := 0
	for i, v := range r.PortRange {
		s, err := ParsePortSpan(fmt.Sprintf("%sPortRange.%d", param, i), v)
		if err != nil {
			return err
		}
		for _, o := range spans[:i] {
			if s.Overlaps(o) {
				return apierr.New(apierr.InvalidParameterRulePortDuplicating, "%sPortRange: %s overlaps %s", param, s, o)
			}
		}
		spans[i], r.PortRange[i] = s, s.String()
		ports += s.Len()
	}
	if ports > TeoMaxRulePorts {
		return invalid(param+"PortRange", "%d ports; a rule may listen on at most %d (one socket each), so split the range over several rules", ports, TeoMaxRulePorts)
	}
	origin, err := ParsePortSpan(param+"OriginPortRange", r.OriginPortRange)
	if err != nil {
		// A non-number has the origin port's own code; a bad range
		// (reversed, out of 1-65535) is RulePortGroup, as for PortRange.
		if e := apierr.From(err); e.Code == codeRulePortInteger {
			return apierr.New(codeOriginPortInt, "%s", e.Msg)
		}
		return err
	}
	r.OriginPortRange = origin.String()
	if origin.Len() > 1 && (len(spans) != 1 || spans[0].Len() != origin.Len()) {
		return apierr.New(codeRulePortGroup, "%sOriginPortRange: the range %s must match a single PortRange span of the same length (%d ports)", param, origin, origin.Len())
	}
	return nil
}

// CheckOriginChange is Modify's rule for a new OriginType (r is the
// stored rule): the stored OriginValue names origins of the old type (IP
// addresses or a domain name, or an origin group ID), so a change of type
// needs the new OriginValue with it. Without one it is refused, in either
// direction, with InvalidOriginValue, rather than a group ID being taken
// for a domain name that never resolves, or an address for a group ID.
func (r *TeoL4Rule) CheckOriginChange(param, originType string, valueGiven bool) error {
	if valueGiven || originType == r.OriginType {
		return nil
	}
	return apierr.New(apierr.InvalidParameterInvalidOriginValue,
		"%sOriginValue: OriginType changes from %s to %s, so give the OriginValue for %s (the stored one, %v, is for %s)",
		param, r.OriginType, originType, originType, r.OriginValue, r.OriginType)
}

// checkOrigins validates OriginType and OriginValue. IP_DOMAIN takes IP
// addresses, or one domain name (not mixed); ORIGIN_GROUP one group ID.
func (r *TeoL4Rule) checkOrigins(param string, allowPrivate bool) error {
	switch r.OriginType {
	case OriginIPDomain:
	case OriginOriginGroup:
		if len(r.OriginValue) != 1 || r.OriginValue[0] == "" {
			return apierr.New(apierr.InvalidParameterInvalidOriginValue, "%sOriginValue: ORIGIN_GROUP takes exactly one origin group ID", param)
		}
		r.OriginIsDomain, r.OriginHosts = false, nil
		return nil
	case OriginLB:
		return apierr.New(apierr.OperationDenied, "%sOriginType: LB (load balancer) origins are not available in opengaap; use IP_DOMAIN or ORIGIN_GROUP", param)
	default:
		return apierr.New(codeOriginType, "%sOriginType: %q is not IP_DOMAIN, ORIGIN_GROUP or LB", param, r.OriginType)
	}
	if len(r.OriginValue) == 0 || len(r.OriginValue) > maxOriginValues {
		return apierr.New(apierr.InvalidParameterInvalidOriginValue, "%sOriginValue: give 1-%d origins", param, maxOriginValues)
	}
	domains := 0
	r.OriginHosts = make([]string, len(r.OriginValue))
	for i, v := range r.OriginValue {
		norm, isDomain, err := ParseOrigin(fmt.Sprintf("%sOriginValue.%d", param, i), v, true)
		if err != nil {
			return apierr.New(apierr.InvalidParameterInvalidOriginValue, "%s", apierr.From(err).Msg)
		}
		// A one-label name is a host name to ParseOrigin; an origin
		// group's ID as one would never resolve (the rule online, every
		// connection failing), as CheckOriginChange guards against.
		if isDomain && originGroupShaped(v) {
			return apierr.New(apierr.InvalidParameterInvalidOriginValue, "%sOriginValue.%d: %s is an origin group ID; set OriginType ORIGIN_GROUP for it", param, i, v)
		}
		if !allowPrivate && !publicOrigin(norm, isDomain) {
			return apierr.New(apierr.InvalidParameterInvalidOriginIp, "%sOriginValue.%d: %s is a loopback, private or otherwise non-public address; origins must be reachable on the internet", param, i, norm)
		}
		// Compared normalized, so 1.2.3.4 and ::ffff:1.2.3.4, or names
		// differing in case, are one origin: the data plane names an
		// origin by its address and cannot run a listener naming one
		// twice.
		if j := slices.Index(r.OriginHosts[:i], norm); j >= 0 {
			return apierr.New(apierr.InvalidParameterInvalidOriginValue, "%sOriginValue.%d: %s is listed twice (also OriginValue.%d); give each origin once", param, i, norm, j)
		}
		r.OriginHosts[i] = norm
		if isDomain {
			domains++
		}
	}
	switch {
	case domains > 1:
		return apierr.New(codeOriginMultiDom, "%sOriginValue: at most one domain name may be given", param)
	case domains == 1 && len(r.OriginValue) > 1:
		return apierr.New(codeOriginMixDomain, "%sOriginValue: IP addresses and a domain name cannot be mixed", param)
	}
	r.OriginIsDomain = domains == 1
	return nil
}

// checkClientIP validates ClientIPPassThroughMode against the protocol
// and, for TOA, what the data plane can do (toa: it writes TOA options).
func (r *TeoL4Rule) checkClientIP(param string, toa bool) error {
	p := param + "ClientIPPassThroughMode"
	switch r.ClientIPMode {
	case PassOff, PassPPV2:
	case PassPPV1:
		if r.Protocol != TCP {
			return invalid(p, "PPV1 is available for TCP only; use PPV2 or SPP for UDP")
		}
	case PassSPP:
		if r.Protocol != UDP {
			return invalid(p, "SPP is available for UDP only; use PPV1 or PPV2 for TCP")
		}
	case PassTOA:
		switch {
		case !toa:
			return apierr.New(apierr.OperationDenied, "%s: TOA is not available on this server (it needs Linux 5.10 or later with cgroup v2 and permission to load BPF programs); use PPV1 or PPV2 (PROXY protocol)", p)
		case r.Protocol != TCP:
			return invalid(p, "TOA is available for TCP only; use PPV2 or SPP for UDP")
		}
	default:
		return invalid(p, "%q is not TOA, PPV1, PPV2, SPP or OFF", r.ClientIPMode)
	}
	return nil
}

// publicOrigin reports whether a normalized origin is reachable on the
// internet rather than only from the edge host itself or its network.
func publicOrigin(norm string, isDomain bool) bool {
	if isDomain {
		return norm != "localhost" && !strings.HasSuffix(norm, ".localhost")
	}
	ip, err := netip.ParseAddr(norm)
	return err == nil && snapshot.PublicAddr(ip)
}

// CheckTeoProxyOrigins refuses the rules of one proxy, with groups
// holding the origin groups they use, when their ports times origins would
// exceed TeoMaxProxyOrigins and the count the proxy has stored (stored: a
// proxy past the bound, from before it, may change in ways that do not
// add to it). code is the one the calling action answers:
// LimitExceeded.ProxyRulesLimitExceeded for rule changes (as
// CheckTeoProxyPorts), LimitExceeded for ModifyOriginGroup, whose new
// records are what would cross the bound.
func CheckTeoProxyOrigins(code apierr.Code, rules []*TeoL4Rule, groups map[string]*TeoOriginGroup, stored int) error {
	if n := TeoProxyOrigins(rules, groups); n > TeoMaxProxyOrigins && n > stored {
		return apierr.New(code, "the proxy's rules would forward %d (port, origin) pairs (each port of a rule to each of its origins); "+
			"a proxy may hold at most %d: use fewer ports per rule or fewer origins per group", n, TeoMaxProxyOrigins)
	}
	return nil
}

// TeoProxyOrigins is how many (port, origin) pairs rules forward to, with
// groups holding the origin groups they use.
func TeoProxyOrigins(rules []*TeoL4Rule, groups map[string]*TeoOriginGroup) int {
	n := 0
	for _, r := range rules {
		n += r.Ports() * r.Origins(groups)
	}
	return n
}

// TeoProxyPorts is how many ports rules listen on together.
func TeoProxyPorts(rules []*TeoL4Rule) int {
	n := 0
	for _, r := range rules {
		n += r.Ports()
	}
	return n
}

// CheckTeoProxyPorts refuses the rules of one proxy when two of them
// listen on a common port of one protocol (InvalidParameter.RulePortDuplicating,
// naming the later rule of rules first), or when they would listen on more
// than TeoMaxProxyPorts ports together: LimitExceeded.ProxyRulesLimitExceeded,
// the spec's code for too many rules, unless the proxy already listens on
// as many (stored, from before the bound: a change that adds no port is
// not refused). One rule is bounded by Check, but without a bound on the
// proxy its rules could take every port, each a descriptor of the process
// serving every proxy of the node. The rules are assumed valid (Check
// passed), so no rule overlaps itself.
//
// Every Create and ModifyL4ProxyRules checks all of the proxy's rules, up
// to 4096, in a write transaction: each rule's spans are parsed once and
// swept in port order, O(R log R) rather than a comparison of every pair.
func CheckTeoProxyPorts(rules []*TeoL4Rule, stored int) error {
	type span struct {
		PortSpan
		rule int // index in rules
	}
	var spans []span
	n := 0
	for i, r := range rules {
		for _, m := range r.PortMaps() {
			s := span{PortSpan{m.Start, m.End}, i}
			spans = append(spans, s)
			n += s.Len()
		}
	}
	if n > TeoMaxProxyPorts && n > stored {
		return apierr.New(apierr.LimitExceededProxyRulesLimitExceeded, "the proxy's rules would listen on %d ports; a proxy may listen on at most %d (TCP and UDP together, offline rules included): delete rules or use another proxy", n, TeoMaxProxyPorts)
	}
	proto := func(s span) string { return rules[s.rule].Protocol }
	slices.SortFunc(spans, func(a, b span) int {
		return cmp.Or(strings.Compare(proto(a), proto(b)), cmp.Compare(a.Start, b.Start))
	})
	// In start order, spans that do not overlap end in order too, so the
	// first overlap is between neighbours.
	for i := 1; i < len(spans); i++ {
		if a, b := spans[i-1], spans[i]; proto(a) == proto(b) && b.Start <= a.End {
			r, o := rules[max(a.rule, b.rule)], rules[min(a.rule, b.rule)]
			return apierr.New(apierr.InvalidParameterRulePortDuplicating, "%s ports %v overlap rule %s (%s %v)", r.Protocol, r.PortRange, o.ID, o.Protocol, o.PortRange)
		}
	}
	return nil
}

// originGroupShaped reports whether v has the shape of an origin group ID
// (NewTeoUUID(PrefixTeoOriginGroup)): "origin-" and a UUID.
func originGroupShaped(v string) bool {
	u, ok := strings.CutPrefix(v, PrefixTeoOriginGroup+"-")
	if !ok || len(u) != 36 {
		return false
	}
	for i, c := range u {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}
