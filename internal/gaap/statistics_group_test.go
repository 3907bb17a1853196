package gaap_test

import (
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestProxyGroupStatisticsAndPolicy covers what needs a group: its
// statistics (the sum of its proxies), DescribeGroupAndStatisticsProxy and
// a security policy created with GroupId.
func TestProxyGroupStatisticsAndPolicy(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	greq := gaapsdk.NewCreateProxyGroupRequest()
	greq.ProjectId, greq.GroupName, greq.RealServerRegion = new(uint64(0)), new("stats-group"), new("NorthChina")
	greq.AccessRegionSet = []*gaapsdk.AccessConfiguration{
		{AccessRegion: new("SouthChina"), Bandwidth: new(uint64(10)), Concurrent: new(uint64(2))},
		{AccessRegion: new("EastChina"), Bandwidth: new(uint64(10)), Concurrent: new(uint64(2))},
	}
	gresp, err := c.CreateProxyGroup(greq)
	if err != nil {
		t.Fatalf("CreateProxyGroup: %v", err)
	}
	group := *gresp.Response.GroupId

	var lists struct {
		GroupSet []struct {
			GroupId, GroupName string
			ProxySet           []struct{ ProxyId string }
		}
		TotalCount int64
	}
	if err := api.Call(c, "DescribeGroupAndStatisticsProxy", map[string]any{"ProjectId": 0}, &lists); err != nil {
		t.Fatalf("DescribeGroupAndStatisticsProxy: %v", err)
	}
	if lists.TotalCount != 1 || lists.GroupSet[0].GroupId != group || lists.GroupSet[0].GroupName != "stats-group" || len(lists.GroupSet[0].ProxySet) != 2 {
		t.Fatalf("DescribeGroupAndStatisticsProxy = %+v; want %s with 2 proxies", lists, group)
	}

	t0 := time.Now().Add(-time.Hour).Truncate(time.Hour)
	var pts []store.Point
	for i, p := range lists.GroupSet[0].ProxySet {
		pts = append(pts, store.Point{Object: p.ProxyId, Metric: "OutBandwidth", Granularity: 60, Time: t0.Add(time.Minute), Value: float64(i + 1)})
	}
	writePoints(t, api, pts...)
	req := groupOutBandwidth(group, t0, 2)
	resp, err := c.DescribeProxyGroupStatistics(req)
	if err != nil {
		t.Fatalf("DescribeProxyGroupStatistics: %v", err)
	}
	if got := values(t, resp.Response.StatisticsData, "OutBandwidth", t0, time.Minute); !equal(got, []float64{0, 3, 0}) {
		t.Errorf("OutBandwidth = %v; want [0 3 0]", got)
	}
	req.StartTime = statsTime(t0.Add(-2 * 24 * time.Hour)) // 60 s only up to one day
	_, err = c.DescribeProxyGroupStatistics(req)
	wantCode(t, err, "InvalidParameterValue")
	_, err = api.GAAP(xtest.Other).DescribeProxyGroupStatistics(req)
	wantCode(t, err, "InvalidParameterValue")
	req.StartTime = statsTime(t0)
	_, err = api.GAAP(xtest.Other).DescribeProxyGroupStatistics(req)
	wantCode(t, err, "ResourceNotFound")

	// A group policy: created once the group runs, named by PolicyId to open.
	preq := gaapsdk.NewCreateSecurityPolicyRequest()
	preq.GroupId, preq.DefaultAction = new(group), new("DROP")
	var policy string
	eventually(t, func() bool {
		presp, err := c.CreateSecurityPolicy(preq)
		if err == nil {
			policy = *presp.Response.PolicyId
		}
		return err == nil
	}, "no policy for the group")
	d := policyDetail(t, c, policy).Response
	if d.ProxyId != nil || *d.DefaultAction != "DROP" {
		t.Fatalf("group policy detail: proxy %v action %s; want no proxy, DROP", d.ProxyId, *d.DefaultAction)
	}
	_, err = c.CreateSecurityPolicy(preq)
	wantCode(t, err, "FailedOperation.ProxySecurityPolicyExisted")
	var open struct{ TaskId string }
	if err := api.Call(c, "OpenSecurityPolicy", map[string]any{"PolicyId": policy}, &open); err != nil {
		t.Fatalf("OpenSecurityPolicy: %v", err)
	}
	waitPolicy(t, api, policy, open.TaskId, "BOUND")
	// The members report the group's policy, which is enforced on them.
	for _, p := range groupProxies(t, c, group) {
		if p.PolicyId == nil || *p.PolicyId != policy {
			t.Errorf("DescribeProxies: member %s PolicyId %v; want the group's %s", *p.ProxyId, p.PolicyId, policy)
		}
		if d := proxyDetail(t, c, *p.ProxyId); d.PolicyId == nil || *d.PolicyId != policy {
			t.Errorf("DescribeProxyDetail: member %s PolicyId %v; want the group's %s", *p.ProxyId, d.PolicyId, policy)
		}
	}
}

// TestProxyGroupStatisticsOwnSeries: a group's statistics are the series
// recorded under the group (the sum of the proxies it had in each minute),
// so destroying a member does not change its past; a step recorded before
// group series existed falls back to the sum of the current members.
func TestProxyGroupStatisticsOwnSeries(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	group, ps := groupWithRegions(t, api, "SouthChina", "EastChina")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Hour)
	point := func(obj string, minute int, v float64) store.Point {
		return store.Point{Object: obj, Metric: "OutBandwidth", Granularity: 60, Time: t0.Add(time.Duration(minute) * time.Minute), Value: v}
	}
	writePoints(t, api,
		point(group, 1, 7), point(ps[0], 1, 3), point(ps[1], 1, 4), // recorded with the group's own series
		point(ps[0], 2, 1), point(ps[1], 2, 2)) // recorded before group series existed
	read := func() []float64 {
		t.Helper()
		resp, err := c.DescribeProxyGroupStatistics(groupOutBandwidth(group, t0, 3))
		if err != nil {
			t.Fatalf("DescribeProxyGroupStatistics: %v", err)
		}
		return values(t, resp.Response.StatisticsData, "OutBandwidth", t0, time.Minute)
	}
	if got := read(); !equal(got, []float64{0, 7, 3, 0}) {
		t.Errorf("OutBandwidth = %v; want [0 7 3 0]", got)
	}
	d := gaapsdk.NewDestroyProxiesRequest()
	d.ProxyIds, d.Force = sdkIDs(ps[1]), new(int64(1))
	if _, err := c.DestroyProxies(d); err != nil {
		t.Fatal(err)
	}
	proxyGone(t, c, ps[1])
	if got := read(); !equal(got, []float64{0, 7, 1, 0}) {
		t.Errorf("after destroying %s: OutBandwidth = %v; want [0 7 1 0] (its own series kept, the fallback sums the members left)", ps[1], got)
	}
}

// groupOutBandwidth asks for a group's OutBandwidth per minute from t0 to
// t0 + minutes.
func groupOutBandwidth(group string, t0 time.Time, minutes int) *gaapsdk.DescribeProxyGroupStatisticsRequest {
	req := gaapsdk.NewDescribeProxyGroupStatisticsRequest()
	req.GroupId, req.StartTime, req.EndTime = new(group), statsTime(t0), statsTime(t0.Add(time.Duration(minutes)*time.Minute))
	req.Granularity, req.MetricNames = new(uint64(60)), []*string{new("OutBandwidth")}
	return req
}
