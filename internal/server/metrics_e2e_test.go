package server_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/xtest"
)

// scrape reads /metrics of n, which must parse as the Prometheus text
// format.
func scrape(t *testing.T, n *node) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(httpGet(t, "http://"+n.Addr+"/metrics")))
	if err != nil {
		t.Fatalf("scrape does not parse: %v", err)
	}
	return fams
}

// labels returns a series' kind and id labels.
func labels(m *dto.Metric) (kind, id string) {
	for _, l := range m.GetLabel() {
		switch l.GetName() {
		case "kind":
			kind = l.GetValue()
		case "id":
			id = l.GetValue()
		}
	}
	return kind, id
}

// TestMetricsOriginsAreRuleScoped: two accounts' EdgeOne L4 rules onto the
// same origin address. The unauthenticated scrape's labels are resource
// IDs (docs/api-protocol.md "Metrics"): an IP_DOMAIN origin is labelled
// with an ID of its rule, never with its address, and each rule's origin
// has a series of its own, not one summing both tenants' traffic.
func TestMetricsOriginsAreRuleScoped(t *testing.T) {
	n := startNode(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(origins.Next(), 0), edgetest.Echo)
	a, b := teoEnvOn(t, n), teoEnvOn(t, n, xtest.Other)
	portA, portB := edgetest.FreePort(t, a.access), edgetest.FreePort(t, b.access)
	ruleA := a.createRule(t, tcpRule([]string{strconv.Itoa(portA)}, "IP_DOMAIN", []string{origin.Addr.Addr().String()}, origin.Addr))
	ruleB := b.createRule(t, tcpRule([]string{strconv.Itoa(portB)}, "IP_DOMAIN", []string{origin.Addr.Addr().String()}, origin.Addr))
	n.until("A's rule serves", func() bool { return a.echoN(portA, "from A") == nil })
	n.until("B's rule serves", func() bool { return b.echoN(portB, "from B") == nil })

	perRule := map[string]float64{}
	for _, m := range scrape(t, n)["opengaap_connections_total"].GetMetric() {
		kind, id := labels(m)
		if strings.Contains(id, origin.Addr.Addr().String()) {
			t.Errorf("unauthenticated scrape labels a series with a tenant's origin address: kind=%q id=%q value=%v",
				kind, id, m.GetCounter().GetValue())
		}
		if kind == "origin" {
			perRule[strings.SplitN(id, "/", 2)[0]] += m.GetCounter().GetValue()
		}
	}
	if perRule[ruleA] < 1 || perRule[ruleB] < 1 {
		t.Errorf("origin connections by rule %v; want series of %s and of %s, each with its own connections", perRule, ruleA, ruleB)
	}
}

// TestMetricsPortRangeOneSeriesSet: one EdgeOne L4 rule with a port range
// is one API object, whose statistics sum its ports (snapshot.ObjectOf).
// /metrics exports it so too: one listener series set under the rule's ID
// with the traffic of all its ports, not one set per port (up to 2048 ports
// a rule and 4096 a proxy, times every metric name).
func TestMetricsPortRangeOneSeriesSet(t *testing.T) {
	n := startNode(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(origins.Next(), 0), edgetest.Echo)
	a := teoEnvOn(t, n)
	const first, count = 21000, 64
	rule := a.createRule(t, tcpRule([]string{strconv.Itoa(first) + "-" + strconv.Itoa(first+count-1)}, "IP_DOMAIN",
		[]string{origin.Addr.Addr().String()}, origin.Addr))
	n.until("rule online and serving", func() bool {
		return a.ruleStatus(t, rule) == "online" && a.echoN(first, "x") == nil && a.echoN(first+count-1, "x") == nil
	})

	fams := scrape(t, n)
	series, ids := 0, map[string]bool{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if kind, id := labels(m); kind == "listener" && strings.HasPrefix(id, rule) {
				series++
				ids[id] = true
			}
		}
	}
	if len(ids) != 1 || !ids[rule] {
		t.Errorf("one rule (%s, %d ports) is exported under %d ids and %d series; want the one id %s, as its statistics",
			rule, count, len(ids), series, rule)
	}
	found := false
	for _, m := range fams["opengaap_connections_total"].GetMetric() {
		if kind, id := labels(m); kind == "listener" && id == rule {
			found = true
			if m.GetCounter().GetValue() < 2 {
				t.Errorf("rule %s: %v connections; want those of its first and last ports (≥ 2)", rule, m.GetCounter().GetValue())
			}
		}
	}
	if !found {
		t.Errorf("rule %s has no listener series of opengaap_connections_total; want one with its connections", rule)
	}
}

