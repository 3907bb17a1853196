package telemetry

import (
	"context"
	"time"

	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/store"
)

// Record writes the minute that ends at now: the counters' deltas since
// the previous call become per-minute points, and the 5-minute, hourly and
// daily points containing that minute are recomputed from the minutes.
func (r *Recorder) Record(ctx context.Context, now time.Time) error {
	cur := r.node.Stats()
	r.mu.Lock()
	prev := r.prev
	r.prev = cur
	health := make(map[string]bool, len(r.health))
	for k, v := range r.health {
		health[k] = v
	}
	r.mu.Unlock()

	secs := cur.At.Sub(prev.At).Seconds()
	if secs <= 0 {
		return nil
	}
	minute := now.Truncate(time.Minute)
	pts := minutePoints(stats.Delta(prev, cur), secs, minute)
	for id, healthy := range health {
		pts = append(pts, store.Point{Object: id, Metric: HealthMetric, Granularity: 60, Time: minute, Value: b2f(healthy)})
	}
	if err := r.stats.Write(ctx, pts); err != nil {
		return err
	}
	if err := r.rollup(ctx, pts, minute); err != nil {
		return err
	}
	return r.prune(ctx, now)
}

// minutePoints converts one interval's deltas into rates. Group listener
// instances ("listener@proxy") add up under the listener.
func minutePoints(delta map[stats.Key]stats.Values, secs float64, minute time.Time) []store.Point {
	sums := map[string]stats.Values{}
	for k, v := range delta {
		id := baseID(k.ID)
		s := sums[id]
		s.BytesIn += v.BytesIn
		s.BytesOut += v.BytesOut
		s.PacketsIn += v.PacketsIn
		s.PacketsOut += v.PacketsOut
		s.Active += v.Active
		s.NewConns += v.NewConns
		s.DialCount += v.DialCount
		s.DialNanos += v.DialNanos
		s.Dropped += v.Dropped
		sums[id] = s
	}
	var pts []store.Point
	add := func(id, metric string, v float64) {
		pts = append(pts, store.Point{Object: id, Metric: metric, Granularity: 60, Time: minute, Value: v})
	}
	for id, v := range sums {
		add(id, InBandwidth, float64(v.BytesIn)*8/secs/1e6)
		add(id, OutBandwidth, float64(v.BytesOut)*8/secs/1e6)
		add(id, InPackets, float64(v.PacketsIn)/secs)
		add(id, OutPackets, float64(v.PacketsOut)/secs)
		add(id, Concurrent, float64(v.Active))
		add(id, NewConnections, float64(v.NewConns))
		add(id, Latency, float64(v.ConnectLatency())/float64(time.Millisecond))
		loss := 0.0
		if total := v.PacketsIn + v.Dropped; total > 0 {
			loss = float64(v.Dropped) * 100 / float64(total)
		}
		add(id, PacketLoss, loss)
	}
	return pts
}

// rollup recomputes, for every series written this minute, the coarser
// points that contain it as the mean of its minutes so far.
func (r *Recorder) rollup(ctx context.Context, minutePts []store.Point, minute time.Time) error {
	var out []store.Point
	for _, gran := range []int{300, 3600, 86400} {
		start := minute.Truncate(time.Duration(gran) * time.Second)
		for _, p := range minutePts {
			got, err := r.stats.Query(ctx, p.Object, p.Metric, 60, start, minute)
			if err != nil {
				return err
			}
			sum := 0.0
			for _, g := range got {
				sum += g.Value
			}
			out = append(out, store.Point{Object: p.Object, Metric: p.Metric, Granularity: gran, Time: start, Value: sum / float64(max(1, len(got)))})
		}
	}
	return r.stats.Write(ctx, out)
}

func (r *Recorder) prune(ctx context.Context, now time.Time) error {
	for gran, keep := range Retention {
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
