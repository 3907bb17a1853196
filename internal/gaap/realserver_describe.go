package gaap

import (
	"context"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// Documented caps of DescribeRealServers.
const (
	maxRealServerLimit = 50
	maxRealServerTags  = 5
)

// realServerFilters are DescribeRealServers' Filters names, each testing
// one value: both match fuzzily (substring), RealServerIP in any case as
// SearchValue does.
var realServerFilters = map[string]func(r *model.RealServer, value string) bool{
	"RealServerName": func(r *model.RealServer, v string) bool { return strings.Contains(r.Name, strings.TrimSpace(v)) },
	"RealServerIP":   (*model.RealServer).AddressContains,
}

// DescribeRealServers lists the caller's origins of a project (-1: all),
// filtered by SearchValue (address, fuzzy), Filters and TagSet (any tag).
func (s *Service) DescribeRealServers(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeRealServersRequest) (*gaapapi.DescribeRealServersResponse, error) {
	offset, limit, err := paging(req.Offset, req.Limit, maxRealServerLimit)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(req.Filters, realServerFilters); err != nil {
		return nil, err
	}
	if len(req.TagSet) > maxRealServerTags {
		return nil, cloudapi.Invalid("TagSet", "%d tags given; at most %d are allowed", len(req.TagSet), maxRealServerTags)
	}
	q, err := projectQuery(req.ProjectId)
	if err != nil {
		return nil, err
	}
	var hits []*model.RealServer
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		all, _, err := resource.List[model.RealServer](tx, q)
		want := tagsIn(req.TagSet)
		for _, r := range all {
			if realServerMatches(r, req, want) {
				hits = append(hits, r)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	resp := &gaapapi.DescribeRealServersResponse{RealServerSet: []gaapapi.BindRealServerInfo{}, TotalCount: new(int64(len(hits)))}
	for _, r := range resource.Window(hits, offset, limit) {
		resp.RealServerSet = append(resp.RealServerSet, gaapapi.BindRealServerInfo{RealServerIP: new(r.ShownAddress()),
			RealServerId: new(r.ID), RealServerName: new(r.Name), ProjectId: new(r.ProjectID), TagSet: tagsOut(r.Tags)})
	}
	return resp, nil
}

func realServerMatches(r *model.RealServer, req *gaapapi.DescribeRealServersRequest, want []model.Tag) bool {
	if sv := trimmed(req.SearchValue); sv != "" && !r.AddressContains(sv) {
		return false
	}
	for _, f := range req.Filters {
		match := realServerFilters[trimmed(f.Name)]
		if !slices.ContainsFunc(f.Values, func(v string) bool { return match(r, v) }) {
			return false
		}
	}
	return model.MatchesAny(r.Tags, want)
}

// DescribeRealServersStatus tells, per origin, whether a listener or rule
// binds it and under which proxy or group.
func (s *Service) DescribeRealServersStatus(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeRealServersStatusRequest) (*gaapapi.DescribeRealServersStatusResponse, error) {
	if len(req.RealServerIds) == 0 {
		return nil, cloudapi.Missing("RealServerIds")
	}
	resp := &gaapapi.DescribeRealServersStatusResponse{RealServerStatusSet: []gaapapi.RealServerStatus{}}
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		binders, err := originBinders(tx)
		if err != nil {
			return err
		}
		for i, id := range req.RealServerIds {
			if _, err := loadOrigin(tx, portParam("RealServerIds", i), id); err != nil {
				return err
			}
			b, bound := binders[id]
			st := gaapapi.RealServerStatus{RealServerId: new(id), BindStatus: new(int64(0)), ProxyId: new(""), GroupId: new("")}
			if bound {
				st.BindStatus, st.ProxyId, st.GroupId = new(int64(1)), new(b.proxyID), new(b.groupID)
			}
			resp.RealServerStatusSet = append(resp.RealServerStatusSet, st)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.TotalCount = new(int64(len(resp.RealServerStatusSet)))
	return resp, nil
}

// binder is the first listener or rule found binding an origin.
type binder struct {
	kind, id         string // "listener" or "rule", and its ID
	proxyID, groupID string // the owner of the listener
}

// originBinders maps each of the caller's bound origins to a binder.
func originBinders(tx *resource.Tx) (map[string]binder, error) {
	listeners, _, err := resource.List[model.Listener](tx, store.Query{})
	if err != nil {
		return nil, err
	}
	rules, _, err := resource.List[model.Rule](tx, store.Query{})
	if err != nil {
		return nil, err
	}
	out := map[string]binder{}
	byID := make(map[string]*model.Listener, len(listeners))
	for _, l := range listeners {
		byID[l.ID] = l
		for _, b := range l.Bindings {
			if _, seen := out[b.RealServerID]; !seen {
				out[b.RealServerID] = binder{kind: "listener", id: l.ID, proxyID: l.ProxyID, groupID: l.GroupID}
			}
		}
	}
	for _, r := range rules {
		for _, b := range r.Bindings {
			if _, seen := out[b.RealServerID]; seen {
				continue
			}
			bd := binder{kind: "rule", id: r.ID}
			if l := byID[r.ListenerID]; l != nil {
				bd.proxyID, bd.groupID = l.ProxyID, l.GroupID
			}
			out[b.RealServerID] = bd
		}
	}
	return out, nil
}
