package server_test

import (
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// origins hands out origin addresses 127.77.200.x for this package.
var origins = edgetest.NewAlloc(200)

// node is a running API plus the SDK client of the root account.
type node struct {
	*xtest.API
	c *gaapsdk.Client
	t *testing.T
	// churnListener is the listener the churn test creates and deletes.
	churnListener string
}

// startNode starts a node whose statistics run every 300 ms and whose
// drains last a second; more options can be set by opts.
func startNode(t *testing.T, opts ...func(*server.Options)) *node {
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		o.StatsInterval = 300 * time.Millisecond
		o.DrainGrace = time.Second
		for _, f := range opts {
			f(o)
		}
	})
	return &node{API: api, c: api.GAAP(), t: t}
}

// until polls cond (under the API's 20 calls/s limit) for up to 20 s.
func (n *node) until(what string, cond func() bool) {
	n.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			n.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// proxy creates a proxy (10 Mbps, Concurrent 2) and waits until it runs;
// it returns its ID and IP.
func (n *node) proxy() (string, netip.Addr) {
	n.t.Helper()
	req := gaapsdk.NewCreateProxyRequest()
	req.ProjectId, req.ProxyName, req.AccessRegion = new(int64(0)), new("e2e"), new("SouthChina")
	req.RealServerRegion, req.Bandwidth, req.Concurrent = new("NorthChina"), new(uint64(10)), new(uint64(2))
	resp, err := n.c.CreateProxy(req)
	if err != nil {
		n.t.Fatal(err)
	}
	id := *resp.Response.InstanceId
	return id, n.proxyIP(id)
}

// proxyIP waits until proxy id is RUNNING and returns its access IP.
func (n *node) proxyIP(id string) netip.Addr {
	n.t.Helper()
	var ip string
	n.until("proxy "+id+" RUNNING", func() bool {
		d := gaapsdk.NewDescribeProxyDetailRequest()
		d.ProxyId = &id
		r, err := n.c.DescribeProxyDetail(d)
		if err != nil {
			n.t.Fatal(err)
		}
		ip = *r.Response.ProxyDetail.IP
		return *r.Response.ProxyDetail.Status == "RUNNING"
	})
	return netip.MustParseAddr(ip)
}

// realServers registers origin addresses and returns their IDs.
func (n *node) realServers(addrs ...netip.Addr) []string {
	n.t.Helper()
	req := gaapsdk.NewAddRealServersRequest()
	req.ProjectId, req.RealServerName = new(uint64(0)), new("origin")
	for _, a := range addrs {
		req.RealServerIP = append(req.RealServerIP, new(a.String()))
	}
	resp, err := n.c.AddRealServers(req)
	if err != nil {
		n.t.Fatal(err)
	}
	var ids []string
	for _, rs := range resp.Response.RealServerSet {
		ids = append(ids, *rs.RealServerId)
	}
	return ids
}

// bind binds origins (real server ID → its address and port) to a
// listener and waits until applied.
func (n *node) bind(listener string, origins map[string]netip.AddrPort) {
	n.t.Helper()
	req := gaapsdk.NewBindListenerRealServersRequest()
	req.ListenerId = &listener
	for id, ap := range origins {
		req.RealServerBindSet = append(req.RealServerBindSet, &gaapsdk.RealServerBindSetReq{
			RealServerId: new(id), RealServerPort: new(uint64(ap.Port())), RealServerIP: new(ap.Addr().String()), RealServerWeight: new(uint64(1))})
	}
	if _, err := n.c.BindListenerRealServers(req); err != nil {
		n.t.Fatal(err)
	}
	n.waitListener(listener)
}

// waitListener waits until a listener of any protocol reports status 0.
func (n *node) waitListener(id string) {
	n.t.Helper()
	n.until("listener "+id+" running", func() bool {
		for _, proto := range []string{"TCP", "UDP", "HTTP", "HTTPS"} {
			var r struct {
				ListenerSet []struct{ ListenerStatus uint64 }
			}
			if err := n.Call(n.c, "Describe"+proto+"Listeners", map[string]any{"ListenerId": id}, &r); err == nil && len(r.ListenerSet) == 1 {
				return r.ListenerSet[0].ListenerStatus == 0
			}
		}
		return false
	})
}

// originStatus is what Describe{TCP,UDP}Listeners (proto) reports of
// origin rs on listener: its RealServerStatus (0 normal, 1 abnormal) and
// the listener's BindStatus. The test fails if rs is not bound there.
func (n *node) originStatus(proto, listener, rs string) (status, bind int64) {
	n.t.Helper()
	var r struct {
		ListenerSet []struct {
			BindStatus    int64
			RealServerSet []struct {
				RealServerId     string
				RealServerStatus int64
			}
		}
	}
	if err := n.Call(n.c, "Describe"+proto+"Listeners", map[string]any{"ListenerId": listener}, &r); err != nil || len(r.ListenerSet) != 1 {
		n.t.Fatalf("Describe%sListeners %s: %+v, %v", proto, listener, r, err)
	}
	for _, o := range r.ListenerSet[0].RealServerSet {
		if o.RealServerId == rs {
			return o.RealServerStatus, r.ListenerSet[0].BindStatus
		}
	}
	n.t.Fatalf("origin %s not bound to %s", rs, listener)
	return 0, 0
}

// tcpListener creates a TCP listener on a free port of the proxy. It goes
// through a raw call because SDK v1.0.162 lacks the threshold fields.
func (n *node) tcpListener(proxy string, ip netip.Addr, scheduler string, health bool) (string, int) {
	n.t.Helper()
	port := edgetest.FreePort(n.t, ip)
	params := map[string]any{"ProxyId": proxy, "ListenerName": "tcp", "Ports": []int{port}, "Scheduler": scheduler,
		"RealServerType": "IP", "ClientIPMethod": 1, "HealthCheck": 0}
	if health {
		params["HealthCheck"], params["DelayLoop"], params["ConnectTimeout"] = 1, 5, 2
		params["HealthyThreshold"], params["UnhealthyThreshold"] = 1, 1
	}
	var resp struct{ ListenerIds []string }
	if err := n.Call(n.c, "CreateTCPListeners", params, &resp); err != nil {
		n.t.Fatal(err)
	}
	n.waitListener(resp.ListenerIds[0])
	return resp.ListenerIds[0], port
}

// fetch connects to addr, reads until EOF and returns what it got.
func fetch(t *testing.T, addr netip.AddrPort) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Fatalf("dial %v: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read from %v: %v", addr, err)
	}
	return string(b)
}

