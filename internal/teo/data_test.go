package teo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/controller"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/seal"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
	"github.com/opengaap/opengaap/internal/teo"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
	"github.com/opengaap/opengaap/internal/vip"
	"github.com/opengaap/opengaap/internal/xtest"
)

// fixture is a teo service on a fresh SQLite store, called in process, with
// a zone, a proxy and a rule using an origin group.
type fixture struct {
	svc                      *teo.Service
	st                       store.Store
	call                     *cloudapi.Call
	zone, proxy, rule, group string
}

// newService returns a teo service on a fresh SQLite store with access
// IPs from cidr, and a call of one account.
func newService(t *testing.T, cidr string) (*teo.Service, store.Store, *cloudapi.Call) {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pool, err := vip.New(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return teo.New(st, pool, model.Capabilities{PrivateOrigins: true}, newSealer(t, st), slog.New(slog.NewTextHandler(io.Discard, nil))), st,
		&cloudapi.Call{Account: &cloudapi.Account{Uin: "100", AppID: 1250000000}, RequestID: "req", Time: time.Now()}
}

// newSealer returns a sealer for st with a new key, as a first start
// makes one.
func newSealer(t *testing.T, st store.Store) *seal.Sealer {
	t.Helper()
	s, err := seal.Load(t.Context(), st, filepath.Join(t.TempDir(), "certificate-keys.key"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{}
	f.svc, f.st, f.call = newService(t, xtest.NextVIPPool())
	z, err := f.svc.CreateZone(ctx, f.call, &teoapi.CreateZoneRequest{Type: new("noDomainAccess")})
	must(t, err)
	f.zone = *z.ZoneId
	g, err := f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Type: new("GENERAL"),
		Records: []teoapi.OriginRecord{{Record: new("8.8.8.8")}, {Record: new("8.8.4.4")}}})
	must(t, err)
	f.group = *g.OriginGroupId
	p, err := f.svc.CreateL4Proxy(ctx, f.call, &teoapi.CreateL4ProxyRequest{ZoneId: new(f.zone), ProxyName: new("p1"), Area: new("overseas")})
	must(t, err)
	f.proxy = *p.ProxyId
	r, err := f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
		L4ProxyRules: []teoapi.L4ProxyRule{{Protocol: new("TCP"), PortRange: []string{"80"}, OriginType: new("ORIGIN_GROUP"),
			OriginValue: []string{f.group}, OriginPortRange: new("8080")}}})
	must(t, err)
	f.rule = r.L4ProxyRuleIds[0]
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestTimingL4DataReadsSeries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	t0 := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	must(t, f.st.Stats().Write(ctx, []store.Point{
		{Object: f.proxy, Metric: "l4Flow_flux", Granularity: 3600, Time: t0, Value: 100},
		{Object: f.proxy, Metric: "l4Flow_flux", Granularity: 3600, Time: t0.Add(time.Hour), Value: 300},
		{Object: f.rule, Metric: "l4Flow_flux", Granularity: 3600, Time: t0, Value: 40},
		{Object: f.proxy, Metric: "l4Flow_newConnectionsRate", Granularity: 3600, Time: t0, Value: 1.256},
	}))
	req := func(filters ...teoapi.QueryCondition) *teoapi.DescribeTimingL4DataRequest {
		return &teoapi.DescribeTimingL4DataRequest{ZoneIds: []string{f.zone}, Interval: new("hour"),
			StartTime: new("2025-10-01T08:00:00+08:00"), EndTime: new("2025-10-01T10:00:00+08:00"),
			MetricNames: []string{"l4Flow_flux", "l4Flow_newConnectionsRate"}, Filters: filters}
	}
	resp, err := f.svc.DescribeTimingL4Data(ctx, f.call, req())
	must(t, err)
	v := resp.Data[0].TypeValue[0]
	// Avg over the buckets with data, as the reference's example averages
	// Detail 15, 17, 0 to 16: the third bucket has none.
	if *resp.Data[0].TypeKey != "1250000000" || len(v.Detail) != 3 || *v.Sum != 400 || *v.Max != 300 || *v.Avg != 200 {
		t.Fatalf("proxy flux = key %s, %d points, sum %d, max %d, avg %d; want key 1250000000, 3 points, 400, 300, 200",
			*resp.Data[0].TypeKey, len(v.Detail), *v.Sum, *v.Max, *v.Avg)
	}
	if fv := resp.Data[0].FloatTypeValue[0]; *fv.Detail[0].Value != 1.26 {
		t.Fatalf("rate = %v; want 1.26 (two decimals)", *fv.Detail[0].Value)
	}
	resp, err = f.svc.DescribeTimingL4Data(ctx, f.call, req(teoapi.QueryCondition{Key: new("ruleId"), Operator: new("equals"), Value: []string{f.rule}}))
	must(t, err)
	if got := *resp.Data[0].TypeValue[0].Sum; got != 40 {
		t.Fatalf("rule flux sum = %d; want 40", got)
	}
	// Every QueryCondition operator applies to the IDs as strings.
	for _, c := range []struct {
		op, value string
		want      int64
	}{
		{"startWith", f.rule[:6], 40}, {"include", f.rule[3:8], 40}, {"endWith", f.rule[len(f.rule)-3:], 40},
		{"notStartWith", f.rule[:6], 0}, {"notInclude", f.rule[3:8], 0}, {"notEndWith", "zzz", 40},
	} {
		resp, err = f.svc.DescribeTimingL4Data(ctx, f.call, req(teoapi.QueryCondition{Key: new("ruleId"), Operator: new(c.op), Value: []string{c.value}}))
		must(t, err)
		if got := *resp.Data[0].TypeValue[0].Sum; got != c.want {
			t.Errorf("ruleId %s %q: flux sum = %d; want %d", c.op, c.value, got, c.want)
		}
	}
	_, err = f.svc.DescribeTimingL4Data(ctx, f.call, req(teoapi.QueryCondition{Key: new("ruleId"), Operator: new("like"), Value: []string{"x"}}))
	if !apierr.Is(err, apierr.InvalidParameterValue) {
		t.Errorf("operator like: %v; want InvalidParameterValue", err)
	}
	// ProxyIds selects instances: naming one twice counts it once.
	twice := req()
	twice.ProxyIds = []string{f.proxy, f.proxy}
	resp, err = f.svc.DescribeTimingL4Data(ctx, f.call, twice)
	must(t, err)
	if got := *resp.Data[0].TypeValue[0].Sum; got != 400 {
		t.Fatalf("ProxyIds [%s %s]: flux sum = %d; want 400, the proxy's own", f.proxy, f.proxy, got)
	}
	// A metric named twice is answered once: an answer's size follows
	// what was asked, not how often.
	repeated := req()
	repeated.MetricNames = []string{"l4Flow_flux", "l4Flow_flux", "l4Flow_newConnectionsRate", "l4Flow_flux"}
	resp, err = f.svc.DescribeTimingL4Data(ctx, f.call, repeated)
	must(t, err)
	if n, fn := len(resp.Data[0].TypeValue), len(resp.Data[0].FloatTypeValue); n != 1 || fn != 1 {
		t.Fatalf("MetricNames %v: %d integer and %d float series; want 1 and 1", repeated.MetricNames, n, fn)
	}
	// Points before 1970 would have negative Unix times, which the SDKs
	// read as unsigned.
	early := req()
	early.StartTime, early.EndTime = new("1969-12-31T20:00:00+00:00"), new("1970-01-01T02:00:00+00:00")
	if _, err = f.svc.DescribeTimingL4Data(ctx, f.call, early); !apierr.Is(err, apierr.InvalidParameterValue) {
		t.Errorf("StartTime before 1970: %v; want InvalidParameterValue", err)
	}
}

