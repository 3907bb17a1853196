package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// l7ChurnOrigins hands out origin addresses 127.77.203.x for the L7 churn
// test.
var l7ChurnOrigins = edgetest.NewAlloc(203)

const churnHost = "www.churn.test"

// churnSite is what the L7 churn test built through the API.
type churnSite struct {
	https, http     string            // Listener IDs.
	httpsAddr, addr netip.AddrPort    // Their access addresses.
	loaded          [2]string         // The "/load" rule of https and http: modified, rebound, headers set.
	origins         [2]string         // Real server IDs of the two origins.
	originAddr      [2]netip.AddrPort // Their addresses.
	bound           [2]int            // Index of the origin each loaded rule is bound to.
	ca              *testCA           // Issues the certificates rotated on the HTTPS domain.
	tmp             string            // The rule being created, bound and deleted.
	lastHeader      [2]string         // Last X-Churn value set on each loaded rule.
	lastCert        string            // Common name of the certificate last put on the HTTPS domain.
	scheds          []string          // Schedulers ModifyRuleAttribute cycles through.
	counts          map[string]int    // Changes made, by action.
	tlsCfg          *tls.Config       // Trusts ca.
}

// churnCounters is what the traffic of a churn test saw. A test that
// records its changes with changed gets each noted failure blamed on the
// change made last before it.
type churnCounters struct {
	ok, failed, echoes, dropped atomic.Int64
	mu                          sync.Mutex
	firstFailures               []string
	changes                     []string         // Changes made, as recorded by changed.
	lastChange                  time.Time        // When the last of them was made.
	byKind                      map[string]int64 // Successes by kind of traffic, as counted by count.
}

// fail counts a failure and notes it.
func (c *churnCounters) fail(format string, args ...any) {
	c.failed.Add(1)
	c.note(format, args...)
}

// note keeps the first failures for the report.
func (c *churnCounters) note(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.firstFailures) >= 10 {
		return
	}
	msg := time.Now().Format("15:04:05.000 ") + fmt.Sprintf(format, args...)
	if k := len(c.changes); k > 0 {
		msg += fmt.Sprintf(" (%v after change %s)", time.Since(c.lastChange).Round(time.Millisecond), c.changes[k-1])
	}
	c.firstFailures = append(c.firstFailures, msg)
}

// changed records a change about to be made.
func (c *churnCounters) changed(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes, c.lastChange = append(c.changes, what), time.Now()
}

// count counts a success of traffic of kind.
func (c *churnCounters) count(kind string) {
	c.ok.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKind == nil {
		c.byKind = map[string]int64{}
	}
	c.byKind[kind]++
}

// kinds returns a copy of the successes by kind.
func (c *churnCounters) kinds() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byKind)
}

// TestL7ChurnKeepsRequestsAndWebSockets makes 200 changes to an HTTPS and
// an HTTP listener through the API (rules created, bound and deleted on
// other paths; the loaded rules' scheduler and health check modified,
// their origins swapped, custom headers set; the HTTPS domain's
// certificate rotated by ModifyCertificate and ModifyDomain) while 8
// clients send requests continuously to the loaded rules and 50
// WebSockets through them echo a message every 200 ms. No request may
// fail, no WebSocket may drop, and the last certificate and header must
// be in force at the end.
func TestL7ChurnKeepsRequestsAndWebSockets(t *testing.T) {
	if testing.Short() {
		t.Skip("churn test in -short mode")
	}
	n := startL7Node(t)
	s := n.churnSite()
	start := time.Now()
	cnt := &churnCounters{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		c, base := churnClient(s.addr, nil, i%4 < 2), "http://"+churnHost
		if i%2 == 0 {
			c, base = churnClient(s.httpsAddr, s.tlsCfg, i%4 < 2), "https://"+churnHost
		}
		t.Cleanup(c.CloseIdleConnections)
		wg.Go(func() { churnLoad(fmt.Sprint("client ", i), c, base, stop, cnt) })
	}
	for i := range 50 {
		addr, cfg := s.addr, (*tls.Config)(nil)
		if i%2 == 0 {
			addr, cfg = s.httpsAddr, s.tlsCfg
		}
		c := churnWebSocket(t, addr, cfg)
		wg.Go(func() { churnEcho(c, i, stop, cnt) })
	}

	for i := range 200 {
		n.l7ChurnStep(i, s)
	}
	churned := time.Since(start)
	time.Sleep(300 * time.Millisecond) // Traffic after the last change.
	close(stop)
	wg.Wait()
	t.Logf("200 changes %v in %v; %d requests ok, %d failed; %d WebSocket echoes, %d of 50 dropped",
		s.counts, churned.Round(time.Millisecond), cnt.ok.Load(), cnt.failed.Load(), cnt.echoes.Load(), cnt.dropped.Load())
	if cnt.failed.Load() != 0 || cnt.dropped.Load() != 0 {
		t.Errorf("during 200 changes: %d requests failed, %d of 50 WebSockets dropped; want 0 and 0; first failures:\n%v",
			cnt.failed.Load(), cnt.dropped.Load(), cnt.firstFailures)
	}
	if cnt.ok.Load() < 1000 || cnt.echoes.Load() < 50*5 {
		t.Errorf("only %d requests and %d echoes went through; the load did not run", cnt.ok.Load(), cnt.echoes.Load())
	}
	n.churnFinalState(s)
}

