package vpc_test

import (
	"math"
	"slices"
	"testing"

	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

func TestTrafficMirrorFilterRules(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	px, _ := proxy(t, e.api)
	id := createMirror(t, e.vpc, map[string]any{"VpcId": vpc, "TrafficMirrorName": "rules", "State": "RUNNING",
		"CollectorSrcs": []string{px}, "CollectorTarget": map[string]any{"TargetIps": []string{"10.3.0.1"}}})

	var created vpcapi.CreateTrafficMirrorFilterRulesResponse
	mustCall(t, e.vpc, "CreateTrafficMirrorFilterRules", map[string]any{"TrafficMirrorId": id,
		"IngressFilterRules": []map[string]any{
			{"SrcNet": "192.168.0.0/16", "DstNet": "10.0.0.0/16", "Protocol": "TCP", "SrcPort": "1000-2000", "DstPort": "1000-2000", "Priority": 2, "Action": "ACCEPT", "Description": "rule_1"},
			{"Protocol": "UDP", "Action": "DROP"},
		},
		"EgressFilterRules": []map[string]any{{"Protocol": "TCP", "Priority": 1, "Action": "DROP", "Description": "rule_1"}},
	}, &created)
	if len(created.IngressFilterRules) != 2 || len(created.EgressFilterRules) != 1 || *created.TrafficMirrorId != id {
		t.Fatalf("created %s", jsonOf(created))
	}
	in1, in2, eg1 := created.IngressFilterRules[0], created.IngressFilterRules[1], created.EgressFilterRules[0]
	if *in2.Priority != 3 || *in2.SrcNet != "0.0.0.0/0" || *in2.SrcPort != "1-65535" {
		t.Fatalf("defaulted rule %s; want priority 3, any net and port", jsonOf(in2))
	}

	describe := func(params map[string]any) (ids []string, total int64) {
		t.Helper()
		params["TrafficMirrorId"] = id
		var out vpcapi.DescribeTrafficMirrorFilterRulesResponse
		mustCall(t, e.vpc, "DescribeTrafficMirrorFilterRules", params, &out)
		for _, r := range slices.Concat(out.IngressFilterRules, out.EgressFilterRules) {
			ids = append(ids, *r.TrafficMirrorFilterRuleId)
		}
		return ids, *out.TotalCount
	}
	rid := func(f vpcapi.TrafficMirrorFilter) string { return *f.TrafficMirrorFilterRuleId }
	cases := []struct {
		name   string
		params map[string]any
		want   []string
		total  int64
	}{
		{"all", map[string]any{}, []string{rid(in1), rid(in2), rid(eg1)}, 3},
		{"by id", map[string]any{"TrafficMirrorFilterRuleIds": []string{rid(eg1)}}, []string{rid(eg1)}, 1},
		{"direction", map[string]any{"Filters": []map[string]any{{"Name": "direction", "Values": []string{"EGRESS"}}}}, []string{rid(eg1)}, 1},
		{"action", map[string]any{"Filters": []map[string]any{{"Name": "action", "Values": []string{"DROP"}}}}, []string{rid(in2), rid(eg1)}, 2},
		{"description", map[string]any{"Filters": []map[string]any{{"Name": "description", "Values": []string{"rule"}}}}, []string{rid(in1), rid(eg1)}, 2},
		{"page", map[string]any{"Offset": 1, "Limit": 1}, []string{rid(in2)}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, total := describe(tc.params)
			if !slices.Equal(got, tc.want) || total != tc.total {
				t.Fatalf("got %v (total %d); want %v (total %d)", got, total, tc.want, tc.total)
			}
		})
	}

	mustCall(t, e.vpc, "ModifyTrafficMirrorFilterRules", map[string]any{"TrafficMirrorId": id,
		"IngressFilterRules": []map[string]any{{"TrafficMirrorFilterRuleId": rid(in1), "Protocol": "UDP", "Priority": 1}}}, nil)
	m := describeMirror(t, e.vpc, id)
	r := m.IngressFilterRules[0]
	if *r.Protocol != "UDP" || *r.Priority != 1 || *r.SrcNet != "192.168.0.0/16" || *r.DstPort != "1000-2000" || *r.Description != "rule_1" {
		t.Fatalf("modified rule %s; want only protocol and priority changed", jsonOf(r))
	}

	bad := []struct {
		name, action string
		params       map[string]any
		code         string
	}{
		{"duplicate priority", "CreateTrafficMirrorFilterRules", map[string]any{"IngressFilterRules": []map[string]any{{"Priority": 1}}}, "InvalidParameterValue"},
		{"bad action", "CreateTrafficMirrorFilterRules", map[string]any{"EgressFilterRules": []map[string]any{{"Action": "ALLOW"}}}, "InvalidParameterValue"},
		{"no rules", "CreateTrafficMirrorFilterRules", map[string]any{}, "MissingParameter"},
		{"rules and five-tuple", "UpdateTrafficMirrorAllFilter", map[string]any{"CollectorNormalFilters": []map[string]any{{"Protocol": "TCP"}}}, "InvalidParameter.Coexist"},
		{"modify wrong direction", "ModifyTrafficMirrorFilterRules", map[string]any{"EgressFilterRules": []map[string]any{{"TrafficMirrorFilterRuleId": rid(in1), "Protocol": "TCP"}}}, "ResourceNotFound"},
		{"modify without id", "ModifyTrafficMirrorFilterRules", map[string]any{"EgressFilterRules": []map[string]any{{"Protocol": "TCP"}}}, "MissingParameter"},
		{"modify bad port", "ModifyTrafficMirrorFilterRules", map[string]any{"EgressFilterRules": []map[string]any{{"TrafficMirrorFilterRuleId": rid(eg1), "DstPort": "0"}}}, "InvalidParameterValue.Malformed"},
		{"delete unknown", "DeleteTrafficMirrorFilterRules", map[string]any{"IngressFilterRuleIds": []string{"tmfi-00000000"}}, "ResourceNotFound"},
		{"describe unknown", "DescribeTrafficMirrorFilterRules", map[string]any{"TrafficMirrorFilterRuleIds": []string{"tmfi-00000000"}}, "ResourceNotFound"},
		{"describe bad filter", "DescribeTrafficMirrorFilterRules", map[string]any{"Filters": []map[string]any{{"Name": "port", "Values": []string{"1"}}}}, "InvalidParameter.FilterInvalidKey"},
		{"describe filter without values", "DescribeTrafficMirrorFilterRules", map[string]any{"Filters": []map[string]any{{"Name": "action", "Values": []string{}}}}, "InvalidParameterValue"},
		{"unknown mirror", "DescribeTrafficMirrorFilterRules", map[string]any{"TrafficMirrorId": "imgf-00000000"}, "ResourceNotFound"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.params["TrafficMirrorId"]; !ok {
				tc.params["TrafficMirrorId"] = id
			}
			wantCode(t, call(e.vpc, tc.action, tc.params, nil), tc.code)
		})
	}

	// NO-DIRECTION works with rules only.
	mustCall(t, e.vpc, "UpdateTrafficMirrorDirection", map[string]any{"TrafficMirrorId": id, "Direction": "NO-DIRECTION"}, nil)
	if m := describeMirror(t, e.vpc, id); *m.Direction != "NO-DIRECTION" {
		t.Fatalf("Direction %s; want NO-DIRECTION", *m.Direction)
	}
	mustCall(t, e.vpc, "DeleteTrafficMirrorFilterRules", map[string]any{"TrafficMirrorId": id,
		"IngressFilterRuleIds": []string{rid(in1), rid(in2)}}, nil)
	if got, total := describe(map[string]any{}); !slices.Equal(got, []string{rid(eg1)}) || total != 1 {
		t.Fatalf("after delete: %v (total %d); want [%s]", got, total, rid(eg1))
	}
}

