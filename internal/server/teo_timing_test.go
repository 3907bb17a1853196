package server_test

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
)

// TestTimingKeepsDeletedObjectsHistory: DescribeTimingL4Data of a zone
// reads the traffic its L4 proxies carried, and a ruleId filter the
// traffic a rule carried. Deleting the rule, then the proxy, does not
// rewrite that past: the bytes already counted are still the zone's (and
// the rule's) traffic of those minutes.
func TestTimingKeepsDeletedObjectsHistory(t *testing.T) {
	e := newTeoEnv(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(teoOrigins.Next(), 0), edgetest.Echo)
	port := edgetest.FreePort(t, e.access)
	rule := e.createRule(t, tcpRule([]string{strconv.Itoa(port)}, "IP_DOMAIN", []string{origin.Addr.Addr().String()}, origin.Addr))
	e.n.until("rule online and serving", func() bool { return e.ruleStatus(t, rule) == "online" && e.echoN(port, "x") == nil })
	start := time.Now().Add(-3 * time.Minute)
	end := time.Now().Add(3 * time.Minute)
	byRule := map[string]any{"Key": "ruleId", "Operator": "equals", "Value": []string{rule}}
	e.n.until("the rule's bytes counted", func() bool { return e.metricSum(t, "l4Flow_flux", start, end, byRule) >= 2 })
	zoneBefore := e.metricSum(t, "l4Flow_flux", start, end)
	ruleBefore := e.metricSum(t, "l4Flow_flux", start, end, byRule)

	e.n.until("proxy online", func() bool { return e.proxyOnline(t) })
	teoCall(t, e.c, "DeleteL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy, "RuleIds": []string{rule}}, nil)
	if got := e.metricSum(t, "l4Flow_flux", start, end, byRule); got != ruleBefore {
		t.Errorf("ruleId %s flux after DeleteL4ProxyRules = %d; want %d, what it carried before", rule, got, ruleBefore)
	}
	e.n.until("proxy online", func() bool { return e.proxyOnline(t) })
	teoCall(t, e.c, "DeleteL4Proxy", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy}, nil)
	if got := e.metricSum(t, "l4Flow_flux", start, end); got != zoneBefore {
		t.Errorf("zone %s flux after DeleteL4Proxy = %d; want %d, what its proxy carried before", e.zone, got, zoneBefore)
	}
	if got := e.metricSum(t, "l4Flow_flux", start, end, map[string]any{"Key": "proxyId", "Operator": "equals", "Value": []string{e.proxy}}); got != zoneBefore {
		t.Errorf("proxyId %s flux after DeleteL4Proxy = %d; want %d", e.proxy, got, zoneBefore)
	}
	if got := e.metricSum(t, "l4Flow_flux", start, end, byRule); got != ruleBefore {
		t.Errorf("ruleId %s flux after DeleteL4Proxy = %d; want %d", rule, got, ruleBefore)
	}
}

// TestTimingConnectionsIsPeak: l4Flow_connections is 访问并发连接数 and
// GAAP's Concurrent the concurrency: the most connections open at once in
// the minute (docs/statistics.md), not those still open when the minute
// is recorded. Three connections held open together, and closed before
// the next recording, are 3 concurrent connections in that minute for
// both.
func TestTimingConnectionsIsPeak(t *testing.T) {
	n := startNode(t, func(o *server.Options) { o.StatsInterval = 24 * time.Hour }) // Record is called by hand.
	e := teoEnvOn(t, n)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(teoOrigins.Next(), 0), edgetest.Echo)
	port := edgetest.FreePort(t, e.access)
	rule := e.createRule(t, tcpRule([]string{strconv.Itoa(port)}, "IP_DOMAIN", []string{origin.Addr.Addr().String()}, origin.Addr))
	e.n.until("rule online and serving", func() bool { return e.ruleStatus(t, rule) == "online" && e.dial(port) == nil })
	// The probes above are in this recording, one connection at a time.
	if err := n.Telemetry.Record(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 3 {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(e.access, uint16(port)).String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "hi"); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 2)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	n.recordClosed()
	from, to := time.Now().Add(-3*time.Minute), time.Now().Add(time.Minute)
	if flux := e.metricSum(t, "l4Flow_inFlux", from, to); flux < 6 {
		t.Fatalf("l4Flow_inFlux = %d; want ≥ 6 (the minute was not recorded?)", flux)
	}
	r := e.timing(t, map[string]any{"ZoneIds": []string{e.zone}, "MetricNames": []string{"l4Flow_connections"}, "Interval": "min",
		"StartTime": from.Format(time.RFC3339), "EndTime": to.Format(time.RFC3339)})
	if got := r.Data[0].TypeValue[0].Max; got < 3 {
		t.Errorf("l4Flow_connections Max = %d; want ≥ 3, the peak concurrent", got)
	}
	pts, err := n.Store.Stats().Query(t.Context(), e.proxy, "Concurrent", 60, from, to)
	peak := 0.0
	for _, p := range pts {
		peak = max(peak, p.Value)
	}
	if err != nil || peak < 3 {
		t.Errorf("proxy %s Concurrent: %v (%v); want a minute with ≥ 3, the peak concurrent", e.proxy, pts, err)
	}
}

