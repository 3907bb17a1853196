package gaap_test

import (
	"maps"
	"strings"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

func u64s(in ...uint64) []*uint64 {
	out := make([]*uint64, len(in))
	for i := range in {
		out[i] = &in[i]
	}
	return out
}

// tcpRequest is a valid CreateTCPListeners request on proxy.
func tcpRequest(proxy string, ports ...uint64) *gaapsdk.CreateTCPListenersRequest {
	req := gaapsdk.NewCreateTCPListenersRequest()
	req.ProxyId, req.ListenerName, req.Ports = new(proxy), new("tcp"), u64s(ports...)
	req.Scheduler, req.HealthCheck, req.RealServerType = new("rr"), new(uint64(1)), new("IP")
	return req
}

// createTCP creates TCP listeners and waits until they run.
func createTCP(t *testing.T, c *gaapsdk.Client, req *gaapsdk.CreateTCPListenersRequest) []string {
	t.Helper()
	resp, err := c.CreateTCPListeners(req)
	if err != nil {
		t.Fatalf("CreateTCPListeners: %v", err)
	}
	ids := strs(resp.Response.ListenerIds)
	for _, id := range ids {
		eventually(t, func() bool { return *describeTCP(t, c, id).ListenerStatus == 0 }, "listener %s not running", id)
	}
	return ids
}

// describeTCP returns the TCP listener id.
func describeTCP(t *testing.T, c *gaapsdk.Client, id string) *gaapsdk.TCPListener {
	t.Helper()
	req := gaapsdk.NewDescribeTCPListenersRequest()
	req.ListenerId = new(id)
	resp, err := c.DescribeTCPListeners(req)
	if err != nil || len(resp.Response.ListenerSet) != 1 {
		t.Fatalf("DescribeTCPListeners(%s): %v (%d found)", id, err, len(resp.Response.ListenerSet))
	}
	return resp.Response.ListenerSet[0]
}

func TestTCPListenerLifecycle(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)

	req := tcpRequest(proxy, 8080, 8081)
	req.DelayLoop, req.ConnectTimeout, req.ClientIPMethod = new(uint64(10)), new(uint64(3)), new(int64(1))
	ids := createTCP(t, c, req)
	if len(ids) != 2 {
		t.Fatalf("got %d listener IDs; want 2", len(ids))
	}
	l := describeTCP(t, c, ids[0])
	if *l.Port != 8080 || *l.DelayLoop != 10 || *l.ConnectTimeout != 3 || *l.ClientIPMethod != 1 || *l.Protocol != "TCP" {
		t.Errorf("got port %d delay %d timeout %d clientIP %d protocol %s; want 8080 10 3 1 TCP",
			*l.Port, *l.DelayLoop, *l.ConnectTimeout, *l.ClientIPMethod, *l.Protocol)
	}

	t.Run("filters", func(t *testing.T) {
		cases := []struct {
			desc string
			mod  func(*gaapsdk.DescribeTCPListenersRequest)
			want int
		}{
			{"proxy", func(r *gaapsdk.DescribeTCPListenersRequest) {}, 2},
			{"port", func(r *gaapsdk.DescribeTCPListenersRequest) { r.Port = new(uint64(8081)) }, 1},
			{"name", func(r *gaapsdk.DescribeTCPListenersRequest) { r.ListenerName = new("tcp") }, 2},
			{"search port", func(r *gaapsdk.DescribeTCPListenersRequest) { r.SearchValue = new("8081") }, 1},
			{"search name", func(r *gaapsdk.DescribeTCPListenersRequest) { r.SearchValue = new("tc") }, 2},
			{"page", func(r *gaapsdk.DescribeTCPListenersRequest) { r.Offset, r.Limit = new(uint64(1)), new(uint64(5)) }, 1},
			{"other protocol", func(r *gaapsdk.DescribeTCPListenersRequest) { r.ListenerName = new("nope") }, 0},
		}
		for _, tc := range cases {
			r := gaapsdk.NewDescribeTCPListenersRequest()
			r.ProxyId = new(proxy)
			tc.mod(r)
			resp, err := c.DescribeTCPListeners(r)
			if err != nil {
				t.Fatalf("%s: %v", tc.desc, err)
			}
			if got := len(resp.Response.ListenerSet); got != tc.want {
				t.Errorf("%s: got %d listeners; want %d", tc.desc, got, tc.want)
			}
		}
	})

	t.Run("modify", func(t *testing.T) {
		m := gaapsdk.NewModifyTCPListenerAttributeRequest()
		m.ListenerId, m.ProxyId = new(ids[0]), new(proxy)
		m.Scheduler, m.DelayLoop, m.ListenerName = new("lc"), new(uint64(30)), new("renamed")
		if _, err := c.ModifyTCPListenerAttribute(m); err != nil {
			t.Fatal(err)
		}
		// The merged settings are validated: ConnectTimeout must stay below DelayLoop (30).
		m2 := gaapsdk.NewModifyTCPListenerAttributeRequest()
		m2.ListenerId, m2.ProxyId, m2.ConnectTimeout = new(ids[0]), new(proxy), new(uint64(30))
		eventually(t, func() bool { return *describeTCP(t, c, ids[0]).ListenerStatus == 0 }, "modify not applied")
		_, err := c.ModifyTCPListenerAttribute(m2)
		wantCode(t, err, "InvalidParameterValue")
		l := describeTCP(t, c, ids[0])
		if *l.Scheduler != "lc" || *l.DelayLoop != 30 || *l.ListenerName != "renamed" {
			t.Errorf("got scheduler %s delay %d name %s; want lc 30 renamed", *l.Scheduler, *l.DelayLoop, *l.ListenerName)
		}
	})

	t.Run("isolation", func(t *testing.T) {
		r := gaapsdk.NewDescribeTCPListenersRequest()
		r.ProxyId = new(proxy)
		_, err := api.GAAP(xtest.Other).DescribeTCPListeners(r)
		wantCode(t, err, "ResourceNotFound")
		r = gaapsdk.NewDescribeTCPListenersRequest()
		r.ListenerId = new(ids[0])
		resp, err := api.GAAP(xtest.Other).DescribeTCPListeners(r)
		if err != nil || *resp.Response.TotalCount != 0 {
			t.Errorf("other account sees %v listeners (err %v); want 0", resp.Response.TotalCount, err)
		}
	})
}

