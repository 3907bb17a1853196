package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/snapshot"
	"github.com/opengaap/opengaap/internal/store"
)

// proxyTransition is one of the batch status changes (open, close,
// destroy): from tells which proxies may take it, to applies it. serves
// is set when it brings the proxies' listeners back up.
type proxyTransition struct {
	from   func(p *model.Proxy) bool
	to     func(p *model.Proxy)
	serves bool
}

var (
	openProxies = proxyTransition{
		func(p *model.Proxy) bool { return p.Status == model.ProxyClosed },
		func(p *model.Proxy) { p.Status, p.Closed = model.ProxyOpening, false }, true}
	closeProxies = proxyTransition{
		func(p *model.Proxy) bool { return p.Status == model.ProxyRunning },
		func(p *model.Proxy) { p.Status, p.Closed = model.ProxyClosing, true }, false}
	destroyProxies = proxyTransition{
		(*model.Proxy).Destroyable,
		func(p *model.Proxy) { p.Status = model.ProxyDestroying }, false}
)

// apply moves every proxy that allows it and returns the IDs of those
// that do not (InvalidStatusInstanceSet). The changed proxies form one
// task named by the RequestId. A task covers what its call brings up
// (as CreateProxy's covers what a clone copies): opening covers the
// listeners the proxies run again, theirs or, on their addresses, their
// group's, so one whose port was taken meanwhile fails the task instead
// of it reading SUCCESS; another member that cannot serve a group
// listener does not, as this call brings up nothing there.
func (t proxyTransition) apply(tx *resource.Tx, proxies []*model.Proxy) (invalid []string, err error) {
	invalid = []string{}
	var moved, listeners []string
	groups := map[string][]*model.Listener{} // A group's listeners, read once for all its members.
	for _, p := range proxies {
		if !t.from(p) {
			invalid = append(invalid, p.ID)
			continue
		}
		t.to(p)
		if err := tx.Put(p); err != nil {
			return nil, err
		}
		moved = append(moved, p.ID)
		if !t.serves {
			continue
		}
		own, err := resource.Children[model.Listener](tx, p.ID)
		if err != nil {
			return nil, err
		}
		for _, l := range own {
			listeners = append(listeners, l.ID)
		}
		if p.GroupID == "" {
			continue
		}
		ls, ok := groups[p.GroupID]
		if !ok {
			if ls, err = resource.Children[model.Listener](tx, p.GroupID); err != nil {
				return nil, err
			}
			groups[p.GroupID] = ls
		}
		for _, l := range ls {
			listeners = append(listeners, snapshot.GroupInstanceID(l.ID, p.ID))
		}
	}
	if len(moved) > 0 {
		_, err = tx.StartTaskBringing(moved, listeners)
	}
	return invalid, err
}

// getProxies loads the caller's proxies by ID; any unknown ID is
// ResourceNotFound for the whole request, before anything changes.
func getProxies(tx *resource.Tx, ids []string) ([]*model.Proxy, error) {
	out := make([]*model.Proxy, 0, len(ids))
	for _, id := range ids {
		p, err := resource.Get[model.Proxy](tx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// batch runs a transition over the proxies named by a request.
func (s *Service) batch(ctx context.Context, call *cloudapi.Call, t proxyTransition, old, cur []string, token *string,
	check func(*resource.Tx, []*model.Proxy) error) (invalid []string, err error) {
	ids, err := model.ProxyIDs(old, cur)
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		if err := tx.ClaimToken(cloudapi.Value(token)); err != nil {
			return err
		}
		proxies, err := getProxies(tx, ids)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(tx, proxies); err != nil {
				return err
			}
		}
		invalid, err = t.apply(tx, proxies)
		return err
	})
	return invalid, err
}

// OpenProxies opens closed proxies (OPENING until the data plane serves
// them again); proxies that are not CLOSED are listed as invalid.
func (s *Service) OpenProxies(ctx context.Context, call *cloudapi.Call, req *gaapapi.OpenProxiesRequest) (*gaapapi.OpenProxiesResponse, error) {
	invalid, err := s.batch(ctx, call, openProxies, req.InstanceIds, req.ProxyIds, req.ClientToken, nil)
	if err != nil {
		return nil, err
	}
	return &gaapapi.OpenProxiesResponse{InvalidStatusInstanceSet: invalid, OperationFailedInstanceSet: []string{}}, nil
}

// CloseProxies closes running proxies: they keep their configuration and
// IP but forward nothing (CLOSING, then CLOSED).
func (s *Service) CloseProxies(ctx context.Context, call *cloudapi.Call, req *gaapapi.CloseProxiesRequest) (*gaapapi.CloseProxiesResponse, error) {
	invalid, err := s.batch(ctx, call, closeProxies, req.InstanceIds, req.ProxyIds, req.ClientToken, nil)
	if err != nil {
		return nil, err
	}
	return &gaapapi.CloseProxiesResponse{InvalidStatusInstanceSet: invalid, OperationFailedInstanceSet: []string{}}, nil
}