// TestDescribeOriginGroupWithoutZone: the spec's ZoneId is optional (its
// text says required), and Terraform's provider reads a group by its ID
// alone: without ZoneId every zone of the caller is searched, with the
// group's own zone in its references.
func TestDescribeOriginGroupWithoutZone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	z2, err := f.svc.CreateZone(ctx, f.call, &teoapi.CreateZoneRequest{Type: new("noDomainAccess")})
	must(t, err)
	_, err = f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: z2.ZoneId, Type: new("GENERAL"),
		Records: []teoapi.OriginRecord{{Record: new("9.9.9.9")}}})
	must(t, err)
	all, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{})
	must(t, err)
	if *all.TotalCount != 2 {
		t.Errorf("DescribeOriginGroup without ZoneId: %d groups; want both zones' 2", *all.TotalCount)
	}
	byID, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{
		Filters: []teoapi.AdvancedFilter{{Name: new("origin-group-id"), Values: []string{f.group}}}})
	must(t, err)
	if len(byID.OriginGroups) != 1 || *byID.OriginGroups[0].GroupId != f.group || len(byID.OriginGroups[0].References) != 1 ||
		*byID.OriginGroups[0].References[0].ZoneId != f.zone {
		t.Errorf("DescribeOriginGroup by ID without ZoneId = %+v; want %s with its proxy in zone %s", byID.OriginGroups, f.group, f.zone)
	}
}

func TestOriginGroupHealthFromSeries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	groups, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone)})
	must(t, err)
	recs := groups.OriginGroups[0].Records
	if refs := groups.OriginGroups[0].References; len(refs) != 1 || *refs[0].InstanceId != f.proxy {
		t.Fatalf("references = %v; want the proxy %s", refs, f.proxy)
	}
	now := f.call.Time.Truncate(time.Minute)
	must(t, f.st.Stats().Write(ctx, []store.Point{
		{Object: model.TeoOriginHealthObject(f.group, *recs[0].RecordId), Metric: model.TeoOriginHealthMetric, Granularity: 60, Time: now, Value: 0},
	}))
	resp, err := f.svc.DescribeOriginGroupHealthStatus(ctx, f.call, &teoapi.DescribeOriginGroupHealthStatusRequest{ZoneId: new(f.zone), LBInstanceId: new("lb-none")})
	must(t, err)
	got := resp.OriginGroupHealthStatusList[0].OriginHealthStatus
	if *got[0].Healthy != "Unhealthy" || *got[1].Healthy != "Undetected" {
		t.Fatalf("health = %s, %s; want Unhealthy, Undetected", *got[0].Healthy, *got[1].Healthy)
	}
}

// TestOriginGroupInUse checks that the rules using a group (found across
// the zone's proxies) keep it from being deleted or leaving GENERAL.
func TestOriginGroupInUse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.DeleteOriginGroup(ctx, f.call, &teoapi.DeleteOriginGroupRequest{ZoneId: new(f.zone), GroupId: new(f.group)})
	if !apierr.Is(err, "OperationDenied.OriginGroupL4Used") || !strings.Contains(apierr.From(err).Msg, f.rule) {
		t.Fatalf("DeleteOriginGroup of a used group: %v; want OperationDenied.OriginGroupL4Used naming %s", err, f.rule)
	}
	_, err = f.svc.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: new(f.group), Type: new("HTTP")})
	if !apierr.Is(err, "OperationDenied.OriginGroupL4Used") {
		t.Fatalf("ModifyOriginGroup to HTTP of a used group: %v; want OperationDenied.OriginGroupL4Used", err)
	}
	groups, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone)})
	must(t, err)
	if len(groups.OriginGroups) != 1 || *groups.OriginGroups[0].Type != "GENERAL" {
		t.Fatalf("groups after refused changes = %d, first of type %v; want the one GENERAL group", len(groups.OriginGroups), groups.OriginGroups[0].Type)
	}
	_, err = f.svc.DeleteL4ProxyRules(ctx, f.call, &teoapi.DeleteL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy), RuleIds: []string{f.rule}})
	must(t, err)
	_, err = f.svc.DeleteOriginGroup(ctx, f.call, &teoapi.DeleteOriginGroupRequest{ZoneId: new(f.zone), GroupId: new(f.group)})
	must(t, err)
}

// TestOriginGroupReferencesEachProxyOnce checks References lists every
// proxy with a rule using the group, once each, in proxy order.
func TestOriginGroupReferencesEachProxyOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	later := *f.call // A later call: proxy order is creation order.
	later.Time = later.Time.Add(time.Second)
	p2, err := f.svc.CreateL4Proxy(ctx, &later, &teoapi.CreateL4ProxyRequest{ZoneId: new(f.zone), ProxyName: new("p2"), Area: new("overseas")})
	must(t, err)
	for _, target := range []string{*p2.ProxyId, f.proxy} {
		_, err := f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(target),
			L4ProxyRules: []teoapi.L4ProxyRule{{Protocol: new("UDP"), PortRange: []string{"53"}, OriginType: new("ORIGIN_GROUP"),
				OriginValue: []string{f.group}, OriginPortRange: new("5353")}}})
		must(t, err)
	}
	groups, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone)})
	must(t, err)
	refs := groups.OriginGroups[0].References
	if len(refs) != 2 || *refs[0].InstanceId != f.proxy || *refs[1].InstanceId != *p2.ProxyId || *refs[1].InstanceName != "p2" {
		var got []string
		for _, r := range refs {
			got = append(got, *r.InstanceId)
		}
		t.Fatalf("references = %v; want [%s %s]", got, f.proxy, *p2.ProxyId)
	}
}

// TestL4ProxyPoolAndRuleLimits: a proxy that finds the access IP pool
// empty is refused with the seed's L4LackOfResources; rules need an
// existing proxy; 200 rules in one request are accepted (201 are not:
// test/node).
func TestL4ProxyPoolAndRuleLimits(t *testing.T) {
	ctx := context.Background()
	svc, _, call := newService(t, "127.66.77.88/30") // Two addresses.
	call.Account.AccessIPQuota = cloudapi.NoQuota    // The pool, not the account's share, runs out.
	z, err := svc.CreateZone(ctx, call, &teoapi.CreateZoneRequest{Type: new("noDomainAccess")})
	must(t, err)
	var proxy string
	for i := range 3 {
		p, err := svc.CreateL4Proxy(ctx, call, &teoapi.CreateL4ProxyRequest{ZoneId: z.ZoneId, ProxyName: new(fmt.Sprintf("p%d", i)), Area: new("overseas")})
		if i < 2 {
			must(t, err)
			proxy = *p.ProxyId
			continue
		}
		if !apierr.Is(err, apierr.OperationDeniedL4LackOfResources) {
			t.Errorf("third proxy on a two-address pool: %v; want OperationDenied.L4LackOfResources", err)
		}
	}

	rule := func(port int) teoapi.L4ProxyRule {
		return teoapi.L4ProxyRule{Protocol: new("TCP"), PortRange: []string{strconv.Itoa(port)}, OriginType: new("IP_DOMAIN"),
			OriginValue: []string{"8.8.8.8"}, OriginPortRange: new("80")}
	}
	_, err = svc.CreateL4ProxyRules(ctx, call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: z.ZoneId, ProxyId: new("sid-000000000000"),
		L4ProxyRules: []teoapi.L4ProxyRule{rule(80)}})
	if !apierr.Is(err, apierr.ResourceNotFound) {
		t.Errorf("rules of an unknown proxy: %v; want ResourceNotFound", err)
	}
	many := make([]teoapi.L4ProxyRule, 200)
	for i := range many {
		many[i] = rule(1000 + i)
	}
	r, err := svc.CreateL4ProxyRules(ctx, call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: z.ZoneId, ProxyId: new(proxy), L4ProxyRules: many})
	must(t, err)
	if len(r.L4ProxyRuleIds) != 200 {
		t.Errorf("%d rule IDs; want 200", len(r.L4ProxyRuleIds))
	}
	d, err := svc.DescribeL4ProxyRules(ctx, call, &teoapi.DescribeL4ProxyRulesRequest{ZoneId: z.ZoneId, ProxyId: new(proxy), Limit: new(int64(1000))})
	must(t, err)
	if d.TotalCount == nil || *d.TotalCount != 200 {
		t.Errorf("DescribeL4ProxyRules TotalCount %v; want the 200 rules stored", d.TotalCount)
	}
}

