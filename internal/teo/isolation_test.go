package teo_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	vpcsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/opengaap/opengaap/internal/teo/teoapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestAccountIsolation: to a second account, the root's zone, L4 proxy
// and origin group do not exist: writes naming them are ResourceNotFound
// and change nothing, reads answer without them.
func TestAccountIsolation(t *testing.T) {
	api := xtest.StartAPI(t)
	root, other := api.VPC(), api.VPC(xtest.Other)
	call := func(c *vpcsdk.Client, action string, params map[string]any) (string, string) {
		t.Helper()
		var out json.RawMessage
		err := xtest.CallService(&c.Client, teoapi.Service, teoapi.Version, action, params, &out)
		var e *sdkerrors.TencentCloudSDKError
		if errors.As(err, &e) {
			return e.Code, ""
		}
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return "", string(out)
	}
	var zone struct{ ZoneId string }
	var proxy struct{ ProxyId string }
	var group struct{ OriginGroupId string }
	mustCreate := func(action string, params map[string]any, into any) {
		t.Helper()
		code, out := call(root, action, params)
		if code != "" || json.Unmarshal([]byte(out), into) != nil {
			t.Fatalf("%s: %s %s", action, code, out)
		}
	}
	mustCreate("CreateZone", map[string]any{"Type": "noDomainAccess"}, &zone)
	z := zone.ZoneId
	mustCreate("CreateL4Proxy", map[string]any{"ZoneId": z, "ProxyName": "p", "Area": "mainland"}, &proxy)
	mustCreate("CreateOriginGroup", map[string]any{"ZoneId": z, "Name": "g", "Type": "GENERAL",
		"Records": []map[string]any{{"Record": "198.51.100.1", "Type": "IP_DOMAIN"}}}, &group)
	p, g := proxy.ProxyId, group.OriginGroupId

	for _, c := range []struct {
		action string
		params map[string]any
	}{
		{"DescribeZones", map[string]any{}},
		{"DescribeL4Proxy", map[string]any{"ZoneId": z}},
		{"DescribeL4ProxyRules", map[string]any{"ZoneId": z, "ProxyId": p, "Offset": 0, "Limit": 100}},
		{"DescribeOriginGroup", map[string]any{"ZoneId": z}},
		{"ModifyZone", map[string]any{"ZoneId": z, "AliasZoneName": "x"}},
		{"ModifyZoneStatus", map[string]any{"ZoneId": z, "Paused": true}},
		{"CreateL4Proxy", map[string]any{"ZoneId": z, "ProxyName": "q", "Area": "mainland"}},
		{"ModifyL4Proxy", map[string]any{"ZoneId": z, "ProxyId": p, "Ipv6": "on"}},
		{"ModifyL4ProxyStatus", map[string]any{"ZoneId": z, "ProxyId": p, "Status": "offline"}},
		{"CreateL4ProxyRules", map[string]any{"ZoneId": z, "ProxyId": p, "L4ProxyRules": []map[string]any{{"Protocol": "TCP",
			"PortRange": []string{"81"}, "OriginType": "IP_DOMAIN", "OriginValue": []string{"198.51.100.1"}, "OriginPortRange": "80"}}}},
		{"ModifyOriginGroup", map[string]any{"ZoneId": z, "GroupId": g, "Name": "h"}},
		{"DeleteOriginGroup", map[string]any{"ZoneId": z, "GroupId": g}},
		{"DeleteL4Proxy", map[string]any{"ZoneId": z, "ProxyId": p}},
		{"DeleteZone", map[string]any{"ZoneId": z}},
	} {
		code, out := call(other, c.action, c.params)
		switch {
		case strings.HasPrefix(c.action, "Describe") && code == "":
			for _, id := range []string{z, p, g} {
				if strings.Contains(out, id) {
					t.Errorf("the other account's %s shows %s: %.300s", c.action, id, out)
				}
			}
		case !strings.HasPrefix(code, "ResourceNotFound") && !strings.HasPrefix(code, "ResourceUnavailable") && !strings.HasPrefix(code, "InvalidParameter"):
			t.Errorf("the other account's %s on the root's objects: %q; want a not-found refusal", c.action, code)
		}
	}

	var after struct {
		L4Proxies []struct{ ProxyId, ProxyName, Ipv6 string }
	}
	if code, out := call(root, "DescribeL4Proxy", map[string]any{"ZoneId": z}); code != "" || json.Unmarshal([]byte(out), &after) != nil ||
		len(after.L4Proxies) != 1 || after.L4Proxies[0].ProxyId != p || after.L4Proxies[0].ProxyName != "p" || after.L4Proxies[0].Ipv6 != "off" {
		t.Errorf("root's proxy after the other account's calls: %s %s; want it unchanged", code, out)
	}
}
