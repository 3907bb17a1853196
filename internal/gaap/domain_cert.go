package gaap

import (
	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// certChoice is the certificate parameters of CreateDomain, ModifyDomain
// and ModifyCertificate; nil fields are absent.
type certChoice struct {
	server, client *string
	poly           []string
}

// apply resolves the choice onto d. On creation absent certificates mean
// the listener's; on modification they mean "unchanged".
func (c certChoice) apply(tx *resource.Tx, l *model.Listener, d *model.Domain, creating bool) error {
	if l.Protocol != model.HTTPS {
		if !c.inheritsOnly() {
			return cloudapi.Invalid("CertificateId", "listener %s is HTTP; certificates apply only to HTTPS listeners", l.ID)
		}
		return nil
	}
	if err := c.applyServer(tx, d, creating); err != nil {
		return err
	}
	return c.applyClient(tx, l, d, creating)
}

// inheritsOnly reports whether every certificate given is "default" (the
// listener's), or none is. On an HTTP listener that means no certificate:
// there is nothing to inherit, and Terraform's provider sends CertificateId
// "default" and PolyClientCertificateIds ["default"] to ModifyDomain for
// HTTP and HTTPS listeners alike.
func (c certChoice) inheritsOnly() bool {
	if c.server != nil && *c.server != model.CertDefault || c.client != nil && *c.client != model.CertDefault {
		return false
	}
	for _, id := range c.poly {
		if id != model.CertDefault {
			return false
		}
	}
	return true
}

// applyServer sets d's server certificate. A certificate the domain keeps
// is checked again like a new one: ModifyDomain may have renamed the
// domain to a name the certificate does not cover.
func (c certChoice) applyServer(tx *resource.Tx, d *model.Domain, creating bool) error {
	id := c.server
	if id == nil && !creating && d.CertificateID != "" && d.CertificateID != model.CertDefault {
		id = &d.CertificateID
	}
	switch {
	case id == nil && creating, id != nil && *id == model.CertDefault:
		d.CertificateID = model.CertDefault
	case id != nil:
		cert, err := certOfType(tx, "CertificateId", *id, model.CertServer)
		if err != nil {
			return err
		}
		if covers, ok := model.CertificateMatchesHost(cert.Content, d.Host); !ok {
			return apierr.New(apierr.InvalidParameterValueCertificateNotMatchDomain, "certificate %s (%s) is not valid for the domain %q; give a CertificateId that covers it, or default", cert.ID, covers, d.Host)
		}
		d.CertificateID = cert.ID
	}
	return nil
}

func (c certChoice) applyClient(tx *resource.Tx, l *model.Listener, d *model.Domain, creating bool) error {
	ids := c.poly
	if len(ids) == 0 && c.client != nil {
		ids = []string{*c.client}
	}
	if len(ids) == 0 {
		if creating && l.AuthType == 1 {
			d.ClientCertificateIDs = []string{model.CertDefault}
		}
		return nil
	}
	if err := model.CheckCertificateIDs("PolyClientCertificateIds", ids); err != nil {
		return err
	}
	for _, id := range ids {
		if id == model.CertDefault {
			continue
		}
		if l.AuthType != 1 {
			return cloudapi.Invalid("ClientCertificateId", "listener %s uses one-way authentication; client CA certificates need mutual authentication (AuthType 1)", l.ID)
		}
		if _, err := certOfType(tx, "ClientCertificateId", id, model.CertClientCA); err != nil {
			return err
		}
	}
	d.ClientCertificateIDs = ids
	return nil
}
