package gaap

import (
	"context"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// CreateDomain adds an access domain to an HTTP or HTTPS listener.
func (s *Service) CreateDomain(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateDomainRequest) (*gaapapi.CreateDomainResponse, error) {
	host, given := l7Host(*req.Domain), strings.TrimSpace(*req.Domain)
	if err := model.ValidateHost("Domain", host); err != nil {
		return nil, err
	}
	h3 := cloudapi.Value(req.Http3Supported)
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		l, err := s.operableL7ListenerParam(tx, req.ListenerId)
		if err != nil {
			return err
		}
		if err := l.CheckDomainHTTP3(h3); err != nil {
			return err
		}
		all, err := listenerDomains(tx, l.ID)
		if err != nil {
			return err
		}
		if err := checkNewHost(all, l.ID, host); err != nil {
			return err
		}
		if len(all) >= model.MaxDomainsPerListener {
			return apierr.New(apierr.LimitExceeded, "listener %s already has %d domains, the maximum", l.ID, model.MaxDomainsPerListener)
		}
		d := &model.Domain{Base: model.Base{ID: model.NewID(model.PrefixDomainInternal)}, ListenerID: l.ID, Host: host, HostAsGiven: given,
			Status: model.DomainChanging, Http3Supported: h3}
		certs := certChoice{server: req.CertificateId, client: req.ClientCertificateId, poly: req.PolyClientCertificateIds}
		if err := certs.apply(tx, l, d, true); err != nil {
			return err
		}
		if err := setDefaultServer(tx, all, d, req.IsDefaultServer); err != nil {
			return err
		}
		if err := tx.Insert(d); err != nil {
			return err
		}
		return startL7Task(tx, l.ID, d.ID)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateDomainResponse{}, nil
}

// ModifyDomain renames a domain (its rules and error pages follow) and
// optionally changes its certificates and default-server flag.
func (s *Service) ModifyDomain(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyDomainRequest) (*gaapapi.ModifyDomainResponse, error) {
	newHost, given := l7Host(*req.NewDomain), strings.TrimSpace(*req.NewDomain)
	if err := model.ValidateHost("NewDomain", newHost); err != nil {
		return nil, err
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		l, d, err := s.changeableDomain(tx, req.ListenerId, *req.OldDomain)
		if err != nil {
			return err
		}
		all, err := listenerDomains(tx, l.ID)
		if err != nil {
			return err
		}
		if newHost != d.Host {
			if err := checkNewHost(all, l.ID, newHost); err != nil {
				return err
			}
		}
		if given != d.ShownHost() {
			if err := renameDomain(tx, l.ID, d.Host, newHost, given); err != nil {
				return err
			}
			d.Host, d.HostAsGiven = newHost, given
		}
		certs := certChoice{server: req.CertificateId, client: req.ClientCertificateId, poly: req.PolyClientCertificateIds}
		if err := certs.apply(tx, l, d, false); err != nil {
			return err
		}
		if err := setDefaultServer(tx, all, d, req.IsDefaultServer); err != nil {
			return err
		}
		return changeDomain(tx, d)
	})
	return &gaapapi.ModifyDomainResponse{}, err
}

// ModifyCertificate changes the server and client certificates of a domain
// of an HTTPS listener.
func (s *Service) ModifyCertificate(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyCertificateRequest) (*gaapapi.ModifyCertificateResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		l, d, err := s.changeableDomain(tx, req.ListenerId, *req.Domain)
		if err != nil {
			return err
		}
		if l.Protocol != model.HTTPS {
			return apierr.New(protocolCode(tx.Action), "ListenerId: listener %s is HTTP; certificates exist only on HTTPS listeners", l.ID)
		}
		certs := certChoice{server: req.CertificateId, client: req.ClientCertificateId, poly: req.PolyClientCertificateIds}
		if err := certs.apply(tx, l, d, false); err != nil {
			return err
		}
		return changeDomain(tx, d)
	})
	return &gaapapi.ModifyCertificateResponse{}, err
}

// DeleteDomain deletes a domain with its rules and error pages. Without
// Force it refuses while a rule of the domain has origins bound.
func (s *Service) DeleteDomain(ctx context.Context, call *cloudapi.Call, req *gaapapi.DeleteDomainRequest) (*gaapapi.DeleteDomainResponse, error) {
	if f := *req.Force; f != 0 && f != 1 {
		return nil, cloudapi.Invalid("Force", "must be 0 or 1, not %d", f)
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		l, d, err := s.changeableDomain(tx, req.ListenerId, *req.Domain)
		if err != nil {
			return err
		}
		rules, err := domainRules(tx, l.ID, d.Host)
		if err != nil {
			return err
		}
		ids := []string{d.ID}
		for _, r := range rules {
			if *req.Force == 0 && len(r.Bindings) > 0 {
				return apierr.New(apierr.FailedOperationRealServerAlreadyBound, "rule %s of domain %q has origins bound; unbind them or pass Force=1", r.ID, d.Host)
			}
			r.Status = model.StatusDeleting
			if err := tx.Put(r); err != nil {
				return err
			}
			ids = append(ids, r.ID)
		}
		if err := deleteErrorPages(tx, l.ID, d.Host); err != nil {
			return err
		}
		d.Status = model.DomainDeleting
		if err := tx.Put(d); err != nil {
			return err
		}
		_, err = tx.StartTask(ids...)
		return err
	})
	return &gaapapi.DeleteDomainResponse{}, err
}