func TestCreateTCPListenersInvalid(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	plain := createTCP(t, c, tcpRequest(proxy, 9000))[0]
	if m := describeTCP(t, c, plain).ClientIPMethod; m != nil {
		t.Errorf("got ClientIPMethod %d without one requested; want null (client address not passed)", *m)
	}
	many := make([]uint64, 21)
	for i := range many {
		many[i] = uint64(10000 + i)
	}
	cases := []struct {
		desc string
		mod  func(*gaapsdk.CreateTCPListenersRequest)
		code string
	}{
		{"port 21", func(r *gaapsdk.CreateTCPListenersRequest) { r.Ports = u64s(21) }, "InvalidParameterValue.InvalidListenerPort"},
		{"port 65000", func(r *gaapsdk.CreateTCPListenersRequest) { r.Ports = u64s(65000) }, "InvalidParameterValue.InvalidListenerPort"},
		{"taken port", func(r *gaapsdk.CreateTCPListenersRequest) { r.Ports = u64s(9000) }, "InvalidParameterValue.DuplicatedListenerPort"},
		{"port twice", func(r *gaapsdk.CreateTCPListenersRequest) { r.Ports = u64s(9001, 9001) }, "InvalidParameterValue.DuplicatedListenerPort"},
		{"21 ports", func(r *gaapsdk.CreateTCPListenersRequest) { r.Ports = u64s(many...) }, "FailedOperation.OperateLimitNumofListener"},
		{"client IP method 2", func(r *gaapsdk.CreateTCPListenersRequest) { r.ClientIPMethod = new(int64(2)) }, "InvalidParameterValue"},
		{"scheduler", func(r *gaapsdk.CreateTCPListenersRequest) { r.Scheduler = new("random") }, "InvalidParameterValue"},
		{"timeout >= delay", func(r *gaapsdk.CreateTCPListenersRequest) {
			r.DelayLoop, r.ConnectTimeout = new(uint64(5)), new(uint64(5))
		}, "InvalidParameterValue"},
		{"delay 301", func(r *gaapsdk.CreateTCPListenersRequest) { r.DelayLoop = new(uint64(301)) }, "InvalidParameterValue"},
		{"domain failover", func(r *gaapsdk.CreateTCPListenersRequest) {
			r.RealServerType, r.FailoverSwitch = new("DOMAIN"), new(int64(1))
		}, "InvalidParameterValue"},
		{"proxy and group", func(r *gaapsdk.CreateTCPListenersRequest) { r.GroupId = new("lg-00000000") }, "InvalidParameter"},
		{"unknown proxy", func(r *gaapsdk.CreateTCPListenersRequest) { r.ProxyId = new("link-00000000") }, "ResourceNotFound"},
		{"origin ports on proxy", func(r *gaapsdk.CreateTCPListenersRequest) { r.RealServerPorts = u64s(80) }, "InvalidParameterValue"},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			req := tcpRequest(proxy, 9100)
			tc.mod(req)
			_, err := c.CreateTCPListeners(req)
			wantCode(t, err, tc.code)
		})
	}
}