type timingAnswer struct {
	TotalCount int64
	Data       []struct {
		TypeKey   string
		TypeValue []struct {
			MetricName    string
			Sum, Max, Avg int64
			Detail        []struct{ Timestamp, Value int64 }
		}
		FloatTypeValue []struct {
			MetricName    string
			Sum, Max, Avg float64
			Detail        []struct {
				Timestamp int64
				Value     float64
			}
		}
	}
}

// timing calls DescribeTimingL4Data.
func (e *teoEnv) timing(t *testing.T, params map[string]any) timingAnswer {
	t.Helper()
	var r timingAnswer
	teoCall(t, e.c, "DescribeTimingL4Data", params, &r)
	return r
}

// metricSum is the Sum of metric over the zone's per-minute points from
// from to to, with filters.
func (e *teoEnv) metricSum(t *testing.T, metric string, from, to time.Time, filters ...map[string]any) int64 {
	t.Helper()
	p := map[string]any{"ZoneIds": []string{e.zone}, "MetricNames": []string{metric},
		"StartTime": from.Format(time.RFC3339), "EndTime": to.Format(time.RFC3339), "Interval": "min"}
	if len(filters) > 0 {
		p["Filters"] = filters
	}
	r := e.timing(t, p)
	if len(r.Data) != 1 || len(r.Data[0].TypeValue) != 1 {
		t.Fatalf("DescribeTimingL4Data %s: %+v; want one record with one TypeValue", metric, r)
	}
	return r.Data[0].TypeValue[0].Sum
}

