package teo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// groupFilters maps DescribeOriginGroup filter names to the values they test.
var groupFilters = map[string]func(g *model.TeoOriginGroup) []string{
	"origin-group-id":   func(g *model.TeoOriginGroup) []string { return []string{g.ID} },
	"origin-group-name": func(g *model.TeoOriginGroup) []string { return []string{g.Name} },
}

// DescribeOriginGroup lists a zone's origin groups with the L4 proxies
// that use them, or without ZoneId (the spec's field is optional, though
// its text says required) those of every zone of the caller: Terraform's
// provider reads a group by its ID alone. Limit is 1-1000, as documented
// (20 when left out).
func (s *Service) DescribeOriginGroup(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeOriginGroupRequest) (*teoapi.DescribeOriginGroupResponse, error) {
	offset, limit, err := pagingFrom1(req.Offset, req.Limit, maxDescribeL4)
	if err != nil {
		return nil, err
	}
	fs := advancedFilters(req.Filters, "origin-group-name")
	if err := checkFilters(fs, "origin-group-id", "origin-group-name"); err != nil {
		return nil, err
	}
	for i, f := range fs {
		if f.fuzzy && len(f.values) > 1 { // "使用模糊查询时，仅支持填写一个源站组名称"
			return nil, cloudapi.Invalid(fmt.Sprintf("Filters.%d.Values", i), "a fuzzy origin-group-name query takes one name, not %d", len(f.values))
		}
	}
	var out []teoapi.OriginGroup
	var total int
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		var zones []*model.TeoZone
		if req.ZoneId != nil {
			z, err := zoneOf(tx, *req.ZoneId)
			if err != nil {
				return err
			}
			zones = []*model.TeoZone{z}
		} else if zones, _, err = resource.List[model.TeoZone](tx, store.Query{}); err != nil {
			return err
		}
		type zoneGroup struct {
			z *model.TeoZone
			g *model.TeoOriginGroup
		}
		var found []zoneGroup
		for _, z := range zones {
			groups, err := resource.Children[model.TeoOriginGroup](tx, z.ID)
			if err != nil {
				return err
			}
			for _, g := range groups {
				if matchAll(fs, groupFilters, g) {
					found = append(found, zoneGroup{z, g})
				}
			}
		}
		total = len(found)
		type zoneUse struct {
			proxies []*model.TeoL4Proxy
			rules   []*model.TeoL4Rule
		}
		uses := map[string]zoneUse{} // Read once per zone.
		for _, zg := range resource.Window(found, offset, limit) {
			u, ok := uses[zg.z.ID]
			if !ok {
				if u.proxies, u.rules, err = zoneRules(tx, zg.z.ID); err != nil {
					return err
				}
				uses[zg.z.ID] = u
			}
			info, err := s.groupInfo(zg.g, groupRefs(zg.z, u.proxies, usersOf(u.rules, zg.g.ID)))
			if err != nil {
				return err
			}
			out = append(out, info)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &teoapi.DescribeOriginGroupResponse{TotalCount: new(int64(total)), OriginGroups: out}, nil
}

// groupRefs lists the L4 proxies of users, once each.
func groupRefs(z *model.TeoZone, proxies []*model.TeoL4Proxy, users []*model.TeoL4Rule) []teoapi.OriginGroupReference {
	refs := []teoapi.OriginGroupReference{}
	for _, p := range proxies {
		if !slices.ContainsFunc(users, func(r *model.TeoL4Rule) bool { return r.ProxyID == p.ID }) {
			continue
		}
		refs = append(refs, teoapi.OriginGroupReference{InstanceType: new("application-proxy"), InstanceId: new(p.ID),
			InstanceName: new(p.Name), ZoneId: new(z.ID), ZoneName: new(z.Name), AliasZoneName: new(z.AliasName)})
	}
	return refs
}

// groupInfo answers a group as Describe shows it: SecretAccessKey in clear,
// as it was given. EdgeOne answers it so (the Terraform provider's
// acceptance test reads back the value it set, and a masked one would be a
// diff on every plan); only the store holds it sealed.
func (s *Service) groupInfo(g *model.TeoOriginGroup, refs []teoapi.OriginGroupReference) (teoapi.OriginGroup, error) {
	recs := make([]teoapi.OriginRecord, len(g.Records))
	for i, r := range g.Records {
		ps, err := r.OpenParameters(s.sealer.Open)
		if err != nil {
			return teoapi.OriginGroup{}, apierr.Internal(err)
		}
		params := []teoapi.PrivateParameter{}
		for _, p := range ps {
			params = append(params, teoapi.PrivateParameter{Name: new(p[0]), Value: new(p[1])})
		}
		recs[i] = teoapi.OriginRecord{Record: new(r.Record), Type: new(r.Type), RecordId: new(r.ID), Weight: r.Weight,
			Private: new(r.Private), PrivateParameters: params}
	}
	return teoapi.OriginGroup{GroupId: new(g.ID), Name: new(g.Name), Type: new(g.Type), Records: recs, References: refs,
		CreateTime: isoTime(g.CreateTime), UpdateTime: isoTime(g.UpdateTime), HostHeader: new(g.HostHeader)}, nil
}

// healthWindow is how old the latest health sample may be to count.
const healthWindow = 3 * time.Minute

// DescribeOriginGroupHealthStatus reports each origin's health as the
// data plane last reported it (model.TeoOriginHealthMetric): Healthy,
// Unhealthy, or Undetected when nothing was reported in the last three
// minutes (e.g. the group is not used by any online rule). opengaap has no
// load balancers: LBInstanceId is required by the wire but not checked,
// and OriginGroupIds left out means every group of the zone. There is one
// checking node, so CheckRegionHealthStatus is empty.
func (s *Service) DescribeOriginGroupHealthStatus(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeOriginGroupHealthStatusRequest) (*teoapi.DescribeOriginGroupHealthStatusResponse, error) {
	var groups []*model.TeoOriginGroup
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		z, err := zoneOf(tx, cloudapi.Value(req.ZoneId))
		if err != nil {
			return err
		}
		if req.OriginGroupIds == nil {
			groups, err = resource.Children[model.TeoOriginGroup](tx, z.ID)
			return err
		}
		for _, id := range req.OriginGroupIds {
			g, err := groupOf(tx, z.ID, id)
			if err != nil {
				return err
			}
			groups = append(groups, g)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]teoapi.OriginGroupHealthStatusDetail, 0, len(groups))
	for _, g := range groups {
		d := teoapi.OriginGroupHealthStatusDetail{OriginGroupId: new(g.ID), CheckRegionHealthStatus: []teoapi.CheckRegionHealthStatus{}}
		for _, r := range g.Records {
			h, err := s.originHealth(ctx, g.ID, r.ID, call.Time)
			if err != nil {
				return nil, err
			}
			d.OriginHealthStatus = append(d.OriginHealthStatus, teoapi.OriginHealthStatus{Origin: new(r.Record), Healthy: new(h)})
		}
		out = append(out, d)
	}
	return &teoapi.DescribeOriginGroupHealthStatusResponse{OriginGroupHealthStatusList: out}, nil
}

func (s *Service) originHealth(ctx context.Context, groupID, recordID string, now time.Time) (string, error) {
	pts, err := s.store.Stats().Query(ctx, model.TeoOriginHealthObject(groupID, recordID), model.TeoOriginHealthMetric, 60, now.Add(-healthWindow), now)
	if err != nil {
		return "", apierr.Internal(err)
	}
	switch {
	case len(pts) == 0:
		return model.Undetected, nil
	case pts[len(pts)-1].Value > 0:
		return model.Healthy, nil
	}
	return model.Unhealthy, nil
}
