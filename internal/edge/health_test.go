package edge_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

func TestHealthFailoverAndRecovery(t *testing.T) {
	t.Parallel()
	primary := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name("primary"))
	secondary := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Name("secondary"))
	os := origins(primary.Addr, secondary.Addr)
	os[1].Secondary = true
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-hc", snapshot.ProtoTCP, port, os)
	l.FailoverSwitch = true
	const interval = 100 * time.Millisecond
	l.Health = snapshot.HealthCheck{Enabled: true, Interval: interval, Timeout: 50 * time.Millisecond, Healthy: 2, Unhealthy: 2}
	mustApply(t, rt, oneProxy(1, ip, l))
	to := netip.AddrPortFrom(ip, uint16(port))
	src := lo.Next()
	if got := readName(t, src, to); got != "primary" {
		t.Fatalf("got %q; want primary", got)
	}

	primary.Close()
	down := time.Now()
	bound := 2*interval + interval + time.Second // fall×interval + one interval + slack for a loaded box.
	edgetest.Eventually(t, bound, func() bool { return !rt.Health()["lsr-hc/o0"].Healthy }, "primary not marked down")
	t.Logf("failover after %v (bound %v)", time.Since(down), bound)
	for range 5 {
		if got := readName(t, src, to); got != "secondary" {
			t.Fatalf("got %q; want secondary", got)
		}
	}
	ev := waitEvent(t, rt, func(e edge.Event) bool { return e.Kind == edge.EventOriginHealth && !e.Healthy })
	if len(ev.Users) != 1 || ev.Users[0] != "lsr-hc/o0" {
		t.Errorf("event users: got %v; want [lsr-hc/o0]", ev.Users)
	}

	edgetest.StartTCP(t, primary.Addr, edgetest.Name("primary"))
	up := time.Now()
	edgetest.Eventually(t, bound, func() bool { return rt.Health()["lsr-hc/o0"].Healthy }, "primary not marked up")
	t.Logf("recovery after %v", time.Since(up))
	if got := readName(t, src, to); got != "primary" {
		t.Errorf("got %q; want primary after recovery", got)
	}
}

func waitEvent(t *testing.T, rt *edge.Runtime, match func(edge.Event) bool) edge.Event {
	t.Helper()
	timeout := time.After(5 * time.Second) // Events come from goroutines a loaded machine may hold up.
	for {
		select {
		case e := <-rt.Events():
			if match(e) {
				return e
			}
		case <-timeout:
			t.Fatal("no matching event")
		}
	}
}

// TestHealthConfigChangeKeepsDownState: changing a listener's health-check
// settings (here its interval) does not make an origin that is down
// healthy again: the backend for the new settings starts down, and stays
// so while checks under them fail.
func TestHealthConfigChangeKeepsDownState(t *testing.T) {
	t.Parallel()
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	dead := netip.AddrPortFrom(lo.Next(), uint16(edgetest.FreePort(t, ip)))
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-hc2", snapshot.ProtoTCP, port, origins(dead))
	l.Health = snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond, Healthy: 2, Unhealthy: 3}
	mustApply(t, rt, oneProxy(1, ip, l))
	edgetest.Eventually(t, 2*time.Second, func() bool { return !rt.Health()["lsr-hc2/o0"].Healthy }, "dead origin not marked down")
	l.Health.Interval = 10 * time.Second
	mustApply(t, rt, oneProxy(2, ip, l))
	if rt.Health()["lsr-hc2/o0"].Healthy {
		t.Fatal("dead origin healthy again right after a health-check interval change")
	}
	time.Sleep(200 * time.Millisecond) // The new backend's first probe runs at once.
	if rt.Health()["lsr-hc2/o0"].Healthy {
		t.Fatal("dead origin healthy again after a health-check interval change")
	}
}

