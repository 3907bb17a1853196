package vpc_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestPublicIPMirror drives a PUBLICIP mirror of GAAP proxy access IPs.
func TestPublicIPMirror(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	_, ip1 := proxy(t, e.api)
	_, ip2 := proxy(t, e.api)
	base := map[string]any{
		"VpcId": vpc, "TrafficMirrorName": "pub", "Type": "PUBLICIP", "TrafficMirrorDescribe": "edge copy",
		"CollectorSrcs":   []string{ip1},
		"CollectorTarget": map[string]any{"TargetEndPoints": []string{"127.0.0.1:4790"}},
		"Tags":            []map[string]string{{"Key": "team", "Value": "net"}},
	}
	id := createMirror(t, e.vpc, base)
	m := describeMirror(t, e.vpc, id)
	checkPublicMirror(t, m, vpc, ip1)

	t.Run("invalid create", func(t *testing.T) {
		srcs21 := make([]string, 21)
		for i := range srcs21 {
			srcs21[i] = fmt.Sprintf("198.51.100.%d", i+1)
		}
		tags51 := make([]map[string]string, 51)
		for i := range tags51 {
			tags51[i] = map[string]string{"Key": fmt.Sprintf("k%d", i)}
		}
		cases := []struct {
			name   string
			params map[string]any
			code   string
		}{
			{"source already mirrored", with(base, "TrafficMirrorName", "dup"), "InvalidParameterValue.DuplicatedLbTrafficMirrorCollectors"},
			{"receiver already used", with(base, "CollectorSrcs", []string{ip2}), "InvalidParameterValue.DuplicatedLbTrafficMirrorReciverEndpoint"},
			{"not an access IP", with(base, "CollectorSrcs", []string{"203.0.113.9"}), "ResourceNotFound"},
			{"source not an IP", with(base, "CollectorSrcs", []string{"link-abc"}), "InvalidParameterValue.Malformed"},
			{"too many sources", with(base, "CollectorSrcs", srcs21), "InvalidParameterValue.LimitExceeded"},
			{"collector is the source", with(base, "CollectorSrcs", []string{ip2}, "CollectorTarget", map[string]any{"TargetIps": []string{ip2}}), "UnsupportedOperation.TrafficMirrorNotSupportSameSrcTarget"},
			{"direction", with(base, "Direction", "EGRESS"), "InvalidParameterValue"},
			{"stopped", with(base, "State", "STOPED"), "InvalidParameterValue"},
			{"nat and filters", with(base, "NatId", "nat-qo7kugz0", "CollectorNormalFilters", []map[string]string{{"Protocol": "TCP"}}), "InvalidParameter.Coexist"},
			{"nat", with(base, "NatId", "nat-qo7kugz0"), "ResourceNotFound"},
			{"ips and endpoints", with(base, "CollectorTarget", map[string]any{"TargetIps": []string{"10.0.0.1"}, "TargetEndPoints": []string{"10.0.0.2:4789"}}), "InvalidParameter.Coexist"},
			{"endpoint port", with(base, "CollectorTarget", map[string]any{"TargetEndPoints": []string{"10.0.0.1:0"}}), "InvalidParameterValue.Malformed"},
			{"ipv6 collector", with(base, "CollectorTarget", map[string]any{"TargetIps": []string{"2001:db8::1"}}), "UnsupportedOperation.Ipv6NotSupport"},
			// "[v6]:port" is how an IPv6 endpoint is written: IPv6 is the refusal, not the syntax.
			{"ipv6 endpoint collector", with(base, "CollectorTarget", map[string]any{"TargetEndPoints": []string{"[2001:db8::1]:4789"}}), "UnsupportedOperation.Ipv6NotSupport"},
			{"ipv6 endpoint without brackets", with(base, "CollectorTarget", map[string]any{"TargetEndPoints": []string{"2001:db8::1:4789"}}), "InvalidParameterValue.Malformed"},
			{"multicast collector", with(base, "CollectorTarget", map[string]any{"TargetIps": []string{"239.1.1.1"}}), "InvalidParameterValue.InvalidLbTrafficMirrorReciverEndpoint"},
			{"clb collector", with(base, "CollectorTarget", map[string]any{"TargetType": "CLB", "TargetIps": []string{"10.0.0.1"}}), "UnsupportedOperation.TrafficMirrorNotSupportClb"},
			{"eni hash on public ip", with(base, "CollectorTarget", map[string]any{"AlgHash": "ENI", "TargetIps": []string{"10.0.0.1"}}), "InvalidParameterValue"},
			{"target without collectors", with(base, "CollectorSrcs", []string{ip2}, "CollectorTarget", map[string]any{"AlgHash": "FIVE_TUPLE_FLOW"}), "MissingParameter"},
			{"no name", with(base, "TrafficMirrorName", nil), "MissingParameter"},
			{"bad net", with(base, "CollectorNormalFilters", []map[string]string{{"SrcNet": "10.0.0.0/33"}}), "InvalidParameterValue.Malformed"},
			{"bad port", with(base, "CollectorNormalFilters", []map[string]string{{"DstPort": "70000"}}), "InvalidParameterValue.Malformed"},
			{"bad protocol", with(base, "CollectorNormalFilters", []map[string]string{{"Protocol": "SCTP"}}), "InvalidParameterValue"},
			{"duplicate tags", with(base, "Tags", []map[string]string{{"Key": "a"}, {"Key": "a"}}), "InvalidParameterValue.TagDuplicateKey"},
			{"reserved tag", with(base, "Tags", []map[string]string{{"Key": "qcloud:x"}}), "UnsupportedOperation.TagSystemReservedTagKey"},
			{"empty tag key", with(base, "Tags", []map[string]string{{"Key": ""}}), "InvalidParameterValue.TagInvalidKeyLen"},
			{"long tag key", with(base, "Tags", []map[string]string{{"Key": strings.Repeat("k", 128)}}), "InvalidParameterValue.TagInvalidKeyLen"},
			{"long tag value", with(base, "Tags", []map[string]string{{"Key": "k", "Value": strings.Repeat("v", 256)}}), "InvalidParameterValue.TagInvalidVal"},
			{"too many tags", with(base, "Tags", tags51), "LimitExceeded.TagKeyPerResourceExceeded"},
			{"unknown vpc", with(base, "VpcId", "vpc-00000000"), "ResourceNotFound"},
			{"bad type", with(base, "Type", "ENI"), "InvalidParameterValue"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, call(e.vpc, "CreateTrafficMirror", tc.params, nil), tc.code)
			})
		}
	})

	t.Run("stop is unsupported", func(t *testing.T) {
		wantCode(t, call(e.vpc, "StopTrafficMirror", map[string]any{"TrafficMirrorId": id}, nil), "UnsupportedOperation")
		if m := describeMirror(t, e.vpc, id); *m.State != "RUNNING" {
			t.Fatalf("State %s; want RUNNING", *m.State)
		}
	})

	t.Run("check", func(t *testing.T) {
		fresh := map[string]any{"VpcId": vpc, "CollectorSources": []string{ip2},
			"CollectorTarget": []map[string]any{{"TargetEndPoints": []string{"127.0.0.1:4791"}}}}
		mustCall(t, e.vpc, "CheckTrafficMirror", fresh, nil)
		mustCall(t, e.vpc, "CheckTrafficMirror", with(fresh, "CollectorSources", []string{ip1}, "TrafficMirrorId", id), nil)
		wantCode(t, call(e.vpc, "CheckTrafficMirror", with(fresh, "CollectorSources", []string{ip1}), nil), "InvalidParameterValue.DuplicatedLbTrafficMirrorCollectors")
		wantCode(t, call(e.vpc, "CheckTrafficMirror", with(fresh, "CollectorTarget", []map[string]any{{"TargetEndPoints": []string{"127.0.0.1:4790"}}}), nil), "InvalidParameterValue.DuplicatedLbTrafficMirrorReciverEndpoint")
		wantCode(t, call(e.vpc, "CheckTrafficMirror", with(fresh, "CollectorSources", []string{"203.0.113.9"}), nil), "ResourceNotFound")
		wantCode(t, call(e.vpc, "CheckTrafficMirror", with(fresh, "VpcId", "vpc-00000000"), nil), "ResourceNotFound")
		// A refusal names the parameter this action takes, not CreateTrafficMirror's CollectorSrcs.
		err := call(e.vpc, "CheckTrafficMirror", with(fresh, "CollectorSources", []string{"link-abc"}), nil)
		wantCode(t, err, "InvalidParameterValue.Malformed")
		if !strings.Contains(err.Error(), "CollectorSources.0") {
			t.Errorf("CheckTrafficMirror with a source that is no IP: %v; want it to name CollectorSources.0", err)
		}
		// A change to the mirror keeps what the call leaves out: a
		// collector on its kept source is refused, as the change would be.
		onSource := map[string]any{"VpcId": vpc, "TrafficMirrorId": id,
			"CollectorTarget": []map[string]any{{"TargetEndPoints": []string{ip1 + ":4789"}}}}
		wantCode(t, call(e.vpc, "CheckTrafficMirror", onSource, nil), "UnsupportedOperation.TrafficMirrorNotSupportSameSrcTarget")
		wantCode(t, call(e.vpc, "ResetTrafficMirrorTarget", map[string]any{"TrafficMirrorId": id,
			"CollectorTarget": map[string]any{"TargetEndPoints": []string{ip1 + ":4789"}}}, nil), "UnsupportedOperation.TrafficMirrorNotSupportSameSrcTarget")
		// CollectorTarget is a list, but it describes one mirror's collectors: the entries are
		// checked together, as CreateTrafficMirror checks one CollectorTarget.
		ep := func(eps ...string) map[string]any { return map[string]any{"TargetEndPoints": eps} }
		twice := []map[string]any{ep("127.0.0.1:4791"), ep("127.0.0.1:4791")}
		wantCode(t, call(e.vpc, "CheckTrafficMirror", with(fresh, "CollectorTarget", twice), nil), "InvalidParameterValue")
		var six, five []string
		for i := range 6 {
			six = append(six, fmt.Sprintf("127.0.0.1:%d", 5000+i))
			five = append(five, fmt.Sprintf("127.0.0.1:%d", 6000+i))
		}
		mustCall(t, e.vpc, "CheckTrafficMirror", with(fresh, "CollectorTarget", []map[string]any{ep(six...), ep(five[:4]...)}), nil)
		wantCode(t, call(e.vpc, "CheckTrafficMirror", with(fresh, "CollectorTarget", []map[string]any{ep(six...), ep(five...)}), nil), "InvalidParameterValue.LimitExceeded")
		mixed := []map[string]any{ep("127.0.0.1:4791"), {"TargetIps": []string{"127.0.0.2"}}}
		wantCode(t, call(e.vpc, "CheckTrafficMirror", with(fresh, "CollectorTarget", mixed), nil), "InvalidParameter.Coexist")
		otherVpc := createVpc(t, e.vpc, "second", "10.1.0.0/16")
		wantCode(t, call(e.vpc, "CheckTrafficMirror", with(fresh, "VpcId", otherVpc, "TrafficMirrorId", id), nil), "InvalidParameterValue.ObjectVpcNotCurrentVpc")
	})

	t.Run("delete vpc in use", func(t *testing.T) {
		wantCode(t, call(e.vpc, "DeleteVpc", map[string]any{"VpcId": vpc}, nil), "ResourceInUse")
		if got := xtest.DefaultVPC(t, e.vpc); got != vpc {
			t.Fatalf("default VPC is %s after the refused delete; want %s", got, vpc)
		}
		if m := describeMirror(t, e.vpc, id); *m.VpcId != vpc {
			t.Fatalf("mirror %s now in VPC %s; want %s", id, *m.VpcId, vpc)
		}
	})
}

