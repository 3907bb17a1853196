package telemetry

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opengaap/opengaap/internal/edge/stats"
)

// TestMetricsRuleCounterNeverDecreases: /metrics sums an EdgeOne rule's
// per-port listeners ("rule/port") into one series. A Prometheus counter
// must never decrease: a decrease reads as a reset, and rate() and
// increase() then count the whole remaining total as new traffic. When a
// port leaves the rule (its counters forgotten, as Sample does), its final
// totals stay in the rule's series; a port that comes (back) adds from
// zero; the carried totals go only with the rule itself.
func TestMetricsRuleCounterNeverDecreases(t *testing.T) {
	_, node, r := newTestRecorder(t)
	key := func(id string) stats.Key { return stats.Key{Kind: stats.KindListener, ID: id} }
	node.sample.Values[key("rule-1/8000")] = stats.Values{BytesIn: 1000, Active: 2}
	node.sample.Values[key("rule-1/8001")] = stats.Values{BytesIn: 500, Active: 3}
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collector())
	read := func(name string) (float64, bool) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "id" && l.GetValue() == "rule-1" {
						if m.GetCounter() != nil {
							return m.GetCounter().GetValue(), true
						}
						return m.GetGauge().GetValue(), true
					}
				}
			}
		}
		return 0, false
	}
	for _, step := range []struct {
		what         string
		set          map[string]stats.Values
		bytes, conns float64
	}{
		{"both ports", nil, 1500, 5},
		{"port 8001 left, 8000 carried 10 more bytes", map[string]stats.Values{"rule-1/8000": {BytesIn: 1010, Active: 2}}, 1510, 2},
		{"port 8002 came", map[string]stats.Values{"rule-1/8000": {BytesIn: 1010}, "rule-1/8002": {BytesIn: 5, Active: 1}}, 1515, 1},
		{"port 8002 left and came back anew", map[string]stats.Values{"rule-1/8000": {BytesIn: 1010}, "rule-1/8002": {BytesIn: 1}}, 1516, 0},
		{"the rule went and came back", map[string]stats.Values{}, -1, -1},
		{"the rule came back", map[string]stats.Values{"rule-1/8000": {BytesIn: 7}}, 7, 0},
	} {
		if step.set != nil {
			clear(node.sample.Values)
			for id, v := range step.set {
				node.sample.Values[key(id)] = v
			}
		}
		bytes, ok := read("opengaap_bytes_in_total")
		conns, _ := read("opengaap_connections")
		if step.bytes < 0 {
			if ok {
				t.Errorf("%s: rule-1 still exported", step.what)
			}
			continue
		}
		if bytes != step.bytes || conns != step.conns {
			t.Errorf("%s: rule-1 opengaap_bytes_in_total %v, opengaap_connections %v; want %v, %v",
				step.what, bytes, conns, step.bytes, step.conns)
		}
	}
}
