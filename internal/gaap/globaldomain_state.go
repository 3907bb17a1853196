package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// EnableGlobalDomain resumes resolution: 3 (enabling), then 0 once the
// DNS side applied it. DescribeTaskStatus follows the call's RequestId.
func (s *Service) EnableGlobalDomain(ctx context.Context, call *cloudapi.Call, req *gaapapi.EnableGlobalDomainRequest) (*gaapapi.EnableGlobalDomainResponse, error) {
	if err := s.switchGlobalDomain(ctx, call, trimmed(req.DomainId), true); err != nil {
		return nil, err
	}
	return &gaapapi.EnableGlobalDomainResponse{}, nil
}

// DisableGlobalDomain pauses resolution: 2 (disabling), then 1.
func (s *Service) DisableGlobalDomain(ctx context.Context, call *cloudapi.Call, req *gaapapi.DisableGlobalDomainRequest) (*gaapapi.DisableGlobalDomainResponse, error) {
	if err := s.switchGlobalDomain(ctx, call, trimmed(req.DomainId), false); err != nil {
		return nil, err
	}
	return &gaapapi.DisableGlobalDomainResponse{}, nil
}

func (s *Service) switchGlobalDomain(ctx context.Context, call *cloudapi.Call, id string, enable bool) error {
	return s.editGlobalDomain(ctx, call, id, func(tx *resource.Tx, g *model.GlobalDomain) error {
		switch {
		case g.Status == model.GlobalEnabling || g.Status == model.GlobalDisabling:
			return apierr.New(apierr.FailedOperation, "the global domain %s is switching state; retry when it settles", g.ID)
		case enable && g.Status == model.GlobalEnabled:
			return apierr.New(apierr.FailedOperation, "the global domain %s is already enabled", g.ID)
		case !enable && g.Status == model.GlobalDisabled:
			return apierr.New(apierr.FailedOperation, "the global domain %s is already disabled", g.ID)
		case enable:
			g.Status = model.GlobalEnabling
		default:
			g.Status = model.GlobalDisabling
		}
		_, err := tx.StartTask(g.ID)
		return err
	})
}

// DeleteGlobalDomain removes a disabled global domain with its records.
// An enabled domain still answers DNS queries, so it must be disabled
// first (Tencent's Terraform provider disables before deleting). The
// deletion is immediate, so no pass sees what it removes: a record being
// created or modified holds it back (UnappliedRecord).
func (s *Service) DeleteGlobalDomain(ctx context.Context, call *cloudapi.Call, req *gaapapi.DeleteGlobalDomainRequest) (*gaapapi.DeleteGlobalDomainResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		g, err := globalDomain(tx, trimmed(req.DomainId))
		if err != nil {
			return err
		}
		if g.Status != model.GlobalDisabled {
			return apierr.New(apierr.FailedOperation, "the global domain %s must be disabled (DisableGlobalDomain) before it is deleted", g.ID)
		}
		if r := g.UnappliedRecord(); r != nil {
			return apierr.New(apierr.FailedOperation, "the DNS record %d of the global domain %s is being created or modified; retry when it settles", r.ID, g.ID)
		}
		return tx.Delete(g)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DeleteGlobalDomainResponse{}, nil
}
