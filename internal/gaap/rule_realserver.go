package gaap

import (
	"context"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// maxRuleRealServers is DescribeRuleRealServers' documented Limit cap.
const maxRuleRealServers = 1000

// BindRuleRealServers replaces the origins of a rule; an empty set
// unbinds all of them.
func (s *Service) BindRuleRealServers(ctx context.Context, call *cloudapi.Call, req *gaapapi.BindRuleRealServersRequest) (*gaapapi.BindRuleRealServersResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		l, r, err := s.changeableRule(tx, nil, req.RuleId)
		if err != nil {
			return err
		}
		bindings, err := ruleBindings(tx, l, r, req.RealServerBindSet)
		if err != nil {
			return err
		}
		if err := checkOwnerBindings(tx, l.Owner(), r.ID, len(r.Bindings), len(bindings), apierr.FailedOperation); err != nil {
			return err
		}
		r.Bindings = bindings
		return changeRule(tx, r, model.StatusBinding)
	})
	return &gaapapi.BindRuleRealServersResponse{}, err
}

// checkOwnerBindings refuses (code) n new bindings of the listener or
// rule replacing (a call replaces its whole set of had) where owner's
// listeners and rules would hold more than model.MaxOwnerBindings
// together. A set that does not grow passes: an owner an earlier release
// let past the bound can still unbind and reweigh.
func checkOwnerBindings(tx *resource.Tx, owner, replacing string, had, n int, code apierr.Code) error {
	if n <= had {
		return nil
	}
	err := eachBindingSet(tx, owner, func(_ *model.Listener, holder string, bs []model.Bound) error {
		if holder != replacing {
			n += len(bs)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return model.CheckOwnerBindings(owner, n, code)
}

// ruleBindings validates the requested origins of r, a rule of l: each
// must be the caller's, in the project of l's proxy or group, of the
// rule's RealServerType, on a valid port, listed once; at most
// model.MaxBindings of them, as for a listener. Weights are 1-100
// and default to 1.
func ruleBindings(tx *resource.Tx, l *model.Listener, r *model.Rule, in []gaapapi.RealServerBindSetReq) ([]model.Bound, error) {
	if err := model.CheckBindingCount(len(in), listedCode(tx.Action, apierr.FailedOperationLimitRealServerNum, apierr.FailedOperation)); err != nil {
		return nil, err
	}
	project, err := listenerProject(tx, l)
	if err != nil {
		return nil, err
	}
	out := make([]model.Bound, 0, len(in))
	for i, b := range in {
		param := cloudapi.Index("RealServerBindSet", i)
		if trimmed(b.RealServerId) == "" {
			return nil, cloudapi.Missing(param + "RealServerId")
		}
		rs, err := resource.Get[model.RealServer](tx, *b.RealServerId)
		if err != nil {
			return nil, apierr.New(apierr.InvalidParameterValueRealServerNotBelong, "%sRealServerId: origin %s does not exist or is not yours", param, *b.RealServerId)
		}
		if rs.Type() != r.RealServerType {
			return nil, cloudapi.Invalid(param+"RealServerId", "origin %s is of type %s; rule %s takes %s origins", rs.ID, rs.Type(), r.ID, r.RealServerType)
		}
		if b.RealServerIP != nil && *b.RealServerIP != "" && !rs.HasAddress(*b.RealServerIP) {
			return nil, cloudapi.Invalid(param+"RealServerIP", "%q is not the address of origin %s (%s)", *b.RealServerIP, rs.ID, rs.Address)
		}
		if err := rs.CheckProject(param+"RealServerId", project); err != nil {
			return nil, err
		}
		bound, err := boundIn(param, rs.ID, b)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(o model.Bound) bool { return o.RealServerID == bound.RealServerID && o.Port == bound.Port }) {
			return nil, cloudapi.Invalid(param+"RealServerId", "origin %s port %d is listed twice", rs.ID, bound.Port)
		}
		out = append(out, bound)
	}
	return out, nil
}

// boundIn checks port, weight and role of one requested binding.
func boundIn(param, id string, b gaapapi.RealServerBindSetReq) (model.Bound, error) {
	port, weight := cloudapi.Value(b.RealServerPort), cloudapi.ValueOr(b.RealServerWeight, 1)
	switch {
	case b.RealServerPort == nil:
		return model.Bound{}, cloudapi.Missing(param + "RealServerPort")
	case port < 1 || port > 65535:
		return model.Bound{}, cloudapi.Invalid(param+"RealServerPort", "must be 1-65535, not %d", port)
	case weight < 1 || weight > 100:
		return model.Bound{}, cloudapi.Invalid(param+"RealServerWeight", "must be 1-100, not %d", weight)
	}
	role := trimmed(b.RealServerFailoverRole)
	if role != "" && role != "master" && role != "slave" {
		return model.Bound{}, cloudapi.Invalid(param+"RealServerFailoverRole", "must be master or slave, not %q", role)
	}
	return model.Bound{RealServerID: id, Port: port, Weight: weight, Role: role}, nil
}

// DescribeRuleRealServers returns the origins bound to a rule and, paged,
// those that could be bound: the caller's origins of the rule's type in
// the project of the listener's proxy or group.
func (s *Service) DescribeRuleRealServers(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeRuleRealServersRequest) (*gaapapi.DescribeRuleRealServersResponse, error) {
	offset, limit, err := paging(req.Offset, req.Limit, maxRuleRealServers)
	if err != nil {
		return nil, err
	}
	resp := &gaapapi.DescribeRuleRealServersResponse{}
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		r, err := ruleParam(tx, req.RuleId)
		if err != nil {
			return err
		}
		l, err := resource.Get[model.Listener](tx, r.ListenerID)
		if err != nil {
			return err
		}
		project, err := listenerProject(tx, l)
		if err != nil {
			return err
		}
		all, _, err := resource.List[model.RealServer](tx, store.Query{Project: &project})
		if err != nil {
			return err
		}
		bindable := all[:0]
		for _, rs := range all {
			if rs.Type() == r.RealServerType {
				bindable = append(bindable, rs)
			}
		}
		resp.TotalCount, resp.BindRealServerTotalCount = new(int64(len(bindable))), new(int64(len(r.Bindings)))
		resp.RealServerSet = realServersOut(resource.Window(bindable, offset, limit))
		resp.BindRealServerSet, err = s.listenerBoundOut(tx, r.ID, r.Bindings)
		return err
	})
	return resp, err
}

// listenerProject is the project of the proxy or group owning a listener.
func listenerProject(tx *resource.Tx, l *model.Listener) (int64, error) {
	if l.ProxyID != "" {
		p, err := resource.Get[model.Proxy](tx, l.ProxyID)
		if err != nil {
			return 0, err
		}
		return p.ProjectID, nil
	}
	g, err := resource.Get[model.ProxyGroup](tx, l.GroupID)
	if err != nil {
		return 0, err
	}
	return g.ProjectID, nil
}

func realServersOut(rss []*model.RealServer) []gaapapi.RealServer {
	out := make([]gaapapi.RealServer, 0, len(rss))
	for _, rs := range rss {
		out = append(out, gaapapi.RealServer{RealServerIP: new(rs.ShownAddress()), RealServerId: &rs.ID,
			RealServerName: &rs.Name, ProjectId: &rs.ProjectID, InBanBlacklist: new(int64(0))})
	}
	return out
}
