package teo

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

const maxDescribeZones = 100

// zoneFilters maps DescribeZones filter names to the values they test.
var zoneFilters = map[string]func(z *model.TeoZone) []string{
	"zone-name":       func(z *model.TeoZone) []string { return []string{z.Name} },
	"zone-type":       func(z *model.TeoZone) []string { return []string{zoneTypeFilterValue(z.Type), z.Type} },
	"zone-id":         func(z *model.TeoZone) []string { return []string{z.ID} },
	"status":          func(z *model.TeoZone) []string { return []string{"active"} },
	"alias-zone-name": func(z *model.TeoZone) []string { return []string{z.AliasName} },
	"tag-key": func(z *model.TeoZone) []string {
		var out []string
		for _, t := range z.Tags {
			out = append(out, t.Key)
		}
		return out
	},
	"tag-value": func(z *model.TeoZone) []string {
		var out []string
		for _, t := range z.Tags {
			out = append(out, t.Value)
		}
		return out
	},
}

// zoneTypeFilterValue: the zone-type filter calls no-domain zones
// partialComposite.
func zoneTypeFilterValue(t string) string {
	if t == model.ZoneNoDomainAccess {
		return "partialComposite"
	}
	return t
}

// zoneOrder maps Order values to comparisons.
var zoneOrder = map[string]func(a, b *model.TeoZone) int{
	"type":          func(a, b *model.TeoZone) int { return cmp.Compare(a.Type, b.Type) },
	"area":          func(a, b *model.TeoZone) int { return cmp.Compare(a.Area, b.Area) },
	"create-time":   func(a, b *model.TeoZone) int { return cmp.Compare(a.CreateTime, b.CreateTime) },
	"zone-name":     func(a, b *model.TeoZone) int { return cmp.Compare(a.Name, b.Name) },
	"use-time":      func(a, b *model.TeoZone) int { return cmp.Compare(a.ModifyTime, b.ModifyTime) },
	"active-status": func(a, b *model.TeoZone) int { return cmp.Compare(a.ActiveStatus(), b.ActiveStatus()) },
}

// DescribeZones lists the caller's zones, newest first by default. Fuzzy
// applies to zone-name and alias-zone-name only ("模糊查询时支持过滤字段名为
// zone-name 或 alias-zone-name").
func (s *Service) DescribeZones(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeZonesRequest) (*teoapi.DescribeZonesResponse, error) {
	offset, limit, err := pagingZeroDefault(req.Offset, req.Limit, maxDescribeZones)
	if err != nil {
		return nil, err
	}
	fs := advancedFilters(req.Filters, "zone-name", "alias-zone-name")
	if err := checkFilters(fs, slices.Sorted(maps.Keys(zoneFilters))...); err != nil {
		return nil, err
	}
	order, ok := zoneOrder[cmp.Or(cloudapi.Value(req.Order), "create-time")]
	if !ok {
		return nil, cloudapi.Invalid("Order", "%q is not type, area, create-time, zone-name, use-time or active-status", cloudapi.Value(req.Order))
	}
	dir := cmp.Or(cloudapi.Value(req.Direction), "desc")
	if dir != "asc" && dir != "desc" {
		return nil, cloudapi.Invalid("Direction", "%q is not asc or desc", dir)
	}
	var zones []*model.TeoZone
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		zones, _, err = resource.List[model.TeoZone](tx, store.Query{})
		return err
	})
	if err != nil {
		return nil, err
	}
	zones = slices.DeleteFunc(zones, func(z *model.TeoZone) bool { return !matchAll(fs, zoneFilters, z) })
	// Ties (times are whole seconds: zones made in one burst) go in
	// creation order, the store's, reversed with the rest for desc.
	slices.SortStableFunc(zones, order)
	if dir == "desc" {
		slices.Reverse(zones)
	}
	out := make([]teoapi.Zone, 0, limit)
	for _, z := range resource.Window(zones, offset, limit) {
		out = append(out, zoneInfo(z))
	}
	return &teoapi.DescribeZonesResponse{TotalCount: new(int64(len(zones))), Zones: out}, nil
}

// zoneInfo converts a zone. The detail object of its access type
// (CNAMEDetail, NSDetail, DNSPodDetail, each answered for its type only)
// repeats the legacy top-level fields it replaces.
func zoneInfo(z *model.TeoZone) teoapi.Zone {
	tags := make([]teoapi.Tag, 0, len(z.Tags))
	for _, t := range z.Tags {
		tags = append(tags, teoapi.Tag{TagKey: new(t.Key), TagValue: new(t.Value)})
	}
	info := teoapi.Zone{
		ZoneId: new(z.ID), ZoneName: new(z.Name), AliasZoneName: new(z.AliasName), Area: new(z.Area), Type: new(z.Type),
		Tags: tags, Resources: []teoapi.Resource{}, CreatedOn: isoTime(z.CreateTime), ModifiedOn: isoTime(z.ModifyTime),
		Status: new("active"), CnameStatus: new("finished"), ActiveStatus: new(z.ActiveStatus()), LockStatus: new("enable"),
		Paused: new(z.Paused), IsFake: new(int64(0)), CnameSpeedUp: new("disabled"),
		OriginalNameServers: []string{}, NameServers: []string{}, VanityNameServersIps: []teoapi.VanityNameServersIps{},
		VanityNameServers: &teoapi.VanityNameServers{Switch: new(cmp.Or(z.VanitySwitch, "off")), Servers: []string{}},
		WorkModeInfos:     []teoapi.ConfigGroupWorkModeInfo{},
	}
	if z.VanityServers != nil {
		info.VanityNameServers.Servers = z.VanityServers
	}
	switch z.Type {
	case model.ZonePartial:
		info.CNAMEDetail = &teoapi.CNAMEDetail{IsFake: info.IsFake}
	case model.ZoneFull:
		info.NSDetail = &teoapi.NSDetail{CnameSpeedUp: info.CnameSpeedUp, IsFake: info.IsFake,
			OriginalNameServers: info.OriginalNameServers, NameServers: info.NameServers,
			VanityNameServers: info.VanityNameServers, VanityNameServersIps: info.VanityNameServersIps}
	case model.ZoneDNSPodAccess:
		info.DNSPodDetail = &teoapi.DNSPodDetail{IsFake: info.IsFake}
	}
	return info
}

// advancedFilters converts the wire filters. Fuzzy holds only on the
// filters named in fuzzy, the ones the action documents a fuzzy query for;
// on any other it is ignored and values match exactly.
func advancedFilters(in []teoapi.AdvancedFilter, fuzzy ...string) []filter {
	out := make([]filter, len(in))
	for i, f := range in {
		name := cloudapi.Value(f.Name)
		out[i] = filter{name: name, values: f.Values, fuzzy: cloudapi.Value(f.Fuzzy) && slices.Contains(fuzzy, name)}
	}
	return out
}

// plainFilters converts the wire filters without fuzzy matching.
func plainFilters(in []teoapi.Filter) []filter {
	out := make([]filter, len(in))
	for i, f := range in {
		out[i] = filter{name: cloudapi.Value(f.Name), values: f.Values}
	}
	return out
}

// matchAll reports whether obj passes every filter (filters AND, values OR).
func matchAll[T any](fs []filter, fields map[string]func(T) []string, obj T) bool {
	for _, f := range fs {
		if !slices.ContainsFunc(fields[f.name](obj), f.matches) {
			return false
		}
	}
	return true
}
