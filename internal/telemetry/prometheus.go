package telemetry

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// collector exposes the node's cumulative counters to Prometheus; it reads
// them at scrape time and observes the recorder's samples too (sample),
// adding what each counted since the one before, so nothing is counted
// twice or lost.
type collector struct {
	r     *Recorder
	descs map[string]*prometheus.Desc

	mu      sync.Mutex
	prev    stats.Sample            // The last sample observed.
	objects map[stats.Key]*exported // Of the objects in the last scrape.
	reads   uint64                  // Samples observed, for exported.read.
}

// exported is one object's series values, by counterDefs index: each
// counter the sum of its parts' deltas (stats.Sample.Since) over the
// samples observed, each gauge its parts' sum in the last one.
type exported struct {
	v    []float64
	read uint64 // The collector's reads when the object last had a part...
	born uint64 // ...and when it was first scraped.
}

var _ prometheus.Collector = (*collector)(nil)

// counterDefs are the exported series: name, help, and how to read them.
var counterDefs = []struct {
	name, help string
	kind       prometheus.ValueType
	value      func(v stats.Values) float64
}{
	{"opengaap_bytes_in_total", "Payload bytes from clients to origins (kind=proxy, listener: wire bytes incl. TLS and HTTP headers; kind=rule: HTTP body bytes; kind=origin: layer-4 listeners only).", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.BytesIn) }},
	{"opengaap_bytes_out_total", "Payload bytes from origins to clients (kind=proxy, listener: wire bytes incl. TLS and HTTP headers; kind=rule: HTTP body bytes; kind=origin: layer-4 listeners only; kind=mirror: VXLAN bytes sent to collectors).", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.BytesOut) }},
	{"opengaap_packets_in_total", "Packets from clients (TCP: data segments).", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.PacketsIn) }},
	{"opengaap_packets_out_total", "Packets to clients (TCP: data segments; kind=mirror: VXLAN packets sent to collectors).", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.PacketsOut) }},
	{"opengaap_connections", "Open TCP connections and UDP sessions.", prometheus.GaugeValue, func(v stats.Values) float64 { return float64(v.Active) }},
	{"opengaap_connections_total", "Accepted TCP connections and created UDP sessions.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.NewConns) }},
	{"opengaap_refused_total", "Connections or datagrams refused by the concurrency cap or the node's client descriptor budget.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Refused) }},
	{"opengaap_denied_total", "Connections or datagrams dropped by the security policy.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Denied) }},
	{"opengaap_origin_connect_failures_total", "Failed origin connects.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.DialFails) }},
	{"opengaap_origin_connect_seconds_total", "Summed origin connect time.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.DialNanos) / 1e9 }},
	{"opengaap_udp_dropped_total", "UDP datagrams the edge could not deliver (kind=mirror: copies dropped at the queue or the rate cap, or refused by the socket).", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Dropped) }},
	{"opengaap_udp_shaped_total", "UDP datagrams dropped by the bandwidth limit.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Shaped) }},
	{"opengaap_http_requests_total", "HTTP requests answered.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Requests) }},
	{"opengaap_http_answer_seconds_total", "Summed time from an HTTP request's arrival to its answer's head.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.AnswerNanos) / 1e9 }},
	{"opengaap_http_answers_timed_total", "HTTP answers whose head was sent (the count of the sum above).", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.AnswerCount) }},
	{"opengaap_http_aborted_total", "HTTP requests whose client went away before an answer.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Status[0]) }},
	{"opengaap_http_responses_1xx_total", "HTTP answers with a 1xx status.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Status[1]) }},
	{"opengaap_http_responses_2xx_total", "HTTP answers with a 2xx status.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Status[2]) }},
	{"opengaap_http_responses_3xx_total", "HTTP answers with a 3xx status.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Status[3]) }},
	{"opengaap_http_responses_4xx_total", "HTTP answers with a 4xx status.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Status[4]) }},
	{"opengaap_http_responses_5xx_total", "HTTP answers with a 5xx status.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Status[5]) }},
}

// Collector returns the Prometheus collector of r's node, which r's
// samples feed (see collector.sample): one for the recorder, however many
// registries it is registered with.
func (r *Recorder) Collector() prometheus.Collector { return r.metrics }

func newCollector(r *Recorder) *collector {
	c := &collector{r: r, descs: map[string]*prometheus.Desc{}, objects: map[stats.Key]*exported{}}
	for _, d := range counterDefs {
		c.descs[d.name] = prometheus.NewDesc(d.name, d.help, []string{"kind", "id"}, nil)
	}
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect exports each object the API knows once, as the statistics
// (minutePoints) do: an EdgeOne rule's per-port listeners ("rule/port") and
// a group listener's per-proxy instances ("listener@proxy") add up under
// the rule or listener, so a port range is one series set, not one a port
// (up to model.TeoMaxRulePorts of them).
//
// The values are copied under c.mu and emitted after it: the emission
// runs at the pace of the registry's gathering (a second or more for
// thousands of objects), and Record waits for c.mu holding the lock the
// API's health reads and the controller take.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	keys, values := c.read()
	for j, k := range keys {
		for i, d := range counterDefs {
			ch <- prometheus.MustNewConstMetric(c.descs[d.name], d.kind, values[j*len(counterDefs)+i], string(k.Kind), k.ID)
		}
	}
}

// read observes the node's counters and returns the exported objects with
// their values, by counterDefs index (object j's at j*len(counterDefs)).
func (c *collector) read() ([]stats.Key, []float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.observe(c.r.node.Stats(), true)
	keys := make([]stats.Key, 0, len(c.objects))
	values := make([]float64, 0, len(c.objects)*len(counterDefs))
	for k, o := range c.objects {
		if o.read != c.reads {
			// No part left: the series ends. Only a scrape ends it, so an
			// object that is back by the next one (an origin unbound and
			// bound again between two) goes on from its totals, as it
			// would had the recorder not sampled in between.
			delete(c.objects, k)
			continue
		}
		keys = append(keys, k)
		values = append(values, o.v...)
	}
	return keys, values
}

// sample takes the recorder's sample (edge.Node.Sample) and observes it
// too: it holds the final counts of the removed parts it drops (a group
// listener's instance on a member that left, a port leaving a rule), which
// no later read has, so these reach the exported counters as they reach
// the API's minute. It holds c.mu across both, so that no scrape reads in
// between: a read observed before the sample it followed would make the
// sample's dropped parts count again from zero.
func (c *collector) sample() stats.Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.r.node.Sample()
	c.observe(s, false)
	return s
}

// observe adds what s counted since the previous sample observed, as the
// recorder's minutes do (stats.Delta): a counter set that replaced another
// under the same key (a port that left a rule and came back, an origin
// unbound and bound again) adds its whole total, whatever its value, and a
// part that goes (a port leaving the rule) leaves what it counted in its
// object's counters. So an exported counter never decreases, which
// Prometheus would read as a reset, with rate() and increase() counting
// the object's whole remaining total as new traffic, a spike that sets off
// alerts. Objects are exported from the first scrape that finds them, with
// their parts' whole totals (so a node nobody scrapes keeps nothing here),
// and go at the first that finds no part of them (Collect). It costs no
// allocation per part, only per new object; c.mu held.
func (c *collector) observe(s stats.Sample, scrape bool) {
	c.reads++
	for k := range s.Values {
		obj := objectOf(k)
		o := c.objects[obj]
		if o == nil {
			if !scrape {
				continue
			}
			o = &exported{v: make([]float64, len(counterDefs)), born: c.reads}
			c.objects[obj] = o
		}
		fresh := o.read != c.reads // The object's first part in s.
		o.read = c.reads
		since := c.prev
		if o.born == c.reads {
			since = stats.Sample{} // Whole totals.
		}
		d := s.Since(since, k)
		for i, def := range counterDefs {
			if fresh && def.kind == prometheus.GaugeValue {
				o.v[i] = 0
			}
			o.v[i] += def.value(d)
		}
	}
	c.prev = s
}

// objectOf is the object the API knows that part k counts for.
func objectOf(k stats.Key) stats.Key {
	if k.Kind == stats.KindListener {
		k.ID = snapshot.ObjectOf(k.ID)
	}
	return k
}