// TestL4ProxyPortsBounded: the rules of one proxy listen on at most
// model.TeoMaxProxyPorts ports together, TCP and UDP, offline rules
// included; CreateL4ProxyRules and ModifyL4ProxyRules past it answer
// LimitExceeded.ProxyRulesLimitExceeded, and the proxy keeps its rules.
func TestL4ProxyPortsBounded(t *testing.T) {
	f := newFixture(t) // One rule of one port.
	ctx := context.Background()
	span := func(from int) []string {
		return []string{fmt.Sprintf("%d-%d", from, from+model.TeoMaxRulePorts-1)}
	}
	rule := func(proto string, ports []string) teoapi.L4ProxyRule {
		return teoapi.L4ProxyRule{Protocol: new(proto), PortRange: ports, OriginType: new("IP_DOMAIN"),
			OriginValue: []string{"8.8.8.8"}, OriginPortRange: new("53")}
	}
	create := func(rs ...teoapi.L4ProxyRule) ([]string, error) {
		r, err := f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy), L4ProxyRules: rs})
		if err != nil {
			return nil, err
		}
		return r.L4ProxyRuleIds, nil
	}
	ids, err := create(rule("TCP", span(20000)), rule("UDP", []string{fmt.Sprintf("20000-%d", 20000+model.TeoMaxRulePorts-2)}))
	must(t, err) // 1 + 2048 + 2047 ports: the cap, exactly.
	_, err = f.svc.ModifyL4ProxyRulesStatus(ctx, f.call, &teoapi.ModifyL4ProxyRulesStatusRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
		RuleIds: ids[1:], Status: new("offline")})
	must(t, err)
	if _, err := create(rule("UDP", []string{"30000"})); !apierr.Is(err, apierr.LimitExceededProxyRulesLimitExceeded) {
		t.Errorf("one port past %d (an offline rule's counted): %v; want LimitExceeded.ProxyRulesLimitExceeded", model.TeoMaxProxyPorts, err)
	} else if !strings.Contains(err.Error(), strconv.Itoa(model.TeoMaxProxyPorts)) {
		t.Errorf("message %q does not name the cap %d", err, model.TeoMaxProxyPorts)
	}
	_, err = f.svc.ModifyL4ProxyRules(ctx, f.call, &teoapi.ModifyL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
		L4ProxyRules: []teoapi.L4ProxyRule{{RuleId: new(f.rule), PortRange: []string{"80-81"}}}})
	if !apierr.Is(err, apierr.LimitExceededProxyRulesLimitExceeded) {
		t.Errorf("modify one port to two past %d: %v; want LimitExceeded.ProxyRulesLimitExceeded", model.TeoMaxProxyPorts, err)
	}
	d, err := f.svc.DescribeL4ProxyRules(ctx, f.call, &teoapi.DescribeL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy)})
	must(t, err)
	if *d.TotalCount != 3 {
		t.Errorf("%d rules; want the 3 accepted", *d.TotalCount)
	}
}

// TestRuleOriginValueAsSpelled: DescribeL4ProxyRules answers OriginValue as
// the caller spelled it (Terraform compares exactly: a normalised answer
// was a change on every plan), while origins are still compared
// normalised (one origin listed twice is refused) and the data plane gets
// the normal form (OriginHost).
func TestRuleOriginValueAsSpelled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	create := func(port string, origins ...string) (*teoapi.CreateL4ProxyRulesResponse, error) {
		return f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
			L4ProxyRules: []teoapi.L4ProxyRule{{Protocol: new("TCP"), PortRange: []string{port}, OriginType: new("IP_DOMAIN"),
				OriginValue: origins, OriginPortRange: new("8080")}}})
	}
	for port, spelled := range map[string][]string{"81": {"Origin.Example.COM."}, "82": {"2001:DB8::1", "::FFFF:8.8.8.8"}} {
		r, err := create(port, spelled...)
		must(t, err)
		d, err := f.svc.DescribeL4ProxyRules(ctx, f.call, &teoapi.DescribeL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
			Filters: []teoapi.Filter{{Name: new("rule-id"), Values: []string{r.L4ProxyRuleIds[0]}}}})
		must(t, err)
		if len(d.L4ProxyRules) != 1 || !slices.Equal(d.L4ProxyRules[0].OriginValue, spelled) {
			t.Errorf("OriginValue %v: Describe answers %+v; want it as spelled", spelled, d.L4ProxyRules)
		}
	}
	if _, err := create("83", "8.8.8.8", "::ffff:8.8.8.8"); !apierr.Is(err, apierr.InvalidParameterInvalidOriginValue) {
		t.Errorf("one origin spelled two ways: %v; want InvalidParameter.InvalidOriginValue", err)
	}
	st, err := controller.Load(ctx, f.st)
	must(t, err)
	hosts := map[string]bool{}
	for _, p := range controller.Compile(st, controller.Settings{}).Proxies {
		for _, l := range p.Listeners {
			for _, o := range l.Origins {
				hosts[o.Host] = true
			}
		}
	}
	for _, want := range []string{"origin.example.com", "2001:db8::1", "8.8.8.8"} {
		if !hosts[want] {
			t.Errorf("the data plane's origins %v lack the normal form %s", slices.Sorted(maps.Keys(hosts)), want)
		}
	}
	for _, spelled := range []string{"Origin.Example.COM.", "2001:DB8::1", "::FFFF:8.8.8.8"} {
		if hosts[spelled] {
			t.Errorf("the data plane's origins %v hold %s as spelled; want its normal form", slices.Sorted(maps.Keys(hosts)), spelled)
		}
	}
}

// TestOriginGroupRecordAsSpelled: DescribeOriginGroup answers a record
// as the caller spelled it, as rules answer OriginValue (Terraform's
// tencentcloud_teo_origin_group compares records exactly), while the data
// plane gets the normal form and a record sent back spelled otherwise
// keeps its RecordId.
func TestOriginGroupRecordAsSpelled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	describe := func(group string) teoapi.OriginRecord {
		d, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone),
			Filters: []teoapi.AdvancedFilter{{Name: new("origin-group-id"), Values: []string{group}}}})
		must(t, err)
		return d.OriginGroups[0].Records[0]
	}
	for _, spelled := range []string{"Origin.Example.COM.", "2001:DB8::1", "::ffff:8.8.8.9"} {
		g, err := f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Type: new("GENERAL"),
			Records: []teoapi.OriginRecord{{Record: new(spelled), Type: new("IP_DOMAIN")}}})
		must(t, err)
		before := describe(*g.OriginGroupId)
		if *before.Record != spelled {
			t.Errorf("Record %q: DescribeOriginGroup answers %q; want it as spelled", spelled, *before.Record)
		}
		again := strings.ToLower(strings.TrimSuffix(spelled, "."))
		_, err = f.svc.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: g.OriginGroupId,
			Records: []teoapi.OriginRecord{{Record: new(again), Type: new("IP_DOMAIN")}}})
		must(t, err)
		if after := describe(*g.OriginGroupId); *after.Record != again || *after.RecordId != *before.RecordId {
			t.Errorf("Record %q sent again as %q: %q, RecordId %s; want %q and its RecordId %s", spelled, again, *after.Record, *after.RecordId, again, *before.RecordId)
		}
	}
	st, err := controller.Load(ctx, f.st)
	must(t, err)
	for _, g := range st.Objects[model.KindTeoOriginGroup] {
		for _, r := range g.(*model.TeoOriginGroup).Records {
			if want := map[string]string{"origin.example.com": "origin.example.com", "2001:db8::1": "2001:db8::1", "::ffff:8.8.8.9": "8.8.8.9"}[r.Record]; want != "" && r.Addr() != want {
				t.Errorf("record %q goes to the data plane as %q; want %q", r.Record, r.Addr(), want)
			}
		}
	}
}