// udpListener is the UDPListener fields the SDK version lacks.
type udpListener struct {
	ListenerId, CheckType, ContextType, SendContext, RecvContext string
	ListenerStatus, DelayLoop, CheckPort, HealthCheck, Port      int64
	ProxyId, GroupId                                             *string
}

func describeUDP(t *testing.T, api *xtest.API, params map[string]any) []udpListener {
	t.Helper()
	var out struct{ ListenerSet []udpListener }
	if err := api.Call(api.GAAP(), "DescribeUDPListeners", params, &out); err != nil {
		t.Fatalf("DescribeUDPListeners: %v", err)
	}
	return out.ListenerSet
}

func TestUDPListenerHealthCheck(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	createTCP(t, c, tcpRequest(proxy, 5353)) // UDP ports are separate from TCP ones

	create := map[string]any{"ProxyId": proxy, "ListenerName": "dns", "Ports": []int{5353}, "Scheduler": "rr",
		"RealServerType": "IP", "HealthCheck": 1, "DelayLoop": 20, "CheckType": "PORT", "CheckPort": 53,
		"ContextType": "HEX", "SendContext": "abcd", "RecvContext": "ef"}
	var resp struct{ ListenerIds []string }
	if err := api.Call(c, "CreateUDPListeners", create, &resp); err != nil {
		t.Fatalf("CreateUDPListeners: %v", err)
	}
	id := resp.ListenerIds[0]
	var got udpListener
	eventually(t, func() bool {
		got = describeUDP(t, api, map[string]any{"ListenerId": id})[0]
		return got.ListenerStatus == 0
	}, "UDP listener not running")
	if got.CheckPort != 53 || got.ContextType != "HEX" || got.SendContext != "abcd" || got.DelayLoop != 20 || got.GroupId != nil {
		t.Errorf("got %+v; want CheckPort 53, HEX abcd, DelayLoop 20, GroupId null", got)
	}

	err := api.Call(c, "ModifyUDPListenerAttribute", map[string]any{"ListenerId": id, "ProxyId": proxy, "CheckType": "PING", "SendContext": "", "RecvContext": ""}, nil)
	if err != nil {
		t.Fatalf("ModifyUDPListenerAttribute: %v", err)
	}
	eventually(t, func() bool {
		got = describeUDP(t, api, map[string]any{"ListenerId": id})[0]
		return got.ListenerStatus == 0 && got.CheckType == "PING"
	}, "UDP change not applied")

	bad := map[string]any{"ProxyId": proxy, "ListenerName": "x", "Ports": []int{5354}, "Scheduler": "rr",
		"RealServerType": "IP", "ContextType": "HEX", "SendContext": "zz"}
	wantCode(t, api.Call(c, "CreateUDPListeners", bad, nil), "InvalidParameterValue")
}

// TestUDPProbePayloadFitsOneDatagram: SendContext is sent as one UDP
// datagram, which carries at most 65507 bytes over IPv4, and a RecvContext
// longer than that can never be in a reply. A larger payload, counted after
// its ContextType decoding (HEX is two digits a byte), would fail every
// check, so create and modify refuse it.
func TestUDPProbePayloadFitsOneDatagram(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	const maxPayload = 65507
	create := func(port int, probe map[string]any) error {
		req := map[string]any{"ProxyId": proxy, "ListenerName": "u", "Ports": []int{port}, "Scheduler": "rr",
			"RealServerType": "IP", "HealthCheck": 1, "CheckType": "PORT"}
		maps.Copy(req, probe)
		return api.Call(c, "CreateUDPListeners", req, nil)
	}
	fits := map[string]any{"ContextType": "HEX", "SendContext": strings.Repeat("ab", maxPayload),
		"RecvContext": strings.Repeat("cd", maxPayload)}
	if err := create(9300, fits); err != nil {
		t.Fatalf("a %d-byte HEX probe and reply were refused: %v", maxPayload, err)
	}
	over := strings.Repeat("a", maxPayload+1)
	for _, probe := range []map[string]any{
		{"ContextType": "TEXT", "SendContext": over},
		{"ContextType": "TEXT", "RecvContext": over},
		{"ContextType": "HEX", "SendContext": strings.Repeat("ab", maxPayload+1)},
	} {
		wantCode(t, create(9301, probe), "InvalidParameterValue")
	}
	id := describeUDP(t, api, map[string]any{"ProxyId": proxy})[0].ListenerId
	// A listener still being created refuses any change first.
	eventually(t, func() bool {
		return describeUDP(t, api, map[string]any{"ListenerId": id})[0].ListenerStatus == 0
	}, "UDP listener not running")
	err := api.Call(c, "ModifyUDPListenerAttribute", map[string]any{"ListenerId": id, "ProxyId": proxy,
		"ContextType": "TEXT", "SendContext": over}, nil)
	wantCode(t, err, "InvalidParameterValue")
}

