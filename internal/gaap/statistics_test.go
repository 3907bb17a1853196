package gaap_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/gaap"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/xtest"
)

// beijing is the zone of the API's statistics time strings.
var beijing = time.FixedZone("UTC+8", 8*3600)

func statsTime(t time.Time) *string { return new(t.In(beijing).Format("2006-01-02 15:04:05")) }

func writePoints(t *testing.T, api *xtest.API, pts ...store.Point) {
	t.Helper()
	if err := api.Store.Stats().Write(context.Background(), pts); err != nil {
		t.Fatalf("write stats: %v", err)
	}
}

// values flattens one metric's answer.
func values(t *testing.T, data []*gaapsdk.MetricStatisticsInfo, metric string, from time.Time, step time.Duration) []float64 {
	t.Helper()
	for _, m := range data {
		if *m.MetricName != metric {
			continue
		}
		var out []float64
		for i, p := range m.MetricData {
			if want := from.Add(time.Duration(i) * step).Unix(); int64(*p.Time) != want {
				t.Fatalf("%s point %d at %d; want %d", metric, i, *p.Time, want)
			}
			out = append(out, *p.Data)
		}
		return out
	}
	t.Fatalf("metric %s missing from the answer", metric)
	return nil
}

// nullable formats a series' values, null ones as null.
func nullable(data []*gaapsdk.StatisticsDataInfo) string {
	out := make([]string, len(data))
	for i, p := range data {
		out[i] = "null"
		if p.Data != nil {
			out[i] = strconv.FormatFloat(*p.Data, 'g', -1, 64)
		}
	}
	return "[" + strings.Join(out, " ") + "]"
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestProxyAndListenerStatistics(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	writePoints(t, api,
		store.Point{Object: proxy, Metric: "InBandwidth", Granularity: 300, Time: t0, Value: 10},
		store.Point{Object: proxy, Metric: "InBandwidth", Granularity: 300, Time: t0.Add(10 * time.Minute), Value: 30},
		store.Point{Object: proxy, Metric: "Concurrent", Granularity: 300, Time: t0.Add(5 * time.Minute), Value: 7},
		store.Point{Object: proxy, Metric: "InBandwidth", Granularity: 60, Time: t0, Value: 99},
	)

	req := gaapsdk.NewDescribeProxyStatisticsRequest()
	req.ProxyId, req.StartTime, req.EndTime = new(proxy), statsTime(t0), statsTime(t0.Add(15*time.Minute))
	req.Granularity = new(uint64(300))
	req.MetricNames = []*string{new("InBandwidth"), new("Concurrent"), new("InputBandwidth")}
	resp, err := c.DescribeProxyStatistics(req)
	if err != nil {
		t.Fatalf("DescribeProxyStatistics: %v", err)
	}
	data := resp.Response.StatisticsData
	for metric, want := range map[string][]float64{"InBandwidth": {10, 0, 30, 0}, "InputBandwidth": {10, 0, 30, 0}, "Concurrent": {0, 7, 0, 0}} {
		if got := values(t, data, metric, t0, 5*time.Minute); !equal(got, want) {
			t.Errorf("%s = %v; want %v", metric, got, want)
		}
	}

	t.Run("invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name         string
			proxy        string
			start, end   time.Time
			gran         uint64
			metric, code string
		}{
			{"60 s over 4 days", proxy, t0.Add(-96 * time.Hour), t0, 60, "InBandwidth", "InvalidParameterValue"},
			{"300 s over 8 days", proxy, t0.Add(-8 * 24 * time.Hour), t0, 300, "InBandwidth", "InvalidParameterValue"},
			{"over 30 days", proxy, t0.Add(-31 * 24 * time.Hour), t0, 86400, "InBandwidth", "InvalidParameterValue"},
			{"odd granularity", proxy, t0, t0.Add(time.Hour), 120, "InBandwidth", "InvalidParameterValue"},
			{"end before start", proxy, t0, t0.Add(-time.Hour), 300, "InBandwidth", "InvalidParameterValue"},
			{"unknown metric", proxy, t0, t0.Add(time.Hour), 300, "Temperature", "InvalidParameterValue"},
			{"unknown proxy", "link-00000000", t0, t0.Add(time.Hour), 300, "InBandwidth", "ResourceNotFound"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req := gaapsdk.NewDescribeProxyStatisticsRequest()
				req.ProxyId, req.StartTime, req.EndTime = new(tc.proxy), statsTime(tc.start), statsTime(tc.end)
				req.Granularity, req.MetricNames = new(tc.gran), []*string{new(tc.metric)}
				_, err := c.DescribeProxyStatistics(req)
				wantCode(t, err, tc.code)
			})
		}
		req := gaapsdk.NewDescribeProxyStatisticsRequest()
		req.ProxyId, req.StartTime, req.EndTime = new(proxy), new("yesterday"), statsTime(t0)
		req.Granularity, req.MetricNames = new(uint64(300)), []*string{new("InBandwidth")}
		_, err := c.DescribeProxyStatistics(req)
		wantCode(t, err, "InvalidParameterValue")
		req.StartTime = statsTime(t0.Add(-time.Hour))
		_, err = api.GAAP(xtest.Other).DescribeProxyStatistics(req)
		wantCode(t, err, "ResourceNotFound")
	})

	t.Run("listener", func(t *testing.T) {
		listener := statsListener(t, api, proxy, 9090)
		writePoints(t, api, store.Point{Object: listener, Metric: "OutPackets", Granularity: 3600, Time: t0, Value: 5})

		req := gaapsdk.NewDescribeListenerStatisticsRequest()
		req.ListenerId, req.StartTime, req.EndTime = new(listener), statsTime(t0.Add(-time.Hour)), statsTime(t0.Add(time.Hour))
		req.Granularity, req.MetricNames = new(uint64(3600)), []*string{new("OutPackets")}
		resp, err := c.DescribeListenerStatistics(req)
		if err != nil {
			t.Fatalf("DescribeListenerStatistics: %v", err)
		}
		if got := values(t, resp.Response.StatisticsData, "OutPackets", t0.Add(-time.Hour), time.Hour); !equal(got, []float64{0, 5, 0}) {
			t.Errorf("OutPackets = %v; want [0 5 0]", got)
		}
		req.Granularity = new(uint64(60)) // listeners start at 300 s
		_, err = c.DescribeListenerStatistics(req)
		wantCode(t, err, "InvalidParameterValue")

		var lists struct {
			ProxySet []struct {
				ProxyId      string
				ListenerList []struct {
					ListenerId string
					Port       int64
				}
			}
			TotalCount int64
		}
		if err := api.Call(c, "DescribeProxyAndStatisticsListeners", map[string]any{"ProjectId": 0}, &lists); err != nil {
			t.Fatalf("DescribeProxyAndStatisticsListeners: %v", err)
		}
		testRealServerStatistics(t, api, listener, t0)
		if lists.TotalCount != 1 || lists.ProxySet[0].ProxyId != proxy || len(lists.ProxySet[0].ListenerList) != 1 ||
			lists.ProxySet[0].ListenerList[0].ListenerId != listener || lists.ProxySet[0].ListenerList[0].Port != 9090 {
			t.Fatalf("DescribeProxyAndStatisticsListeners = %+v", lists)
		}
	})
}

