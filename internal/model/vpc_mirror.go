package model

import (
	"cmp"
	"slices"
	"strings"
)

// KindTrafficMirror is the stored kind of TrafficMirror.
const KindTrafficMirror = "trafficmirror"

// ID prefixes of traffic mirrors and their filter rules.
const (
	PrefixTrafficMirror    = "imgf"
	PrefixMirrorFilterRule = "tmfi"
)

// Traffic mirror types (TrafficMirror.Type).
const (
	// MirrorTypeVPC mirrors the proxies and listeners named by ID in
	// CollectorSrcs.
	MirrorTypeVPC = "VPC"
	// MirrorTypePublicIP mirrors the access IPs named in CollectorSrcs.
	MirrorTypePublicIP = "PUBLICIP"
)

// Traffic mirror states. "STOPED" is Tencent's spelling on the wire.
const (
	MirrorRunning = "RUNNING"
	MirrorStopped = "STOPED"
)

// Collection directions, seen from the mirrored access IP: INGRESS is
// what arrives at it (client → proxy), EGRESS what leaves it (proxy →
// client). NO-DIRECTION switches to per-direction filter rules only.
const (
	DirIngress     = "INGRESS"
	DirEgress      = "EGRESS"
	DirAll         = "ALL"
	DirNoDirection = "NO-DIRECTION"
)

// Filter rule actions.
const (
	MirrorAccept = "ACCEPT"
	MirrorDrop   = "DROP"
)

// Hash algorithms spreading mirrored packets over several collectors.
const (
	// AlgFiveTuple keeps every packet of one five-tuple flow on the same
	// collector: hash(src ip, dst ip, protocol, src port, dst port).
	AlgFiveTuple = "FIVE_TUPLE_FLOW"
	// AlgENI keeps everything of one mirrored source (access IP) on the
	// same collector: hash(source access IP).
	AlgENI = "ENI"
)

// DefaultVXLANPort is the collector UDP port used when a target names an
// IP without a port (TargetIps): the IANA VXLAN port.
const DefaultVXLANPort = 4789

// TrafficMirror copies the client-facing packets of proxies to collectors.
//
// Data plane contract: while State is RUNNING, every packet that a
// resolved source's access IP receives (INGRESS) or sends (EGRESS) and
// that EffectiveRules(direction) accepts is encapsulated in VXLAN (VNI =
// MirrorVNI) and sent over UDP to one of Target.Collectors(), chosen by
// Target.AlgHash. A STOPED mirror copies nothing.
type TrafficMirror struct {
	Base
	VpcID       string `json:"vpcId"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type"`      // MirrorTypeVPC | MirrorTypePublicIP
	State       string `json:"state"`     // MirrorRunning | MirrorStopped
	Direction   string `json:"direction"` // DirIngress | DirEgress | DirAll | DirNoDirection
	// CollectorSrcs are the sources as the user named them, echoed back.
	CollectorSrcs []string `json:"collectorSrcs"`
	// Sources are CollectorSrcs resolved when they were set: one entry
	// per mirrored proxy (a group listener yields one per member proxy,
	// and gains one for each proxy created into the group: AddMember).
	Sources []MirrorSourceRef `json:"sources"`
	// NormalFilters are the CollectorNormalFilters: a packet passes when
	// it matches no DROP filter and any ACCEPT filter (or there is none);
	// no filters = all packets.
	NormalFilters []NormalFilter `json:"normalFilters,omitempty"`
	// IngressRules and EgressRules are the prioritized filter rules.
	IngressRules []MirrorFilterRule `json:"ingressRules,omitempty"`
	EgressRules  []MirrorFilterRule `json:"egressRules,omitempty"`
	Target       MirrorTarget       `json:"target"`
	// SubnetID is the sender subnet of PUBLICIP mirrors; echoed only (the
	// node sends from its own address).
	SubnetID string `json:"subnetId,omitempty"`
	Tags     []Tag  `json:"tags,omitempty"`
}

