package telemetry_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
	"github.com/opengaap/opengaap/internal/telemetry"
	"github.com/opengaap/opengaap/internal/xtest"
)

// BenchmarkRollup (an external test: xtest imports the server, which
// imports telemetry) measures one minute's rollup of 200 series at the last
// minute of a Beijing day (the old code's worst case: 1,439 earlier
// minutes a series), on SQLite and on PostgreSQL (OPENGAAP_TEST_POSTGRES),
// the way it was (reference: one query per series of the day's minutes)
// and incremental (rollup: one query per granularity). Only the reads and
// the combining: the points' write is the same either way. ms/series is
// the cost a minute per series.
func BenchmarkRollup(b *testing.B) {
	const series = 200
	engines := []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "db") }},
		{"postgres", func(b *testing.B) string { return xtest.PostgresDSN(b) }},
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			st, err := sqlstore.Open(b.Context(), e.dsn(b))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			day := time.Date(2026, 11, 23, 0, 0, 0, 0, model.StatsZone)
			last := day.Add(24*time.Hour - time.Minute)
			pts := seedDay(b, st.Stats(), series, day)
			for _, c := range []struct {
				name   string
				rollup func(ctx context.Context) ([]store.Point, error)
			}{
				{"reference", func(ctx context.Context) ([]store.Point, error) {
					return telemetry.ReferenceRollup(ctx, st.Stats(), pts, last)
				}},
				{"incremental", func(ctx context.Context) ([]store.Point, error) { return telemetry.Rollup(ctx, st.Stats(), pts, last) }},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						out, err := c.rollup(b.Context())
						if err != nil || len(out) != 3*series {
							b.Fatalf("rollup = %d points, %v", len(out), err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N)/series, "ms/series")
				})
			}
		})
	}
}

// seedDay writes a day of minutes of n series (and their 300 s and 3600 s
// points, as the recorder would have) up to the day's last minute, and
// returns that last minute's points.
func seedDay(b *testing.B, st store.Stats, n int, day time.Time) []store.Point {
	var last []store.Point
	for h := range 24 {
		var pts []store.Point
		for i := range n {
			obj := fmt.Sprintf("listener-%04d", i)
			add := func(gran int, at time.Time) {
				pts = append(pts, store.Point{Object: obj, Metric: telemetry.InBandwidth, Granularity: gran, Time: at, Value: float64(i)})
			}
			hour := day.Add(time.Duration(h) * time.Hour)
			add(3600, hour)
			for m := range 60 {
				minute := hour.Add(time.Duration(m) * time.Minute)
				add(60, minute)
				if m%5 == 0 {
					add(300, minute)
				}
				if h == 23 && m == 59 {
					last = append(last, pts[len(pts)-1])
				}
			}
		}
		if err := st.Write(b.Context(), pts); err != nil {
			b.Fatal(err)
		}
	}
	return last
}
