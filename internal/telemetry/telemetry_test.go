package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
)

// fakeNode returns the samples a test sets, or those of reg, when set,
// as the edge does.
type fakeNode struct {
	sample stats.Sample
	reg    *stats.Registry
	events chan edge.Event
	health map[string]edge.OriginHealth
}

func (f *fakeNode) Apply(*snapshot.Snapshot) edge.Report { return edge.Report{} }
func (f *fakeNode) Events() <-chan edge.Event            { return f.events }
func (f *fakeNode) Stats() stats.Sample {
	if f.reg != nil {
		return f.reg.Read()
	}
	return f.sample
}

func (f *fakeNode) Sample() stats.Sample {
	if f.reg != nil {
		return f.reg.Sample()
	}
	return f.sample
}

func (f *fakeNode) Health() map[string]edge.OriginHealth { return f.health }
func (f *fakeNode) Close(context.Context) error          { return nil }
func (f *fakeNode) Addresses() []string                  { return nil }

var _ edge.Node = (*fakeNode)(nil)

// flip reports a health change as the edge does: its own state (Health)
// changes, and the event reaches r.
func (f *fakeNode) flip(r *Recorder, ev edge.Event) {
	if f.health == nil {
		f.health = map[string]edge.OriginHealth{}
	}
	for _, u := range ev.Users {
		f.health[u] = edge.OriginHealth{Healthy: ev.Healthy, Down: ev.Down}
	}
	r.observe(ev)
}

// t0 is the start of the recorders' first minute in these tests.
var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// newTestRecorder returns a recorder of a fake node (sampled at t0) into a
// fresh SQLite store, closed with the test.
func newTestRecorder(t *testing.T) (store.Stats, *fakeNode, *Recorder) {
	t.Helper()
	return newTestRecorderAt(t, t0)
}

