package teo

import (
	"context"
	"slices"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// ruleFilters maps DescribeL4ProxyRules filter names to the values they test.
var ruleFilters = map[string]func(r *model.TeoL4Rule) []string{
	"rule-id":  func(r *model.TeoL4Rule) []string { return []string{r.ID} },
	"rule-tag": func(r *model.TeoL4Rule) []string { return []string{r.RuleTag} },
}

// DescribeL4ProxyRules lists a proxy's rules, oldest first.
func (s *Service) DescribeL4ProxyRules(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeL4ProxyRulesRequest) (*teoapi.DescribeL4ProxyRulesResponse, error) {
	offset, n, err := pagingZeroDefault(req.Offset, req.Limit, maxDescribeL4)
	if err != nil {
		return nil, err
	}
	fs := plainFilters(req.Filters)
	if err := checkFilters(fs, "rule-id", "rule-tag"); err != nil {
		return nil, err
	}
	var rules []*model.TeoL4Rule
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		rules, err = proxyRules(tx, cloudapi.Value(req.ZoneId), cloudapi.Value(req.ProxyId))
		return err
	})
	if err != nil {
		return nil, err
	}
	rules = slices.DeleteFunc(rules, func(r *model.TeoL4Rule) bool { return !matchAll(fs, ruleFilters, r) })
	out := make([]teoapi.L4ProxyRule, 0, n)
	for _, r := range resource.Window(rules, offset, n) {
		out = append(out, ruleInfo(r, r.ShownStatus(s.down(r.ID))))
	}
	return &teoapi.DescribeL4ProxyRulesResponse{TotalCount: new(int64(len(rules))), L4ProxyRules: out}, nil
}

func ruleInfo(r *model.TeoL4Rule, status string) teoapi.L4ProxyRule {
	return teoapi.L4ProxyRule{
		RuleId: new(r.ID), Protocol: new(r.Protocol), PortRange: slices.Clone(r.PortRange),
		OriginType: new(r.OriginType), OriginValue: slices.Clone(r.OriginValue), OriginPortRange: new(r.OriginPortRange),
		ClientIPPassThroughMode: new(r.ClientIPMode), SessionPersist: new(r.SessionPersist),
		SessionPersistTime: new(r.SessionPersistTime), RuleTag: new(r.RuleTag), Status: new(status),
	}
}

// ModifyL4ProxyRulesStatus starts (online) or stops (offline) rules.
// Rules already in the asked state are left alone.
func (s *Service) ModifyL4ProxyRulesStatus(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyL4ProxyRulesStatusRequest) (*teoapi.ModifyL4ProxyRulesStatusResponse, error) {
	want := cloudapi.Value(req.Status)
	if want != model.L4Online && want != model.L4Offline {
		return nil, cloudapi.Invalid("Status", "%q is not online or offline", want)
	}
	if err := checkBatch("RuleIds", len(req.RuleIds)); err != nil {
		return nil, err
	}
	return &teoapi.ModifyL4ProxyRulesStatusResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		picked, err := pickRules(tx, req.ZoneId, req.ProxyId, req.RuleIds)
		if err != nil {
			return err
		}
		for _, r := range picked {
			if r.Status == want {
				continue
			}
			r.SetEnabled(want == model.L4Online)
			if err := tx.Put(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteL4ProxyRules deletes rules at once; the next snapshot no longer
// listens on their ports.
func (s *Service) DeleteL4ProxyRules(ctx context.Context, call *cloudapi.Call, req *teoapi.DeleteL4ProxyRulesRequest) (*teoapi.DeleteL4ProxyRulesResponse, error) {
	if err := checkBatch("RuleIds", len(req.RuleIds)); err != nil {
		return nil, err
	}
	return &teoapi.DeleteL4ProxyRulesResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		picked, err := pickRules(tx, req.ZoneId, req.ProxyId, req.RuleIds)
		if err != nil {
			return err
		}
		zoneID, proxyID := cloudapi.Value(req.ZoneId), cloudapi.Value(req.ProxyId)
		gone := make([]*model.TeoDeparted, 0, len(picked))
		for _, r := range picked {
			if err := tx.Delete(r); err != nil {
				return err
			}
			gone = append(gone, departed(tx, zoneID, proxyID, r.ID))
		}
		return depart(tx, zoneID, gone...)
	})
}

// pickRules loads the rules ids of a proxy of a zone.
func pickRules(tx *resource.Tx, zone, proxy *string, ids []string) ([]*model.TeoL4Rule, error) {
	rules, err := proxyRules(tx, cloudapi.Value(zone), cloudapi.Value(proxy))
	if err != nil {
		return nil, err
	}
	return ruleByID(rules, ids)
}
