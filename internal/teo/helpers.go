package teo

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// Documented limits shared by the Describe actions.
const (
	maxFilterValues = 20
)

// isoTime formats Unix seconds as EdgeOne does (2023-09-18T07:41:05Z).
func isoTime(sec int64) *string {
	return new(time.Unix(sec, 0).UTC().Format(time.RFC3339))
}

// paging applies Offset/Limit defaults (0, 20) and the action's cap.
func paging(offset, limit *int64, maxLimit int) (int, int, error) {
	return cloudapi.Paging(offset, limit, maxLimit, apierr.InvalidParameterValue)
}

// pagingZeroDefault is paging for an action whose Limit is documented as
// "默认值：20，最大值：N" (a default and a maximum, no minimum): a Limit of
// 0 means the default, as Tencent's own DescribeL4ProxyRules example
// answers one (rules, not an empty page).
func pagingZeroDefault(offset, limit *int64, maxLimit int) (int, int, error) {
	if cloudapi.Value(limit) == 0 {
		limit = nil
	}
	return paging(offset, limit, maxLimit)
}

// pagingFrom1 is paging for an action whose Limit is documented as
// 1-maxLimit (取值：1-1000): a Limit sent as 0 is refused rather than
// answered with an empty page.
func pagingFrom1(offset, limit *int64, maxLimit int) (int, int, error) {
	if l := limit; l != nil && (*l < 1 || *l > int64(maxLimit)) {
		return 0, 0, cloudapi.Invalid("Limit", "must be 1-%d, not %d", maxLimit, *l)
	}
	return paging(offset, limit, maxLimit)
}

// filter is a checked Filter or AdvancedFilter.
type filter struct {
	name   string
	values []string
	fuzzy  bool
}

// matches reports whether v satisfies the filter: any value equal, or
// contained in v when fuzzy.
func (f filter) matches(v string) bool {
	for _, want := range f.values {
		if v == want || (f.fuzzy && strings.Contains(v, want)) {
			return true
		}
	}
	return false
}

// checkFilters validates names against known and the 20-value cap.
func checkFilters(fs []filter, known ...string) error {
	for i, f := range fs {
		if !slices.Contains(known, f.name) {
			return cloudapi.Invalid("Filters."+strconv.Itoa(i)+".Name", "%q is not one of %s", f.name, strings.Join(known, ", "))
		}
		if len(f.values) > maxFilterValues {
			return apierr.New(apierr.Code("InvalidParameter.TooManyFilterValues"), "Filters.%d.Values: at most %d values", i, maxFilterValues)
		}
	}
	return nil
}

// zoneOf loads the caller's zone; an unknown one is ResourceNotFound
// (InvalidParameter.ZoneNotFound is the code Tencent uses on some actions;
// every action here answers ResourceNotFound, as the seed lists).
func zoneOf(tx *resource.Tx, id string) (*model.TeoZone, error) {
	return resource.Get[model.TeoZone](tx, id)
}

// departed is the row depart stores for id, deleted from zoneID: a rule
// of proxyID, or a proxy ("").
func departed(tx *resource.Tx, zoneID, proxyID, id string) *model.TeoDeparted {
	return &model.TeoDeparted{Base: model.Base{ID: id, CreateTime: tx.Now.Unix()}, ZoneID: zoneID, ProxyID: proxyID}
}

// depart remembers proxies and rules deleted from a zone (departed), whose
// traffic DescribeTimingL4Data still reads (departedOf): one row each, not
// the zone's row, which every call on the zone reads. It forgets the rows stored before the oldest statistics
// point kept, whose series are gone, and moves the zone's legacy history
// out of its row. A moved entry's row is stored at the move, so it ages
// from then, not from its deletion (LegacyDeparted drops those already
// past): an entry may outlive its series, which costs only its ID.
func depart(tx *resource.Tx, zoneID string, objs ...*model.TeoDeparted) error {
	z, err := zoneOf(tx, zoneID)
	if err != nil {
		return err
	}
	gone := z.LegacyDeparted(tx.Now)
	if len(z.Departed) > 0 {
		z.Departed = nil
		if err := tx.Put(z); err != nil {
			return err
		}
	}
	gone = append(gone, objs...)
	expired, _, err := resource.List[model.TeoDeparted](tx, store.Query{Parent: zoneID, NoTotal: true,
		Before: tx.Now.Add(-model.StatsLongestRetention).UnixNano()})
	if err != nil {
		return err
	}
	for _, d := range expired {
		if err := tx.Delete(d); err != nil {
			return err
		}
	}
	for _, d := range gone {
		// An object departs once: a row already there (a legacy entry
		// given twice) carries nothing new.
		if err := tx.Insert(d); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

// departedOf lists the proxies and rules deleted from zones (depart),
// those still in a zone's legacy history included; each once, since a
// zone's history moves out of its row in the transaction that empties it.
func departedOf(tx *resource.Tx, zones []*model.TeoZone) ([]*model.TeoDeparted, error) {
	ids := make([]string, len(zones))
	for i, z := range zones {
		ids[i] = z.ID
	}
	gone, _, err := resource.List[model.TeoDeparted](tx, store.Query{Parents: ids, NoTotal: true})
	if err != nil {
		return nil, err
	}
	for _, z := range zones {
		gone = append(gone, z.LegacyDeparted(tx.Now)...)
	}
	return gone, nil
}

// proxyOf loads the caller's L4 proxy and checks it belongs to zoneID.
func proxyOf(tx *resource.Tx, zoneID, proxyID string) (*model.TeoL4Proxy, error) {
	if _, err := zoneOf(tx, zoneID); err != nil {
		return nil, err
	}
	p, err := resource.Get[model.TeoL4Proxy](tx, proxyID)
	if err != nil {
		return nil, err
	}
	if p.ZoneID != zoneID {
		return nil, resource.NotFound(p.Kind(), proxyID)
	}
	return p, nil
}

// checkNotPaused refuses changes that would serve traffic in a paused zone.
func checkNotPaused(z *model.TeoZone) error {
	if z.Paused {
		return apierr.New(apierr.OperationDeniedErrZoneIsAlreadyPaused, "the zone %s is paused; enable it with ModifyZoneStatus first", z.ID)
	}
	return nil
}