// churnSite builds two origins, an HTTPS and an HTTP listener with the
// domain churnHost, and on each the rules "/" and "/load" to origin 0.
func (n *node) churnSite() *churnSite {
	n.t.Helper()
	proxy, ip := n.proxy()
	s := &churnSite{ca: newTestCA(n.t, "churn CA"), scheds: []string{"wrr", "lc", "rr"}, counts: map[string]int{}}
	for i := range s.originAddr {
		s.originAddr[i] = echoOrigin(n.t, l7ChurnOrigins, fmt.Sprint("o", i))
	}
	copy(s.origins[:], n.realServers(s.originAddr[0].Addr(), s.originAddr[1].Addr()))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(s.ca.pem))
	s.tlsCfg = &tls.Config{RootCAs: roots, ServerName: churnHost}
	cert, key := s.ca.leaf(n.t, "listener", churnHost)
	var port int
	s.https, port = n.churnHTTPSListener(proxy, ip, n.cert(2, cert, key))
	s.httpsAddr = netip.AddrPortFrom(ip, uint16(port))
	s.http, port = n.httpListener(proxy, ip)
	s.addr = netip.AddrPortFrom(ip, uint16(port))
	for i, l := range []string{s.https, s.http} {
		n.domain(l, churnHost, "", "")
		o := map[string]netip.AddrPort{s.origins[0]: s.originAddr[0]}
		n.rule(l, churnHost, "/", nil, o)
		s.loaded[i] = n.rule(l, churnHost, "/load", nil, o)
	}
	return s
}

func (n *node) churnHTTPSListener(proxy string, ip netip.Addr, cert string) (string, int) {
	n.t.Helper()
	port := edgetest.FreePort(n.t, ip)
	req := gaapsdk.NewCreateHTTPSListenerRequest()
	req.ProxyId, req.ListenerName, req.Port = new(proxy), new("https"), new(uint64(port))
	req.CertificateId, req.ForwardProtocol, req.AuthType = new(cert), new("HTTP"), new(uint64(0))
	resp, err := n.c.CreateHTTPSListener(req)
	if err != nil {
		n.t.Fatal(err)
	}
	id := *resp.Response.ListenerId
	n.waitListener(id)
	return id, port
}

// churnClient connects to addr; keepAlive false makes a connection (and
// TLS handshake) per request, so certificate rotations are seen.
func churnClient(addr netip.AddrPort, tlsCfg *tls.Config, keepAlive bool) *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg.Clone(), // The transport adds h2 to it.
		ForceAttemptHTTP2: true, DisableKeepAlives: !keepAlive,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr.String())
		}}}
}

// churnLoad alternates GET / and GET /load/x until stop, counting every
// answer that is not a 200 from an origin as a failure of kind. It leaves
// c's connections open: others may share c, and an HTTP/3 transport's
// CloseIdleConnections also closes connections with a response body still
// being read.
func churnLoad(kind string, c *http.Client, base string, stop <-chan struct{}, cnt *churnCounters) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		url := base + []string{"/", "/load/x"}[i%2]
		resp, err := c.Get(url)
		if err != nil {
			cnt.fail("%s: GET %s: %v", kind, url, err)
			continue
		}
		var a answer
		err = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || a.Name == "" {
			cnt.fail("%s: GET %s: %s %s, origin answer %v", kind, url, resp.Proto, resp.Status, err)
			continue
		}
		cnt.count(kind)
	}
}

