package gaap

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// groupVersion is the version Tencent reports for groups created today.
const groupVersion = "3.0"

// CreateProxyGroup creates a group and one proxy in each access region of
// AccessRegionSet; all of them are CREATING until the data plane has them.
func (s *Service) CreateProxyGroup(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateProxyGroupRequest) (*gaapapi.CreateProxyGroupResponse, error) {
	g, specs, err := s.newGroup(call.Action, req)
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		if err := tx.Insert(g); err != nil {
			return err
		}
		ids := []string{g.ID}
		for _, sp := range specs {
			p := groupProxy(g, sp)
			if err := s.placeProxy(tx, call.Account, p); err != nil {
				return err
			}
			ids = append(ids, p.ID)
		}
		_, err := tx.StartTask(ids...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateProxyGroupResponse{GroupId: new(g.ID)}, nil
}

// newGroup validates a CreateProxyGroup request (action) into the group
// and the specs of its proxies.
func (s *Service) newGroup(action string, req *gaapapi.CreateProxyGroupRequest) (*model.ProxyGroup, []proxySpec, error) {
	if err := model.ValidateDisplayName("GroupName", *req.GroupName, model.MaxGroupNameLen); err != nil {
		return nil, nil, err
	}
	if err := model.ValidateProjectID(*req.ProjectId); err != nil {
		return nil, nil, err
	}
	dest, err := s.cfg.destRegion(action, *req.RealServerRegion)
	if err != nil {
		return nil, nil, err
	}
	ipv, err := model.ParseIPVersion(req.IPAddressVersion)
	if err != nil {
		return nil, nil, err
	}
	pkg, err := model.ParseGroupPackageType(req.PackageType)
	if err != nil {
		return nil, nil, err
	}
	// Checked for each member too (groupSpecs), but a group created
	// without any could otherwise never have one.
	if !dest.offers(ipv, pkg, false) {
		code := listedCode(action, apierr.InvalidParameterValueProxyAndRegionFeatureConflict,
			apierr.InvalidParameterValueFeatureConflict, apierr.InvalidParameterValue)
		return nil, nil, apierr.New(code, "origin region %s does not offer %s %s proxies", dest.ID, ipv, pkg)
	}
	tags, err := validTags(action, req.TagSet)
	if err != nil {
		return nil, nil, err
	}
	g := &model.ProxyGroup{
		Base: model.Base{ID: model.NewID(model.PrefixGroup)}, Name: *req.GroupName, ProjectID: *req.ProjectId,
		RealServerRegion: *req.RealServerRegion, Status: model.GroupCreating, IPAddressVersion: ipv,
		PackageType: pkg, Http3Supported: http3For(ipv), Tags: tags,
	}
	specs, err := s.groupSpecs(action, req.AccessRegionSet, g)
	return g, specs, err
}

// groupSpecs validates AccessRegionSet: one proxy per access region, at
// most MaxProxiesPerGroup of them.
func (s *Service) groupSpecs(action string, set []gaapapi.AccessConfiguration, g *model.ProxyGroup) ([]proxySpec, error) {
	if len(set) > s.cfg.MaxProxiesPerGroup {
		return nil, apierr.New(apierr.FailedOperationLimitNumofProxiesInGroup,
			"AccessRegionSet has %d regions; a group holds at most %d proxies", len(set), s.cfg.MaxProxiesPerGroup)
	}
	specs := make([]proxySpec, 0, len(set))
	for i, ac := range set {
		sp, err := specFromAccessConfig(ac, i, g.RealServerRegion, g.IPAddressVersion, g.PackageType)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(specs, func(o proxySpec) bool { return o.AccessRegion == sp.AccessRegion }) {
			return nil, cloudapi.Invalid(fmt.Sprintf("AccessRegionSet.%d.AccessRegion", i), "%s is listed twice; a group has one proxy per access region", sp.AccessRegion)
		}
		if _, _, err := s.cfg.validateProxySpec(action, sp); err != nil {
			return nil, err
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// groupProxy is the proxy of group g in one access region.
func groupProxy(g *model.ProxyGroup, sp proxySpec) *model.Proxy {
	return &model.Proxy{
		Base: model.Base{ID: model.NewID(model.PrefixProxy)}, Name: g.Name, ProjectID: g.ProjectID,
		AccessRegion: sp.AccessRegion, RealServerRegion: g.RealServerRegion, Bandwidth: sp.Bandwidth,
		Concurrent: sp.Concurrent, Status: model.ProxyCreating, GroupID: g.ID, BillingType: sp.BillingType,
		IPAddressVersion: sp.IPVersion, NetworkType: sp.NetworkType, PackageType: sp.PackageType,
		Http3Supported: g.Http3Supported, Tags: slices.Clone(g.Tags),
	}
}

// groupFits is checkGroupMember as CheckProxyCreate's flag: only an
// unknown group is an error.
func (s *Service) groupFits(tx *resource.Tx, id string, sp proxySpec) (bool, error) {
	err := s.checkGroupMember(tx, id, sp)
	var ae *apierr.Error
	if err != nil && errors.As(err, &ae) && ae.Code != apierr.ResourceNotFound {
		return false, nil
	}
	return err == nil, err
}

// http3For is the Http3Supported flag: Tencent enables HTTP/3 on IPv4
// proxies and groups and not on IPv6 ones (the parameter is deprecated).
func http3For(ipVersion string) int64 {
	if ipVersion == model.AddrIPv4 {
		return 1
	}
	return 0
}

// validTags converts and checks a TagSet of a create action (model's tag
// rules), refusing a bad tag with InvalidParameterValue.InvalidTags where
// action lists that code, else InvalidParameterValue (CreateGlobalDomain
// lists no parameter code), and too many with LimitExceeded.TagQuota,
// which all of them list.
func validTags(action string, in []gaapapi.TagPair) ([]model.Tag, error) {
	tags := tagsIn(in)
	code := listedCode(action, apierr.InvalidParameterValueInvalidTags, apierr.InvalidParameterValue)
	if err := model.CheckNewTags(code, listedCode(action, apierr.LimitExceededTagQuota, code), "TagSet", tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// loadGroup returns the group a request's GroupId names (idParam) and its
// proxies.
func loadGroup(tx *resource.Tx, groupID *string) (*model.ProxyGroup, []*model.Proxy, error) {
	id, err := idParam("GroupId", groupID)
	if err != nil {
		return nil, nil, err
	}
	g, err := resource.Get[model.ProxyGroup](tx, id)
	if err != nil {
		return nil, nil, err
	}
	proxies, err := resource.Children[model.Proxy](tx, id)
	return g, proxies, err
}
