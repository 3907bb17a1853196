package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"
)

// TestNonLocalPoolFailsListener: with a --vip-pool that is not on any
// interface the proxy runs (its IP is only allocated), but its listener
// cannot bind: the task fails and the reason says the pool must be local.
func TestNonLocalPoolFailsListener(t *testing.T) {
	var log edgetest.LogBuffer
	n := startNode(t, func(o *server.Options) {
		o.VIPPool = "198.18.77.0/28" // RFC 2544 benchmarking range: on no interface here.
		o.Log = slog.New(slog.NewTextHandler(&log, nil))
	})
	proxy, ip := n.proxy()
	if ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String()); err == nil {
		ln.Close()
		t.Skipf("%s is local on this machine", ip)
	}
	params := map[string]any{"ProxyId": proxy, "ListenerName": "far", "Ports": []int{9000}, "Scheduler": "rr",
		"RealServerType": "IP", "HealthCheck": 0}
	var resp struct {
		ListenerIds []string
		RequestId   string
	}
	if err := n.Call(n.c, "CreateTCPListeners", params, &resp); err != nil {
		t.Fatal(err)
	}
	var status struct{ Status string }
	n.until("task FAIL", func() bool {
		if err := n.Call(n.c, "DescribeTaskStatus", map[string]string{"TaskId": resp.RequestId}, &status); err != nil {
			t.Fatal(err)
		}
		return status.Status == "FAIL"
	})
	n.until("reason logged", func() bool {
		return strings.Contains(log.String(), "cannot assign requested address")
	})
	if !strings.Contains(log.String(), "--vip-pool must be local") {
		t.Errorf("log %q does not say the pool must be local", log.String())
	}
}

// TestIPv6ProxyWithoutIPv6Pool: without --vip-pool-ipv6 a proxy or group
// of IPAddressVersion IPv6 cannot get an IPv6 access IP, so it is refused
// with the code each action lists for a feature its regions do not offer
// (not created with an IPv4 address no IPv6 client could reach), and no
// region advertises IPv6.
func TestIPv6ProxyWithoutIPv6Pool(t *testing.T) {
	n := startL7Node(t)
	proxy := map[string]any{"ProjectId": 0, "ProxyName": "v6", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2, "IPAddressVersion": "IPv6"}
	wantCode(t, "CreateProxy IPv6", n.Call(n.c, "CreateProxy", proxy, &struct{}{}), "InvalidParameterValue.ProxyAndRegionFeatureConflict")
	var check struct{ CheckFlag int }
	if err := n.Call(n.c, "CheckProxyCreate", map[string]any{"AccessRegion": "SouthChina", "RealServerRegion": "NorthChina",
		"Bandwidth": 10, "Concurrent": 2, "IPAddressVersion": "IPv6"}, &check); err != nil || check.CheckFlag != 0 {
		t.Errorf("CheckProxyCreate IPv6: %+v, %v; want CheckFlag 0", check, err)
	}
	for _, set := range [][]map[string]any{{{"AccessRegion": "SouthChina", "Bandwidth": 10, "Concurrent": 2}}, {}} {
		group := map[string]any{"ProjectId": 0, "GroupName": "g6", "RealServerRegion": "NorthChina",
			"IPAddressVersion": "IPv6", "AccessRegionSet": set}
		wantCode(t, fmt.Sprintf("CreateProxyGroup IPv6 with %d members", len(set)), n.Call(n.c, "CreateProxyGroup", group, &struct{}{}),
			"InvalidParameterValue.FeatureConflict")
	}
	// Refused, none of them made a proxy or a group.
	var proxies, groups struct{ TotalCount int }
	if err := n.Call(n.c, "DescribeProxies", map[string]any{}, &proxies); err != nil || proxies.TotalCount != 0 {
		t.Errorf("DescribeProxies after the refused creations: %+v, %v; want none", proxies, err)
	}
	if err := n.Call(n.c, "DescribeProxyGroupList", map[string]any{"ProjectId": -1, "Offset": 0, "Limit": 100}, &groups); err != nil || groups.TotalCount != 0 {
		t.Errorf("DescribeProxyGroupList after the refused creations: %+v, %v; want none", groups, err)
	}
	var regions struct {
		AccessRegionSet []struct {
			RegionId      string
			FeatureBitmap int64
		}
	}
	if err := n.Call(n.c, "DescribeAccessRegions", map[string]any{}, &regions); err != nil {
		t.Fatal(err)
	}
	for _, r := range regions.AccessRegionSet {
		if r.FeatureBitmap&model.FeatureIPv6 != 0 {
			t.Errorf("%s: FeatureBitmap %d advertises IPv6 with no IPv6 pool", r.RegionId, r.FeatureBitmap)
		}
	}
	var by struct{ TotalCount int }
	if err := n.Call(n.c, "DescribeAccessRegionsByDestRegion", map[string]any{"DestRegion": "NorthChina", "IPAddressVersion": "IPv6"}, &by); err != nil || by.TotalCount != 0 {
		t.Errorf("DescribeAccessRegionsByDestRegion IPv6: %+v, %v; want none", by, err)
	}
}

