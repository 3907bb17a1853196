package model

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// Limits of security policies and global domains (docs/api-misc.md).
const (
	// MaxSecurityRules is the number of rules one policy may hold.
	MaxSecurityRules = 200
	// MaxRuleAlias is the AliasName length; longer names are truncated,
	// as ModifySecurityRule documents.
	MaxRuleAlias = 30
	// MaxGlobalDomains is the number of global domains per account.
	MaxGlobalDomains = 500
	// MaxAliasLen bounds a global domain's Alias.
	MaxAliasLen = 128
	// MaxClientTokenLen bounds an idempotency token: "最大值不超过64个ASCII字符"
	// in every action that takes one.
	MaxClientTokenLen = 64
)

// ClientTokenClaims prefixes the store claim namespace of every
// account's ClientTokens ("clienttoken/<uin>"). Only claims under it
// expire (controller.ClaimRetention): other claims, such as the
// default-VPC marker, are kept for good.
const ClientTokenClaims = "clienttoken/"

// ValidateClientToken checks an idempotency token: at most
// MaxClientTokenLen printable ASCII characters. Tencent refuses any other,
// so a client must not learn to send one here; control characters (NUL
// above all, which no store engine can keep the same way) are refused too.
func ValidateClientToken(token string) error {
	for _, r := range token {
		if r > unicode.MaxASCII {
			return invalid("ClientToken", "%q is not ASCII", r)
		}
		if r < 0x20 || r == 0x7f {
			return invalid("ClientToken", "%q is a control character", r)
		}
	}
	if len(token) > MaxClientTokenLen {
		return invalid("ClientToken", "has %d characters; at most %d are allowed", len(token), MaxClientTokenLen)
	}
	return nil
}

// ParseSecurityAction checks an ACCEPT/DROP action. Case is ignored
// because the reference's own example sends "Accept".
func ParseSecurityAction(param, v string) (string, error) {
	switch a := strings.ToUpper(strings.TrimSpace(v)); a {
	case Accept, Drop:
		return a, nil
	}
	return "", invalid(param, "%q is not ACCEPT or DROP", v)
}

// ParseRuleProtocol checks a rule protocol; empty means ALL.
func ParseRuleProtocol(param, v string) (string, error) {
	switch p := strings.ToUpper(strings.TrimSpace(v)); p {
	case "":
		return "ALL", nil
	case TCP, UDP, "ALL":
		return p, nil
	}
	return "", invalid(param, "%q is not TCP, UDP or ALL", v)
}

// ParseRuleSource checks a rule source: an IP address or a CIDR block.
func ParseRuleSource(param, v string) (string, error) {
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		if a.Zone() != "" {
			return "", invalid(param, "%q: an IPv6 zone (%%%s) names a local interface and cannot match a client's address", v, a.Zone())
		}
		return v, nil
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return v, nil
	}
	return "", invalid(param, "%q is not an IP address or a CIDR block", v)
}

// ParseRulePorts checks DestPortRange: "ALL", a port ("80"), a list
// ("80,443"), a range ("3306-20000") or a list mixing ports and ranges.
// Empty means ALL. It returns the canonical form, which the data plane
// reads: each element rewritten ("080" as 80, "80 - 90" as 80-90, "80-80"
// as 80) in the order given. SameMatch compares the port sets
// (canonPorts); Describe shows the value as written (AsGiven).
func ParseRulePorts(param, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.EqualFold(v, "ALL") {
		return "ALL", nil
	}
	parts := strings.Split(v, ",")
	for i, part := range parts {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := rulePortNum(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = rulePortNum(hi)
		}
		if err1 != nil || err2 != nil {
			return "", invalid(param, "%q: ports must be decimal integers from 1 to 65535, without a sign", part)
		}
		if a > b {
			return "", invalid(param, "range %q: the first port must not exceed the last", part)
		}
		parts[i] = strconv.Itoa(a)
		if b != a {
			parts[i] += "-" + strconv.Itoa(b)
		}
	}
	return strings.Join(parts, ","), nil
}

func rulePortNum(s string) (int, error) {
	s = strings.TrimSpace(s)
	if strings.Trim(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, strconv.ErrRange
	}
	return n, nil
}

// TruncateAlias cuts a rule alias to MaxRuleAlias characters.
func TruncateAlias(s string) string {
	r := []rune(s)
	if len(r) > MaxRuleAlias {
		r = r[:MaxRuleAlias]
	}
	return string(r)
}

// SameMatch reports whether two rules match the same traffic; a policy
// may not hold two such rules (FailedOperation.ProxySecurityPolicyDuplicatedRule),
// whatever their actions, since the second would never apply.
func (r SecurityRule) SameMatch(o SecurityRule) bool {
	return canonSource(r.SourceCidr) == canonSource(o.SourceCidr) &&
		r.Protocol == o.Protocol && canonPorts(r.DestPortRange) == canonPorts(o.DestPortRange)
}

