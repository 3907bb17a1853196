package telemetry

import (
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// HTTP request metrics of proxies (DescribeProxyStatistics).
const (
	HttpQPS         = "HttpQPS"
	HttpsQPS        = "HttpsQPS"
	HttpQPSPercent  = "HttpQPSPercent"  // HttpQPS as a share of the proxy's concurrency
	HttpsQPSPercent = "HttpsQPSPercent" // HttpsQPS as a share of the proxy's concurrency
)

// layout is what the recorder needs to know of the running configuration:
// which proxy each HTTP listener belongs to and over which protocol, and
// each proxy's connection cap (the base of the Percent metrics).
type layout struct {
	httpListeners map[string]httpListener
	maxConns      map[string]int
	// groups: each proxy of a group → its group, whose series sums its
	// proxies' (minutePoints).
	groups map[string]string
	// gone: what left the configuration and is still counted. The data
	// plane reports a removed listener's or proxy's counts until the
	// sample after its last connection closed (stats.Registry.Forget:
	// they drain), which Records still attribute to its proxy and group;
	// an entry goes with the first sample without its key (stillCounted).
	gone departed
	// EdgeOne origin group records under health checks: their series
	// object (model.TeoOriginHealthObject, also their origin ID in the
	// snapshot) → the health keys ("listenerID/originID") of their uses.
	teoHealth map[string][]string
}

// departed holds, per map of layout, the entries that left it.
type departed struct {
	httpListeners map[string]httpListener
	maxConns      map[string]int
	groups        map[string]string
}

// stillCounted is d without the entries whose counters s no longer holds:
// their last counts were in an earlier sample. New maps: a recorded part
// may still hold d's.
func (d departed) stillCounted(s stats.Sample) departed {
	return departed{
		httpListeners: counted(d.httpListeners, s, stats.KindListener),
		maxConns:      counted(d.maxConns, s, stats.KindProxy),
		groups:        counted(d.groups, s, stats.KindProxy),
	}
}

func counted[V any](m map[string]V, s stats.Sample, kind stats.Kind) map[string]V {
	var out map[string]V
	for k, v := range m {
		if _, ok := s.Values[stats.Key{Kind: kind, ID: k}]; ok {
			if out == nil {
				out = map[string]V{}
			}
			out[k] = v
		}
	}
	return out
}

// keepDeparted adds to gone the entries of old that now lacks, and drops
// from gone the ones now has again (their counts are their own again).
func keepDeparted[V any](gone, old, now map[string]V) map[string]V {
	for k, v := range old {
		if _, ok := now[k]; !ok {
			if gone == nil {
				gone = map[string]V{}
			}
			gone[k] = v
		}
	}
	for k := range gone {
		if _, ok := now[k]; ok {
			delete(gone, k)
		}
	}
	return gone
}

type httpListener struct {
	proxy string
	https bool
}

// Observe records the layout of a snapshot the data plane applied, and
// the health of every origin the node now uses (see syncHealth).
func (r *Recorder) Observe(snap *snapshot.Snapshot) {
	l := layout{httpListeners: map[string]httpListener{}, maxConns: map[string]int{}, teoHealth: map[string][]string{},
		groups: map[string]string{}}
	for _, p := range snap.Proxies {
		l.maxConns[p.ID] = p.MaxConns
		if p.Group != "" {
			l.groups[p.ID] = p.Group
		}
		for _, h := range p.HTTPListeners {
			l.httpListeners[h.ID] = httpListener{proxy: p.ID, https: h.Protocol == "HTTPS"}
		}
		for _, ls := range p.Listeners {
			if !ls.Health.Enabled || p.Closed {
				continue
			}
			for _, o := range ls.Origins {
				if _, _, ok := model.ParseTeoOriginHealthObject(o.ID); ok {
					l.teoHealth[o.ID] = append(l.teoHealth[o.ID], snapshot.HealthKey(ls.ID, o.ID))
				}
			}
		}
	}
	r.mu.Lock()
	old := r.layout
	l.gone = departed{
		httpListeners: keepDeparted(old.gone.httpListeners, old.httpListeners, l.httpListeners),
		maxConns:      keepDeparted(old.gone.maxConns, old.maxConns, l.maxConns),
		groups:        keepDeparted(old.gone.groups, old.groups, l.groups),
	}
	r.layout = l
	r.syncHealth()
	r.mu.Unlock()
}

// groupOf returns the group of proxy, "" for none.
func (l layout) groupOf(proxy string) string {
	if g, ok := l.groups[proxy]; ok {
		return g
	}
	return l.gone.groups[proxy]
}

// groupIDs returns the groups of the layout's proxies, and of those that
// left it since the last Record.
func (l layout) groupIDs() map[string]bool {
	ids := make(map[string]bool, len(l.groups))
	for _, m := range []map[string]string{l.groups, l.gone.groups} {
		for _, g := range m {
			ids[g] = true
		}
	}
	return ids
}

// teoHealthPoints writes the health of every checked EdgeOne origin group
// record: healthy while every use of it is (an origin never reported
// unhealthy is healthy). Records under no check get no point and read as
// Undetected.
func (l layout) teoHealthPoints(health map[string]bool, point func(id, metric string, v float64)) {
	for obj, keys := range l.teoHealth {
		healthy := true
		for _, k := range keys {
			if h, ok := health[k]; ok && !h {
				healthy = false
			}
		}
		point(obj, model.TeoOriginHealthMetric, b2f(healthy))
	}
}

// httpPoints derives the per-proxy request rates from the listeners'
// request counts.
func (l layout) httpPoints(delta map[stats.Key]stats.Values, secs float64, point func(id, metric string, v float64)) {
	type rates struct{ http, https float64 }
	per := map[string]rates{}
	for k, v := range delta {
		if k.Kind != stats.KindListener {
			continue
		}
		hl, ok := l.httpListeners[k.ID]
		if !ok {
			if hl, ok = l.gone.httpListeners[k.ID]; !ok {
				continue
			}
		}
		r := per[hl.proxy]
		if hl.https {
			r.https += float64(v.Requests) / secs
		} else {
			r.http += float64(v.Requests) / secs
		}
		per[hl.proxy] = r
	}
	for proxy, r := range per {
		point(proxy, HttpQPS, r.http)
		point(proxy, HttpsQPS, r.https)
		capacity, ok := l.maxConns[proxy]
		if !ok {
			capacity = l.gone.maxConns[proxy]
		}
		if capacity > 0 {
			point(proxy, HttpQPSPercent, r.http*100/float64(capacity))
			point(proxy, HttpsQPSPercent, r.https*100/float64(capacity))
		}
	}
}
