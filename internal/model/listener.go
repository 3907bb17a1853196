package model

import (
	"strconv"

	"github.com/opengaap/opengaap/internal/apierr"
)

// Listener and rule statuses (ListenerStatus, RuleStatus).
const (
	StatusRunning   = 0
	StatusCreating  = 1
	StatusDeleting  = 2
	StatusBinding   = 3 // adjusting origins
	StatusAdjusting = 4 // configuration change
)

// Listener protocols.
const (
	TCP   = "TCP"
	UDP   = "UDP"
	HTTP  = "HTTP"
	HTTPS = "HTTPS"
)

// KindListener is the stored kind of Listener.
const KindListener = "listener"

// Listener is a port on a proxy (or on every proxy of a group). TCP and UDP
// listeners bind origins directly; HTTP and HTTPS listeners route through
// domains and rules.
type Listener struct {
	Base
	Name     string `json:"name"`
	ProxyID  string `json:"proxyId,omitempty"`
	GroupID  string `json:"groupId,omitempty"`
	Protocol string `json:"protocol"`
	Port     int64  `json:"port"`
	Status   int64  `json:"status"`

	// Layer 4.
	Scheduler          string  `json:"scheduler,omitempty"`
	RealServerType     string  `json:"realServerType,omitempty"`
	RealServerPort     int64   `json:"realServerPort,omitempty"` // group listeners only; when set, every binding is on it
	HealthCheck        int64   `json:"healthCheck"`
	DelayLoop          int64   `json:"delayLoop,omitempty"`
	ConnectTimeout     int64   `json:"connectTimeout,omitempty"`
	HealthyThreshold   int64   `json:"healthyThreshold,omitempty"`
	UnhealthyThreshold int64   `json:"unhealthyThreshold,omitempty"`
	ClientIPMethod     int64   `json:"clientIpMethod"`
	FailoverSwitch     int64   `json:"failoverSwitch"`
	SessionPersist     int64   `json:"sessionPersist"`
	CheckType          string  `json:"checkType,omitempty"` // UDP: PORT | PING
	CheckPort          int64   `json:"checkPort,omitempty"`
	ContextType        string  `json:"contextType,omitempty"` // UDP: TEXT | HEX
	SendContext        string  `json:"sendContext,omitempty"`
	RecvContext        string  `json:"recvContext,omitempty"`
	Bindings           []Bound `json:"bindings,omitempty"`

	// Layer 7.
	ForwardProtocol      string   `json:"forwardProtocol,omitempty"` // HTTPS listeners: HTTP | HTTPS
	CertificateID        string   `json:"certificateId,omitempty"`
	ClientCertificateIDs []string `json:"clientCertificateIds,omitempty"`
	AuthType             int64    `json:"authType"`
	Http3Supported       int64    `json:"http3Supported"`
	TLSSupportVersion    []string `json:"tlsSupportVersion,omitempty"`
	TLSCiphers           string   `json:"tlsCiphers,omitempty"`
}

// Bound is an origin bound to a listener or rule.
type Bound struct {
	RealServerID string `json:"realServerId"`
	Port         int64  `json:"port"`
	Weight       int64  `json:"weight"`
	// Role is "master" or "slave" when the owner has FailoverSwitch on.
	Role string `json:"role,omitempty"`
}

// OriginID names a binding's origin in the data plane: "<real server
// ID>:<port>". It depends on the binding alone, never on its place in the
// list or on the other bindings, because sessions, persistence pins,
// health state and counters are kept under it: reordering the list, or
// unbinding another port of the same server, must keep those of the
// bindings that stay. The port is always there so that two ports of one
// server never share a name.
func OriginID(realServerID string, port int64) string {
	return OriginIDPrefix(realServerID) + strconv.FormatInt(port, 10)
}

// OriginIDPrefix is what the OriginID of every binding of realServerID,
// and of no other real server's, starts with: the port follows it. Series
// of bindings that are gone, whose ports nothing records, are found by it.
func OriginIDPrefix(realServerID string) string { return realServerID + ":" }

