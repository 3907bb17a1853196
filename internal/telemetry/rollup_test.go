package telemetry

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
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
