package gaap

import (
	"context"
	"errors"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/vip"
)

// editProxies applies edit to every named proxy in one transaction; a
// proxy being destroyed cannot be edited.
func (s *Service) editProxies(ctx context.Context, call *cloudapi.Call, old, cur []string, token *string,
	edit func(*resource.Tx, *model.Proxy) error) error {
	ids, err := model.ProxyIDs(old, cur)
	if err != nil {
		return err
	}
	return s.update(ctx, call, func(tx *resource.Tx) error {
		if err := tx.ClaimToken(cloudapi.Value(token)); err != nil {
			return err
		}
		proxies, err := getProxies(tx, ids)
		if err != nil {
			return err
		}
		for _, p := range proxies {
			if p.Status == model.ProxyDestroying {
				return apierr.New(notRunningCode(tx.Action, apierr.FailedOperationProxyStatusNotInRuning), "proxy %s is being destroyed", p.ID)
			}
			if err := edit(tx, p); err != nil {
				return err
			}
			if err := tx.Put(p); err != nil {
				return err
			}
		}
		return nil
	})
}

// ModifyProxiesAttribute renames proxies (the only attribute it changes).
func (s *Service) ModifyProxiesAttribute(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyProxiesAttributeRequest) (*gaapapi.ModifyProxiesAttributeResponse, error) {
	if req.ProxyName != nil {
		if err := model.ValidateDisplayName("ProxyName", *req.ProxyName, model.MaxProxyNameLen); err != nil {
			return nil, err
		}
	}
	err := s.editProxies(ctx, call, req.InstanceIds, req.ProxyIds, req.ClientToken, func(_ *resource.Tx, p *model.Proxy) error {
		if req.ProxyName != nil {
			p.Name = *req.ProxyName
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyProxiesAttributeResponse{}, nil
}

// ModifyProxiesProject moves proxies to a project, not one whose listeners
// or rules have origins of another project bound (checkProjectMove). A
// proxy of a group follows its group's project (ModifyProxyGroupAttribute).
func (s *Service) ModifyProxiesProject(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyProxiesProjectRequest) (*gaapapi.ModifyProxiesProjectResponse, error) {
	if err := model.ValidateProjectID(*req.ProjectId); err != nil {
		return nil, err
	}
	err := s.editProxies(ctx, call, req.InstanceIds, req.ProxyIds, req.ClientToken, func(tx *resource.Tx, p *model.Proxy) error {
		if p.GroupID != "" {
			return apierr.New(memberCode(call.Action),
				"ProxyIds: proxy %s belongs to group %s; change the group's project with ModifyProxyGroupAttribute", p.ID, p.GroupID)
		}
		if err := checkProjectMove(tx, p.ID, *req.ProjectId); err != nil {
			return err
		}
		p.ProjectID = *req.ProjectId
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyProxiesProjectResponse{}, nil
}

// ModifyProxyConfiguration scales a running proxy's bandwidth and/or
// concurrency to values its access region offers; the proxy is ADJUSTING
// until the data plane applied the new limits.
func (s *Service) ModifyProxyConfiguration(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyProxyConfigurationRequest) (*gaapapi.ModifyProxyConfigurationResponse, error) {
	id, err := model.ProxyID(req.InstanceId, req.ProxyId)
	if err != nil {
		return nil, err
	}
	if req.Bandwidth == nil && req.Concurrent == nil {
		return nil, cloudapi.Missing("Bandwidth or Concurrent (at least one)")
	}
	if _, err := model.ParseBillingType(req.BillingType); err != nil {
		return nil, err
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		if err := tx.ClaimToken(cloudapi.Value(req.ClientToken)); err != nil {
			return err
		}
		p, err := resource.Get[model.Proxy](tx, id)
		if err != nil {
			return err
		}
		if p.Status != model.ProxyRunning {
			return apierr.New(notRunningCode(tx.Action, apierr.FailedOperationProxyStatusNotInRuning),
				"proxy %s is %s; only a RUNNING proxy can be scaled", p.ID, p.Status)
		}
		if err := s.rescale(tx.Action, p, req); err != nil {
			return err
		}
		p.Status, p.ModifyConfigTime = model.ProxyAdjusting, tx.Now.Unix()
		if err := tx.Put(p); err != nil {
			return err
		}
		_, err = tx.StartTask(p.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyProxyConfigurationResponse{}, nil
}

// rescale checks (for action) and applies the new caps to the running
// proxy p.
func (s *Service) rescale(action string, p *model.Proxy, req *gaapapi.ModifyProxyConfigurationRequest) error {
	access := findRegion(s.cfg.AccessRegions, p.AccessRegion)
	if req.Bandwidth != nil {
		if err := s.cfg.checkBandwidth(action, access, *req.Bandwidth); err != nil {
			return err
		}
		p.Bandwidth = *req.Bandwidth
	}
	if req.Concurrent != nil {
		if err := s.cfg.checkConcurrent(action, access, *req.Concurrent); err != nil {
			return err
		}
		p.Concurrent = *req.Concurrent
	}
	if req.BillingType != nil {
		p.BillingType = *req.BillingType
	}
	return nil
}

// CheckProxyCreate reports whether a proxy of this configuration can be
// created. Malformed input is an error; a well-formed configuration the
// regions or the group cannot host, or for which CreateProxy would find no
// access IP (its pool sold out, the caller's AccessIPQuota reached), is
// CheckFlag 0.
func (s *Service) CheckProxyCreate(ctx context.Context, call *cloudapi.Call, req *gaapapi.CheckProxyCreateRequest) (*gaapapi.CheckProxyCreateResponse, error) {
	// A member's check reads its group once: its package, which a member
	// left without one takes (as CreateProxy), and whether the proxy fits.
	group := trimmed(req.GroupId)
	var ok bool
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		if group != "" && req.PackageType == nil {
			g, err := resource.Get[model.ProxyGroup](tx, group)
			if err != nil {
				return err
			}
			if g.PackageType != "" {
				req.PackageType = &g.PackageType
			}
		}
		sp, err := newProxySpec(*req.AccessRegion, *req.RealServerRegion, *req.Bandwidth, *req.Concurrent,
			req.IPAddressVersion, req.NetworkType, req.PackageType, nil)
		if err != nil {
			return err
		}
		access, dest, err := s.cfg.checkSpec(call.Action, sp)
		if err != nil {
			return err
		}
		ok = conflict(sp, access, dest) == ""
		if group != "" {
			fits, err := s.groupFits(tx, group, sp)
			if err != nil {
				return err
			}
			ok = ok && fits
		}
		if !ok {
			return nil
		}
		pool := s.poolFor(sp.IPVersion)
		if pool == nil { // No --vip-pool-ipv6: CreateProxy refuses IPv6.
			ok = false
			return nil
		}
		err = pool.Available(tx.Store, tx.Account, call.Account.AccessIPQuota)
		if errors.Is(err, vip.ErrExhausted) || errors.Is(err, vip.ErrQuota) {
			ok, err = false, nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	flag := int64(0)
	if ok {
		flag = 1
	}
	return &gaapapi.CheckProxyCreateResponse{CheckFlag: &flag}, nil
}
