package telemetry

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
	"github.com/opengaap/opengaap/internal/store"
)

// Coverage is the series that says how many seconds of a minute the
// points stamped with it cover, when that is less than the minute, so that
// a second part of the same minute (written by a process started again
// within it) merges with the first instead of replacing it.
const (
	coverageObject = "node"
	coverageMetric = "RecordedSeconds"
)

// maxPending bounds the minutes Record keeps while the store fails their
// writes: an hour of them, retried oldest first with the next Record. A
// store that stays down longer loses its oldest minutes rather than
// growing the process without limit.
const maxPending = 60

// part is the figures of one interval, kept until they are written.
type part struct {
	delta  map[stats.Key]stats.Values
	secs   float64
	minute time.Time // The minute the interval starts in, which it is stamped with.
	first  bool      // The interval starts on the minute: nothing stored to merge with.
	health map[string]bool
	lay    layout
}

// Record writes the minute that ends at now: the counters' deltas since
// the previous call become per-minute points, merged with the part of that
// minute already stored, if any (see mergeMinute), and the 5-minute,
// hourly and daily points containing that minute are recomputed (see
// rollup). A minute whose write fails (a store restarting, a full disk, a
// database locked too long) is kept and written before the next one, so a
// failure delays figures instead of losing them (maxPending bounds how
// many are kept).
func (r *Recorder) Record(ctx context.Context, now time.Time) error {
	// Sample under r.mu, as Observe swaps the layout under it: a removal
	// is then either observed before the sample (which holds the removed
	// listener's counts; cleared from gone below once a sample no longer
	// does) or after it (and kept in gone for the next Record), never
	// cleared unsampled.
	r.mu.Lock()
	cur := r.metrics.sample() // /metrics gets the dropped parts' final counts too.
	prev := r.prev
	r.prev = cur
	r.syncHealth() // Repairs a flip whose event the edge dropped (see syncHealth).
	health := make(map[string]bool, len(r.health))
	for k, v := range r.health {
		health[k] = v.Healthy
	}
	lay := r.layout
	r.layout.gone = r.layout.gone.stillCounted(cur) // The others' last counts were in an earlier sample.
	r.mu.Unlock()

	// Parts are written one at a time and in order: a minute's rollup
	// builds on the earlier minutes' points (see rollup).
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if secs := cur.At.Sub(prev.At).Seconds(); secs > 0 {
		// The counts are of [prev, cur): Run samples on minute boundaries,
		// so that is the minute starting at prev, which the point is
		// stamped with (as the statistics API reads a point: the minute
		// from its time).
		minute := prev.At.Truncate(time.Minute)
		r.pending = append(r.pending, part{delta: stats.Delta(prev, cur), secs: secs, minute: minute,
			first: prev.At.Equal(minute), health: health, lay: lay})
		if n := len(r.pending) - maxPending; n > 0 {
			r.log.Warn("statistics store unavailable: dropping the oldest unwritten minutes", "minutes", n, "from", r.pending[0].minute)
			r.pending = slices.Delete(r.pending, 0, n)
		}
	}
	if len(r.pending) == 0 {
		return nil
	}
	for len(r.pending) > 0 {
		if err := r.write(ctx, r.pending[0]); err != nil {
			return err
		}
		r.pending = slices.Delete(r.pending, 0, 1)
	}
	return r.prune(ctx, now)
}