// testRealServerStatistics reads an origin's health series on listener.
func testRealServerStatistics(t *testing.T, api *xtest.API, listener string, t0 time.Time) {
	c := api.GAAP()
	origin := statsOrigin(t, api, "10.1.1.1")
	writePoints(t, api, store.Point{Object: gaap.RealServerStatusObject(listener, origin), Metric: gaap.RealServerStatusMetric,
		Granularity: 60, Time: t0.Add(time.Minute), Value: 1})

	req, resp := realServerStatistics(t, c, listener, origin, t0)
	if got := nullable(resp.Response.RsStatisticsData[0].MetricData); got != "[null 1 null]" {
		t.Errorf("origin status = %s; want [null 1 null]: minutes without a sample are not known", got)
	}
	if n := len(resp.Response.StatisticsData); n != 3 {
		t.Errorf("StatisticsData holds %d points; want 3", n)
	}
	req.StartTime, req.EndTime, req.WithinTime = nil, nil, new(uint64(3))
	if resp, err := c.DescribeRealServerStatistics(req); err != nil || len(resp.Response.StatisticsData) < 180 {
		t.Fatalf("WithinTime 3: %v; want 3 hours of minutes", err)
	}
	req.WithinTime = new(uint64(2))
	_, err := c.DescribeRealServerStatistics(req)
	wantCode(t, err, "InvalidParameterValue")
	// One end of a range without the other is missing, not malformed.
	req.WithinTime, req.StartTime = nil, statsTime(t0)
	_, err = c.DescribeRealServerStatistics(req)
	wantCode(t, err, "MissingParameter")
	req.StartTime, req.EndTime = nil, statsTime(t0)
	_, err = c.DescribeRealServerStatistics(req)
	wantCode(t, err, "MissingParameter")
	req.EndTime = nil
	req.WithinTime, req.ListenerId = nil, new("listener-00000000")
	_, err = c.DescribeRealServerStatistics(req)
	wantCode(t, err, "ResourceNotFound")
}

