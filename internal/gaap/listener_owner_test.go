package gaap_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

func TestGroupListener(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	group := createGroup(t, api, "NorthChina")
	eventually(t, func() bool { return *groupDetail(t, c, group).Status == 0 }, "group %s not running", group)

	req := tcpRequest("", 7000)
	req.ProxyId, req.GroupId, req.RealServerPorts = nil, new(group), u64s(7070)
	id := createTCP(t, c, req)[0]
	var out struct { // the SDK version lacks ProxyId and GroupId
		ListenerSet []struct {
			ProxyId, GroupId *string
			RealServerPort   int64
		}
	}
	if err := api.Call(c, "DescribeTCPListeners", map[string]any{"ListenerId": id}, &out); err != nil {
		t.Fatal(err)
	}
	if l := out.ListenerSet[0]; l.ProxyId != nil || l.GroupId == nil || *l.GroupId != group || l.RealServerPort != 7070 {
		t.Errorf("got %s; want ProxyId null, GroupId %s, RealServerPort 7070", toJSON(l), group)
	}
	d := gaapsdk.NewDescribeTCPListenersRequest()
	d.GroupId = new(group)
	resp, err := c.DescribeTCPListeners(d)
	if err != nil || *resp.Response.TotalCount != 1 {
		t.Errorf("DescribeTCPListeners(GroupId): %v, %v listeners; want 1", err, resp.Response.TotalCount)
	}

	req.Ports, req.RealServerPorts = u64s(7001, 7002), u64s(80)
	_, err = c.CreateTCPListeners(req)
	wantCode(t, err, "InvalidParameterValue")
}

func TestListenerOnClosedProxy(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	listener := createTCP(t, c, tcpRequest(proxy, 3306))[0]
	cl := gaapsdk.NewCloseProxiesRequest()
	cl.ProxyIds = sdkIDs(proxy)
	if _, err := c.CloseProxies(cl); err != nil {
		t.Fatal(err)
	}
	waitProxyStatus(t, api, proxy, "CLOSED")

	_, err := c.CreateTCPListeners(tcpRequest(proxy, 3307))
	wantCode(t, err, "FailedOperation.ProxyStatusNotInRuning")
	m := gaapsdk.NewModifyTCPListenerAttributeRequest()
	m.ListenerId, m.ProxyId, m.Scheduler = new(listener), new(proxy), new("lc")
	_, err = c.ModifyTCPListenerAttribute(m)
	wantCode(t, err, "FailedOperation.InstanceStatusNotInRuning")
}

