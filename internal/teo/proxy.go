package teo

import (
	"cmp"
	"context"
	"errors"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
	"github.com/opengaap/opengaap/internal/vip"
)

// CreateL4Proxy creates an L4 proxy with an access IP from the vip pool.
// It starts in progress and the controller settles it online once the
// data plane runs it.
func (s *Service) CreateL4Proxy(ctx context.Context, call *cloudapi.Call, req *teoapi.CreateL4ProxyRequest) (*teoapi.CreateL4ProxyResponse, error) {
	p := &model.TeoL4Proxy{Base: model.Base{ID: model.NewTeoID(model.PrefixTeoL4Proxy)},
		ZoneID: cloudapi.Value(req.ZoneId), Name: cloudapi.Value(req.ProxyName), Area: cloudapi.Value(req.Area),
		Ipv6: cmp.Or(cloudapi.Value(req.Ipv6), model.TeoOff), StaticIP: cmp.Or(cloudapi.Value(req.StaticIp), model.TeoOff),
		AccelerateMainland: cmp.Or(cloudapi.Value(req.AccelerateMainland), model.TeoOff),
		Status:             model.L4Progress, UpdateTime: call.Time.Unix()}
	if err := model.CheckL4ProxyName(p.Name); err != nil {
		return nil, err
	}
	if err := model.CheckArea("Area", p.Area); err != nil {
		return nil, err
	}
	// A level left out is PLATFORM, the reference's default; one sent
	// empty (Terraform sends every key of its block) reads back empty, and
	// means PLATFORM too: answered PLATFORM, the provider saw a change it
	// cannot apply to its immutable block.
	p.DDoS = model.TeoDDoS{LevelMainland: model.DDoSPlatform, LevelOverseas: model.DDoSPlatform}
	if d := req.DDosProtectionConfig; d != nil {
		p.DDoS = model.TeoDDoS{LevelMainland: cloudapi.ValueOr(d.LevelMainland, model.DDoSPlatform),
			MaxBandwidthMainland: cloudapi.Value(d.MaxBandwidthMainland), LevelOverseas: cloudapi.ValueOr(d.LevelOverseas, model.DDoSPlatform)}
		p.DDoSGiven = true
	}
	if err := model.CheckDDoS(p.DDoS, p.Area); err != nil {
		return nil, err
	}
	if err := p.CheckFeatures(); err != nil {
		return nil, err
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		z, err := zoneOf(tx, p.ZoneID)
		if err != nil {
			return err
		}
		if err := checkNotPaused(z); err != nil {
			return err
		}
		if err := checkProxyNameFree(tx, p); err != nil {
			return err
		}
		ip, err := s.vips.Allocate(tx.Store, tx.Account, p.ID, call.Account.AccessIPQuota)
		switch {
		case errors.Is(err, vip.ErrExhausted):
			return apierr.New(apierr.OperationDeniedL4LackOfResources, "the access IP pool is exhausted; no new L4 proxy can be created")
		case errors.Is(err, vip.ErrQuota):
			return apierr.Wrap(err, apierr.OperationDenied, "this account holds as many access IPs (GAAP and L4 proxies) as its quota allows; delete a proxy or ask the operator to raise AccessIPQuota")
		}
		if err != nil {
			return err
		}
		p.IP = ip.String()
		return tx.Insert(p)
	})
	if err != nil {
		return nil, err
	}
	return &teoapi.CreateL4ProxyResponse{ProxyId: new(p.ID)}, nil
}

// checkProxyNameFree refuses a name already used in the zone.
func checkProxyNameFree(tx *resource.Tx, p *model.TeoL4Proxy) error {
	proxies, err := resource.Children[model.TeoL4Proxy](tx, p.ZoneID)
	if err != nil {
		return err
	}
	for _, o := range proxies {
		if o.Name == p.Name {
			return apierr.New(apierr.InvalidParameterProxyNameDuplicating, "the zone %s already has an L4 proxy named %s (%s)", p.ZoneID, p.Name, o.ID)
		}
	}
	return nil
}