// TestIPv6ProxyServesIPv6Clients: with --vip-pool-ipv6 ::1/128 an IPv6
// proxy gets ::1 (the pool's one address: a second is sold out) and its
// listeners serve IPv6 clients: TCP with the client in a PROXY TCP6
// header, security-policy rules for IPv6 sources, HTTP with the client in
// X-Forwarded-For.
func TestIPv6ProxyServesIPv6Clients(t *testing.T) {
	n := startNode(t, func(o *server.Options) { o.VIPPoolIPv6, o.NoRateLimits = "::1/128", true })
	params := map[string]any{"ProjectId": 0, "ProxyName": "v6", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2, "IPAddressVersion": "IPv6"}
	var p struct{ InstanceId string }
	if err := n.Call(n.c, "CreateProxy", params, &p); err != nil {
		t.Fatal(err)
	}
	ip := n.proxyIP(p.InstanceId)
	if ip != netip.IPv6Loopback() {
		t.Fatalf("IPv6 proxy's access IP %v; want ::1 from --vip-pool-ipv6", ip)
	}
	wantCode(t, "second IPv6 proxy", n.Call(n.c, "CreateProxy", params, &struct{}{}), "FailedOperation.ProxySellOut")

	// The origin answers with the PROXY header it was sent.
	_, addr := n.listenerServing(p.InstanceId, ip, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, line)
	})
	if got, err := fetchFrom(ip, addr); err != nil || !strings.HasPrefix(got, "PROXY TCP6 ::1 ::1 ") {
		t.Errorf("TCP from [::1]: got %q, %v; want a PROXY TCP6 header from ::1", got, err)
	}

	hl, hport := n.httpListener(p.InstanceId, ip)
	n.domain(hl, "v6.test", "", "")
	web := echoOrigin(t, l7Origins, "web")
	n.rule(hl, "v6.test", "/", nil, map[string]netip.AddrPort{n.realServers(web.Addr())[0]: web})
	_, body := request(t, http.DefaultClient, "http://"+netip.AddrPortFrom(ip, uint16(hport)).String(), "v6.test", "/", nil)
	var got answer
	if err := json.Unmarshal([]byte(body), &got); err != nil || got.Header.Get("X-Forwarded-For") != "::1" {
		t.Errorf("HTTP from [::1]: %q (%v); want X-Forwarded-For ::1", body, err)
	}

	n.openPolicy(p.InstanceId, n.createPolicy(p.InstanceId, "ACCEPT", policyRule("::1/128", "TCP", "ALL", "DROP")))
	n.until("IPv6 rule enforced", func() bool {
		got, _ := fetchFrom(ip, addr)
		return got == ""
	})
}

// TestIPv6ProxyWithIPv4AddressKept: an IPv6 proxy stored with an IPv4
// access IP (created before --vip-pool-ipv6) keeps it across a restart
// with an IPv6 pool, and its listener serves there as before; the start
// logs it.
func TestIPv6ProxyWithIPv4AddressKept(t *testing.T) {
	var log edgetest.LogBuffer
	n, mod := restartableNode(t, func(o *server.Options) {
		o.DrainGrace, o.Log = 100*time.Millisecond, slog.New(slog.NewTextHandler(&log, nil))
	})
	proxy, ip := n.proxy()
	_, addr := n.listenerTo(proxy, ip, "ok")
	// What a release before --vip-pool-ipv6 stored for an IPv6 proxy.
	storeAsOlderRelease(t, n.API, model.KindProxy, proxy, func(doc map[string]any) { doc["ipAddressVersion"] = model.AddrIPv6 })
	n2 := n.restart(func(o *server.Options) { mod(o); xtest.WithIPv6Pool(o) })
	if got := n2.proxyIP(proxy); got != ip {
		t.Errorf("after the restart the proxy has %v; want its address %v kept", got, ip)
	}
	if got, err := fetchFrom(origins.Next(), addr); err != nil || got != "ok" {
		t.Errorf("after the restart: got %q, %v; want ok", got, err)
	}
	if !strings.Contains(log.String(), "proxies="+proxy) {
		t.Errorf("start log %q does not name %s", log.String(), proxy)
	}
}

