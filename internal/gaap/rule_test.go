package gaap_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/xtest"
)

func TestRuleLifecycle(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	listener := l7Listener(t, api, proxy, "", 0)
	createDomain(t, c, listener, "www.example.com")

	req := ruleRequest(listener, "www.example.com", "/api")
	req.HealthCheck = new(uint64(1))
	req.CheckParams = &gaapsdk.RuleCheckParams{DelayLoop: new(uint64(10)), ConnectTimeout: new(uint64(3)),
		Path: new("/health"), Method: new("GET"), StatusCode: []*uint64{new(uint64(200))}}
	resp, err := c.CreateRule(req)
	if err != nil {
		t.Fatal(err)
	}
	id := *resp.Response.RuleId
	waitRule(t, c, id)
	r := describeRule(t, c, id)
	if *r.Path != "/api" || *r.HealthCheck != 1 || *r.CheckParams.DelayLoop != 10 || *r.CheckParams.Domain != "www.example.com" || *r.ForwardHost != "default" {
		t.Errorf("got rule path %q health %d delay %d check domain %q forward host %q", *r.Path, *r.HealthCheck,
			*r.CheckParams.DelayLoop, *r.CheckParams.Domain, *r.ForwardHost)
	}
	if d := describeDomain(t, c, listener, "www.example.com"); len(d.RuleSet) != 1 || *d.RuleSet[0].RuleId != id {
		t.Errorf("DescribeRules: got %d rules under the domain; want rule %s", len(d.RuleSet), id)
	}
	byIDs := gaapsdk.NewDescribeRulesByRuleIdsRequest()
	byIDs.RuleIds = []*string{new(id), new(id)}
	if got, err := c.DescribeRulesByRuleIds(byIDs); err != nil || len(got.Response.RuleSet) != 1 || *got.Response.TotalCount != 1 {
		t.Errorf("DescribeRulesByRuleIds with %s twice: %v; want it once, as other lookups by ID answer", id, err)
	}

	mod := gaapsdk.NewModifyRuleAttributeRequest()
	mod.ListenerId, mod.RuleId, mod.Scheduler, mod.Path = new(listener), new(id), new("wrr"), new("/v2")
	if _, err := c.ModifyRuleAttribute(mod); err != nil {
		t.Fatal(err)
	}
	waitRule(t, c, id)
	if r := describeRule(t, c, id); *r.Scheduler != "wrr" || *r.Path != "/v2" || *r.CheckParams.Path != "/health" {
		t.Errorf("after modify: got scheduler %q path %q check path %q; want wrr, /v2, /health kept", *r.Scheduler, *r.Path, *r.CheckParams.Path)
	}

	other := createRule(t, c, listener, "www.example.com", "/other")
	mod = gaapsdk.NewModifyRuleAttributeRequest()
	mod.ListenerId, mod.RuleId, mod.Path = new(listener), new(other), new("/v2")
	_, err = c.ModifyRuleAttribute(mod)
	wantCode(t, err, "FailedOperation.RuleAlreadyExisted")

	del := gaapsdk.NewDeleteRuleRequest()
	del.ListenerId, del.RuleId, del.Force = new(listener), new(other), new(uint64(0))
	_, err = api.GAAP(xtest.Other).DeleteRule(del)
	wantCode(t, err, "ResourceNotFound")
	if _, err := c.DeleteRule(del); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { pace(); return len(describeDomain(t, c, listener, "www.example.com").RuleSet) == 1 }, "rule not deleted")
}

