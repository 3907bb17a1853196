package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"
	vpcsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/xtest"
)

// One bad stored object fails alone (docs/controller.md). These tests
// write a row directly, as a corruption or an older release leaves it.

// patchStored rewrites one stored row's JSON document with edit.
func patchStored(t *testing.T, api *xtest.API, kind, id string, edit func(doc map[string]any)) {
	t.Helper()
	err := api.Store.Update(t.Context(), func(tx store.Tx) error {
		r, err := tx.Get(kind, id)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := json.Unmarshal(r.Data, &doc); err != nil {
			return err
		}
		edit(doc)
		r.Data, _ = json.Marshal(doc)
		return tx.Put(r)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// restartableNode starts a node on a store that restart opens again; more
// sets further options of every start.
func restartableNode(t *testing.T, more func(*server.Options)) (*node, func(*server.Options)) {
	t.Helper()
	mod := xtest.Restartable(t.TempDir(), more)
	api := xtest.StartAPIWith(t, mod)
	return &node{API: api, c: api.GAAP(), t: t}, mod
}

// restart closes n's server and starts another with mod on its store.
func (n *node) restart(mod func(*server.Options)) *node {
	n.t.Helper()
	n.stop()
	api := xtest.StartAPIWith(n.t, mod)
	return &node{API: api, c: api.GAAP(), t: n.t}
}

// stop closes n's server, giving it 5 s.
func (n *node) stop() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.API.Close(ctx); err != nil {
		n.t.Fatal(err)
	}
}

// startsAgain stops n and checks that a server with mod starts on its
// store (what: what the store holds), closing it again.
func (n *node) startsAgain(mod func(*server.Options), what string) {
	n.t.Helper()
	n.stop()
	o := server.Options{APIListen: "127.0.0.1:0", Root: xtest.Root}
	mod(&o)
	s, err := server.Start(context.Background(), o)
	if err != nil {
		n.t.Fatalf("restart with %s: %v", what, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Close(ctx)
}

// tcpListenerStatus is ListenerStatus of a TCP listener (-1: absent).
func (n *node) tcpListenerStatus(id string) int64 {
	var r struct {
		ListenerSet []struct{ ListenerStatus int64 }
	}
	if err := n.Call(n.c, "DescribeTCPListeners", map[string]any{"ListenerId": id}, &r); err != nil || len(r.ListenerSet) != 1 {
		return -1
	}
	return r.ListenerSet[0].ListenerStatus
}

// TestUndecodableRowFailsAlone: a stored real server whose "projectId" is
// a string no longer decodes. It is skipped: a later change on another
// object still reaches the data plane, and a restart on that store starts.
func TestUndecodableRowFailsAlone(t *testing.T) {
	n, mod := restartableNode(t, func(o *server.Options) { o.DrainGrace = 100 * time.Millisecond })
	proxy, ip := n.proxy()
	_, addr := n.listenerTo(proxy, ip, "before")
	rs := n.realServers(origins.Next())[0]
	patchStored(t, n.API, model.KindRealServer, rs, func(doc map[string]any) { doc["projectId"] = "0" })

	params := map[string]any{"ProxyId": proxy, "ListenerName": "after", "Ports": []int{int(addr.Port()) + 1},
		"Scheduler": "rr", "RealServerType": "IP", "ClientIPMethod": 1, "HealthCheck": 0}
	var resp struct{ ListenerIds []string }
	if err := n.Call(n.c, "CreateTCPListeners", params, &resp); err != nil {
		t.Fatal(err)
	}
	n.until("a new listener beside the undecodable row runs", func() bool {
		return n.tcpListenerStatus(resp.ListenerIds[0]) == 0
	})

	n.startsAgain(mod, "one undecodable row")
}

// TestUndecodableRowLeftOutOfDescribe: a stored real server that does not
// decode made every DescribeRealServers of its account an InternalError
// ("retry later") for good; it is left out of lists, the others listed, and
// an action on it says which stored object cannot be read.
func TestUndecodableRowLeftOutOfDescribe(t *testing.T) {
	n := startNode(t)
	rss := n.realServers(origins.Next(), origins.Next())
	patchStored(t, n.API, model.KindRealServer, rss[0], func(doc map[string]any) { doc["projectId"] = "0" })
	var r struct {
		TotalCount    int
		RealServerSet []struct{ RealServerId string }
	}
	if err := n.Call(n.c, "DescribeRealServers", map[string]any{"ProjectId": -1}, &r); err != nil {
		t.Fatalf("DescribeRealServers beside an undecodable row: %v", err)
	}
	if r.TotalCount != 1 || len(r.RealServerSet) != 1 || r.RealServerSet[0].RealServerId != rss[1] {
		t.Errorf("DescribeRealServers = %+v; want only %s", r, rss[1])
	}
	err := n.Call(n.c, "RemoveRealServers", map[string]any{"RealServerIds": []string{rss[0]}}, nil)
	if err == nil || !strings.Contains(err.Error(), "InternalError") || !strings.Contains(err.Error(), rss[0]) {
		t.Errorf("RemoveRealServers of the undecodable row: %v; want an InternalError naming %s", err, rss[0])
	}
}

// TestUndecodableProxyServeStarts: serve reads every stored proxy as it
// starts (IPv6 proxies with IPv4 addresses, WarnIPv4AddressedIPv6); one
// that did not decode made it refuse to start.
func TestUndecodableProxyServeStarts(t *testing.T) {
	n, mod := restartableNode(t, func(o *server.Options) { o.DrainGrace = 100 * time.Millisecond })
	proxy, _ := n.proxy()
	patchStored(t, n.API, model.KindProxy, proxy, func(doc map[string]any) { doc["projectId"] = "0" })
	n.startsAgain(mod, "an undecodable proxy")
}

// taskStatus waits until the task named by a RequestId finishes and
// returns its status.
func (n *node) taskStatus(task string) string {
	n.t.Helper()
	var status struct{ Status string }
	n.until("task "+task+" finished", func() bool {
		if err := n.Call(n.c, "DescribeTaskStatus", map[string]string{"TaskId": task}, &status); err != nil {
			n.t.Fatal(err)
		}
		return status.Status != "RUNNING"
	})
	return status.Status
}

// openRejectedPolicy makes a proxy with a listener and a policy holding a
// rule the data plane rejects (an older row's port list "80-"), opens it
// and returns the proxy, the policy and the open task's final status.
func (n *node) openRejectedPolicy() (proxy, policy, status string) {
	n.t.Helper()
	proxy, ip := n.proxy()
	n.listenerTo(proxy, ip, "ok")
	policy = n.createPolicy(proxy, "DROP", policyRule("192.0.2.0/24", "TCP", "80", "ACCEPT"))
	patchStored(n.t, n.API, model.KindPolicy, policy, func(doc map[string]any) {
		doc["rules"].([]any)[0].(map[string]any)["destPortRange"] = "80-"
	})
	open := gaapsdk.NewOpenSecurityPolicyRequest()
	open.ProxyId, open.PolicyId = &proxy, &policy
	resp, err := n.c.OpenSecurityPolicy(open)
	if err != nil {
		n.t.Fatal(err)
	}
	return proxy, policy, n.taskStatus(*resp.Response.RequestId)
}

// TestOpenPolicyRejectedByEdgeFails: opening a policy holding a rule the
// data plane rejects (an older row's port list) is not applied, so its
// task is FAIL and the policy does not read BOUND.
func TestOpenPolicyRejectedByEdgeFails(t *testing.T) {
	n := startNode(t)
	_, policy, status := n.openRejectedPolicy()
	d := gaapsdk.NewDescribeSecurityPolicyDetailRequest()
	d.PolicyId = &policy
	pd, err := n.c.DescribeSecurityPolicyDetail(d)
	if err != nil {
		t.Fatal(err)
	}
	if status != "FAIL" || *pd.Response.Status == model.PolicyBound {
		t.Errorf("policy the data plane rejects reads %s, its OpenSecurityPolicy task %s; want not BOUND and FAIL",
			*pd.Response.Status, status)
	}
}

// TestBadRuleOfUnopenedPolicyDoesNotMatter: a policy merely created is
// not enforced, so a rule of it the data plane would reject (an older
// row) leaves its proxy alone, also after a restart.
func TestBadRuleOfUnopenedPolicyDoesNotMatter(t *testing.T) {
	n, mod := restartableNode(t, func(o *server.Options) { o.DrainGrace = 100 * time.Millisecond })
	proxy, ip := n.proxy()
	listener, addr := n.listenerTo(proxy, ip, "ok")
	policy := n.createPolicy(proxy, "ACCEPT", policyRule("10.0.0.0/8", "TCP", "80", "DROP"))
	patchStored(t, n.API, model.KindPolicy, policy, func(doc map[string]any) {
		doc["rules"].([]any)[0].(map[string]any)["destPortRange"] = "80-"
	})
	n2 := n.restart(mod)
	if got, err := fetchFrom(origins.Next(), addr); err != nil || got != "ok" {
		t.Errorf("after a restart, listener %s (ListenerStatus %d) of a proxy with an unopened bad policy: %q, %v; want it served",
			listener, n2.tcpListenerStatus(listener), got, err)
	}
}

// TestBadOriginFailsAlone: a real server whose stored address is not an IP
// literal (an older row stored "ip:port") gets no traffic and reads
// abnormal, while its listener serves from its other origin, also after a
// restart.
func TestBadOriginFailsAlone(t *testing.T) {
	n, mod := restartableNode(t, func(o *server.Options) { o.DrainGrace = 100 * time.Millisecond })
	proxy, ip := n.proxy()
	ids, srvs := n.proxyNamedOrigins("a", "b")
	listener, port := n.tcpListener(proxy, ip, "rr", false)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: srvs[0].Addr, ids[1]: srvs[1].Addr})
	patchStored(t, n.API, model.KindRealServer, ids[1], func(doc map[string]any) {
		doc["address"] = srvs[1].Addr.String()
	})
	n2 := n.restart(mod)
	for range 4 { // rr: the bad origin would take every other connection
		if got, err := fetchFrom(origins.Next(), netip.AddrPortFrom(ip, uint16(port))); err != nil || got != "a" {
			t.Fatalf("listener %s with one bad origin of two: got %q, %v; want origin a every time", listener, got, err)
		}
	}
	n2.until("the bad origin reads abnormal", func() bool {
		st, _ := n2.originStatus("TCP", listener, ids[1])
		return st == 1
	})
	if st, _ := n2.originStatus("TCP", listener, ids[0]); st != 0 || n2.tcpListenerStatus(listener) != 0 {
		t.Errorf("good origin status %d, listener status %d; want both 0", st, n2.tcpListenerStatus(listener))
	}
}

// certPair is goodAndBadCerts' setting.
type certPair struct {
	ca       *testCA
	bad      string // The certificate of bad.ZONE.test, for the test to spoil.
	b        netip.AddrPort
	ids      []string // Origins a and b.
	listener string
	ip       netip.Addr
	port     int
}

// goodAndBadCerts starts a restartable node with an HTTPS listener whose
// certificate and good.ZONE.test's come from one CA, the domain served by
// origin a through "/"; bad.ZONE.test's certificate (for origin b) is
// stored for the test to create and spoil.
func goodAndBadCerts(t *testing.T, zone string) (*node, func(*server.Options), certPair) {
	t.Helper()
	n, mod := restartableNode(t, func(o *server.Options) { o.NoRateLimits, o.DrainGrace = true, 100*time.Millisecond })
	proxy, ip := n.proxy()
	ca := newTestCA(t, zone+" CA")
	goodPEM, goodKey := ca.leaf(t, "good", "good."+zone+".test")
	good := n.cert(2, goodPEM, goodKey)
	badPEM, badKey := ca.leaf(t, "bad", "bad."+zone+".test")
	bad := n.cert(2, badPEM, badKey)
	a, b := echoOrigin(t, l7Origins, "a"), echoOrigin(t, l7Origins, "b")
	ids := n.realServers(a.Addr(), b.Addr())
	listener, port := n.churnHTTPSListener(proxy, ip, good)
	n.domain(listener, "good."+zone+".test", "", "")
	n.rule(listener, "good."+zone+".test", "/", nil, map[string]netip.AddrPort{ids[0]: a})
	return n, mod, certPair{ca: ca, bad: bad, b: b, ids: ids, listener: listener, ip: ip, port: port}
}

// TestBadDomainCertificateFailsAlone: a domain whose certificate no longer
// parses (corrupted, or an older format), or whose key no longer unseals
// (a corrupted row, a key sealed under another certificate-keys.key), is
// left out of its HTTPS listener alone: its CreateDomain task is FAIL, and
// the listener's other domain keeps getting changes and is served, also
// after a restart. A key that did not unseal used to fail the whole
// listener.
func TestBadDomainCertificateFailsAlone(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(doc map[string]any)
	}{
		{"content does not parse", func(doc map[string]any) {
			doc["content"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}},
		{"key does not unseal", func(doc map[string]any) { // Valid base64, wrong ciphertext.
			doc["keySealed"] = strings.Repeat("A", 64)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, mod, f := goodAndBadCerts(t, "poison")
			ca, bad, b, ids, listener, ip, port := f.ca, f.bad, f.b, f.ids, f.listener, f.ip, f.port

			// CreateDomain reads the certificate for its name check: the row goes
			// bad after the call, before the controller's pass.
			release := n.Controller.Hold()
			req := gaapsdk.NewCreateDomainRequest()
			req.ListenerId, req.Domain, req.CertificateId = new(listener), new("bad.poison.test"), new(bad)
			resp, err := n.c.CreateDomain(req)
			if err != nil {
				release()
				t.Fatal(err)
			}
			patchStored(t, n.API, model.KindCertificate, bad, tc.edit)
			release()
			if st := n.taskStatus(*resp.Response.RequestId); st != "FAIL" {
				t.Errorf("CreateDomain with a certificate the data plane cannot use: task %s; want FAIL", st)
			}

			n.rule(listener, "good.poison.test", "/new", nil, map[string]netip.AddrPort{ids[1]: b})
			addr := netip.AddrPortFrom(ip, uint16(port))
			roots := x509.NewCertPool()
			roots.AddCert(ca.cert)
			c := pinnedClient(addr, &tls.Config{RootCAs: roots, ServerName: "good.poison.test"})
			if r, body := request(t, c, "https://good.poison.test", "good.poison.test", "/new", nil); r.StatusCode != 200 || !strings.Contains(body, `"name":"b"`) {
				t.Errorf("new rule on the good domain: %d %q; want origin b", r.StatusCode, body)
			}

			n.restart(mod)
			c2 := pinnedClient(addr, &tls.Config{RootCAs: roots, ServerName: "good.poison.test"})
			if r, body := request(t, c2, "https://good.poison.test", "good.poison.test", "/new", nil); r.StatusCode != 200 || !strings.Contains(body, `"name":"b"`) {
				t.Errorf("good domain after a restart: %d %q; want origin b", r.StatusCode, body)
			}
		})
	}
}

// TestUndecodableClientCAKeepsMutualTLS guards fail-closed mutual TLS: an
// HTTPS listener with mutual authentication (AuthType 1) whose client-CA
// certificate row no longer decodes is never served without the client
// authentication it asked for. It keeps its previous configuration while
// the node runs, and is not served after a restart. The compiler used to
// drop the missing CA, and the edge takes an empty CA list for "no client
// certificate required".
func TestUndecodableClientCAKeepsMutualTLS(t *testing.T) {
	n, mod := restartableNode(t, func(o *server.Options) { o.NoRateLimits, o.DrainGrace = true, 100*time.Millisecond })
	proxy, ip := n.proxy()
	a := echoOrigin(t, l7Origins, "a")
	ids := n.realServers(a.Addr())
	serverCA, clientCA := newTestCA(t, "poison server CA"), newTestCA(t, "poison client CA")
	lc, lk := serverCA.leaf(t, "listener-cert", "www.poison.test")
	listenerCert := n.cert(2, lc, lk)
	clientCAID := n.cert(1, clientCA.pem, "")
	listener, addr := n.mutualListener(proxy, ip, listenerCert, clientCAID)
	n.domain(listener, "www.poison.test", "", "")
	n.rule(listener, "www.poison.test", "/", nil, map[string]netip.AddrPort{ids[0]: a})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(serverCA.pem))
	refused := func(when string) {
		t.Helper()
		r, _ := http.NewRequest(http.MethodGet, "https://www.poison.test/", nil)
		resp, err := pinnedClient(addr, &tls.Config{RootCAs: roots, ServerName: "www.poison.test"}).Do(r)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: a client without a certificate got %s through a mutual-TLS listener; want a refused handshake (or the listener down)", when, resp.Status)
		}
	}
	refused("before")

	// The client CA's row goes bad (a type this release cannot read).
	patchStored(t, n.API, model.KindCertificate, clientCAID, func(doc map[string]any) { doc["type"] = "one" })
	if err := n.Controller.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !n.Controller.Failing(listener) {
		t.Errorf("listener whose client CA does not decode is not reported failing")
	}
	refused("after the client CA's row went bad")
	n = n.restart(mod)
	refused("after that and a restart")
}

