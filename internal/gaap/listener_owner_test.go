package gaap_test

import (
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

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
