package gaap

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

const statsLayout = "2006-01-02 15:04:05"

// granTier says: a range up to upTo may use granularities of at least min.
type granTier struct {
	upTo time.Duration
	min  int
}

// statsRules are one action's documented granularities and range tiers;
// a range beyond the last tier is refused, which bounds every answer.
type statsRules struct {
	grans   []int
	tiers   []granTier
	metrics []string
}

const day = 24 * time.Hour

var (
	trafficMetrics = []string{"InBandwidth", "OutBandwidth", "Concurrent", "InPackets", "OutPackets"}

	// The spec gives DescribeListenerStatistics no longest range ("over
	// 7 days: 86400 s"); it ends a day short of the daily points'
	// retention, beyond which every step could only read 0, the day being
	// the first step's, which starts before StartTime (docs/statistics.md
	// "Retention").
	listenerStats = statsRules{grans: []int{300, 3600, 86400}, metrics: trafficMetrics,
		tiers: []granTier{{day, 300}, {7 * day, 3600}, {model.StatsLongestRetention - day, 86400}}}
	groupStats = statsRules{grans: []int{60, 300, 3600, 86400}, metrics: trafficMetrics,
		tiers: []granTier{{day, 60}, {7 * day, 3600}, {30 * day, 86400}}}
	proxyStats = statsRules{grans: []int{60, 300, 3600, 86400},
		metrics: append(slices.Clone(trafficMetrics), "PacketLoss", "Latency", "HttpQPS", "HttpQPSPercent", "HttpsQPS", "HttpsQPSPercent"),
		tiers:   []granTier{{3 * day, 60}, {7 * day, 300}, {30 * day, 3600}}}
)

// metricAliases are the names the reference's examples use for the
// bandwidth metrics; they read the same series and echo the name asked.
var metricAliases = map[string]string{"InputBandwidth": "InBandwidth", "OutputBandwidth": "OutBandwidth"}

// statsQuery is a validated statistics request.
type statsQuery struct {
	from, to time.Time
	gran     int
	metrics  []string // as asked
}

// parseStatsQuery checks the time range, granularity and metric names of
// a statistics request against rules. A name asked more than once is
// answered once (the spec is silent), so that the answer holds at most
// one series per name rules allow, however long the list.
func parseStatsQuery(rules statsRules, start, end *string, gran *int64, metrics []string) (statsQuery, error) {
	var q statsQuery
	var err error
	if q.from, err = parseStatsTime("StartTime", trimmed(start)); err != nil {
		return q, err
	}
	if q.to, err = parseStatsTime("EndTime", trimmed(end)); err != nil {
		return q, err
	}
	if !q.to.After(q.from) {
		return q, cloudapi.Invalid("EndTime", "must be later than StartTime")
	}
	q.gran = int(cloudapi.Value(gran))
	if !slices.Contains(rules.grans, q.gran) {
		return q, cloudapi.Invalid("Granularity", "%d is not one of %v seconds", q.gran, rules.grans)
	}
	if err := rules.checkRange(q.to.Sub(q.from), q.gran); err != nil {
		return q, err
	}
	if model.StatsBeforeEpoch(q.from, q.gran) {
		return q, cloudapi.Invalid("StartTime", "points before 1970-01-01 00:00:00 UTC cannot be answered")
	}
	if len(metrics) == 0 {
		return q, cloudapi.Invalid("MetricNames", "at least one metric is required")
	}
	for i, m := range metrics {
		if !slices.Contains(rules.metrics, metricSeries(m)) {
			return q, cloudapi.Invalid(fmt.Sprintf("MetricNames.%d", i), "%q is not one of %v", m, rules.metrics)
		}
	}
	q.metrics = cloudapi.UniqueInOrder(metrics)
	return q, nil
}

func (r statsRules) checkRange(span time.Duration, gran int) error {
	for _, t := range r.tiers {
		if span <= t.upTo {
			if gran < t.min {
				return cloudapi.Invalid("Granularity", "a range of %s needs a granularity of at least %d seconds", span, t.min)
			}
			return nil
		}
	}
	last := r.tiers[len(r.tiers)-1].upTo
	return cloudapi.Invalid("EndTime", "the range may not exceed %d days", last/day)
}