// churnWebSocket upgrades GET /load/ws on addr (over TLS with cfg).
func churnWebSocket(t *testing.T, addr netip.AddrPort, cfg *tls.Config) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		cfg = cfg.Clone()
		cfg.NextProtos = []string{"http/1.1"} // HTTP/2 has no Upgrade.
		c = tls.Client(c, cfg)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "GET /load/ws HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", churnHost)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols || br.Buffered() != 0 {
		t.Fatalf("WebSocket upgrade on %s: got %v, %v", addr, resp, err)
	}
	return c
}

// churnEcho sends a message on c every 200 ms until stop and expects it
// back within 3 s; otherwise the WebSocket counts as dropped.
func churnEcho(c net.Conn, id int, stop <-chan struct{}, cnt *churnCounters) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for k := 0; ; k++ {
		msg := fmt.Sprintf("ws %d message %d\n", id, k)
		c.SetDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, len(msg))
		if _, err := io.WriteString(c, msg); err != nil {
			cnt.dropped.Add(1)
			cnt.note("WebSocket %d: write %d: %v", id, k, err)
			return
		}
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			cnt.dropped.Add(1)
			cnt.note("WebSocket %d: echo %d: got %q, %v", id, k, buf, err)
			return
		}
		cnt.echoes.Add(1)
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// l7ChurnStep makes change i of a cycle of 8; odd cycles work on the HTTP
// listener's rules, even ones on the HTTPS listener's.
func (n *node) l7ChurnStep(i int, s *churnSite) {
	n.t.Helper()
	side := i / 8 % 2
	listener, loaded := []string{s.https, s.http}[side], s.loaded[side]
	switch i % 8 {
	case 0:
		var resp struct{ RuleId string }
		n.churnCall(i, s, "CreateRule", map[string]any{"ListenerId": listener, "Domain": churnHost,
			"Path": fmt.Sprintf("/tmp/%d", i), "RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0}, &resp)
		s.tmp = resp.RuleId
		n.settleRule(i, s.tmp)
	case 1:
		n.churnBind(i, s, s.tmp, 1-s.bound[side])
		n.settleRule(i, s.tmp)
	case 2:
		n.churnCall(i, s, "ModifyRuleAttribute", map[string]any{"ListenerId": listener, "RuleId": loaded,
			"Scheduler": s.scheds[i/8%len(s.scheds)]}, nil)
		n.settleRule(i, loaded)
	case 3:
		s.bound[side] = 1 - s.bound[side]
		n.churnBind(i, s, loaded, s.bound[side])
		n.settleRule(i, loaded)
	case 4:
		s.lastHeader[side] = fmt.Sprint("change-", i)
		n.churnCall(i, s, "CreateCustomHeader", map[string]any{"RuleId": loaded,
			"Headers": []map[string]string{{"HeaderName": "X-Churn", "HeaderValue": s.lastHeader[side]}}}, nil)
		n.settleRule(i, loaded)
	case 5:
		n.churnCall(i, s, "DeleteRule", map[string]any{"ListenerId": listener, "RuleId": s.tmp, "Force": 1}, nil)
		n.settleGone(i, s.tmp)
	case 6:
		action := []string{"ModifyCertificate", "ModifyDomain"}[i/8%2]
		s.lastCert = fmt.Sprint("rotated-", i)
		cert, key := s.ca.leaf(n.t, s.lastCert, churnHost)
		params := map[string]any{"ListenerId": s.https, "Domain": churnHost, "CertificateId": n.cert(2, cert, key)}
		if action == "ModifyDomain" {
			params["OldDomain"], params["NewDomain"] = churnHost, churnHost
			delete(params, "Domain")
		}
		n.churnCall(i, s, action, params, nil)
		n.settleDomain(i, s.https)
	case 7:
		params := map[string]any{"ListenerId": listener, "RuleId": loaded, "HealthCheck": i / 16 % 2}
		if i/16%2 == 1 {
			params["CheckParams"] = map[string]any{"DelayLoop": 5, "ConnectTimeout": 2, "Path": "/", "Method": "HEAD",
				"StatusCode": []int{200, 300}}
		}
		n.churnCall(i, s, "ModifyRuleAttribute", params, nil)
		n.settleRule(i, loaded)
	}
}

// churnCall makes change i through the API and counts it.
func (n *node) churnCall(i int, s *churnSite, action string, params, resp any) {
	n.t.Helper()
	if err := n.Call(n.c, action, params, resp); err != nil {
		n.t.Fatalf("change %d, %s: %v", i, action, err)
	}
	s.counts[action]++
}

// churnBind binds origin o alone to rule through the SDK.
func (n *node) churnBind(i int, s *churnSite, rule string, o int) {
	n.t.Helper()
	req := gaapsdk.NewBindRuleRealServersRequest()
	req.RuleId = new(rule)
	req.RealServerBindSet = []*gaapsdk.RealServerBindSetReq{{RealServerId: new(s.origins[o]),
		RealServerIP: new(s.originAddr[o].Addr().String()), RealServerPort: new(uint64(s.originAddr[o].Port())),
		RealServerWeight: new(uint64(1))}}
	if _, err := n.c.BindRuleRealServers(req); err != nil {
		n.t.Fatalf("change %d, BindRuleRealServers: %v", i, err)
	}
	s.counts["BindRuleRealServers"]++
}

// settle polls cond every 20 ms (the node has no rate limits) for up to
// 10 s.
func (n *node) settle(i int, what string, cond func() bool) {
	n.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			n.t.Fatalf("change %d: timed out waiting for %s", i, what)
		}
	}
}

