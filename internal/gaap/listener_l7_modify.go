package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// ModifyHTTPListenerAttribute renames an HTTP listener. The name is not
// part of the data plane's configuration, so the change is immediate.
func (s *Service) ModifyHTTPListenerAttribute(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyHTTPListenerAttributeRequest) (*gaapapi.ModifyHTTPListenerAttributeResponse, error) {
	if err := model.CheckName("ListenerName", *req.ListenerName); err != nil {
		return nil, err
	}
	err := s.editListener(ctx, call, req.ListenerId, trimmed(req.ProxyId), model.HTTP,
		func(_ *resource.Tx, l *model.Listener) (bool, error) {
			l.Name = *req.ListenerName
			return false, nil
		})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyHTTPListenerAttributeResponse{}, nil
}

// ModifyHTTPSListenerAttribute changes an HTTPS listener's name, origin
// protocol or certificates. AuthType cannot change after creation.
func (s *Service) ModifyHTTPSListenerAttribute(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyHTTPSListenerAttributeRequest) (*gaapapi.ModifyHTTPSListenerAttributeResponse, error) {
	if req.ListenerName != nil {
		if err := model.CheckName("ListenerName", *req.ListenerName); err != nil {
			return nil, err
		}
	}
	if req.ForwardProtocol != nil {
		if err := model.CheckEnum("ForwardProtocol", *req.ForwardProtocol, model.ForwardProtocols); err != nil {
			return nil, err
		}
	}
	clients, err := clientCertIDs(call.Action, req.ClientCertificateId, req.PolyClientCertificateIds)
	if err != nil {
		return nil, err
	}
	err = s.editListener(ctx, call, req.ListenerId, trimmed(req.ProxyId), model.HTTPS,
		func(tx *resource.Tx, l *model.Listener) (bool, error) {
			if req.ListenerName != nil {
				l.Name = *req.ListenerName
			}
			if req.ForwardProtocol != nil {
				l.ForwardProtocol = *req.ForwardProtocol
			}
			dataPlane := req.ForwardProtocol != nil || req.CertificateId != nil || clients != nil
			return dataPlane, setHTTPSCerts(tx, l, req.CertificateId, clients)
		})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyHTTPSListenerAttributeResponse{}, nil
}

// SetTlsVersion sets the TLS versions and cipher suite family an HTTPS
// listener offers clients.
func (s *Service) SetTlsVersion(ctx context.Context, call *cloudapi.Call, req *gaapapi.SetTlsVersionRequest) (*gaapapi.SetTlsVersionResponse, error) {
	if err := model.CheckTLS(req.TLSSupportVersion, *req.TLSCiphers, conflictCode(call.Action)); err != nil {
		return nil, err
	}
	err := s.editListener(ctx, call, req.ListenerId, "", model.HTTPS,
		func(tx *resource.Tx, l *model.Listener) (bool, error) {
			l.TLSSupportVersion, l.TLSCiphers = req.TLSSupportVersion, *req.TLSCiphers
			return true, inheritedTLS(tx, call.Action, l)
		})
	if err != nil {
		return nil, err
	}
	return &gaapapi.SetTlsVersionResponse{}, nil
}

// inheritedTLS checks the TLS versions and ciphers of l's domains that
// take either from l, as SetTlsVersion changed it: a domain that set its
// own ciphers (SetAuthentication) must not be left with versions none of
// them can be used in.
func inheritedTLS(tx *resource.Tx, action string, l *model.Listener) error {
	all, err := listenerDomains(tx, l.ID)
	if err != nil {
		return err
	}
	for _, d := range all {
		if d.Status == model.DomainDeleting || len(d.TLSSupportVersion) > 0 && d.TLSCiphers != "" {
			continue
		}
		versions, ciphers := d.ServedTLS(l)
		if err := model.CheckTLSPair(versions, ciphers, conflictCode(action)); err != nil {
			e := apierr.From(err)
			return apierr.New(e.Code, "domain %q keeps its own TLS settings (SetAuthentication) and would be served with %s", d.Host, e.Msg)
		}
	}
	return nil
}

// editListener loads a running listener of protocol (of proxyID when not
// empty) under a running owner, applies edit and stores it; when edit
// reports a data-plane change the listener goes to status 4 (adjusting).
func (s *Service) editListener(ctx context.Context, call *cloudapi.Call, id *string, proxyID, protocol string,
	edit func(*resource.Tx, *model.Listener) (bool, error)) error {
	return s.update(ctx, call, func(tx *resource.Tx) error {
		if err := refuseMemberID(tx, call.Action, proxyID); err != nil {
			return err
		}
		l, err := listenerParam(tx, id, proxyID, protocol)
		if err != nil {
			return err
		}
		o, err := ownerOf(tx, l)
		if err != nil {
			return err
		}
		if err := o.checkRunning(tx); err != nil {
			return err
		}
		if err := s.checkIdle(call.Action, l); err != nil {
			return err
		}
		changed, err := edit(tx, l)
		if err != nil {
			return err
		}
		if changed {
			if err := startAdjusting(tx, l); err != nil {
				return err
			}
		}
		return tx.Put(l)
	})
}
