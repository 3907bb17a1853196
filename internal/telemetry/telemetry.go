// Package telemetry turns what the data plane counts and observes into what
// the API reports: per-minute statistics series in the store (rolled up to
// 5 minutes, 1 hour and 1 day, pruned by age), the latest health of every
// bound origin, and the same counters for Prometheus at /metrics.
package telemetry

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
	"github.com/opengaap/opengaap/internal/store"
)

// Metric names, as the statistics actions name them.
const (
	InBandwidth    = "InBandwidth"  // Mbps, client → origin
	OutBandwidth   = "OutBandwidth" // Mbps, origin → client
	InPackets      = "InPackets"    // packets/s
	OutPackets     = "OutPackets"
	Concurrent     = "Concurrent" // open connections and UDP sessions
	NewConnections = "NewConnections"
	Latency        = "Latency"    // ms, mean origin connect time and HTTP answer time (stats.Values.Latency)
	PacketLoss     = "PacketLoss" // %, datagrams the edge could not deliver
	HealthMetric   = "RealServerStatus"
	Requests       = "Requests" // HTTP requests per second
)

// StatusClassMetric names the series counting HTTP answers of a status
// class in a minute: "Status2xx" for class 2.
func StatusClassMetric(class int) string { return "Status" + string(rune('0'+class)) + "xx" }

// Recorder consumes a node's samples and events. It is safe for concurrent use.
type Recorder struct {
	node  edge.Node
	stats store.Stats
	log   *slog.Logger

	mu     sync.Mutex
	prev   stats.Sample
	health map[string]edge.OriginHealth // by "listenerID/originID"
	layout layout                       // of the last snapshot applied
	// wrote is the minute this process wrote last and wroteSecs the
	// seconds of it stored (mergeStored).
	wrote     time.Time
	wroteSecs float64
	// pruned is the time the last prune measured retention from and
	// prunedAt the time.Now reading then (prune).
	pruned, prunedAt time.Time

	metrics *collector // Fed by Record's samples.

	writeMu sync.Mutex // Serialises Record's writes; guards pending.
	pending []part     // Minutes not written yet, oldest first (Record).
}

// New returns a recorder for node writing into st.
func New(node edge.Node, st store.Stats, log *slog.Logger) *Recorder {
	r := &Recorder{node: node, stats: st, log: log, prev: node.Stats(), health: map[string]edge.OriginHealth{}}
	r.metrics = newCollector(r)
	r.pruned, r.prunedAt = r.prev.At.Round(0), time.Now()
	return r
}

// Run records every interval (a minute in production) and follows the
// node's events until ctx ends or the node closes its event channel.
func (r *Recorder) Run(ctx context.Context, interval time.Duration) {
	// Samples fall on multiples of interval (minute boundaries in
	// production), so that each minute's point covers that minute.
	if interval <= 0 {
		interval = time.Minute
	}
	untilNext := func() time.Duration {
		now := time.Now()
		return now.Truncate(interval).Add(interval).Sub(now)
	}
	t := time.NewTimer(untilNext())
	defer t.Stop()
	events := r.node.Events()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			r.observe(ev)
		case now := <-t.C:
			// The next sample is taken only once Record returns: a store
			// that stops answering without failing (a partition, a paused
			// host) would hold it back, and the sample taken when the store
			// answers again would stamp the whole outage on the minute it
			// began in. Bounded, the write fails in time instead, and its
			// minute is kept as its own (pending).
			rctx, cancel := context.WithTimeout(ctx, untilNext()*9/10)
			if err := r.Record(rctx, now); err != nil && ctx.Err() == nil {
				r.log.Error("record statistics", "err", err)
			}
			cancel()
			t.Reset(untilNext()) // From the clock now: a busy or stepped clock skips, never spins.
		}
	}
}

func (r *Recorder) observe(ev edge.Event) {
	if ev.Kind != edge.EventOriginHealth {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range ev.Users {
		r.health[snapshot.WithoutProxy(u)] = edge.OriginHealth{Healthy: ev.Healthy, Down: ev.Down}
	}
}

// syncHealth replaces the observed health with the node's. Health events
// report flips only, and the edge drops those that find its Events buffer
// full (a burst of flips, or a slow Record holding up Run) rather than
// block the data plane, so the events alone can leave a state stale for
// good. Hence it runs after every apply (a binding added to an origin
// already down, an origin down at its first check, checks turned off,
// removed bindings) and at every Record, before the minute's health is
// written: a dropped flip is wrong for at most the rest of that minute,
// through the one narrow read the edge already offers, with no drop flag
// to pass back. Events still applied afterwards are the same flips in
// order, so they end at the state read. A group listener's origin is
// healthy when it is on every proxy, and its failing addresses are those
// of every proxy. Called with r.mu held, so no event is applied in between
// and then overwritten.
func (r *Recorder) syncHealth() {
	now := r.node.Health()
	h := make(map[string]edge.OriginHealth, len(now))
	for k, oh := range now {
		k = snapshot.WithoutProxy(k)
		if prev, seen := h[k]; seen {
			down := slices.Concat(prev.Down, oh.Down)
			slices.Sort(down)
			oh = edge.OriginHealth{Healthy: oh.Healthy && prev.Healthy, Down: slices.Compact(down)}
		}
		h[k] = oh
	}
	r.health = h
}

// Health reports the last observed health of origin under binding (a
// listener or rule ID) and, for a DOMAIN origin that resolves, its
// addresses that fail (health.Status.Down); an origin never reported
// unhealthy is healthy.
func (r *Recorder) Health(binding, origin string) (healthy bool, down []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.health[snapshot.HealthKey(binding, origin)]
	return !ok || h.Healthy, h.Down
}
