package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// OpenSecurityPolicy starts enforcing a policy: BINDING until the data
// plane applied it, then BOUND. The TaskId is the call's RequestId, which
// DescribeTaskStatus follows.
func (s *Service) OpenSecurityPolicy(ctx context.Context, call *cloudapi.Call, req *gaapapi.OpenSecurityPolicyRequest) (*gaapapi.OpenSecurityPolicyResponse, error) {
	task, err := s.switchPolicy(ctx, call, trimmed(req.ProxyId), trimmed(req.PolicyId), true)
	if err != nil {
		return nil, err
	}
	return &gaapapi.OpenSecurityPolicyResponse{TaskId: new(task)}, nil
}

// CloseSecurityPolicy stops enforcing a policy: UNBINDING, then UNBIND.
// The policy and its rules are kept.
func (s *Service) CloseSecurityPolicy(ctx context.Context, call *cloudapi.Call, req *gaapapi.CloseSecurityPolicyRequest) (*gaapapi.CloseSecurityPolicyResponse, error) {
	task, err := s.switchPolicy(ctx, call, trimmed(req.ProxyId), trimmed(req.PolicyId), false)
	if err != nil {
		return nil, err
	}
	return &gaapapi.CloseSecurityPolicyResponse{TaskId: new(task)}, nil
}

// switchPolicy moves the policy named by policyID, or else the one of
// proxyID, towards bound (open) or unbound, and starts the task that
// tracks it.
func (s *Service) switchPolicy(ctx context.Context, call *cloudapi.Call, proxyID, policyID string, open bool) (string, error) {
	var task string
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		p, err := policyFor(tx, proxyID, policyID)
		if err != nil {
			return err
		}
		if err := p.Switch(open, s.down(p.ID)); err != nil {
			return err
		}
		if err := tx.Put(p); err != nil {
			return err
		}
		task, err = tx.StartTask(p.ID)
		return err
	})
	return task, err
}

// policyFor finds the policy by ID, checking it protects proxyID when both
// are given, or else the policy protecting the proxy: its own, or a group
// member's group's, the PolicyId DescribeProxies shows for it. Groups must
// name the policy, as the reference says.
func policyFor(tx *resource.Tx, proxyID, policyID string) (*model.SecurityPolicy, error) {
	if proxyID == "" {
		if policyID == "" {
			return nil, apierr.New(apierr.MissingParameter, "one of ProxyId and PolicyId is required")
		}
		return resource.Get[model.SecurityPolicy](tx, policyID)
	}
	px, err := resource.Get[model.Proxy](tx, proxyID)
	if err != nil {
		return nil, err
	}
	if policyID == "" {
		if policyID, err = proxyPolicy(tx, px); err != nil {
			return nil, err
		}
		if policyID == "" {
			return nil, apierr.New(apierr.ResourceNotFound, "the proxy %s has no security policy; create one first", proxyID)
		}
	}
	p, err := resource.Get[model.SecurityPolicy](tx, policyID)
	if err != nil {
		return nil, err
	}
	if !p.Covers(px) {
		return nil, apierr.New(apierr.InvalidParameterValue, "PolicyId: the security policy %s does not protect the proxy %s", policyID, proxyID)
	}
	return p, nil
}

// proxyPolicy is the ID of the policy protecting a proxy ("" for none):
// its own, else its group's.
func proxyPolicy(tx *resource.Tx, px *model.Proxy) (string, error) {
	if px.PolicyID != "" || px.GroupID == "" {
		return px.PolicyID, nil
	}
	g, err := resource.Get[model.ProxyGroup](tx, px.GroupID)
	if err != nil {
		return "", err
	}
	return g.PolicyID, nil
}
