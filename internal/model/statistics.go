package model

import "time"

// StatsZone is the zone of the statistics actions' StartTime and EndTime:
// Tencent reads them as Beijing time (UTC+8), whatever the server's zone.
var StatsZone = time.FixedZone("UTC+8", 8*3600)

// StatsLongestRetention is how long the coarsest (daily) statistics
// points are kept, the longest of StatsRetention.
const StatsLongestRetention = 400 * 24 * time.Hour

// StatsRetention is how long the points of each granularity are kept:
// longer than every range the statistics actions accept at that
// granularity (docs/statistics.md), by a day for 60 s, whose longest range
// (3 days) would otherwise start with a point already pruned (points are
// pruned by their start).
var StatsRetention = map[int]time.Duration{
	60:    4 * 24 * time.Hour,
	300:   31 * 24 * time.Hour,
	3600:  93 * 24 * time.Hour,
	86400: StatsLongestRetention,
}

// StatsBucket returns the start of the statistics point of granularity
// gran (seconds) that holds t. Points are multiples of gran in Beijing
// time: for 60, 300 and 3600 s that is the same as since the Unix epoch,
// and days start at Beijing midnight, as the times the actions take do
// (the spec's own example point, 1735056000, is 2024-12-25 00:00 UTC+8).
func StatsBucket(t time.Time, gran int) time.Time {
	const offset = 8 * time.Hour
	return t.Add(offset).Truncate(time.Duration(gran) * time.Second).Add(-offset)
}

// StatsBeforeEpoch reports whether the first point of a query starting
// at from precedes 1970-01-01 UTC: answers give point times in Unix
// seconds, which the SDKs read as unsigned, so such a query is refused.
func StatsBeforeEpoch(from time.Time, gran int) bool {
	return StatsBucket(from, gran).Unix() < 0
}

// StatsSteps returns the points of granularity gran from the one holding
// from to the last starting at or before to.
func StatsSteps(from, to time.Time, gran int) []time.Time {
	var out []time.Time
	for t := StatsBucket(from, gran); !t.After(to); t = t.Add(time.Duration(gran) * time.Second) {
		out = append(out, t)
	}
	return out
}