func parseStatsTime(param, v string) (time.Time, error) {
	t, err := time.ParseInLocation(statsLayout, v, model.StatsZone)
	if err != nil {
		return t, cloudapi.Invalid(param, "%q is not a time like 2019-03-25 12:00:00", v)
	}
	return t, nil
}

func metricSeries(name string) string {
	if m, ok := metricAliases[name]; ok {
		return m
	}
	return name
}

// steps are the bucket times of q, from the one holding StartTime to
// EndTime (model.StatsBucket: days start at Beijing midnight).
func (q statsQuery) steps() []time.Time { return model.StatsSteps(q.from, q.to, q.gran) }

// series reads metric for the objects (summed, for a group's proxies)
// and returns one point per step. A step without a sample is 0, as
// Tencent answers traffic series, or null where 0 is a reading
// (missingIsNull).
func (s *Service) series(ctx context.Context, objects []string, metric string, q statsQuery) ([]gaapapi.StatisticsDataInfo, error) {
	sums, err := s.sums(ctx, objects, metric, q)
	if err != nil {
		return nil, err
	}
	return q.points(metric, sums), nil
}

// sums reads metric for the objects and adds them up per step (Unix time).
func (s *Service) sums(ctx context.Context, objects []string, metric string, q statsQuery) (map[int64]float64, error) {
	steps := q.steps()
	sums := make(map[int64]float64, len(steps))
	for _, obj := range objects {
		pts, err := s.store.Stats().Query(ctx, obj, metric, q.gran, steps[0], q.to)
		if err != nil {
			return nil, apierr.Internal(err)
		}
		for _, p := range pts {
			sums[p.Time.Unix()] += p.Value
		}
	}
	return sums, nil
}

// seriesByPrefix reads metric for every object starting with prefix and
// returns one point per step of q for each that has a sample in q's
// window, keyed by the rest of its name after prefix.
func (s *Service) seriesByPrefix(ctx context.Context, prefix, metric string, q statsQuery) (map[string][]gaapapi.StatisticsDataInfo, error) {
	pts, err := s.store.Stats().QueryPrefix(ctx, prefix, metric, q.gran, q.steps()[0], q.to)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	sums := make(map[string]map[int64]float64)
	for _, p := range pts {
		rest := p.Object[len(prefix):]
		if sums[rest] == nil {
			sums[rest] = make(map[int64]float64)
		}
		sums[rest][p.Time.Unix()] += p.Value
	}
	out := make(map[string][]gaapapi.StatisticsDataInfo, len(sums))
	for rest, m := range sums {
		out[rest] = q.points(metric, m)
	}
	return out, nil
}

// points answers one point per step of q from sums. A step without a
// point reads 0 (no traffic), but null where the granularity's points are
// no longer kept (model.StatsRetention): 60 s over an hour five days ago
// read as no traffic, where the 300 s points still held it.
func (q statsQuery) points(metric string, sums map[int64]float64) []gaapapi.StatisticsDataInfo {
	steps := q.steps()
	kept := time.Now().Add(-model.StatsRetention[q.gran])
	out := make([]gaapapi.StatisticsDataInfo, 0, len(steps))
	for _, t := range steps {
		p := gaapapi.StatisticsDataInfo{Time: new(t.Unix())}
		if v, ok := sums[t.Unix()]; ok || !missingIsNull(metric) && !t.Before(kept) {
			p.Data = new(v)
		}
		out = append(out, p)
	}
	return out
}

// missingIsNull reports whether a step of metric without a sample answers
// Data null ("取不到有效值", which StatisticsDataInfo allows) rather than
// 0: so for an origin's health, whose 0 means abnormal, and whose minutes
// without a sample (the current one, not yet recorded; before the binding;
// while no process ran) are not known to be either.
func missingIsNull(metric string) bool { return metric == RealServerStatusMetric }

