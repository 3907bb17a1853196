package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// t0 is a minute boundary; the suite's points sit at t0 + k minutes.
var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func pt(object, metric string, gran, minute int, v float64) store.Point {
	return store.Point{Object: object, Metric: metric, Granularity: gran, Time: t0.Add(time.Duration(minute) * time.Minute), Value: v}
}

func testStats(t *testing.T, open Opener) {
	t.Parallel()
	s := open(t)
	st := s.Stats()
	rev := revision(t, s)
	// Out of order on purpose, plus neighbours that must not leak into the series.
	write := []store.Point{
		pt("lsr-1", "InBandwidth", 60, 2, 2.5),
		pt("lsr-1", "InBandwidth", 60, 0, 0.5),
		pt("lsr-1", "InBandwidth", 60, 1, 1.5),
		pt("lsr-1", "InBandwidth", 60, 3, 3.5),
		pt("lsr-1", "InBandwidth", 300, 0, 99),
		pt("lsr-1", "OutBandwidth", 60, 1, 98),
		pt("lsr-2", "InBandwidth", 60, 1, 97),
	}
	if err := st.Write(t.Context(), write); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := st.Write(t.Context(), nil); err != nil {
		t.Errorf("Write(nil) = %v; want nil", err)
	}
	query := func(metric string, gran, from, to int) []float64 {
		t.Helper()
		pts, err := st.Query(t.Context(), "lsr-1", metric, gran, t0.Add(time.Duration(from)*time.Minute), t0.Add(time.Duration(to)*time.Minute))
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		var vals []float64
		for i, p := range pts {
			if want := pt("lsr-1", metric, gran, 0, 0).Time; p.Object != "lsr-1" || p.Metric != metric || p.Granularity != gran || p.Time.Before(want) {
				t.Errorf("point %d = %+v; want series lsr-1/%s/%d", i, p, metric, gran)
			}
			vals = append(vals, p.Value)
		}
		return vals
	}
	cases := []struct {
		name     string
		metric   string
		gran     int
		from, to int
		want     []float64
	}{
		{"whole series in time order", "InBandwidth", 60, -10, 10, []float64{0.5, 1.5, 2.5, 3.5}},
		{"bounds are inclusive", "InBandwidth", 60, 1, 2, []float64{1.5, 2.5}},
		{"single instant", "InBandwidth", 60, 3, 3, []float64{3.5}},
		{"empty range", "InBandwidth", 60, 10, 20, nil},
		{"other granularity", "InBandwidth", 300, 0, 0, []float64{99}},
		{"other metric", "OutBandwidth", 60, 0, 10, []float64{98}},
		{"unknown metric", "Nope", 60, 0, 10, nil},
	}
	for _, tc := range cases {
		if got := query(tc.metric, tc.gran, tc.from, tc.to); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Query = %v; want %v", tc.name, got, tc.want)
		}
	}

	pts, err := st.Query(t.Context(), "lsr-1", "InBandwidth", 60, t0, t0)
	if err != nil || len(pts) != 1 || !pts[0].Time.Equal(t0) {
		t.Errorf("Query at t0 = %+v, %v; want one point at %v", pts, err, t0)
	}

	// At: every series' point of one granularity at one time.
	at, err := st.At(t.Context(), 60, t0.Add(time.Minute))
	slices.SortFunc(at, func(a, b store.Point) int { return strings.Compare(a.Object+a.Metric, b.Object+b.Metric) })
	if want := []store.Point{pt("lsr-1", "InBandwidth", 60, 1, 1.5), pt("lsr-1", "OutBandwidth", 60, 1, 98), pt("lsr-2", "InBandwidth", 60, 1, 97)}; err != nil ||
		!slices.Equal(at, want) {
		t.Errorf("At(60, t0+1m) = %+v, %v; want %+v", at, err, want)
	}
	if at, err := st.At(t.Context(), 60, t0.Add(time.Hour)); err != nil || len(at) != 0 {
		t.Errorf("At an empty minute = %+v, %v; want none", at, err)
	}

	// Range: every series' points of one granularity in [from, to), oldest first.
	rng, err := st.Range(t.Context(), 60, t0.Add(time.Minute), t0.Add(3*time.Minute))
	slices.SortStableFunc(rng, func(a, b store.Point) int { // within one time, in no order
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Object+a.Metric, b.Object+b.Metric)
	})
	if want := []store.Point{pt("lsr-1", "InBandwidth", 60, 1, 1.5), pt("lsr-1", "OutBandwidth", 60, 1, 98), pt("lsr-2", "InBandwidth", 60, 1, 97),
		pt("lsr-1", "InBandwidth", 60, 2, 2.5)}; err != nil || !slices.Equal(rng, want) {
		t.Errorf("Range(60, t0+1m, t0+3m) = %+v, %v; want %+v", rng, err, want)
	}
	if rng, err := st.Range(t.Context(), 300, t0.Add(-time.Hour), t0); err != nil || len(rng) != 0 {
		t.Errorf("Range ending at t0 (exclusive) = %+v, %v; want none", rng, err)
	}
	if rng, err := st.Range(t.Context(), 300, t0, t0.Add(time.Minute)); err != nil || len(rng) != 1 || rng[0] != pt("lsr-1", "InBandwidth", 300, 0, 99) {
		t.Errorf("Range(300, t0, t0+1m) = %+v, %v; want the one 300 s point", rng, err)
	}

	// Upsert: same key replaces the value; a batch with a new point lands whole.
	if err := st.Write(t.Context(), []store.Point{pt("lsr-1", "InBandwidth", 60, 1, 10), pt("lsr-1", "InBandwidth", 60, 4, 4.5)}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got, want := query("InBandwidth", 60, 0, 10), []float64{0.5, 10, 2.5, 3.5, 4.5}; !slices.Equal(got, want) {
		t.Errorf("after upsert Query = %v; want %v", got, want)
	}

	// Prune drops points strictly before the cut, of one granularity only.
	if err := st.Prune(t.Context(), 60, t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if got, want := query("InBandwidth", 60, -10, 10), []float64{2.5, 3.5, 4.5}; !slices.Equal(got, want) {
		t.Errorf("after Prune Query = %v; want %v", got, want)
	}
	if got := query("InBandwidth", 300, -10, 10); !slices.Equal(got, []float64{99}) {
		t.Errorf("Prune of 60s touched 300s: Query = %v; want [99]", got)
	}
	if got := query("OutBandwidth", 60, -10, 10); got != nil {
		t.Errorf("after Prune OutBandwidth = %v; want none", got)
	}

	// A minute's batch: more points than one statement takes parameters
	// (65,535 on PostgreSQL) if it bound five per point, each given twice
	// in a row, of which the later value is kept.
	var big []store.Point
	for i := range 15_000 {
		p := pt(fmt.Sprintf("lsr-b%05d", i), "InBandwidth", 60, 100+i%3, 1)
		big = append(big, p)
		p.Value = float64(i)
		big = append(big, p)
	}
	if err := st.Write(t.Context(), big); err != nil {
		t.Fatalf("Write of %d points: %v", len(big), err)
	}
	rng, err = st.Range(t.Context(), 60, t0.Add(100*time.Minute), t0.Add(103*time.Minute))
	if err != nil || len(rng) != 15_000 {
		t.Fatalf("Range after a batch of 15,000 points each given twice = %d points, %v; want 15000", len(rng), err)
	}
	for _, p := range rng {
		var i int
		if _, err := fmt.Sscanf(p.Object, "lsr-b%05d", &i); err != nil || p.Value != float64(i) || !p.Time.Equal(pt("", "", 60, 100+i%3, 0).Time) {
			t.Errorf("point %+v; want value %d at minute %d, the later of its two", p, i, 100+i%3)
		}
	}

	if got := revision(t, s); got != rev {
		t.Errorf("revision after stats writes = %d; want %d (stats are not configuration)", got, rev)
	}
}

// testStatsPrefix: QueryPrefix answers every series of a metric whose
// object starts with the prefix, compared as bytes whatever the
// database's collation (en_US would ignore the ':' and '-'), by object
// then time, and no other: not the plain name the prefix extends, not a
// longer ID ("rs-10"), not the object just past the prefix's range.
func testStatsPrefix(t *testing.T, open Opener) {
	t.Parallel()
	st := open(t).Stats()
	const m = "RealServerStatus"
	if err := st.Write(t.Context(), []store.Point{
		pt("lsr-1/rs-1:81", m, 60, 1, 81), pt("lsr-1/rs-1:80", m, 60, 2, 802), pt("lsr-1/rs-1:80", m, 60, 1, 801),
		pt("lsr-1/rs-1:80", m, 60, 9, 809), // after the window
		pt("lsr-1/rs-1:80", "Other", 60, 1, 1), pt("lsr-1/rs-1:80", m, 300, 0, 1),
		pt("lsr-1/rs-1", m, 60, 1, 1), pt("lsr-1/rs-10:80", m, 60, 1, 1), pt("lsr-1/rs-1;", m, 60, 1, 1),
		pt("lsr-1/rs1:80", m, 60, 1, 1), pt("lsr-1/rs-1:", m, 60, 1, 100),
		pt("lsr-1/é\U0010FFFF", m, 60, 1, 3), pt("lsr-1/ê", m, 60, 1, 1), pt("\U0010FFFF\U0010FFFF", m, 60, 1, 4),
	}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	query := func(prefix string) []string {
		t.Helper()
		pts, err := st.QueryPrefix(t.Context(), prefix, m, 60, t0, t0.Add(5*time.Minute))
		if err != nil {
			t.Fatalf("QueryPrefix(%q): %v", prefix, err)
		}
		var got []string
		for _, p := range pts {
			if p.Metric != m || p.Granularity != 60 {
				t.Errorf("point %+v; want metric %s, granularity 60", p, m)
			}
			got = append(got, fmt.Sprintf("%s@%d=%g", p.Object, p.Time.Sub(t0)/time.Minute, p.Value))
		}
		return got
	}
	for prefix, want := range map[string][]string{
		"lsr-1/rs-1:":       {"lsr-1/rs-1:@1=100", "lsr-1/rs-1:80@1=801", "lsr-1/rs-1:80@2=802", "lsr-1/rs-1:81@1=81"},
		"lsr-1/rs-1:8":      {"lsr-1/rs-1:80@1=801", "lsr-1/rs-1:80@2=802", "lsr-1/rs-1:81@1=81"},
		"lsr-1/rs-2:":       nil,
		"lsr-1/é":           {"lsr-1/é\U0010FFFF@1=3"},    // its end raises a two-byte code point
		"lsr-1/é\U0010FFFF": {"lsr-1/é\U0010FFFF@1=3"},    // its end drops U+10FFFF
		"\U0010FFFF":        {"\U0010FFFF\U0010FFFF@1=4"}, // no end: every object from it on
		"lsr-1/\x00":        nil,                          // cannot be stored: matches nothing
	} {
		if got := query(prefix); !slices.Equal(got, want) {
			t.Errorf("QueryPrefix(%q) = %q; want %q", prefix, got, want)
		}
	}
}
