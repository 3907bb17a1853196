package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/server"
)

// TestSkippedDomainNotRunningAfterRestart: a domain (and its rule)
// that ran, whose certificate row no longer parses, is left out of its
// HTTPS listener by the data plane after a restart (docs/controller.md "A
// domain whose certificate does not parse"). The API must not report that
// domain and its rule as running (DomainStatus 0, RuleStatus 0) while the
// data plane serves neither: they read as still coming up, as listeners
// do in the same situation (TestListenersOfNeverValidProxyReported); they
// read running. That the data plane no longer serves the domain is checked
// first: a left-out domain's handshake is refused, not made with another
// domain's certificate.
func TestSkippedDomainNotRunningAfterRestart(t *testing.T) {
	n, mod, f := goodAndBadCerts(t, "status")
	ca, bad, b, ids, listener, ip, port := f.ca, f.bad, f.b, f.ids, f.listener, f.ip, f.port
	n.domain(listener, "bad.status.test", bad, "")
	badRule := n.rule(listener, "bad.status.test", "/", nil, map[string]netip.AddrPort{ids[1]: b})

	addr := netip.AddrPortFrom(ip, uint16(port))
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	c := pinnedClient(addr, &tls.Config{RootCAs: roots, ServerName: "bad.status.test"})
	if r, body := request(t, c, "https://bad.status.test", "bad.status.test", "/", nil); r.StatusCode != 200 || !strings.Contains(body, `"name":"b"`) {
		t.Fatalf("before: bad.status.test answered %d %q; want origin b", r.StatusCode, body)
	}

	patchStored(t, n.API, model.KindCertificate, bad, func(doc map[string]any) {
		doc["content"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	})
	n2 := n.restart(mod)

	// The data plane no longer serves bad.status.test: its handshake fails.
	c2 := pinnedClient(addr, &tls.Config{InsecureSkipVerify: true, ServerName: "bad.status.test"})
	if r, err := c2.Get("https://bad.status.test/"); err == nil {
		r.Body.Close()
		t.Fatalf("after its certificate stopped parsing, bad.status.test was answered (%d, X-Origin %q); the data plane must refuse its handshake", r.StatusCode, r.Header.Get("X-Origin"))
	}
	if !n2.Controller.Failing(badRule) {
		t.Fatalf("the controller does not list rule %s as failing", badRule)
	}

	d := gaapsdk.NewDescribeRulesRequest()
	d.ListenerId = new(listener)
	r, err := n2.c.DescribeRules(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, ds := range r.Response.DomainRuleSet {
		if *ds.Domain != "bad.status.test" {
			continue
		}
		for _, rule := range ds.RuleSet {
			if *rule.RuleStatus == 0 {
				t.Errorf("DescribeRules: rule %s of the domain the data plane left out reads RuleStatus 0 (running)", *rule.RuleId)
			}
		}
		if *ds.DomainStatus == 0 {
			t.Errorf("DescribeRules: domain bad.status.test, left out by the data plane, reads DomainStatus 0 (running)")
		}
	}
	byID := gaapsdk.NewDescribeRulesByRuleIdsRequest()
	byID.RuleIds = []*string{new(badRule)}
	rr, err := n2.c.DescribeRulesByRuleIds(byID)
	if err != nil {
		t.Fatal(err)
	}
	if st := *rr.Response.RuleSet[0].RuleStatus; st == 0 {
		t.Errorf("DescribeRulesByRuleIds: rule %s, not served by the data plane, reads RuleStatus 0 (running)", badRule)
	}
}

// TestRejectedProxyNotRunning: a proxy row the data plane rejects
// (a negative bandwidth an older release or a corruption left) runs none of
// its listeners after a restart; its listeners read as coming up
// (docs/controller.md "A proxy the data plane rejects"), and so does the
// proxy in DescribeProxies: it read RUNNING while nothing of it served.
func TestRejectedProxyNotRunning(t *testing.T) {
	n, mod := restartableNode(t, func(o *server.Options) { o.DrainGrace = 100 * time.Millisecond })
	proxy, ip := n.proxy()
	listener, addr := n.listenerTo(proxy, ip, "x")
	if got, err := fetchFrom(origins.Next(), addr); err != nil || got != "x" {
		t.Fatalf("before: %q, %v", got, err)
	}
	patchStored(t, n.API, model.KindProxy, proxy, func(doc map[string]any) { doc["bandwidth"] = -1 })
	n2 := n.restart(mod)
	if got, err := fetchFrom(origins.Next(), addr); err == nil {
		t.Fatalf("the rejected proxy's listener still serves (%q); the data plane must run none of its listeners", got)
	}
	if !n2.Controller.Failing(proxy) {
		t.Fatalf("controller does not list proxy %s as failing", proxy)
	}
	if st := n2.tcpListenerStatus(listener); st != 1 {
		t.Fatalf("listener status %d; want 1", st)
	}
	var out struct{ ProxySet []struct{ Status string } }
	if err := n2.Call(n2.c, "DescribeProxies", map[string]any{"ProxyIds": []string{proxy}}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.ProxySet) == 1 && out.ProxySet[0].Status == "RUNNING" {
		t.Errorf("DescribeProxies: proxy %s that the data plane rejected (none of its listeners serve) reads RUNNING", proxy)
	}
}

// TestGroupListenerOneMemberPortTaken: a group TCP listener whose
// port is taken on one member's address only. The listener must not read
// running while that member does not serve it, its task must FAIL, it
// must take its first bind meanwhile (serving on the other member), and
// once the port is free it must come back by itself and read running.
func TestGroupListenerOneMemberPortTaken(t *testing.T) {
	n := startNode(t)
	g, _, ips := n.groupOf("SouthChina", "Hongkong")
	port := edgetest.FreePort(t, ips[1])
	sq, err := net.Listen("tcp", netip.AddrPortFrom(ips[1], uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	o := edgetest.StartTCP(t, netip.AddrPortFrom(origins.Next(), 0), proxyProtocolName(t, "ok"))
	var resp struct {
		ListenerIds []string
		RequestId   string
	}
	if err := n.Call(n.c, "CreateTCPListeners", map[string]any{"GroupId": g, "ListenerName": "g", "Ports": []int{port}, "Scheduler": "rr",
		"RealServerType": "IP", "ClientIPMethod": 1, "HealthCheck": 0, "RealServerPorts": []int{int(o.Addr.Port())}}, &resp); err != nil {
		t.Fatal(err)
	}
	l := resp.ListenerIds[0]
	if st := n.taskStatus(resp.RequestId); st != "FAIL" {
		t.Errorf("CreateTCPListeners (group) task %s with the port taken on one member; want FAIL", st)
	}
	if st := n.tcpListenerStatus(l); st == 0 {
		t.Errorf("group listener reads 0 (running) while member %s cannot bind it", ips[1])
	}
	// Still in creation, it keeps being managed: its first bind is
	// accepted and serves on the member that binds the port.
	rs := n.realServers(o.Addr.Addr())
	if err := n.Call(n.c, "BindListenerRealServers", map[string]any{"ListenerId": l, "RealServerBindSet": []map[string]any{
		{"RealServerId": rs[0], "RealServerPort": int(o.Addr.Port()), "RealServerIP": o.Addr.Addr().String(), "RealServerWeight": 1}}}, nil); err != nil {
		t.Fatalf("bind to group listener %s while member %s cannot bind it: %v", l, ips[1], err)
	}
	n.until("the other member serves", func() bool { return n.serves(origins.Next(), netip.AddrPortFrom(ips[0], uint16(port))) })
	sq.Close()
	n.waitListener(l)
	for _, ip := range ips {
		if got, err := fetchFrom(origins.Next(), netip.AddrPortFrom(ip, uint16(port))); err != nil || got != "ok" {
			t.Errorf("member %s after the port was freed: %q, %v; want ok", ip, got, err)
		}
	}
}

// TestRuleOfUnboundHTTPListenerNotRunning: an HTTP listener whose
// port another socket took while its proxy was closed cannot come back with
// OpenProxies; the listener then reads 1 (coming up), and so do its domain
// and rule (DomainStatus, RuleStatus 1): they read running although nothing
// served them.
func TestRuleOfUnboundHTTPListenerNotRunning(t *testing.T) {
	n := startNode(t, func(o *server.Options) { o.NoRateLimits, o.DrainGrace = true, 100*time.Millisecond })
	proxy, ip := n.proxy()
	a := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(a.Addr())
	listener, port := n.httpListener(proxy, ip)
	n.domain(listener, "www.status.test", "", "")
	rule := n.rule(listener, "www.status.test", "/", nil, map[string]netip.AddrPort{ids[0]: a})
	addr := netip.AddrPortFrom(ip, uint16(port))

	reopenWithPortTaken(t, n, proxy, addr)
	n.until("listener reads 1", func() bool {
		var r struct {
			ListenerSet []struct{ ListenerStatus int64 }
		}
		err := n.Call(n.c, "DescribeHTTPListeners", map[string]any{"ListenerId": listener}, &r)
		return err == nil && len(r.ListenerSet) == 1 && r.ListenerSet[0].ListenerStatus == 1
	})
	d := gaapsdk.NewDescribeRulesByRuleIdsRequest()
	d.RuleIds = []*string{new(rule)}
	r, err := n.c.DescribeRulesByRuleIds(d)
	if err != nil {
		t.Fatal(err)
	}
	if *r.Response.RuleSet[0].RuleStatus == 0 {
		t.Errorf("rule %s reads RuleStatus 0 (running) while its listener %s cannot bind %v (ListenerStatus 1)", rule, listener, addr)
	}
}
