package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// taggedKinds are DescribeResourcesByTag's resource types, in answer order.
var taggedKinds = []struct {
	name string
	list func(tx *resource.Tx) (map[string][]model.Tag, []string, error)
}{
	{"Proxy", tagsOf[model.Proxy](func(p *model.Proxy) []model.Tag { return p.Tags })},
	{"ProxyGroup", tagsOf[model.ProxyGroup](func(g *model.ProxyGroup) []model.Tag { return g.Tags })},
	{"RealServer", tagsOf[model.RealServer](func(r *model.RealServer) []model.Tag { return r.Tags })},
}

// tagsOf lists the caller's objects of one kind with their tags, in
// creation order.
func tagsOf[T any, PT interface {
	*T
	model.Object
}](tags func(PT) []model.Tag) func(tx *resource.Tx) (map[string][]model.Tag, []string, error) {
	return func(tx *resource.Tx) (map[string][]model.Tag, []string, error) {
		objs, _, err := resource.List[T, PT](tx, store.Query{})
		byID := make(map[string][]model.Tag, len(objs))
		ids := make([]string, 0, len(objs))
		for _, o := range objs {
			byID[o.Meta().ID] = tags(o)
			ids = append(ids, o.Meta().ID)
		}
		return byID, ids, err
	}
}

// DescribeResourcesByTag finds the caller's proxies, groups and origins
// carrying the tag TagKey=TagValue, of one ResourceType or of all.
func (s *Service) DescribeResourcesByTag(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeResourcesByTagRequest) (*gaapapi.DescribeResourcesByTagResponse, error) {
	kind := trimmed(req.ResourceType)
	known := kind == ""
	for _, k := range taggedKinds {
		known = known || k.name == kind
	}
	if !known {
		return nil, cloudapi.Invalid("ResourceType", "%q is not Proxy, ProxyGroup or RealServer", kind)
	}
	want := []model.Tag{{Key: trimmed(req.TagKey), Value: trimmed(req.TagValue)}}
	out := []gaapapi.TagResourceInfo{}
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		for _, k := range taggedKinds {
			if kind != "" && kind != k.name {
				continue
			}
			byID, ids, err := k.list(tx)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if model.MatchesAny(byID[id], want) {
					out = append(out, gaapapi.TagResourceInfo{ResourceType: new(k.name), ResourceId: new(id)})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeResourcesByTagResponse{TotalCount: new(int64(len(out))), ResourceSet: out}, nil
}