// TestDeleteListenersRepeatedID: an ID given twice is one listener, so it
// is listed (and deleted) once, as are the IDs that cannot be deleted.
func TestDeleteListenersRepeatedID(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	l := createTCP(t, c, tcpRequest(proxy, 9000))[0]
	d := gaapsdk.NewDeleteListenersRequest()
	d.ProxyId, d.ListenerIds, d.Force = new(proxy), sdkIDs(l, "listener-00000000", l, "listener-00000000"), new(uint64(1))
	resp, err := c.DeleteListeners(d)
	if err != nil {
		t.Fatal(err)
	}
	if ok, bad := strs(resp.Response.OperationSucceedListenerSet), strs(resp.Response.InvalidStatusListenerSet); len(ok) != 1 || len(bad) != 1 {
		t.Errorf("got succeeded %v invalid %v; want [%s] [listener-00000000], each once", ok, bad, l)
	}
}

// TestUDPSwitchToPingDropsPayloads: SendContext/RecvContext are used
// only with CheckType PORT ("仅在健康检查类型为PORT时使用"), so a listener
// with a PORT probe switches to PING by changing CheckType alone, or with
// the payloads sent again (as the Terraform provider does from its
// state); either way the payloads PING does not use are dropped.
func TestUDPSwitchToPingDropsPayloads(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	var resp struct{ ListenerIds []string }
	if err := api.Call(c, "CreateUDPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "dns", "Ports": []int{5300},
		"Scheduler": "rr", "RealServerType": "IP", "HealthCheck": 1, "CheckType": "PORT",
		"ContextType": "TEXT", "SendContext": "ping", "RecvContext": "pong"}, &resp); err != nil {
		t.Fatalf("CreateUDPListeners: %v", err)
	}
	id := resp.ListenerIds[0]
	eventually(t, func() bool {
		return describeUDP(t, api, map[string]any{"ListenerId": id})[0].ListenerStatus == 0
	}, "UDP listener not running")
	for _, modify := range []map[string]any{
		{"CheckType": "PING", "SendContext": "ping", "RecvContext": "pong"},
		{"CheckType": "PING"},
	} {
		modify["ListenerId"], modify["ProxyId"] = id, proxy
		if err := api.Call(c, "ModifyUDPListenerAttribute", modify, nil); err != nil {
			t.Fatalf("ModifyUDPListenerAttribute(%v) on a PORT listener with payloads: %v", modify, err)
		}
		eventually(t, func() bool {
			return describeUDP(t, api, map[string]any{"ListenerId": id})[0].ListenerStatus == 0
		}, "UDP listener not running after the change")
		if l := describeUDP(t, api, map[string]any{"ListenerId": id})[0]; l.CheckType != "PING" || l.SendContext != "" || l.RecvContext != "" {
			t.Fatalf("after %v: CheckType %q, SendContext %q, RecvContext %q; want PING and no payloads", modify, l.CheckType, l.SendContext, l.RecvContext)
		}
		if err := api.Call(c, "ModifyUDPListenerAttribute", map[string]any{"ListenerId": id, "ProxyId": proxy,
			"CheckType": "PORT", "SendContext": "ping", "RecvContext": "pong"}, nil); err != nil {
			t.Fatalf("back to PORT: %v", err)
		}
		eventually(t, func() bool {
			return describeUDP(t, api, map[string]any{"ListenerId": id})[0].ListenerStatus == 0
		}, "UDP listener not running after going back to PORT")
	}
}
