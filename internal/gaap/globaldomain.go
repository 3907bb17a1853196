package gaap

import (
	"context"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// globalDomainFilters are the DescribeGlobalDomains filter names: exact
// match on the field, without case for the domain names (foldFilters).
var globalDomainFilters = map[string]func(*model.GlobalDomain) string{
	"DomainId":     func(g *model.GlobalDomain) string { return g.ID },
	"FullDomain":   func(g *model.GlobalDomain) string { return g.FullDomain },
	"Alias":        func(g *model.GlobalDomain) string { return g.Alias },
	"DefaultValue": func(g *model.GlobalDomain) string { return g.DefaultValue },
}

// CreateGlobalDomain creates an enabled global domain named
// gd-xxxxxxxx.<DomainSuffix> that resolves to DefaultValue until DNS
// records send some countries to proxies.
func (s *Service) CreateGlobalDomain(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateGlobalDomainRequest) (*gaapapi.CreateGlobalDomainResponse, error) {
	g, err := s.newGlobalDomain(call.Action, req)
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		total, err := resource.Count[model.GlobalDomain](tx)
		if err != nil {
			return err
		}
		if total >= model.MaxGlobalDomains {
			return apierr.New(apierr.LimitExceededDomain, "an account may have at most %d global domains", model.MaxGlobalDomains)
		}
		return tx.Insert(g)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateGlobalDomainResponse{DomainId: new(g.ID)}, nil
}

// newGlobalDomain validates a CreateGlobalDomain request (action) into the
// domain to store.
func (s *Service) newGlobalDomain(action string, req *gaapapi.CreateGlobalDomainRequest) (*model.GlobalDomain, error) {
	project := cloudapi.Value(req.ProjectId)
	if err := model.ValidateProjectID(project); err != nil {
		return nil, err
	}
	tags, err := validTags(action, req.TagSet)
	if err != nil {
		return nil, err
	}
	g := &model.GlobalDomain{Base: model.Base{ID: model.NewID(model.PrefixGlobalDomain)},
		ProjectID: project, Status: model.GlobalEnabled, Tags: tags}
	g.Domain = "gd-" + strings.TrimPrefix(g.ID, model.PrefixGlobalDomain+"-")
	g.FullDomain = g.Domain + "." + s.cfg.DomainSuffix
	// No other name can lead to a FullDomain that does not exist yet: only
	// its own can make a loop.
	if err := setGlobalAttrs(g, req.DefaultValue, req.Alias, nil); err != nil {
		return nil, err
	}
	return g, nil
}

// setGlobalAttrs validates and applies DefaultValue and Alias when given.
// entries are the account's (defaultEntries), which a DefaultValue must
// not lead back to g through.
func setGlobalAttrs(g *model.GlobalDomain, defaultValue, alias *string, entries model.DefaultEntries) error {
	if defaultValue != nil {
		v, err := model.ParseGlobalTarget("DefaultValue", *defaultValue)
		if err != nil {
			return err
		}
		if err := entries.CheckLoop("DefaultValue", g.FullDomain, v); err != nil {
			return err
		}
		g.DefaultValue, g.DefaultValueAsGiven = v, strings.TrimSpace(*defaultValue)
	}
	if alias != nil {
		a := strings.TrimSpace(*alias)
		if len([]rune(a)) > model.MaxAliasLen {
			return cloudapi.Invalid("Alias", "at most %d characters", model.MaxAliasLen)
		}
		g.Alias = a
	}
	return nil
}

// defaultEntries reads the default entries of the account's global
// domains and group domains, which a default entry must not lead back
// through (model.DefaultEntries).
func defaultEntries(tx *resource.Tx) (model.DefaultEntries, error) {
	domains, _, err := resource.List[model.GlobalDomain](tx, store.Query{})
	if err != nil {
		return nil, err
	}
	groups, _, err := resource.List[model.ProxyGroup](tx, store.Query{})
	if err != nil {
		return nil, err
	}
	return model.NewDefaultEntries(domains, groups), nil
}

// DescribeGlobalDomains lists the caller's global domains of a project
// (-1 = every project), oldest first.
func (s *Service) DescribeGlobalDomains(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeGlobalDomainsRequest) (*gaapapi.DescribeGlobalDomainsResponse, error) {
	offset, limit, err := paging(req.Offset, req.Limit, 0)
	if err != nil {
		return nil, err
	}
	if err := checkFilters(req.Filters, globalDomainFilters); err != nil {
		return nil, err
	}
	// The action's error list names this code and no plain
	// InvalidParameterValue: clients branch on the documented codes.
	if len(req.TagSet) > maxTagFilters {
		return nil, apierr.New(apierr.InvalidParameterValueInvalidTags, "at most %d tags may be given in TagSet", maxTagFilters)
	}
	q, err := projectQuery(req.ProjectId)
	if err != nil {
		return nil, err
	}
	var page []*model.GlobalDomain
	var total int
	var live map[string]bool
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		all, _, err := resource.List[model.GlobalDomain](tx, q)
		if err != nil {
			return err
		}
		want := tagsIn(req.TagSet)
		matched := slices.DeleteFunc(all, func(g *model.GlobalDomain) bool { return !globalDomainMatches(g, req, want) })
		total, page = len(matched), resource.Window(matched, offset, limit)
		live, err = liveProxies(tx, page)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := []gaapapi.Domain{}
	for _, g := range page {
		out = append(out, globalDomainOut(g, live))
	}
	return &gaapapi.DescribeGlobalDomainsResponse{Domains: out, TotalCount: new(int64(total))}, nil
}

func globalDomainMatches(g *model.GlobalDomain, req *gaapapi.DescribeGlobalDomainsRequest, want []model.Tag) bool {
	return filtersMatch(req.Filters, globalDomainFilters, g) && model.MatchesAny(g.Tags, want)
}

// globalDomainOut renders g. ProxyCount counts only the proxies in live
// (the caller's existing ones), as DescribeGlobalDomainDns lists them.
func globalDomainOut(g *model.GlobalDomain, live map[string]bool) gaapapi.Domain {
	var proxies int64
	for _, id := range g.ProxyIDs() {
		if live[id] {
			proxies++
		}
	}
	return gaapapi.Domain{
		DomainId: new(g.ID), FullDomain: new(g.FullDomain), Alias: new(g.Alias),
		Type: new(model.GlobalTargetType(g.DefaultValue)), Status: new(g.Status), ProjectId: new(g.ProjectID),
		DefaultValue: new(g.ShownDefaultValue()), ProxyCount: new(proxies),
		CreateTime: new(g.CreateTime), UpdateTime: optional(g.UpdateTime), TagSet: tagsOut(g.Tags),
		BanStatus: new("RECOVER"),
	}
}

// liveProxies is the set of the proxies the domains' records name that
// still exist (the caller's): only those are read.
func liveProxies(tx *resource.Tx, domains []*model.GlobalDomain) (map[string]bool, error) {
	var ids []string
	for _, g := range domains {
		ids = append(ids, g.ProxyIDs()...)
	}
	set := map[string]bool{}
	if len(ids) == 0 {
		return set, nil // An empty IDs query would list them all.
	}
	found, _, err := resource.List[model.Proxy](tx, store.Query{IDs: ids})
	for _, p := range found {
		set[p.ID] = true
	}
	return set, err
}

// ModifyGlobalDomainAttribute changes the project, alias and default
// entry of a global domain.
func (s *Service) ModifyGlobalDomainAttribute(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyGlobalDomainAttributeRequest) (*gaapapi.ModifyGlobalDomainAttributeResponse, error) {
	if err := model.ValidateProjectID(cloudapi.Value(req.ProjectId)); err != nil {
		return nil, err
	}
	err := s.editGlobalDomain(ctx, call, trimmed(req.DomainId), func(tx *resource.Tx, g *model.GlobalDomain) error {
		g.ProjectID = cloudapi.ValueOr(req.ProjectId, g.ProjectID)
		var entries model.DefaultEntries
		if req.DefaultValue != nil {
			var err error
			if entries, err = defaultEntries(tx); err != nil {
				return err
			}
		}
		return setGlobalAttrs(g, req.DefaultValue, req.Alias, entries)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyGlobalDomainAttributeResponse{}, nil
}

// globalDomain loads a global domain. One that does not exist is
// FailedOperation, as the reference's DisableGlobalDomain example answers
// it ("domain not exits"): most global-domain actions list that code and
// none lists ResourceNotFound.
func globalDomain(tx *resource.Tx, id string) (*model.GlobalDomain, error) {
	g, err := resource.Get[model.GlobalDomain](tx, id)
	if apierr.Is(err, apierr.ResourceNotFound) {
		return nil, apierr.New(apierr.FailedOperation, "the global domain %s does not exist", id)
	}
	return g, err
}

// editGlobalDomain applies fn to a global domain in one transaction and
// stamps UpdateTime.
func (s *Service) editGlobalDomain(ctx context.Context, call *cloudapi.Call, id string, fn func(*resource.Tx, *model.GlobalDomain) error) error {
	return s.update(ctx, call, func(tx *resource.Tx) error {
		g, err := globalDomain(tx, id)
		if err != nil {
			return err
		}
		if err := fn(tx, g); err != nil {
			return err
		}
		g.UpdateTime = tx.Now.Unix()
		return tx.Put(g)
	})
}
