package vpc_test

import (
	"testing"

	vpcsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestAccountIsolation proves a second account can neither see nor touch
// root's VPCs, mirrors and proxies.
func TestAccountIsolation(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	px, ip := proxy(t, e.api)
	id := createMirror(t, e.vpc, map[string]any{"VpcId": vpc, "TrafficMirrorName": "mine", "State": "RUNNING",
		"CollectorSrcs": []string{px}, "CollectorTarget": map[string]any{"TargetIps": []string{"10.4.0.1"}}})
	otherVpc := xtest.DefaultVPC(t, e.other)
	_, otherIP := proxy(t, e.api, xtest.Other)

	d := vpcsdk.NewDescribeVpcsRequest()
	resp, err := e.other.DescribeVpcs(d)
	if err != nil || *resp.Response.TotalCount != 1 || *resp.Response.VpcSet[0].VpcId != otherVpc {
		t.Fatalf("other sees %v %s; want only its own %s", err, jsonOf(resp), otherVpc)
	}
	var list vpcapi.DescribeTrafficMirrorsResponse
	mustCall(t, e.other, "DescribeTrafficMirrors", map[string]any{}, &list)
	if *list.TotalCount != 0 {
		t.Fatalf("other sees %d mirrors; want 0", *list.TotalCount)
	}

	mirror := map[string]any{"TrafficMirrorId": id}
	cases := []struct {
		name, action string
		params       map[string]any
	}{
		{"describe vpc", "DescribeVpcs", map[string]any{"VpcIds": []string{vpc}}},
		{"modify vpc", "ModifyVpcAttribute", map[string]any{"VpcId": vpc, "VpcName": "x"}},
		{"delete vpc", "DeleteVpc", map[string]any{"VpcId": vpc}},
		{"mirror in root's vpc", "CreateTrafficMirror", map[string]any{"VpcId": vpc, "TrafficMirrorName": "x", "Type": "PUBLICIP",
			"CollectorSrcs": []string{otherIP}, "CollectorTarget": map[string]any{"TargetIps": []string{"10.4.0.2"}}}},
		{"root's proxy by IP", "CreateTrafficMirror", map[string]any{"VpcId": otherVpc, "TrafficMirrorName": "x", "Type": "PUBLICIP",
			"CollectorSrcs": []string{ip}, "CollectorTarget": map[string]any{"TargetIps": []string{"10.4.0.2"}}}},
		{"root's proxy by ID", "CreateTrafficMirror", map[string]any{"VpcId": otherVpc, "TrafficMirrorName": "x", "State": "RUNNING",
			"CollectorSrcs": []string{px}, "CollectorTarget": map[string]any{"TargetIps": []string{"10.4.0.2"}}}},
		{"check root's IP", "CheckTrafficMirror", map[string]any{"VpcId": otherVpc, "CollectorSources": []string{ip}}},
		{"describe mirror", "DescribeTrafficMirrors", map[string]any{"TrafficMirrorIds": []string{id}}},
		{"modify mirror", "ModifyTrafficMirrorAttribute", with(mirror, "TrafficMirrorName", "x")},
		{"stop", "StopTrafficMirror", mirror},
		{"start", "StartTrafficMirror", mirror},
		{"direction", "UpdateTrafficMirrorDirection", with(mirror, "Direction", "ALL")},
		{"all filter", "UpdateTrafficMirrorAllFilter", with(mirror, "Direction", "ALL")},
		{"reset filter", "ResetTrafficMirrorFilter", mirror},
		{"reset srcs", "ResetTrafficMirrorSrcs", with(mirror, "CollectorSrcs", []string{otherIP})},
		{"reset target", "ResetTrafficMirrorTarget", with(mirror, "CollectorTarget", map[string]any{"TargetIps": []string{"10.4.0.3"}})},
		{"create rules", "CreateTrafficMirrorFilterRules", with(mirror, "IngressFilterRules", []map[string]any{{"Protocol": "TCP"}})},
		{"describe rules", "DescribeTrafficMirrorFilterRules", mirror},
		{"modify rules", "ModifyTrafficMirrorFilterRules", with(mirror, "IngressFilterRules", []map[string]any{{"TrafficMirrorFilterRuleId": "tmfi-00000000"}})},
		{"delete rules", "DeleteTrafficMirrorFilterRules", with(mirror, "IngressFilterRuleIds", []string{"tmfi-00000000"})},
		{"delete mirror", "DeleteTrafficMirror", mirror},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, call(e.other, tc.action, tc.params, nil), "ResourceNotFound")
		})
	}
	m := describeMirror(t, e.vpc, id)
	if *m.TrafficMirrorName != "mine" || *m.State != "RUNNING" {
		t.Fatalf("root's mirror changed: %s", jsonOf(m))
	}
	if v := describeVpc(t, e.vpc, vpc); *v.VpcName != "Default-VPC" {
		t.Fatalf("root's VPC renamed to %s", *v.VpcName)
	}
}