// TestRealServerStatisticsKeepsSeriesRecordedUnderPlainID: a binding's
// health series is "<listener>/<origin>:<port>" (model.OriginID). Before
// origin IDs carried the port, the first binding of an origin recorded
// under the plain origin ID (later ones already under "<origin>:<port>");
// those stored minutes must still answer, in the first binding's series,
// without rewriting what is stored.
func TestRealServerStatisticsKeepsSeriesRecordedUnderPlainID(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	listener, origin := statsListener(t, api, runningProxy(t, api), 9092), statsOrigin(t, api, "1.1.1.7")
	if _, err := c.BindListenerRealServers(bindReq(listener, bindOne(origin, "1.1.1.7", 80), bindOne(origin, "1.1.1.7", 81))); err != nil {
		t.Fatalf("BindListenerRealServers: %v", err)
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)
	point := func(name string, at time.Time, v float64) store.Point { return healthPoint(listener, name, at, v) }
	writePoints(t, api, point(origin, t0, 0), point(origin+":80", t0.Add(time.Minute), 1), point(origin+":81", t0, 1))

	_, resp := realServerStatistics(t, c, listener, origin, t0)
	got, want := rsSeries(resp), []string{origin + ":80 [0 1 null]", origin + ":81 [1 null null]"}
	if !slices.Equal(got, want) {
		t.Errorf("RsStatisticsData = %q; want %q (the plain-ID minute in the first binding's series)", got, want)
	}
	if got := nullable(resp.Response.StatisticsData); got != "[0 1 null]" {
		t.Errorf("StatisticsData = %s; want [0 1 null]", got)
	}
}