func checkPublicMirror(t *testing.T, m vpcapi.TrafficMirror, vpc, ip string) {
	t.Helper()
	tg := m.CollectorTarget
	switch {
	case *m.VpcId != vpc || *m.Type != "PUBLICIP" || *m.State != "RUNNING" || *m.Direction != "ALL":
		t.Fatalf("got vpc %s type %s state %s direction %s; want %s PUBLICIP RUNNING ALL", *m.VpcId, *m.Type, *m.State, *m.Direction, vpc)
	case *m.TrafficMirrorName != "pub" || *m.TrafficMirrorDescribe != "edge copy":
		t.Fatalf("got name %q describe %q", *m.TrafficMirrorName, *m.TrafficMirrorDescribe)
	case len(m.CollectorSrcs) != 1 || m.CollectorSrcs[0] != ip:
		t.Fatalf("CollectorSrcs %v; want [%s]", m.CollectorSrcs, ip)
	case len(tg.TargetEndPoints) != 1 || tg.TargetEndPoints[0] != "127.0.0.1:4790" || len(tg.TargetIps) != 0:
		t.Fatalf("target %v / %v; want endpoint 127.0.0.1:4790", tg.TargetIps, tg.TargetEndPoints)
	case *tg.AlgHash != "FIVE_TUPLE_FLOW" || *tg.TargetType != "IP" || *m.NatId != "":
		t.Fatalf("AlgHash %s TargetType %s NatId %q; want FIVE_TUPLE_FLOW IP \"\"", *tg.AlgHash, *tg.TargetType, *m.NatId)
	}
	if _, err := time.Parse("2006-01-02 15:04:05", *m.CreateTime); err != nil {
		t.Errorf("CreateTime %q: %v", *m.CreateTime, err)
	}
}