// changeDomain stores a change to the domain d, which applies
// asynchronously: d is changing until the data plane has it, and the
// call's task waits for it.
func changeDomain(tx *resource.Tx, d *model.Domain) error {
	d.Status = model.DomainChanging
	if err := tx.Put(d); err != nil {
		return err
	}
	return startL7Task(tx, d.ListenerID, d.ID)
}

// startL7Task records the task of a call that changes domains or rules
// (objects) of the listener listenerID. They serve only through their
// listener's sockets, so the task also waits for the listener, as one the
// call brings up: when the data plane cannot run it (its port taken while
// its proxy was closed or across a restart, or on one member of its
// group), the change serves nowhere, DescribeRules reads it 1 (shown), and
// the task fails, as OpenProxies' does, instead of telling a client that
// polls it the change is live. A deletion does not come here: it is done
// once its objects are gone, whether the listener serves or not.
func startL7Task(tx *resource.Tx, listenerID string, objects ...string) error {
	_, err := tx.StartTaskBringing(objects, []string{listenerID})
	return err
}

// changeableDomain loads an operable layer-7 listener and its domain host,
// which must not be being deleted.
func (s *Service) changeableDomain(tx *resource.Tx, listenerID *string, host string) (*model.Listener, *model.Domain, error) {
	l, err := s.operableL7ListenerParam(tx, listenerID)
	if err != nil {
		return nil, nil, err
	}
	d, err := liveDomain(tx, l.ID, l7Host(host))
	return l, d, err
}

// checkNewHost refuses a host the listener already has.
func checkNewHost(all []*model.Domain, listenerID, host string) error {
	for _, d := range all {
		if d.Host == host {
			return apierr.New(apierr.FailedOperationDomainAlreadyExisted, "listener %s already has the domain %q", listenerID, host)
		}
	}
	return nil
}

// renameDomain moves the rules and error pages of a domain to its new name
// (newHost, spelled given; a new spelling of the same name moves them
// too, so they read back as the domain does). A rule health-checking the
// old name (the default; none for a wildcard) checks the new one (none for
// a wildcard: model.DefaultCheck): ModifyRuleAttribute cannot
// change the check domain, so the rename is the only moment to keep it a
// name the listener serves.
func renameDomain(tx *resource.Tx, listenerID, oldHost, newHost, given string) error {
	rules, err := domainRules(tx, listenerID, oldHost)
	if err != nil {
		return err
	}
	for _, r := range rules {
		r.Domain, r.DomainAsGiven = newHost, given
		// The default: the old name, or none for a wildcard one.
		if newHost != oldHost && (r.Check.Domain == model.DefaultCheck(oldHost).Domain || strings.EqualFold(r.Check.Domain, oldHost)) {
			r.Check.Domain = model.DefaultCheck(newHost).Domain // None for a wildcard.
		}
		if err := tx.Put(r); err != nil {
			return err
		}
	}
	pages, err := domainErrorPages(tx, listenerID, oldHost)
	if err != nil {
		return err
	}
	for _, p := range pages {
		p.Domain, p.DomainAsGiven = newHost, given
		if err := tx.Put(p); err != nil {
			return err
		}
	}
	return nil
}

// setDefaultServer applies IsDefaultServer: a listener has at most one
// default domain, so choosing d clears the flag on the others.
func setDefaultServer(tx *resource.Tx, all []*model.Domain, d *model.Domain, want *bool) error {
	if want == nil {
		return nil
	}
	d.IsDefaultServer = *want
	if !*want {
		return nil
	}
	for _, o := range all {
		if o.ID != d.ID && o.IsDefaultServer {
			o.IsDefaultServer = false
			if err := tx.Put(o); err != nil {
				return err
			}
		}
	}
	return nil
}

// l7Host lower-cases a host: DNS names are case-insensitive, and one
// spelling keeps (listener, domain) unique and is what lookups, rules,
// error pages and the data plane use. Describe shows the caller's
// spelling (model.AsGiven).
func l7Host(h string) string { return strings.ToLower(strings.TrimSpace(h)) }
