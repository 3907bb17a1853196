package vpc

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// vpcFilters are DescribeVpcs' filters except tag:<key>: each reports
// whether a VPC matches any of the values.
var vpcFilters = map[string]func(v *model.Vpc, values []string) bool{
	"vpc-name": func(v *model.Vpc, vals []string) bool {
		return slices.ContainsFunc(vals, func(x string) bool { return strings.Contains(v.Name, x) })
	},
	"vpc-id": func(v *model.Vpc, vals []string) bool { return slices.Contains(vals, v.ID) },
	"is-default": func(v *model.Vpc, vals []string) bool {
		return slices.ContainsFunc(vals, func(x string) bool { return strings.EqualFold(x, boolString(v.IsDefault)) })
	},
	"cidr-block": func(v *model.Vpc, vals []string) bool { return slices.ContainsFunc(vals, cidrMatcher(v.CidrBlock)) },
	"tag-key": func(v *model.Vpc, vals []string) bool {
		return slices.ContainsFunc(v.Tags, func(t model.Tag) bool { return slices.Contains(vals, t.Key) })
	},
	// The IPv6 CIDR's block, operator and address type: no VPC here has
	// one (Ipv6CidrBlock is empty), so they match nothing.
	"ipv6-cidr-block": noIPv6,
	"isp-type":        noIPv6,
	"address-type":    noIPv6,
}

func noIPv6(*model.Vpc, []string) bool { return false }

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// cidrMatcher matches a cidr-block value: the CIDR itself or, as in the
// API's example ("10.0.0.0"), its network address.
func cidrMatcher(cidr string) func(string) bool {
	p := netip.MustParsePrefix(cidr)
	return func(x string) bool { return x == cidr || x == p.Addr().String() }
}

// vpcFilterMatch returns the matcher of one filter, nil for an unknown name.
func vpcFilterMatch(name string) func(v *model.Vpc, values []string) bool {
	if key, ok := strings.CutPrefix(name, "tag:"); ok && key != "" {
		return func(v *model.Vpc, vals []string) bool {
			return slices.ContainsFunc(v.Tags, func(t model.Tag) bool { return t.Key == key && slices.Contains(vals, t.Value) })
		}
	}
	return vpcFilters[name]
}

// DescribeVpcs lists the caller's VPCs, oldest first, by IDs or filters.
func (s *Service) DescribeVpcs(ctx context.Context, call *cloudapi.Call, req *vpcapi.DescribeVpcsRequest) (*vpcapi.DescribeVpcsResponse, error) {
	offset, limit, err := stringPaging(req.Offset, req.Limit)
	if err != nil {
		return nil, err
	}
	if err := checkVpcQuery(req); err != nil {
		return nil, err
	}
	var all []*model.Vpc
	err = s.view(ctx, call, func(tx *resource.Tx) (err error) {
		all, _, err = resource.List[model.Vpc](tx, store.Query{IDs: req.VpcIds})
		if err != nil {
			return err
		}
		return missingID(req.VpcIds, all, "VPC")
	})
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(v *model.Vpc) bool { return !vpcMatches(v, req.Filters) })
	set := []vpcapi.Vpc{}
	for _, v := range resource.Window(all, offset, limit) {
		set = append(set, *vpcOut(v))
	}
	return &vpcapi.DescribeVpcsResponse{TotalCount: new(int64(len(all))), VpcSet: set}, nil
}

func checkVpcQuery(req *vpcapi.DescribeVpcsRequest) error {
	switch {
	case len(req.VpcIds) > 0 && len(req.Filters) > 0:
		return apierr.New(apierr.InvalidParameterCoexist, "VpcIds and Filters cannot be given together")
	case len(req.VpcIds) > maxIDs:
		return apierr.New(apierr.InvalidParameterValueLimitExceeded, "at most %d VpcIds may be given", maxIDs)
	}
	for i, id := range req.VpcIds {
		if err := checkID(fmt.Sprintf("VpcIds.%d", i), model.PrefixVpc, id); err != nil {
			return err
		}
	}
	for i, f := range req.Filters {
		if vpcFilterMatch(*f.Name) == nil {
			return apierr.New(apierr.Code("InvalidParameter.FilterInvalidKey"), "Filters.%d.Name %q is not a DescribeVpcs filter", i, *f.Name)
		}
		if err := filterValues(cloudapi.Index("Filters", i), f.Values); err != nil {
			return err
		}
	}
	return nil
}

// vpcMatches ANDs the filters; each filter ORs its values.
func vpcMatches(v *model.Vpc, filters []vpcapi.Filter) bool {
	for _, f := range filters {
		if !vpcFilterMatch(*f.Name)(v, f.Values) {
			return false
		}
	}
	return true
}

// missingID is ResourceNotFound naming the first of ids not in found.
func missingID[T model.Object](ids []string, found []T, what string) error {
	have := map[string]bool{}
	for _, o := range found {
		have[o.Meta().ID] = true
	}
	for _, id := range ids {
		if !have[id] {
			return apierr.New(apierr.ResourceNotFound, "the %s %s does not exist", what, id)
		}
	}
	return nil
}

// filterValues refuses a filter without values (param prefixes the
// name): it would match nothing, and a caller who sent it meant something.
func filterValues(param string, values []string) error {
	if len(values) == 0 {
		return apierr.New(apierr.InvalidParameterValue, "%sValues must not be empty", param)
	}
	return nil
}
