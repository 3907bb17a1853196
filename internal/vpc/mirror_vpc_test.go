package vpc_test

import (
	"slices"
	"strings"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestVPCMirrorLifecycle drives a VPC mirror of a proxy and a listener
// through every action that changes it, reading each change back.
func TestVPCMirrorLifecycle(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	px, _ := proxy(t, e.api)
	px2, _ := proxy(t, e.api)
	lis := tcpListener(t, e.api, px2, 9000)
	id := createMirror(t, e.vpc, map[string]any{
		"VpcId": vpc, "TrafficMirrorName": "demo", "State": "STOPED", "Direction": "INGRESS",
		"CollectorSrcs":          []string{px},
		"CollectorNormalFilters": []map[string]string{{"SrcNet": "10.0.0.0/24", "DstNet": "192.168.0.0/24", "Protocol": "tcp", "SrcPort": "5000", "DstPort": "3000-3456"}},
		"CollectorTarget":        map[string]any{"AlgHash": "ENI", "TargetIps": []string{"172.16.16.10"}},
		"SubnetId":               "subnet-q304e5h2",
	})
	m := describeMirror(t, e.vpc, id)
	f := m.CollectorNormalFilters
	if *m.Type != "VPC" || *m.State != "STOPED" || *m.Direction != "INGRESS" || *m.SubnetId != "subnet-q304e5h2" ||
		len(f) != 1 || *f[0].SrcNet != "10.0.0.0/24" || *f[0].Protocol != "TCP" || *f[0].SrcPort != "5000" || *f[0].DstPort != "3000-3456" ||
		*m.CollectorTarget.AlgHash != "ENI" || m.CollectorTarget.TargetIps[0] != "172.16.16.10" {
		t.Fatalf("got %s", jsonOf(m))
	}

	step := func(action string, params map[string]any, check func(m vpcapi.TrafficMirror) bool) {
		t.Helper()
		params["TrafficMirrorId"] = id
		mustCall(t, e.vpc, action, params, nil)
		if m := describeMirror(t, e.vpc, id); !check(m) {
			t.Fatalf("after %s: got %s", action, jsonOf(m))
		}
	}
	bad := func(action string, params map[string]any, code string) {
		t.Helper()
		if _, ok := params["TrafficMirrorId"]; !ok {
			params["TrafficMirrorId"] = id
		}
		wantCode(t, call(e.vpc, action, params, nil), code)
	}

	step("StartTrafficMirror", map[string]any{}, func(m vpcapi.TrafficMirror) bool { return *m.State == "RUNNING" })
	step("StopTrafficMirror", map[string]any{}, func(m vpcapi.TrafficMirror) bool { return *m.State == "STOPED" })
	bad("StartTrafficMirror", map[string]any{"TrafficMirrorId": "imgf-00000000"}, "ResourceNotFound")
	bad("StopTrafficMirror", map[string]any{"TrafficMirrorId": "imgf-00000000"}, "ResourceNotFound")

	step("ModifyTrafficMirrorAttribute", map[string]any{"TrafficMirrorName": "renamed", "TrafficMirrorDescription": "d"},
		func(m vpcapi.TrafficMirror) bool {
			return *m.TrafficMirrorName == "renamed" && *m.TrafficMirrorDescribe == "d"
		})
	bad("ModifyTrafficMirrorAttribute", map[string]any{"TrafficMirrorName": " "}, "InvalidParameterValue")
	bad("ModifyTrafficMirrorAttribute", map[string]any{"TrafficMirrorDescription": strings.Repeat("d", 256)}, "InvalidParameterValue.TooLong")

	step("UpdateTrafficMirrorDirection", map[string]any{"Direction": "EGRESS"}, func(m vpcapi.TrafficMirror) bool { return *m.Direction == "EGRESS" })
	bad("UpdateTrafficMirrorDirection", map[string]any{"Direction": "SIDEWAYS"}, "InvalidParameterValue")
	bad("UpdateTrafficMirrorDirection", map[string]any{"Direction": "NO-DIRECTION"}, "InvalidParameter.Coexist")
	// An empty Direction is not the creation default ALL on a change:
	// both actions refuse it and the mirror stays EGRESS.
	bad("UpdateTrafficMirrorDirection", map[string]any{"Direction": ""}, "InvalidParameterValue")
	bad("UpdateTrafficMirrorAllFilter", map[string]any{"Direction": ""}, "InvalidParameterValue")
	if m := describeMirror(t, e.vpc, id); *m.Direction != "EGRESS" {
		t.Fatalf(`after Direction "": got Direction %s; want EGRESS`, *m.Direction)
	}

	step("ResetTrafficMirrorSrcs", map[string]any{"CollectorSrcs": []string{lis, px}},
		func(m vpcapi.TrafficMirror) bool { return slices.Equal(m.CollectorSrcs, []string{lis, px}) })
	bad("ResetTrafficMirrorSrcs", map[string]any{"CollectorSrcs": []string{"link-00000000"}}, "ResourceNotFound")
	bad("ResetTrafficMirrorSrcs", map[string]any{"CollectorSrcs": []string{"listener-00000000"}}, "ResourceNotFound")
	bad("ResetTrafficMirrorSrcs", map[string]any{"CollectorSrcs": []string{"1.2.3.4"}}, "InvalidParameterValue")
	bad("ResetTrafficMirrorSrcs", map[string]any{"CollectorSrcs": []string{}}, "MissingParameter")

	step("ResetTrafficMirrorTarget", map[string]any{"CollectorTarget": map[string]any{"TargetIps": []string{"10.9.9.9", "10.9.9.10"}, "AlgHash": "FIVE_TUPLE_FLOW"}},
		func(m vpcapi.TrafficMirror) bool {
			return slices.Equal(m.CollectorTarget.TargetIps, []string{"10.9.9.9", "10.9.9.10"}) && *m.CollectorTarget.AlgHash == "FIVE_TUPLE_FLOW"
		})
	bad("ResetTrafficMirrorTarget", map[string]any{"CollectorTarget": map[string]any{"TargetIps": []string{"10.9.9.300"}}}, "InvalidParameterValue.Malformed")
	bad("ResetTrafficMirrorTarget", map[string]any{"CollectorTarget": map[string]any{"TargetIps": []string{"10.9.9.9", "10.9.9.9"}}}, "InvalidParameterValue")

	// A normal filter keeps its Action: DROP excludes what it matches.
	step("ResetTrafficMirrorFilter", map[string]any{"CollectorNormalFilters": []map[string]any{{"Protocol": "UDP", "Action": "drop"}, {"Protocol": "TCP"}}},
		func(m vpcapi.TrafficMirror) bool {
			f := m.CollectorNormalFilters
			return len(f) == 2 && *f[0].Action == "DROP" && *f[0].Protocol == "UDP" && *f[1].Action == "ACCEPT"
		})
	bad("ResetTrafficMirrorFilter", map[string]any{"CollectorNormalFilters": []map[string]any{{"Action": "DENY"}}}, "InvalidParameterValue")
	bad("ResetTrafficMirrorFilter", map[string]any{"CollectorNormalFilters": []map[string]any{{"Action": "DROP", "Priority": 1}}}, "InvalidParameterValue")
	bad("ResetTrafficMirrorFilter", map[string]any{"CollectorNormalFilters": []map[string]any{{"Description": "d"}}}, "InvalidParameterValue")
	step("ResetTrafficMirrorFilter", map[string]any{}, func(m vpcapi.TrafficMirror) bool { return len(m.CollectorNormalFilters) == 0 })
	bad("ResetTrafficMirrorFilter", map[string]any{"NatId": "nat-qo7kugzg"}, "ResourceNotFound")

	step("UpdateTrafficMirrorAllFilter", map[string]any{"Direction": "ALL", "CollectorNormalFilters": []map[string]string{{"Protocol": "UDP", "DstPort": "53"}}},
		func(m vpcapi.TrafficMirror) bool {
			f := m.CollectorNormalFilters
			return *m.Direction == "ALL" && len(f) == 1 && *f[0].Protocol == "UDP" && *f[0].DstPort == "53" && *f[0].SrcNet == "0.0.0.0/0" &&
				slices.Equal(m.CollectorSrcs, []string{lis, px})
		})
	step("UpdateTrafficMirrorAllFilter", map[string]any{"CollectorSrcs": []string{px2}},
		func(m vpcapi.TrafficMirror) bool {
			return slices.Equal(m.CollectorSrcs, []string{px2}) && len(m.CollectorNormalFilters) == 1
		})
	bad("UpdateTrafficMirrorAllFilter", map[string]any{"Direction": "UP"}, "InvalidParameterValue")

	t.Run("creation errors", func(t *testing.T) {
		base := map[string]any{"VpcId": vpc, "TrafficMirrorName": "m", "State": "RUNNING", "CollectorSrcs": []string{px2},
			"CollectorTarget": map[string]any{"TargetIps": []string{"10.1.1.1"}}}
		wantCode(t, call(e.vpc, "CreateTrafficMirror", base, nil), "InvalidParameterValue.ObjectUseInTrafficMirror")
		wantCode(t, call(e.vpc, "CreateTrafficMirror", with(base, "CollectorSrcs", []string{px}, "State", nil), nil), "MissingParameter")
		wantCode(t, call(e.vpc, "CreateTrafficMirror", with(base, "CollectorSrcs", []string{px}, "Direction", "NO-DIRECTION"), nil), "InvalidParameterValue")
		wantCode(t, call(e.vpc, "CreateTrafficMirror", with(base, "CollectorSrcs", []string{px, px}), nil), "InvalidParameterValue")
		wantCode(t, call(e.vpc, "CreateTrafficMirror", with(base, "CollectorSrcs", []string{px}, "SubnetId", "sn-1"), nil), "InvalidParameterValue.Malformed")
		// The limit ModifyTrafficMirrorAttribute applies: a description Create
		// stored could not be written back.
		wantCode(t, call(e.vpc, "CreateTrafficMirror", with(base, "CollectorSrcs", []string{px}, "TrafficMirrorDescribe", strings.Repeat("d", 256)), nil), "InvalidParameterValue.TooLong")
	})

	mustCall(t, e.vpc, "DeleteTrafficMirror", map[string]any{"TrafficMirrorId": id}, nil)
	wantCode(t, call(e.vpc, "DescribeTrafficMirrors", map[string]any{"TrafficMirrorIds": []string{id}}, nil), "ResourceNotFound")
	bad("DeleteTrafficMirror", map[string]any{}, "ResourceNotFound")
	// Its sources are free again, and the VPC can go.
	createMirror(t, e.vpc, map[string]any{"VpcId": vpc, "TrafficMirrorName": "again", "State": "RUNNING",
		"CollectorSrcs": []string{px2}, "CollectorTarget": map[string]any{"TargetIps": []string{"10.1.1.1"}}})
}

// TestMirrorWithoutSourcesOrTarget: CollectorSrcs and CollectorTarget are
// optional in CreateTrafficMirror. Such a mirror is described with empty
// lists, can be started, and is completed by the Reset actions, which
// (unlike Create) require their parameter.
func TestMirrorWithoutSourcesOrTarget(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	px, _ := proxy(t, e.api)
	px2, _ := proxy(t, e.api)
	noSrcs := createMirror(t, e.vpc, with(mirrorBase(vpc, px), "CollectorSrcs", nil, "State", "STOPED"))
	noTarget := createMirror(t, e.vpc, with(mirrorBase(vpc, px), "CollectorTarget", nil))
	pub := createMirror(t, e.vpc, map[string]any{"VpcId": vpc, "TrafficMirrorName": "p", "Type": "PUBLICIP"})

	m := describeMirror(t, e.vpc, noSrcs)
	if len(m.CollectorSrcs) != 0 || m.CollectorSrcs == nil || !slices.Equal(m.CollectorTarget.TargetIps, []string{"10.1.1.1"}) {
		t.Fatalf("mirror created without CollectorSrcs: got %s", jsonOf(m))
	}
	m = describeMirror(t, e.vpc, noTarget)
	tg := m.CollectorTarget
	if !slices.Equal(m.CollectorSrcs, []string{px}) || tg == nil || tg.TargetIps == nil || len(tg.TargetIps)+len(tg.TargetEndPoints) != 0 ||
		*tg.AlgHash != "FIVE_TUPLE_FLOW" || *tg.TargetType != "IP" {
		t.Fatalf("mirror created without CollectorTarget: got %s; want empty collector lists and the defaults", jsonOf(m))
	}
	if m := describeMirror(t, e.vpc, pub); *m.State != "RUNNING" || len(m.CollectorSrcs) != 0 {
		t.Fatalf("PUBLICIP mirror created with neither: got %s", jsonOf(m))
	}

	mustCall(t, e.vpc, "StartTrafficMirror", map[string]any{"TrafficMirrorId": noSrcs}, nil)
	wantCode(t, call(e.vpc, "ResetTrafficMirrorSrcs", map[string]any{"TrafficMirrorId": noSrcs}, nil), "MissingParameter")
	wantCode(t, call(e.vpc, "ResetTrafficMirrorTarget", map[string]any{"TrafficMirrorId": noTarget}, nil), "MissingParameter")
	mustCall(t, e.vpc, "ResetTrafficMirrorSrcs", map[string]any{"TrafficMirrorId": noSrcs, "CollectorSrcs": []string{px2}}, nil)
	mustCall(t, e.vpc, "ResetTrafficMirrorTarget", map[string]any{"TrafficMirrorId": noTarget,
		"CollectorTarget": map[string]any{"TargetIps": []string{"10.1.1.2"}}}, nil)
	if m := describeMirror(t, e.vpc, noSrcs); *m.State != "RUNNING" || !slices.Equal(m.CollectorSrcs, []string{px2}) {
		t.Fatalf("after Start and ResetTrafficMirrorSrcs: got %s", jsonOf(m))
	}
	if m := describeMirror(t, e.vpc, noTarget); !slices.Equal(m.CollectorTarget.TargetIps, []string{"10.1.1.2"}) {
		t.Fatalf("after ResetTrafficMirrorTarget: got %s", jsonOf(m))
	}
}

// TestMirrorSourcesOverlap: a proxy's traffic is collected by one mirror
// only, compared on what the sources resolve to: the proxy, its access IP
// (PUBLICIP) and its listeners overlap one another, on Create and on every
// action that sets sources; two listeners of one proxy do not.
func TestMirrorSourcesOverlap(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	px, ip := proxy(t, e.api)
	lis, lis2 := tcpListener(t, e.api, px, 9001), tcpListener(t, e.api, px, 9002)
	other, otherIP := proxy(t, e.api)
	byProxy := createMirror(t, e.vpc, mirrorBase(vpc, px))
	publicIP := func(src string) map[string]any {
		return map[string]any{"VpcId": vpc, "TrafficMirrorName": "p", "Type": "PUBLICIP", "CollectorSrcs": []string{src},
			"CollectorTarget": map[string]any{"TargetEndPoints": []string{"10.1.1.9:4789"}}}
	}
	const inUse = "InvalidParameterValue.ObjectUseInTrafficMirror"
	wantCode(t, call(e.vpc, "CreateTrafficMirror", with(mirrorBase(vpc, px), "CollectorSrcs", []string{lis}), nil), inUse)
	wantCode(t, call(e.vpc, "CreateTrafficMirror", publicIP(ip), nil), inUse)
	wantCode(t, call(e.vpc, "CheckTrafficMirror", map[string]any{"VpcId": vpc, "CollectorSources": []string{ip}}, nil), inUse)

	byOther := createMirror(t, e.vpc, mirrorBase(vpc, other))
	wantCode(t, call(e.vpc, "ResetTrafficMirrorSrcs", map[string]any{"TrafficMirrorId": byOther, "CollectorSrcs": []string{lis2}}, nil), inUse)
	wantCode(t, call(e.vpc, "UpdateTrafficMirrorAllFilter", map[string]any{"TrafficMirrorId": byOther, "CollectorSrcs": []string{other, lis}}, nil), inUse)
	wantCode(t, call(e.vpc, "CreateTrafficMirror", publicIP(otherIP), nil), inUse)

	// Listeners of one proxy are disjoint; a listener overlaps the PUBLICIP
	// mirror of its proxy's IP the other way round too.
	mustCall(t, e.vpc, "ResetTrafficMirrorSrcs", map[string]any{"TrafficMirrorId": byProxy, "CollectorSrcs": []string{lis}}, nil)
	createMirror(t, e.vpc, with(mirrorBase(vpc, px), "CollectorSrcs", []string{lis2}))
	wantCode(t, call(e.vpc, "CreateTrafficMirror", publicIP(ip), nil), inUse)
	// A mirror may overlap its own old sources.
	mustCall(t, e.vpc, "ResetTrafficMirrorSrcs", map[string]any{"TrafficMirrorId": byOther, "CollectorSrcs": []string{other}}, nil)
}

// TestDeletedListenerSourceFreesProxy: a mirror keeps the source of a
// listener deleted after it was set (as it keeps a deleted proxy's), but
// that source copies nothing and no longer counts as collecting the
// proxy: a new mirror of the proxy is accepted.
func TestDeletedListenerSourceFreesProxy(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	px, _ := proxy(t, e.api)
	lis := tcpListener(t, e.api, px, 9100)
	createMirror(t, e.vpc, mirrorBase(vpc, lis))
	d := gaapsdk.NewDeleteListenersRequest()
	d.ListenerIds, d.ProxyId, d.Force = []*string{&lis}, &px, new(uint64(1))
	if _, err := e.api.GAAP().DeleteListeners(d); err != nil {
		t.Fatalf("DeleteListeners: %v", err)
	}
	eventually(t, func() bool {
		r := gaapsdk.NewDescribeTCPListenersRequest()
		r.ProxyId = &px
		resp, err := e.api.GAAP().DescribeTCPListeners(r)
		return err == nil && *resp.Response.TotalCount == 0
	}, "listener %s not deleted", lis)
	if err := call(e.vpc, "CreateTrafficMirror", with(mirrorBase(vpc, px), "TrafficMirrorName", "whole-proxy",
		"CollectorTarget", map[string]any{"TargetIps": []string{"10.1.1.2"}}), nil); err != nil {
		t.Errorf("mirror of proxy %s after its only mirrored listener %s was deleted: %v; want success", px, lis, err)
	}
}

// TestDescribeTrafficMirrors checks filters, paging and the mirror quota.
func TestDescribeTrafficMirrors(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	var ids []string
	for i, name := range []string{"web-a", "web-b", "db"} {
		px, _ := proxy(t, e.api)
		ids = append(ids, createMirror(t, e.vpc, map[string]any{"VpcId": vpc, "TrafficMirrorName": name, "State": "RUNNING",
			"CollectorSrcs": []string{px}, "CollectorTarget": map[string]any{"TargetIps": []string{"10.2.0.1"}},
			"Tags": []map[string]string{{"Key": []string{"a", "a", "b"}[i], "Value": "v"}}}))
	}
	list := func(params map[string]any) (got []string, total int64) {
		t.Helper()
		var out vpcapi.DescribeTrafficMirrorsResponse
		mustCall(t, e.vpc, "DescribeTrafficMirrors", params, &out)
		for _, m := range out.TrafficMirrorSet {
			got = append(got, *m.TrafficMirrorId)
		}
		return got, *out.TotalCount
	}
	cases := []struct {
		name   string
		params map[string]any
		want   []string
		total  int64
	}{
		{"all newest first", map[string]any{}, []string{ids[2], ids[1], ids[0]}, 3},
		{"page", map[string]any{"Offset": 1, "Limit": 1}, []string{ids[1]}, 3},
		{"fuzzy name", map[string]any{"Filters": map[string]any{"Name": "traffic-mirror-name", "Values": []string{"web"}}}, []string{ids[1], ids[0]}, 2},
		{"tag key", map[string]any{"Filters": map[string]any{"Name": "tag-key", "Values": []string{"b"}}}, []string{ids[2]}, 1},
		{"vpc id", map[string]any{"Filters": map[string]any{"Name": "vpc-id", "Values": []string{"vpc-00000000"}}}, nil, 0},
		{"by id", map[string]any{"TrafficMirrorIds": []string{ids[0]}}, []string{ids[0]}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, total := list(tc.params)
			if !slices.Equal(got, tc.want) || total != tc.total {
				t.Fatalf("got %v (total %d); want %v (total %d)", got, total, tc.want, tc.total)
			}
		})
	}
	wantCode(t, call(e.vpc, "DescribeTrafficMirrors", map[string]any{"Limit": 101}, nil), "InvalidParameterValue.Range")
	wantCode(t, call(e.vpc, "DescribeTrafficMirrors", map[string]any{"Filters": map[string]any{"Name": "state", "Values": []string{"x"}}}, nil), "InvalidParameter.FilterInvalidKey")
	wantCode(t, call(e.vpc, "DescribeTrafficMirrors", map[string]any{"TrafficMirrorIds": []string{"vpc-1"}}, nil), "InvalidParameterValue.Malformed")
}

