package teo_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/opengaap/opengaap/internal/teo"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// familyActions reads the action names of the teo L4 family definition.
func familyActions(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../spec/teo-2022-09-01-l4-family.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Actions map[string]json.RawMessage `json:"actions"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range spec.Actions {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// TestEveryActionRegistered fails when an action of the family has no
// handler, or the endpoint registers one the family does not define.
func TestEveryActionRegistered(t *testing.T) {
	want := familyActions(t)
	if len(want) != 21 {
		t.Fatalf("got %d actions in the family file; want 21", len(want))
	}
	got := (&teo.Service{}).Register().Actions()
	for _, name := range want {
		if !slices.Contains(got, name) {
			t.Errorf("action %s is not registered", name)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d registered actions; want %d", len(got), len(want))
	}
}

// TestRemoteAuthIgnoredOnInput: L4ProxyRule.RemoteAuth "在 CreateL4ProxyRules
// 或 ModifyL4ProxyRules 不可作为入参使用，如有传此参数，会忽略" (not an
// input; ignored if sent): a rule echoed back from DescribeL4ProxyRules
// with part of it is not refused for its missing members.
func TestRemoteAuthIgnoredOnInput(t *testing.T) {
	rules := []teoapi.L4ProxyRule{{Protocol: new("TCP"), PortRange: []string{"80"}, OriginType: new("IP_DOMAIN"),
		OriginValue: []string{"10.0.0.1"}, RemoteAuth: &teoapi.L4ProxyRemoteAuth{Switch: new("off")}}}
	if err := (&teoapi.CreateL4ProxyRulesRequest{ZoneId: new("zone-1"), ProxyId: new("sid-1"), L4ProxyRules: rules}).Validate(); err != nil {
		t.Errorf("CreateL4ProxyRules with a partial RemoteAuth: %v", err)
	}
	if err := (&teoapi.ModifyL4ProxyRulesRequest{ZoneId: new("zone-1"), ProxyId: new("sid-1"), L4ProxyRules: rules}).Validate(); err != nil {
		t.Errorf("ModifyL4ProxyRules with a partial RemoteAuth: %v", err)
	}
}
