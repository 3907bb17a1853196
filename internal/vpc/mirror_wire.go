package vpc

import (
	"slices"
	"strconv"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

func fiveTupleIn(f vpcapi.TrafficMirrorFilter) model.FiveTupleInput {
	return model.FiveTupleInput{SrcNet: f.SrcNet, DstNet: f.DstNet, Protocol: f.Protocol, SrcPort: f.SrcPort, DstPort: f.DstPort}
}

func ruleIn(f vpcapi.TrafficMirrorFilter) model.FilterRuleInput {
	return model.FilterRuleInput{FiveTupleInput: fiveTupleIn(f), Priority: f.Priority, Action: f.Action, Description: f.Description}
}

// parseNormalFilters validates CollectorNormalFilters.
func parseNormalFilters(in []vpcapi.TrafficMirrorFilter) ([]model.NormalFilter, error) {
	out := make([]model.NormalFilter, 0, len(in))
	for i, f := range in {
		path := "CollectorNormalFilters." + strconv.Itoa(i)
		if err := checkNoRuleID(path, f); err != nil {
			return nil, err
		}
		nf, err := model.ParseNormalFilter(path, ruleIn(f))
		if err != nil {
			return nil, err
		}
		out = append(out, nf)
	}
	return out, nil
}

// checkNoRuleID refuses a TrafficMirrorFilterRuleId on a filter being
// created: the service assigns rule IDs, and normal filters have none.
func checkNoRuleID(path string, f vpcapi.TrafficMirrorFilter) error {
	if cloudapi.Value(f.TrafficMirrorFilterRuleId) != "" {
		return apierr.New(apierr.InvalidParameterValue, "%s.TrafficMirrorFilterRuleId is assigned by the service; leave it out", path)
	}
	return nil
}

// parseNewRules validates new filter rules of one direction (param names
// the request parameter) and gives them IDs; a rule without Priority
// comes after every existing one.
func parseNewRules(param string, in []vpcapi.TrafficMirrorFilter, existing []model.MirrorFilterRule, now int64) ([]model.MirrorFilterRule, error) {
	out := make([]model.MirrorFilterRule, 0, len(in))
	for i, f := range in {
		path := param + "." + strconv.Itoa(i)
		if err := checkNoRuleID(path, f); err != nil {
			return nil, err
		}
		r, err := model.ParseFilterRule(path, ruleIn(f), slices.Concat(existing, out))
		if err != nil {
			return nil, err
		}
		r.ID, r.CreateTime = model.NewID(model.PrefixMirrorFilterRule), now
		out = append(out, r)
	}
	return out, nil
}

// checkNat rejects NatId: opengaap has no NAT gateways to filter by.
func checkNat(natID *string, withFilters bool) error {
	switch {
	case cloudapi.Value(natID) == "":
		return nil
	case withFilters:
		return apierr.New(apierr.InvalidParameterCoexist, "a traffic mirror filters by NatId or by five-tuple rules, not both")
	}
	return apierr.New(apierr.ResourceNotFound, "the NAT gateway %s does not exist", *natID)
}

func targetIn(t *vpcapi.TrafficMirrorTarget) model.MirrorTargetInput {
	return model.MirrorTargetInput{IPs: t.TargetIps, EndPoints: t.TargetEndPoints, AlgHash: cloudapi.Value(t.AlgHash), TargetType: cloudapi.Value(t.TargetType)}
}

func filterOut(f model.FiveTuple) vpcapi.TrafficMirrorFilter {
	return vpcapi.TrafficMirrorFilter{SrcNet: new(f.SrcNet), DstNet: new(f.DstNet), Protocol: new(f.Protocol),
		SrcPort: new(f.SrcPort.String()), DstPort: new(f.DstPort.String())}
}

func ruleOut(r model.MirrorFilterRule) vpcapi.TrafficMirrorFilter {
	f := filterOut(r.FiveTuple)
	f.TrafficMirrorFilterRuleId, f.Priority, f.Action = new(r.ID), new(r.Priority), new(r.Action)
	f.Description, f.CreatedTime = new(r.Description), new(formatTime(r.CreateTime))
	return f
}

func rulesOut(rules []model.MirrorFilterRule) []vpcapi.TrafficMirrorFilter {
	out := make([]vpcapi.TrafficMirrorFilter, len(rules))
	for i, r := range rules {
		out[i] = ruleOut(r)
	}
	return out
}

// mirrorOut renders a mirror. NatId is always empty and TargetInfo
// always empty: collectors are addresses, not ENIs or CLBs.
func mirrorOut(m *model.TrafficMirror) *vpcapi.TrafficMirror {
	filters := make([]vpcapi.TrafficMirrorFilter, len(m.NormalFilters))
	for i, f := range m.NormalFilters {
		filters[i] = filterOut(f.FiveTuple)
		filters[i].Action = new(f.Action())
	}
	return &vpcapi.TrafficMirror{
		VpcId: new(m.VpcID), TrafficMirrorId: new(m.ID), TrafficMirrorName: new(m.Name),
		TrafficMirrorDescribe: new(m.Description), State: new(m.State), Direction: new(m.Direction),
		CollectorSrcs: append([]string{}, m.CollectorSrcs...), NatId: new(""), CollectorNormalFilters: filters,
		CollectorTarget: &vpcapi.TrafficMirrorTarget{TargetIps: append([]string{}, m.Target.IPs...),
			AlgHash: new(m.Target.AlgHash), TargetEndPoints: append([]string{}, m.Target.EndPoints...), TargetType: new(m.Target.Type)},
		CreateTime: new(formatTime(m.CreateTime)), Type: new(m.Type), SubnetId: new(m.SubnetID),
		TargetInfo: []vpcapi.TrafficMirrorTargetResourceInfo{}, IngressFilterRules: rulesOut(m.IngressRules),
		EgressFilterRules: rulesOut(m.EgressRules),
	}
}