// TestMetricsScrapeDuringChurn scrapes /metrics continuously while
// rules come and go (run with -race).
func TestMetricsScrapeDuringChurn(t *testing.T) {
	n := startNode(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(origins.Next(), 0), edgetest.Echo)
	a := teoEnvOn(t, n)
	stop := make(chan struct{})
	done := make(chan error, 1)
	var scrapes atomic.Int64
	go func() {
		var err error
		for err == nil {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			resp, gerr := http.Get("http://" + n.Addr + "/metrics")
			if gerr != nil {
				err = gerr
				break
			}
			p := expfmt.NewTextParser(model.LegacyValidation)
			_, err = p.TextToMetricFamilies(resp.Body)
			resp.Body.Close()
			scrapes.Add(1)
		}
		done <- err
	}()
	for i := range 8 {
		port := 22000 + i*10
		rule := a.createRule(t, tcpRule([]string{strconv.Itoa(port) + "-" + strconv.Itoa(port+3)}, "IP_DOMAIN",
			[]string{origin.Addr.Addr().String()}, origin.Addr))
		n.until("rule online", func() bool { return a.ruleStatus(t, rule) == "online" })
		n.until("rule serving", func() bool { return a.echoN(port, "x") == nil })
		// Exported, so that its absence below is its deletion's doing.
		n.until("rule "+rule+" and proxy at /metrics", func() bool {
			m := httpGet(t, "http://"+n.Addr+"/metrics")
			return strings.Contains(m, rule) && strings.Contains(m, a.proxy)
		})
		teoCall(t, a.c, "DeleteL4ProxyRules", map[string]any{"ZoneId": a.zone, "ProxyId": a.proxy, "RuleIds": []string{rule}}, nil)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if scrapes.Load() == 0 {
		t.Fatal("no scrape completed while the rules came and went")
	}
	teoCall(t, a.c, "DeleteL4Proxy", map[string]any{"ZoneId": a.zone, "ProxyId": a.proxy}, nil)
	n.until("deleted objects gone from /metrics", func() bool {
		m := httpGet(t, "http://"+n.Addr+"/metrics")
		return !strings.Contains(m, "rule-") && !strings.Contains(m, a.proxy) && !strings.Contains(m, origin.Addr.Addr().String())
	})
}

// echoBytes sends n bytes through addr to an echo origin and reads them back.
func echoBytes(t *testing.T, addr netip.AddrPort, n int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	go c.Write(bytes.Repeat([]byte("y"), n))
	if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsOriginRebindAddsNewTotal: an origin unbound and bound again
// gets new counters (docs/statistics.md), which the recorder counts in
// full; so does /metrics, not scraped in between, also when the new
// counters pass the last scraped value and no decrease shows the restart.
func TestMetricsOriginRebindAddsNewTotal(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(origins.Next(), 0), edgetest.Echo)
	ids := n.realServers(origin.Addr.Addr())
	listener, port := n.tcpListener(proxy, ip, "rr", false)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: origin.Addr})
	addr := netip.AddrPortFrom(ip, uint16(port))
	echoBytes(t, addr, 1000)
	// bytesOut reads the listener's and its origin's bytes_out at /metrics.
	bytesOut := func() (listenerOut, originOut float64) {
		for _, m := range scrape(t, n)["opengaap_bytes_out_total"].GetMetric() {
			switch kind, _ := labels(m); kind {
			case "listener":
				listenerOut = m.GetCounter().GetValue()
			case "origin":
				originOut = m.GetCounter().GetValue()
			}
		}
		return listenerOut, originOut
	}
	var first float64
	n.until("origin bytes at /metrics", func() bool { _, first = bytesOut(); return first >= 1000 })

	unbind := gaapsdk.NewBindListenerRealServersRequest() // Binding none unbinds.
	unbind.ListenerId = &listener
	unbind.RealServerBindSet = []*gaapsdk.RealServerBindSetReq{}
	if _, err := n.c.BindListenerRealServers(unbind); err != nil {
		t.Fatal(err)
	}
	n.waitListener(listener)
	time.Sleep(time.Second) // Several recordings (every 300 ms) drop the unbound origin's counters.
	n.bind(listener, map[string]netip.AddrPort{ids[0]: origin.Addr})
	for range 3 {
		echoBytes(t, addr, 1000)
	}
	// The listener counts the same bytes, and keeps its counters.
	var second float64
	// A connection's bytes are added to the listener's counters, then the
	// origin's; its listener's Active drops after both.
	n.until("the connections counted", func() bool {
		if n.Edge.Stats().Values[stats.Key{Kind: stats.KindListener, ID: listener}].Active != 0 {
			return false
		}
		l, o := bytesOut()
		second = o
		return l >= 4000
	})
	if second-first < 3000 {
		t.Errorf("origin opengaap_bytes_out_total went %v -> %v (increase %v); want at least the 3000 bytes sent since",
			first, second, second-first)
	}
}
