package model

import (
	"cmp"

	"github.com/opengaap/opengaap/internal/apierr"
)

// L4 proxy and rule statuses (L4Proxy.Status, L4ProxyRule.Status).
// progress and stopping are transitional: the controller settles them to
// online and offline once the data plane runs the change. fail is never
// stored: a rule reads fail while the data plane cannot deploy it
// (TeoL4Rule.ShownStatus). banned is part of the wire enum; opengaap
// never sets it.
const (
	L4Online   = "online"
	L4Offline  = "offline"
	L4Progress = "progress"
	L4Stopping = "stopping"
	L4Banned   = "banned"
	L4Fail     = "fail"
)

// Switch values.
const (
	TeoOn  = "on"
	TeoOff = "off"
)

// DDoS protection levels (DDosProtectionConfig). opengaap records them;
// they have no effect on forwarding.
const (
	DDoSPlatform     = "PLATFORM"
	DDoSBase30Max300 = "BASE30_MAX300"
	DDoSBase60Max600 = "BASE60_MAX600"
	DDoSAnycast300   = "ANYCAST300"
	DDoSAnycastAllIn = "ANYCAST_ALLIN"
)

// KindTeoL4Proxy is the stored kind of TeoL4Proxy.
const KindTeoL4Proxy = "teol4proxy"

// TeoL4Proxy is an EdgeOne layer-4 proxy instance: one access IP from the
// vip pool on which its rules listen.
//
// For the data plane: IP is the address every rule of the proxy binds
// (snapshot.Proxy.AccessIP); the proxy forwards only while Serving() and its
// zone is not paused; bandwidth and connections are unlimited (teo has no
// such settings). Area, Ipv6, StaticIP, AccelerateMainland and DDoS are
// control-plane facts with no effect on forwarding.
type TeoL4Proxy struct {
	Base
	ZoneID             string  `json:"zoneId"`
	Name               string  `json:"name"`
	Area               string  `json:"area"`
	Ipv6               string  `json:"ipv6"`
	StaticIP           string  `json:"staticIp"`
	AccelerateMainland string  `json:"accelerateMainland"`
	DDoS               TeoDDoS `json:"ddos"`
	// DDoSGiven records that the creating request carried a
	// DDosProtectionConfig (DDoSShown). Rows stored before it existed lack
	// it.
	DDoSGiven bool   `json:"ddosGiven,omitempty"`
	Status    string `json:"status"`
	// Disabled is the state ModifyL4ProxyStatus aims for (offline), kept
	// apart from Status so a proxy in progress knows where it settles.
	Disabled   bool   `json:"disabled"`
	IP         string `json:"ip"`
	UpdateTime int64  `json:"updateTime"` // Unix seconds
}

// TeoDDoS is a DDosProtectionConfig.
type TeoDDoS struct {
	LevelMainland        string `json:"levelMainland"`
	MaxBandwidthMainland int64  `json:"maxBandwidthMainland,omitempty"` // Gbps
	LevelOverseas        string `json:"levelOverseas"`
}

// Mainland and Overseas are the levels in effect: one stored empty (sent
// so) is PLATFORM.
func (d TeoDDoS) Mainland() string { return cmp.Or(d.LevelMainland, DDoSPlatform) }
func (d TeoDDoS) Overseas() string { return cmp.Or(d.LevelOverseas, DDoSPlatform) }

// DDoSShown reports whether DescribeL4Proxy answers DDosProtectionConfig.
// The reference's example leaves the member out for a proxy created
// without one, and the Terraform provider reads any answered config into
// an Optional, immutable block, so it is answered when it was given, or
// (for rows stored before DDoSGiven existed) when a level is exclusive.
func (p *TeoL4Proxy) DDoSShown() bool {
	return p.DDoSGiven || p.DDoS.Mainland() != DDoSPlatform || p.DDoS.Overseas() != DDoSPlatform
}

func (p *TeoL4Proxy) Kind() string   { return KindTeoL4Proxy }
func (p *TeoL4Proxy) Parent() string { return p.ZoneID }
func (p *TeoL4Proxy) Project() int64 { return 0 }

// Settle finishes the proxy's pending transition.
func (p *TeoL4Proxy) Settle() (changed, remove bool) { return settleL4(&p.Status, p.Disabled), false }

// settleL4 is the transition shared by proxies and rules.
func settleL4(status *string, disabled bool) bool {
	switch *status {
	case L4Progress:
		*status = L4Online
		if disabled {
			*status = L4Offline
		}
		return true
	case L4Stopping:
		*status = L4Offline
		return true
	}
	return false
}

// Serving reports whether the proxy's rules should be listening (the zone
// being paused aside): it is online or on its way there.
func (p *TeoL4Proxy) Serving() bool { return !p.Disabled && p.Status != L4Banned }

// CheckStable refuses a change while the proxy is deploying or stopping.
// Tencent's catalogue has an instance code for a deploying proxy
// (L4ProxyInProcessStatus, "实例处于部署中，无法操作") apart from the one
// ModifyZoneStatus answers (CheckZonePausable); for a stopping one it has
// only the latter's.
func (p *TeoL4Proxy) CheckStable() error {
	switch p.Status {
	case L4Progress:
		return apierr.New(apierr.Code("OperationDenied.L4ProxyInProcessStatus"), "the L4 proxy %s is deploying; retry when it is online", p.ID)
	case L4Stopping:
		return apierr.New(apierr.Code("OperationDenied.L4ProxyInStoppingStatus"), "the L4 proxy %s is stopping; retry when it is offline", p.ID)
	case L4Banned:
		return apierr.New(apierr.Code("OperationDenied.L4ProxyInBannedStatus"), "the L4 proxy %s is banned", p.ID)
	}
	return nil
}

// CheckZonePausable refuses to pause the proxy's zone while the proxy is
// deploying or stopping (ModifyZoneStatus).
func (p *TeoL4Proxy) CheckZonePausable() error {
	switch p.Status {
	case L4Progress:
		return apierr.New(apierr.Code("OperationDenied.L4ProxyInProgressStatus"), "the L4 proxy %s is deploying; retry when it is online", p.ID)
	case L4Stopping:
		return apierr.New(apierr.Code("OperationDenied.L4ProxyInStoppingStatus"), "the L4 proxy %s is stopping; retry when it is offline", p.ID)
	}
	return nil
}

// Touch marks a configuration change: an online proxy redeploys.
func (p *TeoL4Proxy) Touch(now int64) {
	p.UpdateTime = now
	if p.Status == L4Online {
		p.Status = L4Progress
	}
}

// SetEnabled starts (online) or stops (offline) the proxy.
func (p *TeoL4Proxy) SetEnabled(enable bool, now int64) {
	p.UpdateTime = now
	setEnabledL4(&p.Status, &p.Disabled, enable)
}

// setEnabledL4 is the start/stop shared by proxies and rules: the target
// state is recorded and a change of state goes through progress or stopping.
func setEnabledL4(status *string, disabled *bool, enable bool) {
	*disabled = !enable
	switch {
	case enable && *status != L4Online:
		*status = L4Progress
	case !enable && *status != L4Offline:
		*status = L4Stopping
	}
}

// MirrorIPs makes an EdgeOne L4 proxy a traffic-mirror source by its
// access IP, like a GAAP proxy.
func (p *TeoL4Proxy) MirrorIPs() []string {
	if p.IP == "" {
		return nil
	}
	return []string{p.IP}
}