// TestOriginGroupRecordIDsUnique: no two records of a group share a
// RecordId, and an address appears once. CreateOriginGroup ignores the
// RecordIds sent (there is nothing yet for them to name); ModifyOriginGroup
// keeps a record's ID when it is sent back with it (once) or with its
// address, unless another record claimed that ID.
func TestOriginGroupRecordIDsUnique(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rec := func(addr, id string) teoapi.OriginRecord {
		r := teoapi.OriginRecord{Record: new(addr)}
		if id != "" {
			r.RecordId = new(id)
		}
		return r
	}
	ids := func(group string) []string {
		t.Helper()
		d, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone),
			Filters: []teoapi.AdvancedFilter{{Name: new("origin-group-id"), Values: []string{group}}}})
		must(t, err)
		var out []string
		for _, r := range d.OriginGroups[0].Records {
			out = append(out, *r.RecordId)
		}
		return out
	}
	g, err := f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Type: new("GENERAL"),
		Records: []teoapi.OriginRecord{rec("8.8.8.8", "x"), rec("1.1.1.1", "x")}})
	must(t, err)
	created := ids(*g.OriginGroupId)
	if len(created) != 2 || created[0] == created[1] || !strings.HasPrefix(created[0], model.PrefixTeoRecord+"-") {
		t.Errorf("CreateOriginGroup with RecordId x twice: RecordIds %v; want two distinct IDs of the service's", created)
	}

	old := ids(f.group) // 8.8.8.8, 8.8.4.4
	refused := []struct {
		name    string
		records []teoapi.OriginRecord
	}{
		{"address twice", []teoapi.OriginRecord{rec("8.8.8.8", ""), rec("8.8.8.8", "")}},
		{"address and its mapped form", []teoapi.OriginRecord{rec("8.8.8.8", ""), rec("::ffff:8.8.8.8", "")}},
		{"RecordId twice", []teoapi.OriginRecord{rec("1.1.1.1", old[0]), rec("9.9.9.9", old[0])}},
		{"unknown RecordId", []teoapi.OriginRecord{rec("1.1.1.1", "record-00000000-0000-0000-0000-000000000000")}},
	}
	for _, tc := range refused {
		_, err := f.svc.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: new(f.group), Records: tc.records})
		if !apierr.Is(err, apierr.InvalidParameterValue) {
			t.Errorf("ModifyOriginGroup, %s: %v; want InvalidParameterValue", tc.name, err)
		}
	}
	_, err = f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Type: new("GENERAL"),
		Records: []teoapi.OriginRecord{rec("8.8.8.8", ""), rec("8.8.8.8", "")}})
	if !apierr.Is(err, apierr.InvalidParameterValue) {
		t.Errorf("CreateOriginGroup with an address twice: %v; want InvalidParameterValue", err)
	}

	// 8.8.8.8's ID is claimed by the record sent with it, so the record at
	// 8.8.8.8 gets a new one; 8.8.4.4 keeps its own by address.
	_, err = f.svc.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: new(f.group),
		Records: []teoapi.OriginRecord{rec("8.8.8.8", ""), rec("9.9.9.9", old[0]), rec("8.8.4.4", "")}})
	must(t, err)
	got := ids(f.group)
	if got[0] == old[0] || got[0] == old[1] || got[1] != old[0] || got[2] != old[1] {
		t.Errorf("RecordIds after modify = %v; want [new %s %s] (before: %v)", got, old[0], old[1], old)
	}
}

// TestRuleRefusesNonUnicastOrigins: OriginValue of an IP_DOMAIN
// rule names origin servers ("填写 IP 或域名", bad ones are
// InvalidParameter.InvalidOriginValue, docs/api-teo.md). The unspecified
// address, multicast groups and the limited broadcast address are no
// origin a proxy can connect to (TCP) or should send client datagrams to
// (UDP: multicast fan-out), whether private origins are allowed or not.
func TestRuleRefusesNonUnicastOrigins(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i, bad := range []string{"0.0.0.0", "224.0.0.1", "239.1.2.3", "255.255.255.255", "::", "ff02::1"} {
		_, err := f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
			L4ProxyRules: []teoapi.L4ProxyRule{{Protocol: new("UDP"), PortRange: []string{strconv.Itoa(2000 + i)}, OriginType: new("IP_DOMAIN"),
				OriginValue: []string{bad}, OriginPortRange: new("53")}}})
		if !apierr.Is(err, apierr.InvalidParameterInvalidOriginValue) {
			t.Errorf("UDP rule with origin %s: %v; want InvalidParameter.InvalidOriginValue", bad, err)
		}
	}
}

// TestModifyOriginGroupHostHeaderLeftOut: ModifyOriginGroup's HostHeader
// is "不填或者填空表示不配置回源Host" (left out or empty: no origin Host),
// unlike its other members ("不填保持原有配置", left out keeps the value).
// A ModifyOriginGroup without HostHeader clears an HTTP group's Host
// header; one that sends it sets it.
func TestModifyOriginGroupHostHeaderLeftOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g, err := f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Type: new("HTTP"),
		HostHeader: new("origin.example.com"), Records: []teoapi.OriginRecord{{Record: new("8.8.8.8")}}})
	must(t, err)
	host := func() string {
		t.Helper()
		d, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone),
			Filters: []teoapi.AdvancedFilter{{Name: new("origin-group-id"), Values: []string{*g.OriginGroupId}}}})
		must(t, err)
		return *d.OriginGroups[0].HostHeader
	}
	if h := host(); h != "origin.example.com" {
		t.Fatalf("HostHeader after CreateOriginGroup = %q; want origin.example.com", h)
	}
	_, err = f.svc.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: g.OriginGroupId,
		HostHeader: new("other.example.com")})
	must(t, err)
	if h := host(); h != "other.example.com" {
		t.Fatalf("HostHeader after ModifyOriginGroup with it = %q; want other.example.com", h)
	}
	_, err = f.svc.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: g.OriginGroupId,
		Records: []teoapi.OriginRecord{{Record: new("1.1.1.1")}}})
	must(t, err)
	if h := host(); h != "" {
		t.Fatalf("HostHeader after ModifyOriginGroup without it = %q; want \"\" (不填或者填空表示不配置回源Host)", h)
	}
}

// TestDescribeOriginGroupLimitRange: DescribeOriginGroup's Limit is
// "不填默认为20，取值：1-1000". A Limit outside 1-1000 (0 included) is
// refused with InvalidParameterValue rather than answered with an empty
// page whose TotalCount still counts the groups; left out, it is 20.
func TestDescribeOriginGroupLimitRange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, limit := range []int64{0, 1001} {
		resp, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone), Limit: new(limit)})
		if !apierr.Is(err, apierr.InvalidParameterValue) {
			t.Fatalf("DescribeOriginGroup Limit %d: %v (response %+v); want InvalidParameterValue (取值 1-1000)", limit, err, resp)
		}
	}
	for _, limit := range []*int64{nil, new(int64(1)), new(int64(1000))} {
		resp, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone), Limit: limit})
		must(t, err)
		if len(resp.OriginGroups) != 1 {
			t.Fatalf("DescribeOriginGroup Limit %v: %d groups; want the zone's one", cloudapi.Value(limit), len(resp.OriginGroups))
		}
	}
}

// TestDescribeZonesTypeDetail: a zone answers the detail object of its
// access type, which the reference returns for that type only and never as
// null (CNAMEDetail "仅当 Type = partial 时返回值", NSDetail for full,
// DNSPodDetail for dnsPodAccess): the top-level IsFake, CnameSpeedUp and
// name server fields are legacy ("请根据站点类型参考对应字段"), so clients
// read zone.CNAMEDetail.IsFake and the like.
func TestDescribeZonesTypeDetail(t *testing.T) {
	svc, _, call := newService(t, xtest.NextVIPPool())
	ctx := context.Background()
	for _, typ := range []string{"partial", "full", "dnsPodAccess", "noDomainAccess"} {
		req := &teoapi.CreateZoneRequest{Type: new(typ)}
		if typ != "noDomainAccess" {
			req.ZoneName = new(strings.ToLower(typ) + ".example.com")
		}
		z, err := svc.CreateZone(ctx, call, req)
		must(t, err)
		resp, err := svc.DescribeZones(ctx, call, &teoapi.DescribeZonesRequest{
			Filters: []teoapi.AdvancedFilter{{Name: new("zone-id"), Values: []string{*z.ZoneId}}}})
		must(t, err)
		zone := resp.Zones[0]
		cname, ns, dnspod := zone.CNAMEDetail != nil, zone.NSDetail != nil, zone.DNSPodDetail != nil
		if cname != (typ == "partial") || ns != (typ == "full") || dnspod != (typ == "dnsPodAccess") {
			t.Errorf("%s zone: CNAMEDetail %v, NSDetail %v, DNSPodDetail %v; want only the one of its type", typ, cname, ns, dnspod)
		}
		switch {
		case cname && (zone.CNAMEDetail.IsFake == nil || *zone.CNAMEDetail.IsFake != 0):
			t.Errorf("partial zone: CNAMEDetail %+v; want IsFake 0", zone.CNAMEDetail)
		case ns && (cloudapi.Value(zone.NSDetail.IsFake) != 0 || cloudapi.Value(zone.NSDetail.CnameSpeedUp) != "disabled" ||
			zone.NSDetail.NameServers == nil || zone.NSDetail.OriginalNameServers == nil || zone.NSDetail.VanityNameServersIps == nil ||
			zone.NSDetail.VanityNameServers == nil || cloudapi.Value(zone.NSDetail.VanityNameServers.Switch) != "off" ||
			zone.NSDetail.VanityNameServers.Servers == nil):
			t.Errorf("full zone: NSDetail %+v; want IsFake 0, CnameSpeedUp disabled, empty lists, vanity name servers off", zone.NSDetail)
		case dnspod && (zone.DNSPodDetail.IsFake == nil || *zone.DNSPodDetail.IsFake != 0):
			t.Errorf("dnsPodAccess zone: DNSPodDetail %+v; want IsFake 0", zone.DNSPodDetail)
		}
	}
}