func (m *TrafficMirror) Kind() string { return KindTrafficMirror }

// Parent is the VPC the mirror belongs to.
func (m *TrafficMirror) Parent() string { return m.VpcID }
func (m *TrafficMirror) Project() int64 { return 0 }

func init() {
	registerKind(KindTrafficMirror, func() Object { return new(TrafficMirror) })
}

// Running reports whether the mirror copies traffic.
func (m *TrafficMirror) Running() bool { return m.State == MirrorRunning }

// AddMember extends the mirror to p, a proxy created into a group after
// the mirror's sources were set, on each of listeners (the group's) that
// the mirror names, so that a group listener's mirror covers every member
// as users expect, members or not when it was set. It reports whether any
// source was added.
func (m *TrafficMirror) AddMember(listeners []*Listener, p *Proxy) bool {
	added := false
	for _, l := range listeners {
		if !slices.Contains(m.CollectorSrcs, l.ID) {
			continue
		}
		refs := ListenerSourceRefs(l.ID, l, p)
		m.Sources = append(m.Sources, refs...)
		added = added || len(refs) > 0
	}
	return added
}

// Overlap finds traffic that both m and o would copy: a source of m (the
// first result) overlapping one of o (the second). Besides the resolved
// sources, a listener both name counts: a group listener without members
// resolves to nothing, yet every proxy created into the group joins the
// sources of each mirror naming it (AddMember), and the edge would copy
// its flows for one of them only. The listener's Src is then all the
// refs hold.
func (m *TrafficMirror) Overlap(o *TrafficMirror) (MirrorSourceRef, MirrorSourceRef, bool) {
	for _, src := range m.CollectorSrcs {
		if strings.HasPrefix(src, PrefixListener+"-") && slices.Contains(o.CollectorSrcs, src) {
			return MirrorSourceRef{Src: src}, MirrorSourceRef{Src: src}, true
		}
	}
	for _, a := range m.Sources {
		if i := slices.IndexFunc(o.Sources, a.Overlaps); i >= 0 {
			return a, o.Sources[i], true
		}
	}
	return MirrorSourceRef{}, MirrorSourceRef{}, false
}

// SourceRefs are the sources o yields named as src: one per access IP,
// narrowed to listenerID unless that is "".
func SourceRefs(src, kind, listenerID string, o MirrorSource) []MirrorSourceRef {
	var out []MirrorSourceRef
	for _, ip := range o.MirrorIPs() {
		out = append(out, MirrorSourceRef{Src: src, Kind: kind, ProxyID: o.Meta().ID, IP: ip, ListenerID: listenerID})
	}
	return out
}

// ListenerSourceRefs are the sources of listener l on p, its proxy or a
// member of its group, named as src.
func ListenerSourceRefs(src string, l *Listener, p *Proxy) []MirrorSourceRef {
	out := SourceRefs(src, KindListener, l.ID, p)
	for i := range out {
		out[i].Protocol, out[i].Port = l.Protocol, l.Port
	}
	return out
}

// MirrorSourceRef is one resolved source of a mirror.
type MirrorSourceRef struct {
	// Src is the CollectorSrcs entry this came from (an ID or an IP).
	Src string `json:"src"`
	// Kind is the stored kind of the resolved object: KindProxy,
	// KindListener or a teo kind implementing MirrorSource.
	Kind string `json:"kind"`
	// ProxyID is the proxy (GAAP link-… or teo L4 proxy) whose traffic is copied.
	ProxyID string `json:"proxyId"`
	// IP is that proxy's access IP, the address whose packets are copied.
	IP string `json:"ip"`
	// ListenerID, Protocol and Port narrow the copy to one listener's
	// port when the source is a listener ("" / 0 = every port of the IP).
	ListenerID string `json:"listenerId,omitempty"`
	Protocol   string `json:"protocol,omitempty"` // TCP | UDP | HTTP | HTTPS
	Port       int64  `json:"port,omitempty"`
}

