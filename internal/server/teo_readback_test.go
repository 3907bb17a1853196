package server_test

import (
	"encoding/json"
	"testing"

	"github.com/opengaap/opengaap/internal/teo/teoapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

// teoPersist is what DescribeL4ProxyRules reports about a rule's session
// persistence.
type teoPersist struct {
	SessionPersist     string
	SessionPersistTime int64
}

// rulePersist reads rule id's session persistence back.
func (e *teoEnv) rulePersist(t *testing.T, id string) teoPersist {
	t.Helper()
	var r struct{ L4ProxyRules []teoPersist }
	teoCall(t, e.c, "DescribeL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy, "Offset": 0, "Limit": 20,
		"Filters": []map[string]any{{"Name": "rule-id", "Values": []string{id}}}}, &r)
	if len(r.L4ProxyRules) != 1 {
		t.Fatalf("rule %s: %d listed; want 1", id, len(r.L4ProxyRules))
	}
	return r.L4ProxyRules[0]
}

// TestEdgeOneSessionPersistTimeOnlyWithPersistence: the reference makes
// SessionPersistTime effective only with SessionPersist on, and clients
// send 0 for it otherwise (the Terraform provider always sends the member,
// 0 when session_persist_time is not set). Such a rule is accepted and
// reads back what was sent, so Terraform sees no drift; with persistence
// on, a missing (or 0) time is the default 3600 and the range 30-3600
// applies. Modify follows the same rule.
func TestEdgeOneSessionPersistTimeOnlyWithPersistence(t *testing.T) {
	e := newTeoEnv(t)
	rule := func(port string, extra map[string]any) map[string]any {
		r := map[string]any{"Protocol": "TCP", "PortRange": []string{port}, "OriginType": "IP_DOMAIN",
			"OriginValue": []string{"203.0.113.7"}, "OriginPortRange": "80", "ClientIPPassThroughMode": "OFF"}
		for k, v := range extra {
			r[k] = v
		}
		return r
	}
	modify := func(members map[string]any) {
		t.Helper()
		teoCall(t, e.c, "ModifyL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
			"L4ProxyRules": []map[string]any{members}}, nil)
	}
	check := func(what, id string, want teoPersist) {
		t.Helper()
		if got := e.rulePersist(t, id); got != want {
			t.Errorf("%s: read back %+v; want %+v", what, got, want)
		}
	}

	// As the provider sends it: off, time 0.
	off := e.createRule(t, rule("18080", map[string]any{"SessionPersist": "off", "SessionPersistTime": 0}))
	check("created off with time 0", off, teoPersist{"off", 0})
	// Neither member: off, and no time to report.
	bare := e.createRule(t, rule("18081", nil))
	check("created without either member", bare, teoPersist{"off", 0})
	// On without a time (left out, or 0 as the provider sends it): the default.
	on := e.createRule(t, rule("18082", map[string]any{"SessionPersist": "on"}))
	check("created on without a time", on, teoPersist{"on", 3600})
	onZero := e.createRule(t, rule("18083", map[string]any{"SessionPersist": "on", "SessionPersistTime": 0}))
	check("created on with time 0", onZero, teoPersist{"on", 3600})
	// On: the range applies.
	for _, v := range []int64{29, 3601} {
		if code, _ := teoError(t, e.c, "CreateL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
			"L4ProxyRules": []map[string]any{rule("18084", map[string]any{"SessionPersist": "on", "SessionPersistTime": v})}}); code != "InvalidParameterValue" {
			t.Errorf("create on with time %d: %s; want InvalidParameterValue", v, code)
		}
	}

	// Modify turning persistence on without a time: the default.
	modify(map[string]any{"RuleId": off, "SessionPersist": "on"})
	check("modified on without a time", off, teoPersist{"on", 3600})
	// Turning it off as the provider does (time 0): reads back 0.
	modify(map[string]any{"RuleId": off, "SessionPersist": "off", "SessionPersistTime": 0})
	check("modified off with time 0", off, teoPersist{"off", 0})
	// On with time 0 again (provider, session_persist_time unset): the default.
	modify(map[string]any{"RuleId": off, "SessionPersist": "on", "SessionPersistTime": 0})
	check("modified on with time 0", off, teoPersist{"on", 3600})
	// A time left out of a modify keeps the stored one, whichever way the switch goes.
	modify(map[string]any{"RuleId": on, "SessionPersistTime": 600})
	modify(map[string]any{"RuleId": on, "SessionPersist": "off"})
	check("modified off without a time", on, teoPersist{"off", 600})
	modify(map[string]any{"RuleId": on, "SessionPersist": "on"})
	check("modified on again without a time", on, teoPersist{"on", 600})
	// Modify to an out-of-range time with persistence on is refused.
	err := xtest.CallService(&e.c.Client, teoapi.Service, teoapi.Version, "ModifyL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
		"L4ProxyRules": []map[string]any{{"RuleId": bare, "SessionPersist": "on", "SessionPersistTime": 10}}}, nil)
	if err == nil {
		t.Errorf("modify to on with time 10 accepted")
	}
	check("after the refused modify", bare, teoPersist{"off", 0})
}

