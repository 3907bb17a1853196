package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestTCPListenerTOAThroughAPI: ClientIPMethod 0 makes the origin
// connection carry the client's address in GAAP's TOA option (kind 200),
// read here off the wire on the ACK that ends the handshake, as an
// origin's TOA module reads it; Describe shows 0.
func TestTCPListenerTOAThroughAPI(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	o := origins.Next()
	srv := edgetest.StartTCP(t, netip.AddrPortFrom(o, 0), func(c net.Conn) { io.WriteString(c, "hello") })
	ids := n.realServers(o)
	wire := watchTOA(t, n, srv.Addr.Port())
	port := edgetest.FreePort(t, ip)
	var resp struct{ ListenerIds []string }
	if err := n.Call(n.c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "toa", "Ports": []int{port},
		"Scheduler": "rr", "RealServerType": "IP", "ClientIPMethod": 0, "HealthCheck": 0}, &resp); err != nil {
		t.Fatal(err)
	}
	listener := resp.ListenerIds[0]
	n.waitListener(listener)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: srv.Addr})
	wantTOA(t, wire, hello(t, netip.AddrPortFrom(ip, uint16(port))))
	req := gaapsdk.NewDescribeTCPListenersRequest()
	req.ListenerId = &listener
	dr, err := n.c.DescribeTCPListeners(req)
	if err != nil {
		t.Fatal(err)
	}
	if m := dr.Response.ListenerSet[0].ClientIPMethod; m == nil || *m != 0 {
		t.Errorf("Describe: ClientIPMethod %v; want 0", m)
	}
	if got := proxyClientIPMethods(t, n, proxy); got != "[0 1]" {
		t.Errorf("the proxy offers ClientIPMethod %s; want [0 1]", got)
	}
}

// TestTCPListenerTOARefusedWithout: a server that cannot (here: must not)
// write TOA refuses ClientIPMethod 0, saying why (the method is set at
// creation only: ModifyTCPListenerAttribute has no such parameter), and
// its start log says so, --no-toa named (it said nothing).
func TestTCPListenerTOARefusedWithout(t *testing.T) {
	var log edgetest.LogBuffer
	n := startNode(t, func(o *server.Options) { o.NoTOA, o.Log = true, slog.New(slog.NewTextHandler(&log, nil)) })
	if got := log.String(); !strings.Contains(got, "ClientIPMethod 0") || !strings.Contains(got, "--no-toa") {
		t.Errorf("start log of a node started with --no-toa:\n%s\nwant TOA said unavailable, naming --no-toa", got)
	}
	proxy, ip := n.proxy()
	err := n.Call(n.c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "toa",
		"Ports": []int{edgetest.FreePort(t, ip)}, "Scheduler": "rr", "RealServerType": "IP", "ClientIPMethod": 0, "HealthCheck": 0}, nil)
	if err == nil || !strings.Contains(err.Error(), "InvalidParameterValue") || !strings.Contains(err.Error(), "TOA") {
		t.Errorf("create with TOA: %v; want InvalidParameterValue naming TOA", err)
	}
	if got := proxyClientIPMethods(t, n, proxy); got != "[1]" {
		t.Errorf("the proxy offers ClientIPMethod %s; want [1]", got)
	}
}

// TestEdgeOneTOAThroughAPI: an EdgeOne TCP rule with
// ClientIPPassThroughMode TOA passes the client's address the same way.
func TestEdgeOneTOAThroughAPI(t *testing.T) {
	e := newTeoEnv(t)
	srv := edgetest.StartTCP(t, netip.AddrPortFrom(mirrorAddrs.Next(), 0), func(c net.Conn) { io.WriteString(c, "hello") })
	wire := watchTOA(t, e.n, srv.Addr.Port())
	port := edgetest.FreePort(t, e.access)
	rule := tcpRule([]string{strconv.Itoa(port)}, "IP_DOMAIN", []string{srv.Addr.Addr().String()}, srv.Addr)
	rule["ClientIPPassThroughMode"] = "TOA"
	id := e.createRule(t, rule)
	e.n.until("rule online", func() bool { return e.ruleStatus(t, id) == "online" })
	wantTOA(t, wire, hello(t, netip.AddrPortFrom(e.access, uint16(port))))
}