// TestRealServerStatisticsAfterUnbinding: the health a real server's
// bindings recorded ("<listener>/<origin>:<port>") still answers once it
// is unbound, although no port of it is stored any more: a series per
// former binding, by port, after the plain-ID series (recorded before IDs
// carried the port) since that has a value; StatisticsData is their
// minimum. Another origin whose ID extends this one's ("<origin>0") is
// not among them.
func TestRealServerStatisticsAfterUnbinding(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	listener, origin := statsListener(t, api, runningProxy(t, api), 9093), statsOrigin(t, api, "1.1.1.8")
	if _, err := c.BindListenerRealServers(bindReq(listener, bindOne(origin, "1.1.1.8", 8080), bindOne(origin, "1.1.1.8", 443))); err != nil {
		t.Fatalf("BindListenerRealServers: %v", err)
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute)
	point := func(name string, at time.Time, v float64) store.Point { return healthPoint(listener, name, at, v) }
	writePoints(t, api, point(origin+":8080", t0, 1), point(origin+":8080", t0.Add(time.Minute), 0), point(origin+":443", t0.Add(time.Minute), 1),
		point(origin, t0.Add(2*time.Minute), 1), point(origin+"0:80", t0, 0))
	eventually(t, func() bool { return *describeTCP(t, c, listener).ListenerStatus == 0 }, "binding of %s not applied", listener)
	if _, err := c.BindListenerRealServers(bindReq(listener)); err != nil {
		t.Fatalf("unbinding every origin: %v", err)
	}

	_, resp := realServerStatistics(t, c, listener, origin, t0)
	got, want := rsSeries(resp), []string{origin + " [null null 1]", origin + ":443 [null 1 null]", origin + ":8080 [1 0 null]"}
	if !slices.Equal(got, want) {
		t.Errorf("RsStatisticsData after unbinding = %q; want %q", got, want)
	}
	if got := nullable(resp.Response.StatisticsData); got != "[1 0 1]" {
		t.Errorf("StatisticsData = %s; want [1 0 1]", got)
	}
}

// healthPoint is a minute of the health series of origin (a data-plane
// name) bound to listener.
func healthPoint(listener, origin string, at time.Time, v float64) store.Point {
	return store.Point{Object: gaap.RealServerStatusObject(listener, origin), Metric: gaap.RealServerStatusMetric,
		Granularity: 60, Time: at, Value: v}
}

// rsSeries lists the RsStatisticsData of resp as "<name> <values>".
func rsSeries(resp *gaapsdk.DescribeRealServerStatisticsResponse) []string {
	var out []string
	for _, m := range resp.Response.RsStatisticsData {
		out = append(out, *m.MetricName+" "+nullable(m.MetricData))
	}
	return out
}

// realServerStatistics asks for the health of origin on listener over the
// three minutes from t0.
func realServerStatistics(t *testing.T, c *gaapsdk.Client, listener, origin string, t0 time.Time) (*gaapsdk.DescribeRealServerStatisticsRequest, *gaapsdk.DescribeRealServerStatisticsResponse) {
	t.Helper()
	req := gaapsdk.NewDescribeRealServerStatisticsRequest()
	req.RealServerId, req.ListenerId = new(origin), new(listener)
	req.StartTime, req.EndTime = statsTime(t0), statsTime(t0.Add(2*time.Minute))
	resp, err := c.DescribeRealServerStatistics(req)
	if err != nil {
		t.Fatalf("DescribeRealServerStatistics: %v", err)
	}
	return req, resp
}