func TestTCPListenerCarriesTraffic(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	ids, srvs := n.proxyNamedOrigins("a", "b")
	oa, ob := srvs[0], srvs[1]
	listener, port := n.tcpListener(proxy, ip, "rr", false)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: oa.Addr, ids[1]: ob.Addr})

	got := map[string]int{}
	for range 10 {
		got[fetch(t, netip.AddrPortFrom(ip, uint16(port)))]++
	}
	if got["a"] != 5 || got["b"] != 5 {
		t.Fatalf("rr over two origins: got %v; want 5 each", got)
	}

	// The same counters are exported for Prometheus.
	metrics := httpGet(t, "http://"+n.Addr+"/metrics")
	if !strings.Contains(metrics, `opengaap_connections_total{id="`+listener+`",kind="listener"} 10`) {
		t.Errorf("/metrics lacks the listener's 10 connections:\n%.2000s", metrics)
	}

	// Statistics reach the store: the listener's inbound bandwidth series
	// gets a point once the recorder has run.
	n.until("listener statistics", func() bool {
		pts, err := n.Store.Stats().Query(context.Background(), listener, "Concurrent", 60, time.Now().Add(-2*time.Minute), time.Now())
		return err == nil && len(pts) > 0
	})
}

// TestScrapeKeepsDeletedListenersLastMinute: a /metrics scrape between a
// listener's deletion and the next recording leaves the listener's final
// figures to the recorder, which writes its last minute.
func TestScrapeKeepsDeletedListenersLastMinute(t *testing.T) {
	n := startNode(t, func(o *server.Options) { o.StatsInterval = 24 * time.Hour }) // Record is called by hand.
	proxy, ip := n.proxy()
	ids, srvs := n.proxyNamedOrigins("a")
	listener, port := n.tcpListener(proxy, ip, "rr", false)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: srvs[0].Addr})
	addr := netip.AddrPortFrom(ip, uint16(port))
	for range 3 {
		fetch(t, addr)
	}
	del := gaapsdk.NewDeleteListenersRequest()
	del.ProxyId, del.ListenerIds, del.Force = &proxy, []*string{new(listener)}, new(uint64(1))
	if _, err := n.c.DeleteListeners(del); err != nil {
		t.Fatal(err)
	}
	n.until("listener closed on the edge", func() bool {
		c, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	httpGet(t, "http://"+n.Addr+"/metrics")
	if err := n.Telemetry.Record(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	pts, err := n.Store.Stats().Query(context.Background(), listener, "NewConnections", 60, time.Now().Add(-10*time.Minute), time.Now())
	total := 0.0
	for _, p := range pts {
		total += p.Value
	}
	if err != nil || total < 3 { // The wait's own probe may add one.
		t.Errorf("deleted listener's NewConnections: got %v (%v); want at least the 3 fetched", pts, err)
	}
}

// proxyNamedOrigins starts one TCP origin per name, each on a fresh
// address and answering as proxyProtocolName, and adds them as real
// servers: their IDs and servers, in the order of names.
func (n *node) proxyNamedOrigins(names ...string) ([]string, []*edgetest.TCPServer) {
	n.t.Helper()
	addrs := make([]netip.Addr, len(names))
	srvs := make([]*edgetest.TCPServer, len(names))
	for i, name := range names {
		addrs[i] = origins.Next()
		srvs[i] = edgetest.StartTCP(n.t, netip.AddrPortFrom(addrs[i], 0), proxyProtocolName(n.t, name))
	}
	return n.realServers(addrs...), srvs
}

// proxyProtocolName answers with name after checking the PROXY v1 header
// that ClientIPMethod 1 makes the proxy send.
func proxyProtocolName(t *testing.T, name string) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 108)
		nr, _ := c.Read(buf)
		if !strings.HasPrefix(string(buf[:nr]), "PROXY TCP4 127.") {
			io.WriteString(c, "no proxy header: "+string(buf[:nr]))
			return
		}
		io.WriteString(c, name)
	}
}

