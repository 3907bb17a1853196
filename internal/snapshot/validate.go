package snapshot

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ObjectError is a validation failure of one object. The edge applies every
// valid object and reports these per object instead of rejecting the whole
// snapshot (traefik's runtime status idea): one bad listener must not take a
// node's other listeners down.
type ObjectError struct {
	Kind string // "proxy", "listener", "origin" or "policy".
	ID   string
	// ProxyID is the owning proxy (for listeners, origins, policies).
	ProxyID string
	Err     error
}

func (e *ObjectError) Error() string { return fmt.Sprintf("%s %s: %v", e.Kind, e.ID, e.Err) }
func (e *ObjectError) Unwrap() error { return e.Err }

// Validate checks the whole snapshot and returns one error per invalid
// object (nil if all are valid). Duplicate IDs and two listeners of one
// access IP on the same protocol and port are errors of the later object.
func (s *Snapshot) Validate() []*ObjectError {
	var errs []*ObjectError
	add := func(kind, id, proxy string, err error) {
		errs = append(errs, &ObjectError{Kind: kind, ID: id, ProxyID: proxy, Err: err})
	}
	seen := map[string]bool{}
	socks := map[string]string{}
	for i := range s.Proxies {
		p := &s.Proxies[i]
		if err := p.validate(); err != nil {
			add("proxy", p.ID, p.ID, err)
		}
		if seen["p/"+p.ID] {
			add("proxy", p.ID, p.ID, errors.New("duplicate proxy ID"))
		}
		// A policy fails alone, not its proxy's listeners; one that is not
		// enforced does not matter.
		if p.Policy != nil && p.Policy.Enabled {
			if err := p.Policy.Validate(); err != nil {
				add("policy", p.Policy.ID, p.ID, err)
			}
		}
		seen["p/"+p.ID] = true
		for j := range p.Listeners {
			l := &p.Listeners[j]
			err := l.Validate()
			if err == nil && seen["l/"+l.ID] {
				err = errors.New("duplicate listener ID")
			}
			sock := fmt.Sprintf("%s/%s:%d", l.Protocol, p.AccessIP, l.Port)
			if other, ok := socks[sock]; err == nil && ok {
				err = fmt.Errorf("%s already used by listener %s", sock, other)
			}
			if err == nil && l.Protocol == ProtoUDP && unspecified(p.AccessIP) {
				// A reply from a socket bound to all addresses leaves from
				// the route's address, not the one the client reached,
				// and a connected client drops it.
				err = errors.New("a UDP listener needs a specific access IP, not all addresses")
			}
			if err != nil {
				add("listener", l.ID, p.ID, err)
				continue
			}
			seen["l/"+l.ID] = true
			socks[sock] = l.ID
		}
		errs = append(errs, p.validateHTTP(seen, socks)...)
	}
	return append(errs, s.validateMirrors()...)
}

// validateHTTP checks a proxy's HTTP listeners. They occupy TCP ports, so
// they conflict with TCP listeners of the same access IP and port; with
// HTTP/3 they also occupy the UDP port.
func (p *Proxy) validateHTTP(seen map[string]bool, socks map[string]string) []*ObjectError {
	var errs []*ObjectError
	for j := range p.HTTPListeners {
		l := &p.HTTPListeners[j]
		err := l.Validate()
		if err == nil && seen["l/"+l.ID] {
			err = errors.New("duplicate listener ID")
		}
		sock := fmt.Sprintf("%s/%s:%d", ProtoTCP, p.AccessIP, l.Port)
		if other, ok := socks[sock]; err == nil && ok {
			err = fmt.Errorf("%s already used by listener %s", sock, other)
		}
		udp := fmt.Sprintf("%s/%s:%d", ProtoUDP, p.AccessIP, l.Port)
		if other, ok := socks[udp]; err == nil && l.HTTP3 && ok {
			err = fmt.Errorf("%s (HTTP/3) already used by listener %s", udp, other)
		}
		if err != nil {
			errs = append(errs, &ObjectError{Kind: "listener", ID: l.ID, ProxyID: p.ID, Err: err})
			continue
		}
		seen["l/"+l.ID] = true
		socks[sock] = l.ID
		if l.HTTP3 {
			socks[udp] = l.ID
		}
	}
	return errs
}

// unspecified reports whether ip binds all addresses ("", 0.0.0.0, ::).
func unspecified(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return ip == "" || err == nil && a.IsUnspecified()
}

func (p *Proxy) validate() error {
	switch {
	case p.ID == "":
		return errors.New("empty ID")
	case p.AccessIP != "" && !validIP(p.AccessIP):
		return fmt.Errorf("access IP %q is not an IP literal", p.AccessIP)
	case p.BandwidthMbps < 0 || p.MaxConns < 0:
		return errors.New("negative bandwidth or connection cap")
	}
	return nil
}

