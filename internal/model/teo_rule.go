package model

import "strconv"

// Origin types of an L4 rule (L4ProxyRule.OriginType).
const (
	OriginIPDomain    = "IP_DOMAIN"
	OriginOriginGroup = "ORIGIN_GROUP"
	OriginLB          = "LB"
)

// Client IP pass-through modes (ClientIPPassThroughMode).
const (
	PassTOA  = "TOA"
	PassPPV1 = "PPV1"
	PassPPV2 = "PPV2"
	PassSPP  = "SPP"
	PassOff  = "OFF"
)

// DefaultSessionPersistTime is SessionPersistTime when left out (or 0)
// with SessionPersist on (seconds). With SessionPersist off a left-out time
// stays 0 (Check).
const DefaultSessionPersistTime = 3600

// TeoMaxRulePorts is how many ports one rule may listen on, all its
// PortRange spans together. The spec sets no bound, but the data plane
// binds a socket (and keeps counters) per port, so Check refuses a wider
// rule rather than have it serve part of its range.
const TeoMaxRulePorts = 2048

// TeoMaxProxyPorts is how many ports the rules of one L4 proxy may listen
// on together, TCP and UDP, rules offline included (ModifyL4ProxyRulesStatus
// brings them back without another check): two rules of TeoMaxRulePorts.
// The spec sets no bound either, but each port is a socket of the one
// process serving every proxy of the node (CheckTeoProxyPorts).
const TeoMaxProxyPorts = 2 * TeoMaxRulePorts

// TeoMaxProxyOrigins is how many (port, origin) pairs the rules of one L4
// proxy may compile to together: each port of a rule is a listener holding
// every origin of the rule, and where an OriginPortRange maps ports 1:1 each
// pair is a distinct backend with a health checker of its own on the edge.
// Without it one rule of TeoMaxRulePorts ports over a group of a few
// thousand records made millions of checkers on the node serving every
// tenant. The bound is the most a GAAP proxy may hold (MaxOwnerBindings),
// so the data plane sees no more per proxy from EdgeOne than from GAAP
// (CheckTeoProxyOrigins).
const TeoMaxProxyOrigins = MaxOwnerBindings

// KindTeoL4Rule is the stored kind of TeoL4Rule.
const KindTeoL4Rule = "teol4rule"

// TeoL4Rule is a forwarding rule of an L4 proxy: one protocol, one or more
// ports or port ranges, and the origins they forward to.
//
// For the data plane (the controller compiles one listener per entry of
// PortMaps, on the proxy's IP):
//   - the rule listens only while Listening() and its proxy serves;
//   - Protocol is TCP or UDP;
//   - PortMaps gives each listening port span and the origin port(s) it
//     maps to (one origin port for every listening port, or a range mapped
//     one to one);
//   - origins are OriginValue when OriginType is IP_DOMAIN (IP literals,
//     or a single domain name: OriginIsDomain), else the records of the
//     origin group OriginValue[0] (TeoOriginGroup.Records, weights apply);
//   - ClientIPMode is PPV1, PPV2, SPP, OFF or TOA (TOA on TCP only, and
//     only where the server can write it: Capabilities.TOA);
//   - SessionPersistSeconds() is the session persistence (0 = off).
type TeoL4Rule struct {
	Base
	ZoneID     string   `json:"zoneId"`
	ProxyID    string   `json:"proxyId"`
	Protocol   string   `json:"protocol"`
	PortRange  []string `json:"portRange"`
	OriginType string   `json:"originType"`
	// OriginValue is as the caller spelled it (Describe answers it so:
	// Terraform compares exactly); OriginHosts is it normalised
	// (ParseOrigin), what the data plane connects to and comparisons use.
	// Rows stored before OriginHosts hold the normalised OriginValue.
	OriginValue     []string `json:"originValue"`
	OriginHosts     []string `json:"originHosts,omitempty"`
	OriginIsDomain  bool     `json:"originIsDomain,omitempty"`
	OriginPortRange string   `json:"originPortRange"`
	ClientIPMode    string   `json:"clientIpMode"`
	SessionPersist  string   `json:"sessionPersist"`
	// SessionPersistTime is as given while SessionPersist is off (0 when
	// left out; rows stored before this rule hold 30-3600); with
	// SessionPersist on, Check makes it 30-3600.
	SessionPersistTime int64  `json:"sessionPersistTime"`
	RuleTag            string `json:"ruleTag,omitempty"`
	Status             string `json:"status"`
	// Disabled is the state ModifyL4ProxyRulesStatus aims for (offline).
	Disabled bool `json:"disabled"`
	// OriginSlots numbers the origins of OriginValue (IP_DOMAIN), position
	// by position, for OriginID; nil (a rule never edited, or stored before
	// slots) numbers them by position. OriginNextSlot is the slot the next
	// newly listed origin gets (RenumberOrigins).
	OriginSlots    []int `json:"originSlots,omitempty"`
	OriginNextSlot int   `json:"originNextSlot,omitempty"`
}

func (r *TeoL4Rule) Kind() string   { return KindTeoL4Rule }
func (r *TeoL4Rule) Parent() string { return r.ProxyID }
func (r *TeoL4Rule) Project() int64 { return 0 }

// Settle finishes the rule's pending transition.
func (r *TeoL4Rule) Settle() (changed, remove bool) { return settleL4(&r.Status, r.Disabled), false }

