package teo

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// condition is a checked QueryCondition on proxyId or ruleId: an ID is
// kept when match holds for one of values, or for none when negate.
type condition struct {
	key    string
	match  func(id, value string) bool
	negate bool
	values []string
}

func (c condition) keep(id string) bool {
	return slices.ContainsFunc(c.values, func(v string) bool { return c.match(id, v) }) != c.negate
}

// operators are QueryCondition's operators; "not" forms negate.
var operators = map[string]struct {
	match  func(id, value string) bool
	negate bool
}{
	"equals": {func(id, v string) bool { return id == v }, false}, "notEquals": {func(id, v string) bool { return id == v }, true},
	"include": {strings.Contains, false}, "notInclude": {strings.Contains, true},
	"startWith": {strings.HasPrefix, false}, "notStartWith": {strings.HasPrefix, true},
	"endWith": {strings.HasSuffix, false}, "notEndWith": {strings.HasSuffix, true},
}

// timingConditions checks Filters: keys proxyId and ruleId, with any of
// QueryCondition's operators, applied to the IDs as strings.
func timingConditions(in []teoapi.QueryCondition) ([]condition, error) {
	out := make([]condition, len(in))
	for i, c := range in {
		key, op := cloudapi.Value(c.Key), cloudapi.Value(c.Operator)
		if key != "proxyId" && key != "ruleId" {
			return nil, cloudapi.Invalid(fmt.Sprintf("Filters.%d.Key", i), "%q is not proxyId or ruleId", key)
		}
		o, ok := operators[op]
		if !ok {
			return nil, cloudapi.Invalid(fmt.Sprintf("Filters.%d.Operator", i), "%q is not equals, notEquals, include, notInclude, startWith, notStartWith, endWith or notEndWith", op)
		}
		out[i] = condition{key: key, match: o.match, negate: o.negate, values: c.Value}
	}
	return out, nil
}

// timingObjects resolves the series objects of a request: the proxies of
// ZoneIds (all of the account's zones for "*"), narrowed by ProxyIds and
// proxyId conditions; with a ruleId condition, their rules instead. The
// proxies and rules deleted from the zones count too (departedOf):
// their series still hold the zones' past traffic.
func (s *Service) timingObjects(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeTimingL4DataRequest) ([]string, error) {
	conds, err := timingConditions(req.Filters)
	if err != nil {
		return nil, err
	}
	if len(req.ZoneIds) == 0 || len(req.ZoneIds) > maxTimingZones {
		return nil, cloudapi.Invalid("ZoneIds", "give 1-%d zone IDs, or *", maxTimingZones)
	}
	var objects []string
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		zones, err := timingZones(tx, req.ZoneIds)
		if err != nil {
			return err
		}
		gone, err := departedOf(tx, zones)
		if err != nil {
			return err
		}
		proxies, err := timingProxies(tx, zones, gone, req.ProxyIds)
		if err != nil {
			return err
		}
		byRule := false
		for _, c := range conds {
			byRule = byRule || c.key == "ruleId"
			if c.key == "proxyId" {
				proxies = slices.DeleteFunc(proxies, func(id string) bool { return !c.keep(id) })
			}
		}
		if !byRule {
			objects = proxies
			return nil
		}
		objects, err = timingRules(tx, gone, proxies, conds)
		return err
	})
	return objects, err
}

// timingZones loads the zones of ZoneIds, all of the account's for "*".
func timingZones(tx *resource.Tx, ids []string) ([]*model.TeoZone, error) {
	if slices.Contains(ids, "*") {
		all, _, err := resource.List[model.TeoZone](tx, store.Query{})
		return all, err
	}
	var zones []*model.TeoZone
	for _, id := range ids {
		z, err := zoneOf(tx, id)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(zones, func(o *model.TeoZone) bool { return o.ID == z.ID }) {
			zones = append(zones, z)
		}
	}
	return zones, nil
}

// timingProxies lists the proxy IDs of the zones, live and deleted,
// narrowed to ProxyIds when given (each must belong to them). ProxyIds
// selects instances: the result lists each once, in the zones' order,
// however often it was named, since its series are summed.
func timingProxies(tx *resource.Tx, zones []*model.TeoZone, gone []*model.TeoDeparted, proxyIDs []string) ([]string, error) {
	if len(zones) == 0 {
		if len(proxyIDs) > 0 { // None can belong to no zone: refused as with zones.
			return nil, resource.NotFound(model.KindTeoL4Proxy, proxyIDs[0])
		}
		return nil, nil
	}
	zoneIDs := make([]string, len(zones))
	for i, z := range zones {
		zoneIDs[i] = z.ID
	}
	all, _, err := resource.List[model.TeoL4Proxy](tx, store.Query{Parents: zoneIDs})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(all))
	for _, p := range all {
		ids = append(ids, p.ID)
	}
	for _, d := range gone {
		if d.ProxyID == "" {
			ids = append(ids, d.ID)
		}
	}
	if len(proxyIDs) == 0 {
		return ids, nil
	}
	for _, id := range proxyIDs {
		if !slices.Contains(ids, id) {
			return nil, resource.NotFound(model.KindTeoL4Proxy, id)
		}
	}
	return slices.DeleteFunc(ids, func(id string) bool { return !slices.Contains(proxyIDs, id) }), nil
}

// timingRules lists the rule IDs of proxies, live and deleted from the
// zones, that pass the ruleId conditions.
func timingRules(tx *resource.Tx, gone []*model.TeoDeparted, proxies []string, conds []condition) ([]string, error) {
	if len(proxies) == 0 {
		return nil, nil
	}
	rules, _, err := resource.List[model.TeoL4Rule](tx, store.Query{Parents: proxies})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(rules))
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	selected := map[string]bool{}
	for _, id := range proxies {
		selected[id] = true
	}
	for _, d := range gone {
		if d.ProxyID != "" && selected[d.ProxyID] {
			ids = append(ids, d.ID)
		}
	}
	var out []string
	for _, id := range ids {
		keep := true
		for _, c := range conds {
			keep = keep && (c.key != "ruleId" || c.keep(id))
		}
		if keep {
			out = append(out, id)
		}
	}
	return out, nil
}
