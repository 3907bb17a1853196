// Package teo implements the EdgeOne (teo 2022-09-01) layer-4 actions: zones, L4 proxies and rules, origin groups and L4 statistics.
// Handlers are thin: requests arrive decoded and checked for required
// parameters; model rules run inside one store transaction per action.
package teo

import (
	"context"
	"log/slog"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/seal"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
	"github.com/opengaap/opengaap/internal/vip"
)

// Service implements teoapi.API on a store.
type Service struct {
	store  store.Store
	vips   *vip.Pool
	log    *slog.Logger
	caps   model.Capabilities
	sealer *seal.Sealer
	// Notify is called after every committed write; may be nil.
	Notify func()
	// Down reports whether the data plane failed to deploy an object it
	// was given (a port of a rule taken, say); nil means none failed.
	Down func(object string) bool
}

// caps are the service's settings the rules' validation depends on.

// down reads s.Down, treating a missing source as nothing failed.
func (s *Service) down(object string) bool { return s.Down != nil && s.Down(object) }

var _ teoapi.API = (*Service)(nil)

// New returns the service. The sealer encrypts origins' secrets at rest.
func New(st store.Store, vips *vip.Pool, caps model.Capabilities, sealer *seal.Sealer, log *slog.Logger) *Service {
	return &Service{store: st, vips: vips, caps: caps, sealer: sealer, log: log}
}

// Register returns the endpoint service with every action registered.
func (s *Service) Register() *cloudapi.Service {
	svc := cloudapi.NewService(teoapi.Service, teoapi.Version)
	teoapi.Register(svc, s)
	return svc
}

func (s *Service) update(ctx context.Context, call *cloudapi.Call, fn func(*resource.Tx) error) error {
	return resource.Update(ctx, s.store, call, s.Notify, fn)
}

func (s *Service) view(ctx context.Context, call *cloudapi.Call, fn func(*resource.Tx) error) error {
	return resource.View(ctx, s.store, call, fn)
}
