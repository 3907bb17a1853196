// Package vpc implements the VPC (vpc 2017-03-12) actions: VPCs and traffic mirroring.
// Handlers are thin: requests arrive decoded and checked for required
// parameters; model rules run inside one store transaction per action.
package vpc

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/vip"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// Service implements vpcapi.API on a store.
type Service struct {
	store store.Store
	vips  *vip.Pool
	log   *slog.Logger
	// privateCollectors permits loopback and private collector addresses.
	privateCollectors bool
	// Notify is called after every committed write; may be nil.
	Notify func()
	// defaulted remembers the accounts whose default VPC was made, so
	// the check costs a store read only once per account and run.
	defaulted sync.Map
}

var _ vpcapi.API = (*Service)(nil)

// New returns the service.
func New(st store.Store, vips *vip.Pool, caps model.Capabilities, log *slog.Logger) *Service {
	return &Service{store: st, vips: vips, log: log, privateCollectors: caps.PrivateOrigins}
}

// Register returns the endpoint service with every action registered.
func (s *Service) Register() *cloudapi.Service {
	svc := cloudapi.NewService(vpcapi.Service, vpcapi.Version)
	svc.RegionRequired = true
	vpcapi.Register(svc, s)
	return svc
}

func (s *Service) update(ctx context.Context, call *cloudapi.Call, fn func(*resource.Tx) error) error {
	if err := s.ensureDefaultVpc(ctx, call); err != nil {
		return err
	}
	return resource.Update(ctx, s.store, call, s.Notify, fn)
}

func (s *Service) view(ctx context.Context, call *cloudapi.Call, fn func(*resource.Tx) error) error {
	if err := s.ensureDefaultVpc(ctx, call); err != nil {
		return err
	}
	return resource.View(ctx, s.store, call, fn)
}

// defaultVpcClaim is the store claim namespace recording that an
// account's default VPC was created: a default VPC the user deleted
// stays deleted, as on Tencent Cloud.
const defaultVpcClaim = "vpc/default"

// ensureDefaultVpc creates the caller's default VPC on its first VPC call.
// The claim is read first: after every start each account would otherwise
// open a write transaction, so a VPC read would wait for (and fail with)
// the store's write lock while another process holds it or the disk is
// full, although its default VPC was made long ago. The claim taken in the
// write still decides a race between two first calls.
func (s *Service) ensureDefaultVpc(ctx context.Context, call *cloudapi.Call) error {
	uin := call.Account.Uin
	if _, ok := s.defaulted.Load(uin); ok {
		return nil
	}
	var made bool
	err := resource.View(ctx, s.store, call, func(tx *resource.Tx) (err error) {
		made, err = tx.Store.Claimed(defaultVpcClaim, uin)
		return err
	})
	if err != nil {
		return err
	}
	if made {
		s.defaulted.Store(uin, true)
		return nil
	}
	err = resource.Update(ctx, s.store, call, nil, func(tx *resource.Tx) error {
		if err := tx.Store.Claim(defaultVpcClaim, uin); err != nil {
			return err
		}
		return tx.Insert(model.NewDefaultVpc())
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	s.defaulted.Store(uin, true)
	return nil
}
