package model

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
	RealServerPort     int64   `json:"realServerPort,omitempty"` // v1 and group listeners only
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
