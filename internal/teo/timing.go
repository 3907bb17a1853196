package teo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// L4 metrics (DescribeTimingL4Data MetricNames). The controller writes
// each as a stats series (store.Stats) under the same name, per L4 proxy ID
// and per rule ID, at every granularity of timingIntervals: flux metrics
// are bytes per bucket, bandwidth metrics the peak bit/s in the bucket,
// connections the peak concurrent connections, newConnectionsRate the mean
// new connections per second over the bucket (a time-weighted mean of the
// minutes, see telemetry's rollupKind).
var (
	intMetrics   = []string{"l4Flow_flux", "l4Flow_inFlux", "l4Flow_outFlux", "l4Flow_inBandwidth", "l4Flow_outBandwidth", "l4Flow_connections"}
	floatMetrics = []string{"l4Flow_newConnectionsRate"}
)

// timingIntervals maps Interval values to granularities in seconds.
var timingIntervals = map[string]int{"min": 60, "5min": 300, "hour": 3600, "day": 86400}

const (
	maxTimingSpan  = 31 * 24 * time.Hour
	maxTimingZones = 100
)

// timingQuery is a checked DescribeTimingL4Data request.
type timingQuery struct {
	from, to time.Time
	gran     int
	metrics  []string
}

func parseTimingQuery(req *teoapi.DescribeTimingL4DataRequest) (timingQuery, error) {
	var q timingQuery
	var err error
	if q.from, err = time.Parse(time.RFC3339, cloudapi.Value(req.StartTime)); err != nil {
		return q, cloudapi.Invalid("StartTime", "%q is not an ISO 8601 time like 2025-10-01T08:00:00+08:00", cloudapi.Value(req.StartTime))
	}
	if q.to, err = time.Parse(time.RFC3339, cloudapi.Value(req.EndTime)); err != nil {
		return q, cloudapi.Invalid("EndTime", "%q is not an ISO 8601 time like 2025-10-01T10:00:00+08:00", cloudapi.Value(req.EndTime))
	}
	span := q.to.Sub(q.from)
	if span <= 0 {
		return q, cloudapi.Invalid("EndTime", "must be later than StartTime")
	}
	if span > maxTimingSpan {
		return q, apierr.New(apierr.Code("LimitExceeded.QueryTimeLimitExceeded"), "EndTime - StartTime is %s; at most 31 days", span)
	}
	if q.gran, err = timingGranularity(cloudapi.Value(req.Interval), span); err != nil {
		return q, err
	}
	if model.StatsBeforeEpoch(q.from, q.gran) {
		return q, cloudapi.Invalid("StartTime", "points before 1970-01-01T00:00:00Z cannot be answered")
	}
	if len(req.MetricNames) == 0 {
		return q, cloudapi.Invalid("MetricNames", "give at least one metric")
	}
	for i, m := range req.MetricNames {
		if !slices.Contains(intMetrics, m) && !slices.Contains(floatMetrics, m) {
			return q, cloudapi.Invalid(fmt.Sprintf("MetricNames.%d", i), "%q is not one of %v", m, append(slices.Clone(intMetrics), floatMetrics...))
		}
	}
	q.metrics = cloudapi.UniqueInOrder(req.MetricNames)
	return q, nil
}

// timingGranularity applies Interval, or the documented automatic choice:
// min up to 1 hour, 5min up to 2 days, hour up to 7 days, else day.
func timingGranularity(interval string, span time.Duration) (int, error) {
	if interval != "" {
		g, ok := timingIntervals[interval]
		if !ok {
			return 0, cloudapi.Invalid("Interval", "%q is not min, 5min, hour or day", interval)
		}
		return g, nil
	}
	switch {
	case span <= time.Hour:
		return 60, nil
	case span <= 48*time.Hour:
		return 300, nil
	case span <= 7*24*time.Hour:
		return 3600, nil
	}
	return 86400, nil
}

