package telemetry

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// collector exposes the node's cumulative counters to Prometheus; it reads
// them at scrape time, so nothing is counted twice.
type collector struct {
	r     *Recorder
	descs map[string]*prometheus.Desc

	// Counters of objects counted in parts (see Collect), by counterDefs
	// index; gauges are never carried.
	mu    sync.Mutex
	last  map[stats.Key][]float64 // Each part's counters at the last scrape.
	carry map[stats.Key][]float64 // Each object's parts' totals that are gone.
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
	{"opengaap_refused_total", "Connections or datagrams refused by the concurrency cap or the node's UDP session bound.", prometheus.CounterValue, func(v stats.Values) float64 { return float64(v.Refused) }},
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

// Collector returns the Prometheus collector of r's node.
func (r *Recorder) Collector() prometheus.Collector {
	c := &collector{r: r, descs: map[string]*prometheus.Desc{},
		last: map[stats.Key][]float64{}, carry: map[stats.Key][]float64{}}
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
// A sum of parts must not drop when a part goes (a port leaves the rule,
// its counters forgotten) or starts again from zero (a port re-added):
// Prometheus reads a counter that decreases as a reset, and rate() and
// increase() would count the rest of the object's lifetime total as new
// traffic, a spike that sets off alerts. So each object carries the last
// counters seen of its parts that went or restarted; the carry goes with
// the object itself (no part left), whose series then ends.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	objects := map[stats.Key][]float64{}
	parts := c.r.node.Stats().Values
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range parts {
		obj := objectOf(k)
		sum := objects[obj]
		if sum == nil {
			sum = make([]float64, len(counterDefs))
			objects[obj] = sum
		}
		last, seen := c.last[k] // Updated in place: no slice per part and scrape.
		if !seen {
			last = make([]float64, len(counterDefs))
			c.last[k] = last
		}
		for i, d := range counterDefs {
			cur := d.value(v)
			sum[i] += cur
			if seen && d.kind == prometheus.CounterValue && cur < last[i] {
				c.carried(obj)[i] += last[i] // Counted anew.
			}
			last[i] = cur
		}
	}
	for k, prev := range c.last {
		if _, ok := parts[k]; ok {
			continue
		}
		delete(c.last, k)
		obj := objectOf(k)
		if _, ok := objects[obj]; !ok {
			continue // The object went with it.
		}
		for i, d := range counterDefs {
			if d.kind == prometheus.CounterValue {
				c.carried(obj)[i] += prev[i]
			}
		}
	}
	for obj := range c.carry {
		if _, ok := objects[obj]; !ok {
			delete(c.carry, obj)
		}
	}
	for k, sum := range objects {
		carry := c.carry[k]
		for i, d := range counterDefs {
			v := sum[i]
			if carry != nil {
				v += carry[i]
			}
			ch <- prometheus.MustNewConstMetric(c.descs[d.name], d.kind, v, string(k.Kind), k.ID)
		}
	}
}

// objectOf is the object the API knows that part k counts for.
func objectOf(k stats.Key) stats.Key {
	if k.Kind == stats.KindListener {
		k.ID = snapshot.ObjectOf(k.ID)
	}
	return k
}

// carried returns obj's carry, made on first use; c.mu held.
func (c *collector) carried(obj stats.Key) []float64 {
	v := c.carry[obj]
	if v == nil {
		v = make([]float64, len(counterDefs))
		c.carry[obj] = v
	}
	return v
}