// udpEchoListener creates a UDP listener of proxy bound to a new origin
// that answers "echo:" and the datagram; it returns the listener's address.
func (n *node) udpEchoListener(proxy string, ip netip.Addr) netip.AddrPort {
	n.t.Helper()
	o := origins.Next()
	srv := edgetest.StartUDP(n.t, netip.AddrPortFrom(o, 0), edgetest.Prefix("echo:"))
	ids := n.realServers(o)
	listener, port := n.udpListener(proxy, ip, nil)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: srv.Addr})
	return netip.AddrPortFrom(ip, uint16(port))
}

// udpListener creates a UDP listener ("rr") of proxy on a free port of ip,
// with the parameters of extra too, and waits until it runs; it returns
// the listener and its port.
func (n *node) udpListener(proxy string, ip netip.Addr, extra map[string]any) (string, int) {
	n.t.Helper()
	port := edgetest.FreePort(n.t, ip)
	params := map[string]any{"ProxyId": proxy, "ListenerName": "udp", "Ports": []int{port}, "Scheduler": "rr", "RealServerType": "IP"}
	maps.Copy(params, extra)
	var resp struct{ ListenerIds []string }
	if err := n.Call(n.c, "CreateUDPListeners", params, &resp); err != nil {
		n.t.Fatal(err)
	}
	n.waitListener(resp.ListenerIds[0])
	return resp.ListenerIds[0], port
}