// TestFilterRulePriorityRange: Priority is a uint64 of at least 1; a rule
// without one comes after the highest, and is refused when nothing is left
// above it rather than wrapping to a negative priority that would be
// evaluated first.
func TestFilterRulePriorityRange(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	px, _ := proxy(t, e.api)
	id := createMirror(t, e.vpc, mirrorBase(vpc, px))
	rules := func(rule map[string]any) map[string]any {
		return map[string]any{"TrafficMirrorId": id, "IngressFilterRules": []map[string]any{rule}}
	}
	wantCode(t, call(e.vpc, "CreateTrafficMirrorFilterRules", rules(map[string]any{"Priority": 0}), nil), "InvalidParameterValue")
	wantCode(t, call(e.vpc, "CreateTrafficMirrorFilterRules", rules(map[string]any{"Priority": -1}), nil), "InvalidParameterValue")
	mustCall(t, e.vpc, "CreateTrafficMirrorFilterRules", rules(map[string]any{"Protocol": "TCP", "Priority": int64(math.MaxInt64)}), nil)
	wantCode(t, call(e.vpc, "CreateTrafficMirrorFilterRules", rules(map[string]any{"Protocol": "UDP"}), nil), "InvalidParameterValue.LimitExceeded")
	var out vpcapi.CreateTrafficMirrorFilterRulesResponse
	mustCall(t, e.vpc, "CreateTrafficMirrorFilterRules", rules(map[string]any{"Protocol": "UDP", "Priority": 7}), &out)
	if p := *out.IngressFilterRules[0].Priority; p != 7 {
		t.Fatalf("explicit Priority 7 stored as %d", p)
	}
	// Above int64: out of range too (documented limit).
	wantCode(t, call(e.vpc, "CreateTrafficMirrorFilterRules", rules(map[string]any{"Priority": uint64(math.MaxUint64)}), nil), "InvalidParameterValue")
}
