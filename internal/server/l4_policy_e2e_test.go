package server_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// fetchFrom dials addr from the local address src and returns what it
// read, or the error.
func fetchFrom(src netip.Addr, addr netip.AddrPort) (string, error) {
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// origin starts a named TCP origin, registers it and binds it to a new
// TCP listener of proxy; it returns the listener's address.
func (n *node) listenerTo(proxy string, ip netip.Addr, name string) (string, netip.AddrPort) {
	n.t.Helper()
	o := edgetest.StartTCP(n.t, netip.AddrPortFrom(origins.Next(), 0), proxyProtocolName(n.t, name))
	ids := n.realServers(o.Addr.Addr())
	listener, port := n.tcpListener(proxy, ip, "rr", false)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: o.Addr})
	return listener, netip.AddrPortFrom(ip, uint16(port))
}

func TestSecurityPolicyEnforced(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	_, addr := n.listenerTo(proxy, ip, "ok")
	allowed, denied := origins.Next(), origins.Next()

	create := gaapsdk.NewCreateSecurityPolicyRequest()
	create.ProxyId, create.DefaultAction = &proxy, new("DROP")
	pol, err := n.c.CreateSecurityPolicy(create)
	if err != nil {
		t.Fatal(err)
	}
	policy := *pol.Response.PolicyId
	rules := gaapsdk.NewCreateSecurityRulesRequest()
	rules.PolicyId = &policy
	rules.RuleList = []*gaapsdk.SecurityPolicyRuleIn{{SourceCidr: new(allowed.String() + "/32"), Action: new("ACCEPT"),
		AliasName: new("allow"), Protocol: new("TCP"), DestPortRange: new("ALL")}}
	if _, err := n.c.CreateSecurityRules(rules); err != nil {
		t.Fatal(err)
	}
	// A created policy is not enforced until opened.
	if got, err := fetchFrom(denied, addr); err != nil || got != "ok" {
		t.Fatalf("before OpenSecurityPolicy: got %q, %v; want ok", got, err)
	}
	open := gaapsdk.NewOpenSecurityPolicyRequest()
	open.ProxyId, open.PolicyId = &proxy, &policy
	if _, err := n.c.OpenSecurityPolicy(open); err != nil {
		t.Fatal(err)
	}
	n.until("policy enforced", func() bool {
		got, _ := fetchFrom(denied, addr)
		return got == ""
	})
	if got, err := fetchFrom(allowed, addr); err != nil || got != "ok" {
		t.Fatalf("allowed source: got %q, %v; want ok", got, err)
	}
	n.until("policy BOUND", func() bool {
		d := gaapsdk.NewDescribeSecurityPolicyDetailRequest()
		d.PolicyId = &policy
		r, err := n.c.DescribeSecurityPolicyDetail(d)
		return err == nil && *r.Response.Status == "BOUND"
	})
	closeReq := gaapsdk.NewCloseSecurityPolicyRequest()
	closeReq.ProxyId, closeReq.PolicyId = &proxy, &policy
	if _, err := n.c.CloseSecurityPolicy(closeReq); err != nil {
		t.Fatal(err)
	}
	n.until("policy lifted", func() bool {
		got, _ := fetchFrom(denied, addr)
		return got == "ok"
	})
}

func TestCloseAndOpenProxy(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	_, addr := n.listenerTo(proxy, ip, "ok")
	src := origins.Next()
	req := gaapsdk.NewCloseProxiesRequest()
	req.ProxyIds = []*string{&proxy}
	if _, err := n.c.CloseProxies(req); err != nil {
		t.Fatal(err)
	}
	n.until("closed proxy refuses", func() bool {
		_, err := fetchFrom(src, addr)
		return err != nil
	})
	open := gaapsdk.NewOpenProxiesRequest()
	open.ProxyIds = []*string{&proxy}
	if _, err := n.c.OpenProxies(open); err != nil {
		t.Fatal(err)
	}
	n.until("reopened proxy serves", func() bool {
		got, err := fetchFrom(src, addr)
		return err == nil && got == "ok"
	})
}

// TestRestartRestoresListeners stops a node and starts another on the same
// data directory: the listener serves again before any API call is made.
func TestRestartRestoresListeners(t *testing.T) {
	dir, pool, dsn := t.TempDir(), xtest.NextVIPPool(), ""
	mod := func(o *server.Options) {
		o.DataDir, o.VIPPool, o.DrainGrace = dir, pool, 100*time.Millisecond
		o.StatsInterval = time.Hour // Only Close records.
		if dsn == "" {
			dsn = o.StoreDSN // the second node opens the first one's store
		}
		o.StoreDSN = dsn
	}
	api := xtest.StartAPIWith(t, mod)
	n := &node{API: api, c: api.GAAP(), t: t}
	proxy, ip := n.proxy()
	listener, addr := n.listenerTo(proxy, ip, "ok")
	if got, err := fetchFrom(origins.Next(), addr); err != nil || got != "ok" {
		t.Fatalf("before the stop: got %q, %v", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := api.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fetchFrom(origins.Next(), addr); err == nil {
		t.Fatal("the listener still answers after the node stopped")
	}
	api2 := xtest.StartAPIWith(t, mod)
	if got, err := fetchFrom(origins.Next(), addr); err != nil || got != "ok" {
		t.Fatalf("after restart: got %q, %v; want ok at once", got, err)
	}
	// The stop recorded the last, partial minute: the connection is in it.
	pts, err := api2.Store.Stats().Query(ctx, listener, "OutBandwidth", 60, time.Now().Add(-2*time.Minute), time.Now())
	if err != nil || len(pts) == 0 || pts[len(pts)-1].Value <= 0 {
		t.Errorf("statistics of the minute before the stop: %+v, %v; want its traffic", pts, err)
	}
}