func TestCreateRuleInvalid(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	listener := l7Listener(t, api, proxy, "", 0)
	createDomain(t, c, listener, "www.example.com")
	createRule(t, c, listener, "www.example.com", "/taken")

	cases := []struct {
		name   string
		change func(*gaapsdk.CreateRuleRequest)
		code   string
	}{
		{"relative path", func(r *gaapsdk.CreateRuleRequest) { r.Path = new("api") }, "InvalidParameterValue"},
		{"duplicate path", func(r *gaapsdk.CreateRuleRequest) { r.Path = new("/taken") }, "FailedOperation.RuleAlreadyExisted"},
		{"unknown domain", func(r *gaapsdk.CreateRuleRequest) { r.Domain = new("nope.example.com") }, "ResourceNotFound"},
		// Not CheckParams.Domain, which the default check takes from Domain.
		{"unknown domain, no check host", func(r *gaapsdk.CreateRuleRequest) { r.Domain, r.CheckParams = new("a_b.example.com"), nil }, "ResourceNotFound"},
		{"unknown domain, final dot", func(r *gaapsdk.CreateRuleRequest) { r.Domain, r.CheckParams = new("www.example.com."), nil }, "ResourceNotFound"},
		// A request's path ends before its query: no request could match.
		{"path with a query", func(r *gaapsdk.CreateRuleRequest) { r.Path = new("/search?q=1") }, "InvalidParameterValue"},
		{"path with a fragment", func(r *gaapsdk.CreateRuleRequest) { r.Path = new("/doc#top") }, "InvalidParameterValue"},
		{"scheduler", func(r *gaapsdk.CreateRuleRequest) { r.Scheduler = new("random") }, "InvalidParameterValue"},
		{"origin type", func(r *gaapsdk.CreateRuleRequest) { r.RealServerType = new("FQDN") }, "InvalidParameterValue"},
		{"delay loop", func(r *gaapsdk.CreateRuleRequest) { r.CheckParams.DelayLoop = new(uint64(301)) }, "InvalidParameterValue"},
		{"timeout not below delay", func(r *gaapsdk.CreateRuleRequest) { r.CheckParams.ConnectTimeout = new(uint64(5)) }, "InvalidParameterValue"},
		{"status code", func(r *gaapsdk.CreateRuleRequest) { r.CheckParams.StatusCode = []*uint64{new(uint64(201))} }, "InvalidParameterValue"},
		{"method", func(r *gaapsdk.CreateRuleRequest) { r.CheckParams.Method = new("POST") }, "InvalidParameterValue"},
		{"check path", func(r *gaapsdk.CreateRuleRequest) { r.CheckParams.Path = new("health") }, "InvalidParameterValue"},
		// A check asks one host: a wildcard names none.
		{"wildcard check domain", func(r *gaapsdk.CreateRuleRequest) { r.CheckParams.Domain = new("*.example.com") }, "InvalidParameterValue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := ruleRequest(listener, "www.example.com", "/new")
			req.CheckParams = &gaapsdk.RuleCheckParams{DelayLoop: new(uint64(5)), ConnectTimeout: new(uint64(2)),
				Path: new("/"), Method: new("HEAD"), StatusCode: []*uint64{new(uint64(200))}}
			tc.change(req)
			_, err := c.CreateRule(req)
			wantCode(t, err, tc.code)
		})
	}

	// The SDK predates SNI; send it raw.
	err := api.Call(c, "CreateRule", map[string]any{"ListenerId": listener, "Domain": "www.example.com", "Path": "/sni",
		"RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0, "ServerNameIndicationSwitch": "ON"}, nil)
	wantCode(t, err, "MissingParameter")

	ids := gaapsdk.NewDescribeRulesByRuleIdsRequest()
	for range 11 {
		ids.RuleIds = append(ids.RuleIds, new("rule-00000000"))
	}
	_, err = c.DescribeRulesByRuleIds(ids)
	wantCode(t, err, "InvalidParameterValue")
}

func TestRuleRealServers(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	listener := l7Listener(t, api, proxy, "", 0)
	createDomain(t, c, listener, "www.example.com")
	rule := createRule(t, c, listener, "www.example.com", "/")

	add := gaapsdk.NewAddRealServersRequest()
	add.ProjectId, add.RealServerName = new(uint64(0)), new("origin")
	add.RealServerIP = []*string{new("10.0.0.1"), new("10.0.0.2")}
	added, err := c.AddRealServers(add)
	if err != nil {
		t.Fatal(err)
	}
	rs1, rs2 := *added.Response.RealServerSet[0].RealServerId, *added.Response.RealServerSet[1].RealServerId

	bind := func(set ...*gaapsdk.RealServerBindSetReq) error {
		req := gaapsdk.NewBindRuleRealServersRequest()
		req.RuleId, req.RealServerBindSet = new(rule), set
		return func() error { _, err := c.BindRuleRealServers(req); return err }()
	}
	if err := bind(&gaapsdk.RealServerBindSetReq{RealServerId: new(rs1), RealServerIP: new("10.0.0.1"), RealServerPort: new(uint64(80))},
		&gaapsdk.RealServerBindSetReq{RealServerId: new(rs2), RealServerIP: new("10.0.0.2"), RealServerPort: new(uint64(8080)), RealServerWeight: new(uint64(5))}); err != nil {
		t.Fatal(err)
	}
	waitRule(t, c, rule)

	dreq := gaapsdk.NewDescribeRuleRealServersRequest()
	dreq.RuleId, dreq.Limit = new(rule), new(uint64(1))
	dresp, err := c.DescribeRuleRealServers(dreq)
	if err != nil {
		t.Fatal(err)
	}
	r := dresp.Response
	if *r.TotalCount != 2 || len(r.RealServerSet) != 1 || *r.BindRealServerTotalCount != 2 {
		t.Errorf("got %d bindable (%d shown), %d bound; want 2 (1 shown), 2", *r.TotalCount, len(r.RealServerSet), *r.BindRealServerTotalCount)
	}
	if b := r.BindRealServerSet[1]; *b.RealServerIP != "10.0.0.2" || *b.RealServerWeight != 5 || *b.RealServerPort != 8080 {
		t.Errorf("got second binding %s:%d weight %d; want 10.0.0.2:8080 weight 5", *b.RealServerIP, *b.RealServerPort, *b.RealServerWeight)
	}
	dreq.Limit = new(uint64(1001))
	_, err = c.DescribeRuleRealServers(dreq)
	wantCode(t, err, "InvalidParameterValue")

	t.Run("invalid bindings", func(t *testing.T) {
		err := bind(&gaapsdk.RealServerBindSetReq{RealServerId: new("rs-00000000"), RealServerIP: new("10.0.0.9"), RealServerPort: new(uint64(80))})
		wantCode(t, err, "InvalidParameterValue.RealServerNotBelong")
		err = bind(&gaapsdk.RealServerBindSetReq{RealServerId: new(rs1), RealServerIP: new("10.0.0.1"), RealServerPort: new(uint64(70000))})
		wantCode(t, err, "InvalidParameterValue")
	})

	del := gaapsdk.NewDeleteRuleRequest()
	del.ListenerId, del.RuleId, del.Force = new(listener), new(rule), new(uint64(0))
	_, err = c.DeleteRule(del)
	wantCode(t, err, "FailedOperation.RealServerAlreadyBound")

	if err := bind(); err != nil { // an empty set unbinds everything
		t.Fatal(err)
	}
	waitRule(t, c, rule)
	if got := len(describeRule(t, c, rule).RealServerSet); got != 0 {
		t.Errorf("got %d bound origins after unbinding all; want 0", got)
	}
}

// TestRuleForwardHost checks that ForwardHost is a Host header value on
// create and modify: a URL, a path or a space would reach origins as an
// empty Host.
func TestRuleForwardHost(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()

	good := []string{"default", "backend.example.com", "backend.example.com:8080", "203.0.113.7", "[2001:db8::1]:443"}
	for i, host := range good {
		req := ruleRequest(listener, "www.example.com", fmt.Sprintf("/good%d", i))
		req.ForwardHost = new(host)
		resp, err := c.CreateRule(req)
		if err != nil {
			t.Fatalf("ForwardHost %q: %v", host, err)
		}
		if got := *describeRule(t, c, *resp.Response.RuleId).ForwardHost; got != host {
			t.Errorf("got ForwardHost %q; want %q", got, host)
		}
	}
	bad := []string{"https://backend.example.com", "backend.example.com/app", "bad host", "backend.example.com:0",
		"backend.example.com:65536", "2001:db8::1", "*.example.com"}
	rule := createRule(t, c, listener, "www.example.com", "/")
	for _, host := range bad {
		t.Run(host, func(t *testing.T) {
			req := ruleRequest(listener, "www.example.com", "/bad")
			req.ForwardHost = new(host)
			_, err := c.CreateRule(req)
			wantCode(t, err, "InvalidParameterValue")
			mod := gaapsdk.NewModifyRuleAttributeRequest()
			mod.ListenerId, mod.RuleId, mod.ForwardHost = new(listener), new(rule), new(host)
			_, err = c.ModifyRuleAttribute(mod)
			wantCode(t, err, "InvalidParameterValue")
		})
	}
}

// TestRuleEncodedPath runs the reference's own CreateRule example, whose
// Path and CheckParams.Path are URL-encoded ("%2Fimage", "%2F"): paths
// starting with "%2F" are decoded, literal ones are kept as written.
func TestRuleEncodedPath(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.bbb.com")
	c := api.GAAP()
	var out struct{ RuleId string }
	err := api.Call(c, "CreateRule", map[string]any{"ListenerId": listener, "Domain": "www.bbb.com", "Path": "%2Fimage",
		"RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 1,
		"CheckParams": map[string]any{"ConnectTimeout": 4, "Path": "%2F", "Method": "HEAD", "DelayLoop": 39, "StatusCode": []int{300, 100, 400, 200, 500}}}, &out)
	if err != nil {
		t.Fatalf("the reference's CreateRule example: %v", err)
	}
	waitRule(t, c, out.RuleId)
	if r := describeRule(t, c, out.RuleId); *r.Path != "/image" || *r.CheckParams.Path != "/" {
		t.Errorf("got path %q, check path %q; want /image and /", *r.Path, *r.CheckParams.Path)
	}

	_, err = c.CreateRule(ruleRequest(listener, "www.bbb.com", "/image"))
	wantCode(t, err, "FailedOperation.RuleAlreadyExisted") // The same path, decoded.
	_, err = c.CreateRule(ruleRequest(listener, "www.bbb.com", "%2Fbad%zz"))
	wantCode(t, err, "InvalidParameterValue")
	literal := createRule(t, c, listener, "www.bbb.com", "/a%20b")
	if got := *describeRule(t, c, literal).Path; got != "/a%20b" {
		t.Errorf("got literal path %q; want /a%%20b kept", got)
	}
	// Paths are routed decoded: /café would be /caf%C3%A9 again, and a
	// malformed escape would match nothing.
	createRule(t, c, listener, "www.bbb.com", "/caf%C3%A9")
	_, err = c.CreateRule(ruleRequest(listener, "www.bbb.com", "/café"))
	wantCode(t, err, "FailedOperation.RuleAlreadyExisted")
	_, err = c.CreateRule(ruleRequest(listener, "www.bbb.com", "/bad%zz"))
	wantCode(t, err, "InvalidParameterValue")
	// Nor can a path with dot segments or an empty one, plain or encoded:
	// requests are matched after their own are resolved and their runs of
	// slashes merged, so no request path has them.
	for _, p := range []string{"/a/../b", "/a/%2e%2E/b", "/a/./b", "/a/..", "/api//v2", "/api/%2F/v2", "%2Fapi%2F%2Fv2", "//api", "/api//"} {
		_, err = c.CreateRule(ruleRequest(listener, "www.bbb.com", p))
		wantCode(t, err, "InvalidParameterValue")
	}
	mod := gaapsdk.NewModifyRuleAttributeRequest()
	mod.ListenerId, mod.RuleId, mod.Path = new(listener), new(out.RuleId), new("/api//v2")
	_, err = c.ModifyRuleAttribute(mod)
	wantCode(t, err, "InvalidParameterValue")

	mod = gaapsdk.NewModifyRuleAttributeRequest()
	mod.ListenerId, mod.RuleId, mod.Path = new(listener), new(out.RuleId), new("%2Fv2")
	mod.CheckParams = &gaapsdk.RuleCheckParams{DelayLoop: new(uint64(39)), ConnectTimeout: new(uint64(4)),
		Path: new("%2Fhealth"), Method: new("HEAD"), StatusCode: []*uint64{new(uint64(200))}}
	if _, err := c.ModifyRuleAttribute(mod); err != nil {
		t.Fatal(err)
	}
	waitRule(t, c, out.RuleId)
	if r := describeRule(t, c, out.RuleId); *r.Path != "/v2" || *r.CheckParams.Path != "/health" {
		t.Errorf("after modify: got path %q, check path %q; want /v2 and /health", *r.Path, *r.CheckParams.Path)
	}
}

// TestRulePathLimitCountsCharacters: rule and health-check paths may have
// 200 characters (docs/api-l7.md), counted as characters, not UTF-8 bytes:
// non-ASCII paths ("/产品/...") get the same room as ASCII ones.
func TestRulePathLimitCountsCharacters(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	create := func(path, checkPath string) error {
		return api.Call(c, "CreateRule", map[string]any{"ListenerId": listener, "Domain": "www.example.com", "Path": path,
			"RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 1,
			"CheckParams": map[string]any{"DelayLoop": 5, "ConnectTimeout": 2, "Path": checkPath, "Method": "GET", "StatusCode": []int{200}}}, nil)
	}
	long := func(n int) string { return "/" + strings.Repeat("产", n-1) } // n characters, 3n-2 bytes.
	if err := create(long(200), long(200)); err != nil {
		t.Fatalf("CreateRule with 200-character paths (598 bytes): %v; want them accepted", err)
	}
	wantCode(t, create(long(201), "/"), "InvalidParameterValue")
	wantCode(t, create("/b", long(201)), "InvalidParameterValue")
}

// TestModifyRuleEmptyDefaults: an empty ServerNameIndicationSwitch or
// ForwardProtocol means the default (OFF, default) on ModifyRuleAttribute
// as on CreateRule, as an empty ForwardHost does: a client that re-sends
// the body it created a rule with can modify the rule, and gets the same
// rule.
func TestModifyRuleEmptyDefaults(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	var out struct{ RuleId string }
	err := api.Call(c, "CreateRule", map[string]any{"ListenerId": listener, "Domain": "www.example.com", "Path": "/a",
		"RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0, "ServerNameIndicationSwitch": "", "ForwardProtocol": ""}, &out)
	if err != nil {
		t.Fatalf("CreateRule with empty SNI switch and forward protocol: %v", err)
	}
	waitRule(t, c, out.RuleId)
	modify := func(sniSwitch, sni, proto string) {
		t.Helper()
		err := api.Call(c, "ModifyRuleAttribute", map[string]any{"ListenerId": listener, "RuleId": out.RuleId,
			"ServerNameIndicationSwitch": sniSwitch, "ServerNameIndication": sni, "ForwardProtocol": proto}, nil)
		if err != nil {
			t.Fatalf("ModifyRuleAttribute(%q, %q, %q): %v", sniSwitch, sni, proto, err)
		}
		waitRule(t, c, out.RuleId)
	}
	modify("ON", "origin.example.com", "HTTPS")
	modify("", "", "")
	// RuleInfo shows the SNI switch (not ForwardProtocol); a raw call:
	// SDK v1.0.162 lacks the field.
	var got struct {
		RuleSet []struct{ ServerNameIndicationSwitch string }
	}
	if err := api.Call(c, "DescribeRulesByRuleIds", map[string]any{"RuleIds": []string{out.RuleId}}, &got); err != nil {
		t.Fatal(err)
	}
	if sw := got.RuleSet[0].ServerNameIndicationSwitch; sw != "OFF" {
		t.Errorf("after an empty SNI switch: got %q; want OFF", sw)
	}
}

// TestRuleBindAddressAsRegistered checks that BindRuleRealServers accepts
// RealServerIP spelled as the user registered the origin, as
// BindListenerRealServers does: origins are stored normalised (domains
// lower-cased, IPv6 compressed) and tools such as Terraform send back
// what was written.
func TestRuleBindAddressAsRegistered(t *testing.T) {
	t.Parallel()
	api, proxy, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	name := addOrigins(t, c, 0, "name", "Origin.Example.com")[0]
	v6 := addOrigins(t, c, 0, "v6", "2001:DB8:0:0:0:0:0:1")[0]
	req := ruleRequest(listener, "www.example.com", "/name")
	req.RealServerType = new("DOMAIN")
	resp, err := c.CreateRule(req)
	if err != nil {
		t.Fatal(err)
	}
	nameRule := *resp.Response.RuleId
	waitRule(t, c, nameRule)
	ipRule := createRule(t, c, listener, "www.example.com", "/ip")

	bind := func(rule string, set ...*gaapsdk.RealServerBindSetReq) error {
		req := gaapsdk.NewBindRuleRealServersRequest()
		req.RuleId, req.RealServerBindSet = new(rule), set
		_, err := c.BindRuleRealServers(req)
		return err
	}
	if err := bind(nameRule, bindOne(name, "Origin.Example.com", 80)); err != nil {
		t.Errorf("rule, mixed-case domain: %v", err)
	}
	wantCode(t, bind(ipRule, bindOne(v6, "2001:db8::2", 80)), "InvalidParameterValue") // Another address.
	if err := bind(ipRule, bindOne(v6, "2001:DB8:0:0:0:0:0:1", 80)); err != nil {
		t.Errorf("rule, uncompressed IPv6: %v", err)
	}
	tcp := createTCP(t, c, tcpRequest(proxy, 9000))[0]
	if _, err := c.BindListenerRealServers(bindReq(tcp, bindOne(v6, "2001:DB8:0:0:0:0:0:1", 80))); err != nil {
		t.Errorf("listener, uncompressed IPv6: %v", err)
	}
}

// TestRuleBindOtherProject checks that BindRuleRealServers refuses an
// origin of another project than the listener's proxy, as
// BindListenerRealServers does and as DescribeRuleRealServers, which does
// not offer it, implies.
func TestRuleBindOtherProject(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com") // project 0
	c := api.GAAP()
	rule := createRule(t, c, listener, "www.example.com", "/")
	elsewhere := addOrigins(t, c, 3, "db", "10.3.3.3")[0]

	dreq := gaapsdk.NewDescribeRuleRealServersRequest()
	dreq.RuleId = new(rule)
	dresp, err := c.DescribeRuleRealServers(dreq)
	if err != nil {
		t.Fatal(err)
	}
	if n := *dresp.Response.TotalCount; n != 0 {
		t.Fatalf("got %d bindable origins; want 0 (the only one is in project 3)", n)
	}
	req := gaapsdk.NewBindRuleRealServersRequest()
	req.RuleId, req.RealServerBindSet = new(rule), []*gaapsdk.RealServerBindSetReq{bindOne(elsewhere, "10.3.3.3", 80)}
	_, err = c.BindRuleRealServers(req)
	wantCode(t, err, "InvalidParameterValue.RealServerNotBelong")
}

// TestBusyRuleCodesDocumented: a rule with a change in flight
// (status 4 while the controller is held) refuses further changes with a
// code each action's error list names (ListenerHasTask is in all of
// them; FailedOperation.ActionIsDoing is in none).
func TestBusyRuleCodesDocumented(t *testing.T) {
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	rule := createRule(t, c, listener, "www.example.com", "/")

	release := sync.OnceFunc(api.Controller.Hold())
	defer release()
	if err := api.Call(c, "ModifyRuleAttribute", map[string]any{"ListenerId": listener, "RuleId": rule, "Scheduler": "wrr"}, nil); err != nil {
		t.Fatalf("first ModifyRuleAttribute: %v", err)
	}
	for _, tc := range []struct {
		action string
		params map[string]any
	}{
		{"ModifyRuleAttribute", map[string]any{"ListenerId": listener, "RuleId": rule, "Scheduler": "rr"}},
		{"DeleteRule", map[string]any{"ListenerId": listener, "RuleId": rule, "Force": 1}},
		{"BindRuleRealServers", map[string]any{"RuleId": rule, "RealServerBindSet": []any{}}},
		{"CreateCustomHeader", map[string]any{"RuleId": rule, "Headers": []any{map[string]any{"HeaderName": "X-A", "HeaderValue": "b"}}}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			pace()
			err := api.Call(c, tc.action, tc.params, nil)
			wantDocumented(t, tc.action, err)
		})
	}
}

// TestDeletingListenerL7Codes: layer-7 changes under a listener being
// deleted are refused as listener changes are (checkIdle):
// ListenerStatusError where the action lists it (BindRuleRealServers),
// else ListenerHasTask (CreateRule).
func TestDeletingListenerL7Codes(t *testing.T) {
	api, proxy, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	rule := createRule(t, c, listener, "www.example.com", "/")
	release := sync.OnceFunc(api.Controller.Hold())
	defer release()
	if err := api.Call(c, "DeleteListeners", map[string]any{"ProxyId": proxy, "ListenerIds": []string{listener}, "Force": 1}, nil); err != nil {
		t.Fatal(err)
	}
	pace()
	err := api.Call(c, "BindRuleRealServers", map[string]any{"RuleId": rule, "RealServerBindSet": []any{}}, nil)
	wantCode(t, err, "FailedOperation.ListenerStatusError")
	pace()
	err = api.Call(c, "CreateRule", map[string]any{"ListenerId": listener, "Domain": "www.example.com", "Path": "/x",
		"RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0}, nil)
	wantCode(t, err, "FailedOperation.ListenerHasTask")
}

// TestClosedProxyL7CodesDocumented: layer-7 changes under a CLOSED
// proxy are refused with a code the action lists (CreateDomain, CreateRule,
// ModifyRuleAttribute and CreateCustomHeader list
// InstanceStatusNotInRuning, not ProxyStatusNotInRuning).
func TestClosedProxyL7CodesDocumented(t *testing.T) {
	api, proxy, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	rule := createRule(t, c, listener, "www.example.com", "/")
	if err := api.Call(c, "CloseProxies", map[string]any{"ProxyIds": []string{proxy}}, nil); err != nil {
		t.Fatal(err)
	}
	waitProxyStatus(t, api, proxy, "CLOSED")
	for _, tc := range []struct {
		action string
		params map[string]any
	}{
		{"CreateDomain", map[string]any{"ListenerId": listener, "Domain": "b.example.com"}},
		{"CreateRule", map[string]any{"ListenerId": listener, "Domain": "www.example.com", "Path": "/x", "RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0}},
		{"ModifyRuleAttribute", map[string]any{"ListenerId": listener, "RuleId": rule, "Scheduler": "wrr"}},
		{"CreateCustomHeader", map[string]any{"RuleId": rule, "Headers": []any{map[string]any{"HeaderName": "X-A", "HeaderValue": "b"}}}},
		{"ModifyProxyConfiguration", map[string]any{"ProxyId": proxy, "Bandwidth": 20}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			pace()
			err := api.Call(c, tc.action, tc.params, nil)
			wantDocumented(t, tc.action, err)
		})
	}
}

// TestRuleForcedRedirect checks that ForcedRedirect is one of the forms
// the edge serves as written, on create and modify: an empty authority
// ("https://") would let a request's path pick the redirect's host, a
// port that is not one would make every Location unusable. (The SDK has no
// ForcedRedirect field: raw calls.)
func TestRuleForcedRedirect(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	create := func(path, v string) (string, error) {
		pace()
		var resp struct{ RuleId string }
		err := api.Call(c, "CreateRule", map[string]any{"ListenerId": listener, "Domain": "www.example.com", "Path": path,
			"RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0, "ForcedRedirect": v}, &resp)
		return resp.RuleId, err
	}

	good := []string{"https:", "https:8443", "https://www.qq.com/url", "https://www.example.com:8443/", "https://203.0.113.7",
		"https://[2001:db8::1]:443/a%20b"}
	for i, v := range good {
		id, err := create(fmt.Sprintf("/good%d", i), v)
		if err != nil {
			t.Fatalf("ForcedRedirect %q: %v", v, err)
		}
		var rules struct {
			RuleSet []struct{ ForcedRedirect string }
		}
		if err := api.Call(c, "DescribeRulesByRuleIds", map[string]any{"RuleIds": []string{id}}, &rules); err != nil ||
			len(rules.RuleSet) != 1 || rules.RuleSet[0].ForcedRedirect != v {
			t.Errorf("ForcedRedirect %q: described as %+v (%v)", v, rules, err)
		}
	}
	bad := []string{"https", "http://www.qq.com", "https://", "https:///", "https:///evil.example", "https:www.qq.com/url",
		"https:8443x", "https:99999", "https:0", "https://www.qq.com@evil.example/", "https://*.example.com/",
		"https://bad_host/", "https://www.qq.com:99999/", "https://www.qq.com/url?next=1", "https://2001:db8::1/"}
	rule := createRule(t, c, listener, "www.example.com", "/")
	for _, v := range bad {
		t.Run(v, func(t *testing.T) {
			_, err := create("/bad", v)
			wantCode(t, err, "InvalidParameterValue")
			err = api.Call(c, "ModifyRuleAttribute", map[string]any{"ListenerId": listener, "RuleId": rule, "ForcedRedirect": v}, nil)
			wantCode(t, err, "InvalidParameterValue")
		})
	}
}

// TestRuleEditKeepsStoredRedirect: a rule stored while ForcedRedirect
// only had to start with "https:" (e.g. "https://www.qq.com/url?next=1",
// which the edge serves as "https:") stays editable: ForcedRedirect is
// checked only when the call sends it, so a client sending only what
// changed (the Terraform provider) is not refused for a field it did not
// send.
func TestRuleEditKeepsStoredRedirect(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	rule := createRule(t, c, listener, "www.example.com", "/")
	// The row as an older opengaap stored it.
	rewriteRow(t, api, model.KindRule, rule, func(row map[string]any) { row["forcedRedirect"] = "https://www.qq.com/url?next=1" })
	pace()
	err := api.Call(c, "ModifyRuleAttribute", map[string]any{"ListenerId": listener, "RuleId": rule, "Scheduler": "wrr"}, nil)
	if err != nil {
		t.Fatalf("changing only the Scheduler of a rule stored with an older ForcedRedirect: %v", err)
	}
	var rules struct {
		RuleSet []struct{ Scheduler, ForcedRedirect string }
	}
	if err := api.Call(c, "DescribeRulesByRuleIds", map[string]any{"RuleIds": []string{rule}}, &rules); err != nil {
		t.Fatal(err)
	}
	if len(rules.RuleSet) != 1 || rules.RuleSet[0].Scheduler != "wrr" || rules.RuleSet[0].ForcedRedirect != "https://www.qq.com/url?next=1" {
		t.Errorf("after the edit the rule reads %+v; want Scheduler wrr and the stored ForcedRedirect kept", rules.RuleSet)
	}
}

// TestRuleBindingsCappedLikeListeners: a rule takes at most
// model.MaxBindings origins, as a TCP or UDP listener does, and one more is
// FailedOperation, the code BindRuleRealServers lists (not
// BindListenerRealServers' FailedOperation.LimitRealServerNum). Rules had
// no bound: one origin on 2000 ports was 2000 backends, each with a health
// checker on the edge.
func TestRuleBindingsCappedLikeListeners(t *testing.T) {
	api, _, listener := httpDomain(t, "bind.example.com")
	c := api.GAAP()
	rule := createRule(t, c, listener, "bind.example.com", "/")
	origin := addOrigins(t, c, 0, "o", "1.1.1.1")[0]
	bind := func(n int) error { return bindPorts(c, rule, origin, n) }
	err := bind(model.MaxBindings + 1)
	wantCode(t, err, "FailedOperation")
	wantDocumented(t, "BindRuleRealServers", err)
	if err := bind(model.MaxBindings); err != nil {
		t.Fatalf("BindRuleRealServers with %d origins: %v", model.MaxBindings, err)
	}
	rs := gaapsdk.NewDescribeRuleRealServersRequest()
	rs.RuleId = new(rule)
	resp, err := c.DescribeRuleRealServers(rs)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Response.BindRealServerSet); n != model.MaxBindings {
		t.Errorf("rule has %d origins bound; want %d", n, model.MaxBindings)
	}
}

// TestWildcardRenameMovesDefaultCheck: a rule created on a wildcard
// domain has no check domain (DefaultCheck); renamed to a host name, the
// domain's default check follows it, as a named domain's does: it stayed
// empty, and ModifyRuleAttribute cannot change it.
func TestWildcardRenameMovesDefaultCheck(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "*.example.com")
	c := api.GAAP()
	id := createRule(t, c, listener, "*.example.com", "/")
	mod := gaapsdk.NewModifyDomainRequest()
	mod.ListenerId, mod.OldDomain, mod.NewDomain = new(listener), new("*.example.com"), new("api.example.com")
	if _, err := c.ModifyDomain(mod); err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "api.example.com")
	if r := describeRule(t, c, id); *r.CheckParams.Domain != "api.example.com" {
		t.Errorf("rule %s after the rename to api.example.com: check domain %q; want api.example.com (the default check follows the domain)", id, *r.CheckParams.Domain)
	}
}

// TestHTTPDomainRefusesTLSSettings: SetTlsVersion refuses an HTTP
// listener (InvalidParameterValue: TLS versions and cipher policies exist
// only where TLS is terminated), and so does SetAuthentication for a
// domain of an HTTP listener: it stored them, and DescribeRules read them
// back as what the plain-text domain "is served with" (docs/api-l7.md).
func TestHTTPDomainRefusesTLSSettings(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	listener := l7Listener(t, api, runningProxy(t, api), "", 0)
	createDomain(t, c, listener, "www.example.com")

	// The listener-level action refuses an HTTP listener.
	err := api.Call(c, "SetTlsVersion", map[string]any{"ListenerId": listener,
		"TLSSupportVersion": []string{"TLSv1.2"}, "TLSCiphers": "GAAP_TLS_CIPHERS_STRICT"}, nil)
	wantCode(t, err, "InvalidParameterValue")

	// The domain-level one refuses the same settings on it.
	err = api.Call(c, "SetAuthentication", map[string]any{"ListenerId": listener, "Domain": "www.example.com",
		"TLSSupportVersion": []string{"TLSv1.2"}, "TLSCiphers": "GAAP_TLS_CIPHERS_STRICT"}, nil)
	if err == nil {
		var out struct {
			DomainRuleSet []struct {
				Domain, TLSCiphers string
				TLSSupportVersion  []string
			}
		}
		if err := api.Call(c, "DescribeRules", map[string]any{"ListenerId": listener}, &out); err != nil {
			t.Fatal(err)
		}
		t.Fatalf("SetAuthentication took TLS settings for a domain of an HTTP listener; DescribeRules reads back %+v", out.DomainRuleSet)
	}
	wantCode(t, err, "InvalidParameterValue")
}

// TestRuleBindingsCappedPerProxy: a proxy's listeners and rules hold at
// most model.MaxOwnerBindings origin bindings together, the figure TCP/UDP
// listeners cannot pass and EdgeOne proxies are held to: one HTTP listener
// once took a million (100 domains of 100 rules of 100), each a backend
// with a health checker on the shared node. A call replacing a set counts
// the new set, not the old beside it.
func TestRuleBindingsCappedPerProxy(t *testing.T) {
	t.Parallel()
	api, proxy, l, origin := bindingFixture(t)
	c := api.GAAP()
	hosts := []string{"a.example.com", "b.example.com", "c.example.com"}
	for _, h := range hosts {
		createDomain(t, c, l, h)
	}
	bind := func(rule string, n int) error {
		waitRule(t, c, rule)
		return bindPorts(c, rule, origin, n)
	}
	full := model.MaxOwnerBindings / model.MaxBindings
	var rules []string
	for i := range full + 1 {
		resp, err := c.CreateRule(ruleRequest(l, hosts[i/model.MaxRulesPerDomain], fmt.Sprintf("/p%d", i)))
		if err != nil {
			t.Fatalf("CreateRule #%d: %v", i+1, err)
		}
		rules = append(rules, *resp.Response.RuleId)
	}
	for _, r := range rules[:full] {
		if err := bind(r, model.MaxBindings); err != nil {
			t.Fatalf("binding %d origins to rule %s: %v", model.MaxBindings, r, err)
		}
	}
	wantCode(t, bind(rules[full], 1), "FailedOperation")
	if err := bind(rules[0], model.MaxBindings); err != nil {
		t.Errorf("rebinding a rule's %d origins at the cap: %v", model.MaxBindings, err)
	}
	var created struct{ ListenerIds []string }
	if err := api.Call(c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "tcp", "Ports": []int{9101},
		"Scheduler": "rr", "RealServerType": "IP", "HealthCheck": 0}, &created); err != nil {
		t.Fatal(err)
	}
	tcp := created.ListenerIds[0]
	eventually(t, func() bool { return *describeTCP(t, c, tcp).ListenerStatus == 0 }, "listener not running")
	_, err := c.BindListenerRealServers(bindReq(tcp, bindOne(origin, "1.1.1.1", 80)))
	wantCode(t, err, "FailedOperation.LimitRealServerNum")
}
