package server_test

import (
	"net/http"
	"net/netip"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"
)

// TestCloneProxyCopiesConfiguration: a proxy cloned from a running one
// (CreateProxy with ClonedProxyId) reads CLONING until applied and then
// serves what the source serves, on the same ports of its own access IP:
// a TCP listener with its origin, an HTTP listener's domain and rule with
// its custom header and error page, and the open security policy (a copy:
// changing it leaves the source's alone). A clone into another project
// gets the listeners without origins, which belong to the source's.
func TestCloneProxyCopiesConfiguration(t *testing.T) {
	n := startL7Node(t)
	src, srcIP := n.proxy()
	_, tcpAddr := n.listenerTo(src, srcIP, "tcp-origin")
	web, webPort := n.httpListener(src, srcIP)
	o := echoOrigin(t, l7Origins, "a")
	n.domain(web, "www.clone.test", "", "")
	rule := n.rule(web, "www.clone.test", "/", nil, map[string]netip.AddrPort{n.realServers(o.Addr())[0]: o})
	if err := n.Call(n.c, "CreateCustomHeader", map[string]any{"RuleId": rule, "Headers": []map[string]string{
		{"HeaderName": "X-Static", "HeaderValue": "v1"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := n.Call(n.c, "CreateDomainErrorPageInfo", map[string]any{"ListenerId": web, "Domain": "www.clone.test",
		"ErrorNos": []int{502}, "NewErrorNo": 418, "Body": "custom page"}, nil); err != nil {
		t.Fatal(err)
	}
	denied := origins.Next()
	policy := n.createPolicy(src, "ACCEPT", policyRule(denied.String()+"/32", "ALL", "ALL", "DROP"))
	n.openPolicy(src, policy)
	n.waitRule(rule)

	clone := func(project int64) (string, netip.Addr) {
		t.Helper()
		release := n.Controller.Hold() // to see the clone before it is applied
		var out struct{ InstanceId string }
		err := n.Call(n.c, "CreateProxy", map[string]any{"ProjectId": project, "ProxyName": "clone", "AccessRegion": "Hongkong",
			"Bandwidth": 10, "Concurrent": 2, "ClonedProxyId": src}, &out)
		var d struct{ ProxyDetail struct{ Status string } }
		if err == nil {
			err = n.Call(n.c, "DescribeProxyDetail", map[string]any{"ProxyId": out.InstanceId}, &d)
		}
		release()
		if err != nil {
			t.Fatal(err)
		}
		if d.ProxyDetail.Status != "CLONING" {
			t.Errorf("clone before it is applied: %s; want CLONING", d.ProxyDetail.Status)
		}
		return out.InstanceId, n.proxyIP(out.InstanceId)
	}
	id, ip := clone(0)
	tcpClone := netip.AddrPortFrom(ip, tcpAddr.Port())
	n.until("the clone's TCP listener serves", func() bool {
		got, _ := fetchFrom(origins.Next(), tcpClone)
		return got == "tcp-origin"
	})
	if got, _ := fetchFrom(denied, tcpClone); got != "" {
		t.Errorf("denied source through the clone: %q; want refused by the copied policy", got)
	}
	webAddr := netip.AddrPortFrom(ip, uint16(webPort))
	c, base := pinnedClient(webAddr, nil), "http://"+webAddr.String()
	var body string
	n.until("the clone's HTTP rule serves", func() bool {
		_, body = request(t, c, base, "www.clone.test", "/hello", nil)
		return parse(t, body).Header.Get("X-Static") == "v1"
	})
	if resp, body := request(t, c, base, "www.clone.test", "/status/502", nil); resp.StatusCode != http.StatusTeapot || body != "custom page" {
		t.Errorf("clone's error page: %d %q; want 418 custom page", resp.StatusCode, body)
	}

	var d struct {
		ProxyDetail struct{ Status, PolicyId string }
	}
	if err := n.Call(n.c, "DescribeProxyDetail", map[string]any{"ProxyId": id}, &d); err != nil {
		t.Fatal(err)
	}
	if d.ProxyDetail.Status != "RUNNING" || d.ProxyDetail.PolicyId == "" || d.ProxyDetail.PolicyId == policy {
		t.Errorf("clone: status %s, policy %q; want RUNNING and a copy of %s", d.ProxyDetail.Status, d.ProxyDetail.PolicyId, policy)
	}
	closeReq := gaapsdk.NewCloseSecurityPolicyRequest()
	closeReq.ProxyId, closeReq.PolicyId = &id, &d.ProxyDetail.PolicyId
	if _, err := n.c.CloseSecurityPolicy(closeReq); err != nil {
		t.Fatal(err)
	}
	n.until("the clone's policy lifted", func() bool {
		got, _ := fetchFrom(denied, tcpClone)
		return got == "tcp-origin"
	})
	if got, _ := fetchFrom(denied, tcpAddr); got != "" {
		t.Errorf("denied source through the source after closing the clone's policy: %q; want still refused", got)
	}

	other, _ := clone(1)
	var l4 struct {
		ListenerSet []struct {
			Port          int64
			RealServerSet []struct{ RealServerId string }
		}
	}
	if err := n.Call(n.c, "DescribeTCPListeners", map[string]any{"ProxyId": other}, &l4); err != nil {
		t.Fatal(err)
	}
	if len(l4.ListenerSet) != 1 || l4.ListenerSet[0].Port != int64(tcpAddr.Port()) || len(l4.ListenerSet[0].RealServerSet) != 0 {
		t.Errorf("clone in project 1: TCP listeners %+v; want port %d without origins", l4.ListenerSet, tcpAddr.Port())
	}
}