// TestCreateZoneWithoutName: a zone of a type that needs a name (partial,
// the default) created without one is missing ZoneName, not refused for
// an empty name the caller never sent.
func TestCreateZoneWithoutName(t *testing.T) {
	svc, _, call := newService(t, xtest.NextVIPPool())
	for _, req := range []*teoapi.CreateZoneRequest{{}, {Type: new("full")}} {
		if _, err := svc.CreateZone(context.Background(), call, req); !apierr.Is(err, apierr.MissingParameter) ||
			!strings.Contains(apierr.From(err).Msg, "ZoneName") {
			t.Errorf("CreateZone of type %q without ZoneName: %v; want MissingParameter naming ZoneName", cloudapi.Value(req.Type), err)
		}
	}
}

// TestDescribeZonesFuzzyOnlyNames: DescribeZones matches fuzzily only on
// zone-name and alias-zone-name ("模糊查询时支持过滤字段名为 zone-name 或
// alias-zone-name"); on any other filter Fuzzy is ignored, so a zone-id
// filter names zones exactly and "zone" matches none. DescribeOriginGroup
// likewise matches fuzzily on origin-group-name only (origin-group-id:
// "不支持模糊查询").
func TestDescribeZonesFuzzyOnlyNames(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.CreateZone(ctx, f.call, &teoapi.CreateZoneRequest{ZoneName: new("fuzzy-example.com"), AliasZoneName: new("fuzzyalias")})
	must(t, err)
	count := func(name, value string) int {
		t.Helper()
		resp, err := f.svc.DescribeZones(ctx, f.call, &teoapi.DescribeZonesRequest{
			Filters: []teoapi.AdvancedFilter{{Name: new(name), Values: []string{value}, Fuzzy: new(true)}}})
		must(t, err)
		return len(resp.Zones)
	}
	for _, c := range []struct {
		name, value string
		want        int
	}{
		{"zone-id", "zone", 0}, {"zone-id", f.zone, 1}, {"zone-type", "partial", 1}, {"status", "act", 0},
		{"zone-name", "fuzzy-ex", 1}, {"alias-zone-name", "alias", 1},
	} {
		if got := count(c.name, c.value); got != c.want {
			t.Errorf("DescribeZones %s %q with Fuzzy: %d zones; want %d (fuzzy applies to zone-name and alias-zone-name only)",
				c.name, c.value, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		want int
	}{{"origin-group-id", 0}, {"origin-group-name", 1}} {
		resp, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone),
			Filters: []teoapi.AdvancedFilter{{Name: new(c.name), Values: []string{f.group[:12]}, Fuzzy: new(true)}}})
		must(t, err)
		if len(resp.OriginGroups) != c.want {
			t.Errorf("DescribeOriginGroup %s %q with Fuzzy: %d groups; want %d (fuzzy applies to origin-group-name only)",
				c.name, f.group[:12], len(resp.OriginGroups), c.want)
		}
	}
}

// TestCreateZoneTagsChecked: a resource holds one value per tag key and
// every key is required (Tencent's tag model, model.CheckTags, which GAAP's
// TagSet and the tag service apply), so CreateZone refuses a key given
// twice or an empty key with InvalidParameterValue (it lists no tag code)
// instead of storing and answering it.
func TestCreateZoneTagsChecked(t *testing.T) {
	svc, _, call := newService(t, xtest.NextVIPPool())
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		tags []teoapi.Tag
	}{
		{"key twice", []teoapi.Tag{{TagKey: new("env"), TagValue: new("prod")}, {TagKey: new("env"), TagValue: new("dev")}}},
		{"empty key", []teoapi.Tag{{TagKey: new(""), TagValue: new("x")}}},
		{"missing key", []teoapi.Tag{{TagValue: new("x")}}},
		{"blank key", []teoapi.Tag{{TagKey: new("   "), TagValue: new("x")}}}, // Trimmed, as GAAP's.
		{"key twice but for a space", []teoapi.Tag{{TagKey: new(" env"), TagValue: new("a")}, {TagKey: new("env"), TagValue: new("b")}}},
	} {
		z, err := svc.CreateZone(ctx, call, &teoapi.CreateZoneRequest{Type: new("noDomainAccess"), Tags: tc.tags})
		if !apierr.Is(err, apierr.InvalidParameterValue) {
			t.Errorf("%s: CreateZone answered %+v, %v; want InvalidParameterValue", tc.name, z, err)
		}
	}
	z, err := svc.CreateZone(ctx, call, &teoapi.CreateZoneRequest{Type: new("noDomainAccess"),
		Tags: []teoapi.Tag{{TagKey: new("env"), TagValue: new("")}, {TagKey: new("team"), TagValue: new("a")}}})
	must(t, err)
	resp, err := svc.DescribeZones(ctx, call, &teoapi.DescribeZonesRequest{Filters: []teoapi.AdvancedFilter{{Name: new("zone-id"), Values: []string{*z.ZoneId}}}})
	must(t, err)
	if got := resp.Zones[0].Tags; len(got) != 2 || *got[0].TagKey != "env" || *got[1].TagKey != "team" {
		t.Errorf("distinct keys, one with an empty value: stored %+v; want both kept", got)
	}
}

// TestOriginFanOutBounded: each port of a rule forwards to every origin of
// the rule, and with an OriginPortRange every (port, record) pair is a
// backend with a health checker of its own on the edge. A group holds at
// most model.TeoMaxGroupRecords records, and a proxy's rules at most
// model.TeoMaxProxyOrigins (port, origin) pairs, whether a rule change or
// new records of a group in use would cross it; the compiled snapshot
// stays within the bound.
func TestOriginFanOutBounded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	recs := func(n int) []teoapi.OriginRecord {
		var out []teoapi.OriginRecord
		for i := range n {
			out = append(out, teoapi.OriginRecord{Record: new(fmt.Sprintf("11.0.%d.%d", i/256, i%256))})
		}
		return out
	}
	group := func(n int) (*teoapi.CreateOriginGroupResponse, error) {
		return f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Type: new("GENERAL"), Records: recs(n)})
	}
	if _, err := group(model.TeoMaxGroupRecords + 1); !apierr.Is(err, apierr.InvalidParameterValue) {
		t.Fatalf("CreateOriginGroup with %d records: %v; want InvalidParameterValue", model.TeoMaxGroupRecords+1, err)
	}
	rule := func(groupID string) error {
		_, err := f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
			L4ProxyRules: []teoapi.L4ProxyRule{{Protocol: new("TCP"), PortRange: []string{"20000-22047"}, OriginType: new("ORIGIN_GROUP"),
				OriginValue: []string{groupID}, OriginPortRange: new("30000-32047")}}})
		return err
	}
	// The fixture's rule holds 2 pairs: 2048 ports × 10 records cross the bound, × 9 do not.
	big, err := group(10)
	must(t, err)
	if err := rule(*big.OriginGroupId); !apierr.Is(err, apierr.LimitExceededProxyRulesLimitExceeded) {
		t.Fatalf("2048-port ranged rule over 10 records: %v; want LimitExceeded.ProxyRulesLimitExceeded", err)
	}
	g, err := group(9)
	must(t, err)
	must(t, rule(*g.OriginGroupId))
	_, err = f.svc.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: g.OriginGroupId, Records: recs(10)})
	if !apierr.Is(err, apierr.LimitExceeded) {
		t.Fatalf("ModifyOriginGroup to 10 records under a 2048-port rule: %v; want LimitExceeded", err)
	}
	// A group not used by the crowded proxy may grow to the cap.
	_, err = f.svc.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: big.OriginGroupId,
		Records: recs(model.TeoMaxGroupRecords)})
	must(t, err)

	st, err := controller.Load(ctx, f.st)
	must(t, err)
	for _, p := range controller.Compile(st, controller.Settings{}).Proxies {
		origins := 0
		for _, l := range p.Listeners {
			origins += len(l.Origins)
		}
		if want := 2048*9 + 2; origins != want {
			t.Errorf("proxy %s compiles to %d (port, origin) pairs; want %d", p.ID, origins, want)
		}
	}
}

