package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// groupBatch runs a proxy transition over every proxy of a group. A group
// still being created or destroyed is itself reported invalid (the
// reference's examples list a group ID there); otherwise the invalid list
// holds the proxies that could not take the transition.
func (s *Service) groupBatch(ctx context.Context, call *cloudapi.Call, id *string, t proxyTransition) (invalid []string, err error) {
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		g, proxies, err := loadGroup(tx, id)
		if err != nil {
			return err
		}
		if g.Status != model.GroupRunning {
			invalid = []string{g.ID}
			return nil
		}
		invalid, err = t.apply(tx, model.Members(proxies)) // One being destroyed is no member.
		return err
	})
	return invalid, err
}

// OpenProxyGroup opens every closed proxy of a group.
func (s *Service) OpenProxyGroup(ctx context.Context, call *cloudapi.Call, req *gaapapi.OpenProxyGroupRequest) (*gaapapi.OpenProxyGroupResponse, error) {
	invalid, err := s.groupBatch(ctx, call, req.GroupId, openProxies)
	if err != nil {
		return nil, err
	}
	return &gaapapi.OpenProxyGroupResponse{InvalidStatusInstanceSet: invalid, OperationFailedInstanceSet: []string{}}, nil
}

// CloseProxyGroup closes every running proxy of a group.
func (s *Service) CloseProxyGroup(ctx context.Context, call *cloudapi.Call, req *gaapapi.CloseProxyGroupRequest) (*gaapapi.CloseProxyGroupResponse, error) {
	invalid, err := s.groupBatch(ctx, call, req.GroupId, closeProxies)
	if err != nil {
		return nil, err
	}
	return &gaapapi.CloseProxyGroupResponse{InvalidStatusInstanceSet: invalid, OperationFailedInstanceSet: []string{}}, nil
}

// DeleteProxyGroup destroys a group. Without Force the group must hold no
// members and no listener of it may have origins bound; with Force its
// members are destroyed with it (the controller removes the group and
// everything under it: proxies, listeners, rules, access IPs), so each must
// be one DestroyProxies would take: a member in a transition (the group
// reads CHANGING) refuses the whole deletion. A proxy already being
// destroyed is no member (model.Members, as ProxyNum counts): it neither
// remains nor blocks, and goes with the group if it has not gone before.
func (s *Service) DeleteProxyGroup(ctx context.Context, call *cloudapi.Call, req *gaapapi.DeleteProxyGroupRequest) (*gaapapi.DeleteProxyGroupResponse, error) {
	force, err := model.ParseForceFlag(req.Force)
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		g, proxies, err := loadGroup(tx, req.GroupId)
		if err != nil {
			return err
		}
		members := model.Members(proxies)
		if g.Status == model.GroupDestroying {
			return apierr.New(notRunningCode(tx.Action, apierr.FailedOperationGroupStatusNotInRuning), "group %s is already being destroyed", g.ID)
		}
		if !force {
			if len(members) > 0 {
				return apierr.New(apierr.FailedOperationDeleteProxyGroupProxyRemained,
					"group %s still holds %d proxies; destroy them first or pass Force=1", g.ID, len(members))
			}
			if err := refuseBound(tx, g.ID, "group"); err != nil {
				return err
			}
		}
		for _, p := range members {
			if !p.Destroyable() {
				return apierr.New(notRunningCode(tx.Action, apierr.FailedOperationGroupStatusNotInRuning),
					"proxy %s of group %s is %s; wait until it is RUNNING or CLOSED", p.ID, g.ID, p.Status)
			}
		}
		for _, p := range members {
			p.Status = model.ProxyDestroying
			if err := tx.Put(p); err != nil {
				return err
			}
		}
		g.Status = model.GroupDestroying
		if err := tx.Put(g); err != nil {
			return err
		}
		_, err = tx.StartTask(g.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DeleteProxyGroupResponse{}, nil
}
