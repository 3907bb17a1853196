package gaap

import (
	"context"
	"strings"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// SetAuthentication sets the advanced authentication of a domain: basic
// authentication of clients, the proxy's client certificate towards
// origins (GaapAuth) and verification of origin certificates
// (RealServerAuth). Each switch defaults to 0 (off), as documented, so a
// call states the whole configuration; TLS versions and ciphers are kept
// when absent.
func (s *Service) SetAuthentication(ctx context.Context, call *cloudapi.Call, req *gaapapi.SetAuthenticationRequest) (*gaapapi.SetAuthenticationResponse, error) {
	if err := domainTLSOptions(req.TLSSupportVersion, req.TLSCiphers); err != nil {
		return nil, err
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		l, d, err := s.changeableDomain(tx, req.ListenerId, *req.Domain)
		if err != nil {
			return err
		}
		if l.Protocol != model.HTTPS && (len(req.TLSSupportVersion) > 0 || cloudapi.Value(req.TLSCiphers) != "") {
			// As SetTlsVersion refuses them there: stored, they read back as
			// what a plain-text domain is served with.
			return cloudapi.Invalid("TLSSupportVersion", "TLS versions and ciphers apply to the domains of HTTPS listeners; %s is %s", l.ID, l.Protocol)
		}
		if err := setBasicAuth(tx, d, req); err != nil {
			return err
		}
		if err := setGaapAuth(tx, d, req); err != nil {
			return err
		}
		if err := setRealServerAuth(tx, d, req); err != nil {
			return err
		}
		if req.TLSSupportVersion != nil {
			d.TLSSupportVersion = req.TLSSupportVersion
		}
		if req.TLSCiphers != nil {
			d.TLSCiphers = *req.TLSCiphers
		}
		if req.TLSSupportVersion != nil || req.TLSCiphers != nil {
			// Either may be its listener's, which the domain keeps.
			versions, ciphers := d.ServedTLS(l)
			if err := model.CheckTLSPair(versions, ciphers, conflictCode(call.Action)); err != nil {
				return err
			}
		}
		return changeDomain(tx, d)
	})
	return &gaapapi.SetAuthenticationResponse{}, err
}

func setBasicAuth(tx *resource.Tx, d *model.Domain, req *gaapapi.SetAuthenticationRequest) error {
	on, err := domainAuthSwitch("BasicAuth", req.BasicAuth)
	if err != nil || on == 0 {
		d.BasicAuth, d.BasicAuthConfID = 0, ""
		return err
	}
	if trimmed(req.BasicAuthConfId) == "" {
		return cloudapi.Missing("BasicAuthConfId")
	}
	if _, err := certOfType(tx, "BasicAuthConfId", *req.BasicAuthConfId, model.CertBasicAuth); err != nil {
		return err
	}
	d.BasicAuth, d.BasicAuthConfID = 1, *req.BasicAuthConfId
	return nil
}

func setGaapAuth(tx *resource.Tx, d *model.Domain, req *gaapapi.SetAuthenticationRequest) error {
	on, err := domainAuthSwitch("GaapAuth", req.GaapAuth)
	if err != nil || on == 0 {
		d.GaapAuth, d.GaapCertificateID = 0, ""
		return err
	}
	if trimmed(req.GaapCertificateId) == "" {
		return cloudapi.Missing("GaapCertificateId")
	}
	if _, err := certOfType(tx, "GaapCertificateId", *req.GaapCertificateId, model.CertProxyClient); err != nil {
		return err
	}
	d.GaapAuth, d.GaapCertificateID = 1, *req.GaapCertificateId
	return nil
}

func setRealServerAuth(tx *resource.Tx, d *model.Domain, req *gaapapi.SetAuthenticationRequest) error {
	on, err := domainAuthSwitch("RealServerAuth", req.RealServerAuth)
	if err != nil || on == 0 {
		d.RealServerAuth, d.RealServerCertificateIDs, d.RealServerCertificateDomain = 0, nil, ""
		return err
	}
	ids := req.PolyRealServerCertificateIds
	if len(ids) == 0 && trimmed(req.RealServerCertificateId) != "" {
		ids = []string{*req.RealServerCertificateId}
	}
	if len(ids) == 0 {
		return cloudapi.Missing("RealServerCertificateId")
	}
	if err := model.CheckCertificateIDs("PolyRealServerCertificateIds", ids); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := certOfType(tx, "RealServerCertificateId", id, model.CertOriginCA); err != nil {
			return err
		}
	}
	name := trimmed(req.RealServerCertificateDomain)
	if name != "" {
		// The edge verifies origin certificates against it: one host.
		if err := model.ValidateHost("RealServerCertificateDomain", name); err != nil {
			return err
		}
		if strings.HasPrefix(name, "*.") {
			return cloudapi.Invalid("RealServerCertificateDomain", "%q must name one host, not a wildcard", name)
		}
	}
	d.RealServerAuth, d.RealServerCertificateIDs, d.RealServerCertificateDomain = 1, ids, name
	return nil
}

// domainAuthSwitch reads a 0/1 switch that defaults to 0.
func domainAuthSwitch(param string, v *int64) (int64, error) {
	on := cloudapi.Value(v)
	if on != 0 && on != 1 {
		return 0, cloudapi.Invalid(param, "must be 0 (off) or 1 (on), not %d", on)
	}
	return on, nil
}

// domainTLSOptions checks SetAuthentication's TLSSupportVersion and
// TLSCiphers, both optional, by the listener's rules.
func domainTLSOptions(versions []string, ciphers *string) error {
	if versions != nil {
		if err := model.CheckTLSVersions(versions); err != nil {
			return err
		}
	}
	if ciphers != nil {
		return model.CheckEnum("TLSCiphers", *ciphers, model.TLSCipherSuites)
	}
	return nil
}
