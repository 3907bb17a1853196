// Package gaap implements the GAAP 2018-05-29 actions. Handlers are thin:
// the request arrives decoded and checked for required parameters; a
// handler applies the model's rules inside one store transaction and
// builds the response.
package gaap

import (
	"context"
	"log/slog"
	"slices"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/seal"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/vip"
)

// Service implements gaapapi.API on a store.
type Service struct {
	store  store.Store
	vips   *vip.Pool
	vips6  *vip.Pool // nil: no IPv6 proxies (Config.withoutIPv6)
	cfg    Config
	sealer *seal.Sealer
	log    *slog.Logger
	// Notify is called after every committed write so the controller can
	// compile the new state without polling; may be nil.
	Notify func()
	// Health reports what the data plane last observed of an origin bound
	// to a listener or rule: whether it is healthy and, for a DOMAIN origin
	// that resolves but is down, its addresses that fail; nil means every
	// origin reads as healthy.
	Health func(binding, realServer string) (healthy bool, down []string)
	// Down reports whether the data plane failed to serve a listener it
	// was given (its port taken, say) or rejected a security policy;
	// nil means none failed.
	Down func(listener string) bool
}

// down reads s.Down, treating a missing source as "none failed".
func (s *Service) down(listener string) bool { return s.Down != nil && s.Down(listener) }

// shown is the status the API reads of an object stored as status: one
// the data plane does not serve though it should (down, under its ID or
// one it depends on: a rule's domain and listener, as a port taken or a
// row it rejects), reads as still coming up (coming) rather than running,
// as a listener whose first bind failed does; the next applies retry it.
func shown[T comparable](s *Service, status, running, coming T, ids ...string) T {
	if status == running && slices.ContainsFunc(ids, s.down) {
		return coming
	}
	return status
}

// health reads s.Health, treating a missing source as healthy.
func (s *Service) health(binding, realServer string) (healthy bool, down []string) {
	if s.Health == nil {
		return true, nil
	}
	return s.Health(binding, realServer)
}

var _ gaapapi.API = (*Service)(nil)

// New returns a GAAP service. Proxies get their access IP from vips, or
// from vips6 if their IPAddressVersion is IPv6; without vips6 no region
// offers IPv6. The sealer encrypts certificate keys at rest.
func New(st store.Store, vips, vips6 *vip.Pool, cfg Config, sealer *seal.Sealer, log *slog.Logger) *Service {
	cfg = cfg.withDefaults()
	if vips6 == nil {
		cfg = cfg.withoutIPv6()
	}
	return &Service{store: st, vips: vips, vips6: vips6, cfg: cfg, sealer: sealer, log: log}
}

// Register adds every GAAP action to an endpoint service.
func (s *Service) Register() *cloudapi.Service {
	svc := cloudapi.NewService(gaapapi.Service, gaapapi.Version)
	gaapapi.Register(svc, s)
	return svc
}

// update runs fn in one read-write transaction for the caller's account.
func (s *Service) update(ctx context.Context, call *cloudapi.Call, fn func(*resource.Tx) error) error {
	return resource.Update(ctx, s.store, call, s.Notify, fn)
}

// view runs fn in one read-only transaction for the caller's account.
func (s *Service) view(ctx context.Context, call *cloudapi.Call, fn func(*resource.Tx) error) error {
	return resource.View(ctx, s.store, call, fn)
}
