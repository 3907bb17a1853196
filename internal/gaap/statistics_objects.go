package gaap

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// RealServerStatusMetric is the metric of an origin's health series:
// 1 healthy, 0 unhealthy, one point per minute. Its object is
// RealServerStatusObject(listener or rule, origin).
const RealServerStatusMetric = "RealServerStatus"

// RealServerStatusObject names the health series of an origin bound to a
// listener or rule.
func RealServerStatusObject(bindingID, realServerID string) string {
	return bindingID + "/" + realServerID
}

var realServerWithin = []int64{1, 3, 6, 12, 24}

// DescribeRealServerStatistics (deprecated) returns the health of an
// origin bound to a listener or rule: the last WithinTime hours (default
// 1) or StartTime..EndTime, at 60 s (default) or 300 s. An origin bound on
// several ports has a series per binding in RsStatisticsData, named as
// the data plane names them (model.OriginIDsOf), and StatisticsData is
// their minimum per step: 0 (abnormal) while any binding is down, as the
// owner's BindStatus. An origin no longer bound there reads the series
// its former bindings recorded, found by their common prefix.
func (s *Service) DescribeRealServerStatistics(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeRealServerStatisticsRequest) (*gaapapi.DescribeRealServerStatisticsResponse, error) {
	q, err := realServerStatsQuery(req, call.Time)
	if err != nil {
		return nil, err
	}
	binding := trimmed(req.ListenerId)
	if trimmed(req.RuleId) != "" {
		binding = trimmed(req.RuleId)
	}
	if binding == "" {
		return nil, apierr.New(apierr.MissingParameter, "one of ListenerId and RuleId is required")
	}
	rsID := trimmed(req.RealServerId)
	var bound []model.Bound
	if err := s.view(ctx, call, func(tx *resource.Tx) error {
		if _, err := resource.Get[model.RealServer](tx, rsID); err != nil {
			return err
		}
		if trimmed(req.RuleId) != "" {
			r, err := resource.Get[model.Rule](tx, binding)
			if err == nil {
				bound = r.Bindings
			}
			return err
		}
		l, err := resource.Get[model.Listener](tx, binding)
		if err == nil {
			bound = l.Bindings
		}
		return err
	}); err != nil {
		return nil, err
	}
	// Before origin IDs carried the port, the first binding of a real
	// server was named by its plain ID, and its past health is stored
	// under that name: it fills the steps the first series lacks.
	legacy, err := s.series(ctx, []string{RealServerStatusObject(binding, rsID)}, RealServerStatusMetric, q)
	if err != nil {
		return nil, err
	}
	// Every binding of the real server there, now or before, recorded
	// under "<rs>:<port>": one read, by port.
	idPrefix := model.OriginIDPrefix(rsID)
	byPort, err := s.seriesByPrefix(ctx, RealServerStatusObject(binding, idPrefix), RealServerStatusMetric, q)
	if err != nil {
		return nil, err
	}
	resp := &gaapapi.DescribeRealServerStatisticsResponse{}
	add := func(name string, data []gaapapi.StatisticsDataInfo) {
		resp.RsStatisticsData = append(resp.RsStatisticsData, gaapapi.MetricStatisticsInfo{MetricName: new(name), MetricData: data})
		resp.StatisticsData = stepMinimum(resp.StatisticsData, data)
	}
	if origins := model.OriginIDsOf(bound, rsID); len(origins) > 0 {
		for i, origin := range origins {
			data, ok := byPort[strings.TrimPrefix(origin, idPrefix)]
			if !ok {
				data = q.points(RealServerStatusMetric, nil)
			}
			if i == 0 {
				fillNull(data, legacy)
			}
			add(origin, data)
		}
		return resp, nil
	}
	// Not bound there (any more): the series of the bindings it had, as
	// they recorded them in the window, by port (decimal without leading
	// zeros, so the shorter is the smaller), after the plain ID's when that
	// has a value or there is no other series.
	ports := slices.Collect(maps.Keys(byPort))
	slices.SortFunc(ports, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) })
	if len(ports) == 0 || slices.ContainsFunc(legacy, func(p gaapapi.StatisticsDataInfo) bool { return p.Data != nil }) {
		add(rsID, legacy)
	}
	for _, port := range ports {
		add(idPrefix+port, byPort[port])
	}
	return resp, nil
}

// fillNull gives each step of a without a value the value of b's same
// step.
func fillNull(a, b []gaapapi.StatisticsDataInfo) {
	for i, p := range b {
		if a[i].Data == nil {
			a[i].Data = p.Data
		}
	}
}

// stepMinimum folds the points of b, step by step the same as a's, into
// a: the smaller Data of each step, or the one known where the other is
// null. A nil a starts as a copy of b, so that b is never changed.
func stepMinimum(a, b []gaapapi.StatisticsDataInfo) []gaapapi.StatisticsDataInfo {
	if a == nil {
		return slices.Clone(b)
	}
	for i, p := range b {
		if p.Data != nil && (a[i].Data == nil || *p.Data < *a[i].Data) {
			a[i].Data = p.Data
		}
	}
	return a
}