// OriginIDs names each binding's origin in the data plane (OriginID), in
// binding order.
func OriginIDs(bs []Bound) []string {
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = OriginID(b.RealServerID, b.Port)
	}
	return ids
}

// OriginIDsOf names, as OriginIDs does, every binding of realServerID in
// bs, in binding order.
func OriginIDsOf(bs []Bound, realServerID string) []string {
	var out []string
	for _, b := range bs {
		if b.RealServerID == realServerID {
			out = append(out, OriginID(b.RealServerID, b.Port))
		}
	}
	return out
}

func (l *Listener) Kind() string { return KindListener }

// Parent is the proxy or group the listener belongs to.
func (l *Listener) Parent() string {
	if l.ProxyID != "" {
		return l.ProxyID
	}
	return l.GroupID
}
func (l *Listener) Project() int64 { return 0 }

// Owner is the proxy or group ID.
func (l *Listener) Owner() string { return l.Parent() }

// OriginPort is the origin port a group listener forwards to, which
// Describe answers as its RealServerPort: RealServerPort, unless every
// binding is on one other port. Only a release before Bind checked the
// port could store that, and the data plane forwards to the binding's
// port, so the port served wins (docs/api-listeners.md).
func (l *Listener) OriginPort() int64 {
	if l.RealServerPort == 0 || len(l.Bindings) == 0 {
		return l.RealServerPort
	}
	p := l.Bindings[0].Port
	for _, b := range l.Bindings[1:] {
		if b.Port != p {
			return l.RealServerPort
		}
	}
	return p
}

// IsL7 reports whether the listener routes by domain and rule.
func (l *Listener) IsL7() bool { return l.Protocol == HTTP || l.Protocol == HTTPS }

// Settle finishes the listener's pending transition.
func (l *Listener) Settle() (changed, remove bool) { return settleCode(&l.Status) }

// settleCode is the transition shared by listeners and rules.
func settleCode(status *int64) (changed, remove bool) {
	switch *status {
	case StatusCreating, StatusBinding, StatusAdjusting:
		*status = StatusRunning
		return true, false
	case StatusDeleting:
		return true, true
	}
	return false, false
}

// ClientIPMethod values. The API knows 0 (TOA) and 1 (Proxy Protocol)
// (see CheckClientIPMethod); ClientIPNone, an internal value never shown
// on the wire, means origins see the proxy's address.
const (
	ClientIPNone          = -1
	ClientIPTOA           = 0
	ClientIPProxyProtocol = 1
)

// Failover roles of a bound origin (RealServerFailoverRole).
const (
	RoleMaster = "master"
	RoleSlave  = "slave"
)

// L4Params are the layer-4 settings of a Create or Modify call; a nil
// field is absent and keeps the listener's current value.
type L4Params struct {
	Scheduler, RealServerType                        *string
	HealthCheck, DelayLoop, ConnectTimeout           *int64
	HealthyThreshold, UnhealthyThreshold             *int64
	FailoverSwitch, ClientIPMethod                   *int64
	CheckType, ContextType, SendContext, RecvContext *string
	CheckPort                                        *int64
}

// NewL4Listener returns a TCP or UDP listener carrying the defaults used
// when a create call leaves a setting out (docs/api-listeners.md).
func NewL4Listener(protocol string) *Listener {
	return &Listener{
		Protocol: protocol, Status: StatusCreating,
		DelayLoop: 5, ConnectTimeout: 2, HealthyThreshold: 3, UnhealthyThreshold: 3,
		ClientIPMethod: ClientIPNone, CheckType: "PORT", ContextType: "TEXT",
	}
}