// write stores the points of p, with its coarser points (see writeSeries).
func (r *Recorder) write(ctx context.Context, p part) error {
	minute, lay := p.minute, p.lay
	pts := minutePoints(p.delta, p.secs, minute, lay.groupOf)
	point := func(id, metric string, v float64) {
		pts = append(pts, store.Point{Object: id, Metric: metric, Granularity: 60, Time: minute, Value: v})
	}
	lay.httpPoints(p.delta, p.secs, point)
	lay.teoHealthPoints(p.health, point)
	for id, healthy := range p.health {
		pts = append(pts, store.Point{Object: id, Metric: HealthMetric, Granularity: 60, Time: minute, Value: b2f(healthy)})
	}
	pts = withoutZeros(pts, lay.groupIDs())
	pts, covered, err := r.mergeStored(ctx, pts, minute, p.secs, p.first)
	if err != nil {
		return err
	}
	write := pts
	if covered < 60 { // A whole minute needs no record of it: no other part can follow.
		write = append(pts[:len(pts):len(pts)],
			store.Point{Object: coverageObject, Metric: coverageMetric, Granularity: 60, Time: minute, Value: covered})
	}
	// A series' minute and its coarser points land in one write, so that a
	// coarser point is never left behind the minutes it is combined from:
	// the next minute's rollup builds on it (see rollup).
	coarse, err := r.rollup(ctx, pts, minute)
	if err != nil {
		return err
	}
	// Only a whole minute (no coverage point) that replaced what was
	// stored is split: written again after a failure half way, a part
	// merges with the part of it already written (mergeStored, which the
	// coverage point, once written, tells it to do), so that counts twice.
	if err := r.writeSeries(ctx, append(write, coarse...), covered == p.secs && covered >= 60); err != nil {
		return err
	}
	r.mu.Lock()
	r.wrote, r.wroteSecs = minute, covered
	r.mu.Unlock()
	return nil
}

// writeChunk is the most points one store write of a minute holds (a
// series' points are never split): SQLite has one writer, and a busy large
// account's minute written at once (50,000 series and their coarser
// points) held it, and so every API write and settle, for seconds.
var writeChunk = 4096 // A variable: tests lower it.

// writeSeries writes pts, a minute's points and their coarser ones, in
// writes of whole series, unless !split. Split, a write that fails half
// way leaves some series written: the minute is kept and written again,
// which writes the same values where it replaces what is stored, as a
// whole minute does (mergeStored), the rollup reading only points before
// the minute's. Minutes in part (a start, a stop) are written at once.
func (r *Recorder) writeSeries(ctx context.Context, pts []store.Point, split bool) error {
	if !split || len(pts) <= writeChunk {
		return r.stats.Write(ctx, pts)
	}
	slices.SortStableFunc(pts, func(a, b store.Point) int {
		return cmp.Or(strings.Compare(a.Object, b.Object), strings.Compare(a.Metric, b.Metric))
	})
	for len(pts) > 0 {
		n := min(writeChunk, len(pts))
		for n < len(pts) && pts[n].Object == pts[n-1].Object && pts[n].Metric == pts[n-1].Metric {
			n++
		}
		if err := r.stats.Write(ctx, pts[:n]); err != nil {
			return err
		}
		pts = pts[n:]
	}
	return nil
}

// withoutZeros drops the points of value 0 that read the same as no point
// (docs/statistics.md "Missing points"): an idle series stores nothing,
// and each of its minutes costs no row and no rollup. Every reader takes a
// missing traffic point as 0, a rollup combines only the points there are
// (a sum, a maximum of non-negative values, or EdgeOne's mean, which counts
// a minute without a point as no connections), and a second part of a
// minute merges a series the other part lacks as a 0 (see absent). Kept
// are the health series, whose 0 means abnormal, and the groups' series,
// whose missing step DescribeProxyGroupStatistics reads as recorded before
// group series existed (the sum of the group's current members' points).
func withoutZeros(pts []store.Point, groups map[string]bool) []store.Point {
	return slices.DeleteFunc(pts, func(p store.Point) bool {
		return p.Value == 0 && kindOf(p.Metric) != health && !groups[p.Object]
	})
}

