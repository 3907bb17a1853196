package model

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/apierr"
)

func TestCheckL4ProxyName(t *testing.T) {
	long := "a"
	for len(long) < 50 {
		long += "b"
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"simple", "proxy1", true},
		{"hyphen inside", "my-proxy-2", true},
		{"fifty chars", long, true},
		{"fifty-one chars", long + "c", false},
		{"empty", "", false},
		{"upper case", "Proxy", false},
		{"underscore", "my_proxy", false},
		{"leading hyphen", "-proxy", false},
		{"trailing hyphen", "proxy-", false},
		{"double hyphen", "my--proxy", false},
		{"hyphen alone", "-", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckL4ProxyName(tc.in)
			if tc.ok && err != nil {
				t.Fatalf("CheckL4ProxyName(%q) = %v; want nil", tc.in, err)
			}
			if !tc.ok && !apierr.Is(err, "InvalidParameter.ProxyNameNotMatched") {
				t.Fatalf("CheckL4ProxyName(%q) = %v; want InvalidParameter.ProxyNameNotMatched", tc.in, err)
			}
		})
	}
}

func TestParsePortSpan(t *testing.T) {
	tests := []struct {
		in   string
		want PortSpan
		code apierr.Code
	}{
		{"80", PortSpan{80, 80}, ""},
		{"81-85", PortSpan{81, 85}, ""},
		{"1-65535", PortSpan{1, 65535}, ""},
		{" 443 ", PortSpan{443, 443}, ""},
		{"0", PortSpan{}, "InvalidParameter.RulePortGroup"},
		{"65536", PortSpan{}, "InvalidParameter.RulePortGroup"},
		{"85-81", PortSpan{}, "InvalidParameter.RulePortGroup"},
		{"http", PortSpan{}, "InvalidParameter.RulePortInteger"},
		{"80-", PortSpan{}, "InvalidParameter.RulePortInteger"},
		{"", PortSpan{}, "InvalidParameter.RulePortInteger"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePortSpan("PortRange", tc.in)
			if tc.code != "" {
				if !apierr.Is(err, tc.code) {
					t.Fatalf("ParsePortSpan(%q) error = %v; want %s", tc.in, err, tc.code)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParsePortSpan(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func validRule() *TeoL4Rule {
	return &TeoL4Rule{Protocol: TCP, PortRange: []string{"80"}, OriginType: OriginIPDomain,
		OriginValue: []string{"8.8.8.8"}, OriginPortRange: "8080", ClientIPMode: PassOff,
		SessionPersist: TeoOff, SessionPersistTime: DefaultSessionPersistTime}
}

// TestRuleSessionPersistTime: the time is kept as given while persistence
// is off (0 reads back 0) and defaults only when persistence is on.
func TestRuleSessionPersistTime(t *testing.T) {
	for _, tc := range []struct {
		persist     string
		given, want int64
	}{{TeoOff, 0, 0}, {TeoOff, 600, 600}, {TeoOn, 0, DefaultSessionPersistTime}, {TeoOn, 30, 30}} {
		r := validRule()
		r.SessionPersist, r.SessionPersistTime = tc.persist, tc.given
		if err := r.Check("", Capabilities{}); err != nil || r.SessionPersistTime != tc.want {
			t.Errorf("SessionPersist %s, time %d: Check = %v, time %d; want nil, %d", tc.persist, tc.given, err, r.SessionPersistTime, tc.want)
		}
	}
}

func TestRuleCheck(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *TeoL4Rule)
		caps Capabilities
		code apierr.Code // "" = valid
	}{
		{"valid", func(r *TeoL4Rule) {}, Capabilities{}, ""},
		{"range to range", func(r *TeoL4Rule) { r.PortRange, r.OriginPortRange = []string{"81-85"}, "91-95" }, Capabilities{}, ""},
		{"range to one port", func(r *TeoL4Rule) { r.PortRange = []string{"80", "81-85"} }, Capabilities{}, ""},
		{"origin range length differs", func(r *TeoL4Rule) { r.PortRange, r.OriginPortRange = []string{"81-85"}, "91-94" }, Capabilities{}, "InvalidParameter.RulePortGroup"},
		{"origin range with two spans", func(r *TeoL4Rule) { r.PortRange, r.OriginPortRange = []string{"1-2", "5-6"}, "91-92" }, Capabilities{}, "InvalidParameter.RulePortGroup"},
		{"bad origin port", func(r *TeoL4Rule) { r.OriginPortRange = "x" }, Capabilities{}, "InvalidParameter.RuleOriginPortInteger"},
		{"overlapping spans", func(r *TeoL4Rule) { r.PortRange = []string{"80-90", "85"} }, Capabilities{}, "InvalidParameter.RulePortDuplicating"},
		{"ports up to the cap", func(r *TeoL4Rule) { r.PortRange = []string{"1000-2999", "3000-3047"} }, Capabilities{}, ""},
		{"ports beyond the cap", func(r *TeoL4Rule) { r.PortRange = []string{"1000-2999", "3000-3048"} }, Capabilities{}, "InvalidParameterValue"},
		{"no ports", func(r *TeoL4Rule) { r.PortRange = nil }, Capabilities{}, "InvalidParameter.RulePortGroup"},
		{"bad protocol", func(r *TeoL4Rule) { r.Protocol = "SCTP" }, Capabilities{}, "InvalidParameter.InvalidRuleProto"},
		{"private origin refused", func(r *TeoL4Rule) { r.OriginValue = []string{"10.0.0.1"} }, Capabilities{}, "InvalidParameter.InvalidOriginIp"},
		{"loopback origin refused", func(r *TeoL4Rule) { r.OriginValue = []string{"127.0.0.1"} }, Capabilities{}, "InvalidParameter.InvalidOriginIp"},
		{"private origin allowed", func(r *TeoL4Rule) { r.OriginValue = []string{"127.0.0.1"} }, Capabilities{PrivateOrigins: true}, ""},
		{"bad origin", func(r *TeoL4Rule) { r.OriginValue = []string{"not a host"} }, Capabilities{}, "InvalidParameter.InvalidOriginValue"},
		{"two domains", func(r *TeoL4Rule) { r.OriginValue = []string{"a.example.com", "b.example.com"} }, Capabilities{}, "InvalidParameter.OriginL4RecordMultiDomain"}, // Tencent's L4 code, as the mix of IPs and a domain.
		{"origin twice", func(r *TeoL4Rule) { r.OriginValue = []string{"8.8.8.8", "1.1.1.1", "8.8.8.8"} }, Capabilities{}, "InvalidParameter.InvalidOriginValue"},
		{"ipv4 and its mapped form", func(r *TeoL4Rule) { r.OriginValue = []string{"8.8.8.8", "::ffff:8.8.8.8"} }, Capabilities{}, "InvalidParameter.InvalidOriginValue"},
		{"domain twice in two cases", func(r *TeoL4Rule) { r.OriginValue = []string{"Origin.example.com", "origin.example.com."} }, Capabilities{}, "InvalidParameter.InvalidOriginValue"},
		{"ip and domain", func(r *TeoL4Rule) { r.OriginValue = []string{"8.8.8.8", "b.example.com"} }, Capabilities{}, "InvalidParameter.OriginL4RecordIPV4MixDomain"},
		{"group needs one id", func(r *TeoL4Rule) { r.OriginType, r.OriginValue = OriginOriginGroup, []string{"a", "b"} }, Capabilities{}, "InvalidParameter.InvalidOriginValue"},
		{"lb refused", func(r *TeoL4Rule) { r.OriginType = OriginLB }, Capabilities{}, "OperationDenied"},
		{"unknown origin type", func(r *TeoL4Rule) { r.OriginType = "COS" }, Capabilities{}, "InvalidParameter.InvalidOriginType"},
		{"toa refused", func(r *TeoL4Rule) { r.ClientIPMode = PassTOA }, Capabilities{}, "OperationDenied"},
		{"toa where written", func(r *TeoL4Rule) { r.ClientIPMode = PassTOA }, Capabilities{TOA: true}, ""},
		{"toa on udp", func(r *TeoL4Rule) { r.Protocol, r.ClientIPMode = UDP, PassTOA }, Capabilities{TOA: true}, "InvalidParameterValue"},
		{"ppv1 on udp", func(r *TeoL4Rule) { r.Protocol, r.ClientIPMode = UDP, PassPPV1 }, Capabilities{}, "InvalidParameterValue"},
		{"spp on tcp", func(r *TeoL4Rule) { r.ClientIPMode = PassSPP }, Capabilities{}, "InvalidParameterValue"},
		{"spp on udp", func(r *TeoL4Rule) { r.Protocol, r.ClientIPMode = UDP, PassSPP }, Capabilities{}, ""},
		{"persist time low", func(r *TeoL4Rule) { r.SessionPersist, r.SessionPersistTime = TeoOn, 29 }, Capabilities{}, "InvalidParameterValue"},
		{"persist time high", func(r *TeoL4Rule) { r.SessionPersist, r.SessionPersistTime = TeoOn, 3601 }, Capabilities{}, "InvalidParameterValue"},
		{"persist off, no time", func(r *TeoL4Rule) { r.SessionPersistTime = 0 }, Capabilities{}, ""},
		{"persist off, time unused", func(r *TeoL4Rule) { r.SessionPersistTime = 29 }, Capabilities{}, ""},
		{"persist off, negative time", func(r *TeoL4Rule) { r.SessionPersistTime = -1 }, Capabilities{}, "InvalidParameterValue"},
		{"persist switch", func(r *TeoL4Rule) { r.SessionPersist = "yes" }, Capabilities{}, "InvalidParameterValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validRule()
			tc.edit(r)
			err := r.Check("L4ProxyRules.0.", tc.caps)
			if tc.code == "" && err != nil {
				t.Fatalf("Check = %v; want nil", err)
			}
			if tc.code != "" && !apierr.Is(err, tc.code) {
				t.Fatalf("Check = %v; want %s", err, tc.code)
			}
		})
	}
}

// TestRuleOriginChangeNeedsValue: Modify keeps a member left out, so an
// OriginType change without an OriginValue would keep origins of the old
// type; it is refused the same way in both directions.
func TestRuleOriginChangeNeedsValue(t *testing.T) {
	ip := validRule()
	group := validRule()
	group.OriginType, group.OriginValue = OriginOriginGroup, []string{"origin-g"}
	tests := []struct {
		name       string
		stored     *TeoL4Rule
		originType string
		valueGiven bool
		refused    bool
	}{
		{"group to IP_DOMAIN without a value", group, OriginIPDomain, false, true},
		{"IP_DOMAIN to group without a value", ip, OriginOriginGroup, false, true},
		{"group to IP_DOMAIN with a value", group, OriginIPDomain, true, false},
		{"IP_DOMAIN to group with a value", ip, OriginOriginGroup, true, false},
		{"type repeated without a value", group, OriginOriginGroup, false, false},
	}
	for _, tc := range tests {
		err := tc.stored.CheckOriginChange("L4ProxyRules.0.", tc.originType, tc.valueGiven)
		if tc.refused && !apierr.Is(err, apierr.InvalidParameterInvalidOriginValue) {
			t.Errorf("%s: %v; want InvalidParameter.InvalidOriginValue", tc.name, err)
		}
		if !tc.refused && err != nil {
			t.Errorf("%s: %v; want nil", tc.name, err)
		}
	}
}

func TestRulePortMapsAndOverlap(t *testing.T) {
	r := validRule()
	r.PortRange, r.OriginPortRange = []string{"81-85"}, "91-95"
	if err := r.Check("", Capabilities{PrivateOrigins: true}); err != nil {
		t.Fatal(err)
	}
	got := r.PortMaps()
	want := TeoPortMap{Start: 81, End: 85, OriginStart: 91, Ranged: true}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("PortMaps() = %+v; want [%+v]", got, want)
	}
	udp := validRule()
	udp.Protocol, udp.PortRange = UDP, []string{"83"}
	tcp := validRule()
	tcp.PortRange = []string{"85-90"}
	if err := CheckTeoProxyPorts([]*TeoL4Rule{r, udp}, 0); err != nil {
		t.Errorf("TCP 81-85 and UDP 83: %v; want no overlap across protocols", err)
	}
	if err := CheckTeoProxyPorts([]*TeoL4Rule{r, tcp}, 0); !apierr.Is(err, apierr.InvalidParameterRulePortDuplicating) {
		t.Errorf("TCP 81-85 and TCP 85-90: %v; want RulePortDuplicating", err)
	}
}

// portRules makes valid rules of protocol p, one per entry of spans.
func portRules(p string, spans ...[]string) []*TeoL4Rule {
	out := make([]*TeoL4Rule, len(spans))
	for i, ports := range spans {
		r := validRule()
		r.Base.ID, r.Protocol, r.PortRange = fmt.Sprintf("rule-%s%d", p, i), p, ports
		out[i] = r
	}
	return out
}

// TestCheckTeoProxyPortsOverlap: the sweep finds an overlap wherever the
// rules are in the list, and names the later rule with the one it
// overlaps.
func TestCheckTeoProxyPortsOverlap(t *testing.T) {
	tests := []struct {
		name  string
		rules []*TeoL4Rule
		want  string // "later earlier", "" when accepted
	}{
		{"adjacent spans", portRules(TCP, []string{"80-89"}, []string{"90"}, []string{"70-79", "91"}), ""},
		{"protocols apart", append(portRules(TCP, []string{"80-90"}), portRules(UDP, []string{"85"})...), ""},
		{"far apart in the list", portRules(TCP, []string{"100-200"}, []string{"300"}, []string{"20"}, []string{"201-299", "150"}), "rule-TCP3 rule-TCP0"},
		{"second span of a rule", portRules(TCP, []string{"5", "1000"}, []string{"2000"}, []string{"999-1000"}), "rule-TCP2 rule-TCP0"},
		{"later rule first in port order", portRules(UDP, []string{"443"}, []string{"53-443"}), "rule-UDP1 rule-UDP0"},
	}
	for _, tt := range tests {
		err := CheckTeoProxyPorts(tt.rules, 0)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v; want accepted", tt.name, err)
			}
			continue
		}
		later, earlier, _ := strings.Cut(tt.want, " ")
		msg := apierr.From(err).Msg
		if !apierr.Is(err, apierr.InvalidParameterRulePortDuplicating) || !strings.Contains(msg, "overlap rule "+earlier) ||
			!strings.Contains(msg, fmt.Sprint(tt.rules[slices.IndexFunc(tt.rules, func(r *TeoL4Rule) bool { return r.ID == later })].PortRange)) {
			t.Errorf("%s: %v; want RulePortDuplicating of %s with %s", tt.name, err, later, earlier)
		}
	}
}

