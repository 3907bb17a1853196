package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// CreateHTTPListener creates an HTTP listener; its origins are bound
// through domains and rules.
func (s *Service) CreateHTTPListener(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateHTTPListenerRequest) (*gaapapi.CreateHTTPListenerResponse, error) {
	l := &model.Listener{Protocol: model.HTTP, Name: *req.ListenerName, Port: *req.Port}
	err := s.createL7(ctx, call, req.ProxyId, req.GroupId, l, nil)
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateHTTPListenerResponse{ListenerId: &l.ID}, nil
}

// CreateHTTPSListener creates an HTTPS listener terminating TLS with a
// server certificate (type 2) and, for mutual authentication, client CA
// certificates (type 1).
func (s *Service) CreateHTTPSListener(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateHTTPSListenerRequest) (*gaapapi.CreateHTTPSListenerResponse, error) {
	l := &model.Listener{
		Protocol: model.HTTPS, Name: *req.ListenerName, Port: *req.Port, ForwardProtocol: *req.ForwardProtocol,
		CertificateID: *req.CertificateId, AuthType: cloudapi.Value(req.AuthType),
		Http3Supported:    cloudapi.Value(req.Http3Supported),
		TLSSupportVersion: model.DefaultTLSVersion, TLSCiphers: model.DefaultTLSCiphers,
	}
	clients, err := clientCertIDs(call.Action, req.ClientCertificateId, req.PolyClientCertificateIds)
	if err != nil {
		return nil, err
	}
	if clients == nil {
		clients = []string{} // checked against AuthType even when none is given
	}
	err = s.createL7(ctx, call, req.ProxyId, req.GroupId, l, func(tx *resource.Tx, o owner) error {
		if l.Http3Supported == 1 && !o.http3() {
			return cloudapi.Invalid("Http3Supported", "%s was not created with HTTP/3 support", o.id())
		}
		return setHTTPSCerts(tx, l, &l.CertificateID, clients)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateHTTPSListenerResponse{ListenerId: &l.ID}, nil
}

// createL7 validates and stores a new HTTP or HTTPS listener; extra, when
// set, runs the protocol's own checks inside the transaction.
func (s *Service) createL7(ctx context.Context, call *cloudapi.Call, proxyID, groupID *string, l *model.Listener, extra func(*resource.Tx, owner) error) error {
	if err := model.CheckL7(l); err != nil {
		return err
	}
	l.ID, l.Status, l.ClientIPMethod = model.NewID(model.PrefixListener), model.StatusCreating, model.ClientIPNone
	return s.update(ctx, call, func(tx *resource.Tx) error {
		o, err := loadOwner(tx, proxyID, groupID)
		if err != nil {
			return err
		}
		if err := o.checkRunning(tx); err != nil {
			return err
		}
		o.assign(l)
		if err := o.checkNewListeners(tx, call.Action, []*model.Listener{l}); err != nil {
			return err
		}
		if extra != nil {
			if err := extra(tx, o); err != nil {
				return err
			}
		}
		return insertListeners(tx, []*model.Listener{l})
	})
}

// clientCertIDs merges the old single ClientCertificateId and the newer
// PolyClientCertificateIds of action; the reference offers them as
// alternatives (both: conflictCode).
func clientCertIDs(action string, single *string, poly []string) ([]string, error) {
	if single != nil && len(poly) > 0 {
		return nil, apierr.New(conflictCode(action), "give ClientCertificateId or PolyClientCertificateIds, not both")
	}
	if single != nil {
		return []string{*single}, nil
	}
	return poly, nil
}

// setHTTPSCerts checks and sets the server certificate (when serverID is
// not nil) and the client CA certificates (when clients is not nil) of an
// HTTPS listener, according to its AuthType.
func setHTTPSCerts(tx *resource.Tx, l *model.Listener, serverID *string, clients []string) error {
	if serverID != nil {
		if _, err := certOfType(tx, "CertificateId", *serverID, model.CertServer); err != nil {
			return err
		}
		l.CertificateID = *serverID
	}
	if clients == nil {
		return nil
	}
	if l.AuthType == 0 && len(clients) > 0 {
		return cloudapi.Invalid("PolyClientCertificateIds", "client CA certificates apply to mutual authentication (AuthType 1) only")
	}
	if err := model.CheckCertificateIDs("PolyClientCertificateIds", clients); err != nil {
		return err
	}
	for i, id := range clients {
		if _, err := certOfType(tx, portParam("PolyClientCertificateIds", i), id, model.CertClientCA); err != nil {
			return err
		}
	}
	l.ClientCertificateIDs = clients
	if l.AuthType == 1 && len(l.ClientCertificateIDs) == 0 {
		return cloudapi.Invalid("ClientCertificateId", "mutual authentication (AuthType 1) needs a client CA certificate (ClientCertificateId or PolyClientCertificateIds)")
	}
	return nil
}

func (o owner) http3() bool {
	if o.proxy != nil {
		return o.proxy.Http3Supported == 1
	}
	return o.group.Http3Supported == 1
}
