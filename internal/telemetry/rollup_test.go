package telemetry

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
)

// referenceRollup is rollup as it was before it became incremental, kept
// as the reference it must equal: every coarser point containing minute is
// combined from the series' minutes so far, read with one query per series
// (the whole day's minutes). It returns the points instead of writing them.
func referenceRollup(ctx context.Context, st store.Stats, minutePts []store.Point, minute time.Time) ([]store.Point, error) {
	grans := []int{300, 3600, 86400}
	day := model.StatsBucket(minute, 86400)
	out := make([]store.Point, 0, len(grans)*len(minutePts))
	for _, p := range minutePts {
		got, err := st.Query(ctx, p.Object, p.Metric, 60, day, minute)
		if err != nil {
			return nil, err
		}
		vals := make([]float64, len(got))
		for i, g := range got {
			vals[i] = g.Value
		}
		for _, gran := range grans {
			start := model.StatsBucket(minute, gran)
			// got is ordered by time: the window is its suffix from start.
			i := len(got)
			for i > 0 && !got[i-1].Time.Before(start) {
				i--
			}
			out = append(out, store.Point{Object: p.Object, Metric: p.Metric, Granularity: gran, Time: start, Value: rollupKind(p.Metric, 60, gran)(vals[i:])})
		}
	}
	return out, nil
}

// minuteLog is the reference's store: the minutes of every series in time
// order, in memory, so that the reference's day-long reads stay cheap.
type minuteLog struct {
	store.Stats // only Write and Query are used
	series      map[[2]string][]store.Point
}

func (l *minuteLog) Write(_ context.Context, pts []store.Point) error {
	for _, p := range pts {
		k := [2]string{p.Object, p.Metric}
		s := l.series[k]
		if n := len(s); n > 0 && !s[n-1].Time.Before(p.Time) {
			if !s[n-1].Time.Equal(p.Time) {
				return fmt.Errorf("minuteLog: %v written after %v", p.Time, s[n-1].Time)
			}
			s = s[:n-1] // a second part of the minute replaces the first
		}
		l.series[k] = append(s, p)
	}
	return nil
}

func (l *minuteLog) Query(_ context.Context, object, metric string, granularity int, from, to time.Time) ([]store.Point, error) {
	var out []store.Point
	for _, p := range l.series[[2]string{object, metric}] {
		if p.Granularity == granularity && !p.Time.Before(from) && !p.Time.After(to) {
			out = append(out, p)
		}
	}
	return out, nil
}

// sameRollup reports whether the coarser point got of metric equals the
// reference's want: exactly, except for a mean (meanRate), which rollup
// derives from the finer means and the reference from the minutes, so
// that their divisions round apart.
func sameRollup(metric string, want, got float64) bool {
	if kindOf(metric) == meanRate {
		return math.Abs(got-want) <= 1e-9*max(1, math.Abs(want))
	}
	return got == want
}