// mergeStored folds the part of minute already stored, if any, into pts,
// which cover secs of it. It returns pts with the stored series this part
// has no point for (zeros are not written, and HTTP counts only for objects
// that had requests) and the seconds both parts cover. A series missing
// from one part counts there as nothing happened: a rate of 0, no amount,
// and for a gauge the other part's reading. A first part (one that starts
// on the minute) has nothing to merge with; if something is stored all the
// same, or a part cannot follow the stored one, pts replaces it. A part of
// the minute this process wrote last always follows it: see ours.
func (r *Recorder) mergeStored(ctx context.Context, pts []store.Point, minute time.Time, secs float64, first bool) ([]store.Point, float64, error) {
	stored, err := r.stats.At(ctx, 60, minute)
	if err != nil {
		return nil, 0, err
	}
	type series struct{ object, metric string }
	old := make(map[series]float64, len(stored))
	before := 0.0
	for _, p := range stored {
		if p.Object == coverageObject && p.Metric == coverageMetric {
			before = p.Value
			continue
		}
		old[series{p.Object, p.Metric}] = p.Value
	}
	// The minute this process wrote last, stamped again: the clock stepped
	// back (a step of d within a minute has Run's timer, armed on the
	// monotonic clock, fire d before the wall clock's boundary, and the
	// next part start there). Its counts are deltas since that write, so
	// the parts are disjoint in time whatever they add up to: they merge,
	// as stored (whole, without a coverage point, or not).
	r.mu.Lock()
	ours := minute.Equal(r.wrote)
	if ours {
		before = r.wroteSecs
	}
	r.mu.Unlock()
	// No earlier part, or one that cannot be: parts of a minute cover at
	// most 60 s, unless the clock stepped back. Then this part replaces it,
	// also where it has no point: a stored series (but health, a reading
	// this part did not take) reads 0 there, as it would had this part
	// written its zeros.
	if !ours && (first || before <= 0 || before+secs > 61) {
		for _, p := range pts {
			delete(old, series{p.Object, p.Metric})
		}
		for k := range old {
			if kindOf(k.metric) != health {
				pts = append(pts, store.Point{Object: k.object, Metric: k.metric, Granularity: 60, Time: minute})
			}
		}
		return pts, secs, nil
	}
	for i, p := range pts {
		k := series{p.Object, p.Metric}
		v, ok := old[k]
		if !ok {
			v = absent(p.Metric, p.Value)
		}
		pts[i].Value = mergeMinute(p.Metric, v, before, p.Value, secs)
		delete(old, k)
	}
	for k, v := range old {
		pts = append(pts, store.Point{Object: k.object, Metric: k.metric, Granularity: 60, Time: minute,
			Value: mergeMinute(k.metric, v, before, absent(k.metric, v), secs)})
	}
	return pts, before + secs, nil
}

// mergeMinute combines two parts of one minute, the stored one covering
// oldSecs and the new one secs: amounts add up, and so do the parts' means
// over the whole minute (meanRate), gauges (health) take the newer reading
// and peak connections (Concurrent, l4Flow_connections) the larger, and
// rates are weighted by the time each part covers.
func mergeMinute(metric string, old, oldSecs, cur, secs float64) float64 {
	switch kindOf(metric) {
	case amount, meanRate:
		return old + cur
	case health:
		return cur
	case peakGauge:
		return max(old, cur)
	}
	return (old*oldSecs + cur*secs) / (oldSecs + secs)
}

// absent is the value of metric in a part of a minute that has no point
// for it, given the other part's: a rate or an amount was 0, while a
// reading (a gauge) was not taken there, so the other part's stands.
func absent(metric string, other float64) float64 {
	if k := kindOf(metric); k == health || k == peakGauge {
		return other
	}
	return 0
}