// TestDDoSNegativeBandwidth: DDosProtectionConfig.MaxBandwidthMainland is a
// uint64 in the reference. With LevelMainland PLATFORM it went unchecked:
// -7 was stored and DescribeL4Proxy answered it back, which a client
// decoding the documented type cannot decode, the whole list with it.
func TestDDoSNegativeBandwidth(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, err := f.svc.CreateL4Proxy(ctx, f.call, &teoapi.CreateL4ProxyRequest{ZoneId: new(f.zone), ProxyName: new("neg"), Area: new("overseas"),
		DDosProtectionConfig: &teoapi.DDosProtectionConfig{LevelMainland: new("PLATFORM"), MaxBandwidthMainland: new(int64(-7))}})
	if err != nil {
		if !apierr.Is(err, apierr.InvalidParameterValue) && !apierr.Is(err, apierr.InvalidParameter) {
			t.Fatalf("CreateL4Proxy with MaxBandwidthMainland -7: %v; want InvalidParameterValue", err)
		}
		return // refused: correct
	}
	d, err := f.svc.DescribeL4Proxy(ctx, f.call, &teoapi.DescribeL4ProxyRequest{ZoneId: new(f.zone),
		Filters: []teoapi.Filter{{Name: new("proxy-id"), Values: []string{*p.ProxyId}}}})
	must(t, err)
	raw, err := json.Marshal(d)
	must(t, err)
	// What a client holding the documented types decodes.
	var typed struct {
		L4Proxies []struct {
			DDosProtectionConfig *struct{ MaxBandwidthMainland *uint64 }
		}
	}
	if err := json.Unmarshal(raw, &typed); err != nil {
		t.Errorf("CreateL4Proxy accepted MaxBandwidthMainland -7 (a uint64) and DescribeL4Proxy answers it back, which a client of the documented type cannot decode: %v\n%s", err, raw)
	}
}

// TestOriginPortRangeBadRangeCode: a bad OriginPortRange range is
// InvalidParameter.RulePortGroup and only a non-number
// InvalidParameter.RuleOriginPortInteger (docs/api-teo.md), as PortRange's
// are; a reversed or out-of-range origin port answered the latter.
func TestOriginPortRangeBadRangeCode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, origin := range []string{"90-80", "70000", "0"} {
		_, err := f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
			L4ProxyRules: []teoapi.L4ProxyRule{{Protocol: new("TCP"), PortRange: []string{"81"}, OriginType: new("IP_DOMAIN"),
				OriginValue: []string{"8.8.8.8"}, OriginPortRange: new(origin)}}})
		if !apierr.Is(err, apierr.Code("InvalidParameter.RulePortGroup")) {
			t.Errorf("OriginPortRange %q (a number, but a bad range/port): %v; want InvalidParameter.RulePortGroup", origin, err)
		}
	}
}

// TestDescribeL4ProxyLimitZero: DescribeL4Proxy documents Limit as
// DescribeL4ProxyRules does ("默认值：20，最大值：1000"), whose reference
// example takes Limit 0 for the default; DescribeL4Proxy answered it with
// an empty page.
func TestDescribeL4ProxyLimitZero(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rules, err := f.svc.DescribeL4ProxyRules(ctx, f.call, &teoapi.DescribeL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
		Offset: new(int64(0)), Limit: new(int64(0))})
	must(t, err)
	proxies, err := f.svc.DescribeL4Proxy(ctx, f.call, &teoapi.DescribeL4ProxyRequest{ZoneId: new(f.zone), Offset: new(int64(0)), Limit: new(int64(0))})
	must(t, err)
	if len(rules.L4ProxyRules) == 1 && len(proxies.L4Proxies) != 1 {
		t.Errorf("Limit 0: DescribeL4ProxyRules lists %d of %d rules, DescribeL4Proxy %d of %d proxies; the same documented Limit reads two ways",
			len(rules.L4ProxyRules), *rules.TotalCount, len(proxies.L4Proxies), *proxies.TotalCount)
	}
}

// TestL4ProxyDeployingCode: a change of a deploying L4 proxy answers the
// instance code of Tencent's catalogue, L4ProxyInProcessStatus ("实例处于部署
// 中，无法操作"), not L4ProxyInProgressStatus, which is ModifyZoneStatus'
// ("存在四层代理实例处于部署中状态，暂不支持停用站点").
func TestL4ProxyDeployingCode(t *testing.T) {
	f := newFixture(t) // f.proxy is still progress: no controller runs here.
	ctx := context.Background()
	want := apierr.Code("OperationDenied.L4ProxyInProcessStatus")
	_, err := f.svc.DeleteL4Proxy(ctx, f.call, &teoapi.DeleteL4ProxyRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy)})
	if !apierr.Is(err, want) {
		t.Errorf("DeleteL4Proxy of a deploying proxy: %v; want %s", err, want)
	}
	_, err = f.svc.ModifyL4Proxy(ctx, f.call, &teoapi.ModifyL4ProxyRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy), Ipv6: new("on")})
	if !apierr.Is(err, want) {
		t.Errorf("ModifyL4Proxy of a deploying proxy: %v; want %s", err, want)
	}
	_, err = f.svc.ModifyL4ProxyStatus(ctx, f.call, &teoapi.ModifyL4ProxyStatusRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy), Status: new("offline")})
	if !apierr.Is(err, want) {
		t.Errorf("ModifyL4ProxyStatus of a deploying proxy: %v; want %s", err, want)
	}
	_, err = f.svc.ModifyZoneStatus(ctx, f.call, &teoapi.ModifyZoneStatusRequest{ZoneId: new(f.zone), Paused: new(true)})
	if zoneWant := apierr.Code("OperationDenied.L4ProxyInProgressStatus"); !apierr.Is(err, zoneWant) {
		t.Errorf("ModifyZoneStatus pausing a zone with a deploying proxy: %v; want %s", err, zoneWant)
	}
}

// TestDescribeZonesDirectionWithinSecond: zones created within one second
// (CreateTime is whole seconds) came back oldest first whatever Direction
// said, the default newest-first included: ties go in creation order,
// reversed for desc.
func TestDescribeZonesDirectionWithinSecond(t *testing.T) {
	svc, _, call := newService(t, xtest.NextVIPPool())
	ctx := context.Background()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var created []string
	for i := range 3 {
		c := *call
		c.Time = base.Add(time.Duration(i) * 200 * time.Millisecond) // one second, three calls
		z, err := svc.CreateZone(ctx, &c, &teoapi.CreateZoneRequest{Type: new("noDomainAccess")})
		must(t, err)
		created = append(created, *z.ZoneId)
	}
	list := func(dir *string) []string {
		resp, err := svc.DescribeZones(ctx, call, &teoapi.DescribeZonesRequest{Direction: dir})
		must(t, err)
		var ids []string
		for _, z := range resp.Zones {
			ids = append(ids, *z.ZoneId)
		}
		return ids
	}
	newestFirst := []string{created[2], created[1], created[0]}
	if got := list(nil); strings.Join(got, ",") != strings.Join(newestFirst, ",") {
		t.Errorf("DescribeZones (default create-time desc) = %v; want newest first %v (created in the order %v)", got, newestFirst, created)
	}
	if asc, desc := list(new("asc")), list(new("desc")); strings.Join(asc, ",") == strings.Join(desc, ",") {
		t.Errorf("Direction asc and desc answer the same order %v", asc)
	}
}

