package gaap

import (
	"context"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// AddRealServers registers origins, one per address, all with the same
// name, project and tags. An address already registered in the project
// is InvalidParameterValue.DuplicateRS.
func (s *Service) AddRealServers(ctx context.Context, call *cloudapi.Call, req *gaapapi.AddRealServersRequest) (*gaapapi.AddRealServersResponse, error) {
	if *req.ProjectId < 0 {
		return nil, cloudapi.Invalid("ProjectId", "%d is not a project; use 0 (the default project) or a project ID", *req.ProjectId)
	}
	if err := model.CheckName("RealServerName", *req.RealServerName); err != nil {
		return nil, err
	}
	if len(req.RealServerIP) == 0 {
		return nil, cloudapi.Missing("RealServerIP")
	}
	if len(req.RealServerIP) > model.MaxOriginsPerCall {
		return nil, cloudapi.Invalid("RealServerIP", "%d addresses given; at most %d may be added in one call", len(req.RealServerIP), model.MaxOriginsPerCall)
	}
	tags, err := validTags(call.Action, req.TagSet)
	if err != nil {
		return nil, err
	}
	fresh := make([]*model.RealServer, len(req.RealServerIP))
	for i, addr := range req.RealServerIP {
		norm, isDomain, err := model.ParseOrigin(portParam("RealServerIP", i), addr, s.cfg.Caps.PrivateOrigins)
		if err != nil {
			return nil, err
		}
		fresh[i] = &model.RealServer{Base: model.Base{ID: model.NewID(model.PrefixRealServer)},
			Name: *req.RealServerName, Address: norm, AddressAsGiven: strings.TrimSpace(addr), IsDomain: isDomain, ProjectID: *req.ProjectId, Tags: tags}
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		n, err := resource.Count[model.RealServer](tx)
		if err != nil {
			return err
		}
		if n+len(fresh) > model.MaxOrigins {
			return apierr.New(apierr.LimitExceeded, "an account may hold at most %d origins; it has %d, and %d more were given", model.MaxOrigins, n, len(fresh))
		}
		existing, _, err := resource.List[model.RealServer](tx, store.Query{Project: req.ProjectId})
		if err != nil {
			return err
		}
		if err := model.CheckNewOrigins(existing, fresh); err != nil {
			return err
		}
		for _, r := range fresh {
			if err := tx.Insert(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp := &gaapapi.AddRealServersResponse{RealServerSet: make([]gaapapi.NewRealServer, len(fresh))}
	for i, r := range fresh {
		resp.RealServerSet[i] = gaapapi.NewRealServer{RealServerId: new(r.ID), RealServerIP: new(r.ShownAddress())}
	}
	return resp, nil
}

// ModifyRealServerName renames an origin.
func (s *Service) ModifyRealServerName(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyRealServerNameRequest) (*gaapapi.ModifyRealServerNameResponse, error) {
	if err := model.CheckName("RealServerName", *req.RealServerName); err != nil {
		return nil, err
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		r, err := loadOrigin(tx, "RealServerId", *req.RealServerId)
		if err != nil {
			return err
		}
		r.Name = *req.RealServerName
		return tx.Put(r)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyRealServerNameResponse{}, nil
}

// RemoveRealServers deletes origins; all or none: an unknown origin or one
// still bound to a listener or rule refuses the call.
func (s *Service) RemoveRealServers(ctx context.Context, call *cloudapi.Call, req *gaapapi.RemoveRealServersRequest) (*gaapapi.RemoveRealServersResponse, error) {
	if len(req.RealServerIds) == 0 {
		return nil, cloudapi.Missing("RealServerIds")
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		binders, err := originBinders(tx)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for i, id := range req.RealServerIds {
			if seen[id] {
				continue
			}
			seen[id] = true
			r, err := loadOrigin(tx, portParam("RealServerIds", i), id)
			if err != nil {
				return err
			}
			if b, ok := binders[id]; ok {
				return apierr.New(apierr.FailedOperationRealServerAlreadyBound, "origin %s is bound to %s %s; unbind it first", id, b.kind, b.id)
			}
			if err := tx.Delete(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.RemoveRealServersResponse{}, nil
}

// loadOrigin loads an origin by ID for tx's action: unknown, and another
// account's origin exactly like it (docs/api-protocol.md "Accounts": a
// distinct answer would tell any caller which IDs exist elsewhere), is
// ResourceNotFound where the action's error list names it (listedCode),
// InvalidParameterValue otherwise. RealServerNotBelong stays for the
// caller's own origin in another project (model.RealServer's check).
func loadOrigin(tx *resource.Tx, param, id string) (*model.RealServer, error) {
	r, err := resource.Get[model.RealServer](tx, id)
	if apierr.Is(err, apierr.ResourceNotFound) {
		return nil, apierr.New(listedCode(tx.Action, apierr.ResourceNotFound, apierr.InvalidParameterValue), "%s: the origin %s does not exist", param, id)
	}
	return r, err
}