// echoer dials addr and returns a function that checks the connection
// still echoes (the listener's origin echoes).
func echoer(t *testing.T, addr netip.AddrPort) func() error {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return func() error {
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Write([]byte("ping")); err != nil {
			return err
		}
		_, err := io.ReadFull(conn, make([]byte, 4))
		return err
	}
}

// heldUntilDrained checks that the pool's one free address, ip, of a
// proxy just removed while echo's connection drains on it, is not handed
// to a new proxy (of another account) until the drain is over, and is
// handed out after.
func heldUntilDrained(n *node, ip netip.Addr, echo func() error) {
	n.t.Helper()
	other := n.API.GAAP(xtest.Other)
	p := map[string]any{"ProjectId": 0, "ProxyName": "b", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}
	err := n.Call(other, "CreateProxy", p, &struct{}{})
	if err == nil {
		n.t.Fatalf("CreateProxy while %s drains got an address: the pool's only free one is held until the drain ends", ip)
	}
	wantCode(n.t, "CreateProxy while "+ip.String()+" drains", err, "FailedOperation.ProxySellOut")
	if err := echo(); err != nil {
		n.t.Fatalf("the removed proxy's connection does not drain: %v", err)
	}
	var created struct{ InstanceId string }
	n.until(ip.String()+" back in the pool", func() bool {
		return n.Call(other, "CreateProxy", p, &created) == nil
	})
	if echo() == nil {
		n.t.Errorf("%s was handed out again while the removed proxy's connection on it is still served", ip)
	}
	on := &node{API: n.API, c: other, t: n.t}
	if got := on.proxyIP(created.InstanceId); got != ip {
		n.t.Errorf("new proxy got %s; want the drained %s", got, ip)
	}
}

// TestDestroyedProxyIPHeldUntilDrained: the access IP of a destroyed
// proxy stays out of the pool while its connections drain on it
// (--drain-grace), so no other tenant's proxy is placed where its clients
// are still connected; it returns once the drain is over. The draining
// address does not count against its old owner's quota (another account
// destroys and creates again: sold out, not over quota).
func TestDestroyedProxyIPHeldUntilDrained(t *testing.T) {
	pool := strings.Replace(xtest.NextVIPPool(), "/24", "/30", 1) // two usable addresses
	n := startNode(t, func(o *server.Options) { o.VIPPool, o.DrainGrace = pool, 2*time.Second })
	n.proxy() // the pool's other address
	on := &node{API: n.API, c: n.API.GAAP(xtest.Other), t: t}
	a, ipA := on.proxy()
	_, addr := on.listenerServing(a, ipA, func(c net.Conn) { io.Copy(c, c) })
	echo := echoer(t, addr)
	if err := echo(); err != nil {
		t.Fatal(err)
	}
	if err := n.Call(on.c, "DestroyProxies", map[string]any{"ProxyIds": []string{a}, "Force": 1}, &struct{}{}); err != nil {
		t.Fatal(err)
	}
	n.until("proxy "+a+" removed", func() bool {
		var r struct{ TotalCount int }
		return n.Call(on.c, "DescribeProxies", map[string]any{"ProxyIds": []string{a}}, &r) != nil || r.TotalCount == 0
	})
	heldUntilDrained(n, ipA, echo)
}

// TestDeletedL4ProxyIPHeldUntilDrained: DeleteL4Proxy leaves the EdgeOne
// proxy's access IP out of the pool (shared with GAAP) until the data
// plane has stopped the proxy and its connections have drained.
func TestDeletedL4ProxyIPHeldUntilDrained(t *testing.T) {
	pool := strings.Replace(xtest.NextVIPPool(), "/24", "/30", 1) // two usable addresses
	n := startNode(t, func(o *server.Options) { o.VIPPool, o.DrainGrace = pool, 2*time.Second })
	e := teoEnvOn(t, n)
	n.proxy() // the pool's other address
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(teoOrigins.Next(), 0), func(c net.Conn) { io.Copy(c, c) })
	port := edgetest.FreePort(t, e.access)
	rule := e.createRule(t, tcpRule([]string{strconv.Itoa(port)}, "IP_DOMAIN", []string{origin.Addr.Addr().String()}, origin.Addr))
	n.until("rule online", func() bool { return e.ruleStatus(t, rule) == "online" })
	echo := echoer(t, netip.AddrPortFrom(e.access, uint16(port)))
	if err := echo(); err != nil {
		t.Fatal(err)
	}
	teoCall(t, e.c, "DeleteL4Proxy", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy}, nil)
	heldUntilDrained(n, e.access, echo)
}

