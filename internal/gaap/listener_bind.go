package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// BindListenerRealServers replaces the origins of a TCP or UDP listener
// with the given set (an empty set unbinds all). The listener is adjusting
// origins (status 3) until the data plane has the new set.
func (s *Service) BindListenerRealServers(ctx context.Context, call *cloudapi.Call, req *gaapapi.BindListenerRealServersRequest) (*gaapapi.BindListenerRealServersResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		l, err := listenerParam(tx, req.ListenerId, "", model.TCP, model.UDP)
		if err != nil {
			return err
		}
		o, err := ownerOf(tx, l)
		if err != nil {
			return err
		}
		if err := o.checkRunning(tx); err != nil {
			return err
		}
		if err := s.checkIdle(call.Action, l); err != nil {
			return err
		}
		specs, err := bindSpecs(tx, req.RealServerBindSet)
		if err != nil {
			return err
		}
		had := len(l.Bindings)
		if l.Bindings, err = l.Bind(specs, o.project()); err != nil {
			return err
		}
		if err := checkOwnerBindings(tx, l.Owner(), l.ID, had, len(l.Bindings), apierr.FailedOperationLimitRealServerNum); err != nil {
			return err
		}
		l.Status = model.StatusBinding
		if _, err := tx.StartTask(l.ID); err != nil {
			return err
		}
		return tx.Put(l)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.BindListenerRealServersResponse{}, nil
}

// bindSpecs loads the origins a bind set names.
func bindSpecs(tx *resource.Tx, set []gaapapi.RealServerBindSetReq) ([]model.BindSpec, error) {
	specs := make([]model.BindSpec, len(set))
	for i, r := range set {
		o, err := loadOrigin(tx, cloudapi.Index("RealServerBindSet", i)+"RealServerId", *r.RealServerId)
		if err != nil {
			return nil, err
		}
		specs[i] = model.BindSpec{Origin: o, IP: *r.RealServerIP, Port: *r.RealServerPort,
			Weight: r.RealServerWeight, Role: r.RealServerFailoverRole}
	}
	return specs, nil
}

// DescribeListenerRealServers returns the origins bound to a TCP or UDP
// listener and those it could bind: every origin of the caller in the
// proxy's (or group's) project whose type matches the listener's.
func (s *Service) DescribeListenerRealServers(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeListenerRealServersRequest) (*gaapapi.DescribeListenerRealServersResponse, error) {
	resp := &gaapapi.DescribeListenerRealServersResponse{RealServerSet: []gaapapi.RealServer{}}
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		l, err := listenerParam(tx, req.ListenerId, "", model.TCP, model.UDP)
		if err != nil {
			return err
		}
		o, err := ownerOf(tx, l)
		if err != nil {
			return err
		}
		if resp.BindRealServerSet, err = s.listenerBoundOut(tx, l.ID, l.Bindings); err != nil {
			return err
		}
		project := o.project()
		all, _, err := resource.List[model.RealServer](tx, store.Query{Project: &project})
		for _, r := range all {
			if r.Type() == l.RealServerType {
				resp.RealServerSet = append(resp.RealServerSet, gaapapi.RealServer{RealServerIP: new(r.ShownAddress()),
					RealServerId: new(r.ID), RealServerName: new(r.Name), ProjectId: new(r.ProjectID),
					InBanBlacklist: new(int64(notInBanBlacklist))})
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.TotalCount = new(int64(len(resp.RealServerSet)))
	resp.BindRealServerTotalCount = new(int64(len(resp.BindRealServerSet)))
	return resp, nil
}