func (n *node) settleRule(i int, id string) {
	n.t.Helper()
	n.settle(i, "rule "+id+" status 0", func() bool {
		d := gaapsdk.NewDescribeRulesByRuleIdsRequest()
		d.RuleIds = []*string{new(id)}
		r, err := n.c.DescribeRulesByRuleIds(d)
		return err == nil && len(r.Response.RuleSet) == 1 && *r.Response.RuleSet[0].RuleStatus == 0
	})
}

// settleGone waits until rule id no longer exists.
func (n *node) settleGone(i int, id string) {
	n.t.Helper()
	n.settle(i, "rule "+id+" deleted", func() bool {
		d := gaapsdk.NewDescribeRulesByRuleIdsRequest()
		d.RuleIds = []*string{new(id)}
		_, err := n.c.DescribeRulesByRuleIds(d)
		var e *sdkerrors.TencentCloudSDKError
		return errors.As(err, &e) && e.Code == "ResourceNotFound"
	})
}

func (n *node) settleDomain(i int, listener string) {
	n.t.Helper()
	n.settle(i, "domain "+churnHost+" status 0", func() bool {
		d := gaapsdk.NewDescribeRulesRequest()
		d.ListenerId = new(listener)
		r, err := n.c.DescribeRules(d)
		if err != nil {
			return false
		}
		for _, ds := range r.Response.DomainRuleSet {
			if *ds.Domain == churnHost {
				return *ds.DomainStatus == 0
			}
		}
		return false
	})
}

// churnFinalState checks the last changes are in force: a new HTTPS
// handshake gets the last certificate, the loaded rules send their last
// header to the origin they were last bound to.
func (n *node) churnFinalState(s *churnSite) {
	n.t.Helper()
	for side, addr := range []netip.AddrPort{s.httpsAddr, s.addr} {
		base, cfg := "https://"+churnHost, s.tlsCfg
		if side == 1 {
			base, cfg = "http://"+churnHost, nil
		}
		resp, body := request(n.t, churnClient(addr, cfg, false), base, churnHost, "/load/x", nil)
		got := parse(n.t, body)
		if want := fmt.Sprint("o", s.bound[side]); got.Name != want || got.Header.Get("X-Churn") != s.lastHeader[side] {
			n.t.Errorf("%s/load: origin %s saw X-Churn %q; want origin %s and %q", base, got.Name,
				got.Header.Get("X-Churn"), want, s.lastHeader[side])
		}
		if side == 0 {
			if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != s.lastCert {
				n.t.Errorf("HTTPS certificate: got %q; want the last rotated one, %q", cn, s.lastCert)
			}
		}
	}
}
