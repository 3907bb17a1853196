// Package snapshot is the contract between the control plane and the data
// plane: immutable, self-contained descriptions of everything one edge node
// must serve. The controller compiles its database into a *Snapshot and hands
// it to edge.Runtime.Apply; nothing in the edge reads anything else.
//
// A published Snapshot must never be mutated: the edge keeps pointers into it
// for as long as connections accepted under it live. Build a new one instead.
//
// The package depends on the standard library only, so both planes (and a
// future network transport, which can simply JSON-encode these types) can
// import it without pulling anything else in.
package snapshot

import "time"

// Protocol values for Listener.Protocol and SecurityRule.Protocol.
const (
	ProtoTCP = "TCP"
	ProtoUDP = "UDP"
	ProtoAll = "ALL" // SecurityRule only.
)

// Scheduler values for Listener.Scheduler, as spelled by the GAAP API.
const (
	SchedRR   = "rr"   // Round robin over eligible origins.
	SchedWRR  = "wrr"  // Smooth weighted round robin (nginx algorithm) by Origin.Weight.
	SchedLC   = "lc"   // Least active connections (UDP: least active sessions).
	SchedLRTT = "lrtt" // Least measured connect round-trip time (EWMA of dial latency).
)

// ClientIPMode says how the client address is passed to origins.
type ClientIPMode string

// ClientIPMode values.
const (
	ClientIPNone ClientIPMode = ""     // Origins see the edge's address.
	ClientIPTOA  ClientIPMode = "TOA"  // TCP option 200 on the handshake (TCP only; internal/edge/toa).
	ClientIPPPV1 ClientIPMode = "PPV1" // PROXY protocol v1 text header (TCP only).
	ClientIPPPV2 ClientIPMode = "PPV2" // PROXY protocol v2 binary header (TCP: once; UDP: every datagram).
	ClientIPSPP  ClientIPMode = "SPP"  // Simple Proxy Protocol: 38-byte header on every datagram (UDP only; docs/dataplane-teo.md).
)

// Security policy actions.
const (
	ActionAccept = "ACCEPT"
	ActionDrop   = "DROP"
)

// UDP health check types and payload encodings.
const (
	CheckPort = "PORT" // Send HealthCheck.Send, expect HealthCheck.Recv (or no ICMP error if Recv is empty).
	CheckPing = "PING" // ICMP echo to the origin address.
	TextPlain = "TEXT"
	TextHex   = "HEX"
)

// Snapshot is the full desired state of one edge node at one control-plane
// revision. It is applied as a whole, but the edge diffs it against the
// running state by stable IDs and touches only what changed.
type Snapshot struct {
	// Version is the control-plane revision this snapshot was compiled from.
	// It is echoed in edge reports (ACK/NACK); the edge does not require it
	// to increase, but the controller should make it monotonic.
	Version int64 `json:"version"`
	// Proxies are the GAAP proxies (or teo L4 proxies) placed on this node.
	Proxies []Proxy `json:"proxies"`
	// Mirrors are the running traffic mirrors whose sources may be on this
	// node (mirror.go).
	Mirrors []Mirror `json:"mirrors,omitempty"`
}