// newTestRecorderAt is newTestRecorder for a node first sampled at start
// (a process started within a minute).
func newTestRecorderAt(t *testing.T, start time.Time) (store.Stats, *fakeNode, *Recorder) {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	node := &fakeNode{sample: stats.Sample{At: start, Values: map[stats.Key]stats.Values{}}, events: make(chan edge.Event)}
	return st.Stats(), node, New(node, st.Stats(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestRecordRatesRollupsAndHealth(t *testing.T) {
	st, node, r := newTestRecorder(t)

	// One minute: 75 MB in, 7.5 MB out, 6000 packets in, 3 open conns on a
	// group listener's two instances, 4 connects of 2 ms and 2 HTTP answers
	// of 8 ms: Latency is the mean over both kinds of samples, 4 ms.
	key := func(id string) stats.Key { return stats.Key{Kind: stats.KindListener, ID: id} }
	node.sample = stats.Sample{At: t0.Add(time.Minute), Values: map[stats.Key]stats.Values{
		key("listener-1@link-a"): {BytesIn: 50_000_000, BytesOut: 5_000_000, PacketsIn: 6000, Active: 2, DialCount: 4, DialNanos: 8e6},
		key("listener-1@link-b"): {BytesIn: 25_000_000, BytesOut: 2_500_000, Active: 1, AnswerCount: 2, AnswerNanos: 16e6},
		key("listener-u"):        {PacketsIn: 400, PacketsOut: 500, Dropped: 60, Shaped: 40}, // 100 of 1000 datagrams lost.
		key("listener-r"):        {PacketsIn: 20, Dropped: 20, Bounced: 20},                  // 20 sent, all bounced.
	}}
	node.flip(r, edge.Event{Kind: edge.EventOriginHealth, Users: []string{"listener-1@link-a/rs-1"}, Healthy: false,
		Down: []string{"192.0.2.1"}})
	if err := r.Record(t.Context(), t0.Add(time.Minute+5*time.Second)); err != nil {
		t.Fatal(err)
	}
	minute := t0 // The counts are of [t0, t0+1m).
	want := map[string]float64{InBandwidth: 10, OutBandwidth: 1, InPackets: 100, Concurrent: 3, Latency: 4}
	for metric, v := range want {
		pts, err := st.Query(t.Context(), "listener-1", metric, 60, minute, minute)
		if err != nil || len(pts) != 1 || pts[0].Value != v {
			t.Errorf("%s at 60 s: got %+v, %v; want one point %v", metric, pts, err, v)
		}
		five, _ := st.Query(t.Context(), "listener-1", metric, 300, t0, t0)
		if len(five) != 1 || five[0].Value != v {
			t.Errorf("%s at 300 s: got %+v; want its one minute's %v", metric, five, v)
		}
	}
	if pts, _ := st.Query(t.Context(), "listener-u", PacketLoss, 60, minute, minute); len(pts) != 1 || pts[0].Value != 10 {
		t.Errorf("PacketLoss: got %+v; want 10 %% (dropped and shaped datagrams)", pts)
	}
	if pts, _ := st.Query(t.Context(), "listener-r", PacketLoss, 60, minute, minute); len(pts) != 1 || pts[0].Value != 100 {
		t.Errorf("PacketLoss: got %+v; want 100 %% (every datagram bounced by the origin, each counted once)", pts)
	}
	h, _ := st.Query(t.Context(), "listener-1/rs-1", HealthMetric, 60, minute, minute)
	if len(h) != 1 || h[0].Value != 0 {
		t.Errorf("health: got %+v; want one point 0 (unhealthy)", h)
	}
	if ok, down := r.Health("listener-1", "rs-1"); ok || !slices.Equal(down, []string{"192.0.2.1"}) {
		t.Errorf("Health of rs-1: %v, %q; want unhealthy with its failing address", ok, down)
	}
	if ok, down := r.Health("listener-1", "rs-2"); !ok || down != nil {
		t.Errorf("Health of unknown rs-2: %v, %q; want healthy", ok, down)
	}
}

// TestSyncHealthMergesInstances: a group listener's origin, after an apply,
// is healthy only when it is on every proxy, and its failing addresses are
// those of every proxy, each once.
func TestSyncHealthMergesInstances(t *testing.T) {
	node := &fakeNode{health: map[string]edge.OriginHealth{
		"listener-1@link-a/rs-1": {Down: []string{"192.0.2.2", "192.0.2.1"}},
		"listener-1@link-b/rs-1": {Down: []string{"192.0.2.1"}},
		"listener-1@link-a/rs-2": {Healthy: true},
		"listener-1@link-b/rs-2": {Down: []string{"192.0.2.3"}},
	}}
	r := New(node, nil, slog.New(slog.DiscardHandler))
	r.mu.Lock()
	r.syncHealth()
	r.mu.Unlock()
	for origin, want := range map[string][]string{"rs-1": {"192.0.2.1", "192.0.2.2"}, "rs-2": {"192.0.2.3"}} {
		if ok, down := r.Health("listener-1", origin); ok || !slices.Equal(down, want) {
			t.Errorf("Health of %s: %v, %q; want unhealthy with %q", origin, ok, down, want)
		}
	}
}

// TestHealthResyncsAfterDroppedEvent: the edge drops health events that
// find its Events buffer full (edge.Runtime.emit), so an origin whose
// "down" event was dropped must still be recorded (RealServerStatus) and
// reported (Recorder.Health, which feeds RealServerStatus/BindStatus of
// the Describe actions) as the node knows it, from the next minute
// recorded on, without waiting for a configuration change.
func TestHealthResyncsAfterDroppedEvent(t *testing.T) {
	st, node, r := newTestRecorder(t)
	node.health = map[string]edge.OriginHealth{"listener-1/rs-1": {Healthy: true}}
	r.Observe(&snapshot.Snapshot{}) // Applied: health synced from the node.

	// The origin fails its checks; the node knows it, but the event found
	// the buffer full and was dropped (nothing reaches r.observe).
	node.health = map[string]edge.OriginHealth{"listener-1/rs-1": {Healthy: false, Down: []string{"192.0.2.1"}}}
	for i := 1; i <= 3; i++ {
		node.sample.At = t0.Add(time.Duration(i) * time.Minute)
		if err := r.Record(t.Context(), node.sample.At); err != nil {
			t.Fatal(err)
		}
	}
	pts, err := st.Query(t.Context(), "listener-1/rs-1", HealthMetric, 60, t0, t0.Add(3*time.Minute))
	if err != nil || len(pts) != 3 {
		t.Fatalf("RealServerStatus: got %+v, %v; want 3 points", pts, err)
	}
	for _, p := range pts {
		if p.Value != 0 {
			t.Errorf("RealServerStatus at %s = %v; want 0: the node reports rs-1 down", p.Time.Format("15:04"), p.Value)
		}
	}
	if ok, down := r.Health("listener-1", "rs-1"); ok || !slices.Equal(down, []string{"192.0.2.1"}) {
		t.Errorf("Health of rs-1 = %v, %q; want unhealthy with 192.0.2.1, as the node reports", ok, down)
	}
}

func noGroup(string) string { return "" }

// TestGroupSeries: a proxy group's series is recorded as its own object,
// the sum of its proxies in each minute (rates and Concurrent add up,
// Latency is the mean over all their samples), and a proxy that leaves the
// configuration still adds its final counts to the minute it counted them
// in; later minutes hold the remaining proxies only.
func TestGroupSeries(t *testing.T) {
	st, node, r := newTestRecorder(t)
	r.Observe(&snapshot.Snapshot{Proxies: []snapshot.Proxy{{ID: "link-a", Group: "lg-1"}, {ID: "link-b", Group: "lg-1"}, {ID: "link-c"}}})
	key := func(id string) stats.Key { return stats.Key{Kind: stats.KindProxy, ID: id} }
	// Minute 0: a 60 MB out, 2 conns, 2 connects of 2 ms; b 15 MB out, 1 conn,
	// 2 connects of 8 ms; c (no group) 150 MB. b leaves during minute 1 and
	// counts 15 MB more there; minute 2 is a's only.
	cum := []map[stats.Key]stats.Values{
		{key("link-a"): {BytesOut: 60e6, Active: 2, DialCount: 2, DialNanos: 4e6}, key("link-b"): {BytesOut: 15e6, Active: 1, DialCount: 2, DialNanos: 16e6},
			key("link-c"): {BytesOut: 150e6}},
		{key("link-a"): {BytesOut: 60e6, DialCount: 2, DialNanos: 4e6}, key("link-b"): {BytesOut: 30e6, DialCount: 2, DialNanos: 16e6}, key("link-c"): {BytesOut: 150e6}},
		{key("link-a"): {BytesOut: 75e6, DialCount: 2, DialNanos: 4e6}, key("link-c"): {BytesOut: 150e6}},
	}
	for i, v := range cum {
		node.sample = stats.Sample{At: t0.Add(time.Duration(i+1) * time.Minute), Values: v}
		if err := r.Record(t.Context(), node.sample.At); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			r.Observe(&snapshot.Snapshot{Proxies: []snapshot.Proxy{{ID: "link-a", Group: "lg-1"}, {ID: "link-c"}}})
		}
	}
	for _, tc := range []struct {
		minute int
		metric string
		want   float64
	}{
		{0, OutBandwidth, 10}, {0, Concurrent, 3}, {0, Latency, 5},
		{1, OutBandwidth, 2}, // b's final 15 MB: 2 Mbps
		{2, OutBandwidth, 2}, // a's 15 MB
	} {
		m := t0.Add(time.Duration(tc.minute) * time.Minute)
		pts, err := st.Query(t.Context(), "lg-1", tc.metric, 60, m, m)
		if err != nil || len(pts) != 1 || pts[0].Value != tc.want {
			t.Errorf("lg-1 %s of minute %d: got %+v, %v; want %v", tc.metric, tc.minute, pts, err, tc.want)
		}
	}
	if five, _ := st.Query(t.Context(), "lg-1", OutBandwidth, 300, t0, t0); len(five) != 1 || five[0].Value != 10 {
		t.Errorf("lg-1 OutBandwidth at 300 s: got %+v; want the maximum of its minutes, 10", five)
	}
}

// TestTeoOriginHealth: the health of an EdgeOne group record used by a
// checked rule is written under its series object — 0 once a use of it is
// reported down — and nothing is written for an origin named by address
// (even one that looks like a group ID) or one under no check.
func TestTeoOriginHealth(t *testing.T) {
	st, node, r := newTestRecorder(t)
	obj := model.TeoOriginHealthObject("origin-g", "record-a")
	udpObj := model.TeoOriginHealthObject("origin-g", "record-u")
	r.Observe(&snapshot.Snapshot{Proxies: []snapshot.Proxy{{ID: "sid-1", Listeners: []snapshot.Listener{
		{ID: "rule-1/81", Health: snapshot.HealthCheck{Enabled: true}, Origins: []snapshot.Origin{{ID: obj}, {ID: "origin-1.example.com"}}},
		{ID: "rule-1/82", Health: snapshot.HealthCheck{Enabled: true}, Origins: []snapshot.Origin{{ID: obj}}},
		{ID: "rule-2/83", Origins: []snapshot.Origin{{ID: udpObj}}},
	}}}})
	node.sample = stats.Sample{At: t0.Add(time.Minute), Values: map[stats.Key]stats.Values{}}
	node.flip(r, edge.Event{Kind: edge.EventOriginHealth, Users: []string{"rule-1/82/" + obj}, Healthy: false})
	if err := r.Record(t.Context(), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	minute := t0 // The counts are of [t0, t0+1m).
	for _, tc := range []struct {
		obj  string
		want []float64
	}{{obj, []float64{0}}, {udpObj, nil}, {"origin-1.example.com", nil}} {
		pts, err := st.Query(t.Context(), tc.obj, model.TeoOriginHealthMetric, 60, minute, minute)
		var got []float64
		for _, p := range pts {
			got = append(got, p.Value)
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: points %v, %v; want %v", tc.obj, got, err, tc.want)
		}
	}
}

func TestHTTPQPSPerProxy(t *testing.T) {
	st, node, r := newTestRecorder(t)
	r.Observe(&snapshot.Snapshot{Proxies: []snapshot.Proxy{{ID: "link-a", MaxConns: 20000, HTTPListeners: []snapshot.HTTPListener{
		{ID: "listener-h", Protocol: "HTTP"}, {ID: "listener-s", Protocol: "HTTPS"}}}}})
	node.sample = stats.Sample{At: t0.Add(time.Minute), Values: map[stats.Key]stats.Values{
		{Kind: stats.KindListener, ID: "listener-h"}: {Requests: 6000},
		{Kind: stats.KindListener, ID: "listener-s"}: {Requests: 1200},
	}}
	if err := r.Record(t.Context(), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	minute := t0 // The counts are of [t0, t0+1m).
	for metric, want := range map[string]float64{HttpQPS: 100, HttpsQPS: 20, HttpQPSPercent: 0.5, HttpsQPSPercent: 0.1} {
		pts, err := st.Query(t.Context(), "link-a", metric, 60, minute, minute)
		if err != nil || len(pts) != 1 || pts[0].Value != want {
			t.Errorf("%s: got %+v, %v; want %v", metric, pts, err, want)
		}
	}
}

// hookNode runs hook right after a sample is taken.
type hookNode struct {
	*fakeNode
	hook func()
}

func (h *hookNode) Sample() stats.Sample {
	s := h.fakeNode.Sample()
	if f := h.hook; f != nil {
		h.hook = nil
		f()
	}
	return s
}

// TestHTTPQPSOfRemovedListener: the requests a listener served in the
// minute it was removed (reported by the data plane in one more sample)
// still count in its proxy's HttpQPS; a later minute does not know it.
// So too when the removal is observed while a Record runs, right after
// its sample: that Record must not clear the listener it did not sample.
func TestHTTPQPSOfRemovedListener(t *testing.T) {
	for _, during := range []bool{false, true} {
		st, node, _ := newTestRecorder(t)
		hn := &hookNode{fakeNode: node}
		r := New(hn, st, nil)
		r.Observe(&snapshot.Snapshot{Proxies: []snapshot.Proxy{{ID: "link-a", MaxConns: 20000, HTTPListeners: []snapshot.HTTPListener{
			{ID: "listener-h", Protocol: "HTTP"}}}}})
		key := stats.Key{Kind: stats.KindListener, ID: "listener-h"}
		removed := make(chan struct{})
		remove := func() { r.Observe(&snapshot.Snapshot{}); close(removed) }
		for i, n := range []int64{6000, 12000, 18000} {
			node.sample = stats.Sample{At: t0.Add(time.Duration(i+1) * time.Minute), Values: map[stats.Key]stats.Values{key: {Requests: n}}}
			if !during && i == 2 { // Its connections closed: the registry dropped its counters.
				node.sample.Values = map[stats.Key]stats.Values{}
			}
			if during && i == 1 {
				// The controller observes the removal concurrently; give it
				// time to get in before Record reads the layout.
				hn.hook = func() {
					go remove()
					select {
					case <-removed:
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
			if err := r.Record(t.Context(), node.sample.At); err != nil {
				t.Fatal(err)
			}
			if !during && i == 0 { // Removed (its proxy with it) during the second minute.
				remove()
			}
			if i == 1 {
				<-removed
			}
		}
		wants := []float64{100, 100}
		if during { // Observed after the second sample: the third holds its last counts.
			wants = append(wants, 100)
		}
		for i, want := range wants {
			minute := t0.Add(time.Duration(i) * time.Minute)
			for metric, want := range map[string]float64{HttpQPS: want, HttpQPSPercent: want / 200} {
				pts, err := st.Query(t.Context(), "link-a", metric, 60, minute, minute)
				if err != nil || len(pts) != 1 || pts[0].Value != want {
					t.Errorf("removed during a Record %v: %s of minute %d: got %+v, %v; want %v", during, metric, i, pts, err, want)
				}
			}
		}
		if during {
			continue
		}
		if pts, err := st.Query(t.Context(), "link-a", HttpQPS, 60, t0.Add(2*time.Minute), t0.Add(2*time.Minute)); err != nil || len(pts) != 0 {
			t.Errorf("HttpQPS of the minute after the last sample of a removed listener: got %+v, %v; want none", pts, err)
		}
	}
}

func TestEdgeOneRulePortsAddUp(t *testing.T) {
	minute := time.Date(2026, 11, 22, 10, 1, 0, 0, time.UTC)
	delta := map[stats.Key]stats.Values{
		{Kind: stats.KindListener, ID: "rule-abc/81"}: {BytesIn: 1000, BytesOut: 500, Peak: 2, NewConns: 6},
		{Kind: stats.KindListener, ID: "rule-abc/82"}: {BytesIn: 3000, BytesOut: 500, Peak: 1, NewConns: 6},
		{Kind: stats.KindProxy, ID: "sid-xyz"}:        {BytesIn: 4000, BytesOut: 1000, Peak: 3, NewConns: 12},
	}
	got := map[string]float64{}
	for _, p := range minutePoints(delta, 60, minute, noGroup) {
		got[p.Object+" "+p.Metric] = p.Value
	}
	for key, want := range map[string]float64{
		"rule-abc l4Flow_flux": 5000, "rule-abc l4Flow_inFlux": 4000, "rule-abc l4Flow_connections": 3,
		"rule-abc l4Flow_newConnectionsRate": 0.2, "sid-xyz l4Flow_outBandwidth": 1000 * 8 / 60.0,
		"rule-abc Concurrent": 3,
	} {
		if got[key] != want {
			t.Errorf("%s = %v; want %v", key, got[key], want)
		}
	}
	if _, ok := got["rule-abc/81 l4Flow_flux"]; ok {
		t.Error("a rule's port was recorded on its own; want it added to the rule")
	}
}

func TestHTTPStatusClasses(t *testing.T) {
	minute := time.Date(2026, 11, 22, 10, 1, 0, 0, time.UTC)
	delta := map[stats.Key]stats.Values{
		{Kind: stats.KindRule, ID: "rule-1"}: {Requests: 120, Status: [6]int64{2: 100, 4: 15, 5: 5}},
	}
	got := map[string]float64{}
	for _, p := range minutePoints(delta, 60, minute, noGroup) {
		got[p.Metric] = p.Value
	}
	for metric, want := range map[string]float64{Requests: 2, "Status2xx": 100, "Status4xx": 15, "Status5xx": 5, "Status3xx": 0} {
		if v, ok := got[metric]; !ok || v != want {
			t.Errorf("%s = %v (present %v); want %v", metric, v, ok, want)
		}
	}
}

// TestRollupWindows records NewConnections (summed when rolled up) over
// minutes crossing a 5-minute boundary: each coarser point covers exactly
// the minutes of its own window.
func TestRollupWindows(t *testing.T) {
	st, node, r := newTestRecorder(t)
	key := stats.Key{Kind: stats.KindListener, ID: "listener-1"}
	var total int64
	for m := 1; m <= 6; m++ { // minutes 10:00 … 10:05, m new connections each
		total += int64(m)
		node.sample = stats.Sample{At: t0.Add(time.Duration(m) * time.Minute), Values: map[stats.Key]stats.Values{key: {NewConns: total}}}
		if err := r.Record(t.Context(), t0.Add(time.Duration(m)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		gran  int
		start time.Time
		want  float64
	}{
		{300, t0, 1 + 2 + 3 + 4 + 5},
		{300, t0.Add(5 * time.Minute), 6},
		{3600, t0, 21},
		{86400, model.StatsBucket(t0, 86400), 21},
	} {
		pts, err := st.Query(t.Context(), "listener-1", NewConnections, c.gran, c.start, c.start)
		if err != nil || len(pts) != 1 || pts[0].Value != c.want {
			t.Errorf("%d s at %v: got %+v, %v; want one point %v", c.gran, c.start, pts, err, c.want)
		}
	}
}

// TestRollupTakesWindowMaximum: a coarse point of a rate or a gauge is the
// maximum of its minutes, as the statistics actions define it ("取值为细粒度
// 范围内最大值"), and one of an origin's health the minimum: the window
// reads abnormal if the origin was at any minute of it.
func TestRollupTakesWindowMaximum(t *testing.T) {
	st, node, r := newTestRecorder(t)
	key := stats.Key{Kind: stats.KindListener, ID: "listener-1"}
	health := "listener-1/rs-1"
	// Minute 1: 10 open connections, 60 MB in (8 Mbps), origin down;
	// minute 2: 2 open, nothing in, origin up.
	for m, v := range []stats.Values{{BytesIn: 60_000_000, Active: 10}, {BytesIn: 60_000_000, Active: 2}} {
		at := t0.Add(time.Duration(m+1) * time.Minute)
		node.sample = stats.Sample{At: at, Values: map[stats.Key]stats.Values{key: v}}
		node.flip(r, edge.Event{Kind: edge.EventOriginHealth, Users: []string{health}, Healthy: m == 1})
		if err := r.Record(t.Context(), at); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		object, metric string
		want           float64
	}{{"listener-1", Concurrent, 10}, {"listener-1", InBandwidth, 8}, {health, HealthMetric, 0}} {
		for _, gran := range []int{300, 3600, 86400} {
			start := model.StatsBucket(t0, gran)
			pts, err := st.Query(t.Context(), c.object, c.metric, gran, start, start)
			if err != nil || len(pts) != 1 || pts[0].Value != c.want {
				t.Errorf("%s at %d s: got %+v, %v; want one point %v", c.metric, gran, pts, err, c.want)
			}
		}
	}
}

// TestDailyRollupStartsAtBeijingMidnight: the statistics actions take
// Beijing times, so a daily point holds a Beijing day: a minute at 01:00
// Beijing (17:00 UTC the day before) is in the day that starts at 00:00.
func TestDailyRollupStartsAtBeijingMidnight(t *testing.T) {
	st, node, r := newTestRecorder(t)
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, model.StatsZone)
	m := day.Add(time.Hour)
	r.prev = stats.Sample{At: m, Values: map[stats.Key]stats.Values{}}
	node.sample = stats.Sample{At: m.Add(time.Minute), Values: map[stats.Key]stats.Values{
		{Kind: stats.KindListener, ID: "listener-1"}: {Active: 5}}}
	if err := r.Record(t.Context(), m.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	pts, err := st.Query(t.Context(), "listener-1", Concurrent, 86400, day.Add(-24*time.Hour), day.Add(24*time.Hour))
	if err != nil || len(pts) != 1 || !pts[0].Time.Equal(day) {
		t.Errorf("daily point of a minute at %s: got %+v, %v; want one, at %s", m, pts, err, day)
	}
}

// TestMinuteRetentionOutlastsLongestRange: the first minute of the
// longest range DescribeProxyStatistics answers at 60 s (3 days, from the
// step holding StartTime) is not pruned by a recording just after it.
func TestMinuteRetentionOutlastsLongestRange(t *testing.T) {
	st, node, r := newTestRecorder(t)
	now := t0.Add(3*24*time.Hour + time.Minute + 2*time.Second)
	first := model.StatsBucket(now.Add(-3*24*time.Hour), 60)
	if err := st.Write(t.Context(), []store.Point{{Object: "link-1", Metric: Concurrent, Granularity: 60, Time: first, Value: 7}}); err != nil {
		t.Fatal(err)
	}
	r.prev = stats.Sample{At: now.Add(-time.Minute), Values: map[stats.Key]stats.Values{}}
	node.sample = stats.Sample{At: now, Values: map[stats.Key]stats.Values{}}
	if err := r.Record(t.Context(), now); err != nil {
		t.Fatal(err)
	}
	if pts, err := st.Query(t.Context(), "link-1", Concurrent, 60, first, first); err != nil || len(pts) != 1 {
		t.Errorf("first minute (%s) of the 3 days before %s: got %+v, %v; want it kept", first, now, pts, err)
	}
}

// TestBackwardClockStepKeepsMinute: the clock steps back 200 ms (ntpd
// steps any offset over 128 ms) within minute 10:00. Run's timer, armed
// for the 10:01 boundary on the monotonic clock, fires at wall 10:00:59.8:
// Record writes minute 10:00 whole (60 s elapsed) with its 600 new
// connections. Run re-arms from the wall clock, and 200 ms later the next
// part starts at the sample's wall reading, 10:00:59.8, so it is stamped
// 10:00 again. It merges with what this process wrote (the counts are
// deltas: the parts are disjoint in time) instead of replacing the minute
// with its 200 ms, at 60 s and in the rollups.
//
// The fake node's samples carry no monotonic reading: the first Record is
// fed the 60 s production measures (At 10:01:00), then r.prev.At is set to
// the wall reading production's sample carries (10:00:59.8).
func TestBackwardClockStepKeepsMinute(t *testing.T) {
	st, node, r := newTestRecorder(t)
	key := stats.Key{Kind: stats.KindListener, ID: "listener-1"}
	node.sample = stats.Sample{At: t0.Add(time.Minute), Values: map[stats.Key]stats.Values{
		key: {NewConns: 600, BytesIn: 60_000_000}}} // 8 Mbps.
	if err := r.Record(t.Context(), t0.Add(59800*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	r.prev.At = t0.Add(59800 * time.Millisecond)
	node.sample = stats.Sample{At: t0.Add(time.Minute), Values: map[stats.Key]stats.Values{
		key: {NewConns: 601, BytesIn: 60_000_000}}}
	if err := r.Record(t.Context(), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, gran := range []int{60, 300} {
		pts, err := st.Query(t.Context(), "listener-1", NewConnections, gran, t0, t0)
		if err != nil || len(pts) != 1 || pts[0].Value != 601 {
			t.Errorf("NewConnections at %d s after a 200 ms backward step: got %+v, %v; want 601 (600 + 1)", gran, pts, err)
		}
		bw, err := st.Query(t.Context(), "listener-1", InBandwidth, gran, t0, t0)
		if err != nil || len(bw) != 1 || bw[0].Value < 7.9 || bw[0].Value > 8 {
			t.Errorf("InBandwidth at %d s: got %+v, %v; want ~8 Mbps (60 MB over 60.2 s)", gran, bw, err)
		}
	}
}

// TestForwardClockStepKeepsRecentMinutes: retention prunes by the clock,
// points older than 4 days at 60 s, but one Record under a clock stepped
// 5 days ahead (a VM resumed with a stale offset, a bad time source, an
// RTC set wrong before chrony corrects it) does not delete the last 4
// days of minutes, the ones just written included, for good, while their
// 300 s rollups stay.
func TestForwardClockStepKeepsRecentMinutes(t *testing.T) {
	st, node, r := newTestRecorder(t)
	key := stats.Key{Kind: stats.KindListener, ID: "listener-1"}
	old := t0.Add(-model.StatsRetention[60] - time.Hour)
	if err := st.Write(t.Context(), []store.Point{{Object: "listener-1", Metric: NewConnections, Granularity: 60, Time: old, Value: 1}}); err != nil {
		t.Fatal(err)
	}
	node.sample = stats.Sample{At: t0.Add(time.Minute), Values: map[stats.Key]stats.Values{key: {NewConns: 42}}}
	if err := r.Record(t.Context(), t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if pts, err := st.Query(t.Context(), "listener-1", NewConnections, 60, old, old); err != nil || len(pts) != 0 {
		t.Errorf("a minute older than the 60 s retention: got %+v, %v; want it pruned", pts, err)
	}
	node.sample = stats.Sample{At: t0.Add(2 * time.Minute), Values: map[stats.Key]stats.Values{key: {NewConns: 43}}}
	if err := r.Record(t.Context(), t0.Add(5*24*time.Hour+2*time.Minute)); err != nil { // Run's timer: the stepped wall clock.
		t.Fatal(err)
	}
	if pts, err := st.Query(t.Context(), "listener-1", NewConnections, 60, t0, t0.Add(time.Minute)); err != nil || len(pts) != 2 {
		t.Errorf("60 s NewConnections of the last two minutes after a Record under a clock 5 days ahead: got %+v, %v; want both kept", pts, err)
	}
}

// TestRestartWithinMinuteMerges: a process that stops 20 s into a minute
// and one started 30 s into it write two parts of that minute; the point
// holds both, not the second alone, also for series only one part has.
// A part that would make the minute longer than a minute (the clock
// stepped back) replaces what is stored instead, series it has no count
// for included.
func TestRestartWithinMinuteMerges(t *testing.T) {
	st, first, r := newTestRecorder(t)
	key := stats.Key{Kind: stats.KindListener, ID: "listener-1"}
	key2 := stats.Key{Kind: stats.KindListener, ID: "listener-2"}
	var ok2xx [6]int64
	ok2xx[2] = 200
	first.sample = stats.Sample{At: t0.Add(20 * time.Second), Values: map[stats.Key]stats.Values{
		key: {BytesIn: 2_000_000, NewConns: 3, Active: 2, Requests: 200, Status: ok2xx}}}
	if err := r.Record(t.Context(), first.sample.At); err != nil { // Shutdown's partial minute.
		t.Fatal(err)
	}

	// The next process counts from zero again.
	second := &fakeNode{sample: stats.Sample{At: t0.Add(30 * time.Second), Values: map[stats.Key]stats.Values{}}, events: make(chan edge.Event)}
	r = New(second, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	second.sample = stats.Sample{At: t0.Add(time.Minute), Values: map[stats.Key]stats.Values{
		key: {BytesIn: 4_250_000, NewConns: 4, Active: 5}, key2: {Requests: 300}}}
	if err := r.Record(t.Context(), second.sample.At); err != nil {
		t.Fatal(err)
	}

	// Over the 50 s both parts cover: 6.25 MB is 1 Mbps; 200 requests
	// only in the first part 4/s, 300 only in the second 6/s.
	want := map[string]map[string]float64{
		"listener-1": {InBandwidth: 1, NewConnections: 7, Concurrent: 5, Requests: 4, StatusClassMetric(2): 200},
		"listener-2": {Requests: 6},
	}
	check := func(when string, want map[string]map[string]float64, grans ...int) {
		t.Helper()
		for obj, metrics := range want {
			for metric, v := range metrics {
				for _, gran := range grans {
					pts, err := st.Query(t.Context(), obj, metric, gran, t0, t0)
					if err != nil || len(pts) != 1 || pts[0].Value != v {
						t.Errorf("%s: %s %s at %d s: got %+v, %v; want one point %v", when, obj, metric, gran, pts, err, v)
					}
				}
			}
		}
	}
	check("merged", want, 60, 300)
	check("merged", map[string]map[string]float64{coverageObject: {coverageMetric: 50}}, 60)

	// A third part of 30 s would make the minute 80 s long: it replaces.
	third := &fakeNode{sample: stats.Sample{At: t0.Add(30 * time.Second), Values: map[stats.Key]stats.Values{}}, events: make(chan edge.Event)}
	r = New(third, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	third.sample = stats.Sample{At: t0.Add(time.Minute), Values: map[stats.Key]stats.Values{key: {NewConns: 1}}}
	if err := r.Record(t.Context(), third.sample.At); err != nil {
		t.Fatal(err)
	}
	// Its zeros, which it does not write, replace the stored values too.
	check("replaced", map[string]map[string]float64{"listener-1": {NewConnections: 1, InBandwidth: 0, Concurrent: 0, Requests: 0},
		"listener-2": {Requests: 0}}, 60, 300)
	check("replaced", map[string]map[string]float64{coverageObject: {coverageMetric: 30}}, 60)
}

// failingStats fails Write while fail is set, as a store does for a
// moment when PostgreSQL restarts, the disk is full, SQLite stays locked
// past busy_timeout or a new connection finds no descriptor.
type failingStats struct {
	store.Stats
	fail bool
}

func (f *failingStats) Write(ctx context.Context, pts []store.Point) error {
	if f.fail {
		return syscall.EMFILE
	}
	return f.Stats.Write(ctx, pts)
}

// newConnsAt records a minute ending at t0+m in which the listener's
// connection counter reached total, and returns Record's error.
func newConnsAt(t *testing.T, r *Recorder, node *fakeNode, m int, total int64) error {
	t.Helper()
	at := t0.Add(time.Duration(m) * time.Minute)
	node.sample = stats.Sample{At: at, Values: map[stats.Key]stats.Values{{Kind: stats.KindListener, ID: "listener-1"}: {NewConns: total}}}
	return r.Record(t.Context(), at)
}

// storedNewConns is listener-1's NewConnections per stored minute.
func storedNewConns(t *testing.T, st store.Stats, from, to time.Time) map[time.Time]float64 {
	t.Helper()
	pts, err := st.Query(t.Context(), "listener-1", NewConnections, 60, from, to)
	if err != nil {
		t.Fatal(err)
	}
	got := map[time.Time]float64{}
	for _, p := range pts {
		got[p.Time] = p.Value
	}
	return got
}

// A minute whose write fails is written with the next Record, as its own
// minute, instead of being lost.
func TestFailedMinuteWrittenWithNext(t *testing.T) {
	st, node, r := newTestRecorder(t)
	fs := &failingStats{Stats: st, fail: true}
	r.stats = fs
	if err := newConnsAt(t, r, node, 1, 100); err == nil {
		t.Fatal("the write should have failed")
	}
	fs.fail = false
	if err := newConnsAt(t, r, node, 2, 110); err != nil {
		t.Fatal(err)
	}
	got := storedNewConns(t, st, t0, t0.Add(time.Minute))
	want := map[time.Time]float64{t0: 100, t0.Add(time.Minute): 10}
	if !maps.Equal(got, want) {
		t.Errorf("NewConnections per minute = %v; want %v", got, want)
	}
	if h, err := st.Query(t.Context(), "listener-1", NewConnections, 300, t0, t0); err != nil || len(h) != 1 || h[0].Value != 110 {
		t.Errorf("5-minute NewConnections = %+v, %v; want 110", h, err)
	}
}

// While the store stays down, the recorder keeps the last maxPending
// minutes, the one being recorded included, and drops older ones: its
// memory does not grow without limit.
func TestFailedMinutesBounded(t *testing.T) {
	st, node, r := newTestRecorder(t)
	fs := &failingStats{Stats: st, fail: true}
	r.stats = fs
	for m := 1; m <= maxPending; m++ {
		if err := newConnsAt(t, r, node, m, int64(m)); err == nil {
			t.Fatal("the write should have failed")
		}
	}
	if len(r.pending) != maxPending {
		t.Fatalf("%d minutes kept; want %d", len(r.pending), maxPending)
	}
	fs.fail = false
	if err := newConnsAt(t, r, node, maxPending+1, int64(maxPending+1)); err != nil {
		t.Fatal(err)
	}
	got := storedNewConns(t, st, t0, t0.Add(time.Duration(maxPending)*time.Minute))
	if len(got) != maxPending || got[t0] != 0 || got[t0.Add(time.Minute)] != 1 {
		t.Errorf("%d minutes stored (first %v, second %v); want %d, the first dropped", len(got), got[t0], got[t0.Add(time.Minute)], maxPending)
	}
}

// frozenStats blocks Write until its context ends while frozen is set, as
// a store whose database stops answering without a reset (a partition, a
// paused host) does. Thawed, a Write runs to its end whatever its
// deadline: Run, sampling every 200 ms in a test, gives a Record under
// 180 ms, which a commit's fsync on a busy disk can take all of (a minute,
// as run in production, gives it 54 s).
type frozenStats struct {
	store.Stats
	frozen atomic.Bool
}

func (f *frozenStats) Write(ctx context.Context, pts []store.Point) error {
	if f.frozen.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.Stats.Write(context.WithoutCancel(ctx), pts)
}

// countingNode counts the samples taken of it.
type countingNode struct {
	*fakeNode
	samples atomic.Int32
}

func (c *countingNode) Sample() stats.Sample {
	c.samples.Add(1)
	return c.fakeNode.Sample()
}

// TestFrozenStoreKeepsSampling: while the store does not answer, Run still
// samples every interval (each Record's write fails in time, and its
// interval is kept) and writes what it kept once the store answers. Run
// took the next sample only when Record returned, so a store frozen across
// a minute boundary had the sample taken when it answered again stamp the
// whole outage on the minute it began in (docs/statistics.md: the point at
// 10:00 holds 10:00:00-10:01:00).
func TestFrozenStoreKeepsSampling(t *testing.T) {
	st, node, _ := newTestRecorderAt(t, time.Now())
	node.reg = stats.NewRegistry()
	conns := &node.reg.Get(stats.KindListener, "listener-1").NewConns
	fs := &frozenStats{Stats: st}
	fs.frozen.Store(true)
	cn := &countingNode{fakeNode: node}
	r := New(cn, fs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, 200*time.Millisecond)
	}()
	defer func() { cancel(); <-done }()
	for range 6 {
		conns.Add(1)
		time.Sleep(200 * time.Millisecond)
	}
	if n := cn.samples.Load(); n < 3 {
		t.Errorf("%d samples in 1.2 s of a frozen store, sampling every 200 ms; want one every interval", n)
	}
	fs.frozen.Store(false)
	conns.Add(1)
	from := time.Now().Truncate(time.Minute).Add(-time.Minute)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		total := 0.0
		for _, v := range storedNewConns(t, st, from, from.Add(2*time.Minute)) {
			total += v
		}
		if total == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v NewConnections stored 5 s after the store answered again; want 7", total)
		}
	}
}

// TestGroupSeriesOfDrainingProxy: a group proxy removed while a
// connection of it drains is still counted by the data plane
// (stats.Registry.Forget), and its drained minutes count in its group's
// series too. The recorder had dropped what it knew of removed objects
// after one Record, so the group series stopped being the sum of what its
// proxies carried.
func TestGroupSeriesOfDrainingProxy(t *testing.T) {
	st, node, r := newTestRecorder(t)
	r.Observe(&snapshot.Snapshot{Proxies: []snapshot.Proxy{{ID: "link-a", Group: "lg-1"}, {ID: "link-b", Group: "lg-1"}}})
	key := func(id string) stats.Key { return stats.Key{Kind: stats.KindProxy, ID: id} }
	cum := []map[stats.Key]stats.Values{
		{key("link-a"): {BytesOut: 60e6}, key("link-b"): {BytesOut: 15e6, Active: 1}},
		{key("link-a"): {BytesOut: 60e6}, key("link-b"): {BytesOut: 30e6, Active: 1}}, // b removed, one connection draining.
		{key("link-a"): {BytesOut: 75e6}, key("link-b"): {BytesOut: 45e6}},            // Its last 15 MB, then it closes.
	}
	for i, v := range cum {
		node.sample = stats.Sample{At: t0.Add(time.Duration(i+1) * time.Minute), Values: v}
		if err := r.Record(t.Context(), node.sample.At); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			r.Observe(&snapshot.Snapshot{Proxies: []snapshot.Proxy{{ID: "link-a", Group: "lg-1"}}})
		}
	}
	m := t0.Add(2 * time.Minute)
	b, _ := st.Query(t.Context(), "link-b", OutBandwidth, 60, m, m)
	g, _ := st.Query(t.Context(), "lg-1", OutBandwidth, 60, m, m)
	if len(b) != 1 || len(g) != 1 || g[0].Value != 4 {
		t.Errorf("minute 2: link-b (removed from lg-1, draining) %+v, lg-1 %+v; want lg-1 4 Mbps (a's 15 MB and b's drained 15 MB)", b, g)
	}
}

// chunkStats records each Write's series and fails the write numbered
// failAt (1-based) once.
type chunkStats struct {
	store.Stats
	writes [][]store.Point
	failAt int
}

func (c *chunkStats) Write(ctx context.Context, pts []store.Point) error {
	c.writes = append(c.writes, slices.Clone(pts))
	if len(c.writes) == c.failAt {
		return syscall.EIO
	}
	return c.Stats.Write(ctx, pts)
}

// TestMinuteWrittenInWholeSeries: a large minute is written in several
// store writes (SQLite's one writer, and every API write with it, was held
// for seconds by a busy account's minute), each holding whole series, a
// series' minute and coarser points together; and a minute whose write
// fails half way, written again with the next Record, stores what a minute
// written at once does: no series counts twice.
func TestMinuteWrittenInWholeSeries(t *testing.T) {
	defer func(n int) { writeChunk = n }(writeChunk)
	writeChunk = 16
	sample := func(at time.Time, scale int64) stats.Sample {
		s := stats.Sample{At: at, Values: map[stats.Key]stats.Values{}}
		for i := range 40 {
			s.Values[stats.Key{Kind: stats.KindListener, ID: fmt.Sprintf("listener-%02d", i)}] = stats.Values{
				BytesIn: scale * int64(1000+i), NewConns: scale * int64(i+1)}
		}
		return s
	}
	// record records two minutes; first is how many writes the first took.
	record := func(failAt int) (st store.Stats, cs *chunkStats, first int) {
		st, node, r := newTestRecorder(t)
		cs = &chunkStats{Stats: st, failAt: failAt}
		r.stats = cs
		node.sample = sample(t0.Add(time.Minute), 1)
		if err := r.Record(t.Context(), t0.Add(time.Minute)); (err != nil) != (failAt > 0) {
			t.Fatalf("first minute (write %d failing): %v", failAt, err)
		}
		first = len(cs.writes)
		node.sample = sample(t0.Add(2*time.Minute), 3)
		if err := r.Record(t.Context(), t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		return st, cs, first
	}
	whole, cs, first := record(0)
	if first < 4 {
		t.Fatalf("a minute of 80 series in %d writes; want chunks of about %d points", first, writeChunk)
	}
	seen := map[[2]string]int{} // The first minute's series, by write.
	for i, w := range cs.writes[:first] {
		for _, p := range w {
			k := [2]string{p.Object, p.Metric}
			if j, ok := seen[k]; ok && j != i {
				t.Errorf("series %v split across writes %d and %d", k, j, i)
			}
			seen[k] = i
		}
	}
	halfway, _, _ := record(2)
	for _, gran := range []int{60, 300, 3600, 86400} {
		want, err := whole.Range(t.Context(), gran, t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got, err := halfway.Range(t.Context(), gran, t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		key := func(a, b store.Point) int {
			return cmp.Or(strings.Compare(a.Object, b.Object), strings.Compare(a.Metric, b.Metric), a.Time.Compare(b.Time))
		}
		slices.SortFunc(want, key)
		slices.SortFunc(got, key)
		if !slices.EqualFunc(got, want, func(a, b store.Point) bool { return key(a, b) == 0 && a.Value == b.Value }) {
			t.Errorf("granularity %d after a write failed half way: %d points, want those of a minute written at once (%d)", gran, len(got), len(want))
		}
	}
}

// TestPartialMinuteRetriedCountsOnce: a process starts at 10:00:40, so
// its first part of 10:00 covers 20 s and writes a coverage point ("node",
// RecordedSeconds 20). Split, with the coverage point's write done and a
// later one failed, the part written again found that point, merged with
// its own half and counted twice: a part of a minute is written at once.
func TestPartialMinuteRetriedCountsOnce(t *testing.T) {
	defer func(n int) { writeChunk = n }(writeChunk)
	writeChunk = 16
	sample := func(at time.Time) stats.Sample {
		s := stats.Sample{At: at, Values: map[stats.Key]stats.Values{}}
		for i := range 20 {
			for _, p := range []string{"a", "z"} { // Before and after "node".
				s.Values[stats.Key{Kind: stats.KindListener, ID: fmt.Sprintf("%s-%02d", p, i)}] = stats.Values{NewConns: int64(i + 1)}
			}
		}
		return s
	}
	// run records the part and a minute after it; first is how many writes
	// the part took.
	run := func(failAt int) (st store.Stats, first int) {
		st, node, r := newTestRecorderAt(t, t0.Add(40*time.Second))
		cs := &chunkStats{Stats: st, failAt: failAt}
		r.stats = cs
		node.sample = sample(t0.Add(time.Minute))
		_ = r.Record(t.Context(), t0.Add(time.Minute))
		first = len(cs.writes)
		node.sample = sample(t0.Add(2 * time.Minute)) // No new counts: a zero minute.
		if err := r.Record(t.Context(), t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		return st, first
	}
	if _, first := run(0); first != 1 {
		t.Errorf("the part of 10:00 took %d writes; want 1 (with %d points a write)", first, writeChunk)
	}
	st, _ := run(1) // The part's write fails; the next Record writes it.
	for _, id := range []string{"a-05", "z-05"} {
		got, err := st.Query(t.Context(), id, NewConnections, 60, t0, t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Value != 6 {
			t.Errorf("%s NewConnections of 10:00 after its write failed and was done again: %+v; want 6", id, got)
		}
	}
	cov, _ := st.Query(t.Context(), coverageObject, coverageMetric, 60, t0, t0)
	if len(cov) != 1 || cov[0].Value != 20 {
		t.Errorf("10:00 RecordedSeconds %+v; want 20", cov)
	}
}
