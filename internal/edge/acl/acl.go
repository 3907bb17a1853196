// Package acl compiles a snapshot.SecurityPolicy into a matcher that the
// data plane consults once per TCP connection and once per UDP datagram.
package acl

import (
	"net/netip"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// Policy is a compiled security policy. It is immutable and safe for
// concurrent use. A nil *Policy accepts everything.
type Policy struct {
	accept bool // Default action.
	rules  []rule
}

type rule struct {
	src    netip.Prefix // Zero prefix: any source.
	proto  string       // TCP, UDP or ALL.
	ports  []snapshot.PortRange
	accept bool
}

// Compile builds a matcher. A nil or disabled policy compiles to nil (accept
// everything), so the hot path pays one pointer test.
func Compile(p *snapshot.SecurityPolicy) (*Policy, error) {
	if p == nil || !p.Enabled {
		return nil, nil
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	out := &Policy{accept: p.DefaultAction == snapshot.ActionAccept}
	for _, r := range p.Rules {
		src, _ := snapshot.ParseSource(r.SourceCIDR) // Checked by Validate.
		ports, _ := snapshot.ParsePorts(r.DestPorts) // Checked by Validate.
		out.rules = append(out.rules, rule{src, r.Protocol, ports, r.Action == snapshot.ActionAccept})
	}
	return out, nil
}

// Allow reports whether traffic from src to the local port over proto
// ("TCP" or "UDP") is accepted. The first matching rule decides.
func (p *Policy) Allow(src netip.Addr, proto string, port int) bool {
	if p == nil {
		return true
	}
	// Without its zone: a link-local peer's address carries one
	// (fe80::1%lo), and a prefix contains no zoned address, so rules for
	// ::/0 or fe80::/10 never matched such a client.
	src = src.Unmap().WithZone("")
	for i := range p.rules {
		if p.rules[i].match(src, proto, port) {
			return p.rules[i].accept
		}
	}
	return p.accept
}

func (r *rule) match(src netip.Addr, proto string, port int) bool {
	if r.proto != snapshot.ProtoAll && r.proto != proto {
		return false
	}
	if r.src.IsValid() && !r.src.Contains(src) {
		return false
	}
	if r.ports == nil {
		return true
	}
	for _, pr := range r.ports {
		if port >= pr.Lo && port <= pr.Hi {
			return true
		}
	}
	return false
}
