package teo

import (
	"cmp"
	"context"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

// CreateZone creates a site. There are no plans, DNS or ownership checks
// in opengaap: the zone is active at once and OwnershipVerification is
// null (docs/api-teo.md).
func (s *Service) CreateZone(ctx context.Context, call *cloudapi.Call, req *teoapi.CreateZoneRequest) (*teoapi.CreateZoneResponse, error) {
	z := &model.TeoZone{Base: model.Base{ID: model.NewTeoID(model.PrefixTeoZone)},
		Type: cmp.Or(cloudapi.Value(req.Type), model.ZonePartial), Name: cloudapi.Value(req.ZoneName), AliasName: cloudapi.Value(req.AliasZoneName),
		Area: cloudapi.Value(req.Area), PlanID: cloudapi.Value(req.PlanId), ModifyTime: call.Time.Unix()}
	for _, t := range req.Tags { // Trimmed, as GAAP's (tagsIn): " env" is env.
		z.Tags = append(z.Tags, model.Tag{Key: strings.TrimSpace(cloudapi.Value(t.TagKey)), Value: strings.TrimSpace(cloudapi.Value(t.TagValue))})
	}
	if err := checkNewZone(z); err != nil {
		return nil, err
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		if err := checkZoneNameFree(tx, z, cloudapi.Value(req.AllowDuplicates)); err != nil {
			return err
		}
		return tx.Insert(z)
	})
	if err != nil {
		return nil, err
	}
	return &teoapi.CreateZoneResponse{ZoneId: new(z.ID)}, nil
}

// checkNewZone validates the type, name, area and tags of a new zone and
// fills the default area. Tags follow GAAP's rule; CreateZone lists no tag
// code, so a bad one, or too many, answers the common InvalidParameterValue.
func checkNewZone(z *model.TeoZone) error {
	if err := model.CheckNewTags(apierr.InvalidParameterValue, apierr.InvalidParameterValue, "Tags", z.Tags); err != nil {
		return err
	}
	if err := model.CheckZoneType(z.Type); err != nil {
		return err
	}
	if err := model.CheckAliasZoneName(z.AliasName); err != nil {
		return err
	}
	if z.Type == model.ZoneNoDomainAccess {
		if z.Name != "" || z.Area != "" {
			return cloudapi.Invalid("ZoneName", "a noDomainAccess zone takes neither ZoneName nor Area")
		}
		return nil
	}
	if z.Name == "" { // Required of every other type (the default, partial, included).
		return cloudapi.Missing("ZoneName")
	}
	if err := model.CheckZoneName(z.Name); err != nil {
		return err
	}
	z.Area = cmp.Or(z.Area, model.AreaOverseas)
	return model.CheckArea("Area", z.Area)
}

// checkZoneNameFree refuses a second zone of the same name in the account
// unless duplicates are allowed, in which case the alias tells them apart.
func checkZoneNameFree(tx *resource.Tx, z *model.TeoZone, allowDup bool) error {
	if z.Name == "" {
		return nil
	}
	zones, _, err := resource.List[model.TeoZone](tx, store.Query{})
	if err != nil {
		return err
	}
	for _, o := range zones {
		if o.Name != z.Name || o.ID == z.ID {
			continue
		}
		if !allowDup {
			return apierr.New(apierr.ResourceInUse, "the site %s already exists in this account (%s); set AllowDuplicates and an AliasZoneName to add it again", z.Name, o.ID)
		}
		if o.AliasName == z.AliasName {
			return apierr.New(apierr.Code("InvalidParameterValue.ZoneSameAsName"), "AliasZoneName %q is already used by %s for %s", z.AliasName, o.ID, z.Name)
		}
	}
	return nil
}

// ModifyZone changes a zone's type, alias, area or vanity name servers.
// A noDomainAccess zone may only become a CNAME (partial) zone.
func (s *Service) ModifyZone(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyZoneRequest) (*teoapi.ModifyZoneResponse, error) {
	return &teoapi.ModifyZoneResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		z, err := zoneOf(tx, cloudapi.Value(req.ZoneId))
		if err != nil {
			return err
		}
		if err := applyZoneChange(z, req); err != nil {
			return err
		}
		if err := checkZoneNameFree(tx, z, true); err != nil {
			return err
		}
		z.ModifyTime = call.Time.Unix()
		return tx.Put(z)
	})
}