func realServerStatsQuery(req *gaapapi.DescribeRealServerStatisticsRequest, now time.Time) (statsQuery, error) {
	q := statsQuery{gran: int(cloudapi.ValueOr(req.Granularity, 60))}
	if q.gran != 60 && q.gran != 300 {
		return q, cloudapi.Invalid("Granularity", "%d is not 60 or 300", q.gran)
	}
	if req.StartTime != nil || req.EndTime != nil {
		// One without the other is missing, not malformed.
		if req.StartTime == nil {
			return q, cloudapi.Missing("StartTime")
		}
		if req.EndTime == nil {
			return q, cloudapi.Missing("EndTime")
		}
		rules := statsRules{grans: []int{60, 300}, tiers: []granTier{{day, 60}}, metrics: []string{RealServerStatusMetric}}
		return parseStatsQuery(rules, req.StartTime, req.EndTime, new(int64(q.gran)), []string{RealServerStatusMetric})
	}
	within := cloudapi.ValueOr(req.WithinTime, 1)
	if !slices.Contains(realServerWithin, within) {
		return q, cloudapi.Invalid("WithinTime", "%d is not one of %v hours", within, realServerWithin)
	}
	q.to = now
	q.from = now.Add(-time.Duration(within) * time.Hour)
	return q, nil
}

// DescribeGroupAndStatisticsProxy lists the groups of a project (-1 =
// all) with their members (model.Members) and the group's listeners: what
// the group statistics can be asked about.
func (s *Service) DescribeGroupAndStatisticsProxy(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeGroupAndStatisticsProxyRequest) (*gaapapi.DescribeGroupAndStatisticsProxyResponse, error) {
	q, err := projectQuery(req.ProjectId)
	if err != nil {
		return nil, err
	}
	out := []gaapapi.GroupStatisticsInfo{}
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		groups, _, err := resource.List[model.ProxyGroup](tx, q)
		if err != nil {
			return err
		}
		for _, g := range groups {
			listeners, err := listenerInfos(tx, g.ID)
			if err != nil {
				return err
			}
			proxies, err := resource.Children[model.Proxy](tx, g.ID)
			if err != nil {
				return err
			}
			info := gaapapi.GroupStatisticsInfo{GroupId: new(g.ID), GroupName: new(g.Name), ProxySet: []gaapapi.ProxySimpleInfo{}}
			for _, p := range model.Members(proxies) {
				info.ProxySet = append(info.ProxySet, gaapapi.ProxySimpleInfo{ProxyId: new(p.ID), ProxyName: new(p.Name), ListenerList: listeners})
			}
			out = append(out, info)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeGroupAndStatisticsProxyResponse{GroupSet: out, TotalCount: new(int64(len(out)))}, nil
}

// DescribeProxyAndStatisticsListeners lists the independent proxies of a
// project (-1 = all) with their listeners; grouped proxies are reported
// by DescribeGroupAndStatisticsProxy.
func (s *Service) DescribeProxyAndStatisticsListeners(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeProxyAndStatisticsListenersRequest) (*gaapapi.DescribeProxyAndStatisticsListenersResponse, error) {
	q, err := projectQuery(req.ProjectId)
	if err != nil {
		return nil, err
	}
	out := []gaapapi.ProxySimpleInfo{}
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		proxies, _, err := resource.List[model.Proxy](tx, q)
		if err != nil {
			return err
		}
		for _, p := range proxies {
			if p.GroupID != "" {
				continue
			}
			listeners, err := listenerInfos(tx, p.ID)
			if err != nil {
				return err
			}
			out = append(out, gaapapi.ProxySimpleInfo{ProxyId: new(p.ID), ProxyName: new(p.Name), ListenerList: listeners})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeProxyAndStatisticsListenersResponse{ProxySet: out, TotalCount: new(int64(len(out)))}, nil
}

// projectQuery selects one project, or every project for -1 (or none
// given). Any other negative value is refused, not read as a project
// that has nothing in it.
func projectQuery(project *int64) (store.Query, error) {
	var q store.Query
	switch p := cloudapi.ValueOr(project, -1); {
	case p >= 0:
		q.Project = &p
	case p != -1:
		return q, cloudapi.Invalid("ProjectId", "%d is neither -1 (all projects) nor a project ID", p)
	}
	return q, nil
}

func listenerInfos(tx *resource.Tx, owner string) ([]gaapapi.ListenerInfo, error) {
	listeners, err := resource.Children[model.Listener](tx, owner)
	out := make([]gaapapi.ListenerInfo, 0, len(listeners))
	for _, l := range listeners {
		out = append(out, gaapapi.ListenerInfo{ListenerId: new(l.ID), ListenerName: new(l.Name), Port: new(l.Port), Protocol: new(l.Protocol)})
	}
	return out, err
}