// TestDailyStepsStartAtBeijingMidnight: StartTime and EndTime are Beijing
// time, and so are the days of 86400 s points: one Beijing day is one
// point, stamped with its midnight (as the spec's example, 1735056000).
func TestDailyStepsStartAtBeijingMidnight(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	proxy := runningProxy(t, api)
	// A recent day: within every query range and retention, whenever run.
	y, m, d := time.Now().In(beijing).Date()
	day := time.Date(y, m, d-30, 0, 0, 0, 0, beijing)
	writePoints(t, api, store.Point{Object: proxy, Metric: "Concurrent", Granularity: 86400, Time: day, Value: 5})
	req := gaapsdk.NewDescribeProxyStatisticsRequest()
	req.ProxyId, req.StartTime, req.EndTime = new(proxy), statsTime(day), statsTime(day.Add(24*time.Hour-time.Second))
	req.Granularity, req.MetricNames = new(uint64(86400)), []*string{new("Concurrent")}
	resp, err := api.GAAP().DescribeProxyStatistics(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := values(t, resp.Response.StatisticsData, "Concurrent", day, 24*time.Hour); !equal(got, []float64{5}) {
		t.Errorf("Concurrent over Beijing day %s = %v; want [5], stamped at its midnight", day, got)
	}
}

// TestRealServerStatusUnknownMinutesAreNull: a minute without a health
// sample answers null, not 0 (abnormal): with WithinTime the last step is
// the current minute, which the recorder writes only when it ends, so a
// healthy origin would otherwise always end on "abnormal".
func TestRealServerStatusUnknownMinutesAreNull(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	listener, origin := statsListener(t, api, runningProxy(t, api), 9091), statsOrigin(t, api, "10.1.1.2")
	// What the recorder has written by now: healthy, every completed minute of the last hour.
	now := time.Now()
	var pts []store.Point
	for m := now.Add(-61 * time.Minute).Truncate(time.Minute); m.Before(now.Truncate(time.Minute)); m = m.Add(time.Minute) {
		pts = append(pts, store.Point{Object: gaap.RealServerStatusObject(listener, origin), Metric: gaap.RealServerStatusMetric, Granularity: 60, Time: m, Value: 1})
	}
	writePoints(t, api, pts...)
	req := gaapsdk.NewDescribeRealServerStatisticsRequest()
	req.RealServerId, req.ListenerId, req.WithinTime = new(origin), new(listener), new(uint64(1))
	resp, err := api.GAAP().DescribeRealServerStatistics(req)
	if err != nil {
		t.Fatal(err)
	}
	// Every recorded minute reads 1 and the current one null; the minute
	// before it may have turned current between the write and the call.
	data := resp.Response.StatisticsData
	for i, d := range data {
		recorded := i < len(data)-2
		if d.Data != nil && *d.Data != 1 || recorded && d.Data == nil || i == len(data)-1 && d.Data != nil {
			t.Errorf("healthy origin over the last hour: %s; want 1 for every recorded minute, null for the current one", nullable(data))
			break
		}
	}
}

// statsListener creates a TCP listener on proxy, without health checks.
func statsListener(t *testing.T, api *xtest.API, proxy string, port uint64) string {
	t.Helper()
	req := gaapsdk.NewCreateTCPListenersRequest()
	req.ProxyId, req.ListenerName, req.Ports = new(proxy), new("stats"), []*uint64{new(port)}
	req.Scheduler, req.RealServerType, req.HealthCheck = new("rr"), new("IP"), new(uint64(0))
	return createTCP(t, api.GAAP(), req)[0]
}

// statsOrigin adds an origin at ip.
func statsOrigin(t *testing.T, api *xtest.API, ip string) string {
	t.Helper()
	req := gaapsdk.NewAddRealServersRequest()
	req.RealServerIP, req.RealServerName, req.ProjectId = []*string{new(ip)}, new("origin"), new(uint64(0))
	resp, err := api.GAAP().AddRealServers(req)
	if err != nil {
		t.Fatalf("AddRealServers: %v", err)
	}
	return *resp.Response.RealServerSet[0].RealServerId
}

// TestListenerStatisticsAnswerIsBounded: DescribeListenerStatistics, the
// one statistics action whose spec gives no longest range, accepts at most
// a day less than the longest retention (model.StatsLongestRetention, 400
// days), and a metric named twice is answered once, so that a small
// request cannot ask for millions of points (7 names x 400 days at most).
func TestListenerStatisticsAnswerIsBounded(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	listener := statsListener(t, api, runningProxy(t, api), 9091)
	// ask answers the metrics' names and point counts; the points are
	// raw so that a (wrongly answered) step before 1970 still decodes.
	ask := func(start, end time.Time, names []string) (got []string, points []int, err error) {
		params := map[string]any{"ListenerId": listener, "StartTime": *statsTime(start), "EndTime": *statsTime(end),
			"Granularity": 86400, "MetricNames": names}
		var r struct {
			StatisticsData []struct {
				MetricName string
				MetricData []json.RawMessage
			}
		}
		err = api.Call(c, "DescribeListenerStatistics", params, &r)
		for _, m := range r.StatisticsData {
			got, points = append(got, m.MetricName), append(points, len(m.MetricData))
		}
		return got, points, err
	}
	repeated := slices.Repeat([]string{"InBandwidth"}, 200)
	end := time.Now().Truncate(time.Hour)

	t.Run("range beyond retention", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			start, end time.Time
		}{
			{"140 years", time.Date(1900, 1, 1, 0, 0, 0, 0, beijing), time.Date(2040, 1, 1, 0, 0, 0, 0, beijing)},
			{"400 days", end.Add(-400 * 24 * time.Hour), end},
			// Within 399 days, but its points would have negative Unix
			// times, which the SDKs (unsigned Time) cannot read.
			{"before 1970", time.Date(1900, 1, 1, 0, 0, 0, 0, beijing), time.Date(1900, 6, 1, 0, 0, 0, 0, beijing)},
			{"Beijing midnight 1970-01-01", time.Date(1970, 1, 1, 0, 0, 0, 0, beijing), time.Date(1970, 1, 5, 0, 0, 0, 0, beijing)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, points, err := ask(tc.start, tc.end, repeated)
				if err == nil {
					t.Fatalf("answered %d series of %v points; want InvalidParameterValue", len(points), points)
				}
				wantCode(t, err, "InvalidParameterValue")
			})
		}
	})
	t.Run("repeated names answered once", func(t *testing.T) {
		names, points, err := ask(end.Add(-399*24*time.Hour), end, append(repeated, "InputBandwidth", "InBandwidth"))
		if err != nil {
			t.Fatalf("DescribeListenerStatistics over 399 days: %v", err)
		}
		if want := []string{"InBandwidth", "InputBandwidth"}; !slices.Equal(names, want) {
			t.Fatalf("metrics answered = %d names %v; want %v", len(names), names[:min(len(names), 3)], want)
		}
		for i, n := range points {
			if n > 400 {
				t.Errorf("%s has %d points; want at most 400 (a day each over 399 days)", names[i], n)
			}
		}
	})
}

