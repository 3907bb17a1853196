package teo

import (
	"cmp"
	"context"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// CreateOriginGroup creates an origin group in a zone. Type is required
// (the reference says so in prose); a missing Name defaults to the ID.
func (s *Service) CreateOriginGroup(ctx context.Context, call *cloudapi.Call, req *teoapi.CreateOriginGroupRequest) (*teoapi.CreateOriginGroupResponse, error) {
	if req.Type == nil {
		return nil, cloudapi.Missing("Type")
	}
	g := &model.TeoOriginGroup{Base: model.Base{ID: model.NewTeoUUID(model.PrefixTeoOriginGroup)},
		ZoneID: cloudapi.Value(req.ZoneId), Type: *req.Type, Records: records(req.Records), UpdateTime: call.Time.Unix()}
	g.Name = cmp.Or(cloudapi.Value(req.Name), g.ID)
	if err := s.checkGroup(g, cloudapi.Value(req.HostHeader), 0, true); err != nil {
		return nil, err
	}
	g.NewRecordIDs()
	g.SealSecrets(s.sealer.Seal)
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		if _, err := zoneOf(tx, g.ZoneID); err != nil {
			return err
		}
		if err := checkGroupNameFree(tx, g); err != nil {
			return err
		}
		return tx.Insert(g)
	})
	if err != nil {
		return nil, err
	}
	return &teoapi.CreateOriginGroupResponse{OriginGroupId: new(g.ID)}, nil
}

// checkGroup validates a new or changed group and sets its HostHeader:
// Create and Modify both document it as the whole setting ("不填或者填空表示
// 不配置回源Host" on Modify: left out or empty, no Host header), so host
// replaces the stored value. It applies to HTTP groups only and is
// dropped for GENERAL ones. stored is how many records the group held
// before (0 for a new one): model.TeoOriginGroup.CheckRecords refuses
// only growth past the cap.
func (s *Service) checkGroup(g *model.TeoOriginGroup, host string, stored int, given bool) error {
	if err := model.CheckOriginGroupName(g.Name); err != nil {
		return err
	}
	if err := model.CheckOriginGroupType(g.Type); err != nil {
		return err
	}
	g.HostHeader = host
	if g.Type != model.OriginGroupHTTP {
		g.HostHeader = ""
	}
	// Records the call did not give are the group's as stored: a server
	// that now denies private origins still lets it be renamed, as a
	// rule keeps what it had (kept).
	if err := g.CheckRecords(s.caps.PrivateOrigins || !given, stored); err != nil || !given {
		return err
	}
	return g.CheckGivenRecords()
}

// records converts wire records; RecordId is kept for Modify to match
// (model.TeoOriginGroup.KeepRecordIDs).
func records(in []teoapi.OriginRecord) []model.TeoOriginRecord {
	out := make([]model.TeoOriginRecord, len(in))
	for i, r := range in {
		out[i] = model.TeoOriginRecord{ID: cloudapi.Value(r.RecordId), Record: cloudapi.Value(r.Record), Type: cloudapi.Value(r.Type), Weight: r.Weight, Private: cloudapi.Value(r.Private)}
		for _, p := range r.PrivateParameters {
			out[i].PrivateParameters = append(out[i].PrivateParameters, [2]string{cloudapi.Value(p.Name), cloudapi.Value(p.Value)})
		}
	}
	return out
}

func checkGroupNameFree(tx *resource.Tx, g *model.TeoOriginGroup) error {
	groups, err := resource.Children[model.TeoOriginGroup](tx, g.ZoneID)
	if err != nil {
		return err
	}
	for _, o := range groups {
		if o.Name == g.Name && o.ID != g.ID {
			return apierr.New(apierr.Code("InvalidParameter.OriginNameExists"), "the zone %s already has an origin group named %s (%s)", g.ZoneID, g.Name, o.ID)
		}
	}
	return nil
}

// groupUsers returns the L4 rules of the zone that use the group.
func groupUsers(tx *resource.Tx, zoneID, groupID string) ([]*model.TeoL4Rule, error) {
	_, rules, err := zoneRules(tx, zoneID)
	if err != nil {
		return nil, err
	}
	return usersOf(rules, groupID), nil
}

// zoneRules loads the zone's L4 proxies and all their rules, grouped by
// proxy in proxy order.
func zoneRules(tx *resource.Tx, zoneID string) ([]*model.TeoL4Proxy, []*model.TeoL4Rule, error) {
	proxies, err := resource.Children[model.TeoL4Proxy](tx, zoneID)
	if err != nil || len(proxies) == 0 {
		return nil, nil, err
	}
	ids := make([]string, len(proxies))
	for i, p := range proxies {
		ids[i] = p.ID
	}
	rules, _, err := resource.List[model.TeoL4Rule](tx, store.Query{Parents: ids})
	if err != nil {
		return nil, nil, err
	}
	slices.SortStableFunc(rules, func(a, b *model.TeoL4Rule) int {
		return slices.Index(ids, a.ProxyID) - slices.Index(ids, b.ProxyID)
	})
	return proxies, rules, nil
}

