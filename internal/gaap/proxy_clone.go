package gaap

import (
	"cmp"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// cloneFrom fills in, from the running proxy sourceID, the settings the
// caller left out: origin region, billing type, IP version, network and
// package type. The reference has the caller "set the new proxy's basic
// parameters" when cloning, so a value given always wins. It returns the
// source, whose configuration cloneConfig copies once p is stored.
func cloneFrom(tx *resource.Tx, p *model.Proxy, sourceID string, billingGiven bool) (*model.Proxy, error) {
	src, err := resource.Get[model.Proxy](tx, sourceID)
	if err != nil {
		return nil, err
	}
	if src.Status != model.ProxyRunning {
		return nil, apierr.New(notRunningCode(tx.Action, apierr.FailedOperationInstanceStatusNotInRuning), "only a RUNNING proxy can be cloned; %s is %s", src.ID, src.Status)
	}
	p.RealServerRegion = cmp.Or(p.RealServerRegion, src.RealServerRegion)
	p.IPAddressVersion = cmp.Or(p.IPAddressVersion, src.IPAddressVersion)
	p.NetworkType = cmp.Or(p.NetworkType, src.NetworkType)
	p.PackageType = cmp.Or(p.PackageType, src.PackageType)
	if !billingGiven {
		p.BillingType = src.BillingType
	}
	p.Status = model.ProxyCloning
	return src, nil
}

// cloneConfig copies the configuration of src (nil: not a clone) to the
// new proxy p: its security policy, and its listeners with their domains,
// rules and error pages, each under a new ID and pending like a new one.
// It returns the IDs of the copies. What cannot carry over is left out
// (docs/api-proxies.md): origin bindings when p is in another project
// (origins belong to a project), HTTP/3 when p has none, and everything
// when p joins a group.
func cloneConfig(tx *resource.Tx, src, p *model.Proxy) ([]string, error) {
	// A group member serves its group's listeners and policy.
	if src == nil || p.GroupID != "" {
		return nil, nil
	}
	var copied []string
	policies, err := resource.Children[model.SecurityPolicy](tx, src.ID)
	if err != nil {
		return nil, err
	}
	for _, sp := range policies {
		sp.Base, sp.ProxyID = model.Base{ID: model.NewID(model.PrefixPolicy)}, p.ID
		sp.Status = sp.CopyStatus()
		for i := range sp.Rules {
			sp.Rules[i].ID = model.NewID(model.PrefixSecurityRule)
		}
		if err := tx.Insert(sp); err != nil {
			return nil, err
		}
		p.PolicyID, copied = sp.ID, append(copied, sp.ID)
		if err := tx.Put(p); err != nil {
			return nil, err
		}
	}
	listeners, err := resource.Children[model.Listener](tx, src.ID)
	if err != nil {
		return nil, err
	}
	c := cloner{tx: tx, keepOrigins: p.ProjectID == src.ProjectID, http3: p.Http3Supported}
	for _, l := range listeners {
		if l.Status == model.StatusDeleting {
			continue
		}
		from := l.ID
		if l.TOA() && (owner{proxy: p}).checkTOA(&l.ClientIPMethod) != nil {
			// As CreateTCPListeners refuses it there: the clone's IPv6
			// clients would reach origins as the proxy's address.
			return nil, apierr.New(apierr.InvalidParameterValue, "the listener %s of %s passes client addresses by TOA (ClientIPMethod 0), which carries IPv4 addresses only, and the clone is IPv6: clone it as IPv4, or switch that listener to 1 (Proxy Protocol) first", from, src.ID)
		}
		l.Base, l.ProxyID, l.Status = model.Base{ID: model.NewID(model.PrefixListener)}, p.ID, model.StatusCreating
		l.Bindings, l.Http3Supported = c.origins(l.Bindings), min(l.Http3Supported, c.http3)
		if err := tx.Insert(l); err != nil {
			return nil, err
		}
		ids, err := c.listenerChildren(from, l.ID)
		if err != nil {
			return nil, err
		}
		copied = append(append(copied, l.ID), ids...)
	}
	return copied, nil
}

// cloner copies the objects of one listener to its copy.
type cloner struct {
	tx          *resource.Tx
	keepOrigins bool
	http3       int64
}

func (c cloner) origins(b []model.Bound) []model.Bound {
	if c.keepOrigins {
		return b
	}
	return nil
}

// listenerChildren copies the domains, rules and error pages of listener
// from to listener to.
func (c cloner) listenerChildren(from, to string) ([]string, error) {
	domains, err := resource.Children[model.Domain](c.tx, from)
	if err != nil {
		return nil, err
	}
	rules, err := resource.Children[model.Rule](c.tx, from)
	if err != nil {
		return nil, err
	}
	pages, err := resource.Children[model.ErrorPage](c.tx, from)
	if err != nil {
		return nil, err
	}
	ids, err := insertCopies(c.tx, domains, func(d *model.Domain) bool {
		if d.Status == model.DomainDeleting {
			return false
		}
		d.Base, d.ListenerID, d.Status = model.Base{ID: model.NewID(model.PrefixDomainInternal)}, to, model.DomainChanging
		d.Http3Supported = min(d.Http3Supported, c.http3)
		return true
	})
	if err != nil {
		return nil, err
	}
	more, err := insertCopies(c.tx, rules, func(r *model.Rule) bool {
		if r.Status == model.StatusDeleting {
			return false
		}
		r.Base, r.ListenerID, r.Status = model.Base{ID: model.NewID(model.PrefixRule)}, to, model.StatusCreating
		r.Bindings = c.origins(r.Bindings)
		return true
	})
	if err != nil {
		return nil, err
	}
	ids = append(ids, more...)
	more, err = insertCopies(c.tx, pages, func(e *model.ErrorPage) bool {
		e.Base, e.ListenerID = model.Base{ID: model.NewID(model.PrefixErrorPage)}, to
		return true
	})
	return append(ids, more...), err
}

// insertCopies stores each object that renew gives a new identity (it
// returns false for one not to copy, such as one being deleted) and
// returns their IDs.
func insertCopies[T model.Object](tx *resource.Tx, objs []T, renew func(T) bool) ([]string, error) {
	var ids []string
	for _, o := range objs {
		if !renew(o) {
			continue
		}
		if err := tx.Insert(o); err != nil {
			return nil, err
		}
		ids = append(ids, o.Meta().ID)
	}
	return ids, nil
}
