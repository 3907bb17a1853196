package vpc

import (
	"context"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// UpdateTrafficMirrorAllFilter replaces whichever of direction, sources
// and filters the request gives; the others stay.
func (s *Service) UpdateTrafficMirrorAllFilter(ctx context.Context, call *cloudapi.Call, req *vpcapi.UpdateTrafficMirrorAllFilterRequest) (*vpcapi.UpdateTrafficMirrorAllFilterResponse, error) {
	now := call.Time.Unix()
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(tx *resource.Tx, m *model.TrafficMirror) (err error) {
		if req.Direction != nil {
			if m.Direction, err = model.ParseMirrorDirection(m.Type, *req.Direction, true); err != nil {
				return err
			}
		}
		given := len(req.CollectorNormalFilters)+len(req.IngressFilterRules)+len(req.EgressFilterRules) > 0
		if err := checkNat(req.NatId, given); err != nil {
			return err
		}
		if err := updateFilters(m, req, now); err != nil {
			return err
		}
		if req.CollectorSrcs != nil {
			if m.Sources, err = resolveSources(tx, m.Type, "CollectorSrcs", req.CollectorSrcs); err != nil {
				return err
			}
			m.CollectorSrcs = req.CollectorSrcs
		}
		return checkMirror(tx, m)
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.UpdateTrafficMirrorAllFilterResponse{}, nil
}

// updateFilters replaces the filter lists the request gives.
func updateFilters(m *model.TrafficMirror, req *vpcapi.UpdateTrafficMirrorAllFilterRequest, now int64) (err error) {
	if req.CollectorNormalFilters != nil {
		if m.NormalFilters, err = parseNormalFilters(req.CollectorNormalFilters); err != nil {
			return err
		}
	}
	if req.IngressFilterRules != nil {
		if m.IngressRules, err = parseNewRules("IngressFilterRules", req.IngressFilterRules, nil, now); err != nil {
			return err
		}
	}
	if req.EgressFilterRules != nil {
		if m.EgressRules, err = parseNewRules("EgressFilterRules", req.EgressFilterRules, nil, now); err != nil {
			return err
		}
	}
	return m.CheckMirrorFilters()
}

// ResetTrafficMirrorFilter replaces all filters with the request's: what
// it leaves out is cleared.
func (s *Service) ResetTrafficMirrorFilter(ctx context.Context, call *cloudapi.Call, req *vpcapi.ResetTrafficMirrorFilterRequest) (*vpcapi.ResetTrafficMirrorFilterResponse, error) {
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(_ *resource.Tx, m *model.TrafficMirror) error {
		return setFilters(m, req.NatId, req.CollectorNormalFilters, req.IngressFilterRules, req.EgressFilterRules, call.Time.Unix())
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.ResetTrafficMirrorFilterResponse{}, nil
}

// ResetTrafficMirrorSrcs replaces the collection objects.
func (s *Service) ResetTrafficMirrorSrcs(ctx context.Context, call *cloudapi.Call, req *vpcapi.ResetTrafficMirrorSrcsRequest) (*vpcapi.ResetTrafficMirrorSrcsResponse, error) {
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(tx *resource.Tx, m *model.TrafficMirror) (err error) {
		if m.Sources, err = resolveSources(tx, m.Type, "CollectorSrcs", req.CollectorSrcs); err != nil {
			return err
		}
		m.CollectorSrcs = req.CollectorSrcs
		return checkMirror(tx, m)
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.ResetTrafficMirrorSrcsResponse{}, nil
}

// ResetTrafficMirrorTarget replaces the collectors (and, when given, the
// sender subnet).
func (s *Service) ResetTrafficMirrorTarget(ctx context.Context, call *cloudapi.Call, req *vpcapi.ResetTrafficMirrorTargetRequest) (*vpcapi.ResetTrafficMirrorTargetResponse, error) {
	if err := checkSubnet(cloudapi.Value(req.SubnetId)); err != nil {
		return nil, err
	}
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(tx *resource.Tx, m *model.TrafficMirror) (err error) {
		if m.Target, err = model.ParseMirrorTarget(m.Type, targetIn(req.CollectorTarget), s.privateCollectors); err != nil {
			return err
		}
		m.SubnetID = cloudapi.ValueOr(req.SubnetId, m.SubnetID)
		return checkMirror(tx, m)
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.ResetTrafficMirrorTargetResponse{}, nil
}