// canonPorts is the set of ports a DestPortRange stands for, as the data
// plane reads it (snapshot.ParsePorts), written as sorted, merged ranges:
// ALL and 1-65535, 80 and 80,80, 80,443 and 443,80, 80,81 and 80-81 are
// the same set. Only comparisons use it: the rule keeps the text its
// caller sent, as Tencent's echo of a reordered list is unknown and
// rewriting it would make declarative clients (Terraform) see drift.
func canonPorts(s string) string {
	ranges, err := snapshot.ParsePorts(s)
	if err != nil {
		return s
	}
	if ranges == nil {
		ranges = []snapshot.PortRange{{Lo: 1, Hi: 65535}}
	}
	slices.SortFunc(ranges, func(a, b snapshot.PortRange) int { return cmp.Compare(a.Lo, b.Lo) })
	merged := ranges[:1]
	for _, r := range ranges[1:] {
		last := &merged[len(merged)-1]
		if r.Lo <= last.Hi+1 {
			last.Hi = max(last.Hi, r.Hi)
			continue
		}
		merged = append(merged, r)
	}
	var b strings.Builder
	for i, r := range merged {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi))
	}
	return b.String()
}

// canonSource is the network a rule source stands for, as the data plane
// reads it (snapshot.ParseSource): 1.2.3.4, 1.2.3.4/32 and ::ffff:1.2.3.4
// are the same source.
func canonSource(s string) string {
	if p, err := snapshot.ParseSource(s); err == nil {
		return p.String()
	}
	return s
}

// ParseGlobalTarget checks a global domain's DefaultValue: the entry the
// domain resolves to when no DNS record matches, an IP address or a
// domain name. An IPv6 address with a zone is refused: the zone names an
// interface of some host, and no DNS answer can carry it. So is one of no
// one host (unspecified, multicast, broadcast), as for origins: clients
// told it would reach no server.
func ParseGlobalTarget(param, v string) (string, error) {
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		if a.Zone() != "" {
			return "", invalid(param, "%q: an IPv6 zone (%%%s) names a local interface and cannot be given in a DNS answer", v, a.Zone())
		}
		if snapshot.NotOneHost(a) {
			return "", invalid(param, "%s is an unspecified, multicast or broadcast address, which reaches no server", v)
		}
		return v, nil
	}
	if IsHostName(v) {
		return strings.ToLower(v), nil
	}
	return "", invalid(param, "%q is neither an IP address nor a domain name", v)
}

// GlobalTargetType is Domain.Type: IP or DOMAIN after DefaultValue.
func GlobalTargetType(v string) string {
	if _, err := netip.ParseAddr(v); err == nil {
		return "IP"
	}
	return "DOMAIN"
}

// ParseCountryCodes checks the NationCountryInnerCodes of a DNS record:
// at least one, digits only, no repeats.
func ParseCountryCodes(param string, codes []string) ([]string, error) {
	if len(codes) == 0 {
		return nil, invalid(param, "at least one country code is required")
	}
	out := make([]string, 0, len(codes))
	seen := map[string]bool{}
	for i, c := range codes {
		c = strings.TrimSpace(c)
		if _, err := strconv.ParseUint(c, 10, 32); err != nil {
			return nil, invalid(param+"."+strconv.Itoa(i), "%q is not a country code (see DescribeCountryAreaMapping)", c)
		}
		if seen[c] {
			return nil, invalid(param, "country %s is listed twice", c)
		}
		seen[c] = true
		out = append(out, c)
	}
	return out, nil
}

// CountryConflict returns a country of codes that another record of g
// (other than skip) already resolves, or "".
func (g *GlobalDomain) CountryConflict(codes []string, skip int64) string {
	for _, r := range g.Records {
		if r.ID == skip || r.Status == DnsDeleting {
			continue
		}
		for _, c := range codes {
			for _, have := range r.NationCountryInnerCodes {
				if c == have {
					return c
				}
			}
		}
	}
	return ""
}

// Record returns the DNS record with id, or nil.
func (g *GlobalDomain) Record(id int64) *DnsRecord {
	for i := range g.Records {
		if g.Records[i].ID == id {
			return &g.Records[i]
		}
	}
	return nil
}

// Busy reports whether a change to the record (2 creating, 3 modifying,
// 4 deleting) waits for the controller; the record may not change again
// meanwhile.
func (r *DnsRecord) Busy() bool { return r.Status != DnsRunning }

// UnappliedRecord returns a record of g being created or modified, or nil.
// Removing the domain at once would drop it before any pass applied it,
// while the task of the call that changed it answered SUCCESS. A record
// being deleted may go with its domain: gone is what its deletion asked
// for (Terraform deletes a domain's records, without waiting, before the
// domain).
func (g *GlobalDomain) UnappliedRecord() *DnsRecord {
	for i := range g.Records {
		if r := &g.Records[i]; r.Status == DnsCreating || r.Status == DnsModifying {
			return r
		}
	}
	return nil
}

// Rule returns the index of the rule with id in p, or -1.
func (p *SecurityPolicy) Rule(id string) int {
	for i, r := range p.Rules {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// Busy reports whether the policy is opening or closing; rules may not
// change meanwhile.
func (p *SecurityPolicy) Busy() bool {
	return p.Status == PolicyBinding || p.Status == PolicyUnbinding
}