// TestFailedStartDetachesTOA guards that a start failing after the TOA
// writer was loaded (here: --api-listen's port is taken) detaches its
// program, as Close does: it stayed attached to the cgroup, running for
// every socket in it, until a GC happened to run cilium/ebpf's finalizers.
func TestFailedStartDetachesTOA(t *testing.T) {
	if !startNode(t).Server.Caps.TOA {
		t.Skip("this machine cannot write TOA options (see internal/edge/toa)")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	before := server.BPFLinks(t)
	for range 3 {
		_, err := server.Start(context.Background(), server.Options{APIListen: taken.Addr().String(), DataDir: t.TempDir(),
			VIPPool: xtest.NextVIPPool(), Root: xtest.Root, Log: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), "--api-listen") {
			t.Fatalf("start on a taken API port: %v; want --api-listen refused", err)
		}
	}
	if after := server.BPFLinks(t); after != before {
		t.Errorf("3 failed starts: %d BPF links attached, %d before; want no more", after, before)
	}
}

// hello connects to addr, expects the origin's "hello" and returns the
// client's address.
func hello(t *testing.T, addr netip.AddrPort) netip.AddrPort {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	got, err := io.ReadAll(c)
	c.Close()
	if string(got) != "hello" {
		t.Fatalf("through %s: %q, %v", addr, got, err)
	}
	return netip.MustParseAddrPort(c.LocalAddr().String())
}

// watchTOA skips where n does not write TOA (this machine cannot load
// its program: the server logs why) or the wire cannot be watched, and
// otherwise starts watching the segments to port.
func watchTOA(t *testing.T, n *node, port uint16) *edgetest.Wire {
	t.Helper()
	if !n.Server.Caps.TOA {
		t.Skip("this machine cannot write TOA options (see internal/edge/toa)")
	}
	wire, err := edgetest.WatchTCP(port)
	if err != nil {
		t.Skipf("no raw socket to watch the wire: %v", err)
	}
	return wire
}

// wantTOA checks that a connection wire saw (others are health checks)
// ended its handshake with client's address in a TOA option. The client
// got the origin's answer, so the origin accepted the connection: its
// handshake's segments are on the wire's socket (Stop takes those its
// reader has not got to).
func wantTOA(t *testing.T, wire *edgetest.Wire, client netip.AddrPort) {
	t.Helper()
	segs := wire.Stop()
	if !edgetest.CarriesTOA(segs, client) {
		t.Errorf("no handshake to the origin carried TOA %s (%d segments, handshake ACKs %+v)", client, len(segs), edgetest.HandshakeACKs(segs))
	}
}

// proxyClientIPMethods is the ClientIPMethod list DescribeProxies shows
// for proxy, as "[0 1]".
func proxyClientIPMethods(t *testing.T, n *node, proxy string) string {
	t.Helper()
	req := gaapsdk.NewDescribeProxiesRequest()
	req.ProxyIds = []*string{&proxy}
	resp, err := n.c.DescribeProxies(req)
	if err != nil || len(resp.Response.ProxySet) != 1 {
		t.Fatalf("DescribeProxies %s: %v", proxy, err)
	}
	var out []int64
	for _, m := range resp.Response.ProxySet[0].ClientIPMethod {
		out = append(out, *m)
	}
	return fmt.Sprint(out)
}

// TestTCPListenerTOARefusedOnIPv6Proxy: TOA has room for an IPv4 client
// address only, so an IPv6 proxy's clients would reach their origins as
// the proxy's address: ClientIPMethod 0 is refused there, as on a server
// that cannot write TOA, where it was accepted.
func TestTCPListenerTOARefusedOnIPv6Proxy(t *testing.T) {
	n := startNode(t, func(o *server.Options) { xtest.WithIPv6Pool(o) })
	if !n.Server.Caps.TOA {
		t.Skip("this machine cannot write TOA options (see internal/edge/toa)")
	}
	var created struct{ InstanceId string }
	if err := n.Call(n.c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "v6", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2, "IPAddressVersion": "IPv6"}, &created); err != nil {
		t.Fatal(err)
	}
	ip := n.proxyIP(created.InstanceId)
	listen := func(method int) error {
		return n.Call(n.c, "CreateTCPListeners", map[string]any{"ProxyId": created.InstanceId, "ListenerName": "toa",
			"Ports": []int{edgetest.FreePort(t, ip)}, "Scheduler": "rr", "RealServerType": "IP", "ClientIPMethod": method, "HealthCheck": 0}, nil)
	}
	if err := listen(0); err == nil || !strings.Contains(err.Error(), "InvalidParameterValue") || !strings.Contains(err.Error(), "IPv6") {
		t.Errorf("TOA on an IPv6 proxy: %v; want InvalidParameterValue naming IPv6", err)
	}
	if err := listen(1); err != nil {
		t.Errorf("Proxy Protocol on an IPv6 proxy: %v; want it created", err)
	}
	// What the proxy and a group of its kind offer agrees.
	var proxies struct {
		ProxySet []struct{ ClientIPMethod []int64 }
	}
	if err := n.Call(n.c, "DescribeProxies", map[string]any{"ProxyIds": []string{created.InstanceId}}, &proxies); err != nil {
		t.Fatal(err)
	}
	var group struct{ GroupId string }
	if err := n.Call(n.c, "CreateProxyGroup", map[string]any{"ProjectId": 0, "GroupName": "v6", "RealServerRegion": "NorthChina",
		"IPAddressVersion": "IPv6"}, &group); err != nil {
		t.Fatal(err)
	}
	var detail struct {
		ProxyGroupDetail struct{ ClientIPMethod []int64 }
	}
	if err := n.Call(n.c, "DescribeProxyGroupDetails", map[string]any{"GroupId": group.GroupId}, &detail); err != nil {
		t.Fatal(err)
	}
	if len(proxies.ProxySet) != 1 || fmt.Sprint(proxies.ProxySet[0].ClientIPMethod) != "[1]" ||
		fmt.Sprint(detail.ProxyGroupDetail.ClientIPMethod) != "[1]" {
		t.Errorf("ClientIPMethod of an IPv6 proxy %v, of an IPv6 group %v; want [1] (TOA is refused on them)",
			proxies.ProxySet, detail.ProxyGroupDetail.ClientIPMethod)
	}
}