func TestUDPListenerCarriesTraffic(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	c, err := net.Dial("udp", n.udpEchoListener(proxy, ip).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	c.Write([]byte("ping"))
	buf := make([]byte, 64)
	nr, err := c.Read(buf)
	if err != nil || string(buf[:nr]) != "echo:ping" {
		t.Fatalf("got %q, %v; want echo:ping", buf[:nr], err)
	}
}

func TestHealthCheckFailoverThroughAPI(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	ids, srvs := n.proxyNamedOrigins("a", "b")
	oa, ob := srvs[0], srvs[1]
	listener, port := n.tcpListener(proxy, ip, "rr", true)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: oa.Addr, ids[1]: ob.Addr})

	oa.Close()
	// DelayLoop 5 s, UnhealthyThreshold 1: abnormal within two intervals.
	n.until("origin a reported abnormal", func() bool {
		st, bind := n.originStatus("TCP", listener, ids[0])
		return st == 1 && bind == 0
	})
	for range 4 {
		if got := fetch(t, netip.AddrPortFrom(ip, uint16(port))); got != "b" {
			t.Fatalf("after failover got %q; want b", got)
		}
	}

	// A second listener bound to the origin already known to be down
	// reports it abnormal too (its checker does not flip again), and
	// normal once its health checks are off.
	status := func(listener string) int64 { st, _ := n.originStatus("TCP", listener, ids[0]); return st }
	second, _ := n.tcpListener(proxy, ip, "rr", true)
	n.bind(second, map[string]netip.AddrPort{ids[0]: oa.Addr})
	n.until("origin a abnormal on the second listener", func() bool { return status(second) == 1 })
	if err := n.Call(n.c, "ModifyTCPListenerAttribute", map[string]any{"ProxyId": proxy, "ListenerId": second, "HealthCheck": 0}, nil); err != nil {
		t.Fatal(err)
	}
	n.until("origin a normal once checks are off", func() bool { return status(second) == 0 })
}

// groupOf creates a group with one proxy per access region and waits until
// all of them run; it returns the group and its proxies.
func (n *node) groupOf(regions ...string) (string, []string, []netip.Addr) {
	n.t.Helper()
	req := gaapsdk.NewCreateProxyGroupRequest()
	req.ProjectId, req.GroupName, req.RealServerRegion = new(uint64(0)), new("grp"), new("NorthChina")
	for _, r := range regions {
		req.AccessRegionSet = append(req.AccessRegionSet, &gaapsdk.AccessConfiguration{AccessRegion: new(r), Bandwidth: new(uint64(10)), Concurrent: new(uint64(2))})
	}
	resp, err := n.c.CreateProxyGroup(req)
	if err != nil {
		n.t.Fatal(err)
	}
	g := *resp.Response.GroupId
	ids, ips := n.groupMembers(g, len(regions))
	return g, ids, ips
}

// groupMembers waits until group g has want members, all running, and
// returns their IDs and IPs.
func (n *node) groupMembers(g string, want int) ([]string, []netip.Addr) {
	n.t.Helper()
	var ids []string
	var ips []netip.Addr
	n.until("group members RUNNING", func() bool {
		d := gaapsdk.NewDescribeProxiesRequest()
		d.Filters = []*gaapsdk.Filter{{Name: new("GroupId"), Values: []*string{new(g)}}}
		r, err := n.c.DescribeProxies(d)
		if err != nil {
			return false
		}
		ids, ips = ids[:0], ips[:0]
		for _, p := range r.Response.ProxySet {
			if *p.Status != "RUNNING" {
				return false
			}
			ids, ips = append(ids, *p.ProxyId), append(ips, netip.MustParseAddr(*p.IP))
		}
		return len(ids) == want
	})
	return ids, ips
}