// echoN sends msg through port, half-closes, reads the echo back.
func (e *teoEnv) echoN(port int, msg string) error {
	conn, err := net.DialTimeout("tcp", netip.AddrPortFrom(e.access, uint16(port)).String(), 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, msg); err != nil {
		return err
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != msg {
		return fmt.Errorf("echo %d bytes, %v; want %d", len(got), err, len(msg))
	}
	return nil
}

// proxyOnline says whether the zone's one L4 proxy is online.
func (e *teoEnv) proxyOnline(t *testing.T) bool {
	t.Helper()
	var r struct {
		L4Proxies []struct{ Status string }
	}
	teoCall(t, e.c, "DescribeL4Proxy", map[string]any{"ZoneId": e.zone}, &r)
	return len(r.L4Proxies) == 1 && r.L4Proxies[0].Status == "online"
}

// TestTimingRuleOfflineOnlineCountsWhole: an EdgeOne rule taken offline
// has its port listeners' counters forgotten (dropped at the next sample,
// which still holds their final figures). Brought back online before the
// following sample, the same listener IDs count from zero in fresh
// counters, and DescribeTimingL4Data gets all their traffic, not the new
// counters minus the old ones' lifetime totals.
func TestTimingRuleOfflineOnlineCountsWhole(t *testing.T) {
	e, rule, port, byRule, from, to := timedEchoRule(t, nil)
	n := e.n
	before := e.metricSum(t, "l4Flow_inFlux", from, to, byRule)

	// 500 bytes, then the rule goes offline; the next recording has them.
	if err := e.echoN(port, strings.Repeat("a", 500)); err != nil {
		t.Fatal(err)
	}
	setRule := func(status string) {
		teoCall(t, e.c, "ModifyL4ProxyRulesStatus", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
			"RuleIds": []string{rule}, "Status": status}, nil)
		e.n.until("rule "+status, func() bool { return e.ruleStatus(t, rule) == status })
	}
	setRule("offline")
	n.until("port closed", func() bool { return e.echoN(port, "x") != nil })
	if err := n.Telemetry.Record(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	mid := e.metricSum(t, "l4Flow_inFlux", from, to, byRule)
	if mid-before < 500 {
		t.Fatalf("inFlux before offline: +%d; want ≥ 500", mid-before)
	}

	// Back online: 4 × 500 bytes, then one recording.
	setRule("online")
	sent := int64(0)
	n.until("port serving again", func() bool { ok := e.echoN(port, "y") == nil; sent++; return ok })
	for range 4 {
		if err := e.echoN(port, strings.Repeat("b", 500)); err != nil {
			t.Fatal(err)
		}
		sent += 500
	}
	if err := n.Telemetry.Record(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	after := e.metricSum(t, "l4Flow_inFlux", from, to, byRule)
	if after-mid < 2000 {
		t.Errorf("l4Flow_inFlux of rule %s after it came back online: +%d bytes recorded; want ≥ 2000 (4 × 500 sent, %d in all): the previous listener's lifetime total subtracted?",
			rule, after-mid, sent)
	}
}

// TestTimingDrainedBytesOfOfflineRule: a rule set offline keeps serving
// its established connections for DrainGrace (docs/dataplane-l4.md). Its
// counters were dropped by the recorder's next sample, so what a draining
// connection carried after it counted for the zone but was lost from the
// rule's l4Flow_inFlux (ruleId filter).
func TestTimingDrainedBytesOfOfflineRule(t *testing.T) {
	e, rule, port, byRule, from, to := timedEchoRule(t, func(o *server.Options) { o.DrainGrace = 20 * time.Second })
	n := e.n
	ruleBefore, zoneBefore := e.metricSum(t, "l4Flow_inFlux", from, to, byRule), e.metricSum(t, "l4Flow_inFlux", from, to)

	conn, err := net.DialTimeout("tcp", netip.AddrPortFrom(e.access, uint16(port)).String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	echo := func(n int) {
		t.Helper()
		if _, err := io.WriteString(conn, strings.Repeat("a", n)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(conn, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	echo(500)
	time.Sleep(1200 * time.Millisecond) // Live TCP figures are refreshed every 500 ms: these 500 bytes reach the counters.
	teoCall(t, e.c, "ModifyL4ProxyRulesStatus", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
		"RuleIds": []string{rule}, "Status": "offline"}, nil)
	n.until("rule offline", func() bool { return e.ruleStatus(t, rule) == "offline" })
	n.until("port closed", func() bool { return e.dial(port) != nil })
	// The minute ends: the recorder's sample drops the rule's counters.
	if err := n.Telemetry.Record(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	// The established connection drains: it is still served.
	echo(700)
	conn.Close()
	n.recordClosed()
	ruleGot := e.metricSum(t, "l4Flow_inFlux", from, to, byRule) - ruleBefore
	zoneGot := e.metricSum(t, "l4Flow_inFlux", from, to) - zoneBefore
	if zoneGot < 1200 {
		t.Fatalf("zone inFlux %d; want ≥ 1200", zoneGot)
	}
	if ruleGot != zoneGot {
		t.Errorf("rule %s inFlux = %d, zone's = %d: the %d bytes the draining connection carried after the sample are lost from the rule", rule, ruleGot, zoneGot, zoneGot-ruleGot)
	}
}

// recordClosed waits until the edge has no connection open, so that their
// figures are final, and records the minute.
func (n *node) recordClosed() {
	n.t.Helper()
	n.until("the connections closed on the edge", func() bool {
		for _, v := range n.Edge.Stats().Values {
			if v.Active != 0 {
				return false
			}
		}
		return true
	})
	if err := n.Telemetry.Record(n.t.Context(), time.Now()); err != nil {
		n.t.Fatal(err)
	}
}

// timedEchoRule starts a node whose minutes are recorded by hand (more
// sets further options; may be nil), with an online TCP rule to an echo
// origin, and records a first minute. It returns the rule, its port, a
// ruleId filter and a span of minutes that holds the test's.
func timedEchoRule(t *testing.T, more func(*server.Options)) (e *teoEnv, rule string, port int, byRule map[string]any, from, to time.Time) {
	t.Helper()
	n := startNode(t, func(o *server.Options) {
		o.StatsInterval = 24 * time.Hour
		if more != nil {
			more(o)
		}
	})
	e = teoEnvOn(t, n)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(teoOrigins.Next(), 0), edgetest.Echo)
	port = edgetest.FreePort(t, e.access)
	rule = e.createRule(t, tcpRule([]string{strconv.Itoa(port)}, "IP_DOMAIN", []string{origin.Addr.Addr().String()}, origin.Addr))
	e.n.until("rule online and serving", func() bool { return e.ruleStatus(t, rule) == "online" && e.echoN(port, "x") == nil })
	if err := n.Telemetry.Record(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	from, to = time.Now().Add(-5*time.Minute), time.Now().Add(5*time.Minute)
	return e, rule, port, map[string]any{"Key": "ruleId", "Operator": "equals", "Value": []string{rule}}, from, to
}