// Overlaps reports whether two sources copy some of the same traffic:
// the same proxy, unless both are listeners and different ones. The edge
// matches flows on proxy and listener alone, so that is what counts, not
// how the source was named (a proxy ID, its access IP, a listener ID).
func (r MirrorSourceRef) Overlaps(o MirrorSourceRef) bool {
	return r.ProxyID == o.ProxyID && (r.ListenerID == "" || o.ListenerID == "" || r.ListenerID == o.ListenerID)
}

// MirrorSource is implemented by resources a traffic mirror can copy:
// they answer clients on public access IPs. The VPC service finds sources
// among every registered kind whose objects implement it, so teo L4
// proxies become mirror sources by implementing it too.
type MirrorSource interface {
	Object
	// MirrorIPs returns the access IPs whose packets are copied.
	MirrorIPs() []string
}

// MirrorIPs returns the proxy's access IP.
func (p *Proxy) MirrorIPs() []string {
	if p.IP == "" {
		return nil
	}
	return []string{p.IP}
}

// MirrorSourceKinds returns the registered kinds whose objects implement
// MirrorSource, with a constructor for each.
func MirrorSourceKinds() []KindInfo {
	var out []KindInfo
	for _, k := range Kinds {
		if _, ok := k.New().(MirrorSource); ok {
			out = append(out, k)
		}
	}
	return out
}

// MirrorFilterRule is a prioritized five-tuple rule of one direction.
type MirrorFilterRule struct {
	ID string `json:"id"` // tmfi-xxxxxxxx
	FiveTuple
	Priority    int64  `json:"priority"` // lower is evaluated first
	Action      string `json:"action"`   // MirrorAccept | MirrorDrop
	Description string `json:"description,omitempty"`
	CreateTime  int64  `json:"createTime"`
}

// EffectiveRules compiles the mirror's filters for one direction
// (DirIngress or DirEgress) into the one form the data plane evaluates:
// walk the list in order, the first rule whose five-tuple matches decides
// (ACCEPT copies, DROP does not); no match copies nothing. The direction
// switch, CollectorNormalFilters and the filter rules fold into it:
//   - a direction the mirror does not collect gets no rules;
//   - rules of that direction, if any, sorted by Priority (then ID);
//   - else the CollectorNormalFilters: every DROP filter, then every
//     ACCEPT filter, or a catch-all ACCEPT when none accepts (a list of
//     DROPs copies everything else);
//   - else one catch-all ACCEPT (directional modes only: NO-DIRECTION
//     copies only what its rules accept).
func (m *TrafficMirror) EffectiveRules(dir string) []MirrorFilterRule {
	if m.Direction != DirAll && m.Direction != DirNoDirection && m.Direction != dir {
		return nil
	}
	rules := m.IngressRules
	if dir == DirEgress {
		rules = m.EgressRules
	}
	if len(rules) > 0 {
		out := slices.Clone(rules)
		slices.SortStableFunc(out, func(a, b MirrorFilterRule) int {
			return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
		})
		return out
	}
	if m.Direction == DirNoDirection {
		return nil
	}
	var drops, accepts []MirrorFilterRule
	for _, f := range m.NormalFilters {
		if f.Drop {
			drops = append(drops, MirrorFilterRule{FiveTuple: f.FiveTuple, Action: MirrorDrop})
		} else {
			accepts = append(accepts, MirrorFilterRule{FiveTuple: f.FiveTuple, Action: MirrorAccept})
		}
	}
	if len(accepts) == 0 {
		accepts = []MirrorFilterRule{{FiveTuple: AnyFiveTuple(), Action: MirrorAccept}}
	}
	return append(drops, accepts...)
}

// AllRules returns the ingress then the egress rules with their direction.
func (m *TrafficMirror) AllRules() (dirs []string, rules []MirrorFilterRule) {
	for _, r := range m.IngressRules {
		dirs, rules = append(dirs, DirIngress), append(rules, r)
	}
	for _, r := range m.EgressRules {
		dirs, rules = append(dirs, DirEgress), append(rules, r)
	}
	return dirs, rules
}