// minutePoints converts one interval's deltas into per-minute points.
// Instances add up under their object: a group listener's per-proxy
// instances ("listener@proxy") under the listener, an EdgeOne rule's
// per-port listeners ("rule/port") under the rule. A proxy of a group
// (groupOf) also adds up under its group, so the group's series is that
// of the proxies it had in that minute, whatever becomes of them later:
// counters and rates add up, Concurrent too (the sum of the parts' peaks,
// which may not have been at the same moment), and Latency and PacketLoss
// are computed from the summed counts, as a group listener's are from
// its instances'.
func minutePoints(delta map[stats.Key]stats.Values, secs float64, minute time.Time, groupOf func(proxy string) string) []store.Point {
	sums := map[string]stats.Values{}
	teo := map[string]bool{}
	for k, v := range delta {
		id := snapshot.WithoutProxy(k.ID)
		if k.Kind == stats.KindListener {
			if rule := snapshot.ObjectOf(id); rule != id {
				id, teo[rule] = rule, true
			}
		}
		if k.Kind == stats.KindProxy && strings.HasPrefix(id, model.PrefixTeoL4Proxy+"-") {
			teo[id] = true
		}
		if k.Kind == stats.KindProxy {
			if g := groupOf(id); g != "" {
				sums[g] = sums[g].Add(v)
			}
		}
		sums[id] = sums[id].Add(v)
	}
	var pts []store.Point
	point := func(id, metric string, v float64) {
		pts = append(pts, store.Point{Object: id, Metric: metric, Granularity: 60, Time: minute, Value: v})
	}
	for id, v := range sums {
		point(id, InBandwidth, float64(v.BytesIn)*8/secs/1e6)
		point(id, OutBandwidth, float64(v.BytesOut)*8/secs/1e6)
		point(id, InPackets, float64(v.PacketsIn)/secs)
		point(id, OutPackets, float64(v.PacketsOut)/secs)
		point(id, Concurrent, float64(v.Peak))
		point(id, NewConnections, float64(v.NewConns))
		point(id, Latency, float64(v.Latency())/float64(time.Millisecond))
		point(id, PacketLoss, v.PacketLoss())
		if v.Requests > 0 {
			// HTTP listeners, rules and proxies: request rate and answers
			// by status class in the minute.
			point(id, Requests, float64(v.Requests)/secs)
			for class := 1; class < len(v.Status); class++ {
				point(id, StatusClassMetric(class), float64(v.Status[class]))
			}
		}
		if teo[id] {
			point(id, "l4Flow_flux", float64(v.BytesIn+v.BytesOut))
			point(id, "l4Flow_inFlux", float64(v.BytesIn))
			point(id, "l4Flow_outFlux", float64(v.BytesOut))
			point(id, "l4Flow_inBandwidth", float64(v.BytesIn)*8/secs)
			point(id, "l4Flow_outBandwidth", float64(v.BytesOut)*8/secs)
			point(id, "l4Flow_connections", float64(v.Peak))
			// The mean over the minute's 60 s, the time no process
			// recorded counting as no connections (as in the coarser
			// buckets, rollupKind): over the recorded secs alone, a
			// partial minute (start, stop, restart) counted 60/secs times
			// its connections there.
			point(id, "l4Flow_newConnectionsRate", float64(v.NewConns)/60)
		}
	}
	return pts
}

// kind is how a metric's values combine, within a minute and across.
type kind int

const (
	rate      kind = iota // per second or a mean: weighted by time within a minute, the maximum across
	meanRate              // EdgeOne's new connections per second over the whole bucket: parts of a minute add up, minutes weigh their time
	amount                // counted in the minute: adds up
	peakGauge             // the most connections open at once: the maximum within a minute and across
	health                // an origin's health, 1 or 0: the newest within a minute, the minimum across
)

func kindOf(metric string) kind {
	switch metric {
	case NewConnections, "l4Flow_flux", "l4Flow_inFlux", "l4Flow_outFlux",
		StatusClassMetric(1), StatusClassMetric(2), StatusClassMetric(3), StatusClassMetric(4), StatusClassMetric(5):
		return amount
	case HealthMetric, model.TeoOriginHealthMetric:
		return health
	case Concurrent, "l4Flow_connections":
		return peakGauge
	case "l4Flow_newConnectionsRate":
		return meanRate
	}
	return rate
}

// rollupKind says how the points of granularity finer (in seconds) in a
// window of gran seconds combine into its coarser point. Amounts add up
// (new connections, answers by status class, EdgeOne's flux). Rates and
// gauges take the window's maximum: the statistics actions define a
// coarse point so ("取值为细粒度范围内最大值"), and so a one-minute peak stays
// visible at every granularity. EdgeOne's l4Flow_newConnectionsRate is
// the mean new connections per second over the window (docs/api-teo.md):
// each finer point weighs the time it covers, finer/gran of the window,
// and time without a point counts as no connections, as a missing part
// of a minute does (mergeStored). Health takes the minimum, so a window in
// which an origin was down reads 0 (abnormal) and the only values stay 1
// and 0.
func rollupKind(metric string, finer, gran int) func(vals []float64) float64 {
	switch kindOf(metric) {
	case amount:
		return sum
	case meanRate:
		return func(vals []float64) float64 { return sum(vals) * float64(finer) / float64(gran) }
	case health:
		return minOf
	}
	return maxOf
}