// usersOf returns the rules that use the group.
func usersOf(rules []*model.TeoL4Rule, groupID string) []*model.TeoL4Rule {
	var users []*model.TeoL4Rule
	for _, r := range rules {
		if r.OriginType == model.OriginOriginGroup && slices.Contains(r.OriginValue, groupID) {
			users = append(users, r)
		}
	}
	return users
}

// groupOf loads the caller's origin group of zoneID.
func groupOf(tx *resource.Tx, zoneID, id string) (*model.TeoOriginGroup, error) {
	if _, err := zoneOf(tx, zoneID); err != nil {
		return nil, err
	}
	g, err := resource.Get[model.TeoOriginGroup](tx, id)
	if err == nil && g.ZoneID != zoneID {
		return nil, resource.NotFound(g.Kind(), id)
	}
	return g, err
}

// ModifyOriginGroup changes a group; Records, when given, replace the old
// set (a record keeps its RecordId when given back with it or with the
// same address: model.TeoOriginGroup.KeepRecordIDs). HostHeader is set as
// sent, so left out it clears the group's (checkGroup). Rules using the
// group redeploy.
func (s *Service) ModifyOriginGroup(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyOriginGroupRequest) (*teoapi.ModifyOriginGroupResponse, error) {
	return &teoapi.ModifyOriginGroupResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		g, err := groupOf(tx, cloudapi.Value(req.ZoneId), cloudapi.Value(req.GroupId))
		if err != nil {
			return err
		}
		_, rules, err := zoneRules(tx, g.ZoneID)
		if err != nil {
			return err
		}
		users, had := usersOf(rules, g.ID), len(g.Records)
		if err := s.applyGroupChange(g, req, len(users)); err != nil {
			return err
		}
		// More records multiply by every port of the rules using the
		// group; fewer are always allowed (they lower a proxy stored past
		// the bound).
		if len(g.Records) > had {
			using := map[string]bool{}
			for _, u := range users {
				using[u.ProxyID] = true
			}
			inUse := slices.DeleteFunc(slices.Clone(rules), func(r *model.TeoL4Rule) bool { return !using[r.ProxyID] })
			groups, err := ruleGroups(tx, g, inUse)
			if err != nil {
				return err
			}
			if err := checkProxyOrigins(apierr.LimitExceeded, inUse, nil, groups); err != nil {
				return err
			}
		}
		if err := checkGroupNameFree(tx, g); err != nil {
			return err
		}
		g.UpdateTime = call.Time.Unix()
		g.SealSecrets(s.sealer.Seal)
		for _, r := range users {
			r.Touch()
			if err := tx.Put(r); err != nil {
				return err
			}
		}
		return tx.Put(g)
	})
}

func (s *Service) applyGroupChange(g *model.TeoOriginGroup, req *teoapi.ModifyOriginGroupRequest, users int) error {
	if req.Name != nil {
		g.Name = *req.Name
	}
	if t := cloudapi.Value(req.Type); t != "" {
		if t != model.OriginGroupGeneral && users > 0 {
			return apierr.New(apierr.Code("OperationDenied.OriginGroupL4Used"), "the origin group %s is used by %d L4 rules and must stay GENERAL", g.ID, users)
		}
		g.Type = t
	}
	old := g.Records
	if req.Records != nil {
		g.Records = records(req.Records)
	}
	if err := s.checkGroup(g, cloudapi.Value(req.HostHeader), len(old), req.Records != nil); err != nil || req.Records == nil {
		return err
	}
	return g.KeepRecordIDs(old)
}

// DeleteOriginGroup deletes a group no L4 rule uses.
func (s *Service) DeleteOriginGroup(ctx context.Context, call *cloudapi.Call, req *teoapi.DeleteOriginGroupRequest) (*teoapi.DeleteOriginGroupResponse, error) {
	return &teoapi.DeleteOriginGroupResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		g, err := groupOf(tx, cloudapi.Value(req.ZoneId), cloudapi.Value(req.GroupId))
		if err != nil {
			return err
		}
		users, err := groupUsers(tx, g.ZoneID, g.ID)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return apierr.New(apierr.Code("OperationDenied.OriginGroupL4Used"), "the origin group %s is used by L4 rule %s of proxy %s", g.ID, users[0].ID, users[0].ProxyID)
		}
		return tx.Delete(g)
	})
}