// ModifyL4Proxy changes IPv6 access and mainland network optimization. An
// online proxy redeploys (progress, then online); a call changing nothing
// leaves it as it is.
func (s *Service) ModifyL4Proxy(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyL4ProxyRequest) (*teoapi.ModifyL4ProxyResponse, error) {
	return &teoapi.ModifyL4ProxyResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		p, err := proxyOf(tx, cloudapi.Value(req.ZoneId), cloudapi.Value(req.ProxyId))
		if err != nil {
			return err
		}
		if err := p.CheckStable(); err != nil {
			return err
		}
		ipv6, mainland := p.Ipv6, p.AccelerateMainland
		if req.Ipv6 != nil {
			p.Ipv6 = *req.Ipv6
		}
		if req.AccelerateMainland != nil {
			p.AccelerateMainland = *req.AccelerateMainland
		}
		if err := p.CheckFeatures(); err != nil {
			return err
		}
		if p.Ipv6 == ipv6 && p.AccelerateMainland == mainland {
			// Nothing to deploy ("不填该参数时，表示不修改该配置"): a proxy
			// moved to progress for nothing refused every other change,
			// and its zone's pause, until the next pass.
			return nil
		}
		p.Touch(call.Time.Unix())
		return tx.Put(p)
	})
}

// ModifyL4ProxyStatus starts (online) or stops (offline) a proxy. Starting
// is refused in a paused zone, even for a proxy that reads online: it
// serves nothing there, and a success would say it does. Otherwise a
// proxy already in the asked state is left alone, and one still deploying
// or stopping is refused. Stopping is allowed in a paused zone: the proxy
// then stays closed when the zone resumes.
func (s *Service) ModifyL4ProxyStatus(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyL4ProxyStatusRequest) (*teoapi.ModifyL4ProxyStatusResponse, error) {
	want := cloudapi.Value(req.Status)
	if want != model.L4Online && want != model.L4Offline {
		return nil, cloudapi.Invalid("Status", "%q is not online or offline", want)
	}
	return &teoapi.ModifyL4ProxyStatusResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		p, err := proxyOf(tx, cloudapi.Value(req.ZoneId), cloudapi.Value(req.ProxyId))
		if err != nil {
			return err
		}
		if want == model.L4Online {
			z, err := zoneOf(tx, p.ZoneID)
			if err != nil {
				return err
			}
			if err := checkNotPaused(z); err != nil {
				return err
			}
		}
		if p.Status == want {
			return nil
		}
		if err := p.CheckStable(); err != nil {
			return err
		}
		p.SetEnabled(want == model.L4Online, call.Time.Unix())
		return tx.Put(p)
	})
}

// DeleteL4Proxy deletes a proxy with its rules and retires its access IP
// (vip.Retire): the controller frees it once the data plane, which still
// serves the proxy until its next pass and then drains it, holds no socket
// on it. The deletion is immediate (the next snapshot no longer has the
// proxy); a proxy deploying or stopping is refused.
func (s *Service) DeleteL4Proxy(ctx context.Context, call *cloudapi.Call, req *teoapi.DeleteL4ProxyRequest) (*teoapi.DeleteL4ProxyResponse, error) {
	return &teoapi.DeleteL4ProxyResponse{}, s.update(ctx, call, func(tx *resource.Tx) error {
		p, err := proxyOf(tx, cloudapi.Value(req.ZoneId), cloudapi.Value(req.ProxyId))
		if err != nil {
			return err
		}
		if err := p.CheckStable(); err != nil {
			return err
		}
		rules, err := resource.Children[model.TeoL4Rule](tx, p.ID)
		if err != nil {
			return err
		}
		gone := make([]*model.TeoDeparted, 0, 1+len(rules))
		gone = append(gone, departed(tx, p.ZoneID, "", p.ID))
		for _, r := range rules {
			if err := tx.Delete(r); err != nil {
				return err
			}
			gone = append(gone, departed(tx, p.ZoneID, p.ID, r.ID))
		}
		if err := vip.Retire(tx.Store, p.IP); err != nil {
			return err
		}
		if err := depart(tx, p.ZoneID, gone...); err != nil {
			return err
		}
		return tx.Delete(p)
	})
}