// TestUndecodableRowPaging: with one undecodable proxy among three (A,
// bad, C, oldest first; stored so before the node started, as an older
// release leaves it), every page of DescribeProxies agrees on TotalCount
// (2) and paging by Limit yields A then C. Dropping the bad row after the
// store had paged made a page short (a pager stopped: C never seen) and
// TotalCount depend on the page.
func TestUndecodableRowPaging(t *testing.T) {
	n, mod := restartableNode(t, nil)
	var ids []string
	for i := range 3 {
		var r struct{ InstanceId string }
		params := map[string]any{"ProjectId": 0, "ProxyName": fmt.Sprintf("p%d", i), "AccessRegion": "SouthChina",
			"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}
		if err := n.Call(n.c, "CreateProxy", params, &r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.InstanceId)
	}
	patchStored(t, n.API, model.KindProxy, ids[1], func(doc map[string]any) { doc["projectId"] = "0" })
	n = n.restart(mod)
	page := func(offset, limit int) (int, []string) {
		var r struct {
			TotalCount int
			ProxySet   []struct{ ProxyId string }
		}
		if err := n.Call(n.c, "DescribeProxies", map[string]any{"Offset": offset, "Limit": limit, "Order": "asc"}, &r); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range r.ProxySet {
			out = append(out, p.ProxyId)
		}
		return r.TotalCount, out
	}
	want := []string{ids[0], ids[2]}
	// A client pages with Limit 1 until it has TotalCount items or a page is short.
	var got []string
	totals := map[int]bool{}
	for off := 0; off < 10; off++ {
		total, p := page(off, 1)
		totals[total] = true
		if len(p) < 1 {
			break
		}
		got = append(got, p...)
		if len(got) >= total {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("paging DescribeProxies by 1 gave %v; want %v (the undecodable %s left out)", got, want, ids[1])
	}
	all, _ := page(0, 100)
	for total := range totals {
		if total != all {
			t.Errorf("TotalCount of a Limit-1 page = %d; of the whole list = %d (pages disagree)", total, all)
		}
	}
}

// TestUndecodableCertDoesNotHideLaterOfType: DescribeCertificates with a
// CertificateType reads certificates 50 at a time and stops at a chunk
// shorter than 50; one undecodable row among the first 50 made the first
// chunk short, so every certificate of the type stored after the 50th was
// missing from the answer and from TotalCount.
func TestUndecodableCertDoesNotHideLaterOfType(t *testing.T) {
	n, mod := restartableNode(t, nil)
	var ids []string
	for i := range 52 {
		var r struct{ CertificateId string }
		params := map[string]any{"CertificateType": 0, "CertificateContent": fmt.Sprintf("user%d:password", i),
			"CertificateAlias": fmt.Sprintf("c%d", i)}
		var err error
		for range 50 {
			if err = n.Call(n.c, "CreateCertificate", params, &r); err == nil || !strings.Contains(err.Error(), "RequestLimitExceeded") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.CertificateId)
	}
	patchStored(t, n.API, model.KindCertificate, ids[0], func(doc map[string]any) { doc["type"] = "0" })
	n = n.restart(mod)
	var r struct {
		TotalCount     int
		CertificateSet []struct{ CertificateId string }
	}
	if err := n.Call(n.c, "DescribeCertificates", map[string]any{"CertificateType": 0, "Limit": 100}, &r); err != nil {
		t.Fatal(err)
	}
	if r.TotalCount != 51 || len(r.CertificateSet) != 51 {
		t.Errorf("DescribeCertificates type 0 beside one undecodable row: TotalCount %d, %d listed; want 51 and 51 (%s, the last, listed: %v)",
			r.TotalCount, len(r.CertificateSet), ids[51], slices.ContainsFunc(r.CertificateSet, func(c struct{ CertificateId string }) bool { return c.CertificateId == ids[51] }))
	}
}

// TestUndecodableChildRefusesUnsafeChange: checks decide by a parent's
// children, and one that does not decode used to be skipped: DestroyProxies
// Force=0 destroyed a proxy whose unreadable listener had origins bound
// (deleting that row), and CreateTCPListeners took the port it holds. A
// call that changes state must not decide without the row: it fails, and
// its error names the row.
func TestUndecodableChildRefusesUnsafeChange(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	listener, addr := n.listenerTo(proxy, ip, "bound")
	patchStored(t, n.API, model.KindListener, listener, func(doc map[string]any) { doc["port"] = fmt.Sprint(doc["port"]) })

	params := map[string]any{"ProxyId": proxy, "ListenerName": "clash", "Ports": []int{int(addr.Port())},
		"Scheduler": "rr", "RealServerType": "IP", "ClientIPMethod": 0, "HealthCheck": 0}
	err := n.Call(n.c, "CreateTCPListeners", params, nil)
	if err == nil || !strings.Contains(err.Error(), listener) {
		t.Errorf("CreateTCPListeners on port %d, held by the unreadable listener %s: %v; want an error naming it", addr.Port(), listener, err)
	}

	err = n.Call(n.c, "DestroyProxies", map[string]any{"ProxyIds": []string{proxy}, "Force": 0}, nil)
	if err == nil || !strings.Contains(err.Error(), listener) {
		t.Errorf("DestroyProxies Force=0 of a proxy whose unreadable listener has origins bound: %v; want an error naming %s", err, listener)
	}
}

// TestQuotaCountIgnoresUnreadableRow: CreateVpc counts the account's VPCs
// for its quota. The count needs no row's content, but it read one row
// (a page of one), strictly in a read-write transaction: the call failed
// when that row (the oldest VPC, the default one) did not decode, and
// succeeded when another one was the bad row. Quotas count rows without
// decoding them (resource.Count), as CreateGlobalDomain, AddRealServers
// and CreateCertificate do too.
func TestQuotaCountIgnoresUnreadableRow(t *testing.T) {
	n := startNode(t)
	c := n.API.VPC()
	def := xtest.DefaultVPC(t, c)
	create := func(name, cidr string) (string, error) {
		req := vpcsdk.NewCreateVpcRequest()
		req.VpcName, req.CidrBlock = new(name), new(cidr)
		resp, err := c.CreateVpc(req)
		if err != nil {
			return "", err
		}
		return *resp.Response.Vpc.VpcId, nil
	}
	second, err := create("second", "10.1.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	patchStored(t, n.API, model.KindVpc, second, func(doc map[string]any) { doc["cidrBlock"] = 1 })
	if _, err := create("third", "10.2.0.0/16"); err != nil {
		t.Fatalf("CreateVpc with a later VPC unreadable: %v", err) // Passes: the page holds the default VPC only.
	}
	patchStored(t, n.API, model.KindVpc, second, func(doc map[string]any) { doc["cidrBlock"] = "10.1.0.0/16" })
	patchStored(t, n.API, model.KindVpc, def, func(doc map[string]any) { doc["cidrBlock"] = 1 })
	if _, err := create("fourth", "10.3.0.0/16"); err != nil {
		t.Errorf("CreateVpc with the oldest (default) VPC unreadable: %v; want it created, as when another VPC is the unreadable one (the quota needs the count only)", err)
	}
}

// TestRejectedPolicyCanBeFixed: a policy the data plane rejected (a rule an
// older release stored) stays BINDING, never settling; its rules can be
// fixed, which applies it (BOUND), and it can be closed. Every way out
// answered "retry when it settles": the policy was stuck until its proxy
// was destroyed.
func TestRejectedPolicyCanBeFixed(t *testing.T) {
	n := startNode(t)
	proxy, policy, st := n.openRejectedPolicy()
	if st != "FAIL" {
		t.Fatalf("open task %s; want FAIL (precondition)", st)
	}
	status := func() (string, string) {
		d := gaapsdk.NewDescribeSecurityPolicyDetailRequest()
		d.PolicyId = &policy
		pd, err := n.c.DescribeSecurityPolicyDetail(d)
		if err != nil {
			t.Fatal(err)
		}
		return *pd.Response.Status, *pd.Response.RuleList[0].RuleId
	}
	_, rule := status()
	mod := gaapsdk.NewModifySecurityRuleRequest()
	mod.PolicyId, mod.RuleId, mod.AliasName, mod.DestPortRange = &policy, &rule, new("fixed"), new("80")
	if _, err := n.c.ModifySecurityRule(mod); err != nil {
		t.Fatalf("ModifySecurityRule fixing the rejected rule: %v; want it taken", err)
	}
	n.until("the fixed policy BOUND", func() bool { st, _ := status(); return st == model.PolicyBound })
	cl := gaapsdk.NewCloseSecurityPolicyRequest()
	cl.ProxyId, cl.PolicyId = &proxy, &policy
	if _, err := n.c.CloseSecurityPolicy(cl); err != nil {
		t.Fatalf("CloseSecurityPolicy: %v", err)
	}
	n.until("the policy UNBIND", func() bool { st, _ := status(); return st == model.PolicyUnbind })
}