// TestHTTPCheckChangeKeepsDownState: as on layer 4, changing a rule's
// health-check settings (here its check path, as ModifyRuleAttribute
// does) does not make an origin that is down and still dead healthy
// again: it stays down, so requests keep going to the live origin, POSTs
// (never retried) included.
func TestHTTPCheckChangeKeepsDownState(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, edge.Options{})
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	dead := netip.AddrPortFrom(lo.Next(), 9) // Nothing listens.
	good := httpOrigin(t, "good", nil)
	mk := func(path string) snapshot.HTTPListener {
		r := rule("r-chg", "/", l7Origins(dead, good))
		r.Health = snapshot.HTTPCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond,
			Healthy: 3, Unhealthy: 2, Path: path, Method: http.MethodHead, StatusClasses: []int{200}}
		return snapshot.HTTPListener{ID: "lsr-chg", Protocol: snapshot.ProtoHTTP, Port: port, Domains: []snapshot.Domain{
			{Host: "chg.test", Rules: []snapshot.Rule{r}}}}
	}
	mustApply(t, rt, httpProxy(1, ip, mk("/a")))
	edgetest.Eventually(t, 2*time.Second, func() bool { return !rt.Health()["r-chg/o0"].Healthy }, "dead origin not marked down")

	mustApply(t, rt, httpProxy(2, ip, mk("/b")))
	if h, ok := rt.Health()["r-chg/o0"]; !ok || h.Healthy {
		t.Errorf("dead origin reported healthy right after its rule's check path changed: %v", rt.Health())
	}
	c := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	for i := range 4 {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("body"))
		req.Host = "chg.test"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("POST %d after the check change: got %d; want 200 from the live origin", i, resp.StatusCode)
		}
	}
}