// ShownStatus is the status the API reports for the rule. While the data
// plane could not deploy one of its ports (the port taken by another
// socket, say: deploying failed), a rule that is or is becoming online
// reads fail, the spec's 部署失败, rather than a status that promises
// traffic. The stored status is left as it is, so the rule reads online
// again once a later pass deploys every port (the controller keeps
// retrying it and settles progress only then).
func (r *TeoL4Rule) ShownStatus(deployFailed bool) string {
	if deployFailed && (r.Status == L4Online || r.Status == L4Progress) {
		return L4Fail
	}
	return r.Status
}

// Listening reports whether the rule should forward (its proxy and zone
// permitting).
func (r *TeoL4Rule) Listening() bool { return !r.Disabled }

// SessionPersistSeconds is the persistence time when SessionPersist is on.
func (r *TeoL4Rule) SessionPersistSeconds() int64 {
	if r.SessionPersist != TeoOn {
		return 0
	}
	return r.SessionPersistTime
}

// Touch marks a configuration change: an online rule redeploys.
func (r *TeoL4Rule) Touch() {
	if r.Status == L4Online {
		r.Status = L4Progress
	}
}

// SetEnabled starts (online) or stops (offline) the rule.
func (r *TeoL4Rule) SetEnabled(enable bool) {
	setEnabledL4(&r.Status, &r.Disabled, enable)
}

// OriginID names the origin OriginValue[i] of an IP_DOMAIN rule in
// the data plane: its counters (the /metrics scrape, which anyone reaching
// it reads, and the stored statistics), its health key and its clients'
// session pins. A rule's own, so no two rules (nor accounts) share the
// counters of one address, and never the address, which is what a tenant
// puts a proxy in front of an origin to hide. By slot (RenumberOrigins),
// not position: an edit that removes or reorders origins leaves the others
// their IDs, so their pinned clients stay and their counters go on. A
// rule's first slots are its positions, the IDs rules had before slots.
func (r *TeoL4Rule) OriginID(i int) string { return r.ID + "/origin-" + strconv.Itoa(r.originSlot(i)) }

// OriginHost is origin i normalised (OriginHosts, or OriginValue as rows
// stored before it hold it).
func (r *TeoL4Rule) OriginHost(i int) string {
	if len(r.OriginHosts) == len(r.OriginValue) {
		return r.OriginHosts[i]
	}
	return r.OriginValue[i]
}

// originSlot is OriginValue[i]'s slot.
func (r *TeoL4Rule) originSlot(i int) int {
	if i < len(r.OriginSlots) {
		return r.OriginSlots[i]
	}
	return i
}

// RenumberOrigins gives the (checked) OriginValue its slots after an edit
// of prev, the rule as stored: an origin prev listed keeps its slot, one
// new to the rule gets a slot never used by it before, so that no new
// origin takes over a removed one's counters or pinned clients.
func (r *TeoL4Rule) RenumberOrigins(prev *TeoL4Rule) {
	kept := map[string]int{}
	next := prev.OriginNextSlot
	if prev.OriginType == OriginIPDomain {
		for i := range prev.OriginValue {
			slot := prev.originSlot(i)
			kept[prev.OriginHost(i)], next = slot, max(next, slot+1)
		}
	}
	r.OriginSlots, r.OriginNextSlot = nil, next
	if r.OriginType != OriginIPDomain {
		return
	}
	r.OriginSlots = make([]int, len(r.OriginValue))
	for i := range r.OriginValue {
		slot, ok := kept[r.OriginHost(i)]
		if !ok {
			slot, next = next, next+1
		}
		r.OriginSlots[i] = slot
	}
	r.OriginNextSlot = next
}

// TeoPortMap is one listening span of a rule and where it forwards: port
// Start+k goes to OriginStart+k when Ranged, else every port goes to
// OriginStart.
type TeoPortMap struct {
	Start, End  int
	OriginStart int
	Ranged      bool
}

// PortMaps lists the rule's listening spans with their origin ports. The
// rule is assumed valid (Check passed).
func (r *TeoL4Rule) PortMaps() []TeoPortMap {
	origin, _ := ParsePortSpan("OriginPortRange", r.OriginPortRange)
	out := make([]TeoPortMap, 0, len(r.PortRange))
	for _, s := range r.PortRange {
		span, _ := ParsePortSpan("PortRange", s)
		out = append(out, TeoPortMap{Start: span.Start, End: span.End, OriginStart: origin.Start, Ranged: origin.End > origin.Start})
	}
	return out
}

// Ports is how many ports the rule listens on. The rule is assumed valid
// (Check passed).
func (r *TeoL4Rule) Ports() int {
	n := 0
	for _, m := range r.PortMaps() {
		n += m.End - m.Start + 1
	}
	return n
}

// Origins is how many origins each port of r forwards to: the records of
// its origin group (in groups, by ID; 0 when it is missing) or its
// OriginValue entries.
func (r *TeoL4Rule) Origins(groups map[string]*TeoOriginGroup) int {
	if r.OriginType != OriginOriginGroup {
		return len(r.OriginValue)
	}
	if len(r.OriginValue) == 0 || groups[r.OriginValue[0]] == nil {
		return 0
	}
	return len(groups[r.OriginValue[0]].Records)
}
