package model

// Proxy statuses (ProxyInfo.Status).
const (
	ProxyRunning    = "RUNNING"
	ProxyCreating   = "CREATING"
	ProxyCloning    = "CLONING" // created as a copy of another proxy
	ProxyDestroying = "DESTROYING"
	ProxyOpening    = "OPENING"
	ProxyClosing    = "CLOSING"
	ProxyClosed     = "CLOSED"
	ProxyAdjusting  = "ADJUSTING"
)

// Ban statuses (ProxyInfo.BanStatus) of cross-border proxies; "" reads as
// RECOVER (never banned).
const (
	BanBanned     = "BANNED"
	BanRecover    = "RECOVER"
	BanBanning    = "BANNING"
	BanRecovering = "RECOVERING"
)

// KindProxy is the stored kind of Proxy.
const KindProxy = "proxy"

// Proxy is an acceleration channel: an access IP in an access region that
// forwards to origins in a real-server region, within bandwidth and
// concurrency limits.
type Proxy struct {
	Base
	Name             string `json:"name"`
	ProjectID        int64  `json:"projectId"`
	AccessRegion     string `json:"accessRegion"`
	RealServerRegion string `json:"realServerRegion"`
	Bandwidth        int64  `json:"bandwidth"`  // Mbps
	Concurrent       int64  `json:"concurrent"` // units of 10,000 connections
	Status           string `json:"status"`
	// Closed is the state Open/Close aim for, kept apart from Status so a
	// proxy that is adjusting still knows whether it is open.
	Closed           bool   `json:"closed"`
	IP               string `json:"ip"`     // access IP from the vip pool
	Domain           string `json:"domain"` // access domain name
	GroupID          string `json:"groupId,omitempty"`
	PolicyID         string `json:"policyId,omitempty"`
	BillingType      int64  `json:"billingType"`
	IPAddressVersion string `json:"ipAddressVersion"`
	NetworkType      string `json:"networkType"`
	PackageType      string `json:"packageType"`
	Http3Supported   int64  `json:"http3Supported"`
	ModifyConfigTime int64  `json:"modifyConfigTime"`
	Tags             []Tag  `json:"tags,omitempty"`
	// BanStatus is set by BanAndRecoverProxy; a banned proxy forwards
	// nothing (the controller compiles it closed).
	BanStatus string `json:"banStatus,omitempty"`
}

func (p *Proxy) Kind() string   { return KindProxy }
func (p *Proxy) Parent() string { return p.GroupID }
func (p *Proxy) Project() int64 { return p.ProjectID }

// Settle finishes the proxy's pending transition.
func (p *Proxy) Settle() (changed, remove bool) {
	banChanged := p.settleBan()
	changed, remove = p.settleStatus()
	return changed || banChanged, remove
}

// settleBan finishes a ban or recovery.
func (p *Proxy) settleBan() bool {
	switch p.BanStatus {
	case BanBanning:
		p.BanStatus = BanBanned
	case BanRecovering:
		p.BanStatus = BanRecover
	default:
		return false
	}
	return true
}

func (p *Proxy) settleStatus() (changed, remove bool) {
	switch p.Status {
	case ProxyCreating, ProxyCloning, ProxyOpening, ProxyAdjusting:
		if p.Closed {
			p.Status = ProxyClosed
		} else {
			p.Status = ProxyRunning
		}
		return true, false
	case ProxyClosing:
		p.Status = ProxyClosed
		return true, false
	case ProxyDestroying:
		return true, true
	}
	return false, false
}

// Banned reports whether the proxy must not forward traffic.
func (p *Proxy) Banned() bool { return p.BanStatus == BanBanned || p.BanStatus == BanBanning }

// Transitional reports whether an asynchronous change is in progress.
func (p *Proxy) Transitional() bool {
	switch p.Status {
	case ProxyRunning, ProxyClosed:
		return false
	}
	return true
}

// Destroyable reports whether the proxy may be destroyed, alone
// (DestroyProxies) or with its group (DeleteProxyGroup with Force): not
// while a change is in progress, which the data plane must apply first.
func (p *Proxy) Destroyable() bool { return !p.Transitional() }

// Operable reports whether configuration changes may be made to the proxy
// (listeners created, origins bound, ...).
func (p *Proxy) Operable() bool { return p.Status == ProxyRunning }
