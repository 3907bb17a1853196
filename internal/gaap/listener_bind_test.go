package gaap_test

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/xtest"
)

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func bindReq(listener string, set ...*gaapsdk.RealServerBindSetReq) *gaapsdk.BindListenerRealServersRequest {
	req := gaapsdk.NewBindListenerRealServersRequest()
	req.ListenerId, req.RealServerBindSet = new(listener), set
	return req
}

func bindOne(id, ip string, port uint64) *gaapsdk.RealServerBindSetReq {
	return &gaapsdk.RealServerBindSetReq{RealServerId: new(id), RealServerIP: new(ip), RealServerPort: new(port)}
}

func TestBindListenerRealServers(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	ips := addOrigins(t, c, 0, "web", "1.1.1.1", "1.0.0.1")
	domain := addOrigins(t, c, 0, "name", "example.org")[0]
	elsewhere := addOrigins(t, c, 5, "p5", "9.9.9.9")[0]
	req := tcpRequest(proxy, 443)
	req.Scheduler, req.FailoverSwitch = new("wrr"), new(int64(1))
	listener := createTCP(t, c, req)[0]

	master := bindOne(ips[0], "1.1.1.1", 80)
	master.RealServerWeight = new(uint64(10))
	slave := bindOne(ips[1], "1.0.0.1", 8080)
	slave.RealServerFailoverRole = new("slave")
	if _, err := c.BindListenerRealServers(bindReq(listener, master, slave)); err != nil {
		t.Fatalf("BindListenerRealServers: %v", err)
	}
	eventually(t, func() bool { return *describeTCP(t, c, listener).ListenerStatus == 0 }, "binding not applied")
	// The SDK version lacks RealServerFailoverRole.
	var out struct {
		ListenerSet []struct {
			RealServerSet []struct {
				RealServerIP, RealServerFailoverRole string
				RealServerWeight, RealServerPort     int64
			}
		}
	}
	if err := api.Call(c, "DescribeTCPListeners", map[string]any{"ListenerId": listener}, &out); err != nil {
		t.Fatal(err)
	}
	set := out.ListenerSet[0].RealServerSet
	if len(set) != 2 || set[0].RealServerIP != "1.1.1.1" || set[0].RealServerPort != 80 || set[0].RealServerWeight != 10 || set[0].RealServerFailoverRole != "master" ||
		set[1].RealServerIP != "1.0.0.1" || set[1].RealServerPort != 8080 || set[1].RealServerWeight != 1 || set[1].RealServerFailoverRole != "slave" {
		t.Errorf("got bound set %+v; want 1.1.1.1:80 w10 master, 1.0.0.1:8080 w1 slave", set)
	}

	t.Run("describe listener origins", func(t *testing.T) {
		r := gaapsdk.NewDescribeListenerRealServersRequest()
		r.ListenerId = new(listener)
		resp, err := c.DescribeListenerRealServers(r)
		if err != nil {
			t.Fatal(err)
		}
		// Bindable: the IP origins of project 0, not the domain nor project 5's.
		if *resp.Response.BindRealServerTotalCount != 2 || *resp.Response.TotalCount != 2 {
			t.Errorf("got %d bound, %d bindable; want 2 and 2", *resp.Response.BindRealServerTotalCount, *resp.Response.TotalCount)
		}
	})

	t.Run("status", func(t *testing.T) {
		r := gaapsdk.NewDescribeRealServersStatusRequest()
		r.RealServerIds = sdkIDs(ips[0], domain)
		resp, err := c.DescribeRealServersStatus(r)
		if err != nil {
			t.Fatal(err)
		}
		got := resp.Response.RealServerStatusSet
		if *got[0].BindStatus != 1 || *got[0].ProxyId != proxy || *got[1].BindStatus != 0 || *got[1].ProxyId != "" {
			t.Errorf("got %s; want %s bound under %s and %s unbound", toJSON(got), ips[0], proxy, domain)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		heavy := bindOne(ips[0], "1.1.1.1", 80)
		heavy.RealServerWeight = new(uint64(101))
		cases := []struct {
			desc string
			set  []*gaapsdk.RealServerBindSetReq
			code string
		}{
			{"domain on IP listener", []*gaapsdk.RealServerBindSetReq{bindOne(domain, "example.org", 80)}, "InvalidParameterValue"},
			{"other project", []*gaapsdk.RealServerBindSetReq{bindOne(elsewhere, "9.9.9.9", 80)}, "InvalidParameterValue.RealServerNotBelong"},
			{"weight 101", []*gaapsdk.RealServerBindSetReq{heavy}, "InvalidParameterValue"},
			{"wrong IP", []*gaapsdk.RealServerBindSetReq{bindOne(ips[0], "1.0.0.1", 80)}, "InvalidParameterValue"},
			{"unknown origin", []*gaapsdk.RealServerBindSetReq{bindOne("rs-00000000", "1.1.1.1", 80)}, "ResourceNotFound"},
			{"only slaves", []*gaapsdk.RealServerBindSetReq{slave}, "InvalidParameterValue"},
			{"port 70000", []*gaapsdk.RealServerBindSetReq{bindOne(ips[0], "1.1.1.1", 70000)}, "InvalidParameterValue"},
		}
		for _, tc := range cases {
			_, err := c.BindListenerRealServers(bindReq(listener, tc.set...))
			t.Run(tc.desc, func(t *testing.T) { wantCode(t, err, tc.code) })
		}
		_, err := api.GAAP(xtest.Other).BindListenerRealServers(bindReq(listener, master))
		wantCode(t, err, "ResourceNotFound")
	})

	t.Run("remove bound origin", func(t *testing.T) {
		r := gaapsdk.NewRemoveRealServersRequest()
		r.RealServerIds = sdkIDs(ips[0])
		_, err := c.RemoveRealServers(r)
		wantCode(t, err, "FailedOperation.RealServerAlreadyBound")
	})

	t.Run("delete listener", func(t *testing.T) {
		d := gaapsdk.NewDeleteListenersRequest()
		d.ProxyId, d.ListenerIds, d.Force = new(proxy), sdkIDs(listener, "listener-00000000"), new(uint64(0))
		_, err := c.DeleteListeners(d)
		wantCode(t, err, "FailedOperation.RealServerAlreadyBound")
		d.Force = new(uint64(1))
		resp, err := c.DeleteListeners(d)
		if err != nil {
			t.Fatal(err)
		}
		if ok, bad := strs(resp.Response.OperationSucceedListenerSet), strs(resp.Response.InvalidStatusListenerSet); len(ok) != 1 || len(bad) != 1 {
			t.Errorf("got succeeded %v invalid %v; want [%s] [listener-00000000]", ok, bad, listener)
		}
		eventually(t, func() bool {
			r := gaapsdk.NewDescribeTCPListenersRequest()
			r.ProxyId = new(proxy)
			resp, err := c.DescribeTCPListeners(r)
			return err == nil && *resp.Response.TotalCount == 0
		}, "listener %s not removed", listener)
		r := gaapsdk.NewRemoveRealServersRequest()
		r.RealServerIds = sdkIDs(ips...)
		if _, err := c.RemoveRealServers(r); err != nil {
			t.Errorf("RemoveRealServers after the listener is gone: %v", err)
		}
	})
}

// TestFailoverRoleEmptyWithoutFailover: BindRealServer.RealServerFailoverRole
// is not nullable in the reference, whose answers show "" for an origin of
// a listener or rule without failover (the DescribeTCPListeners,
// DescribeListenerRealServers and DescribeRulesByRuleIds examples); every
// output of the type answers "", not null.
func TestFailoverRoleEmptyWithoutFailover(t *testing.T) {
	t.Parallel()
	api, proxy, l7 := httpDomain(t, "www.example.com")
	c := api.GAAP()
	origin := addOrigins(t, c, 0, "web", "1.1.1.1")[0]
	listener := createTCP(t, c, tcpRequest(proxy, 9000))[0]
	if _, err := c.BindListenerRealServers(bindReq(listener, bindOne(origin, "1.1.1.1", 80))); err != nil {
		t.Fatal(err)
	}
	rule := createRule(t, c, l7, "www.example.com", "/")
	br := gaapsdk.NewBindRuleRealServersRequest()
	br.RuleId, br.RealServerBindSet = new(rule), []*gaapsdk.RealServerBindSetReq{bindOne(origin, "1.1.1.1", 80)}
	if _, err := c.BindRuleRealServers(br); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return *describeTCP(t, c, listener).ListenerStatus == 0 }, "binding not applied")

	var tcp struct {
		ListenerSet []struct{ RealServerSet []map[string]any }
	}
	var lrs struct{ BindRealServerSet []map[string]any }
	var rules struct {
		RuleSet []struct{ RealServerSet []map[string]any }
	}
	for action, call := range map[string]struct {
		params map[string]any
		out    any
	}{
		"DescribeTCPListeners":        {map[string]any{"ListenerId": listener}, &tcp},
		"DescribeListenerRealServers": {map[string]any{"ListenerId": listener}, &lrs},
		"DescribeRulesByRuleIds":      {map[string]any{"RuleIds": []string{rule}}, &rules},
	} {
		if err := api.Call(c, action, call.params, call.out); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}
	for action, set := range map[string][]map[string]any{
		"DescribeTCPListeners": tcp.ListenerSet[0].RealServerSet, "DescribeListenerRealServers": lrs.BindRealServerSet,
		"DescribeRulesByRuleIds": rules.RuleSet[0].RealServerSet,
	} {
		if len(set) != 1 {
			t.Errorf("%s: %d origins; want 1", action, len(set))
			continue
		}
		if role, ok := set[0]["RealServerFailoverRole"].(string); !ok || role != "" {
			t.Errorf("%s: RealServerFailoverRole = %#v; want \"\" without failover", action, set[0]["RealServerFailoverRole"])
		}
	}
}