func sum(vals []float64) float64 {
	t := 0.0
	for _, v := range vals {
		t += v
	}
	return t
}

func maxOf(vals []float64) float64 {
	m := 0.0
	for _, v := range vals {
		m = max(m, v)
	}
	return m
}

func minOf(vals []float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	return slices.Min(vals)
}

// rollup returns, for every series of minutePts (the minute's values, as
// written), the coarser points that contain the minute (see rollupKind),
// each combined from the next finer granularity: a 300 s point from its
// window's minutes, an hourly one from the hour's 300 s points and a daily
// one from the day's hourly points, the last of which is always the one
// just computed and the earlier ones are read from the store, one query
// per granularity for all series (the windows before this minute's, not
// the whole day: at most 4 + 11 + 23 points a series).
//
// That equals combining the window's minutes directly, as long as every
// finer point before this minute's is final, which holds since each
// minute's coarser points are written with it (Record) and later minutes
// are recorded later: a maximum or a minimum of maxima or minima is the
// same, and a sum of the windows' sums too, the amounts being counts
// (integers, exact in a float64 below 2⁵³); a time-weighted mean of the
// windows' means is their time-weighted mean too, up to the rounding of
// the division. A series without a finer point
// in a window (no minute recorded there) has none to combine, as before.
func (r *Recorder) rollup(ctx context.Context, minutePts []store.Point, minute time.Time) ([]store.Point, error) {
	type series struct{ object, metric string }
	// cur holds each series' point of the finer granularity containing
	// minute, starting at finerStart: first the minute itself.
	cur := make(map[series]float64, len(minutePts))
	for _, p := range minutePts {
		cur[series{p.Object, p.Metric}] = p.Value
	}
	finer, finerStart := 60, minute
	out := make([]store.Point, 0, 3*len(cur))
	for _, gran := range []int{300, 3600, 86400} {
		start := model.StatsBucket(minute, gran)
		// The window's finer points before finerStart, oldest first.
		earlier := make(map[series][]float64, len(cur))
		if start.Before(finerStart) {
			got, err := r.stats.Range(ctx, finer, start, finerStart)
			if err != nil {
				return nil, err
			}
			for _, g := range got {
				k := series{g.Object, g.Metric}
				if _, ok := cur[k]; ok {
					earlier[k] = append(earlier[k], g.Value)
				}
			}
		}
		for k, v := range cur {
			cur[k] = rollupKind(k.metric, finer, gran)(append(earlier[k], v))
			out = append(out, store.Point{Object: k.object, Metric: k.metric, Granularity: gran, Time: start, Value: cur[k]})
		}
		finer, finerStart = gran, start
	}
	return out, nil
}

// prune deletes the points older than their granularity's retention
// (model.StatsRetention),
// measured from now, but from a time that runs at most twice as fast as
// elapsed (monotonic) time since the previous prune (or New). A forward
// step of the clock (a VM resumed with a stale offset, a bad time source,
// an RTC set wrong before chrony corrects it) is then caught up over as
// long as the step lasted, rather than deleting that much of the figures
// at once, the minute just written included, even if the clock is stepped
// back right after.
func (r *Recorder) prune(ctx context.Context, now time.Time) error {
	now = now.Round(0) // Compared by the wall clock: time.Now's monotonic reading does not see steps.
	r.mu.Lock()
	if limit := r.pruned.Add(2 * time.Since(r.prunedAt)); now.After(limit) {
		now = limit
	}
	r.pruned, r.prunedAt = now, time.Now()
	r.mu.Unlock()
	for gran, keep := range model.StatsRetention {
		if err := r.stats.Prune(ctx, gran, now.Add(-keep)); err != nil {
			return err
		}
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