// TestRollupEqualsReference records a day and a half of random minutes of
// series of every metric kind (rates, EdgeOne's mean rate, amounts,
// gauges, EdgeOne's peak gauge, both health series), with gaps of single minutes, whole hours of
// one series and an outage of every series, some minutes recorded twice
// (a second part merged into the first), across Beijing midnight. After
// every minute it compares the coarser points rollup computes from the
// stored coarser points with the ones referenceRollup computes from the
// day's minutes (kept in a minuteLog), bucket by bucket, exactly (a mean
// up to rounding, see sameRollup).
func TestRollupEqualsReference(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stats := st.Stats()
	r := &Recorder{stats: stats}
	ref := &minuteLog{series: map[[2]string][]store.Point{}}
	rnd := rand.New(rand.NewPCG(1, 2))

	type series struct {
		object, metric string
		value          func() float64
		presence       float64 // chance of a point in a minute
		hourGaps       bool    // absent for random whole hours
	}
	integer := func(n int) func() float64 { return func() float64 { return float64(rnd.IntN(n)) } }
	var all []series
	for i := range 2 {
		obj := fmt.Sprintf("listener-%d", i)
		all = append(all,
			series{obj, InBandwidth, func() float64 { return rnd.Float64() * 1000 / 7 }, 1, false},
			series{obj, Latency, func() float64 { return rnd.ExpFloat64() * 3 }, 0.8, true},
			series{obj, PacketLoss, func() float64 { return max(0, rnd.NormFloat64()) }, 0.9, false},
			series{obj, Concurrent, integer(5000), 0.95, true},
			series{obj, NewConnections, integer(100_000), 1, false},
			series{obj, StatusClassMetric(5), integer(30), 0.5, true},
			series{obj, "l4Flow_flux", integer(100_000_000_000), 0.9, false},
			series{obj, "l4Flow_connections", integer(100_000), 0.9, true},
			series{obj, "l4Flow_newConnectionsRate", func() float64 { return float64(rnd.IntN(6000)) / 60 }, 0.9, true},
			series{obj + "/rs-1", HealthMetric, func() float64 { return b2f(rnd.IntN(10) > 0) }, 0.97, true},
			series{obj + "/rs-1", model.TeoOriginHealthMetric, func() float64 { return b2f(rnd.IntN(30) > 0) }, 0.6, false},
		)
	}
	// Beijing 23:00 the day before to 00:30 the day after.
	first := time.Date(2026, 11, 22, 23, 0, 0, 0, model.StatsZone)
	const minutes = 25*60 + 30
	outage := first.Add(time.Duration(300+rnd.IntN(600)) * time.Minute) // 40 minutes of no process
	gone := map[string]bool{}                                           // series absent this hour
	compared, kinds := 0, map[kind]int{}
	for m := range minutes {
		minute := first.Add(time.Duration(m) * time.Minute)
		if minute.Minute() == 0 {
			for _, s := range all {
				gone[s.object+s.metric] = s.hourGaps && rnd.IntN(4) == 0
			}
		}
		if !minute.Before(outage) && minute.Before(outage.Add(40*time.Minute)) || rnd.IntN(50) == 0 {
			continue
		}
		for part := 0; part == 0 || part == 1 && rnd.IntN(20) == 0; part++ {
			var pts []store.Point
			for _, s := range all {
				if !gone[s.object+s.metric] && rnd.Float64() < s.presence {
					pts = append(pts, store.Point{Object: s.object, Metric: s.metric, Granularity: 60, Time: minute.UTC(), Value: s.value()})
				}
			}
			if err := ref.Write(t.Context(), pts); err != nil {
				t.Fatal(err)
			}
			want, err := referenceRollup(t.Context(), ref, pts, minute)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.rollup(t.Context(), pts, minute)
			if err != nil {
				t.Fatal(err)
			}
			type bucket struct {
				object, metric string
				gran           int
				start          time.Time
			}
			wantBy := make(map[bucket]float64, len(want))
			for _, p := range want {
				wantBy[bucket{p.Object, p.Metric, p.Granularity, p.Time}] = p.Value
			}
			if len(got) != len(want) {
				t.Fatalf("%v: rollup gave %d points; the reference %d", minute, len(got), len(want))
			}
			for _, p := range got {
				b := bucket{p.Object, p.Metric, p.Granularity, p.Time}
				w, ok := wantBy[b]
				if !ok || !sameRollup(p.Metric, w, p.Value) {
					t.Fatalf("%v: %+v = %v; the reference has %v (present: %v)", minute, b, p.Value, w, ok)
				}
				compared++
				kinds[kindOf(p.Metric)]++
			}
			// As Record does: the minute with its coarser points.
			if err := stats.Write(t.Context(), append(pts, got...)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, k := range []kind{rate, meanRate, amount, peakGauge, health} {
		if kinds[k] == 0 {
			t.Errorf("no point of kind %d compared", k)
		}
	}
	t.Logf("%d coarser points compared over %d minutes", compared, minutes)
}

// TestNewConnectionsRateRollsUpAsMean: EdgeOne's l4Flow_newConnectionsRate
// is the mean new connections per second over its bucket at every
// granularity (docs/api-teo.md). A rule that opened 360 connections in the
// first minute of a 5-minute window and none in the other four opened
// 360/300 = 1.2 a second over the window, not the busiest minute's 6; the
// hour holding that window reads 360/3600 = 0.1.
func TestNewConnectionsRateRollsUpAsMean(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := &Recorder{stats: st.Stats()}
	const obj, metric = "rule-1", "l4Flow_newConnectionsRate"
	start := model.StatsBucket(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), 300)
	perMinute := []float64{6, 0, 0, 0, 0} // 360 connections in the first minute
	for i, v := range perMinute {
		minute := start.Add(time.Duration(i) * time.Minute)
		pts := []store.Point{{Object: obj, Metric: metric, Granularity: 60, Time: minute, Value: v}}
		coarse, err := r.rollup(t.Context(), pts, minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Stats().Write(t.Context(), append(pts, coarse...)); err != nil {
			t.Fatal(err)
		}
	}
	for gran, want := range map[int]float64{300: 360.0 / 300, 3600: 360.0 / 3600} {
		from := model.StatsBucket(start, gran)
		got, err := st.Stats().Query(t.Context(), obj, metric, gran, from, from)
		if err != nil || len(got) != 1 {
			t.Fatalf("%d s point: %v, %v", gran, got, err)
		}
		if math.Abs(got[0].Value-want) > 1e-12 {
			t.Errorf("%d s l4Flow_newConnectionsRate = %v; want the mean over the bucket, %v", gran, got[0].Value, want)
		}
	}
}

// TestIdleMinutesReadAsStoredZeros: zeros are not stored (withoutZeros),
// and every reader takes a missing traffic point as 0 (GAAP's statistics
// and EdgeOne's DescribeTimingL4Data fill a step without a point with 0).
// So the answers stay those of a store that held every zero, as long as
// each stored point, a missing one read as 0, equals that store's. Over
// two hours of proxies (two of a group, one idle throughout), a layer-4
// listener, an HTTP listener and an EdgeOne rule that are busy in a few
// minutes only (one minute in five, whole idle 5-minute windows and an
// idle hour), the test records every minute and keeps, beside it, the
// points of those minutes with their zeros (minutePoints and httpPoints,
// which still produce them) and their rollups as referenceRollup combines
// them from the minutes. Every point of every granularity must read the
// same: a 5-minute mean of EdgeOne's new connections over 1 busy and 4
// idle minutes, a maximum, a sum. Only the group's zeros are stored.
func TestIdleMinutesReadAsStoredZeros(t *testing.T) {
	st, node, r := newTestRecorder(t)
	r.Observe(&snapshot.Snapshot{Proxies: []snapshot.Proxy{
		{ID: "link-a", Group: "lg-1", MaxConns: 100, HTTPListeners: []snapshot.HTTPListener{{ID: "listener-h", Protocol: snapshot.ProtoHTTP, Port: 80}}},
		{ID: "link-b", Group: "lg-1"}, {ID: "link-idle"}}})
	ref := &minuteLog{series: map[[2]string][]store.Point{}}
	type key struct {
		object, metric string
		gran           int
		at             int64
	}
	want := map[key]float64{}
	proxy := func(id string) stats.Key { return stats.Key{Kind: stats.KindProxy, ID: id} }
	listener := func(id string) stats.Key { return stats.Key{Kind: stats.KindListener, ID: id} }
	busy := map[stats.Key]func(m int) bool{
		proxy("link-a"):          func(m int) bool { return m%5 == 2 && m < 60 },
		proxy("link-b"):          func(m int) bool { return m == 7 || m == 80 },
		proxy("link-idle"):       func(int) bool { return false },
		listener("listener-1"):   func(m int) bool { return m%5 == 2 && m < 60 },
		listener("listener-h"):   func(m int) bool { return m%10 == 3 },
		listener("rule-1/80"):    func(m int) bool { return m == 1 || m == 62 },
		listener("sid-1@link-a"): func(m int) bool { return m == 4 },
	}
	cum := map[stats.Key]stats.Values{}
	for k := range busy {
		cum[k] = stats.Values{}
	}
	for m := range 130 {
		prev := node.sample
		cur := stats.Sample{At: t0.Add(time.Duration(m+1) * time.Minute), Values: map[stats.Key]stats.Values{}}
		for k, b := range busy {
			v := cum[k]
			v.Active, v.Peak = 0, 0
			if b(m) {
				n := int64(m + 1)
				v.BytesIn, v.BytesOut, v.PacketsIn, v.PacketsOut = v.BytesIn+n*1e6, v.BytesOut+n*3e5, v.PacketsIn+n*100, v.PacketsOut+n*90
				v.NewConns, v.DialCount, v.DialNanos, v.Peak = v.NewConns+n*6, v.DialCount+n, v.DialNanos+n*2e6, n%4
				v.Dropped, v.Requests, v.Status[2] = v.Dropped+n%3, v.Requests+n*10, v.Status[2]+n*10
			}
			cum[k] = v
			cur.Values[k] = v
		}
		node.sample = cur
		if err := r.Record(t.Context(), cur.At); err != nil {
			t.Fatal(err)
		}
		// What the minute held before zeros were left out.
		minute := prev.At
		delta := stats.Delta(prev, cur)
		full := minutePoints(delta, 60, minute, r.layout.groupOf)
		r.layout.httpPoints(delta, 60, func(id, metric string, v float64) {
			full = append(full, store.Point{Object: id, Metric: metric, Granularity: 60, Time: minute, Value: v})
		})
		if err := ref.Write(t.Context(), full); err != nil {
			t.Fatal(err)
		}
		coarse, err := referenceRollup(t.Context(), ref, full, minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range append(full, coarse...) {
			want[key{p.Object, p.Metric, p.Granularity, p.Time.Unix()}] = p.Value
		}
	}
	got := map[key]float64{}
	zeros := 0
	for _, gran := range []int{60, 300, 3600, 86400} {
		pts, err := st.Range(t.Context(), gran, t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pts {
			got[key{p.Object, p.Metric, p.Granularity, p.Time.Unix()}] = p.Value
			if p.Value == 0 {
				zeros++
				if p.Object != "lg-1" {
					t.Errorf("stored a zero point %+v; only a group's zeros are kept", p)
				}
			}
		}
	}
	stored := 0 // The reference's points but zeros, except the group's.
	for k, v := range want {
		if v != 0 || k.object == "lg-1" {
			stored++
		}
		if g := got[k]; !sameRollup(k.metric, v, g) {
			t.Errorf("%s %s at %d s, %v: reads %v; with every zero stored %v", k.object, k.metric, k.gran, time.Unix(k.at, 0).UTC(), g, v)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && g != 0 {
			t.Errorf("%s %s at %d s, %v: %v stored where the reference has no point", k.object, k.metric, k.gran, time.Unix(k.at, 0).UTC(), g)
		}
	}
	if len(got) != stored || len(want) < 3*len(got) {
		t.Errorf("stored %d points (%d zeros, the group's) of the reference's %d; want %d, the non-zero ones and the group's zeros", len(got), zeros, len(want), stored)
	}
}

// TestNewConnectionsRateOfPartialMinute: a process that starts at 10:00:30
// and accepts 30 connections on an EdgeOne rule before 10:01 recorded 30
// new connections in the 5-minute bucket 10:00-10:05, and nothing else
// happened in it: l4Flow_newConnectionsRate, the mean new connections per
// second over the bucket (docs/api-teo.md), is 30/300 = 0.1, and the
// minute's 30/60. The minute's point was a rate over its 30 recorded
// seconds (1.0/s), which the rollup weighs as a whole 60 s: 0.2, twice what
// was accepted.
func TestNewConnectionsRateOfPartialMinute(t *testing.T) {
	st, node, r := newTestRecorderAt(t, t0.Add(30*time.Second)) // The process starts half way into 10:00.
	key := stats.Key{Kind: stats.KindListener, ID: "rule-1/80"}
	node.sample = stats.Sample{At: t0.Add(time.Minute), Values: map[stats.Key]stats.Values{key: {NewConns: 30}}}
	if err := r.Record(t.Context(), node.sample.At); err != nil {
		t.Fatal(err)
	}
	conns, _ := st.Query(t.Context(), "rule-1", NewConnections, 300, t0, t0)
	rate, _ := st.Query(t.Context(), "rule-1", "l4Flow_newConnectionsRate", 300, t0, t0)
	if len(conns) != 1 || conns[0].Value != 30 || len(rate) != 1 {
		t.Fatalf("300 s points: NewConnections %+v, l4Flow_newConnectionsRate %+v", conns, rate)
	}
	if m, _ := st.Query(t.Context(), "rule-1", "l4Flow_newConnectionsRate", 60, t0, t0); len(m) != 1 || m[0].Value != 0.5 {
		t.Errorf("60 s l4Flow_newConnectionsRate = %+v; want 0.5, 30 over the minute", m)
	}
	if got := rate[0].Value; math.Abs(got-0.1) > 1e-12 {
		t.Errorf("300 s l4Flow_newConnectionsRate = %v (%v connections over the bucket); want about %v: 30 connections were accepted in it",
			got, got*300, 30.0/300)
	}
}