// DestroyProxies destroys proxies (DESTROYING; the controller then removes
// each with its listeners, rules and access IP). With Force 0 nothing is
// destroyed if any of them has origins bound.
func (s *Service) DestroyProxies(ctx context.Context, call *cloudapi.Call, req *gaapapi.DestroyProxiesRequest) (*gaapapi.DestroyProxiesResponse, error) {
	force, err := model.ParseForceFlag(req.Force)
	if err != nil {
		return nil, err
	}
	check := func(tx *resource.Tx, proxies []*model.Proxy) error {
		if err := oneGroup(proxies); err != nil {
			return err
		}
		if force {
			return nil
		}
		for _, p := range proxies {
			if err := refuseBound(tx, p.ID, "proxy"); err != nil {
				return err
			}
		}
		return nil
	}
	invalid, err := s.batch(ctx, call, destroyProxies, req.InstanceIds, req.ProxyIds, req.ClientToken, check)
	if err != nil {
		return nil, err
	}
	return &gaapapi.DestroyProxiesResponse{InvalidStatusInstanceSet: invalid, OperationFailedInstanceSet: []string{}}, nil
}

// oneGroup is FailedOperation.BelongDifferentGroup ("该批通道归属于不同的通道组，
// 无法批量操作") when a batch holds proxies of different groups, a proxy
// outside any group counting as a group of its own: DestroyProxies lists
// the code, so a batch may be independent proxies or members of one group.
func oneGroup(proxies []*model.Proxy) error {
	for _, p := range proxies {
		if p.GroupID != proxies[0].GroupID {
			return apierr.New(apierr.FailedOperationBelongDifferentGroup, "proxies %s (%s) and %s (%s) belong to different proxy groups; destroy them in separate calls",
				proxies[0].ID, groupName(proxies[0].GroupID), p.ID, groupName(p.GroupID))
		}
	}
	return nil
}

func groupName(id string) string {
	if id == "" {
		return "no group"
	}
	return "group " + id
}

// refuseBound is FailedOperation.RealServerAlreadyBound when a listener
// of owner (a proxy or group), or a rule of one, has origins bound.
func refuseBound(tx *resource.Tx, owner, what string) error {
	return eachBindingSet(tx, owner, func(l *model.Listener, _ string, bs []model.Bound) error {
		if len(bs) > 0 {
			return apierr.New(apierr.FailedOperationRealServerAlreadyBound,
				"listener %s of %s %s has origins bound; unbind them or pass Force=1", l.ID, what, owner)
		}
		return nil
	})
}

// checkProjectMove refuses moving owner (a proxy or group) to project
// while origins of another project are bound to its listeners or rules
// (model.CheckProjectMove).
func checkProjectMove(tx *resource.Tx, owner string, project int64) error {
	var bss [][]model.Bound
	err := eachBindingSet(tx, owner, func(_ *model.Listener, _ string, bs []model.Bound) error {
		bss = append(bss, bs)
		return nil
	})
	if err != nil {
		return err
	}
	bound, err := originsOf(tx, bss...)
	if err != nil {
		return err
	}
	return model.CheckProjectMove(owner, project, bound)
}

// eachBindingSet calls fn with the bindings of every listener of owner (a
// proxy or group) and of every rule of each layer-7 one, with the listener
// they are under and the ID of the listener or rule that holds them; it
// stops at fn's first error.
func eachBindingSet(tx *resource.Tx, owner string, fn func(l *model.Listener, holder string, bs []model.Bound) error) error {
	listeners, err := resource.Children[model.Listener](tx, owner)
	if err != nil {
		return err
	}
	for _, l := range listeners {
		if err := fn(l, l.ID, l.Bindings); err != nil {
			return err
		}
		if !l.IsL7() {
			continue
		}
		rules, err := resource.Children[model.Rule](tx, l.ID)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if err := fn(l, r.ID, r.Bindings); err != nil {
				return err
			}
		}
	}
	return nil
}

// DescribeProxiesStatus returns the status of the named proxies, or of all
// the caller's proxies when none is named.
func (s *Service) DescribeProxiesStatus(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeProxiesStatusRequest) (*gaapapi.DescribeProxiesStatusResponse, error) {
	var proxies []*model.Proxy
	err := s.view(ctx, call, func(tx *resource.Tx) (err error) {
		if len(req.InstanceIds) == 0 && len(req.ProxyIds) == 0 {
			proxies, _, err = resource.List[model.Proxy](tx, store.Query{})
			return err
		}
		ids, err := model.ProxyIDs(req.InstanceIds, req.ProxyIds)
		if err != nil {
			return err
		}
		proxies, err = getProxies(tx, ids)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]gaapapi.ProxyStatus, 0, len(proxies))
	for _, p := range proxies {
		out = append(out, gaapapi.ProxyStatus{InstanceId: new(p.ID), Status: new(listedStatus(shown(s, p.Status, model.ProxyRunning, model.ProxyCreating, p.ID)))})
	}
	return &gaapapi.DescribeProxiesStatusResponse{InstanceStatusSet: out}, nil
}

// listedStatus is a proxy status as ProxyStatus.Status documents it: its
// list, unlike ProxyInfo.Status's, has no CLONING, and a clone not yet
// applied is a proxy being created, so it reads CREATING there.
func listedStatus(status string) string {
	if status == model.ProxyCloning {
		return model.ProxyCreating
	}
	return status
}
