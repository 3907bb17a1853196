package snapshot

// Mirror directions, seen from the mirrored access IP: ingress is what
// arrives at it (client → proxy), egress what leaves it (proxy → client).
const (
	MirrorIngress = "INGRESS"
	MirrorEgress  = "EGRESS"
	MirrorAll     = "ALL" // Mirror.Direction only.
)

// Mirror filter protocols and actions.
const (
	MirrorProtoICMP = "ICMP" // Accepted for completeness; the L4 engine sees no ICMP.
	MirrorAccept    = "ACCEPT"
	MirrorDrop      = "DROP"
)

// Hash algorithms choosing a collector (Mirror.AlgHash).
const (
	// MirrorHashFlow keeps every packet of one flow, both directions, on
	// one collector: hash of the unordered (client, access) address pair
	// and protocol.
	MirrorHashFlow = "FIVE_TUPLE_FLOW"
	// MirrorHashSource keeps everything of one mirrored access IP on one
	// collector.
	MirrorHashSource = "ENI"
)

// DefaultMirrorPort is the collector UDP port when MirrorTarget.Port is 0:
// the IANA VXLAN port (RFC 7348).
const DefaultMirrorPort = 4789

// Mirror is one running traffic mirror (VPC traffic mirroring): copies of
// the client-facing packets of its sources, synthesized as Ethernet/IPv4
// frames, wrapped in VXLAN with VNI and sent over UDP to one of Targets.
// Only running mirrors are in a snapshot; a stopped mirror is absent.
type Mirror struct {
	// ID is the stable mirror ID (e.g. "imgf-xxxxxxxx"); counters (kind
	// "mirror": packets and bytes sent, packets dropped) are keyed by it.
	ID string `json:"id"`
	// VNI is the 24-bit VXLAN network identifier of the copies.
	VNI uint32 `json:"vni"`
	// Sources select the mirrored traffic by proxy, optionally narrowed to
	// one listener.
	Sources []MirrorSource `json:"sources"`
	// Direction is MirrorIngress, MirrorEgress or MirrorAll: the packet
	// directions copied at all.
	Direction string `json:"direction"`
	// Filters are evaluated in order, separately per direction (a filter
	// applies to the direction it names): the first filter matching a
	// packet decides (MirrorAccept copies, MirrorDrop does not); when a
	// direction has filters and none matches, nothing is copied. A copied
	// direction without filters of its own copies every packet.
	Filters []MirrorFilter `json:"filters,omitempty"`
	// Targets are the collectors; one is chosen per flow by AlgHash.
	Targets []MirrorTarget `json:"targets"`
	// AlgHash is MirrorHashFlow ("" means it) or MirrorHashSource.
	AlgHash string `json:"algHash,omitempty"`
}

// MirrorSource names mirrored traffic: a proxy's, or one listener's.
type MirrorSource struct {
	// ProxyID is the proxy whose access IP's traffic is copied.
	ProxyID string `json:"proxyId"`
	// ListenerID, when set, narrows the copy to that listener (the
	// snapshot Listener.ID, e.g. a group listener's instance ID).
	ListenerID string `json:"listenerId,omitempty"`
}

// MirrorFilter is one five-tuple rule of one direction. Src and Dst are
// the packet's own addresses: for an ingress packet the source is the
// client and the destination the access IP; for egress the reverse.
type MirrorFilter struct {
	// Direction is MirrorIngress or MirrorEgress.
	Direction string `json:"direction"`
	// SrcCIDR and DstCIDR are CIDRs or addresses; "" is any, "0.0.0.0/0"
	// any IPv4 address (only IPv4 flows are mirrored).
	SrcCIDR string `json:"srcCidr,omitempty"`
	DstCIDR string `json:"dstCidr,omitempty"`
	// Protocol is ProtoTCP, ProtoUDP, MirrorProtoICMP or ProtoAll ("" = ALL).
	Protocol string `json:"protocol,omitempty"`
	// SrcPorts and DstPorts are inclusive ranges; the zero range is any.
	SrcPorts PortRange `json:"srcPorts"`
	DstPorts PortRange `json:"dstPorts"`
	// Action is MirrorAccept or MirrorDrop.
	Action string `json:"action"`
}

// MirrorTarget is one collector: VXLAN over UDP to IP:Port.
type MirrorTarget struct {
	// IP is an IPv4 literal.
	IP string `json:"ip"`
	// Port is the collector's UDP port; 0 means DefaultMirrorPort.
	Port int `json:"port,omitempty"`
}

// Any reports whether the range is the zero (match-all) range.
func (r PortRange) Any() bool { return r == PortRange{} }

// Contains reports whether port is in the range (always, for the zero range).
func (r PortRange) Contains(port int) bool { return r.Any() || port >= r.Lo && port <= r.Hi }