// steps are the bucket times from the one holding from to to, as the
// recorder stamps them (model.StatsBucket: days start at Beijing midnight).
func (q timingQuery) steps() []time.Time { return model.StatsSteps(q.from, q.to, q.gran) }

// DescribeTimingL4Data returns the L4 series of the selected proxies or
// rules, summed per bucket, as one record keyed by the account's AppId.
func (s *Service) DescribeTimingL4Data(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeTimingL4DataRequest) (*teoapi.DescribeTimingL4DataResponse, error) {
	q, err := parseTimingQuery(req)
	if err != nil {
		return nil, err
	}
	objects, err := s.timingObjects(ctx, call, req)
	if err != nil {
		return nil, err
	}
	rec := teoapi.TimingDataRecord{TypeKey: new(strconv.FormatInt(call.Account.AppID, 10)),
		TypeValue: []teoapi.TimingTypeValue{}, FloatTypeValue: []teoapi.FloatTimingTypeValue{}}
	steps := q.steps()
	for _, m := range q.metrics {
		sums, err := s.timingSeries(ctx, objects, m, q.gran, steps[0], q.to)
		if err != nil {
			return nil, err
		}
		if slices.Contains(floatMetrics, m) {
			rec.FloatTypeValue = append(rec.FloatTypeValue, floatValue(m, steps, sums))
		} else {
			rec.TypeValue = append(rec.TypeValue, intValue(m, steps, sums))
		}
	}
	return &teoapi.DescribeTimingL4DataResponse{TotalCount: new(int64(1)), Data: []teoapi.TimingDataRecord{rec}}, nil
}

// timingSeries sums metric over objects per bucket (Unix seconds), from
// the first bucket's start to to.
func (s *Service) timingSeries(ctx context.Context, objects []string, metric string, gran int, from, to time.Time) (map[int64]float64, error) {
	sums := map[int64]float64{}
	for _, obj := range objects {
		pts, err := s.store.Stats().Query(ctx, obj, metric, gran, from, to)
		if err != nil {
			return nil, apierr.Internal(err)
		}
		for _, p := range pts {
			sums[p.Time.Unix()] += p.Value
		}
	}
	return sums, nil
}

func intValue(metric string, steps []time.Time, sums map[int64]float64) teoapi.TimingTypeValue {
	var sum, peak int64
	detail := make([]teoapi.TimingDataItem, len(steps))
	for i, t := range steps {
		v := int64(math.Round(sums[t.Unix()]))
		sum, peak = sum+v, max(peak, v)
		detail[i] = teoapi.TimingDataItem{Timestamp: new(t.Unix()), Value: new(v)}
	}
	return teoapi.TimingTypeValue{MetricName: new(metric), Sum: new(sum), Max: new(peak), Avg: new(sum / max(1, recorded(steps, sums))), Detail: detail}
}

// recorded counts the buckets of steps with data. The reference's
// example averages Detail 15, 17, 0 to 16: a bucket without data (the
// current one of a query ending now, or one before recording began) is
// not a bucket of zero.
func recorded(steps []time.Time, sums map[int64]float64) int64 {
	var n int64
	for _, t := range steps {
		if _, ok := sums[t.Unix()]; ok {
			n++
		}
	}
	return n
}

func floatValue(metric string, steps []time.Time, sums map[int64]float64) teoapi.FloatTimingTypeValue {
	var sum, peak float64
	detail := make([]teoapi.FloatTimingDataItem, len(steps))
	for i, t := range steps {
		v := round2(sums[t.Unix()])
		sum, peak = sum+v, max(peak, v)
		detail[i] = teoapi.FloatTimingDataItem{Timestamp: new(t.Unix()), Value: new(v)}
	}
	return teoapi.FloatTimingTypeValue{MetricName: new(metric), Sum: new(round2(sum)), Max: new(peak), Avg: new(round2(sum / float64(max(1, recorded(steps, sums))))), Detail: detail}
}

// round2 keeps two decimals, as the reference specifies for rates.
func round2(v float64) float64 { return math.Round(v*100) / 100 }
