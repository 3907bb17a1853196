package telemetry

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opengaap/opengaap/internal/edge/stats"
)

// newMetricsRecorder returns a recorder of a fake node that counts in reg,
// as the edge does, and read, which scrapes the recorder's collector for
// series name of object id (false when that is not exported).
func newMetricsRecorder(t *testing.T) (reg *stats.Registry, r *Recorder, read func(name, id string) (float64, bool)) {
	t.Helper()
	_, node, r := newTestRecorder(t)
	node.reg = stats.NewRegistry()
	prom := prometheus.NewRegistry()
	prom.MustRegister(r.Collector())
	read = func(name, id string) (float64, bool) {
		t.Helper()
		mfs, err := prom.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "id" && l.GetValue() == id {
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
	return node.reg, r, read
}

// record has r record a minute, whose sample drops the forgotten counters.
func record(t *testing.T, r *Recorder) {
	t.Helper()
	if err := r.Record(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsRuleCounterNeverDecreases: /metrics sums an EdgeOne rule's
// per-port listeners ("rule/port") into one series. A Prometheus counter
// must never decrease: a decrease reads as a reset, and rate() and
// increase() then count the whole remaining total as new traffic. When a
// port leaves the rule (its counters forgotten and dropped by the
// recorder's sample), its totals stay in the rule's series; a port that
// comes (back) adds from zero; the totals go only with the rule itself.
func TestMetricsRuleCounterNeverDecreases(t *testing.T) {
	reg, r, read := newMetricsRecorder(t)
	port := func(p string) *stats.Counters { return reg.Get(stats.KindListener, "rule-1/"+p) }
	leave := func(ports ...string) { // Its connections closed: it goes at the next sample.
		for _, p := range ports {
			port(p).Active.Store(0)
			reg.Forget(stats.KindListener, "rule-1/"+p)
		}
		record(t, r)
	}
	for _, step := range []struct {
		what         string
		do           func()
		bytes, conns float64 // -1: not exported.
	}{
		{"both ports", func() {
			port("8000").BytesIn.Add(1000)
			port("8000").Active.Add(2)
			port("8001").BytesIn.Add(500)
			port("8001").Active.Add(3)
		}, 1500, 5},
		{"port 8001 left, 8000 counted 10 more bytes", func() { port("8000").BytesIn.Add(10); leave("8001") }, 1510, 2},
		{"port 8002 came", func() {
			port("8000").Active.Add(-2)
			port("8002").BytesIn.Add(5)
			port("8002").Active.Add(1)
		}, 1515, 1},
		{"port 8002 left and came back anew", func() { leave("8002"); port("8002").BytesIn.Add(1) }, 1516, 0},
		{"the rule went", func() { leave("8000", "8002") }, -1, -1},
		{"the rule came back", func() { port("8000").BytesIn.Add(7) }, 7, 0},
	} {
		step.do()
		bytes, ok := read("opengaap_bytes_in_total", "rule-1")
		conns, _ := read("opengaap_connections", "rule-1")
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

// TestMetricsCounterSetReplacedPastItsLastScrape: an object whose counters
// are forgotten and created anew under the same key between two scrapes
// (an origin unbound and bound again, a proxy closed and opened: the
// recorder's sample drops the old set) counts again from zero. The
// exported counter adds the new set's whole total, as the recorder's
// minute does (stats.Delta tells the sets apart), also when that is more
// than the old set's last scraped value, where no decrease shows the
// restart.
func TestMetricsCounterSetReplacedPastItsLastScrape(t *testing.T) {
	reg, r, read := newMetricsRecorder(t)
	reg.Get(stats.KindOrigin, "rs-1").BytesOut.Add(1000)
	if first, _ := read("opengaap_bytes_out_total", "rs-1"); first != 1000 {
		t.Fatalf("first scrape %v; want 1000", first)
	}
	reg.Forget(stats.KindOrigin, "rs-1") // Unbound: the recorder's sample drops it,
	record(t, r)
	record(t, r)                                         // and the next one has none.
	reg.Get(stats.KindOrigin, "rs-1").BytesOut.Add(1500) // Then bound again.
	if second, _ := read("opengaap_bytes_out_total", "rs-1"); second != 2500 {
		t.Errorf("opengaap_bytes_out_total went 1000 -> %v; want 2500 (the 1500 new bytes added)", second)
	}
}

// TestMetricsDepartedPartKeepsFinalCounts: a group listener's instance on
// a member that leaves (listener@proxy) counted more after the last
// scrape, then went. Its final counts are in the recorder's sample that
// drops it, and so in the API's minute; the listener's exported counter
// gets them from that same sample, not only what the last scrape saw.
func TestMetricsDepartedPartKeepsFinalCounts(t *testing.T) {
	reg, r, read := newMetricsRecorder(t)
	reg.Get(stats.KindListener, "listener-1@link-a").BytesIn.Add(100)
	b := reg.Get(stats.KindListener, "listener-1@link-b")
	b.BytesIn.Add(1000)
	record(t, r) // Before the first scrape, which exports the whole totals all the same.
	if first, _ := read("opengaap_bytes_in_total", "listener-1"); first != 1100 {
		t.Fatalf("first scrape %v; want 1100", first)
	}
	b.BytesIn.Add(5000)                                 // Traffic after the scrape...
	reg.Forget(stats.KindListener, "listener-1@link-b") // ...then link-b leaves the group,
	record(t, r)                                        // and the recorder's sample drops it.
	if second, _ := read("opengaap_bytes_in_total", "listener-1"); second != 6100 {
		t.Errorf("listener-1 opengaap_bytes_in_total went 1100 -> %v; want 6100 (link-b's 5000 last bytes added)", second)
	}
}

// TestScrapesDoNotStallHealthReads: Collect held the collector's mutex
// while it emitted (about a second on a node of 12,000 counted objects,
// and as long as a slow scraper took), Record takes r.mu and then that
// mutex (collector.sample), and every r.Health call (DescribeTCPListeners'
// RealServerStatus and BindStatus, the controller's Observe after each
// apply) takes r.mu: scrapers stalled API reads and applies for as long as
// their emission lasted. With an emission held up, both must return (a
// structural check: a bound on their time failed on a starved CI box).
func TestScrapesDoNotStallHealthReads(t *testing.T) {
	reg, r, _ := newMetricsRecorder(t)
	for i := range 100 {
		reg.Get(stats.KindOrigin, fmt.Sprintf("rs-%08d:8000", i)).BytesIn.Add(int64(i))
	}
	// A scrape whose emission stalls (a slow scraper), held for as long
	// as the test wants: its first metric is taken, its next send blocks.
	ch := make(chan prometheus.Metric)
	go func() { r.Collector().Collect(ch); close(ch) }()
	<-ch
	done := make(chan struct{})
	go func() {
		r.Record(t.Context(), time.Now())
		r.Health("listener-00000001", "rs-00000001")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("a minute's Record and a health read (r.Health) did not return while a scrape's emission stalled; want them served: the collector is not held while it emits")
	}
	for range ch { // The scrape ends.
	}
	<-done
}