// Proxy is one acceleration proxy: an access IP with its listeners, sharing
// one bandwidth budget, one connection cap and one security policy.
type Proxy struct {
	// ID is the stable proxy ID (e.g. "link-xxxxxxxx"); it keys shared state
	// (bandwidth bucket, connection count, counters) across snapshots.
	ID string `json:"id"`
	// AccessIP is the local address the listeners bind to ("" or "0.0.0.0"
	// binds all addresses, for TCP listeners only: UDP replies must leave
	// from the address the client reached). Must be an IP literal, not a
	// name.
	AccessIP string `json:"accessIp"`
	// Owner is an opaque key of the tenant (account) the proxy belongs
	// to. The edge keeps origin state (health, load, suspicion) apart per
	// owner, so one tenant's checks never decide whether another's
	// traffic reaches an origin (docs/dataplane-l4.md "Health"). Empty is
	// an owner like any other.
	Owner string `json:"owner,omitempty"`
	// BandwidthMbps caps the proxy's traffic in each direction separately
	// (client→origin and origin→client), shared by all its listeners, in
	// units of 10^6 bits per second. 0 means unlimited. TCP is shaped (the
	// copy loop waits for tokens); UDP is policed (datagrams without tokens
	// are dropped and counted).
	BandwidthMbps int `json:"bandwidthMbps"`
	// MaxConns caps concurrent TCP connections plus UDP sessions of the
	// whole proxy; the excess is refused (TCP: accepted then closed at
	// once; UDP: datagram dropped) and counted. 0 means unlimited.
	MaxConns int `json:"maxConns"`
	// Group is the proxy group the proxy belongs to ("" for none). The
	// data plane ignores it; the statistics recorder adds the proxy's
	// counts to the group's series under it (docs/statistics.md).
	Group string `json:"group,omitempty"`
	// Closed stops the proxy (GAAP CloseProxies): its sockets are closed so
	// nothing new is accepted, and open connections drain for the runtime's
	// grace period, exactly as if its listeners had been removed.
	Closed bool `json:"closed"`
	// Policy is the security policy bound to the proxy; nil means none
	// (everything is accepted).
	Policy *SecurityPolicy `json:"policy,omitempty"`
	// Listeners are the proxy's layer-4 listeners.
	Listeners []Listener `json:"listeners"`
	// HTTPListeners are the proxy's HTTP and HTTPS listeners (l7.go).
	HTTPListeners []HTTPListener `json:"httpListeners,omitempty"`
}

// Listener is one TCP or UDP listener of a proxy.
type Listener struct {
	// ID is the stable listener ID (e.g. "lsr-xxxxxxxx"). Reports and
	// counters are keyed by it.
	ID string `json:"id"`
	// Protocol is ProtoTCP or ProtoUDP.
	Protocol string `json:"protocol"`
	// Port is the listening port (1-65535).
	Port int `json:"port"`
	// Scheduler is one of SchedRR, SchedWRR, SchedLC, SchedLRTT.
	Scheduler string `json:"scheduler"`
	// SessionPersist keeps a client IP on the origin it was last sent to
	// for this long after its last new connection or session; 0 disables.
	// (GAAP gives seconds: pass time.Duration(n) * time.Second.)
	SessionPersist time.Duration `json:"sessionPersist,omitempty"`
	// PersistGroup, when set, makes the listeners of a proxy that carry
	// the same value share one persistence table, so a client is kept on
	// its origin whichever of their ports it connects to (an EdgeOne rule's
	// ports; the teo compiler passes the rule ID). Empty: the listener's
	// socket has a table of its own (GAAP). Either way the table outlives
	// configuration changes: a group's while any of its listeners runs.
	PersistGroup string `json:"persistGroup,omitempty"`
	// Health configures active health checks of the origins.
	Health HealthCheck `json:"health"`
	// ClientIP selects how the client address reaches origins.
	ClientIP ClientIPMode `json:"clientIp,omitempty"`
	// FailoverSwitch enables primary/secondary origins: secondaries get
	// traffic only while no primary is healthy. When false, Origin.Secondary
	// is ignored and all origins are peers.
	FailoverSwitch bool `json:"failoverSwitch,omitempty"`
	// ConnectTimeout bounds the TCP dial to an origin; 0 means 5s.
	ConnectTimeout time.Duration `json:"connectTimeout,omitempty"`
	// IdleTimeout closes a TCP connection with no data in either direction,
	// or expires a UDP session; 0 means 15 minutes for TCP, 60s for UDP.
	IdleTimeout time.Duration `json:"idleTimeout,omitempty"`
	// Origins are the real servers. A listener without origins still binds
	// its port (a GAAP listener exists before origins are bound): new
	// connections are accepted and closed, datagrams dropped, both counted
	// as connect failures.
	Origins []Origin `json:"origins"`
}

