package gaap

import (
	"context"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// maxGroupList is DescribeProxyGroupList's Limit cap.
const maxGroupList = 100

// groupFilters maps DescribeProxyGroupList filter names to the field they
// test. GroupId is not in the reference's list (DescribeProxies has it), but
// Tencent takes it and the Terraform provider's tencentcloud_gaap_proxy_groups
// data source sends it (docs/terraform.md).
var groupFilters = map[string]func(g *model.ProxyGroup) string{
	"RealServerRegion": func(g *model.ProxyGroup) string { return g.RealServerRegion },
	"PackageType":      func(g *model.ProxyGroup) string { return g.PackageType },
	"GroupId":          func(g *model.ProxyGroup) string { return g.ID },
}

// groupView is a group with its proxies, as the describe actions show it.
type groupView struct {
	g       *model.ProxyGroup
	proxies []*model.Proxy
}

// DescribeProxyGroupList lists groups newest first. ProjectId -1 means
// every project; Filters are ANDed, their values and TagSet ORed.
func (s *Service) DescribeProxyGroupList(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeProxyGroupListRequest) (*gaapapi.DescribeProxyGroupListResponse, error) {
	offset, limit, err := paging(req.Offset, req.Limit, maxGroupList)
	if err != nil {
		return nil, err
	}
	if err := checkGroupQuery(req); err != nil {
		return nil, err
	}
	q, err := projectQuery(req.ProjectId)
	if err != nil {
		return nil, err
	}
	var page []groupView
	total := 0
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		groups, _, err := resource.List[model.ProxyGroup](tx, q)
		if err != nil {
			return err
		}
		want := tagsIn(req.TagSet)
		groups = slices.DeleteFunc(groups, func(g *model.ProxyGroup) bool { return !groupMatches(g, req, want) })
		slices.Reverse(groups) // the store lists in creation order (nanoseconds): newest first

		total = len(groups)
		page, err = viewGroups(tx, resource.Window(groups, offset, limit))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]gaapapi.ProxyGroupInfo, 0, len(page))
	for _, v := range page {
		out = append(out, s.groupInfo(v, call.Language))
	}
	return &gaapapi.DescribeProxyGroupListResponse{TotalCount: new(int64(total)), ProxyGroupList: out}, nil
}

func checkGroupQuery(req *gaapapi.DescribeProxyGroupListRequest) error {
	if len(req.TagSet) > model.MaxTags {
		return apierr.New(apierr.InvalidParameterValue, "at most %d tags may be given in TagSet", model.MaxTags)
	}
	return checkFilters(req.Filters, groupFilters)
}

func groupMatches(g *model.ProxyGroup, req *gaapapi.DescribeProxyGroupListRequest, want []model.Tag) bool {
	return filtersMatch(req.Filters, groupFilters, g) && model.MatchesAny(g.Tags, want)
}

// viewGroups loads the proxies of each group.
func viewGroups(tx *resource.Tx, groups []*model.ProxyGroup) ([]groupView, error) {
	out := make([]groupView, 0, len(groups))
	for _, g := range groups {
		proxies, err := resource.Children[model.Proxy](tx, g.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, groupView{g, proxies})
	}
	return out, nil
}

// groupInfo renders a group as ProxyGroupInfo.
func (s *Service) groupInfo(v groupView, lang string) gaapapi.ProxyGroupInfo {
	g := v.g
	_, status := g.State(v.proxies)
	return gaapapi.ProxyGroupInfo{
		GroupId: new(g.ID), Domain: optional(g.Domain), GroupName: new(g.Name), ProjectId: new(g.ProjectID),
		RealServerRegionInfo: s.regionInfo(g.RealServerRegion, lang, false), Status: new(status),
		TagSet: tagsOut(g.Tags), Version: new(groupVersion), CreateTime: new(g.CreateTime),
		ProxyType: new(int64(0)), Http3Supported: new(g.Http3Supported), FeatureBitmap: new(g.Features()),
	}
}

// optional is nil for the zero value ("", 0: the API's null), else a
// pointer to v.
func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return new(v)
}

// DescribeProxyGroupDetails returns one group.
func (s *Service) DescribeProxyGroupDetails(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeProxyGroupDetailsRequest) (*gaapapi.DescribeProxyGroupDetailsResponse, error) {
	var v groupView
	err := s.view(ctx, call, func(tx *resource.Tx) (err error) {
		v.g, v.proxies, err = loadGroup(tx, req.GroupId)
		return err
	})
	if err != nil {
		return nil, err
	}
	g := v.g
	code, _ := g.State(v.proxies)
	return &gaapapi.DescribeProxyGroupDetailsResponse{ProxyGroupDetail: &gaapapi.ProxyGroupDetail{
		CreateTime: new(g.CreateTime), ProjectId: new(g.ProjectID), ProxyNum: new(int64(len(model.Members(v.proxies)))),
		Status: new(code), OwnerUin: new(g.Account), CreateUin: new(g.Account), GroupName: new(g.Name),
		DnsDefaultIp: new(g.ShownDnsDefaultIP()), Domain: optional(g.Domain),
		RealServerRegionInfo: s.regionInfo(g.RealServerRegion, call.Language, false), IsOldGroup: new(false),
		GroupId: new(g.ID), TagSet: tagsOut(g.Tags), PolicyId: optional(g.PolicyID), Version: new(groupVersion),
		ClientIPMethod: s.cfg.clientIPMethods(g.IPAddressVersion), IPAddressVersion: new(g.IPAddressVersion), PackageType: new(g.PackageType),
		Http3Supported: new(g.Http3Supported), FeatureBitmap: new(g.Features()), IsSupportTLSChoice: new(int64(1)),
	}}, nil
}

// ModifyProxyGroupAttribute renames a group and/or moves it, with its
// proxies, to another project; not while its listeners or rules have
// origins of another project bound (checkProjectMove).
func (s *Service) ModifyProxyGroupAttribute(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyProxyGroupAttributeRequest) (*gaapapi.ModifyProxyGroupAttributeResponse, error) {
	if req.GroupName != nil {
		if err := model.ValidateDisplayName("GroupName", *req.GroupName, model.MaxGroupNameLen); err != nil {
			return nil, err
		}
	}
	if req.ProjectId != nil {
		if err := model.ValidateProjectID(*req.ProjectId); err != nil {
			return nil, err
		}
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		g, proxies, err := loadGroup(tx, req.GroupId)
		if err != nil {
			return err
		}
		if g.Status == model.GroupDestroying {
			return apierr.New(notRunningCode(tx.Action, apierr.FailedOperationGroupStatusNotInRuning), "group %s is being destroyed", g.ID)
		}
		if req.GroupName != nil {
			g.Name = *req.GroupName
		}
		if req.ProjectId != nil {
			if err := checkProjectMove(tx, g.ID, *req.ProjectId); err != nil {
				return err
			}
			g.ProjectID = *req.ProjectId
			for _, p := range proxies {
				p.ProjectID = g.ProjectID
				if err := tx.Put(p); err != nil {
					return err
				}
			}
		}
		return tx.Put(g)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyProxyGroupAttributeResponse{}, nil
}