func applyZoneChange(z *model.TeoZone, req *teoapi.ModifyZoneRequest) error {
	if z.Type == model.ZoneNoDomainAccess {
		if req.VanityNameServers != nil || req.AliasZoneName != nil || req.Area != nil {
			return apierr.New(apierr.Code("OperationDenied.NoDomainAccessZoneOnlySupportModifyType"), "a noDomainAccess zone can only be switched to CNAME access (Type partial with ZoneName)")
		}
		if req.Type == nil {
			return nil
		}
		if *req.Type != model.ZonePartial {
			return apierr.New(apierr.Code("OperationDenied.NoDomainAccessZoneOnlyAllowModifiedToCNAME"), "a noDomainAccess zone can only be switched to Type partial, not %q", *req.Type)
		}
		if cloudapi.Value(req.ZoneName) == "" {
			return apierr.New(apierr.Code("InvalidParameter.ZoneNameIsRequired"), "ZoneName is required to switch a noDomainAccess zone to CNAME access")
		}
		if err := model.CheckZoneName(*req.ZoneName); err != nil {
			return err
		}
		z.Type, z.Name, z.Area = model.ZonePartial, *req.ZoneName, model.AreaOverseas
		return nil
	}
	if t := cloudapi.Value(req.Type); t != "" {
		if t != model.ZonePartial && t != model.ZoneFull && t != model.ZoneDNSPodAccess {
			return cloudapi.Invalid("Type", "%q is not full, partial or dnsPodAccess", t)
		}
		z.Type = t
	}
	if req.AliasZoneName != nil {
		if err := model.CheckAliasZoneName(*req.AliasZoneName); err != nil {
			return err
		}
		z.AliasName = *req.AliasZoneName
	}
	if req.Area != nil {
		if err := model.CheckArea("Area", *req.Area); err != nil {
			return err
		}
		z.Area = *req.Area
	}
	if v := req.VanityNameServers; v != nil {
		if err := model.CheckVanityNameServers(cloudapi.Value(v.Switch), v.Servers); err != nil {
			return err
		}
		z.VanitySwitch, z.VanityServers = *v.Switch, v.Servers
	}
	return nil
}

// ModifyZoneStatus pauses or resumes a zone. Pausing is refused while an
// L4 proxy of the zone is deploying or stopping; a paused zone serves no
// L4 traffic (the controller closes its proxies).
func (s *Service) ModifyZoneStatus(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyZoneStatusRequest) (*teoapi.ModifyZoneStatusResponse, error) {
	return &teoapi.ModifyZoneStatusResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		z, err := zoneOf(tx, cloudapi.Value(req.ZoneId))
		if err != nil {
			return err
		}
		if *req.Paused && !z.Paused {
			proxies, err := resource.Children[model.TeoL4Proxy](tx, z.ID)
			if err != nil {
				return err
			}
			for _, p := range proxies {
				if err := p.CheckZonePausable(); err != nil {
					return err
				}
			}
		}
		z.Paused, z.ModifyTime = *req.Paused, call.Time.Unix()
		return tx.Put(z)
	})
}

// DeleteZone deletes a zone and its origin groups. A zone that still has
// L4 proxies is refused (OperationDenied.DeleteZonePreCheckFailed), so a
// delete never cuts live traffic by surprise.
func (s *Service) DeleteZone(ctx context.Context, call *cloudapi.Call, req *teoapi.DeleteZoneRequest) (*teoapi.DeleteZoneResponse, error) {
	return &teoapi.DeleteZoneResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		z, err := zoneOf(tx, cloudapi.Value(req.ZoneId))
		if err != nil {
			return err
		}
		proxies, err := resource.Children[model.TeoL4Proxy](tx, z.ID)
		if err != nil {
			return err
		}
		if len(proxies) > 0 {
			return apierr.New(apierr.Code("OperationDenied.DeleteZonePreCheckFailed"), "the zone %s still has %d L4 proxies (e.g. %s); delete them first", z.ID, len(proxies), proxies[0].ID)
		}
		groups, err := resource.Children[model.TeoOriginGroup](tx, z.ID)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if err := tx.Delete(g); err != nil {
				return err
			}
		}
		gone, err := resource.Children[model.TeoDeparted](tx, z.ID)
		if err != nil {
			return err
		}
		for _, d := range gone {
			if err := tx.Delete(d); err != nil {
				return err
			}
		}
		return tx.Delete(z)
	})
}
