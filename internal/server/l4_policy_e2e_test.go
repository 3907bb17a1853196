package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
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

// listenerTo starts a named TCP origin, registers it and binds it to a new
// TCP listener of proxy; it returns the listener and its address.
func (n *node) listenerTo(proxy string, ip netip.Addr, name string) (string, netip.AddrPort) {
	n.t.Helper()
	return n.listenerServing(proxy, ip, proxyProtocolName(n.t, name))
}

// listenerServing starts a TCP origin that handles its connections with
// handle, registers it and binds it to a new TCP listener of proxy; it
// returns the listener and its address.
func (n *node) listenerServing(proxy string, ip netip.Addr, handle func(net.Conn)) (string, netip.AddrPort) {
	n.t.Helper()
	o := edgetest.StartTCP(n.t, netip.AddrPortFrom(origins.Next(), 0), handle)
	ids := n.realServers(o.Addr.Addr())
	listener, port := n.tcpListener(proxy, ip, "rr", false)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: o.Addr})
	return listener, netip.AddrPortFrom(ip, uint16(port))
}

// createPolicy creates a security policy of proxy with its rules; it is
// not enforced until opened.
func (n *node) createPolicy(proxy, defaultAction string, rules ...*gaapsdk.SecurityPolicyRuleIn) string {
	n.t.Helper()
	create := gaapsdk.NewCreateSecurityPolicyRequest()
	create.ProxyId, create.DefaultAction = &proxy, new(defaultAction)
	pol, err := n.c.CreateSecurityPolicy(create)
	if err != nil {
		n.t.Fatal(err)
	}
	policy := *pol.Response.PolicyId
	if len(rules) > 0 {
		req := gaapsdk.NewCreateSecurityRulesRequest()
		req.PolicyId, req.RuleList = &policy, rules
		if _, err := n.c.CreateSecurityRules(req); err != nil {
			n.t.Fatal(err)
		}
	}
	return policy
}

// openPolicy opens policy on proxy and waits until it is BOUND.
func (n *node) openPolicy(proxy, policy string) {
	n.t.Helper()
	open := gaapsdk.NewOpenSecurityPolicyRequest()
	open.ProxyId, open.PolicyId = &proxy, &policy
	if _, err := n.c.OpenSecurityPolicy(open); err != nil {
		n.t.Fatal(err)
	}
	n.until("policy BOUND", func() bool {
		d := gaapsdk.NewDescribeSecurityPolicyDetailRequest()
		d.PolicyId = &policy
		r, err := n.c.DescribeSecurityPolicyDetail(d)
		return err == nil && *r.Response.Status == "BOUND"
	})
}

// policyRule is a rule of Action act for src (an address or CIDR), proto
// (ALL, TCP, UDP) and ports (a DestPortRange form).
func policyRule(src, proto, ports, act string) *gaapsdk.SecurityPolicyRuleIn {
	return &gaapsdk.SecurityPolicyRuleIn{SourceCidr: new(src), Action: new(act), AliasName: new("r"), Protocol: new(proto), DestPortRange: new(ports)}
}

func TestSecurityPolicyEnforced(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	_, addr := n.listenerTo(proxy, ip, "ok")
	allowed, denied := origins.Next(), origins.Next()
	policy := n.createPolicy(proxy, "DROP", policyRule(allowed.String()+"/32", "TCP", "ALL", "ACCEPT"))
	// A created policy is not enforced until opened.
	if got, err := fetchFrom(denied, addr); err != nil || got != "ok" {
		t.Fatalf("before OpenSecurityPolicy: got %q, %v; want ok", got, err)
	}
	n.openPolicy(proxy, policy)
	n.until("policy enforced", func() bool {
		got, _ := fetchFrom(denied, addr)
		return got == ""
	})
	if got, err := fetchFrom(allowed, addr); err != nil || got != "ok" {
		t.Fatalf("allowed source: got %q, %v; want ok", got, err)
	}
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

// TestSecurityPolicyRuleForms: the first matching rule wins; DestPortRange
// lists ("1,<port>"), ranges and ALL, and Protocol TCP/UDP/ALL, select as
// the reference describes; a single address is a /32.
func TestSecurityPolicyRuleForms(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	_, addr := n.listenerTo(proxy, ip, "ok")
	p := int(addr.Port())
	a, b, c := origins.Next(), origins.Next(), origins.Next()
	n.openPolicy(proxy, n.createPolicy(proxy, "ACCEPT",
		policyRule(a.String(), "TCP", "1,"+strconv.Itoa(p), "DROP"),
		policyRule(b.String()+"/32", "UDP", "ALL", "DROP"),
		policyRule(c.String(), "ALL", strconv.Itoa(p-1)+"-"+strconv.Itoa(p+1), "DROP"),
		policyRule("127.0.0.0/8", "ALL", "ALL", "ACCEPT")))
	for _, tc := range []struct {
		src  netip.Addr
		want string
	}{{a, ""}, {b, "ok"}, {c, ""}, {origins.Next(), "ok"}} {
		if got, err := fetchFrom(tc.src, addr); got != tc.want {
			t.Errorf("from %v: got %q (%v); want %q", tc.src, got, err, tc.want)
		}
	}
}

// TestSecurityPolicyIPv6AllSparesIPv4: a rule for SourceCidr "::/0" holds
// every IPv6 address and no IPv4 one, so under DefaultAction ACCEPT an IPv4
// client stays served.
func TestSecurityPolicyIPv6AllSparesIPv4(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	_, addr := n.listenerTo(proxy, ip, "ok")
	src := origins.Next()
	n.openPolicy(proxy, n.createPolicy(proxy, "ACCEPT", policyRule("::/0", "ALL", "ALL", "DROP")))
	if got, err := fetchFrom(src, addr); err != nil || got != "ok" {
		t.Fatalf("IPv4 client %v under a DROP rule for ::/0 only: got %q, %v; want ok", src, got, err)
	}
}

// TestSecurityPolicyClosesOpenConnections: opening a policy that denies a
// client closes that client's open TCP connection (docs/dataplane-l4.md).
func TestSecurityPolicyClosesOpenConnections(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	_, addr := n.listenerServing(proxy, ip, edgetest.Echo)
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(origins.Next(), 0))}
	conn, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// echoed waits for b to come back (the PROXY header comes first).
	echoed := func(b byte) error {
		buf := make([]byte, 1)
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		for {
			if _, err := conn.Read(buf); err != nil {
				return err
			}
			if buf[0] == b {
				return nil
			}
		}
	}
	io.WriteString(conn, "x")
	if err := echoed('x'); err != nil {
		t.Fatal(err)
	}
	n.openPolicy(proxy, n.createPolicy(proxy, "DROP"))
	io.WriteString(conn, "y")
	if err := echoed('y'); err == nil {
		t.Fatal("an open connection of a denied client still served after the policy was opened")
	}
}

