package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// CreateSecurityPolicy gives a proxy or a group its (only) security
// policy. The policy starts UNBIND: it is enforced once OpenSecurityPolicy
// binds it, as Tencent's console and Terraform provider expect.
func (s *Service) CreateSecurityPolicy(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateSecurityPolicyRequest) (*gaapapi.CreateSecurityPolicyResponse, error) {
	action, err := model.ParseSecurityAction("DefaultAction", trimmed(req.DefaultAction))
	if err != nil {
		return nil, err
	}
	proxyID, groupID := trimmed(req.ProxyId), trimmed(req.GroupId)
	if (proxyID == "") == (groupID == "") {
		return nil, apierr.New(apierr.InvalidParameter, "exactly one of ProxyId and GroupId must be given")
	}
	p := &model.SecurityPolicy{Base: model.Base{ID: model.NewID(model.PrefixPolicy)},
		ProxyID: proxyID, GroupID: groupID, DefaultAction: action, Status: model.PolicyUnbind}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		target, err := policyOwner(tx, proxyID, groupID)
		if err != nil {
			return err
		}
		if *target.policy != "" {
			return apierr.New(apierr.FailedOperationProxySecurityPolicyExisted,
				"%s already has the security policy %s; delete it first", target.id, *target.policy)
		}
		*target.policy = p.ID
		if err := tx.Put(target.obj); err != nil {
			return err
		}
		return tx.Insert(p)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateSecurityPolicyResponse{PolicyId: new(p.ID)}, nil
}

// policyTarget is the proxy or group a policy protects, with its PolicyID field.
type policyTarget struct {
	id     string
	obj    model.Object
	policy *string
}

// policyOwner loads the running proxy or group a policy is for. Either one
// not running gets notRunningCode: ResourceUnavailable, since
// CreateSecurityPolicy's error list has neither
// FailedOperation.ProxyStatusNotInRuning nor GroupStatusNotInRuning.
func policyOwner(tx *resource.Tx, proxyID, groupID string) (policyTarget, error) {
	if proxyID != "" {
		px, err := resource.Get[model.Proxy](tx, proxyID)
		if err != nil {
			return policyTarget{}, err
		}
		if !px.Operable() {
			return policyTarget{}, apierr.New(notRunningCode(tx.Action, apierr.FailedOperationProxyStatusNotInRuning),
				"the proxy %s is %s; security policies can be created only while it is RUNNING", proxyID, px.Status)
		}
		if px.GroupID != "" {
			return policyTarget{}, apierr.New(apierr.InvalidParameterValue,
				"ProxyId: the proxy %s belongs to the group %s; create the policy with GroupId", proxyID, px.GroupID)
		}
		return policyTarget{proxyID, px, &px.PolicyID}, nil
	}
	g, err := resource.Get[model.ProxyGroup](tx, groupID)
	if err != nil {
		return policyTarget{}, err
	}
	if err := groupRunning(tx, g); err != nil {
		return policyTarget{}, err
	}
	return policyTarget{groupID, g, &g.PolicyID}, nil
}

// DeleteSecurityPolicy removes a policy and its rules at once; the proxy
// stops enforcing it with the next configuration push.
func (s *Service) DeleteSecurityPolicy(ctx context.Context, call *cloudapi.Call, req *gaapapi.DeleteSecurityPolicyRequest) (*gaapapi.DeleteSecurityPolicyResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		p, err := resource.Get[model.SecurityPolicy](tx, trimmed(req.PolicyId))
		if err != nil {
			return err
		}
		if s.settling(p) {
			return apierr.New(apierr.FailedOperation, "the security policy %s is %s; retry when it settles", p.ID, p.Status)
		}
		if err := detachPolicy(tx, p); err != nil {
			return err
		}
		return tx.Delete(p)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DeleteSecurityPolicyResponse{}, nil
}

// settling reports whether p is opening or closing on its way to settle:
// not one the data plane rejected (Down: a rule an older release stored),
// which stays BINDING until its rules are fixed, it is closed or deleted.
func (s *Service) settling(p *model.SecurityPolicy) bool {
	return p.Busy() && !s.down(p.ID)
}

// detachPolicy clears the PolicyId of the policy's proxy or group.
func detachPolicy(tx *resource.Tx, p *model.SecurityPolicy) error {
	var obj model.Object
	var field *string
	if p.ProxyID != "" {
		px, err := resource.Get[model.Proxy](tx, p.ProxyID)
		if err != nil {
			return ignoreNotFound(err) // the proxy is gone; nothing points at the policy
		}
		obj, field = px, &px.PolicyID
	} else {
		g, err := resource.Get[model.ProxyGroup](tx, p.GroupID)
		if err != nil {
			return ignoreNotFound(err)
		}
		obj, field = g, &g.PolicyID
	}
	if *field != p.ID {
		return nil
	}
	*field = ""
	return tx.Put(obj)
}

// DescribeSecurityPolicyDetail returns a policy with its rules in order.
func (s *Service) DescribeSecurityPolicyDetail(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeSecurityPolicyDetailRequest) (*gaapapi.DescribeSecurityPolicyDetailResponse, error) {
	var p *model.SecurityPolicy
	err := s.view(ctx, call, func(tx *resource.Tx) (err error) {
		p, err = resource.Get[model.SecurityPolicy](tx, trimmed(req.PolicyId))
		return err
	})
	if err != nil {
		return nil, err
	}
	resp := &gaapapi.DescribeSecurityPolicyDetailResponse{
		Status: new(p.Status), DefaultAction: new(p.DefaultAction), PolicyId: new(p.ID),
		RuleList: securityRulesOut(p, p.Rules),
	}
	if p.ProxyID != "" {
		resp.ProxyId = new(p.ProxyID)
	}
	return resp, nil
}

func securityRulesOut(p *model.SecurityPolicy, rules []model.SecurityRule) []gaapapi.SecurityPolicyRuleOut {
	out := make([]gaapapi.SecurityPolicyRuleOut, 0, len(rules))
	for _, r := range rules {
		out = append(out, gaapapi.SecurityPolicyRuleOut{
			Action: new(r.Action), SourceCidr: new(r.SourceCidr), AliasName: new(r.Alias),
			DestPortRange: new(r.ShownPorts()), RuleId: new(r.ID), Protocol: new(r.Protocol), PolicyId: new(p.ID),
		})
	}
	return out
}

func ignoreNotFound(err error) error {
	if apierr.Is(err, apierr.ResourceNotFound) {
		return nil
	}
	return err
}