// TestMirrorQuota: a VPC holds at most 10 mirrors.
func TestMirrorQuota(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	px, _ := proxy(t, e.api)
	req := gaapsdk.NewCreateTCPListenersRequest()
	req.ProxyId, req.ListenerName, req.Scheduler, req.HealthCheck, req.RealServerType = new(px), new("q"), new("rr"), new(uint64(0)), new("IP")
	for p := range uint64(10) {
		req.Ports = append(req.Ports, new(8000+p))
	}
	resp, err := e.api.GAAP().CreateTCPListeners(req)
	if err != nil {
		t.Fatalf("CreateTCPListeners: %v", err)
	}
	base := map[string]any{"VpcId": vpc, "TrafficMirrorName": "q", "State": "RUNNING",
		"CollectorTarget": map[string]any{"TargetIps": []string{"10.5.0.1"}}}
	for _, l := range resp.Response.ListenerIds {
		createMirror(t, e.vpc, with(base, "CollectorSrcs", []string{*l}))
	}
	wantCode(t, call(e.vpc, "CreateTrafficMirror", with(base, "CollectorSrcs", []string{px}), nil), "LimitExceeded")
}

// TestDeletedListenerSourceFreesItsMirror: mirror A collects listener L
// of proxy P; L is deleted, which frees P (TestDeletedListenerSourceFreesProxy)
// and mirror B collects P. Mirror A's dead source copies nothing: changes
// to A that re-run the exclusivity check (a new collector, a new direction
// or filters) go through. They were refused as if A still collected P:
// checkMirror dropped deleted listeners from the other mirrors' sources
// but not from the mirror being changed.
func TestDeletedListenerSourceFreesItsMirror(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	px, _ := proxy(t, e.api)
	lis := tcpListener(t, e.api, px, 9100)
	a := createMirror(t, e.vpc, mirrorBase(vpc, lis))
	d := gaapsdk.NewDeleteListenersRequest()
	d.ListenerIds, d.ProxyId, d.Force = []*string{&lis}, &px, new(uint64(1))
	if _, err := e.api.GAAP().DeleteListeners(d); err != nil {
		t.Fatalf("DeleteListeners: %v", err)
	}
	eventually(t, func() bool {
		r := gaapsdk.NewDescribeTCPListenersRequest()
		r.ProxyId = &px
		resp, err := e.api.GAAP().DescribeTCPListeners(r)
		return err == nil && *resp.Response.TotalCount == 0
	}, "listener %s not deleted", lis)
	createMirror(t, e.vpc, with(mirrorBase(vpc, px), "TrafficMirrorName", "whole-proxy",
		"CollectorTarget", map[string]any{"TargetIps": []string{"10.1.1.2"}}))

	// Changes to A that do not touch its sources.
	if err := call(e.vpc, "ResetTrafficMirrorTarget", map[string]any{"TrafficMirrorId": a,
		"CollectorTarget": map[string]any{"TargetIps": []string{"10.1.1.3"}}}, nil); err != nil {
		t.Errorf("ResetTrafficMirrorTarget of %s (its only source, deleted listener %s, copies nothing): %v; want success", a, lis, err)
	}
	if err := call(e.vpc, "UpdateTrafficMirrorAllFilter", map[string]any{"TrafficMirrorId": a, "Direction": "INGRESS"}, nil); err != nil {
		t.Errorf("UpdateTrafficMirrorAllFilter(Direction) of %s: %v; want success", a, err)
	}
}