// Validate checks one listener and its origins.
func (l *Listener) Validate() error {
	switch {
	case l.ID == "":
		return errors.New("empty ID")
	case l.Protocol != ProtoTCP && l.Protocol != ProtoUDP:
		return fmt.Errorf("protocol %q: want TCP or UDP", l.Protocol)
	case l.Port < 1 || l.Port > 65535:
		return fmt.Errorf("port %d out of range", l.Port)
	case l.SessionPersist < 0 || l.ConnectTimeout < 0 || l.IdleTimeout < 0:
		return errors.New("negative duration")
	}
	switch l.Scheduler {
	case SchedRR, SchedWRR, SchedLC, SchedLRTT:
	default:
		return fmt.Errorf("scheduler %q: want rr, wrr, lc or lrtt", l.Scheduler)
	}
	switch l.ClientIP {
	case ClientIPNone, ClientIPPPV2:
	case ClientIPPPV1, ClientIPTOA:
		if l.Protocol == ProtoUDP {
			return fmt.Errorf("%s cannot carry UDP", l.ClientIP)
		}
	case ClientIPSPP:
		if l.Protocol != ProtoUDP {
			return errors.New("SPP carries UDP only")
		}
	default:
		return fmt.Errorf("client IP mode %q not supported", l.ClientIP)
	}
	if err := l.Health.validate(l.Protocol); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	return validateOrigins(l.Origins)
}

// validateOrigins checks a listener's or rule's origins; their IDs name
// their health, scheduling state and counters, so they must differ.
func validateOrigins(os []Origin) error {
	seen := make(map[string]bool, len(os))
	for i := range os {
		if err := os[i].validate(); err != nil {
			return fmt.Errorf("origin %s: %w", os[i].ID, err)
		}
		if seen[os[i].ID] {
			return fmt.Errorf("origin %s listed twice", os[i].ID)
		}
		seen[os[i].ID] = true
	}
	return nil
}

func (o *Origin) validate() error {
	switch {
	case o.ID == "":
		return errors.New("empty ID")
	case o.Port < 1 || o.Port > 65535:
		return fmt.Errorf("port %d out of range", o.Port)
	case o.Weight < 0 || o.Weight > 100:
		return fmt.Errorf("weight %d out of 0-100", o.Weight)
	case o.Host == "":
		return errors.New("empty host")
	}
	// A host that is not an IP literal while IsDomain is false (a row of
	// an older format) is not an error of the listener or rule: the origin
	// gets no address, so no traffic, and reads abnormal
	// (health.Backend.Status), while the other origins serve.
	return nil
}

func (h *HealthCheck) validate(proto string) error {
	if !h.Enabled {
		return nil
	}
	if h.Interval < 0 || h.Timeout < 0 || h.Healthy < 0 || h.Unhealthy < 0 {
		return errors.New("negative value")
	}
	if h.Timeout > 0 && h.Interval > 0 && h.Timeout > h.Interval {
		return errors.New("timeout exceeds interval")
	}
	if proto == ProtoTCP {
		return nil
	}
	switch h.CheckType {
	case "", CheckPort, CheckPing:
	default:
		return fmt.Errorf("check type %q: want PORT or PING", h.CheckType)
	}
	if h.Port < 0 || h.Port > 65535 {
		return fmt.Errorf("check port %d out of range", h.Port)
	}
	_, _, err := h.Payloads()
	return err
}

// Payloads decodes Send and Recv according to ContextType.
func (h *HealthCheck) Payloads() (send, recv []byte, err error) {
	return decodePayload(h.ContextType, h.Send, h.Recv)
}

// Validate checks actions, CIDRs, protocols and port lists.
func (p *SecurityPolicy) Validate() error {
	if p.DefaultAction != ActionAccept && p.DefaultAction != ActionDrop {
		return fmt.Errorf("default action %q: want ACCEPT or DROP", p.DefaultAction)
	}
	for i, r := range p.Rules {
		if err := r.validate(); err != nil {
			return fmt.Errorf("rule %d: %w", i, err)
		}
	}
	return nil
}

func (r SecurityRule) validate() error {
	if r.Action != ActionAccept && r.Action != ActionDrop {
		return fmt.Errorf("action %q: want ACCEPT or DROP", r.Action)
	}
	if r.Protocol != ProtoTCP && r.Protocol != ProtoUDP && r.Protocol != ProtoAll {
		return fmt.Errorf("protocol %q: want TCP, UDP or ALL", r.Protocol)
	}
	if _, err := ParseSource(r.SourceCIDR); err != nil {
		return err
	}
	_, err := ParsePorts(r.DestPorts)
	return err
}

// ParseSource parses a rule source: an address, a CIDR, or "ALL". "ALL"
// is the zero prefix, any source of either family; a CIDR, /0 included,
// holds addresses of its own family only (0.0.0.0/0 no IPv6 address, ::/0
// no IPv4 one). An IPv4-mapped source is the IPv4 one, as the data plane
// unmaps clients: ::ffff:1.2.3.4 is 1.2.3.4/32 and ::ffff:10.0.0.0/104
// is 10.0.0.0/8; a shorter IPv6 prefix (::ffff:1.2.3.4/64 is ::/64) stays
// IPv6. The result is masked, so equal networks compare equal.
func ParseSource(s string) (netip.Prefix, error) {
	if strings.EqualFold(s, "ALL") {
		return netip.Prefix{}, nil // The zero prefix means "any".
	}
	p, err := netip.ParsePrefix(s)
	if a, aerr := netip.ParseAddr(s); aerr == nil {
		p, err = netip.PrefixFrom(a, a.BitLen()), nil
	}
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("source %q: not an IP or CIDR", s)
	}
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Lo, Hi int }