// TestCheckTeoProxyPortsPairwise compares the sweep with the definition,
// every pair of rules compared, on random proxies dense enough to overlap
// about half the time.
func TestCheckTeoProxyPortsPairwise(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var rules []*TeoL4Rule
		for i := range 1 + rnd.IntN(12) {
			r := validRule()
			r.Base.ID, r.Protocol = fmt.Sprint("rule-", i), []string{TCP, UDP}[rnd.IntN(2)]
			r.PortRange = nil
			for k := range 1 + rnd.IntN(3) {
				lo := 1 + 40*k + rnd.IntN(300)
				r.PortRange = append(r.PortRange, fmt.Sprintf("%d-%d", lo, lo+rnd.IntN(6)))
			}
			if r.Check("", Capabilities{}) != nil {
				continue // its own spans overlap
			}
			rules = append(rules, r)
		}
		overlap := false
		for i, r := range rules {
			for _, o := range rules[:i] {
				for _, a := range r.PortMaps() {
					for _, b := range o.PortMaps() {
						overlap = overlap || r.Protocol == o.Protocol && a.Start <= b.End && b.Start <= a.End
					}
				}
			}
		}
		err := CheckTeoProxyPorts(rules, 0)
		if got := apierr.Is(err, apierr.InvalidParameterRulePortDuplicating); got != overlap || (!got && err != nil) {
			t.Fatalf("rules %v: CheckTeoProxyPorts = %v; pairwise overlap %v", ruleSpans(rules), err, overlap)
		}
	}
}

