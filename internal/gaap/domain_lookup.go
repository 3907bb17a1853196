package gaap

import (
	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// l7Listener loads an HTTP or HTTPS listener of the caller.
func l7Listener(tx *resource.Tx, id string) (*model.Listener, error) {
	l, err := resource.Get[model.Listener](tx, id)
	if err != nil {
		return nil, err
	}
	if !l.IsL7() {
		return nil, apierr.New(protocolCode(tx.Action), "ListenerId: listener %s is %s; domains, rules and error pages exist only on HTTP and HTTPS listeners", id, l.Protocol)
	}
	return l, nil
}

// l7ListenerParam is l7Listener for the listener a request's ListenerId
// names.
func l7ListenerParam(tx *resource.Tx, p *string) (*model.Listener, error) {
	id, err := idParam("ListenerId", p)
	if err != nil {
		return nil, err
	}
	return l7Listener(tx, id)
}

// protocolCode is the code for a listener of the wrong protocol:
// FailedOperation.InvalidListenerProtocol where the action's reference
// lists it, InvalidParameterValue elsewhere, since clients branch on the
// codes an action documents (docs/api-l7.md).
func protocolCode(action string) apierr.Code {
	return listedCode(action, apierr.FailedOperationInvalidListenerProtocol, apierr.InvalidParameterValue)
}

// operableL7Listener is l7Listener for changes: the listener and the proxy
// or group it belongs to must be running, since the change is pushed to
// their data plane.
func (s *Service) operableL7Listener(tx *resource.Tx, id string) (*model.Listener, error) {
	l, err := l7Listener(tx, id)
	if err != nil {
		return nil, err
	}
	if err := s.checkIdle(tx.Action, l); err != nil {
		return nil, err
	}
	if l.ProxyID != "" {
		p, err := resource.Get[model.Proxy](tx, l.ProxyID)
		if err != nil {
			return nil, err
		}
		if !p.Operable() {
			return nil, apierr.New(notRunningCode(tx.Action, apierr.FailedOperationProxyStatusNotInRuning),
				"proxy %s of listener %s is %s, not RUNNING", p.ID, id, p.Status)
		}
		return l, nil
	}
	g, err := resource.Get[model.ProxyGroup](tx, l.GroupID)
	if err != nil {
		return nil, err
	}
	if err := groupRunning(tx, g); err != nil {
		return nil, err
	}
	return l, nil
}

// operableL7ListenerParam is operableL7Listener for the listener a
// request's ListenerId names.
func (s *Service) operableL7ListenerParam(tx *resource.Tx, p *string) (*model.Listener, error) {
	id, err := idParam("ListenerId", p)
	if err != nil {
		return nil, err
	}
	return s.operableL7Listener(tx, id)
}

// domains returns the domains of a listener in creation order.
func listenerDomains(tx *resource.Tx, listenerID string) ([]*model.Domain, error) {
	return resource.Children[model.Domain](tx, listenerID)
}

// findDomain returns the domain named host on a listener.
func findDomain(tx *resource.Tx, listenerID, host string) (*model.Domain, error) {
	all, err := listenerDomains(tx, listenerID)
	if err != nil {
		return nil, err
	}
	for _, d := range all {
		if d.Host == host {
			return d, nil
		}
	}
	return nil, apierr.New(apierr.ResourceNotFound, "listener %s has no domain %q (see DescribeRules)", listenerID, host)
}

// liveDomain is findDomain for changes: the domain must not be being
// deleted. A domain still applying an earlier change (status 1) accepts
// further ones, as Tencent Cloud does (Terraform's provider issues
// ModifyDomain, ModifyCertificate and SetAuthentication back to back
// without waiting, and does not retry DomainStatusNotInRunning): the later
// change supersedes, and the controller applies the latest stored state
// and settles the domain only once the generation it applied is the
// stored one. A domain being deleted answers
// FailedOperation.DomainStatusNotInRunning where the action's error list
// names it (ModifyDomain, ModifyCertificate, DeleteDomain, DeleteRule,
// BindRuleRealServers), else FailedOperation (CreateRule,
// SetAuthentication, CreateDomainErrorPageInfo): clients branch on the
// documented codes.
func liveDomain(tx *resource.Tx, listenerID, host string) (*model.Domain, error) {
	d, err := findDomain(tx, listenerID, host)
	if err == nil && d.Status == model.DomainDeleting {
		err = apierr.New(listedCode(tx.Action, apierr.FailedOperationDomainStatusNotInRunning, apierr.FailedOperation),
			"domain %q of listener %s is being deleted", host, listenerID)
	}
	return d, err
}

// domainRules returns the rules of a listener on host.
func domainRules(tx *resource.Tx, listenerID, host string) ([]*model.Rule, error) {
	all, err := resource.Children[model.Rule](tx, listenerID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if r.Domain == host {
			out = append(out, r)
		}
	}
	return out, nil
}

// certOfType loads a certificate of the caller and checks its type; param
// names the parameter that referenced it. An unknown (or another
// account's) ID or one of the wrong type answers
// InvalidParameterValue.InvalidCertificateId where the action's error list
// names it (CreateHTTPSListener, SetAuthentication), else
// InvalidParameterValue (CreateDomain, ModifyDomain, ModifyCertificate,
// ModifyHTTPSListenerAttribute): clients branch on the documented codes.
func certOfType(tx *resource.Tx, param, id string, typ int64) (*model.Certificate, error) {
	code := listedCode(tx.Action, apierr.InvalidParameterValueInvalidCertificateId, apierr.InvalidParameterValue)
	c, err := resource.Get[model.Certificate](tx, id)
	if apierr.Is(err, apierr.ResourceNotFound) {
		return nil, apierr.New(code, "%s: certificate %s does not exist", param, id)
	}
	if err != nil {
		return nil, err
	}
	if c.Type != typ {
		return nil, apierr.New(code, "%s: certificate %s has type %d; type %d is required here", param, id, c.Type, typ)
	}
	return c, nil
}
