package teo_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// zoneRow is the stored row of the fixture's zone.
func (f *fixture) zoneRow(t *testing.T) []byte {
	t.Helper()
	var data []byte
	must(t, f.st.View(context.Background(), func(tx store.Tx) error {
		rec, err := tx.Get(model.KindTeoZone, f.zone)
		data = rec.Data
		return err
	}))
	return data
}

// departedRows are the IDs of the zone's departed rows.
func (f *fixture) departedRows(t *testing.T) []string {
	t.Helper()
	var ids []string
	must(t, f.st.View(context.Background(), func(tx store.Tx) error {
		recs, _, err := tx.List(store.Query{Kind: model.KindTeoDeparted, Account: f.call.Account.Uin, Parent: f.zone})
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		return err
	}))
	return ids
}

// TestZoneRowIndependentOfDeletions: the history of deleted rules, which
// DescribeTimingL4Data reads for 400 days, is kept apart from the zone's
// row, which every call on the zone and every controller pass decodes: 50
// create/delete cycles of 200 rules leave the row as it was.
func TestZoneRowIndependentOfDeletions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before := len(f.zoneRow(t))
	const cycles, batch = 50, 200
	for range cycles {
		rules := make([]teoapi.L4ProxyRule, batch)
		for i := range rules {
			rules[i] = teoapi.L4ProxyRule{Protocol: new("UDP"), PortRange: []string{strconv.Itoa(1000 + i)}, OriginType: new("IP_DOMAIN"),
				OriginValue: []string{"8.8.8.8"}, OriginPortRange: new("53")}
		}
		r, err := f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy), L4ProxyRules: rules})
		must(t, err)
		_, err = f.svc.DeleteL4ProxyRules(ctx, f.call, &teoapi.DeleteL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy), RuleIds: r.L4ProxyRuleIds})
		must(t, err)
	}
	if after := len(f.zoneRow(t)); after > before+64 {
		t.Fatalf("the zone's stored row grew from %d to %d bytes after %d rules were created and deleted; it should not grow with deleted rules",
			before, after, cycles*batch)
	}
	if n := len(f.departedRows(t)); n != cycles*batch {
		t.Errorf("%d departed rows; want one per deleted rule, %d", n, cycles*batch)
	}
}

// TestDepartedHistory: DescribeTimingL4Data reads the proxies and rules
// deleted from a zone, those of a zone stored with the history in its row
// (before it moved to rows of its own) too; the zone's next deletion moves
// that history out of its row, and history older than the longest
// statistics retention is forgotten.
func TestDepartedHistory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now()
	const legacyProxy, legacyRule, expired = "sid-legacy000001", "rule-legacy00001", "sid-expired00001"
	must(t, f.st.Update(ctx, func(tx store.Tx) error {
		rec, err := tx.Get(model.KindTeoZone, f.zone)
		if err != nil {
			return err
		}
		var z map[string]any
		if err := json.Unmarshal(rec.Data, &z); err != nil {
			return err
		}
		z["departed"] = []map[string]any{
			{"id": expired, "at": now.Add(-model.StatsLongestRetention - time.Hour).Unix()},
			{"id": legacyProxy, "at": now.Add(-time.Hour).Unix()},
			{"id": legacyRule, "proxyId": legacyProxy, "at": now.Add(-time.Hour).Unix()},
		}
		if rec.Data, err = json.Marshal(z); err != nil {
			return err
		}
		return tx.Put(rec)
	}))
	t0 := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	must(t, f.st.Stats().Write(ctx, []store.Point{
		{Object: legacyProxy, Metric: "l4Flow_flux", Granularity: 3600, Time: t0, Value: 70},
		{Object: legacyRule, Metric: "l4Flow_flux", Granularity: 3600, Time: t0, Value: 30},
	}))
	flux := func(proxy string, conds ...teoapi.QueryCondition) (int64, error) {
		r, err := f.svc.DescribeTimingL4Data(ctx, f.call, &teoapi.DescribeTimingL4DataRequest{ZoneIds: []string{f.zone}, ProxyIds: []string{proxy},
			Interval: new("hour"), StartTime: new("2025-10-01T08:00:00+08:00"), EndTime: new("2025-10-01T10:00:00+08:00"),
			MetricNames: []string{"l4Flow_flux"}, Filters: conds})
		if err != nil {
			return 0, err
		}
		return *r.Data[0].TypeValue[0].Sum, nil
	}
	check := func(when string) {
		t.Helper()
		if got, err := flux(legacyProxy); err != nil || got != 70 {
			t.Errorf("%s: deleted proxy's flux %d, %v; want 70", when, got, err)
		}
		if got, err := flux(legacyProxy, teoapi.QueryCondition{Key: new("ruleId"), Operator: new("equals"), Value: []string{legacyRule}}); err != nil || got != 30 {
			t.Errorf("%s: deleted rule's flux %d, %v; want 30", when, got, err)
		}
		if _, err := flux(expired); !apierr.Is(err, apierr.ResourceNotFound) {
			t.Errorf("%s: a proxy deleted before the retention: %v; want ResourceNotFound", when, err)
		}
	}
	check("history in the zone's row")

	_, err := f.svc.DeleteL4ProxyRules(ctx, f.call, &teoapi.DeleteL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy), RuleIds: []string{f.rule}})
	must(t, err)
	if row := f.zoneRow(t); strings.Contains(string(row), "departed") {
		t.Errorf("zone row after a deletion: %s; want the history moved out", row)
	}
	check("history moved to rows")
	if got := f.departedRows(t); len(got) != 3 {
		t.Errorf("departed rows %v; want the legacy proxy and rule and %s", got, f.rule)
	}

	// A deletion past the retention of every row forgets them all.
	later := *f.call
	later.Time = now.Add(model.StatsLongestRetention + 24*time.Hour)
	r, err := f.svc.CreateL4ProxyRules(ctx, &later, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
		L4ProxyRules: []teoapi.L4ProxyRule{{Protocol: new("TCP"), PortRange: []string{"81"}, OriginType: new("IP_DOMAIN"),
			OriginValue: []string{"8.8.8.8"}, OriginPortRange: new("80")}}})
	must(t, err)
	_, err = f.svc.DeleteL4ProxyRules(ctx, &later, &teoapi.DeleteL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy), RuleIds: r.L4ProxyRuleIds})
	must(t, err)
	if got := f.departedRows(t); len(got) != 1 || got[0] != r.L4ProxyRuleIds[0] {
		t.Errorf("departed rows 400 days later %v; want only %s, deleted then", got, r.L4ProxyRuleIds[0])
	}
}