// TestGroupIDAsDomainOriginRefused: an origin group's ID given as an
// IP_DOMAIN OriginValue (the caller thinking the type follows the value)
// was taken for a one-label host name: the rule read online and forwarded
// nowhere, which CheckOriginChange exists to prevent.
func TestGroupIDAsDomainOriginRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
		L4ProxyRules: []teoapi.L4ProxyRule{{Protocol: new("TCP"), PortRange: []string{"81"}, OriginType: new("IP_DOMAIN"),
			OriginValue: []string{"8.8.8.8"}, OriginPortRange: new("80")}}})
	must(t, err)
	_, err = f.svc.ModifyL4ProxyRules(ctx, f.call, &teoapi.ModifyL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
		L4ProxyRules: []teoapi.L4ProxyRule{{RuleId: new(r.L4ProxyRuleIds[0]), OriginValue: []string{f.group}}}})
	if !apierr.Is(err, apierr.InvalidParameterInvalidOriginValue) {
		d, _ := f.svc.DescribeL4ProxyRules(ctx, f.call, &teoapi.DescribeL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
			Filters: []teoapi.Filter{{Name: new("rule-id"), Values: r.L4ProxyRuleIds}}})
		t.Errorf("ModifyL4ProxyRules OriginValue [%s] (the zone's origin group) on an IP_DOMAIN rule: %v; now OriginType %s OriginValue %v; want InvalidParameter.InvalidOriginValue",
			f.group, err, *d.L4ProxyRules[0].OriginType, d.L4ProxyRules[0].OriginValue)
	}
}

// TestVanityNameServersChecked: ModifyZone's custom name servers are host
// names, each once, at least one when on, at most MaxVanityNameServers;
// they were stored as given (a URL, a blank, ten thousand names) and
// answered back by DescribeZones.
func TestVanityNameServersChecked(t *testing.T) {
	svc, _, call := newService(t, xtest.NextVIPPool())
	ctx := context.Background()
	z, err := svc.CreateZone(ctx, call, &teoapi.CreateZoneRequest{Type: new("full"), ZoneName: new("vanity.example.com")})
	must(t, err)
	modify := func(on string, servers ...string) error {
		_, err := svc.ModifyZone(ctx, call, &teoapi.ModifyZoneRequest{ZoneId: z.ZoneId,
			VanityNameServers: &teoapi.VanityNameServers{Switch: new(on), Servers: servers}})
		return err
	}
	many := make([]string, model.MaxVanityNameServers+1)
	for i := range many {
		many[i] = fmt.Sprintf("ns%d.example.com", i)
	}
	for _, bad := range [][]string{{}, {"http://ns1.example.com"}, {" "}, {"ns1"}, {"ns1.example.com", "NS1.example.com."}, many} {
		if err := modify("on", bad...); !apierr.Is(err, apierr.InvalidParameterValue) {
			t.Errorf("VanityNameServers on %q: %v; want InvalidParameterValue", bad, err)
		}
	}
	must(t, modify("on", "ns1.teodns.com.", "ns2.example.com"))
	resp, err := svc.DescribeZones(ctx, call, &teoapi.DescribeZonesRequest{
		Filters: []teoapi.AdvancedFilter{{Name: new("zone-id"), Values: []string{*z.ZoneId}}}})
	must(t, err)
	if v := resp.Zones[0].NSDetail.VanityNameServers; cloudapi.Value(v.Switch) != "on" || strings.Join(v.Servers, ",") != "ns1.teodns.com.,ns2.example.com" {
		t.Errorf("VanityNameServers read back %q %q; want on, the two given", cloudapi.Value(v.Switch), v.Servers)
	}
	must(t, modify("off"))
}

// beforeAndAfter returns two services on f's store: one a server with
// the capabilities was, one the same server restarted without them.
func beforeAndAfter(t *testing.T, f *fixture, caps model.Capabilities) (before, after *teo.Service) {
	pool, err := vip.New(xtest.NextVIPPool())
	must(t, err)
	logs := slog.New(slog.NewTextHandler(io.Discard, nil))
	sealer := newSealer(t, f.st)
	return teo.New(f.st, pool, caps, sealer, logs), teo.New(f.st, pool, model.Capabilities{}, sealer, logs)
}

// TestStoredRuleStaysEditable: a rule stored with TOA and a private origin
// by a server that allowed both stays editable on one that allows neither
// (restarted with --no-toa, or on a kernel without BPF; with
// --deny-private-origins) for what the call changes, TOA and the origin
// sent again as they were included (Terraform sends the whole rule), as
// GAAP's listeners are; asking anew for either is refused. Every edit was
// refused (OperationDenied), even of RuleTag alone.
func TestStoredRuleStaysEditable(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	before, after := beforeAndAfter(t, f, model.Capabilities{PrivateOrigins: true, TOA: true})
	modify := func(svc *teo.Service, r teoapi.L4ProxyRule) error {
		r.RuleId = new(f.rule)
		_, err := svc.ModifyL4ProxyRules(ctx, f.call, &teoapi.ModifyL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
			L4ProxyRules: []teoapi.L4ProxyRule{r}})
		return err
	}
	must(t, modify(before, teoapi.L4ProxyRule{ClientIPPassThroughMode: new("TOA"), OriginType: new("IP_DOMAIN"), OriginValue: []string{"10.0.0.1"}}))
	must(t, modify(after, teoapi.L4ProxyRule{RuleTag: new("renamed")}))
	must(t, modify(after, teoapi.L4ProxyRule{RuleTag: new("again"), ClientIPPassThroughMode: new("TOA"),
		OriginType: new("IP_DOMAIN"), OriginValue: []string{"10.0.0.1"}}))
	if err := modify(after, teoapi.L4ProxyRule{OriginValue: []string{"10.0.0.2"}}); err == nil {
		t.Error("a new private origin on a server that denies them: accepted; want refused")
	}
	must(t, modify(after, teoapi.L4ProxyRule{ClientIPPassThroughMode: new("PPV2"), OriginValue: []string{"8.8.8.8"}}))
	if err := modify(after, teoapi.L4ProxyRule{ClientIPPassThroughMode: new("TOA")}); !apierr.Is(err, apierr.OperationDenied) {
		t.Errorf("TOA asked anew on a server without it: %v; want OperationDenied", err)
	}
}

// TestTimingUnknownProxyIdsWithoutZones: "ProxyIds must belong to
// them" (docs/api-teo.md). With ZoneIds ["*"] an account that has a zone
// gets ResourceNotFound for a ProxyIds entry that is not its own; an
// account without any zone (or one naming another account's proxy) gets
// ResourceNotFound too: it got a well-formed answer of zeros, as if the
// instance existed and was idle (timingProxies returned before checking
// ProxyIds when the zone list was empty).
func TestTimingUnknownProxyIdsWithoutZones(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := &teoapi.DescribeTimingL4DataRequest{ZoneIds: []string{"*"}, ProxyIds: []string{f.proxy},
		StartTime: new("2025-10-01T08:00:00+08:00"), EndTime: new("2025-10-01T10:00:00+08:00"), MetricNames: []string{"l4Flow_flux"}}
	// The owner, with a zone: a proxy it does not have is refused.
	unknown := *req
	unknown.ProxyIds = []string{"sid-000000000000"}
	if _, err := f.svc.DescribeTimingL4Data(ctx, f.call, &unknown); !apierr.Is(err, apierr.ResourceNotFound) {
		t.Fatalf("owner, ProxyIds [sid-000000000000]: %v; want ResourceNotFound", err)
	}
	// Another account, without zones, naming the owner's proxy.
	other := &cloudapi.Call{Account: &cloudapi.Account{Uin: "200", AppID: 1250000009}, RequestID: "req2", Time: f.call.Time}
	resp, err := f.svc.DescribeTimingL4Data(ctx, other, req)
	if !apierr.Is(err, apierr.ResourceNotFound) {
		n := 0
		if err == nil {
			n = len(resp.Data[0].TypeValue[0].Detail)
		}
		t.Errorf("account without zones, ProxyIds [%s] (not its own): err %v, %d points of 0; want ResourceNotFound, as for an account with zones",
			f.proxy, err, n)
	}
}