// groupTCPListener creates a TCP listener of group g (on a port free on
// member IP ip) to a new origin that answers name after a PROXY header,
// and waits until it runs; it returns the listener and its port.
func (n *node) groupTCPListener(g string, ip netip.Addr, name string) (string, int) {
	n.t.Helper()
	o := edgetest.StartTCP(n.t, netip.AddrPortFrom(origins.Next(), 0), proxyProtocolName(n.t, name))
	rs := n.realServers(o.Addr.Addr())
	port := edgetest.FreePort(n.t, ip)
	var resp struct{ ListenerIds []string }
	if err := n.Call(n.c, "CreateTCPListeners", map[string]any{"GroupId": g, "ListenerName": "g", "Ports": []int{port}, "Scheduler": "rr",
		"RealServerType": "IP", "ClientIPMethod": 1, "HealthCheck": 0, "RealServerPorts": []int{int(o.Addr.Port())}}, &resp); err != nil {
		n.t.Fatal(err)
	}
	l := resp.ListenerIds[0]
	n.waitListener(l)
	n.bind(l, map[string]netip.AddrPort{rs[0]: o.Addr})
	return l, port
}

// statSum calls a statistics action over the last 10 minutes and returns
// the sum of the metric's points.
func (n *node) statSum(action string, params map[string]any, metric string) float64 {
	n.t.Helper()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now().In(loc)
	params["StartTime"] = now.Add(-10 * time.Minute).Format("2006-01-02 15:04:05")
	params["EndTime"] = now.Add(time.Minute).Format("2006-01-02 15:04:05")
	if _, ok := params["Granularity"]; !ok {
		params["Granularity"] = 60
	}
	params["MetricNames"] = []string{metric}
	var r struct {
		StatisticsData []struct{ MetricData []struct{ Data *float64 } }
	}
	if err := n.Call(n.c, action, params, &r); err != nil {
		n.t.Fatalf("%s: %v", action, err)
	}
	sum := 0.0
	for _, m := range r.StatisticsData {
		for _, p := range m.MetricData {
			if p.Data != nil {
				sum += *p.Data
			}
		}
	}
	return sum
}