// TestStatusNormalWithoutHealthCheck: BindRealServer.RealServerStatus is
// "未开启健康检查状态时，该状态始终为正常" (always normal while health checks
// are off), and so is the owner's BindStatus (docs/statistics.md, "Origin
// health"): a DOMAIN origin whose name does not resolve, on a TCP listener
// with HealthCheck 0, reads normal.
func TestStatusNormalWithoutHealthCheck(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	origin := addOrigins(t, c, 0, "dom", "origin.invalid")[0]
	var created struct{ ListenerIds []string }
	if err := api.Call(c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "tcp", "Ports": []int{9101},
		"Scheduler": "rr", "RealServerType": "DOMAIN", "HealthCheck": 0}, &created); err != nil {
		t.Fatal(err)
	}
	listener := created.ListenerIds[0]
	eventually(t, func() bool { return *describeTCP(t, c, listener).ListenerStatus == 0 }, "listener not running")
	if _, err := c.BindListenerRealServers(bindReq(listener, bindOne(origin, "origin.invalid", 80))); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return *describeTCP(t, c, listener).ListenerStatus == 0 }, "binding not applied")
	time.Sleep(time.Second) // The data plane tries to resolve the name meanwhile.
	l := describeTCP(t, c, listener)
	if *l.HealthCheck != 0 {
		t.Fatalf("HealthCheck = %d; want 0", *l.HealthCheck)
	}
	if st := *l.RealServerSet[0].RealServerStatus; st != 0 {
		t.Errorf("RealServerStatus = %d with health checks off; want 0 (always normal while checks are off)", st)
	}
	if bs := *l.BindStatus; bs != 1 {
		t.Errorf("TCP BindStatus = %d with health checks off; want 1 (normal)", bs)
	}
}

