package gaap

import (
	"context"
	"fmt"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// maxRuleIDs is DescribeSecurityRules' documented cap on SecurityRuleIds.
const maxRuleIDs = 20

// CreateSecurityRules appends rules to a policy, in the order given.
func (s *Service) CreateSecurityRules(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateSecurityRulesRequest) (*gaapapi.CreateSecurityRulesResponse, error) {
	if len(req.RuleList) == 0 {
		return nil, cloudapi.Invalid("RuleList", "at least one rule is required")
	}
	rules := make([]model.SecurityRule, 0, len(req.RuleList))
	for i, in := range req.RuleList {
		r, err := securityRuleIn(fmt.Sprintf("RuleList.%d.", i), in)
		if err != nil {
			return nil, err
		}
		r.ID = model.NewID(model.PrefixSecurityRule)
		rules = append(rules, r)
	}
	err := s.editPolicy(ctx, call, trimmed(req.PolicyId), func(p *model.SecurityPolicy) error {
		if len(p.Rules)+len(rules) > model.MaxSecurityRules {
			return apierr.New(apierr.LimitExceeded, "a security policy holds at most %d rules; %s has %d", model.MaxSecurityRules, p.ID, len(p.Rules))
		}
		for _, r := range rules {
			if err := checkDuplicateRule(p, r); err != nil {
				return err
			}
			p.Rules = append(p.Rules, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rules))
	for i, r := range rules {
		ids[i] = r.ID
	}
	return &gaapapi.CreateSecurityRulesResponse{RuleIdList: ids}, nil
}

// securityRuleIn validates one SecurityPolicyRuleIn; prefix names it in
// errors ("RuleList.0.").
func securityRuleIn(prefix string, in gaapapi.SecurityPolicyRuleIn) (r model.SecurityRule, err error) {
	if r.SourceCidr, err = model.ParseRuleSource(prefix+"SourceCidr", trimmed(in.SourceCidr)); err != nil {
		return r, err
	}
	if r.Action, err = model.ParseSecurityAction(prefix+"Action", trimmed(in.Action)); err != nil {
		return r, err
	}
	if r.Protocol, err = model.ParseRuleProtocol(prefix+"Protocol", trimmed(in.Protocol)); err != nil {
		return r, err
	}
	r.DestPortRangeAsGiven = trimmed(in.DestPortRange)
	if r.DestPortRange, err = model.ParseRulePorts(prefix+"DestPortRange", r.DestPortRangeAsGiven); err != nil {
		return r, err
	}
	r.Alias = model.TruncateAlias(trimmed(in.AliasName))
	return r, nil
}

// checkDuplicateRule refuses r when another rule of p matches the same
// traffic.
func checkDuplicateRule(p *model.SecurityPolicy, r model.SecurityRule) error {
	for _, o := range p.Rules {
		if o.ID != r.ID && o.SameMatch(r) {
			return apierr.New(apierr.FailedOperationProxySecurityPolicyDuplicatedRule,
				"the rule for %s %s port %s duplicates the rule %s of %s", r.SourceCidr, r.Protocol, r.DestPortRange, o.ID, p.ID)
		}
	}
	return nil
}

// editPolicy changes a policy's rules in one transaction. Rules cannot
// change while the policy opens or closes (but for one the data plane
// rejected, whose rules are to be fixed: settling):
// FailedOperation.ProxySecurityPolicyOperating where the action's error
// list names it (listedCode), else FailedOperation (DeleteSecurityRules).
func (s *Service) editPolicy(ctx context.Context, call *cloudapi.Call, policyID string, fn func(*model.SecurityPolicy) error) error {
	return s.update(ctx, call, func(tx *resource.Tx) error {
		p, err := resource.Get[model.SecurityPolicy](tx, policyID)
		if err != nil {
			return err
		}
		if s.settling(p) {
			return apierr.New(listedCode(tx.Action, apierr.FailedOperationProxySecurityPolicyOperating, apierr.FailedOperation), "the security policy %s is %s; retry when it settles", p.ID, p.Status)
		}
		if err := fn(p); err != nil {
			return err
		}
		return tx.Put(p)
	})
}

// DeleteSecurityRules removes rules from a policy; every ID must be one
// of its rules.
func (s *Service) DeleteSecurityRules(ctx context.Context, call *cloudapi.Call, req *gaapapi.DeleteSecurityRulesRequest) (*gaapapi.DeleteSecurityRulesResponse, error) {
	if len(req.RuleIdList) == 0 {
		return nil, cloudapi.Invalid("RuleIdList", "at least one rule ID is required")
	}
	err := s.editPolicy(ctx, call, trimmed(req.PolicyId), func(p *model.SecurityPolicy) error {
		for _, id := range req.RuleIdList {
			if p.Rule(id) < 0 {
				return apierr.New(apierr.ResourceNotFound, "the security policy %s has no rule %s", p.ID, id)
			}
		}
		p.Rules = slices.DeleteFunc(p.Rules, func(r model.SecurityRule) bool { return slices.Contains(req.RuleIdList, r.ID) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DeleteSecurityRulesResponse{}, nil
}

// ModifySecurityRule renames a rule and changes the fields given.
func (s *Service) ModifySecurityRule(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifySecurityRuleRequest) (*gaapapi.ModifySecurityRuleResponse, error) {
	err := s.editPolicy(ctx, call, trimmed(req.PolicyId), func(p *model.SecurityPolicy) error {
		i := p.Rule(trimmed(req.RuleId))
		if i < 0 {
			return apierr.New(apierr.ResourceNotFound, "the security policy %s has no rule %s", p.ID, trimmed(req.RuleId))
		}
		r := p.Rules[i]
		in := gaapapi.SecurityPolicyRuleIn{AliasName: req.AliasName,
			SourceCidr: firstSet(req.SourceCidr, &r.SourceCidr), Action: firstSet(req.RuleAction, &r.Action),
			Protocol: firstSet(req.Protocol, &r.Protocol), DestPortRange: firstSet(req.DestPortRange, new(r.ShownPorts()))}
		nr, err := securityRuleIn("", in)
		if err != nil {
			return err
		}
		nr.ID = r.ID
		// A rule whose match stays the same duplicates no rule it did not
		// already; checking it anyway would lock a pair stored before the
		// check compared port sets ("80,443" and "443,80") out of every
		// edit, a rename included.
		if !nr.SameMatch(r) {
			if err := checkDuplicateRule(p, nr); err != nil {
				return err
			}
		}
		p.Rules[i] = nr
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifySecurityRuleResponse{}, nil
}

// firstSet returns v when the caller gave it, else def.
func firstSet(v, def *string) *string {
	if v != nil {
		return v
	}
	return def
}

// DescribeSecurityRules returns the caller's rules among SecurityRuleIds,
// in the order asked; unknown IDs are left out, and an ID asked twice is
// answered (and counted in TotalCount) once, as there is one rule.
func (s *Service) DescribeSecurityRules(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeSecurityRulesRequest) (*gaapapi.DescribeSecurityRulesResponse, error) {
	if len(req.SecurityRuleIds) == 0 || len(req.SecurityRuleIds) > maxRuleIDs {
		return nil, cloudapi.Invalid("SecurityRuleIds", "give 1 to %d rule IDs, not %d", maxRuleIDs, len(req.SecurityRuleIds))
	}
	out := []gaapapi.SecurityPolicyRuleOut{}
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		policies, _, err := resource.List[model.SecurityPolicy](tx, store.Query{})
		if err != nil {
			return err
		}
		for _, id := range cloudapi.UniqueInOrder(req.SecurityRuleIds) {
			for _, p := range policies {
				if i := p.Rule(id); i >= 0 {
					out = append(out, securityRulesOut(p, p.Rules[i:i+1])...)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeSecurityRulesResponse{TotalCount: new(int64(len(out))), SecurityRuleSet: out}, nil
}
