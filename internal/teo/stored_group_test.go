package teo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// TestStoredGroupPastRecordCap: the previous release stored origin groups
// of any size; one of 120 records (written to the store as it wrote it)
// can still be renamed without sending Records and shrunk to any count,
// while a new count past model.TeoMaxGroupRecords that grows the group is
// refused (docs/api-teo.md ModifyOriginGroup).
func TestStoredGroupPastRecordCap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	recs := func(n int) []teoapi.OriginRecord {
		var out []teoapi.OriginRecord
		for i := range n {
			out = append(out, teoapi.OriginRecord{Record: new(fmt.Sprintf("11.0.%d.%d", i/200, 1+i%200))})
		}
		return out
	}
	g, err := f.svc.CreateOriginGroup(ctx, f.call, &teoapi.CreateOriginGroupRequest{ZoneId: new(f.zone), Name: new("big"), Type: new("GENERAL"), Records: recs(1)})
	must(t, err)
	const stored = model.TeoMaxGroupRecords + 20
	must(t, f.st.Update(ctx, func(tx store.Tx) error {
		rec, err := tx.Get(model.KindTeoOriginGroup, *g.OriginGroupId)
		if err != nil {
			return err
		}
		var row map[string]any
		if err := json.Unmarshal(rec.Data, &row); err != nil {
			return err
		}
		var records []map[string]any
		for i := range stored {
			records = append(records, map[string]any{"id": fmt.Sprintf("record-old%05d", i), "record": fmt.Sprintf("11.0.%d.%d", i/200, 1+i%200), "type": "IP_DOMAIN"})
		}
		row["records"] = records
		if rec.Data, err = json.Marshal(row); err != nil {
			return err
		}
		return tx.Put(rec)
	}))
	modify := func(req *teoapi.ModifyOriginGroupRequest) error {
		req.ZoneId, req.GroupId = new(f.zone), g.OriginGroupId
		_, err := f.svc.ModifyOriginGroup(ctx, f.call, req)
		return err
	}
	if err := modify(&teoapi.ModifyOriginGroupRequest{Name: new("renamed")}); err != nil {
		t.Errorf("renaming a stored group of %d records without Records: %v", stored, err)
	}
	if err := modify(&teoapi.ModifyOriginGroupRequest{Records: recs(stored + 1)}); !apierr.Is(err, apierr.InvalidParameterValue) {
		t.Errorf("growing a stored group of %d records to %d: %v; want InvalidParameterValue", stored, stored+1, err)
	}
	if err := modify(&teoapi.ModifyOriginGroupRequest{Records: recs(stored - 10)}); err != nil {
		t.Errorf("shrinking a stored group of %d records to %d: %v", stored, stored-10, err)
	}
	// Once shrunk, the group may not grow back past the cap.
	if err := modify(&teoapi.ModifyOriginGroupRequest{Records: recs(stored - 5)}); !apierr.Is(err, apierr.InvalidParameterValue) {
		t.Errorf("growing the group from %d to %d records: %v; want InvalidParameterValue", stored-10, stored-5, err)
	}
	if err := modify(&teoapi.ModifyOriginGroupRequest{Records: recs(model.TeoMaxGroupRecords)}); err != nil {
		t.Errorf("shrinking the group to %d records: %v", model.TeoMaxGroupRecords, err)
	}
	if err := modify(&teoapi.ModifyOriginGroupRequest{Records: recs(model.TeoMaxGroupRecords + 1)}); !apierr.Is(err, apierr.InvalidParameterValue) {
		t.Errorf("growing a group of %d records to %d: %v; want InvalidParameterValue", model.TeoMaxGroupRecords, model.TeoMaxGroupRecords+1, err)
	}
}

// TestStoredProxyPastPortCap: the previous release bounded neither a
// proxy's ports (model.TeoMaxProxyPorts) nor its (port, origin) pairs. A
// proxy stored past the port bound (a rule written to the store as it
// wrote it) may still change its rules in ways that add no port (a
// RuleTag, fewer ports), while a change that adds ports is refused.
func TestStoredProxyPastPortCap(t *testing.T) {
	f := newFixture(t) // f.proxy has one rule of one port.
	ctx := context.Background()
	rule := func(ports string) teoapi.L4ProxyRule {
		return teoapi.L4ProxyRule{Protocol: new("TCP"), PortRange: []string{ports}, OriginType: new("IP_DOMAIN"),
			OriginValue: []string{"8.8.8.8"}, OriginPortRange: new("80")}
	}
	r, err := f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
		L4ProxyRules: []teoapi.L4ProxyRule{rule("10000-12047"), rule("20000-22046")}}) // 4096 ports with f.rule's.
	must(t, err)
	past := model.NewTeoID(model.PrefixTeoL4Rule)
	must(t, f.st.Update(ctx, func(tx store.Tx) error {
		rec, err := tx.Get(model.KindTeoL4Rule, r.L4ProxyRuleIds[0])
		if err != nil {
			return err
		}
		var row map[string]any
		if err := json.Unmarshal(rec.Data, &row); err != nil {
			return err
		}
		row["id"], row["portRange"] = past, []string{"30000-30099"}
		rec.ID = past
		if rec.Data, err = json.Marshal(row); err != nil {
			return err
		}
		return tx.Insert(rec)
	}))
	modify := func(id string, in teoapi.L4ProxyRule) error {
		in.RuleId = new(id)
		_, err := f.svc.ModifyL4ProxyRules(ctx, f.call, &teoapi.ModifyL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
			L4ProxyRules: []teoapi.L4ProxyRule{in}})
		return err
	}
	if err := modify(r.L4ProxyRuleIds[0], teoapi.L4ProxyRule{RuleTag: new("kept")}); err != nil {
		t.Errorf("a RuleTag change on a proxy stored past %d ports: %v", model.TeoMaxProxyPorts, err)
	}
	if err := modify(past, teoapi.L4ProxyRule{PortRange: []string{"30000-30100"}}); !apierr.Is(err, apierr.LimitExceededProxyRulesLimitExceeded) {
		t.Errorf("adding a port to a proxy stored past %d ports: %v; want LimitExceeded.ProxyRulesLimitExceeded", model.TeoMaxProxyPorts, err)
	}
	_, err = f.svc.CreateL4ProxyRules(ctx, f.call, &teoapi.CreateL4ProxyRulesRequest{ZoneId: new(f.zone), ProxyId: new(f.proxy),
		L4ProxyRules: []teoapi.L4ProxyRule{rule("40000")}})
	if !apierr.Is(err, apierr.LimitExceededProxyRulesLimitExceeded) {
		t.Errorf("a new rule on a proxy stored past %d ports: %v; want LimitExceeded.ProxyRulesLimitExceeded", model.TeoMaxProxyPorts, err)
	}
	if err := modify(past, teoapi.L4ProxyRule{PortRange: []string{"30000-30049"}}); err != nil {
		t.Errorf("removing ports of a proxy stored past %d ports: %v", model.TeoMaxProxyPorts, err)
	}
}
