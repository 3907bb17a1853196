package model

import "github.com/opengaap/opengaap/internal/apierr"

// Security policy statuses (DescribeSecurityPolicyDetail.Status).
const (
	PolicyBound     = "BOUND"
	PolicyUnbind    = "UNBIND"
	PolicyBinding   = "BINDING"
	PolicyUnbinding = "UNBINDING"
)

// Security actions.
const (
	Accept = "ACCEPT"
	Drop   = "DROP"
)

// KindPolicy is the stored kind of SecurityPolicy.
const KindPolicy = "policy"

// SecurityPolicy is the ACL of one proxy or group: ordered rules and a
// default action, enforced only while the policy is bound (opened).
type SecurityPolicy struct {
	Base
	ProxyID       string         `json:"proxyId,omitempty"`
	GroupID       string         `json:"groupId,omitempty"`
	DefaultAction string         `json:"defaultAction"`
	Status        string         `json:"status"`
	Rules         []SecurityRule `json:"rules,omitempty"`
}

// SecurityRule is one access rule of a policy.
type SecurityRule struct {
	ID            string `json:"id"`
	Alias         string `json:"alias"`
	SourceCidr    string `json:"sourceCidr"`
	Action        string `json:"action"`
	Protocol      string `json:"protocol"`      // TCP | UDP | ALL
	DestPortRange string `json:"destPortRange"` // canonical (ParseRulePorts)

	// DestPortRangeAsGiven is DestPortRange as the caller wrote it
	// (AsGiven).
	DestPortRangeAsGiven string `json:"destPortRangeAsGiven,omitempty"`
}

// ShownPorts is the DestPortRange Describe answers (AsGiven).
func (r SecurityRule) ShownPorts() string { return AsGiven(r.DestPortRangeAsGiven, r.DestPortRange) }

func (p *SecurityPolicy) Kind() string { return KindPolicy }

// Parent is the proxy or group the policy protects.
func (p *SecurityPolicy) Parent() string {
	if p.ProxyID != "" {
		return p.ProxyID
	}
	return p.GroupID
}
func (p *SecurityPolicy) Project() int64 { return 0 }

// Covers reports whether the policy protects the proxy: the proxy's own,
// or, for a group member, its group's (which the data plane enforces on
// the member, and which the member's PolicyId shows).
func (p *SecurityPolicy) Covers(px *Proxy) bool {
	return p.ProxyID == px.ID || p.GroupID != "" && p.GroupID == px.GroupID
}

// Settle finishes binding or unbinding.
func (p *SecurityPolicy) Settle() (changed, remove bool) {
	switch p.Status {
	case PolicyBinding:
		p.Status = PolicyBound
		return true, false
	case PolicyUnbinding:
		p.Status = PolicyUnbind
		return true, false
	}
	return false, false
}

// CopyStatus is the status of a new copy of the policy (a cloned proxy's):
// an open policy opens again, BINDING until applied; a closed one stays
// closed.
func (p *SecurityPolicy) CopyStatus() string {
	if p.Status == PolicyBound || p.Status == PolicyBinding {
		return PolicyBinding
	}
	return PolicyUnbind
}

// Switch starts opening (binding) or closing (unbinding) the policy. A
// policy already in, or moving to, the wanted state is refused with the
// codes OpenSecurityPolicy and CloseSecurityPolicy document; one the data
// plane rejected (rejected: a rule an older release stored) may move
// either way, as it would never settle.
func (p *SecurityPolicy) Switch(open, rejected bool) error {
	switch {
	case p.Busy() && !rejected:
		return apierr.New(apierr.FailedOperationActionIsDoing, "the security policy %s is %s; retry when it settles", p.ID, p.Status)
	case open && p.Status == PolicyBound:
		return apierr.New(apierr.FailedOperationProxySecurityAlreadyOpen, "the security policy %s is already open", p.ID)
	case !open && p.Status == PolicyUnbind:
		return apierr.New(apierr.FailedOperationProxySecurityAlreadyClose, "the security policy %s is already closed", p.ID)
	case open:
		p.Status = PolicyBinding
	default:
		p.Status = PolicyUnbinding
	}
	return nil
}
