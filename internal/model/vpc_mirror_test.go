package model

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/opengaap/opengaap/internal/apierr"
)

func TestValidateVpcCidr(t *testing.T) {
	cases := []struct {
		cidr string
		code apierr.Code // "" = valid
	}{
		{"10.0.0.0/12", ""}, {"10.240.0.0/28", ""}, {"172.16.0.0/12", ""}, {"172.31.255.0/24", ""},
		{"192.168.0.0/16", ""}, {"192.168.1.0/28", ""},
		{"10.0.0.0/8", "InvalidParameterValue.Range"}, {"192.168.0.0/15", "InvalidParameterValue.Range"},
		{"172.32.0.0/16", "InvalidParameterValue.Range"}, {"10.0.0.0/29", "InvalidParameterValue.Range"},
		{"10.0.0.1/24", apierr.InvalidParameterValueMalformed}, {"fd00::/48", apierr.InvalidParameterValueMalformed},
		{"10.0.0.0", apierr.InvalidParameterValueMalformed},
	}
	for _, tc := range cases {
		_, err := ValidateVpcCidr(tc.cidr)
		if tc.code == "" && err != nil || tc.code != "" && !apierr.Is(err, tc.code) {
			t.Errorf("ValidateVpcCidr(%q) = %v; want %q", tc.cidr, err, tc.code)
		}
	}
}

func TestFiveTupleMatch(t *testing.T) {
	ft, err := ParseFiveTuple("f", FiveTupleInput{SrcNet: new("10.0.0.7/24"), Protocol: new("tcp"), DstPort: new("80-90")})
	if err != nil {
		t.Fatal(err)
	}
	if ft.SrcNet != "10.0.0.0/24" || ft.DstNet != "0.0.0.0/0" || ft.SrcPort.String() != "1-65535" || ft.DstPort.String() != "80-90" {
		t.Fatalf("normalized to %+v", ft)
	}
	a := netip.MustParseAddr
	cases := []struct {
		src, dst string
		proto    string
		dport    int
		want     bool
	}{
		{"10.0.0.9", "1.2.3.4", "TCP", 85, true},
		{"10.0.1.9", "1.2.3.4", "TCP", 85, false},
		{"10.0.0.9", "1.2.3.4", "UDP", 85, false},
		{"10.0.0.9", "1.2.3.4", "TCP", 91, false},
	}
	for _, tc := range cases {
		if got := ft.Match(a(tc.src), a(tc.dst), tc.proto, 40000, tc.dport); got != tc.want {
			t.Errorf("Match(%s→%s %s :%d) = %v; want %v", tc.src, tc.dst, tc.proto, tc.dport, got, tc.want)
		}
	}
}

func TestEffectiveRules(t *testing.T) {
	tcp := AnyFiveTuple()
	tcp.Protocol = MirrorProtoTCP
	rule := func(id string, prio int64, action string) MirrorFilterRule {
		return MirrorFilterRule{ID: id, FiveTuple: tcp, Priority: prio, Action: action}
	}
	cases := []struct {
		name string
		m    TrafficMirror
		dir  string
		want []string // actions (with ids for rules)
	}{
		{"all, no filters", TrafficMirror{Direction: DirAll}, DirEgress, []string{"ACCEPT ALL"}},
		{"other direction", TrafficMirror{Direction: DirIngress}, DirEgress, nil},
		{"normal filters", TrafficMirror{Direction: DirEgress, NormalFilters: []NormalFilter{{FiveTuple: tcp}, {FiveTuple: tcp}}}, DirEgress, []string{"ACCEPT TCP", "ACCEPT TCP"}},
		{"normal drop before accept", TrafficMirror{Direction: DirAll, NormalFilters: []NormalFilter{{FiveTuple: tcp}, {FiveTuple: tcp, Drop: true}}}, DirIngress, []string{"DROP TCP", "ACCEPT TCP"}},
		{"normal drops only copy the rest", TrafficMirror{Direction: DirAll, NormalFilters: []NormalFilter{{FiveTuple: tcp, Drop: true}}}, DirIngress, []string{"DROP TCP", "ACCEPT ALL"}},
		{"rules by priority", TrafficMirror{Direction: DirAll, IngressRules: []MirrorFilterRule{rule("b", 2, MirrorDrop), rule("a", 1, MirrorAccept)}}, DirIngress, []string{"a ACCEPT TCP", "b DROP TCP"}},
		{"no-direction without rules", TrafficMirror{Direction: DirNoDirection, IngressRules: []MirrorFilterRule{rule("a", 1, MirrorAccept)}}, DirEgress, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range tc.m.EffectiveRules(tc.dir) {
				s := r.Action + " " + r.Protocol
				if r.ID != "" {
					s = r.ID + " " + s
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v; want %v", got, tc.want)
			}
		})
	}
}

