package gaap_test

import (
	"strings"
	"sync"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

// proxyDetail fetches one proxy.
func proxyDetail(t *testing.T, c *gaapsdk.Client, id string) *gaapsdk.ProxyInfo {
	t.Helper()
	req := gaapsdk.NewDescribeProxyDetailRequest()
	req.ProxyId = new(id)
	resp, err := c.DescribeProxyDetail(req)
	if err != nil {
		t.Fatalf("DescribeProxyDetail(%s): %v", id, err)
	}
	return resp.Response.ProxyDetail
}

func TestModifyProxiesAttributeAndProject(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	a, b := runningProxy(t, api), runningProxy(t, api)

	attr := gaapsdk.NewModifyProxiesAttributeRequest()
	attr.ProxyIds, attr.InstanceIds, attr.ProxyName = sdkIDs(a), sdkIDs(b), new("renamed")
	if _, err := c.ModifyProxiesAttribute(attr); err != nil {
		t.Fatal(err)
	}
	proj := gaapsdk.NewModifyProxiesProjectRequest()
	proj.ProxyIds, proj.ProjectId, proj.ClientToken = sdkIDs(a), new(int64(7)), new("move-a")
	if _, err := c.ModifyProxiesProject(proj); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, b} {
		if got := *proxyDetail(t, c, id).ProxyName; got != "renamed" {
			t.Errorf("proxy %s name %q; want renamed", id, got)
		}
	}
	if got := *proxyDetail(t, c, a).ProjectId; got != 7 {
		t.Errorf("project of %s = %d; want 7", a, got)
	}
	if got := *proxyDetail(t, c, b).ProjectId; got != 0 {
		t.Errorf("project of %s = %d; want 0 (untouched)", b, got)
	}

	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"name too long", func() error {
			r := gaapsdk.NewModifyProxiesAttributeRequest()
			r.ProxyIds, r.ProxyName = sdkIDs(a), new(strings.Repeat("n", 33))
			_, err := c.ModifyProxiesAttribute(r)
			return err
		}, "InvalidParameterValue"},
		{"no ids", func() error {
			r := gaapsdk.NewModifyProxiesAttributeRequest()
			r.ProxyName = new("x")
			_, err := c.ModifyProxiesAttribute(r)
			return err
		}, "MissingParameter"},
		{"negative project", func() error {
			r := gaapsdk.NewModifyProxiesProjectRequest()
			r.ProxyIds, r.ProjectId = sdkIDs(a), new(int64(-1))
			_, err := c.ModifyProxiesProject(r)
			return err
		}, "InvalidParameterValue"},
		{"replayed token", func() error {
			_, err := c.ModifyProxiesProject(proj)
			return err
		}, "FailedOperation.DuplicatedRequest"},
		{"token over 64 characters", func() error {
			r := gaapsdk.NewModifyProxiesProjectRequest()
			r.ProxyIds, r.ProjectId, r.ClientToken = sdkIDs(a), new(int64(1)), new(strings.Repeat("t", 65))
			_, err := c.ModifyProxiesProject(r)
			return err
		}, "InvalidParameterValue"},
		{"other account", func() error {
			r := gaapsdk.NewModifyProxiesProjectRequest()
			r.ProxyIds, r.ProjectId = sdkIDs(a), new(int64(1))
			_, err := api.GAAP(xtest.Other).ModifyProxiesProject(r)
			return err
		}, "ResourceNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.code) })
	}
}

func TestModifyProxyConfiguration(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	id := runningProxy(t, api)

	req := gaapsdk.NewModifyProxyConfigurationRequest()
	req.InstanceId, req.Bandwidth, req.Concurrent = new(id), new(uint64(50)), new(uint64(5))
	if _, err := c.ModifyProxyConfiguration(req); err != nil {
		t.Fatal(err)
	}
	if got := *proxyDetail(t, c, id).Status; got != "ADJUSTING" && got != "RUNNING" {
		t.Errorf("status after scaling = %s; want ADJUSTING or RUNNING", got)
	}
	waitProxyStatus(t, api, id, "RUNNING")
	d := proxyDetail(t, c, id)
	if *d.Bandwidth != 50 || *d.Concurrent != 5 {
		t.Errorf("bandwidth %d concurrent %d; want 50 5", *d.Bandwidth, *d.Concurrent)
	}

	tests := []struct {
		name     string
		bw, conc *uint64
		code     string
	}{
		// Its error list has neither InvalidBandwidth nor InvalidConcurrency.
		{"bandwidth not offered", new(uint64(15)), nil, "InvalidParameterValue"},
		{"concurrency not offered", nil, new(uint64(3)), "InvalidParameterValue"},
		{"neither", nil, nil, "MissingParameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gaapsdk.NewModifyProxyConfigurationRequest()
			r.ProxyId, r.Bandwidth, r.Concurrent = new(id), tc.bw, tc.conc
			_, err := c.ModifyProxyConfiguration(r)
			wantCode(t, err, tc.code)
		})
	}

	cl := gaapsdk.NewCloseProxiesRequest()
	cl.ProxyIds = sdkIDs(id)
	if _, err := c.CloseProxies(cl); err != nil {
		t.Fatal(err)
	}
	req.InstanceId, req.ProxyId = nil, new(id)
	_, err := c.ModifyProxyConfiguration(req)
	wantCode(t, err, "ResourceUnavailable") // its list has no ProxyStatusNotInRuning
}