// ApplyL4 merges p into l and validates the result, so a Modify call is
// checked against the settings it keeps as well as those it changes. What
// the data plane cannot do (caps: TOA, PING) is refused when a call asks
// for it, rather than silently not done.
func (l *Listener) ApplyL4(p L4Params, caps Capabilities) error {
	if p.ClientIPMethod != nil {
		if err := CheckClientIPMethod(*p.ClientIPMethod, caps.TOA); err != nil {
			return err
		}
		l.ClientIPMethod = *p.ClientIPMethod
	}
	if p.CheckType != nil && *p.CheckType == "PING" && !caps.Ping {
		return invalid("CheckType", "PING is not available on this server (sending ICMP echo needs CAP_NET_RAW, or net.ipv4.ping_group_range "+
			"including the group serve runs as); use PORT")
	}
	for _, f := range [...]struct {
		dst *string
		src *string
	}{{&l.Scheduler, p.Scheduler}, {&l.RealServerType, p.RealServerType}, {&l.CheckType, p.CheckType},
		{&l.ContextType, p.ContextType}, {&l.SendContext, p.SendContext}, {&l.RecvContext, p.RecvContext}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if l.CheckType == "PING" {
		// Payloads are "仅在健康检查类型为PORT时使用" (used with PORT only):
		// a PING listener has none, whether kept from a PORT probe or sent
		// again (the Terraform provider resends the ones in its state on
		// every Modify), so they are dropped, not refused.
		l.SendContext, l.RecvContext = "", ""
	}
	for _, f := range [...]struct {
		dst *int64
		src *int64
	}{{&l.HealthCheck, p.HealthCheck}, {&l.DelayLoop, p.DelayLoop}, {&l.ConnectTimeout, p.ConnectTimeout},
		{&l.HealthyThreshold, p.HealthyThreshold}, {&l.UnhealthyThreshold, p.UnhealthyThreshold},
		{&l.FailoverSwitch, p.FailoverSwitch}, {&l.CheckPort, p.CheckPort}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if err := l.checkL4(); err != nil {
		return err
	}
	l.fixRoles()
	return nil
}

// fixRoles keeps the bound origins' roles consistent with FailoverSwitch:
// without it there are no roles; turning it on makes every origin a master.
func (l *Listener) fixRoles() {
	for i := range l.Bindings {
		b := &l.Bindings[i]
		switch {
		case l.FailoverSwitch == 0:
			b.Role = ""
		case b.Role == "":
			b.Role = RoleMaster
		}
	}
}

// CheckIdle returns an error unless the listener is running: deleting is
// the action's code for a listener being deleted, busy for one with
// another change in flight. A listener the data plane cannot serve (down:
// its port taken, on one member of its group, say) takes changes whatever
// it waits for: what it waits for settles only once it serves, so it
// would otherwise take one change and refuse every later one, even on the
// members that serve it.
func (l *Listener) CheckIdle(busy, deleting apierr.Code, down bool) error {
	switch {
	case l.Status == StatusDeleting:
		return apierr.New(deleting, "the listener %s is being deleted", l.ID)
	case l.Status == StatusRunning || down:
		return nil
	}
	return apierr.New(busy, "the listener %s has a change in progress (status %d); retry when it is 0 (running)", l.ID, l.Status)
}

// UsesTCPPort and UsesUDPPort report which transport ports the listener
// occupies: HTTP and HTTPS run on TCP, and an HTTPS listener with HTTP/3
// also holds the UDP port.
func (l *Listener) UsesTCPPort() bool { return l.Protocol != UDP }

// UsesUDPPort: see UsesTCPPort.
func (l *Listener) UsesUDPPort() bool {
	return l.Protocol == UDP || (l.Protocol == HTTPS && l.Http3Supported == 1)
}

// ProxyProtocol reports whether origins receive a PROXY protocol header.
func (l *Listener) ProxyProtocol() bool { return l.ClientIPMethod == ClientIPProxyProtocol }

// TOA reports whether origins get the client's address in a TCP option.
func (l *Listener) TOA() bool { return l.Protocol == TCP && l.ClientIPMethod == ClientIPTOA }