// TestHTTPCheckNotInheritedFromOtherRule: two rules share an origin with
// different check settings. Rule A's check (/status/500) fails, so A takes
// the origin down, rightly. Rule B, created afterwards with a check the
// origin passes (/), does not start with A's verdict: two rules' checks
// test different things (paths, Host, status classes) behind one address,
// so B's origin is healthy and gets B's traffic.
func TestHTTPCheckNotInheritedFromOtherRule(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	o := httpOrigin(t, "shared", nil)
	other := httpOrigin(t, "other", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	const interval = 2 * time.Second // Room for a check slowed by a loaded machine (Unhealthy is 1).
	chk := func(path string) snapshot.HTTPCheck {
		return snapshot.HTTPCheck{Enabled: true, Interval: interval, Timeout: time.Second,
			Healthy: 3, Unhealthy: 1, Path: path, Method: http.MethodGet, StatusClasses: []int{200}}
	}
	a := rule("r-a", "/", l7Origins(o))
	a.Health = chk("/status/500")
	dom := func(rules ...snapshot.Rule) snapshot.HTTPListener {
		return snapshot.HTTPListener{ID: "lsr-share", Protocol: snapshot.ProtoHTTP, Port: port,
			Domains: []snapshot.Domain{{Host: "a.test", Rules: rules}}}
	}
	mustApply(t, rt, httpProxy(1, ip, dom(a)))
	edgetest.Eventually(t, 2*time.Second, func() bool { return !rt.Health()["r-a/o0"].Healthy }, "rule A's failing check did not take the origin down")

	b := rule("r-b", "/b", l7Origins(o, other))
	b.Health = chk("/")
	mustApply(t, rt, httpProxy(2, ip, dom(a, b)))
	time.Sleep(interval / 2) // B's first check (at once) has passed.
	if h := rt.Health()["r-b/o0"]; !h.Healthy {
		t.Errorf("rule B's origin, which passes B's own check, reported down (rule A's verdict inherited): %+v", h)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/b"
	names := originNames(t, c, url, "a.test", 6)
	if names["shared"] == 0 {
		t.Errorf("rule B sent nothing to its healthy origin: %v", names)
	}
}

// TestHTTPCheckChangeIgnoresOtherRulesVerdict: rule A's origin is down by
// A's check (its /a-health answers 500); rule B shares the origin with a
// check it passes. Changing A's check settings (here its interval, as
// ModifyRuleAttribute does) keeps the origin down for A until A's checks
// pass (TestHTTPCheckChangeKeepsDownState): A's new checks start from A's
// old ones' verdict, not from B's.
func TestHTTPCheckChangeIgnoresOtherRulesVerdict(t *testing.T) {
	rt := newRuntime(t, edge.Options{})
	ln, err := net.Listen("tcp", netip.AddrPortFrom(lo.Next(), 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a-health" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(seen{Name: "half-broken"})
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	o := netip.MustParseAddrPort(ln.Addr().String())
	other := httpOrigin(t, "other", nil)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	mk := func(aInterval time.Duration) snapshot.HTTPListener {
		a := rule("r-ca", "/", l7Origins(o, other))
		a.Health = snapshot.HTTPCheck{Enabled: true, Interval: aInterval, Timeout: 80 * time.Millisecond,
			Healthy: 2, Unhealthy: 3, Path: "/a-health", Method: http.MethodGet, StatusClasses: []int{200}}
		b := rule("r-cb", "/b", l7Origins(o))
		b.Health = snapshot.HTTPCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 80 * time.Millisecond,
			Healthy: 2, Unhealthy: 3, Path: "/", Method: http.MethodGet, StatusClasses: []int{200}}
		return snapshot.HTTPListener{ID: "lsr-ca", Protocol: snapshot.ProtoHTTP, Port: port,
			Domains: []snapshot.Domain{{Host: "ca.test", Rules: []snapshot.Rule{a, b}}}}
	}
	mustApply(t, rt, httpProxy(1, ip, mk(100*time.Millisecond)))
	edgetest.Eventually(t, 2*time.Second, func() bool { return !rt.Health()["r-ca/o0"].Healthy }, "A's failing check did not take o0 down")
	if !rt.Health()["r-cb/o0"].Healthy {
		t.Fatal("B's origin down")
	}

	mustApply(t, rt, httpProxy(2, ip, mk(2*time.Second))) // A's check interval changes.
	if h := rt.Health()["r-ca/o0"]; h.Healthy {
		t.Errorf("origin failing rule A's check reported healthy for A right after A's check interval changed (rule B's verdict taken)")
	}
	c := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + netip.AddrPortFrom(ip, uint16(port)).String() + "/"
	names := originNames(t, c, url, "ca.test", 6)
	if names["half-broken"] > 0 {
		t.Errorf("rule A's requests went to the origin its own checks failed: %v", names)
	}
}

// originNames sends n GETs through the proxy with the given Host and
// counts the answers by the origin that gave them.
func originNames(t *testing.T, c *http.Client, url, host string, n int) map[string]int {
	t.Helper()
	names := map[string]int{}
	for range n {
		_, s, _ := get(t, c, url, host)
		names[s.Name]++
	}
	return names
}

// TestHealthOtherProbeNotInherited: a new listener's checks of an origin
// start from its own verdict, not from another listener's check of
// another port (CheckPort): listener B, whose checks of the origin's own
// (answering) port never failed, read the origin abnormal, as A's check of
// a closed port did, until Healthy of its own checks had passed (through
// the API up to 10 x 300 s).
func TestHealthOtherProbeNotInherited(t *testing.T) {
	host := lo.Next()
	service := edgetest.StartUDP(t, netip.AddrPortFrom(host, 0), edgetest.Prefix("s:"))
	closed := edgetest.FreePort(t, host) // Nothing listens: ICMP port unreachable.
	ip := lo.Next()
	rt := newRuntime(t, edge.Options{})
	a := listener("lsr-a", snapshot.ProtoUDP, edgetest.FreePort(t, ip), origins(service.Addr))
	a.Health = snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond,
		Healthy: 3, Unhealthy: 1, Send: "x", Port: closed}
	mustApply(t, rt, oneProxy(1, ip, a))
	edgetest.Eventually(t, 2*time.Second, func() bool { return !rt.Health()["lsr-a/o0"].Healthy }, "A's closed check port not seen")

	b := listener("lsr-b", snapshot.ProtoUDP, edgetest.FreePort(t, ip), origins(service.Addr))
	b.Health = snapshot.HealthCheck{Enabled: true, Interval: time.Second, Timeout: 500 * time.Millisecond,
		Healthy: 3, Unhealthy: 3, Send: "x"}
	mustApply(t, rt, oneProxy(2, ip, a, b))
	time.Sleep(300 * time.Millisecond) // B's first check (at once) has passed.
	if !rt.Health()["lsr-b/o0"].Healthy {
		t.Fatal("B reads its origin abnormal though its own checks of the origin's port never failed: it took A's verdict on another port")
	}
}

// TestIPv6OriginHealthEventAddress: the origin-health event names the
// origin as host:port (edge.Event.Origin), an IPv6 host in brackets
// ("[::1]:80", as net.JoinHostPort writes it): "::1:80" is itself an IPv6
// address and names no port.
func TestIPv6OriginHealthEventAddress(t *testing.T) {
	o := edgetest.StartTCP(t, netip.MustParseAddrPort("[::1]:0"), edgetest.Name("v6"))
	ip := netip.IPv6Loopback()
	port := edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	l := listener("lsr-v6hc", snapshot.ProtoTCP, port, origins(o.Addr))
	l.Health = snapshot.HealthCheck{Enabled: true, Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond, Healthy: 1, Unhealthy: 1}
	mustApply(t, rt, oneProxy(1, ip, l))
	o.Close()
	ev := waitEvent(t, rt, func(e edge.Event) bool { return e.Kind == edge.EventOriginHealth && !e.Healthy })
	if want := o.Addr.String(); ev.Origin != want {
		t.Errorf("origin-health event names the origin %q; want %q (host:port, the IPv6 host in brackets)", ev.Origin, want)
	}
}