// statistics answers every metric of q for objects.
func (s *Service) statistics(ctx context.Context, objects []string, q statsQuery) ([]gaapapi.MetricStatisticsInfo, error) {
	out := make([]gaapapi.MetricStatisticsInfo, 0, len(q.metrics))
	for _, m := range q.metrics {
		data, err := s.series(ctx, objects, metricSeries(m), q)
		if err != nil {
			return nil, err
		}
		out = append(out, gaapapi.MetricStatisticsInfo{MetricName: new(m), MetricData: data})
	}
	return out, nil
}

// DescribeListenerStatistics returns a listener's traffic series.
func (s *Service) DescribeListenerStatistics(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeListenerStatisticsRequest) (*gaapapi.DescribeListenerStatisticsResponse, error) {
	q, err := parseStatsQuery(listenerStats, req.StartTime, req.EndTime, req.Granularity, req.MetricNames)
	if err != nil {
		return nil, err
	}
	id, err := idParam("ListenerId", req.ListenerId)
	if err != nil {
		return nil, err
	}
	if err := s.view(ctx, call, func(tx *resource.Tx) error {
		_, err := listenerOf(tx, id, "")
		return err
	}); err != nil {
		return nil, err
	}
	data, err := s.statistics(ctx, []string{id}, q)
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeListenerStatisticsResponse{StatisticsData: data}, nil
}

// DescribeProxyStatistics returns a proxy's series. Isp is checked but
// opengaap keeps no per-carrier series, so the merged data is returned.
func (s *Service) DescribeProxyStatistics(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeProxyStatisticsRequest) (*gaapapi.DescribeProxyStatisticsResponse, error) {
	q, err := parseStatsQuery(proxyStats, req.StartTime, req.EndTime, req.Granularity, req.MetricNames)
	if err != nil {
		return nil, err
	}
	if isp := trimmed(req.Isp); isp != "" && !slices.Contains([]string{"CMCC", "CUCC", "CTCC"}, isp) {
		return nil, cloudapi.Invalid("Isp", "%q is not CMCC, CUCC or CTCC", isp)
	}
	id, err := idParam("ProxyId", req.ProxyId)
	if err != nil {
		return nil, err
	}
	if err := s.view(ctx, call, func(tx *resource.Tx) error {
		_, err := resource.Get[model.Proxy](tx, id)
		return err
	}); err != nil {
		return nil, err
	}
	data, err := s.statistics(ctx, []string{id}, q)
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeProxyStatisticsResponse{StatisticsData: data}, nil
}

// DescribeProxyGroupStatistics returns a group's series, which the
// recorder writes under the group itself: each minute the sum of the
// proxies it had then, so a member destroyed later keeps its part of the
// group's past (docs/statistics.md). Steps without a point of the group
// (recorded before opengaap wrote group series) fall back to the sum of
// the group's current proxies' points.
func (s *Service) DescribeProxyGroupStatistics(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeProxyGroupStatisticsRequest) (*gaapapi.DescribeProxyGroupStatisticsResponse, error) {
	q, err := parseStatsQuery(groupStats, req.StartTime, req.EndTime, req.Granularity, req.MetricNames)
	if err != nil {
		return nil, err
	}
	var group string
	var members []string
	if err := s.view(ctx, call, func(tx *resource.Tx) error {
		g, proxies, err := loadGroup(tx, req.GroupId)
		if err != nil {
			return err
		}
		group = g.ID
		for _, p := range proxies {
			members = append(members, p.ID)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]gaapapi.MetricStatisticsInfo, 0, len(q.metrics))
	for _, m := range q.metrics {
		metric := metricSeries(m)
		own, err := s.sums(ctx, []string{group}, metric, q)
		if err != nil {
			return nil, err
		}
		old, err := s.sums(ctx, members, metric, q)
		if err != nil {
			return nil, err
		}
		for t, v := range old {
			if _, ok := own[t]; !ok {
				own[t] = v
			}
		}
		out = append(out, gaapapi.MetricStatisticsInfo{MetricName: new(m), MetricData: q.points(metric, own)})
	}
	return &gaapapi.DescribeProxyGroupStatisticsResponse{StatisticsData: out}, nil
}