// TestGroupMemberRefusals: what a group owns for its proxies (listeners,
// security policy, project) is refused on a member with the code the
// action lists: FailedOperation.NotSupportProxyGroup where its error list
// names it (CreateHTTPListener, ModifyHTTPListenerAttribute,
// DescribeHTTP(S)Listeners), else InvalidParameterValue. The actions that
// change, delete or list a proxy's listeners refuse a member's ProxyId
// too, even for the group's own listeners (a member has none of its own).
func TestGroupMemberRefusals(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g, ps := groupWithRegions(t, api, "SouthChina")
	m := ps[0]
	tcp, http := groupListeners(t, api, g)
	rename := func(id string) map[string]any {
		return map[string]any{"ProxyId": m, "ListenerId": id, "ListenerName": "renamed"}
	}
	list := map[string]any{"ProxyId": m}
	for _, tc := range []struct {
		action string
		params map[string]any
		code   string
	}{
		{"ModifyHTTPListenerAttribute", rename(http), "FailedOperation.NotSupportProxyGroup"},
		{"ModifyHTTPSListenerAttribute", rename(http), "InvalidParameterValue"},
		{"ModifyTCPListenerAttribute", rename(tcp), "InvalidParameterValue"},
		{"ModifyUDPListenerAttribute", rename(tcp), "InvalidParameterValue"},
		{"DeleteListeners", map[string]any{"ProxyId": m, "ListenerIds": []string{tcp}, "Force": 1}, "InvalidParameterValue"},
		{"DescribeHTTPListeners", list, "FailedOperation.NotSupportProxyGroup"},
		{"DescribeHTTPSListeners", list, "FailedOperation.NotSupportProxyGroup"},
		{"CreateHTTPListener", map[string]any{"ProxyId": m, "ListenerName": "h", "Port": 18080}, "FailedOperation.NotSupportProxyGroup"},
		{"CreateHTTPSListener", map[string]any{"ProxyId": m, "ListenerName": "h", "Port": 18443, "ForwardProtocol": "HTTP",
			"AuthType": 0, "CertificateId": "cert-00000000"}, "InvalidParameterValue"},
		{"CreateTCPListeners", map[string]any{"ProxyId": m, "ListenerName": "t", "Ports": []int{7000}, "Scheduler": "rr",
			"RealServerType": "IP", "HealthCheck": 0}, "InvalidParameterValue"},
		{"CreateUDPListeners", map[string]any{"ProxyId": m, "ListenerName": "u", "Ports": []int{7000}, "Scheduler": "rr",
			"RealServerType": "IP"}, "InvalidParameterValue"},
		{"CreateSecurityPolicy", map[string]any{"ProxyId": m, "DefaultAction": "DROP"}, "InvalidParameterValue"},
		{"ModifyProxiesProject", map[string]any{"ProxyIds": []string{m}, "ProjectId": 3}, "InvalidParameterValue"},
	} {
		wantMemberRefusal(t, tc.action, api.Call(c, tc.action, tc.params, &struct{}{}), tc.code)
	}
	// The TCP/UDP listings list no group code: a member has no listeners of
	// its own, so they are empty.
	for _, action := range []string{"DescribeTCPListeners", "DescribeUDPListeners"} {
		var got struct{ TotalCount int }
		if err := api.Call(c, action, list, &got); err != nil || got.TotalCount != 0 {
			t.Errorf("%s(ProxyId of a member): %v, %d listeners; want none", action, err, got.TotalCount)
		}
	}
	// The group's listeners are untouched and listed under GroupId.
	d := gaapsdk.NewDescribeTCPListenersRequest()
	d.GroupId = new(g)
	resp, err := c.DescribeTCPListeners(d)
	if err != nil || *resp.Response.TotalCount != 1 || *resp.Response.ListenerSet[0].ListenerName == "renamed" {
		t.Errorf("DescribeTCPListeners(GroupId): %v, %s; want the group's listener, not renamed", err, toJSON(resp))
	}
}

// wantMemberRefusal checks that action refused a group member with code,
// which the action's error list must name.
func wantMemberRefusal(t *testing.T, action string, err error, code string) {
	t.Helper()
	t.Run(action, func(t *testing.T) {
		wantCode(t, err, code)
		if err != nil && !strings.Contains(err.Error(), "belongs to") {
			t.Errorf("refused for another reason: %v", err)
		}
	})
	if !slices.Contains(gaapapi.Actions[action].Errors, apierr.Code(code)) {
		t.Errorf("%s answers %s, which its error list does not name", action, code)
	}
}