func TestCheckProxyCreate(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	group := createGroup(t, api, "NorthChina")
	tests := []struct {
		name   string
		params map[string]any
		flag   int64
		code   string
	}{
		{"offered", map[string]any{}, 1, ""},
		{"in group", map[string]any{"GroupId": group}, 1, ""},
		{"group in another origin region", map[string]any{"GroupId": group, "RealServerRegion": "EastChina"}, 0, ""},
		{"IPv6 not offered overseas", map[string]any{"AccessRegion": "Japan", "IPAddressVersion": "IPv6"}, 0, ""},
		{"cross-border from overseas", map[string]any{"AccessRegion": "Japan", "PackageType": "CrossBorder"}, 0, ""},
		{"cross-border into Hong Kong", map[string]any{"RealServerRegion": "Hongkong", "PackageType": "CrossBorder"}, 1, ""},
		{"unknown access region", map[string]any{"AccessRegion": "Atlantis"}, 0, "InvalidParameterValue.UnknownAccessRegion"},
		{"unknown origin region", map[string]any{"RealServerRegion": "Atlantis"}, 0, "InvalidParameterValue.UnknownDestRegion"},
		{"bandwidth not offered", map[string]any{"Bandwidth": 11}, 0, "InvalidParameterValue.InvalidBandwidth"},
		{"concurrency not offered", map[string]any{"Concurrent": 1}, 0, "InvalidParameterValue.InvalidConcurrency"},
		{"bad network type", map[string]any{"NetworkType": "fiber"}, 0, "InvalidParameterValue"},
		{"unknown group", map[string]any{"GroupId": "lg-00000000"}, 0, "ResourceNotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := map[string]any{"AccessRegion": "SouthChina", "RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}
			for k, v := range tc.params {
				p[k] = v
			}
			var out struct{ CheckFlag int64 }
			err := api.Call(c, "CheckProxyCreate", p, &out)
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.CheckFlag != tc.flag {
				t.Errorf("CheckFlag = %d; want %d", out.CheckFlag, tc.flag)
			}
		})
	}
}

// TestDestroyingProxyCodesDocumented: a proxy being destroyed
// (DESTROYING, controller held) refuses ModifyProxiesAttribute and
// ModifyProxiesProject with a code their error lists name; neither lists
// FailedOperation.ProxyStatusNotInRuning.
func TestDestroyingProxyCodesDocumented(t *testing.T) {
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	release := sync.OnceFunc(api.Controller.Hold())
	defer release()
	if err := api.Call(c, "DestroyProxies", map[string]any{"ProxyIds": []string{proxy}, "Force": 1}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		action string
		params map[string]any
	}{
		{"ModifyProxiesAttribute", map[string]any{"ProxyIds": []string{proxy}, "ProxyName": "renamed"}},
		{"ModifyProxiesProject", map[string]any{"ProxyIds": []string{proxy}, "ProjectId": 0}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			err := api.Call(c, tc.action, tc.params, nil)
			wantDocumented(t, tc.action, err)
		})
	}
}

// TestModifyProxiesProjectRefusedWhileBound: as for a group
// (TestModifyProxyGroupProjectRefusedWhileBound), ModifyProxiesProject
// refuses (FailedOperation) to move a proxy while a rule of one of its
// listeners has origins of another project than the target bound, and
// moves nothing of the batch; once they are unbound, the move succeeds.
func TestModifyProxiesProjectRefusedWhileBound(t *testing.T) {
	t.Parallel()
	api, proxy, listener := httpDomain(t, "www.example.com") // project 0
	c := api.GAAP()
	free := runningProxy(t, api)
	rule := createRule(t, c, listener, "www.example.com", "/")
	rs := addOrigins(t, c, 0, "web", "10.0.0.1")[0]
	bind := func(set ...*gaapsdk.RealServerBindSetReq) {
		t.Helper()
		req := gaapsdk.NewBindRuleRealServersRequest()
		req.RuleId, req.RealServerBindSet = new(rule), set
		if _, err := c.BindRuleRealServers(req); err != nil {
			t.Fatalf("BindRuleRealServers: %v", err)
		}
		waitRule(t, c, rule)
	}
	bind(bindOne(rs, "10.0.0.1", 80))

	move := gaapsdk.NewModifyProxiesProjectRequest()
	move.ProxyIds, move.ProjectId = sdkIDs(free, proxy), new(int64(4))
	_, err := c.ModifyProxiesProject(move)
	wantCode(t, err, "FailedOperation")
	for _, id := range []string{free, proxy} {
		if got := *proxyDetail(t, c, id).ProjectId; got != 0 {
			t.Errorf("proxy %s in project %d after a refused move; want 0", id, got)
		}
	}

	bind() // an empty set unbinds everything
	if _, err := c.ModifyProxiesProject(move); err != nil {
		t.Fatalf("ModifyProxiesProject after unbinding: %v", err)
	}
	if got := *proxyDetail(t, c, proxy).ProjectId; got != 4 {
		t.Errorf("proxy %s in project %d; want 4", proxy, got)
	}
}
