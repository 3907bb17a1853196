package teo

import (
	"context"
	"fmt"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// maxRulesPerCall is the documented cap of one rules request.
const maxRulesPerCall = 200

// CreateL4ProxyRules adds rules to a proxy. Each rule starts in progress;
// the controller settles it online once the data plane listens.
func (s *Service) CreateL4ProxyRules(ctx context.Context, call *cloudapi.Call, req *teoapi.CreateL4ProxyRulesRequest) (*teoapi.CreateL4ProxyRulesResponse, error) {
	if err := checkBatch("L4ProxyRules", len(req.L4ProxyRules)); err != nil {
		return nil, err
	}
	rules := make([]*model.TeoL4Rule, len(req.L4ProxyRules))
	for i, in := range req.L4ProxyRules {
		param := cloudapi.Index("L4ProxyRules", i)
		if err := requireRuleFields(param, &in); err != nil {
			return nil, err
		}
		r := &model.TeoL4Rule{Base: model.Base{ID: model.NewTeoID(model.PrefixTeoL4Rule)},
			ZoneID: cloudapi.Value(req.ZoneId), ProxyID: cloudapi.Value(req.ProxyId), Status: model.L4Progress,
			ClientIPMode: model.PassOff, SessionPersist: model.TeoOff}
		applyRule(r, &in)
		if err := r.Check(param, s.caps); err != nil {
			return nil, err
		}
		rules[i] = r
	}
	ids := make([]string, len(rules))
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		existing, err := proxyRules(tx, cloudapi.Value(req.ZoneId), cloudapi.Value(req.ProxyId))
		if err != nil {
			return err
		}
		if err := checkRuleSet(tx, append(existing, rules...), existing); err != nil {
			return err
		}
		for i, r := range rules {
			ids[i] = r.ID
			if err := tx.Insert(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &teoapi.CreateL4ProxyRulesResponse{L4ProxyRuleIds: ids}, nil
}

// checkBatch applies the 1-200 items rule of the rules actions.
func checkBatch(param string, n int) error {
	if n == 0 {
		return cloudapi.Invalid(param, "give at least one item")
	}
	if n > maxRulesPerCall {
		return apierr.New(apierr.LimitExceededProxyRulesLimitExceeded, "%s: %d items; at most %d per request", param, n, maxRulesPerCall)
	}
	return nil
}

// requireRuleFields enforces the members CreateL4ProxyRules requires.
func requireRuleFields(param string, in *teoapi.L4ProxyRule) error {
	switch {
	case in.Protocol == nil:
		return cloudapi.Missing(param + "Protocol")
	case in.PortRange == nil:
		return cloudapi.Missing(param + "PortRange")
	case in.OriginType == nil:
		return cloudapi.Missing(param + "OriginType")
	case in.OriginValue == nil:
		return cloudapi.Missing(param + "OriginValue")
	case in.OriginPortRange == nil:
		return cloudapi.Missing(param + "OriginPortRange")
	}
	return nil
}

// applyRule copies the members present in in onto r. RuleId, Status,
// BuId and RemoteAuth are not settable and ignored.
func applyRule(r *model.TeoL4Rule, in *teoapi.L4ProxyRule) {
	for _, f := range [...]struct {
		dst *string
		src *string
	}{{&r.Protocol, in.Protocol}, {&r.OriginType, in.OriginType}, {&r.OriginPortRange, in.OriginPortRange},
		{&r.ClientIPMode, in.ClientIPPassThroughMode}, {&r.SessionPersist, in.SessionPersist}, {&r.RuleTag, in.RuleTag}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if in.PortRange != nil {
		r.PortRange = slices.Clone(in.PortRange)
	}
	if in.OriginValue != nil {
		r.OriginValue = slices.Clone(in.OriginValue)
	}
	if in.SessionPersistTime != nil {
		r.SessionPersistTime = *in.SessionPersistTime
	}
}

// proxyRules returns the rules of the caller's proxy in zone.
func proxyRules(tx *resource.Tx, zoneID, proxyID string) ([]*model.TeoL4Rule, error) {
	p, err := proxyOf(tx, zoneID, proxyID)
	if err != nil {
		return nil, err
	}
	return resource.Children[model.TeoL4Rule](tx, p.ID)
}

// checkRuleSet checks the rules a proxy would have, in place of the
// stored ones: no port of a protocol used twice, at most
// model.TeoMaxProxyPorts ports and model.TeoMaxProxyOrigins (port, origin)
// pairs unless stored held more already (a proxy stored before the bounds
// may change in ways that do not add to them), and every origin group used
// exists in the zone and can serve L4 traffic.
func checkRuleSet(tx *resource.Tx, rules, stored []*model.TeoL4Rule) error {
	if err := model.CheckTeoProxyPorts(rules, model.TeoProxyPorts(stored)); err != nil {
		return err
	}
	groups, err := ruleGroups(tx, nil, slices.Concat(rules, stored))
	if err != nil {
		return err
	}
	for _, r := range rules {
		if r.OriginType == model.OriginOriginGroup {
			if err := checkGroupRef(r, groups[r.OriginValue[0]]); err != nil {
				return err
			}
		}
	}
	return checkProxyOrigins(apierr.LimitExceededProxyRulesLimitExceeded, rules, stored, groups)
}

// ruleGroups reads the origin groups rules use from the store, once each,
// except changed (a group being modified, not yet stored). A group not
// found is left out: checkGroupRef refuses a new reference; a stale one
// forwards nowhere.
func ruleGroups(tx *resource.Tx, changed *model.TeoOriginGroup, rules []*model.TeoL4Rule) (map[string]*model.TeoOriginGroup, error) {
	groups := map[string]*model.TeoOriginGroup{}
	if changed != nil {
		groups[changed.ID] = changed
	}
	tried := map[string]bool{}
	for _, r := range rules {
		if r.OriginType != model.OriginOriginGroup || len(r.OriginValue) == 0 || tried[r.OriginValue[0]] || groups[r.OriginValue[0]] != nil {
			continue
		}
		tried[r.OriginValue[0]] = true
		g, err := resource.Get[model.TeoOriginGroup](tx, r.OriginValue[0])
		if apierr.Is(err, apierr.ResourceNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		groups[g.ID] = g
	}
	return groups, nil
}

// checkProxyOrigins applies model.CheckTeoProxyOrigins to the rules of each
// proxy among rules, answering code, against what stored (the proxies'
// rules as they are) forward to, with the groups the rules use
// (ruleGroups).
func checkProxyOrigins(code apierr.Code, rules, stored []*model.TeoL4Rule, groups map[string]*model.TeoOriginGroup) error {
	byProxy := func(rules []*model.TeoL4Rule) (ids []string, m map[string][]*model.TeoL4Rule) {
		m = map[string][]*model.TeoL4Rule{}
		for _, r := range rules {
			if m[r.ProxyID] == nil {
				ids = append(ids, r.ProxyID)
			}
			m[r.ProxyID] = append(m[r.ProxyID], r)
		}
		return ids, m
	}
	proxies, after := byProxy(rules)
	_, before := byProxy(stored)
	for _, id := range proxies {
		if err := model.CheckTeoProxyOrigins(code, after[id], groups, model.TeoProxyOrigins(before[id], groups)); err != nil {
			return err
		}
	}
	return nil
}

// checkGroupRef checks that g, the group r uses (nil: not found), is in
// r's zone and can serve L4 traffic.
func checkGroupRef(r *model.TeoL4Rule, g *model.TeoOriginGroup) error {
	if g == nil || g.ZoneID != r.ZoneID {
		return apierr.New(apierr.InvalidParameterInvalidOriginValue, "the origin group %s does not exist in zone %s", r.OriginValue[0], r.ZoneID)
	}
	if why := g.UsableByL4(); why != "" {
		return apierr.New(apierr.InvalidParameterInvalidOriginValue, "%s", why)
	}
	return nil
}

// ModifyL4ProxyRules changes rules; members left out keep their values.
// The whole resulting rule is validated again, and an online rule
// redeploys (progress, then online).
func (s *Service) ModifyL4ProxyRules(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyL4ProxyRulesRequest) (*teoapi.ModifyL4ProxyRulesResponse, error) {
	if err := checkBatch("L4ProxyRules", len(req.L4ProxyRules)); err != nil {
		return nil, err
	}
	return &teoapi.ModifyL4ProxyRulesResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		rules, err := proxyRules(tx, cloudapi.Value(req.ZoneId), cloudapi.Value(req.ProxyId))
		if err != nil {
			return err
		}
		stored := make([]*model.TeoL4Rule, len(rules)) // As they were: modifyOne replaces fields, never edits them in place.
		for i, r := range rules {
			stored[i] = new(*r)
		}
		changed := map[string]bool{}
		for i, in := range req.L4ProxyRules {
			param := cloudapi.Index("L4ProxyRules", i)
			if err := modifyOne(rules, changed, param, &in, s.caps); err != nil {
				return err
			}
		}
		if err := checkRuleSet(tx, rules, stored); err != nil {
			return err
		}
		for _, r := range rules {
			if changed[r.ID] {
				if err := tx.Put(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func modifyOne(rules []*model.TeoL4Rule, changed map[string]bool, param string, in *teoapi.L4ProxyRule, caps model.Capabilities) error {
	id := cloudapi.Value(in.RuleId)
	if id == "" {
		return cloudapi.Missing(param + "RuleId")
	}
	if changed[id] {
		return cloudapi.Invalid(param+"RuleId", "%s is given twice", id)
	}
	i := slices.IndexFunc(rules, func(r *model.TeoL4Rule) bool { return r.ID == id })
	if i < 0 {
		return apierr.New(apierr.ResourceNotFound, "%sRuleId: the rule %s does not exist in this proxy", param, id)
	}
	r := rules[i]
	if in.OriginType != nil {
		if err := r.CheckOriginChange(param, *in.OriginType, in.OriginValue != nil); err != nil {
			return err
		}
	}
	prev := *r // applyRule replaces r's slices, never writes into them.
	applyRule(r, in)
	if err := r.Check(param, kept(caps, &prev, r)); err != nil {
		return err
	}
	r.RenumberOrigins(&prev)
	r.Touch()
	changed[id] = true
	return nil
}

// kept widens caps to what the rule had before the edit (prev) and keeps
// (r): a server restarted without TOA, or with --deny-private-origins,
// still lets a rule stored before then be edited for its other fields, as
// GAAP's listeners are (ApplyL4 checks ClientIPMethod only when it
// changes). The data plane treats what it kept as before.
func kept(caps model.Capabilities, prev, r *model.TeoL4Rule) model.Capabilities {
	if prev.ClientIPMode == model.PassTOA && r.ClientIPMode == model.PassTOA {
		caps.TOA = true
	}
	if prev.OriginType == r.OriginType && slices.Equal(prev.OriginValue, r.OriginValue) {
		caps.PrivateOrigins = true
	}
	return caps
}

// ruleByID picks the rules named by ids out of rules; an unknown or
// repeated ID is refused.
func ruleByID(rules []*model.TeoL4Rule, ids []string) ([]*model.TeoL4Rule, error) {
	out := make([]*model.TeoL4Rule, 0, len(ids))
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			return nil, cloudapi.Invalid(fmt.Sprintf("RuleIds.%d", i), "%s is given twice", id)
		}
		j := slices.IndexFunc(rules, func(r *model.TeoL4Rule) bool { return r.ID == id })
		if j < 0 {
			return nil, apierr.New(apierr.ResourceNotFound, "RuleIds.%d: the rule %s does not exist in this proxy", i, id)
		}
		out = append(out, rules[j])
	}
	return out, nil
}