func TestMirrorTarget(t *testing.T) {
	tg, err := ParseMirrorTarget(MirrorTypeVPC, MirrorTargetInput{IPs: []string{"10.0.0.1", " 10.0.0.2"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []MirrorEndpoint{{"10.0.0.1", DefaultVXLANPort}, {"10.0.0.2", DefaultVXLANPort}}
	if got := tg.Collectors(); !slices.Equal(got, want) || tg.AlgHash != AlgFiveTuple {
		t.Fatalf("got %v %s; want %v FIVE_TUPLE_FLOW", got, tg.AlgHash, want)
	}
	tg, err = ParseMirrorTarget(MirrorTypePublicIP, MirrorTargetInput{EndPoints: []string{"127.0.0.1:9999"}}, true)
	if err != nil || !slices.Equal(tg.Collectors(), []MirrorEndpoint{{"127.0.0.1", 9999}}) {
		t.Fatalf("got %v, %v", tg.Collectors(), err)
	}
	// Where the operator closes private origins, collectors follow.
	for _, in := range []MirrorTargetInput{{IPs: []string{"10.0.0.1"}}, {EndPoints: []string{"127.0.0.1:9999"}}, {IPs: []string{"100.64.0.1"}}} {
		if _, err := ParseMirrorTarget(MirrorTypeVPC, in, false); !apierr.Is(err, apierr.InvalidParameterValueInvalidLbTrafficMirrorReciverEndpoint) {
			t.Errorf("%v with private collectors denied: %v", in, err)
		}
	}
	if _, err := ParseMirrorTarget(MirrorTypeVPC, MirrorTargetInput{IPs: []string{"198.51.100.7"}}, false); err != nil {
		t.Errorf("public collector with private ones denied: %v", err)
	}
	// A list of entries is one mirror's collectors: each entry's kind is checked, and the collectors together.
	ep := func(s string) MirrorTargetInput { return MirrorTargetInput{EndPoints: []string{s}} }
	if tg, err := ParseMirrorTargets(MirrorTypePublicIP, []MirrorTargetInput{ep("10.0.0.1:1"), ep("10.0.0.2:2")}, true); err != nil || len(tg.Collectors()) != 2 {
		t.Errorf("two entries: %v, %v", tg.Collectors(), err)
	}
	for _, c := range []struct {
		ins  []MirrorTargetInput
		code apierr.Code
	}{
		{[]MirrorTargetInput{ep("10.0.0.1:1"), ep("10.0.0.1:1")}, apierr.InvalidParameterValue},
		{[]MirrorTargetInput{ep("10.0.0.1:1"), {TargetType: "CLB", EndPoints: []string{"10.0.0.2:2"}}}, apierr.UnsupportedOperationTrafficMirrorNotSupportClb},
		{[]MirrorTargetInput{ep("10.0.0.1:1"), {IPs: []string{"10.0.0.2"}}}, apierr.InvalidParameterCoexist},
	} {
		if _, err := ParseMirrorTargets(MirrorTypePublicIP, c.ins, true); !apierr.Is(err, c.code) {
			t.Errorf("%v: %v; want %s", c.ins, err, c.code)
		}
	}
	m := TrafficMirror{Base: Base{ID: "imgf-abcdefgh"}}
	if v := m.VNI(); v == 0 || v > 0xFFFFFF || v != m.VNI() {
		t.Fatalf("VNI %d not a stable 24-bit value", v)
	}
}

func TestMirrorSourceKinds(t *testing.T) {
	var names []string
	for _, k := range MirrorSourceKinds() {
		names = append(names, k.Name)
	}
	if !slices.Contains(names, KindProxy) {
		t.Fatalf("mirror source kinds %v lack %s", names, KindProxy)
	}
}

// TestMirrorOverlap: mirrors overlap on the proxies their resolved sources
// copy, and on a listener both name even when it resolved to no proxy (a
// group listener before its first member).
func TestMirrorOverlap(t *testing.T) {
	proxy := MirrorSourceRef{Src: "link-1", ProxyID: "link-1"}
	lis := func(id string) MirrorSourceRef { return MirrorSourceRef{Src: id, ProxyID: "link-1", ListenerID: id} }
	mirror := func(srcs []string, refs ...MirrorSourceRef) *TrafficMirror {
		return &TrafficMirror{CollectorSrcs: srcs, Sources: refs}
	}
	for _, c := range []struct {
		name string
		m, o *TrafficMirror
		want bool
	}{
		{"proxy and its listener", mirror([]string{"link-1"}, proxy), mirror([]string{"listener-a"}, lis("listener-a")), true},
		{"two listeners", mirror([]string{"listener-a"}, lis("listener-a")), mirror([]string{"listener-b"}, lis("listener-b")), false},
		{"one empty group listener", mirror([]string{"listener-g"}), mirror([]string{"listener-g"}), true},
		{"two empty group listeners", mirror([]string{"listener-g"}), mirror([]string{"listener-h"}), false},
		{"one IP, no proxy left", mirror([]string{"10.0.0.1"}), mirror([]string{"10.0.0.1"}), false},
	} {
		if _, _, got := c.m.Overlap(c.o); got != c.want {
			t.Errorf("%s: Overlap %v; want %v", c.name, got, c.want)
		}
	}
}
