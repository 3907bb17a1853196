package vpc

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// mirrorFilters are DescribeTrafficMirrors' filters: each reports whether
// a mirror matches any of the values.
var mirrorFilters = map[string]func(m *model.TrafficMirror, vals []string) bool{
	"vpc-id":            func(m *model.TrafficMirror, vals []string) bool { return slices.Contains(vals, m.VpcID) },
	"traffic-mirror-id": func(m *model.TrafficMirror, vals []string) bool { return slices.Contains(vals, m.ID) },
	"traffic-mirror-name": func(m *model.TrafficMirror, vals []string) bool {
		return slices.ContainsFunc(vals, func(x string) bool { return strings.Contains(m.Name, x) })
	},
	"tag-key": func(m *model.TrafficMirror, vals []string) bool {
		return slices.ContainsFunc(m.Tags, func(t model.Tag) bool { return slices.Contains(vals, t.Key) })
	},
}

// DescribeTrafficMirrors lists the caller's mirrors, newest first.
func (s *Service) DescribeTrafficMirrors(ctx context.Context, call *cloudapi.Call, req *vpcapi.DescribeTrafficMirrorsRequest) (*vpcapi.DescribeTrafficMirrorsResponse, error) {
	offset, limit, err := paging(req.Offset, req.Limit)
	if err != nil {
		return nil, err
	}
	if err := checkMirrorQuery(req); err != nil {
		return nil, err
	}
	var all []*model.TrafficMirror
	err = s.view(ctx, call, func(tx *resource.Tx) (err error) {
		all, _, err = resource.List[model.TrafficMirror](tx, store.Query{IDs: req.TrafficMirrorIds, Desc: true})
		if err != nil {
			return err
		}
		return missingID(req.TrafficMirrorIds, all, "traffic mirror")
	})
	if err != nil {
		return nil, err
	}
	if f := req.Filters; f != nil {
		all = slices.DeleteFunc(all, func(m *model.TrafficMirror) bool { return !mirrorFilters[*f.Name](m, f.Values) })
	}
	set := []vpcapi.TrafficMirror{}
	for _, m := range resource.Window(all, offset, limit) {
		set = append(set, *mirrorOut(m))
	}
	return &vpcapi.DescribeTrafficMirrorsResponse{TrafficMirrorSet: set, TotalCount: new(int64(len(all)))}, nil
}

func checkMirrorQuery(req *vpcapi.DescribeTrafficMirrorsRequest) error {
	if len(req.TrafficMirrorIds) > maxIDs {
		return apierr.New(apierr.InvalidParameterValueLimitExceeded, "at most %d TrafficMirrorIds may be given", maxIDs)
	}
	for i, id := range req.TrafficMirrorIds {
		if err := checkID(fmt.Sprintf("TrafficMirrorIds.%d", i), model.PrefixTrafficMirror, id); err != nil {
			return err
		}
	}
	if f := req.Filters; f != nil {
		if mirrorFilters[*f.Name] == nil {
			return apierr.New(apierr.Code("InvalidParameter.FilterInvalidKey"), "Filters.Name %q is not vpc-id, traffic-mirror-id, traffic-mirror-name or tag-key", *f.Name)
		}
		if err := filterValues("Filters.", f.Values); err != nil {
			return err
		}
	}
	return nil
}