// Origin is one real server behind a listener.
type Origin struct {
	// ID is the stable origin (real server binding) ID; per-origin counters
	// and health events are keyed by it.
	ID string `json:"id"`
	// Host is an IP literal, or a DNS name when IsDomain is set.
	Host string `json:"host"`
	// IsDomain marks Host as a DNS name, resolved by the edge and refreshed
	// periodically; a failed resolution makes the origin unhealthy.
	IsDomain bool `json:"isDomain,omitempty"`
	// Port is the origin port (the base port for a range listener).
	Port int `json:"port"`
	// Weight is the wrr weight (0-100). Weight 0 takes no traffic under wrr;
	// other schedulers ignore weights.
	Weight int `json:"weight"`
	// Secondary marks a backup origin (used only with FailoverSwitch).
	Secondary bool `json:"secondary,omitempty"`
}

// HealthCheck configures active checks for a listener's origins. The struct
// is comparable on purpose: it is part of the key under which the edge keeps
// origin health across snapshots.
type HealthCheck struct {
	// Enabled turns checks on; when off every (resolvable) origin is healthy.
	Enabled bool `json:"enabled"`
	// Interval between checks; 0 means 5s.
	Interval time.Duration `json:"interval,omitempty"`
	// Timeout of one check; 0 means 2s. Must not exceed Interval.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Healthy is the number of consecutive successes to mark an origin up
	// (rise); 0 means 3.
	Healthy int `json:"healthy,omitempty"`
	// Unhealthy is the number of consecutive failures to mark it down
	// (fall); 0 means 3.
	Unhealthy int `json:"unhealthy,omitempty"`
	// CheckType is CheckPort or CheckPing, UDP listeners only ("" = PORT).
	// TCP listeners always use a TCP connect check.
	CheckType string `json:"checkType,omitempty"`
	// ContextType is TextPlain or TextHex and says how Send and Recv are
	// encoded (UDP PORT checks only).
	ContextType string `json:"contextType,omitempty"`
	// Send is the UDP probe payload.
	Send string `json:"send,omitempty"`
	// Recv, if set, must be contained in the origin's reply; if empty, the
	// absence of an ICMP port-unreachable within Timeout counts as success.
	Recv string `json:"recv,omitempty"`
	// Port is where UDP PORT checks probe (GAAP's CheckPort); 0 means the
	// origin's own port.
	Port int `json:"port,omitempty"`
}

// SecurityPolicy is a GAAP security policy: ordered rules, first match wins,
// DefaultAction otherwise.
type SecurityPolicy struct {
	// ID is the stable policy ID.
	ID string `json:"id"`
	// Enabled: a disabled policy accepts everything.
	Enabled bool `json:"enabled"`
	// DefaultAction applies when no rule matches: ActionAccept or ActionDrop.
	DefaultAction string `json:"defaultAction"`
	// Rules are evaluated in order.
	Rules []SecurityRule `json:"rules"`
}

// SecurityRule matches a source, a protocol and destination ports.
type SecurityRule struct {
	// SourceCIDR is an IPv4/IPv6 address or CIDR ("10.0.0.0/8", "1.2.3.4"),
	// or "ALL", which matches everything. A CIDR holds its own family only:
	// "0.0.0.0/0" every IPv4 client, "::/0" every IPv6 one (ParseSource).
	SourceCIDR string `json:"sourceCidr"`
	// Protocol is ProtoTCP, ProtoUDP or ProtoAll.
	Protocol string `json:"protocol"`
	// DestPorts is "ALL", a port, a comma list ("80,443") or a range
	// ("3306-20000"); lists may contain ranges.
	DestPorts string `json:"destPorts"`
	// Action is ActionAccept or ActionDrop.
	Action string `json:"action"`
}