// TestSecurityPolicyUDPSessions: a UDP rule ends the denied client's open
// session and refuses new ones; a TCP-only rule leaves UDP alone.
func TestSecurityPolicyUDPSessions(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	to := n.udpEchoListener(proxy, ip)
	a, b := origins.Next(), origins.Next()
	dial := func(src netip.Addr) *net.UDPConn {
		c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), net.UDPAddrFromAddrPort(to))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// ask sends on c and returns the answer read within wait: a second
	// where none must come, more where one must (a new session's round
	// trip crosses the edge's and the origin's goroutines).
	ask := func(c *net.UDPConn, wait time.Duration) string {
		c.SetDeadline(time.Now().Add(wait))
		c.Write([]byte("p"))
		buf := make([]byte, 64)
		nr, _ := c.Read(buf)
		return string(buf[:nr])
	}
	const none, answered = time.Second, 5 * time.Second
	open := dial(a)
	if got := ask(open, answered); got != "echo:p" {
		t.Fatalf("before the policy: %q", got)
	}
	n.openPolicy(proxy, n.createPolicy(proxy, "ACCEPT",
		policyRule(a.String()+"/32", "UDP", strconv.Itoa(int(to.Port()))+",9", "DROP"), policyRule(b.String(), "TCP", "ALL", "DROP")))
	if got := ask(open, none); got != "" {
		t.Errorf("the denied client's open session: %q; want nothing", got)
	}
	if got := ask(dial(a), none); got != "" {
		t.Errorf("the denied client's new session: %q; want nothing", got)
	}
	if got := ask(dial(b), answered); got != "echo:p" {
		t.Errorf("a TCP-only rule dropped UDP: %q", got)
	}
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
	mod := xtest.Restartable(t.TempDir(), func(o *server.Options) {
		o.DrainGrace = 100 * time.Millisecond
		o.StatsInterval = time.Hour // Only Close records.
	})
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

// TestOneServePerStore: a second serve on a store in use is refused, naming
// the holder, whether it shares the data dir (SQLite's store is the data
// dir's) or only the PostgreSQL database (OPENGAAP_TEST_STORE=postgres);
// once the first stops, the store is free.
func TestOneServePerStore(t *testing.T) {
	dir := t.TempDir()
	var dsn string
	a := xtest.StartAPIWith(t, func(o *server.Options) {
		o.DataDir, o.StatsInterval = dir, time.Hour
		dsn = o.StoreDSN
	})
	start := func(dataDir string) (*server.Server, error) {
		return server.Start(t.Context(), server.Options{APIListen: "127.0.0.1:0", DataDir: dataDir,
			StoreDSN: dsn, VIPPool: xtest.NextVIPPool(), Root: xtest.Root, StatsInterval: time.Hour})
	}
	second := []string{dir}
	if dsn != "" {
		second = append(second, t.TempDir())
	}
	for _, d := range second {
		s, err := start(d)
		if err == nil {
			s.Close(t.Context())
			t.Fatalf("a second serve on the store (data dir %s) started; want a refusal", d)
		}
		t.Logf("refused: %v", err)
		want := fmt.Sprintf("opengaap serve pid %d on ", os.Getpid())
		if !errors.Is(err, sqlstore.ErrLocked) || !strings.Contains(err.Error(), want) ||
			// PostgreSQL keeps 63 bytes of the holder (application_name).
			(os.Getenv("OPENGAAP_TEST_STORE") != "postgres" && !strings.Contains(err.Error(), dir)) {
			t.Errorf("second serve: %v; want ErrLocked naming %q and data dir %s", err, want, dir)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := start(second[len(second)-1])
	if err != nil {
		t.Fatalf("serve after the first stopped: %v", err)
	}
	s.Close(ctx)
}