// TestStatisticsPastRetentionReadNull: 60 s points are kept 4 days
// (model.StatsRetention); DescribeProxyStatistics takes Granularity 60 for
// any 3-day range, wherever it lies. An hour five days ago, whose traffic
// the store still holds at 300 s, read 60 points of 0: "no traffic". Its
// steps now read null ("取不到有效值"), as nothing is known of them.
func TestStatisticsPastRetentionReadNull(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	proxy := runningProxy(t, api)
	t0 := time.Now().Add(-model.StatsRetention[60] - 24*time.Hour).Truncate(time.Hour)
	for m := 0; m < 60; m += 5 { // What the store holds of a busy hour once its minutes are pruned.
		writePoints(t, api, store.Point{Object: proxy, Metric: "InBandwidth", Granularity: 300, Time: t0.Add(time.Duration(m) * time.Minute), Value: 8})
	}
	req := gaapsdk.NewDescribeProxyStatisticsRequest()
	req.ProxyId, req.StartTime, req.EndTime = new(proxy), statsTime(t0), statsTime(t0.Add(59*time.Minute))
	req.MetricNames = []*string{new("InBandwidth")}
	for gran, want := range map[uint64]*float64{60: nil, 300: new(8.0)} {
		req.Granularity = new(gran)
		resp, err := api.GAAP().DescribeProxyStatistics(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.Response.StatisticsData[0].MetricData {
			if (p.Data == nil) != (want == nil) || want != nil && *p.Data != *want {
				t.Fatalf("InBandwidth at %d s, an hour past the 60 s retention: point %d = %v; want %v", gran, *p.Time, p.Data, want)
			}
		}
	}
}
