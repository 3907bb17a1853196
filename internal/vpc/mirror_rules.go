package vpc

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// CreateTrafficMirrorFilterRules adds prioritized rules to a mirror.
func (s *Service) CreateTrafficMirrorFilterRules(ctx context.Context, call *cloudapi.Call, req *vpcapi.CreateTrafficMirrorFilterRulesRequest) (*vpcapi.CreateTrafficMirrorFilterRulesResponse, error) {
	if len(req.IngressFilterRules)+len(req.EgressFilterRules) == 0 {
		return nil, apierr.New(apierr.MissingParameter, "give IngressFilterRules or EgressFilterRules")
	}
	var in, eg []model.MirrorFilterRule
	now := call.Time.Unix()
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(_ *resource.Tx, m *model.TrafficMirror) (err error) {
		if in, err = parseNewRules("IngressFilterRules", req.IngressFilterRules, m.IngressRules, now); err != nil {
			return err
		}
		if eg, err = parseNewRules("EgressFilterRules", req.EgressFilterRules, m.EgressRules, now); err != nil {
			return err
		}
		m.IngressRules, m.EgressRules = append(m.IngressRules, in...), append(m.EgressRules, eg...)
		return m.CheckMirrorFilters()
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.CreateTrafficMirrorFilterRulesResponse{TrafficMirrorId: req.TrafficMirrorId,
		IngressFilterRules: rulesOut(in), EgressFilterRules: rulesOut(eg)}, nil
}

// ModifyTrafficMirrorFilterRules changes the given fields of existing
// rules, each named by TrafficMirrorFilterRuleId in its own direction.
func (s *Service) ModifyTrafficMirrorFilterRules(ctx context.Context, call *cloudapi.Call, req *vpcapi.ModifyTrafficMirrorFilterRulesRequest) (*vpcapi.ModifyTrafficMirrorFilterRulesResponse, error) {
	if len(req.IngressFilterRules)+len(req.EgressFilterRules) == 0 {
		return nil, apierr.New(apierr.MissingParameter, "give IngressFilterRules or EgressFilterRules")
	}
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(_ *resource.Tx, m *model.TrafficMirror) error {
		if err := modifyRules("IngressFilterRules", m.IngressRules, req.IngressFilterRules); err != nil {
			return err
		}
		if err := modifyRules("EgressFilterRules", m.EgressRules, req.EgressFilterRules); err != nil {
			return err
		}
		return m.CheckMirrorFilters()
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.ModifyTrafficMirrorFilterRulesResponse{}, nil
}

// modifyRules applies changes to rules in place.
func modifyRules(param string, rules []model.MirrorFilterRule, changes []vpcapi.TrafficMirrorFilter) error {
	for i, c := range changes {
		path := param + "." + strconv.Itoa(i)
		id := cloudapi.Value(c.TrafficMirrorFilterRuleId)
		if id == "" {
			return apierr.New(apierr.MissingParameter, "%s.TrafficMirrorFilterRuleId is required", path)
		}
		j := slices.IndexFunc(rules, func(r model.MirrorFilterRule) bool { return r.ID == id })
		if j < 0 {
			return apierr.New(apierr.ResourceNotFound, "the filter rule %s does not exist in %s", id, param)
		}
		r, err := model.ModifyFilterRule(path, rules[j], ruleIn(c))
		if err != nil {
			return err
		}
		rules[j] = r
	}
	return nil
}

// DeleteTrafficMirrorFilterRules removes rules by ID.
func (s *Service) DeleteTrafficMirrorFilterRules(ctx context.Context, call *cloudapi.Call, req *vpcapi.DeleteTrafficMirrorFilterRulesRequest) (*vpcapi.DeleteTrafficMirrorFilterRulesResponse, error) {
	if len(req.IngressFilterRuleIds)+len(req.EgressFilterRuleIds) == 0 {
		return nil, apierr.New(apierr.MissingParameter, "give IngressFilterRuleIds or EgressFilterRuleIds")
	}
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(_ *resource.Tx, m *model.TrafficMirror) (err error) {
		if m.IngressRules, err = deleteRules("IngressFilterRuleIds", m.IngressRules, req.IngressFilterRuleIds); err != nil {
			return err
		}
		m.EgressRules, err = deleteRules("EgressFilterRuleIds", m.EgressRules, req.EgressFilterRuleIds)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.DeleteTrafficMirrorFilterRulesResponse{}, nil
}

func deleteRules(param string, rules []model.MirrorFilterRule, ids []string) ([]model.MirrorFilterRule, error) {
	for _, id := range ids {
		if !slices.ContainsFunc(rules, func(r model.MirrorFilterRule) bool { return r.ID == id }) {
			return nil, apierr.New(apierr.ResourceNotFound, "the filter rule %s named in %s does not exist", id, param)
		}
	}
	return slices.DeleteFunc(rules, func(r model.MirrorFilterRule) bool { return slices.Contains(ids, r.ID) }), nil
}

// ruleFilters are DescribeTrafficMirrorFilterRules' filters.
var ruleFilters = map[string]func(dir string, r model.MirrorFilterRule, vals []string) bool{
	"traffic-mirror-filter-rule-id": func(_ string, r model.MirrorFilterRule, vals []string) bool { return slices.Contains(vals, r.ID) },
	"action":                        func(_ string, r model.MirrorFilterRule, vals []string) bool { return slices.Contains(vals, r.Action) },
	"direction":                     func(dir string, _ model.MirrorFilterRule, vals []string) bool { return slices.Contains(vals, dir) },
	"description": func(_ string, r model.MirrorFilterRule, vals []string) bool {
		return slices.ContainsFunc(vals, func(x string) bool { return strings.Contains(r.Description, x) })
	},
}