// TestGroupStatisticsKeepDestroyedMember: traffic through a group
// listener on two members adds up in the listener's and the group's
// statistics; destroying a member afterwards does not take its traffic out
// of the group's past minutes.
func TestGroupStatisticsKeepDestroyedMember(t *testing.T) {
	n := startNode(t, func(o *server.Options) { o.StatsInterval = 24 * time.Hour }) // Recorded by hand.
	g, ms, ips := n.groupOf("SouthChina", "Hongkong")
	l, port := n.groupTCPListener(g, ips[0], "ok")
	for _, ip := range ips {
		n.until("member "+ip.String()+" serves", func() bool {
			c, err := net.DialTimeout("tcp", netip.AddrPortFrom(ip, uint16(port)).String(), time.Second)
			if err != nil {
				return false
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			b, _ := io.ReadAll(c)
			return string(b) == "ok"
		})
	}
	// A connection's bytes are counted once the edge has closed it.
	n.until("both members counted", func() bool {
		m := httpGet(t, "http://"+n.Addr+"/metrics")
		for _, id := range ms {
			if !strings.Contains(m, `opengaap_bytes_out_total{id="`+id+`",kind="proxy"}`) ||
				strings.Contains(m, `opengaap_bytes_out_total{id="`+id+`",kind="proxy"} 0`+"\n") {
				return false
			}
		}
		return true
	})
	if err := n.Telemetry.Record(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	ls := n.statSum("DescribeListenerStatistics", map[string]any{"ListenerId": l, "Granularity": 300}, "OutBandwidth")
	gs := n.statSum("DescribeProxyGroupStatistics", map[string]any{"GroupId": g}, "OutBandwidth")
	p0 := n.statSum("DescribeProxyStatistics", map[string]any{"ProxyId": ms[0]}, "OutBandwidth")
	p1 := n.statSum("DescribeProxyStatistics", map[string]any{"ProxyId": ms[1]}, "OutBandwidth")
	if ls <= 0 || p0 <= 0 || p1 <= 0 || gs < p0+p1-1e-9 || gs > p0+p1+1e-9 {
		t.Fatalf("OutBandwidth: listener %v, group %v, members %v %v; want all > 0 and the group the members' sum", ls, gs, p0, p1)
	}
	d := gaapsdk.NewDestroyProxiesRequest()
	d.ProxyIds, d.Force = []*string{new(ms[1])}, new(int64(1))
	if _, err := n.c.DestroyProxies(d); err != nil {
		t.Fatal(err)
	}
	n.until("member destroyed", func() bool {
		r := gaapsdk.NewDescribeProxyDetailRequest()
		r.ProxyId = new(ms[1])
		_, err := n.c.DescribeProxyDetail(r)
		return err != nil && strings.Contains(err.Error(), "ResourceNotFound")
	})
	if after := n.statSum("DescribeProxyGroupStatistics", map[string]any{"GroupId": g}, "OutBandwidth"); after < gs-1e-9 {
		t.Errorf("group OutBandwidth over the same past window: %v before destroying %s, %v after", gs, ms[1], after)
	}
}

// TestUDPListenerBoundToItselfDoesNotLoop: a UDP listener whose origin is
// the listener's own access IP and port (a public address, so
// --deny-private-origins does not stop it) must not turn one datagram into
// a forwarding loop, each hop a new session, that fills the node-wide
// client descriptor budget and so refuses other clients: the edge
// refuses to send to its own listening addresses.
func TestUDPListenerBoundToItselfDoesNotLoop(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	other, otherIP := n.proxy()
	victim := n.udpEchoListener(other, otherIP)

	l, port := n.udpListener(proxy, ip, nil)
	self := netip.AddrPortFrom(ip, uint16(port))
	ids := n.realServers(ip) // The proxy's own access IP as an origin.
	n.bind(l, map[string]netip.AddrPort{ids[0]: self})

	// answer sends msg to the victim from a new client and reads its answer.
	answer := func(msg string) (string, error) {
		v, err := net.Dial("udp", victim.String())
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		v.SetReadDeadline(time.Now().Add(2 * time.Second))
		v.Write([]byte(msg))
		buf := make([]byte, 64)
		k, err := v.Read(buf)
		return string(buf[:k]), err
	}
	if _, err := answer("pre"); err != nil { // Control: the victim answers before.
		t.Fatalf("control: victim does not answer before the loop: %v", err)
	}

	c, err := net.Dial("udp", self.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("one datagram"))
	time.Sleep(2 * time.Second)

	if got, err := answer("hi"); err != nil {
		t.Fatalf("another proxy's UDP client got no answer after one datagram to the self-bound listener: %v", err)
	} else if got != "echo:hi" {
		t.Fatalf("another proxy's UDP client after one datagram to the self-bound listener: got %q; want its echo %q", got, "echo:hi")
	}
}

// TestOriginAtNodeAPIRefused: a tenant's origin at the node's own API
// (127.0.0.1, allowed as a loopback origin by default) does not reach it:
// through a TCP listener a GET /metrics took the node's unauthenticated
// scrape, every account's resource IDs, past whatever firewall guards the
// API. The node's API and metrics sockets are refused to origins as its
// listeners are (edge.Runtime.Reserve).
func TestOriginAtNodeAPIRefused(t *testing.T) {
	n := startNode(t)
	api := netip.MustParseAddrPort(n.Addr)
	proxy, ip := n.proxy()
	l, port := n.tcpListener(proxy, ip, "rr", false)
	ids := n.realServers(api.Addr())
	// The listener reaches another origin on the API's address: the
	// refusal below is the API's port, not a listener that never ran.
	other := edgetest.StartTCP(t, netip.AddrPortFrom(api.Addr(), 0), proxyProtocolName(t, "other"))
	n.bind(l, map[string]netip.AddrPort{ids[0]: other.Addr})
	if got := fetch(t, netip.AddrPortFrom(ip, uint16(port))); got != "other" {
		t.Fatalf("listener bound to an origin beside the API answered %q; want %q", got, "other")
	}

	n.bind(l, map[string]netip.AddrPort{ids[0]: api})
	n.until("the listener rebound to the API", func() bool { return fetch(t, netip.AddrPortFrom(ip, uint16(port))) != "other" })
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/metrics")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET /metrics through a listener whose origin is the node's API: %d, %d bytes (%.60q); want the connection refused",
			resp.StatusCode, len(body), body)
	}
}