// TestOriginGroupPartialWeightsRefused: EdgeOne's Origin
// Configuration FAQ (tencentcloud.com/document/product/1145/67728): "When
// a weight is set for an origin server in the origin server group, all
// other origin servers must also have weights set ... It is not supported
// to set weights for only some origin servers." Such a group was taken,
// and the controller gave each record without a weight a weight of 1, so
// {A: 100, B: unset} sent ~1% to B.
func TestOriginGroupPartialWeightsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Type: new("GENERAL"),
		Records: []teoapi.OriginRecord{{Record: new("1.1.1.1"), Weight: new(int64(100))}, {Record: new("1.0.0.1")}}})
	if err == nil {
		t.Fatal("CreateOriginGroup with a weight on one record of two: accepted; want refused " +
			"(InvalidParameter.OriginRecordWeightValue: weights are all set or none)")
	}
	_, err = f.svc.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: new(f.group),
		Records: []teoapi.OriginRecord{{Record: new("8.8.8.8"), Weight: new(int64(0))}, {Record: new("8.8.4.4")}}})
	if err == nil {
		t.Fatal("ModifyOriginGroup with a weight on one record of two: accepted; want refused")
	}
}

// TestStoredPrivateGroupStaysEditable: a group stored with a private
// record by a server that allowed private origins stays editable once the
// server runs with --deny-private-origins, as L4
// rules do (TestStoredRuleStaysEditable): ModifyOriginGroup checked the
// stored records again although the call sent none, and refused a rename.
func TestStoredPrivateGroupStaysEditable(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	before, after := beforeAndAfter(t, f, model.Capabilities{PrivateOrigins: true})
	g, err := before.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Name: new("priv"), Type: new("GENERAL"),
		Records: []teoapi.OriginRecord{{Record: new("10.0.0.1")}}})
	must(t, err)
	_, err = after.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: g.OriginGroupId, Name: new("renamed")})
	if err != nil {
		t.Fatalf("renaming a stored group (no Records sent) on a server that now denies private origins: %v; want accepted, as for rules", err)
	}
}

// TestFuzzyGroupNameOneValue: DescribeOriginGroup's origin-group-name
// filter: "使用模糊查询时，仅支持填写一个源站组名称" (with Fuzzy, only one
// name may be given): two names with Fuzzy are refused; they were answered
// as an OR of substrings.
func TestFuzzyGroupNameOneValue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone),
		Filters: []teoapi.AdvancedFilter{{Name: new("origin-group-name"), Values: []string{"a", "b"}, Fuzzy: new(true)}}})
	if !apierr.Is(err, apierr.InvalidParameterValue) && !apierr.Is(err, "InvalidParameter") {
		t.Fatalf("origin-group-name Fuzzy with two names: %v; want refused (仅支持填写一个源站组名称)", err)
	}
}

// TestPrivateParameterNamesChecked: PrivateParameter.Name is one of
// AccessKeyId, SecretAccessKey, SignatureVersion, Region (the reference's
// 取值有), and SignatureVersion is "v2 或者 v4": a typo ("SecretKey") was
// stored, and the bucket's private auth silently lacked its secret.
func TestPrivateParameterNamesChecked(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, p := range []teoapi.PrivateParameter{{Name: new("SecretKey"), Value: new("x")}, {Name: new("SignatureVersion"), Value: new("v9")}} {
		_, err := f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Type: new("HTTP"),
			Records: []teoapi.OriginRecord{{Record: new("bucket-1250000000.cos.ap-guangzhou.myqcloud.com"), Type: new("COS"),
				Private: new(true), PrivateParameters: []teoapi.PrivateParameter{p}}}})
		if err == nil {
			t.Errorf("COS record with PrivateParameters %s=%s: accepted; want InvalidParameterValue", *p.Name, *p.Value)
		}
	}
}

// TestOriginSecretAccessKeySealedAtRest guards the sealing of origin
// records' SecretAccessKey: it reached the store (a backup, a PostgreSQL
// dump or replica) in clear text, while certificate private keys are
// sealed. Describe still answers it as given; a group stored in clear by an
// earlier release reads as stored and is sealed on its next write.
func TestOriginSecretAccessKeySealedAtRest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const secret, legacy = "S3SecretAccessKey-0123456789abcdef", "S3SecretAccessKey-stored-in-clear"
	params := func(secret string) []teoapi.PrivateParameter {
		return []teoapi.PrivateParameter{{Name: new("AccessKeyId"), Value: new("AKIDaccesskeyid")},
			{Name: new("SecretAccessKey"), Value: new(secret)}, {Name: new("SignatureVersion"), Value: new("v4")}}
	}
	g, err := f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Name: new("cos"), Type: new("HTTP"),
		Records: []teoapi.OriginRecord{{Record: new("bucket-1250000000.cos.ap-guangzhou.myqcloud.com"), Type: new("COS"),
			Private: new(true), PrivateParameters: params(secret)}}})
	must(t, err)
	id := *g.OriginGroupId
	stored := func() (data []byte) {
		must(t, f.st.View(ctx, func(tx store.Tx) error {
			rec, err := tx.Get(model.KindTeoOriginGroup, id)
			data = rec.Data
			return err
		}))
		return data
	}
	described := func() []teoapi.PrivateParameter {
		t.Helper()
		out, err := f.svc.DescribeOriginGroup(ctx, f.call, &teoapi.DescribeOriginGroupRequest{ZoneId: new(f.zone),
			Filters: []teoapi.AdvancedFilter{{Name: new("origin-group-id"), Values: []string{id}}}})
		must(t, err)
		return out.OriginGroups[0].Records[0].PrivateParameters
	}
	same := func(got, want []teoapi.PrivateParameter) bool {
		return slices.EqualFunc(got, want, func(a, b teoapi.PrivateParameter) bool { return *a.Name == *b.Name && *a.Value == *b.Value })
	}
	pairs := func(ps []teoapi.PrivateParameter) (out [][2]string) {
		for _, p := range ps {
			out = append(out, [2]string{*p.Name, *p.Value})
		}
		return out
	}
	if data := stored(); strings.Contains(string(data), secret) {
		t.Errorf("the store holds the SecretAccessKey in clear text: %s", data)
	}
	if got := described(); !same(got, params(secret)) {
		t.Errorf("DescribeOriginGroup answers PrivateParameters %v; want them as given", pairs(got))
	}

	// As a release before sealing stored it.
	must(t, f.st.Update(ctx, func(tx store.Tx) error {
		rec, err := tx.Get(model.KindTeoOriginGroup, id)
		if err != nil {
			return err
		}
		var row map[string]any
		if err := json.Unmarshal(rec.Data, &row); err != nil {
			return err
		}
		r := row["records"].([]any)[0].(map[string]any)
		delete(r, "secretSealed")
		r["privateParameters"] = [][2]string{{"AccessKeyId", "AKIDaccesskeyid"}, {"SecretAccessKey", legacy}, {"SignatureVersion", "v4"}}
		if rec.Data, err = json.Marshal(row); err != nil {
			return err
		}
		return tx.Put(rec)
	}))
	if got := described(); !same(got, params(legacy)) {
		t.Errorf("DescribeOriginGroup of a group stored in clear answers %v; want it as stored", pairs(got))
	}
	_, err = f.svc.ModifyOriginGroup(ctx, f.call, &teoapi.ModifyOriginGroupRequest{ZoneId: new(f.zone), GroupId: new(id), Name: new("renamed")})
	must(t, err)
	if data := stored(); strings.Contains(string(data), legacy) {
		t.Errorf("a write of a group stored in clear left its SecretAccessKey in clear text: %s", data)
	}
	if got := described(); !same(got, params(legacy)) {
		t.Errorf("DescribeOriginGroup after sealing a stored group answers %v; want it as stored", pairs(got))
	}
}
