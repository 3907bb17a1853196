package gaap

import (
	"testing"
	"time"
)

// FuzzStatsQuery: StartTime, EndTime and Granularity of the statistics
// actions never panic, and an accepted query's points are few (bounded by
// its range), start with the one holding StartTime, are gran apart and
// are not before the Unix epoch. (In package gaap, unlike
// statistics_test.go, to reach parseStatsQuery.)
func FuzzStatsQuery(f *testing.F) {
	f.Add("2024-12-25 00:00:00", "2024-12-25 01:00:00", int64(300), uint8(0))
	f.Add("1970-01-01 08:00:00", "1970-01-02 08:00:00", int64(86400), uint8(1))
	f.Add("9999-12-31 23:59:59", "9999-12-31 23:59:59", int64(60), uint8(2))
	f.Fuzz(func(t *testing.T, start, end string, gran int64, which uint8) {
		rules := [...]statsRules{listenerStats, groupStats, proxyStats}[int(which)%3]
		q, err := parseStatsQuery(rules, &start, &end, &gran, []string{"InBandwidth"})
		if err != nil {
			return
		}
		steps := q.steps()
		g := time.Duration(q.gran) * time.Second
		if limit := int(q.to.Sub(q.from)/g) + 2; len(steps) == 0 || len(steps) > limit {
			t.Fatalf("%q..%q/%d: %d points; want 1..%d", start, end, gran, len(steps), limit)
		}
		if steps[0].After(q.from) || !steps[0].Add(g).After(q.from) || steps[0].Unix() < 0 {
			t.Fatalf("%q..%q/%d: first point %v does not hold StartTime %v", start, end, gran, steps[0], q.from)
		}
		for i := 1; i < len(steps); i++ {
			if steps[i].Sub(steps[i-1]) != g {
				t.Fatalf("%q..%q/%d: points %v, %v not %v apart", start, end, gran, steps[i-1], steps[i], g)
			}
		}
		if steps[len(steps)-1].After(q.to) {
			t.Fatalf("%q..%q/%d: last point %v after EndTime", start, end, gran, steps[len(steps)-1])
		}
	})
}