// TestCheckProxyCreateAgreesWithAddressPool: CheckProxyCreate answers
// CheckFlag 0 for a configuration CreateProxy would refuse for lack of an
// address: the pool of the asked IPAddressVersion sold out
// (FailedOperation.ProxySellOut) or the caller's AccessIPQuota reached
// (FailedOperation); 1 while an address is left.
func TestCheckProxyCreateAgreesWithAddressPool(t *testing.T) {
	// Two usable IPv4 addresses (a default quota of 1), one IPv6 (::1/128).
	pool := strings.Replace(xtest.NextVIPPool(), "/24", "/30", 1)
	n := startNode(t, func(o *server.Options) { o.VIPPool = pool; xtest.WithIPv6Pool(o) })
	other := n.API.GAAP(xtest.Other)
	spec := func(v string) map[string]any {
		return map[string]any{"AccessRegion": "SouthChina", "RealServerRegion": "NorthChina",
			"Bandwidth": 10, "Concurrent": 2, "IPAddressVersion": v}
	}
	create := func(c *gaapsdk.Client, v string) error {
		p := spec(v)
		p["ProjectId"], p["ProxyName"] = 0, v
		return n.Call(c, "CreateProxy", p, &struct{}{})
	}
	check := func(what string, c *gaapsdk.Client, v string, want int) {
		t.Helper()
		var r struct{ CheckFlag int }
		if err := n.Call(c, "CheckProxyCreate", spec(v), &r); err != nil {
			t.Fatal(err)
		}
		if r.CheckFlag != want {
			t.Errorf("CheckProxyCreate %s (%s): CheckFlag %d; want %d", v, what, r.CheckFlag, want)
		}
	}

	check("an address left", n.c, "IPv6", 1)
	if err := create(n.c, "IPv6"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "second IPv6 proxy", create(n.c, "IPv6"), "FailedOperation.ProxySellOut")
	check("--vip-pool-ipv6 sold out", n.c, "IPv6", 0)

	check("within the quota", other, "IPv4", 1)
	if err := create(other, "IPv4"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "past the quota", create(other, "IPv4"), "FailedOperation")
	check("AccessIPQuota reached", other, "IPv4", 0)

	check("the pool's last address", n.c, "IPv4", 1)
	if err := create(n.c, "IPv4"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "IPv4 pool sold out", create(n.c, "IPv4"), "FailedOperation.ProxySellOut")
	check("--vip-pool sold out", n.c, "IPv4", 0)
}

// TestPoolSkipsNodeListenAddresses guards a --vip-pool that holds the
// node's own --api-listen and --metrics-listen addresses (say, all of
// 127.0.0.0/8 beside the default API address): the pool never hands them
// out, else a tenant's proxy would get the operator's API and the
// cross-tenant metrics at its access IP, and a listener on their port,
// which the API accepts, could never bind.
func TestPoolSkipsNodeListenAddresses(t *testing.T) {
	pool := netip.MustParsePrefix(strings.Replace(xtest.NextVIPPool(), "/24", "/29", 1)) // .1 to .6
	api, metrics := pool.Addr().Next(), pool.Addr().Next().Next()
	n := startNode(t, func(o *server.Options) {
		o.VIPPool = pool.String()
		o.APIListen, o.MetricsListen = netip.AddrPortFrom(api, 0).String(), netip.AddrPortFrom(metrics, 0).String()
	})
	for range 4 {
		if id, ip := n.proxy(); ip == api || ip == metrics {
			t.Fatalf("proxy %s was handed %v, the node's own listen address (--api-listen %s, --metrics-listen %s)",
				id, ip, n.Addr, n.MetricsAddr)
		}
	}
	err := n.Call(n.c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "fifth", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}, &struct{}{})
	wantCode(t, "CreateProxy with .3 to .6 taken and .1, .2 the node's", err, "FailedOperation.ProxySellOut")
}

// TestProxyOnNodeListenAddressWarned: a proxy stored by an earlier run
// with the address --api-listen now takes keeps it, serve starts all the
// same, and the start log names the proxy and the flag for the operator
// to resolve.
func TestProxyOnNodeListenAddressWarned(t *testing.T) {
	var log edgetest.LogBuffer
	n, mod := restartableNode(t, func(o *server.Options) { o.Log = slog.New(slog.NewTextHandler(&log, nil)) })
	proxy, ip := n.proxy()
	n2 := n.restart(func(o *server.Options) { mod(o); o.APIListen = netip.AddrPortFrom(ip, 0).String() })
	if got := n2.proxyIP(proxy); got != ip {
		t.Errorf("after the restart the proxy has %v; want its address %v kept", got, ip)
	}
	if want := "proxy=" + proxy + " flag=--api-listen address=" + ip.String(); !strings.Contains(log.String(), want) {
		t.Errorf("start log %q does not say %q", log.String(), want)
	}
}