// TestListenerOnClosedGroup: a group that reads CLOSED (all its proxies
// closed) refuses listener, domain and policy changes as a CLOSED proxy
// does (FailedOperation.GroupStatusNotInRuning where the action lists it);
// open again, it accepts them.
func TestListenerOnClosedGroup(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g, _ := groupWithRegions(t, api, "SouthChina")
	tcp, http := groupListeners(t, api, g)
	eventually(t, func() bool { pace(); return listenerStatus(t, c, http, false) == 0 }, "listener %s not running", http)

	// A member in a transition makes the group read CHANGING; that does not
	// refuse its configuration (Terraform creates members and listeners at
	// once).
	release := sync.OnceFunc(api.Controller.Hold())
	defer release()
	member := gaapsdk.NewCreateProxyRequest()
	member.ProjectId, member.ProxyName, member.AccessRegion = new(int64(0)), new("late"), new("EastChina")
	member.Bandwidth, member.Concurrent, member.GroupId = new(uint64(10)), new(uint64(2)), new(g)
	if _, err := c.CreateProxy(member); err != nil {
		t.Fatal(err)
	}
	if st := *groupDetail(t, c, g).Status; st != 12 {
		t.Fatalf("group status %d with a member being created; want 12 CHANGING", st)
	}
	req := tcpRequest("", 7002)
	req.ProxyId, req.GroupId = nil, new(g)
	if _, err := c.CreateTCPListeners(req); err != nil {
		t.Fatalf("CreateTCPListeners on a CHANGING group: %v", err)
	}
	release()
	waitGroupStatus(t, c, g, 0)

	cl := gaapsdk.NewCloseProxyGroupRequest()
	cl.GroupId = new(g)
	if _, err := c.CloseProxyGroup(cl); err != nil {
		t.Fatal(err)
	}
	waitGroupStatus(t, c, g, 5)
	const notRunning = "FailedOperation.GroupStatusNotInRuning"
	req.Ports = u64s(7001)
	_, err := c.CreateTCPListeners(req)
	wantCode(t, err, notRunning)
	err = api.Call(c, "CreateHTTPListener", map[string]any{"GroupId": g, "ListenerName": "h2", "Port": 8081}, &struct{}{})
	wantCode(t, err, notRunning)
	m := gaapsdk.NewModifyTCPListenerAttributeRequest()
	m.ListenerId, m.GroupId, m.Scheduler = new(tcp), new(g), new("lc")
	_, err = c.ModifyTCPListenerAttribute(m)
	wantCode(t, err, notRunning)
	d := gaapsdk.NewCreateDomainRequest()
	d.ListenerId, d.Domain = new(http), new("closed.example")
	_, err = c.CreateDomain(d)
	wantCode(t, err, notRunning)
	p := gaapsdk.NewCreateSecurityPolicyRequest()
	p.GroupId, p.DefaultAction = new(g), new("DROP")
	_, err = c.CreateSecurityPolicy(p) // its error list has no GroupStatusNotInRuning
	wantCode(t, err, "ResourceUnavailable")

	op := gaapsdk.NewOpenProxyGroupRequest()
	op.GroupId = new(g)
	if _, err := c.OpenProxyGroup(op); err != nil {
		t.Fatal(err)
	}
	waitGroupStatus(t, c, g, 0)
	createTCP(t, c, req)
	createDomain(t, c, http, "open.example")
}

// groupListeners creates a TCP listener on port 7000 and an HTTP listener
// on port 8080 on group g and returns their IDs.
func groupListeners(t *testing.T, api *xtest.API, g string) (tcp, http string) {
	t.Helper()
	c := api.GAAP()
	req := tcpRequest("", 7000)
	req.ProxyId, req.GroupId = nil, new(g)
	tcp = createTCP(t, c, req)[0]
	var h struct{ ListenerId string }
	if err := api.Call(c, "CreateHTTPListener", map[string]any{"GroupId": g, "ListenerName": "h", "Port": 8080}, &h); err != nil {
		t.Fatal(err)
	}
	return tcp, h.ListenerId
}

// TestGroupListenerOriginPort: a group listener created with
// RealServerPorts forwards to that origin port (TCPListener.RealServerPort,
// "监听器转发源站端口"), so binding an origin on another port is refused
// rather than shown as one port and served on another; the listener's
// port is accepted and is the binding's port.
func TestGroupListenerOriginPort(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	origin := addOrigins(t, c, 0, "web", "1.1.1.1")[0]
	group := createGroup(t, api, "NorthChina")
	eventually(t, func() bool { return *groupDetail(t, c, group).Status == 0 }, "group %s not running", group)

	req := tcpRequest("", 7000)
	req.ProxyId, req.GroupId, req.RealServerPorts = nil, new(group), u64s(7070)
	listener := createTCP(t, c, req)[0]

	_, err := c.BindListenerRealServers(bindReq(listener, bindOne(origin, "1.1.1.1", 80)))
	wantCode(t, err, "InvalidParameterValue")
	if _, err := c.BindListenerRealServers(bindReq(listener, bindOne(origin, "1.1.1.1", 7070))); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return *describeTCP(t, c, listener).ListenerStatus == 0 }, "binding not applied")
	var out struct {
		ListenerSet []struct {
			RealServerPort *int64
			RealServerSet  []struct{ RealServerPort int64 }
		}
	}
	if err := api.Call(c, "DescribeTCPListeners", map[string]any{"ListenerId": listener}, &out); err != nil {
		t.Fatal(err)
	}
	if l := out.ListenerSet[0]; l.RealServerPort == nil || *l.RealServerPort != 7070 || len(l.RealServerSet) != 1 || l.RealServerSet[0].RealServerPort != 7070 {
		t.Errorf("got %s; want RealServerPort 7070 and one origin bound on 7070", toJSON(l))
	}
}
