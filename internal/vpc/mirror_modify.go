package vpc

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// changeMirror loads the caller's mirror id (the request's TrafficMirrorId),
// applies fn and stores it.
func (s *Service) changeMirror(ctx context.Context, call *cloudapi.Call, id string, fn func(tx *resource.Tx, m *model.TrafficMirror) error) error {
	return s.update(ctx, call, func(tx *resource.Tx) error {
		m, err := getMirror(tx, id)
		if err != nil {
			return err
		}
		if err := fn(tx, m); err != nil {
			return err
		}
		return tx.Put(m)
	})
}

// ModifyTrafficMirrorAttribute renames a mirror or changes its description.
func (s *Service) ModifyTrafficMirrorAttribute(ctx context.Context, call *cloudapi.Call, req *vpcapi.ModifyTrafficMirrorAttributeRequest) (*vpcapi.ModifyTrafficMirrorAttributeResponse, error) {
	if req.TrafficMirrorName != nil {
		if err := model.ValidateMirrorName(*req.TrafficMirrorName); err != nil {
			return nil, err
		}
	}
	if err := model.ValidateMirrorDescription("TrafficMirrorDescription", cloudapi.Value(req.TrafficMirrorDescription)); err != nil {
		return nil, err
	}
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(_ *resource.Tx, m *model.TrafficMirror) error {
		m.Name = cloudapi.ValueOr(req.TrafficMirrorName, m.Name)
		m.Description = cloudapi.ValueOr(req.TrafficMirrorDescription, m.Description)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.ModifyTrafficMirrorAttributeResponse{}, nil
}

// DeleteTrafficMirror deletes a mirror; copying stops with the next snapshot.
func (s *Service) DeleteTrafficMirror(ctx context.Context, call *cloudapi.Call, req *vpcapi.DeleteTrafficMirrorRequest) (*vpcapi.DeleteTrafficMirrorResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		m, err := getMirror(tx, *req.TrafficMirrorId)
		if err != nil {
			return err
		}
		return tx.Delete(m)
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.DeleteTrafficMirrorResponse{}, nil
}

// StartTrafficMirror sets a mirror RUNNING; starting a running mirror is
// a no-op.
func (s *Service) StartTrafficMirror(ctx context.Context, call *cloudapi.Call, req *vpcapi.StartTrafficMirrorRequest) (*vpcapi.StartTrafficMirrorResponse, error) {
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(_ *resource.Tx, m *model.TrafficMirror) error {
		m.State = model.MirrorRunning
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.StartTrafficMirrorResponse{}, nil
}

// StopTrafficMirror sets a VPC mirror STOPED; PUBLICIP mirrors are always
// RUNNING (the State parameter documents RUNNING only for them).
func (s *Service) StopTrafficMirror(ctx context.Context, call *cloudapi.Call, req *vpcapi.StopTrafficMirrorRequest) (*vpcapi.StopTrafficMirrorResponse, error) {
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(_ *resource.Tx, m *model.TrafficMirror) error {
		if m.Type == model.MirrorTypePublicIP {
			return apierr.New(apierr.UnsupportedOperation, "PUBLICIP traffic mirrors cannot be stopped; delete the mirror instead")
		}
		m.State = model.MirrorStopped
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.StopTrafficMirrorResponse{}, nil
}

// UpdateTrafficMirrorDirection changes the collected direction, or
// switches to NO-DIRECTION (rules only).
func (s *Service) UpdateTrafficMirrorDirection(ctx context.Context, call *cloudapi.Call, req *vpcapi.UpdateTrafficMirrorDirectionRequest) (*vpcapi.UpdateTrafficMirrorDirectionResponse, error) {
	err := s.changeMirror(ctx, call, *req.TrafficMirrorId, func(_ *resource.Tx, m *model.TrafficMirror) error {
		return setDirection(m, *req.Direction)
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.UpdateTrafficMirrorDirectionResponse{}, nil
}

func setDirection(m *model.TrafficMirror, dir string) (err error) {
	if m.Direction, err = model.ParseMirrorDirection(m.Type, dir, true); err != nil {
		return err
	}
	return m.CheckMirrorFilters()
}