// TestMirrorOfIPv6ProxyRefused: the data plane mirrors IPv4 flows only
// (docs/dataplane-mirror.md), and an IPv6 proxy has IPv6 clients only: a
// mirror of one, by ID or by access IP, is refused with the code the
// reference lists, UnsupportedOperation.Ipv6NotSupport. It was accepted,
// read RUNNING and copied nothing.
func TestMirrorOfIPv6ProxyRefused(t *testing.T) {
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.NoRateLimits = true; xtest.WithIPv6Pool(o) })
	c := api.VPC()
	vpc := xtest.DefaultVPC(t, c)
	var out struct{ InstanceId string }
	if err := api.Call(api.GAAP(), "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "v6", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2, "IPAddressVersion": "IPv6"}, &out); err != nil {
		t.Fatalf("CreateProxy IPv6: %v", err)
	}
	px := out.InstanceId
	var ip string
	eventually(t, func() bool {
		d := gaapsdk.NewDescribeProxyDetailRequest()
		d.ProxyId = new(px)
		r, err := api.GAAP().DescribeProxyDetail(d)
		if err != nil {
			t.Fatalf("DescribeProxyDetail: %v", err)
		}
		ip = *r.Response.ProxyDetail.IP
		return *r.Response.ProxyDetail.Status == "RUNNING"
	}, "proxy %s not RUNNING", px)
	wantCode(t, call(c, "CreateTrafficMirror", mirrorBase(vpc, px), nil), "UnsupportedOperation.Ipv6NotSupport")
	wantCode(t, call(c, "CreateTrafficMirror", map[string]any{"VpcId": vpc, "TrafficMirrorName": "p", "Type": "PUBLICIP",
		"CollectorSrcs": []string{ip}, "CollectorTarget": map[string]any{"TargetEndPoints": []string{"10.1.1.9:4789"}}}, nil),
		"UnsupportedOperation.Ipv6NotSupport")
}