// ParsePorts parses "ALL", "80", "80,443" or "3306-20000" (and mixes). ALL
// returns nil, meaning every port.
func ParsePorts(s string) ([]PortRange, error) {
	if strings.EqualFold(strings.TrimSpace(s), "ALL") {
		return nil, nil
	}
	var out []PortRange
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
			return nil, fmt.Errorf("ports %q: bad element %q", s, part)
		}
		out = append(out, PortRange{a, b})
	}
	return out, nil
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// notGlobal are the special-purpose blocks that IANA's registries mark
// not globally reachable and that netip's predicates leave as global
// unicast. Several are routed inside networks (198.18/15 in data centres
// and by fake-IP proxies, 240/4 for pod networks), which is what
// --deny-private-origins closes. The documentation blocks (192.0.2/24,
// 198.51.100/24, 203.0.113/24, 2001:db8::/32) count as public: the tests
// use 198.51.100.7 as a stand-in for a public address.
var notGlobal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "This network" (RFC 791)
	netip.MustParsePrefix("100.64.0.0/10"), // Carrier-grade NAT, shared (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("198.18.0.0/15"), // Benchmarking (RFC 2544)
	netip.MustParsePrefix("240.0.0.0/4"),   // Reserved (RFC 1112), 255.255.255.255 included
	netip.MustParsePrefix("fec0::/10"),     // Site-local, deprecated (RFC 3879)
	netip.MustParsePrefix("100::/64"),      // Discard-only (RFC 6666)
}

// IPv6 prefixes whose addresses a translator on the node's path may
// deliver to the IPv4 host they embed (see embeddedIPv4).
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")    // RFC 6052 well-known prefix
	nat64L    = netip.MustParsePrefix("64:ff9b:1::/48")  // RFC 8215 local-use prefix
	sixToFour = netip.MustParsePrefix("2002::/16")       // RFC 3056 6to4
	v4compat  = netip.MustParsePrefix("::/96")           // RFC 4291 §2.5.5.1, deprecated
	siit      = netip.MustParsePrefix("::ffff:0:0:0/96") // RFC 2765 §2.1 IPv4-translated
	teredo    = netip.MustParsePrefix("2001::/32")       // RFC 4380 §4
)

// PublicAddr reports whether ip is reachable on the internet rather than
// only from the edge host itself or its network: not loopback, private,
// link-local, shared (CGNAT) or another block not globally reachable
// (notGlobal). It is the one test of
// --deny-private-origins: the API refuses such origin and collector
// addresses, and the edge drops them from what a domain origin resolves
// to, so a name cannot reach what the literal address may not.
//
// An IPv6 address that embeds an IPv4 destination (NAT64, 6to4,
// IPv4-compatible, IPv4-translated, Teredo) is judged as that IPv4
// address, since on a node behind such a translator (an IPv6-only subnet
// whose NAT gateway does NAT64, say) it reaches that host, as
// ::ffff:a.b.c.d does.
func PublicAddr(ip netip.Addr) bool {
	ip, ok := embeddedIPv4(ip.Unmap())
	return ok && ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() &&
		!slices.ContainsFunc(notGlobal, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// NotOneHost reports whether ip is the address of no one host:
// unspecified, multicast or IPv4's limited broadcast (an IPv4-mapped one
// too). Nothing that must reach one server may name it, whatever
// --deny-private-origins: an origin (a literal, or what a domain origin
// resolves to, since a connect to 0.0.0.0 or :: reaches the node's own
// loopback), a mirror collector, the answer of a global domain.
func NotOneHost(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// embeddedIPv4 returns the IPv4 address a NAT64 (64:ff9b::/96), 6to4
// (2002::/16, bits 16-47), IPv4-compatible (::/96 but :: and ::1),
// IPv4-translated (::ffff:0:0:0/96, which a stateless translator delivers to
// that IPv4 host) or Teredo (2001::/32: the client's address, the last 32
// bits inverted) address embeds, ip itself if it is none of these, and
// false for an
// address of the RFC 8215 local-use NAT64 prefix 64:ff9b:1::/48: where
// its IPv4 part sits depends on the prefix length the operator chose
// (RFC 6052 §2.2), and the prefix is by definition not globally
// reachable (IANA special-purpose registry).
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case nat64L.Contains(ip):
		return ip, false
	case nat64.Contains(ip), siit.Contains(ip), v4compat.Contains(ip) && ip.Compare(netip.IPv6Loopback()) > 0:
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	case teredo.Contains(ip):
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	}
	return ip, true
}