// TestDomainOriginDownIPList: BindRealServer.DownIPList is "当源站为域名时，
// 域名被解析成一个或者多个IP，该字段表示其中异常的IP列表。状态异常，但该字段
// 为空时，表示域名解析异常": a DOMAIN origin that resolves (localhost →
// 127.0.0.1 from /etc/hosts) but whose address fails its TCP check lists
// that address, since an empty list would say the name did not resolve.
func TestDomainOriginDownIPList(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	origin := addOrigins(t, c, 0, "dom", "localhost")[0]
	var created struct{ ListenerIds []string }
	if err := api.Call(c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "tcp", "Ports": []int{9100},
		"Scheduler": "rr", "RealServerType": "DOMAIN", "HealthCheck": 1, "DelayLoop": 5, "ConnectTimeout": 2,
		"HealthyThreshold": 1, "UnhealthyThreshold": 1}, &created); err != nil {
		t.Fatal(err)
	}
	listener := created.ListenerIds[0]
	eventually(t, func() bool { return *describeTCP(t, c, listener).ListenerStatus == 0 }, "listener not running")
	closed := uint64(edgetest.FreePort(t, netip.MustParseAddr("127.0.0.1"))) // Nothing listens there.
	if _, err := c.BindListenerRealServers(bindReq(listener, bindOne(origin, "localhost", closed))); err != nil {
		t.Fatal(err)
	}
	var out struct {
		BindRealServerSet []struct {
			RealServerStatus int64
			DownIPList       []string
		}
	}
	eventually(t, func() bool {
		if err := api.Call(c, "DescribeListenerRealServers", map[string]any{"ListenerId": listener}, &out); err != nil {
			t.Fatal(err)
		}
		return len(out.BindRealServerSet) == 1 && out.BindRealServerSet[0].RealServerStatus == 1
	}, "origin never abnormal")
	if got := out.BindRealServerSet[0].DownIPList; !slices.Contains(got, "127.0.0.1") {
		t.Errorf("DownIPList = %q for a resolved domain origin whose address 127.0.0.1 fails its checks; want it listed "+
			"(an empty list with RealServerStatus 1 means the name did not resolve)", got)
	}
}

// TestUDPRealServerPortNotNull: the reference marks
// TCPListener.RealServerPort nullable ("注意：此字段可能返回 null") but not
// UDPListener.RealServerPort, and its DescribeUDPListeners example answers
// a proxy's (not a group's) UDP listener with "RealServerPort": 5000. The
// project's own rule (TestGroupDefaultDnsIpUnsetIsEmpty) is that a field
// the reference does not mark nullable is never null, since strongly typed
// clients expect a value there: a proxy's UDP listener, which fixes no
// origin port, reads 0; it read null.
func TestUDPRealServerPortNotNull(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	var created struct{ ListenerIds []string }
	if err := api.Call(c, "CreateUDPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "u", "Ports": []int{5000},
		"Scheduler": "rr", "RealServerType": "IP"}, &created); err != nil {
		t.Fatal(err)
	}
	var out struct{ ListenerSet []map[string]any }
	if err := api.Call(c, "DescribeUDPListeners", map[string]any{"ListenerId": created.ListenerIds[0]}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.ListenerSet) != 1 {
		t.Fatalf("got %d listeners; want 1", len(out.ListenerSet))
	}
	v, present := out.ListenerSet[0]["RealServerPort"]
	if _, isNum := v.(float64); !present || !isNum {
		t.Errorf("UDPListener.RealServerPort = %#v (present %v) on a proxy listener; want a number: the reference does not mark it nullable (unlike TCPListener's) and its example answers 5000", v, present)
	}
}