func ruleSpans(rules []*TeoL4Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, fmt.Sprint(r.ID, r.Protocol, r.PortRange))
	}
	return out
}

// BenchmarkCheckTeoProxyPorts checks a full proxy: 4,000 single-port
// rules, as every CreateL4ProxyRules on it does in its write transaction
// (go test -run - -bench CheckTeoProxyPorts ./internal/model/).
func BenchmarkCheckTeoProxyPorts(b *testing.B) {
	for _, n := range []int{1000, 4000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			spans := make([][]string, n)
			for i := range spans {
				spans[i] = []string{strconv.Itoa(20000 + i)}
			}
			rules := portRules(TCP, spans...)
			b.ReportAllocs()
			for b.Loop() {
				if err := CheckTeoProxyPorts(rules, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestProxyFeatures(t *testing.T) {
	tests := []struct {
		name string
		p    TeoL4Proxy
		code apierr.Code
	}{
		{"defaults", TeoL4Proxy{Area: AreaMainland}, ""},
		{"ipv6 and static ip", TeoL4Proxy{Area: AreaMainland, Ipv6: TeoOn, StaticIP: TeoOn}, apierr.OperationDeniedIpv6StaticIpConflict},
		{"static ip global", TeoL4Proxy{Area: AreaGlobal, StaticIP: TeoOn}, apierr.OperationDeniedStaticIpAreaConflict},
		{"mainland opt and ipv6", TeoL4Proxy{Area: AreaOverseas, AccelerateMainland: TeoOn, Ipv6: TeoOn}, apierr.OperationDeniedAccelerateMainlandIpv6Conflict},
		{"mainland opt outside overseas", TeoL4Proxy{Area: AreaMainland, AccelerateMainland: TeoOn}, apierr.OperationDenied},
		{"mainland opt overseas", TeoL4Proxy{Area: AreaOverseas, AccelerateMainland: TeoOn}, ""},
		{"ipv6 with exclusive mainland ddos", TeoL4Proxy{Area: AreaMainland, Ipv6: TeoOn, DDoS: TeoDDoS{LevelMainland: DDoSBase30Max300}}, apierr.OperationDeniedIpv6AdvancedConflict},
		// Terraform sends an unset level empty: PLATFORM.
		{"ipv6 with an empty mainland level", TeoL4Proxy{Area: AreaOverseas, Ipv6: TeoOn, DDoS: TeoDDoS{LevelOverseas: DDoSPlatform}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			for _, f := range []*string{&p.Ipv6, &p.StaticIP, &p.AccelerateMainland} {
				if *f == "" {
					*f = TeoOff
				}
			}
			if p.DDoS.LevelMainland == "" {
				p.DDoS.LevelMainland = DDoSPlatform
			}
			err := p.CheckFeatures()
			if tc.code == "" && err != nil {
				t.Fatalf("CheckFeatures = %v; want nil", err)
			}
			if tc.code != "" && !apierr.Is(err, tc.code) {
				t.Fatalf("CheckFeatures = %v; want %s", err, tc.code)
			}
		})
	}
}

func TestCheckDDoS(t *testing.T) {
	// Empty levels are PLATFORM (an overseas proxy takes an empty
	// mainland level); bandwidth 0 is not set.
	for _, ok := range []struct {
		d    TeoDDoS
		area string
	}{
		{TeoDDoS{LevelMainland: DDoSBase60Max600}, AreaMainland},
		{TeoDDoS{LevelMainland: DDoSBase30Max300, MaxBandwidthMainland: 100, LevelOverseas: DDoSPlatform}, AreaMainland},
		{TeoDDoS{LevelOverseas: DDoSPlatform}, AreaOverseas},
	} {
		if err := CheckDDoS(ok.d, ok.area); err != nil {
			t.Errorf("CheckDDoS(%+v, %s) = %v; want nil", ok.d, ok.area, err)
		}
	}
	bad := TeoDDoS{LevelMainland: DDoSBase30Max300, MaxBandwidthMainland: 400}
	if err := CheckDDoS(bad, AreaMainland); !apierr.Is(err, apierr.InvalidParameterValue) {
		t.Fatalf("CheckDDoS(bandwidth 400 on BASE30_MAX300) = %v; want InvalidParameterValue", err)
	}
	wrongArea := TeoDDoS{LevelOverseas: DDoSAnycastAllIn}
	if err := CheckDDoS(wrongArea, AreaMainland); !apierr.Is(err, apierr.InvalidParameterValue) {
		t.Fatalf("CheckDDoS(ANYCAST_ALLIN in mainland) = %v; want InvalidParameterValue", err)
	}
}

// TestDDoSShown: a proxy answers DDosProtectionConfig when it was created
// with one; a row stored before DDoSGiven existed answers it only with an
// exclusive level (a PLATFORM-only row was, as far as can be told, created
// without one).
func TestDDoSShown(t *testing.T) {
	for _, tc := range []struct {
		stored string
		want   bool
	}{
		{`{"ddos":{"levelMainland":"PLATFORM","levelOverseas":"PLATFORM"}}`, false},
		{`{"ddos":{"levelMainland":"BASE30_MAX300","maxBandwidthMainland":300,"levelOverseas":"PLATFORM"}}`, true},
		{`{"ddos":{"levelMainland":"PLATFORM","levelOverseas":"ANYCAST300"}}`, true},
		{`{"ddos":{"levelMainland":"PLATFORM","levelOverseas":"PLATFORM"},"ddosGiven":true}`, true},
	} {
		var p TeoL4Proxy
		if err := json.Unmarshal([]byte(tc.stored), &p); err != nil {
			t.Fatal(err)
		}
		if got := p.DDoSShown(); got != tc.want {
			t.Errorf("DDoSShown() of %s = %v; want %v", tc.stored, got, tc.want)
		}
	}
}

func TestTeoSettle(t *testing.T) {
	p := &TeoL4Proxy{Status: L4Progress}
	if changed, _ := p.Settle(); !changed || p.Status != L4Online {
		t.Fatalf("progress settles to %s; want online", p.Status)
	}
	p.SetEnabled(false, 0)
	if p.Status != L4Stopping {
		t.Fatalf("disabling gives %s; want stopping", p.Status)
	}
	p.Settle()
	if p.Status != L4Offline {
		t.Fatalf("stopping settles to %s; want offline", p.Status)
	}
	p.Touch(0)
	if p.Status != L4Offline {
		t.Fatalf("a change to an offline proxy gives %s; want offline", p.Status)
	}
}

// TestTeoRuleShownStatus: a rule the data plane could not deploy reads
// fail only while it is, or is becoming, online.
func TestTeoRuleShownStatus(t *testing.T) {
	tests := []struct {
		stored string
		failed bool
		want   string
	}{
		{L4Progress, true, L4Fail},
		{L4Online, true, L4Fail},
		{L4Progress, false, L4Progress},
		{L4Online, false, L4Online},
		{L4Stopping, true, L4Stopping},
		{L4Offline, true, L4Offline},
	}
	for _, tc := range tests {
		r := &TeoL4Rule{Status: tc.stored}
		if got := r.ShownStatus(tc.failed); got != tc.want {
			t.Errorf("stored %s, deploy failed %v: ShownStatus = %s; want %s", tc.stored, tc.failed, got, tc.want)
		}
	}
}

// TestTeoOriginIDsFollowTheAddress: an edited OriginValue keeps the data-
// plane ID of every address it still lists, whatever its position; a rule
// never edited (or stored before slots) keeps its positional IDs; an
// address new to the rule never takes a removed one's ID.
func TestTeoOriginIDsFollowTheAddress(t *testing.T) {
	r := &TeoL4Rule{Base: Base{ID: "r"}, OriginType: OriginIPDomain, OriginValue: []string{"1.1.1.1", "2.2.2.2", "3.3.3.3"}}
	ids := func() map[string]string {
		out := map[string]string{}
		for i, v := range r.OriginValue {
			out[v] = r.OriginID(i)
		}
		return out
	}
	want := map[string]string{"1.1.1.1": "r/origin-0", "2.2.2.2": "r/origin-1", "3.3.3.3": "r/origin-2"}
	edit := func(typ string, vs ...string) {
		prev := *r
		r.OriginType, r.OriginValue = typ, vs
		r.RenumberOrigins(&prev)
	}
	check := func(step string) {
		t.Helper()
		for v, id := range ids() {
			if want[v] != id {
				t.Errorf("%s: %s has ID %s; want %s", step, v, id, want[v])
			}
		}
	}
	check("created")
	edit(OriginIPDomain, "3.3.3.3", "2.2.2.2")
	check("1.1.1.1 removed, the others swapped")
	edit(OriginIPDomain, "4.4.4.4", "2.2.2.2", "1.1.1.1")
	want["4.4.4.4"], want["1.1.1.1"] = "r/origin-3", "r/origin-4"
	check("3.3.3.3 removed, 4.4.4.4 added, 1.1.1.1 back")
	edit(OriginOriginGroup, "og-1")
	edit(OriginIPDomain, "2.2.2.2")
	want["2.2.2.2"] = "r/origin-5"
	check("through an origin group and back")

	// Spelled otherwise, an origin is the same one: it keeps its ID.
	prev := *r
	r.OriginValue = []string{"::FFFF:2.2.2.2", "5.5.5.5"}
	if err := r.checkOrigins("", true); err != nil {
		t.Fatal(err)
	}
	r.RenumberOrigins(&prev)
	if r.OriginHost(0) != "2.2.2.2" || r.OriginID(0) != "r/origin-5" || r.OriginValue[0] != "::FFFF:2.2.2.2" {
		t.Errorf("2.2.2.2 spelled ::FFFF:2.2.2.2: host %s, ID %s, value %s; want host 2.2.2.2, ID r/origin-5, value as spelled",
			r.OriginHost(0), r.OriginID(0), r.OriginValue[0])
	}
}