// TestEdgeOneL4ProxyDDoSConfigAsGiven: DescribeL4Proxy leaves
// DDosProtectionConfig out for a proxy created without one, as the
// reference's example does, and echoes it as given otherwise. The
// Terraform provider reads any answered config into its Optional,
// immutable ddos_protection_config block, so anything else shows as drift
// and the next apply fails ("cannot be changed"). The provider sends
// MaxBandwidthMainland 0 when max_bandwidth_mainland is unset; it reads
// back 0, not a default the config does not have.
func TestEdgeOneL4ProxyDDoSConfigAsGiven(t *testing.T) {
	n := startNode(t)
	c := n.VPC()
	var zone struct{ ZoneId string }
	teoCall(t, c, "CreateZone", map[string]any{"Type": "noDomainAccess"}, &zone)
	tests := []struct {
		name string
		ddos map[string]any // nil: not sent
		want string         // DDosProtectionConfig answered; "" = left out
	}{
		{"none", nil, ""},
		{"platform", map[string]any{"LevelMainland": "PLATFORM", "MaxBandwidthMainland": 0, "LevelOverseas": "PLATFORM"},
			`{"LevelMainland":"PLATFORM","MaxBandwidthMainland":0,"LevelOverseas":"PLATFORM"}`},
		{"base30-unset", map[string]any{"LevelMainland": "BASE30_MAX300", "MaxBandwidthMainland": 0, "LevelOverseas": "PLATFORM"},
			`{"LevelMainland":"BASE30_MAX300","MaxBandwidthMainland":0,"LevelOverseas":"PLATFORM"}`},
		{"base60-200", map[string]any{"LevelMainland": "BASE60_MAX600", "MaxBandwidthMainland": 200},
			`{"LevelMainland":"BASE60_MAX600","MaxBandwidthMainland":200,"LevelOverseas":"PLATFORM"}`},
		// Terraform sends every key of its block, an unset level empty:
		// it reads back empty (PLATFORM answered was a change the provider
		// cannot apply).
		{"one-level", map[string]any{"LevelMainland": "", "MaxBandwidthMainland": 0, "LevelOverseas": "PLATFORM"},
			`{"LevelMainland":"","MaxBandwidthMainland":0,"LevelOverseas":"PLATFORM"}`},
	}
	for _, tc := range tests {
		req := map[string]any{"ZoneId": zone.ZoneId, "ProxyName": tc.name, "Area": "mainland"}
		if tc.ddos != nil {
			req["DDosProtectionConfig"] = tc.ddos
		}
		var proxy struct{ ProxyId string }
		teoCall(t, c, "CreateL4Proxy", req, &proxy)
		var r struct {
			L4Proxies []map[string]json.RawMessage
		}
		teoCall(t, c, "DescribeL4Proxy", map[string]any{"ZoneId": zone.ZoneId,
			"Filters": []map[string]any{{"Name": "proxy-id", "Values": []string{proxy.ProxyId}}}}, &r)
		if len(r.L4Proxies) != 1 {
			t.Fatalf("%s: %d proxies listed; want 1", tc.name, len(r.L4Proxies))
		}
		got := ""
		if d, ok := r.L4Proxies[0]["DDosProtectionConfig"]; ok && string(d) != "null" {
			got = string(d)
		}
		if got != tc.want {
			t.Errorf("%s: DDosProtectionConfig = %q; want %q", tc.name, got, tc.want)
		}
	}
}