// TestMirrorTagKeyCharacters: Tencent's tag keys take letters, digits,
// spaces and +-=._:/@ only (the rule GAAP's TagSet applies), and
// CreateTrafficMirror lists InvalidParameterValue.TagInvalidKey for a key
// that breaks it; a key holding a control character, a tab or a comma was
// stored, and one of spaces only (trimmed now, so missing).
func TestMirrorTagKeyCharacters(t *testing.T) {
	e := start(t)
	vpc := xtest.DefaultVPC(t, e.vpc)
	px, _ := proxy(t, e.api)
	for key, code := range map[string]string{"a\x01b": "InvalidParameterValue.TagInvalidKey", "a\tb": "InvalidParameterValue.TagInvalidKey",
		"a,b": "InvalidParameterValue.TagInvalidKey", "   ": "InvalidParameterValue.TagInvalidKeyLen"} {
		var out vpcapi.CreateTrafficMirrorResponse
		err := call(e.vpc, "CreateTrafficMirror", with(mirrorBase(vpc, px), "Tags", []map[string]string{{"Key": key, "Value": "v"}}), &out)
		if err == nil {
			id := *out.TrafficMirror.TrafficMirrorId
			t.Errorf("CreateTrafficMirror with tag key %q: created %s; want %s", key, id, code)
			mustCall(t, e.vpc, "DeleteTrafficMirror", map[string]any{"TrafficMirrorId": id}, nil)
			continue
		}
		wantCode(t, err, code)
	}
}
