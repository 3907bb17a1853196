package vpc

import (
	"cmp"
	"context"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// DescribeTrafficMirrorFilterRules lists a mirror's rules: ingress then
// egress, each by priority; Offset and Limit page the combined list and
// TotalCount counts every matching rule.
func (s *Service) DescribeTrafficMirrorFilterRules(ctx context.Context, call *cloudapi.Call, req *vpcapi.DescribeTrafficMirrorFilterRulesRequest) (*vpcapi.DescribeTrafficMirrorFilterRulesResponse, error) {
	offset, limit, err := paging(req.Offset, req.Limit)
	if err != nil {
		return nil, err
	}
	for i, f := range req.Filters {
		if ruleFilters[*f.Name] == nil {
			return nil, apierr.New(apierr.Code("InvalidParameter.FilterInvalidKey"), "Filters.%d.Name %q is not traffic-mirror-filter-rule-id, action, description or direction", i, *f.Name)
		}
		if err := filterValues(cloudapi.Index("Filters", i), f.Values); err != nil {
			return nil, err
		}
	}
	var m *model.TrafficMirror
	err = s.view(ctx, call, func(tx *resource.Tx) (err error) {
		m, err = getMirror(tx, *req.TrafficMirrorId)
		return err
	})
	if err != nil {
		return nil, err
	}
	dirs, rules := sortedRules(m)
	for _, id := range req.TrafficMirrorFilterRuleIds {
		if !slices.ContainsFunc(rules, func(r model.MirrorFilterRule) bool { return r.ID == id }) {
			return nil, apierr.New(apierr.ResourceNotFound, "the filter rule %s does not exist", id)
		}
	}
	var picked []int // indexes into dirs and rules
	for i, r := range rules {
		if ruleMatches(dirs[i], r, req) {
			picked = append(picked, i)
		}
	}
	resp := &vpcapi.DescribeTrafficMirrorFilterRulesResponse{TrafficMirrorId: new(m.ID), TotalCount: new(int64(len(picked))),
		IngressFilterRules: []vpcapi.TrafficMirrorFilter{}, EgressFilterRules: []vpcapi.TrafficMirrorFilter{}}
	for _, i := range resource.Window(picked, offset, limit) {
		if dirs[i] == model.DirIngress {
			resp.IngressFilterRules = append(resp.IngressFilterRules, ruleOut(rules[i]))
		} else {
			resp.EgressFilterRules = append(resp.EgressFilterRules, ruleOut(rules[i]))
		}
	}
	return resp, nil
}

// sortedRules returns ingress then egress rules, each ordered by priority.
func sortedRules(m *model.TrafficMirror) ([]string, []model.MirrorFilterRule) {
	byPrio := func(a, b model.MirrorFilterRule) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.ID, b.ID))
	}
	c := *m
	c.IngressRules, c.EgressRules = slices.Clone(m.IngressRules), slices.Clone(m.EgressRules)
	slices.SortStableFunc(c.IngressRules, byPrio)
	slices.SortStableFunc(c.EgressRules, byPrio)
	return c.AllRules()
}

func ruleMatches(dir string, r model.MirrorFilterRule, req *vpcapi.DescribeTrafficMirrorFilterRulesRequest) bool {
	if len(req.TrafficMirrorFilterRuleIds) > 0 && !slices.Contains(req.TrafficMirrorFilterRuleIds, r.ID) {
		return false
	}
	for _, f := range req.Filters {
		if !ruleFilters[*f.Name](dir, r, f.Values) {
			return false
		}
	}
	return true
}
