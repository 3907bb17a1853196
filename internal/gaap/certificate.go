package gaap

import (
	"context"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// CreateCertificate stores a certificate, CA or basic-auth user list after
// parsing it; private keys are sealed before they reach the store.
func (s *Service) CreateCertificate(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateCertificateRequest) (*gaapapi.CreateCertificateResponse, error) {
	c := &model.Certificate{Base: model.Base{ID: model.NewID(model.PrefixCertificate)}, Type: *req.CertificateType,
		Name: trimmed(req.CertificateAlias), UpdateTime: call.Time.Unix()}
	if err := validateCertAlias(c.Name); err != nil {
		return nil, err
	}
	key, err := model.FillCertificate(c, *req.CertificateContent, cloudapi.Value(req.CertificateKey))
	if err != nil {
		return nil, err
	}
	c.KeySealed = s.sealer.Seal(key)
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		n, err := resource.Count[model.Certificate](tx)
		if err != nil {
			return err
		}
		if n >= model.MaxCertificates {
			return apierr.New(apierr.LimitExceeded, "an account may hold at most %d certificates; delete unused ones first", model.MaxCertificates)
		}
		return tx.Insert(c)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateCertificateResponse{CertificateId: &c.ID}, nil
}

// DescribeCertificates lists the caller's certificates, optionally of one
// type, in creation order.
func (s *Service) DescribeCertificates(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeCertificatesRequest) (*gaapapi.DescribeCertificatesResponse, error) {
	typ := cloudapi.ValueOr(req.CertificateType, -1)
	if typ < -1 || typ > model.CertProxyClient {
		return nil, cloudapi.Invalid("CertificateType", "must be -1 (all) or 0-4, not %d", typ)
	}
	offset, limit, err := paging(req.Offset, req.Limit, 0)
	if err != nil {
		return nil, err
	}
	var certs []*model.Certificate
	var total int
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		if typ < 0 {
			certs, total, err = pageByCreation[model.Certificate](tx, store.Query{}, offset, limit, false)
		} else {
			certs, total, err = certificatesOfType(tx, typ, offset, limit)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	resp := &gaapapi.DescribeCertificatesResponse{TotalCount: new(int64(total)), CertificateSet: []gaapapi.Certificate{}}
	for _, c := range certs {
		resp.CertificateSet = append(resp.CertificateSet, certificateOut(c))
	}
	return resp, nil
}

// certificatesOfType pages the caller's certificates of type typ. The type
// is inside the stored document, so the store cannot filter by it: they are
// read certChunk at a time, which bounds what one listing holds in memory
// whatever the account stores, and only the page is kept.
func certificatesOfType(tx *resource.Tx, typ int64, offset, limit int) ([]*model.Certificate, int, error) {
	const certChunk = 50
	var page []*model.Certificate
	total := 0
	for at := 0; ; at += certChunk {
		certs, _, err := resource.List[model.Certificate](tx, store.Query{Offset: at, Limit: certChunk, NoTotal: true})
		if err != nil {
			return nil, 0, err
		}
		for _, c := range certs {
			if c.Type != typ {
				continue
			}
			if total >= offset && total-offset < limit {
				page = append(page, c)
			}
			total++
		}
		if len(certs) < certChunk {
			return page, total, nil
		}
	}
}

// DescribeCertificateDetail returns one certificate with its content and,
// for server and proxy certificates, its private key.
func (s *Service) DescribeCertificateDetail(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeCertificateDetailRequest) (*gaapapi.DescribeCertificateDetailResponse, error) {
	var c *model.Certificate
	err := s.view(ctx, call, func(tx *resource.Tx) (err error) {
		c, err = certificate(tx, *req.CertificateId)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := certificateOut(c)
	d := &gaapapi.CertificateDetail{CertificateId: out.CertificateId, CertificateType: out.CertificateType,
		CertificateAlias: out.CertificateAlias, CertificateContent: &c.Content, CreateTime: out.CreateTime,
		BeginTime: out.BeginTime, EndTime: out.EndTime, IssuerCN: out.IssuerCN, SubjectCN: out.SubjectCN}
	if model.HasKey(c.Type) {
		key, err := s.sealer.Open(c.KeySealed)
		if err != nil {
			return nil, apierr.Internal(err)
		}
		d.CertificateKey = &key
	}
	return &gaapapi.DescribeCertificateDetailResponse{CertificateDetail: d}, nil
}

// ModifyCertificateAttributes renames a certificate.
func (s *Service) ModifyCertificateAttributes(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyCertificateAttributesRequest) (*gaapapi.ModifyCertificateAttributesResponse, error) {
	if req.CertificateAlias == nil {
		return &gaapapi.ModifyCertificateAttributesResponse{}, s.view(ctx, call, func(tx *resource.Tx) error {
			_, err := certificate(tx, *req.CertificateId)
			return err
		})
	}
	name := trimmed(req.CertificateAlias)
	if err := validateCertAlias(name); err != nil {
		return nil, err
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		c, err := certificate(tx, *req.CertificateId)
		if err != nil {
			return err
		}
		c.Name, c.UpdateTime = name, call.Time.Unix()
		return tx.Put(c)
	})
	return &gaapapi.ModifyCertificateAttributesResponse{}, err
}

// DeleteCertificate removes a certificate no listener or domain uses.
func (s *Service) DeleteCertificate(ctx context.Context, call *cloudapi.Call, req *gaapapi.DeleteCertificateRequest) (*gaapapi.DeleteCertificateResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		c, err := certificate(tx, *req.CertificateId)
		if err != nil {
			return err
		}
		user, err := certificateUser(tx, c.ID)
		if err != nil {
			return err
		}
		if user != "" {
			return apierr.New(apierr.FailedOperationCertificateIsUsing, "certificate %s is used by %s; detach it first", c.ID, user)
		}
		return tx.Delete(c)
	})
	return &gaapapi.DeleteCertificateResponse{}, err
}

// certificate loads a certificate of the caller by the CertificateId of a
// certificate action. An unknown one (or another account's) answers
// ResourceNotFound with the message Tencent Cloud gives, "CertificateId not
// found": Terraform's provider tells a certificate deleted outside it from a
// failed read by that message alone (it compares Message, with the
// X-TC-Language en-US it always sends, for equality and ignores the code).
func certificate(tx *resource.Tx, id string) (*model.Certificate, error) {
	c, err := resource.Get[model.Certificate](tx, id)
	if apierr.Is(err, apierr.ResourceNotFound) {
		return nil, apierr.New(apierr.ResourceNotFound, "CertificateId not found")
	}
	return c, err
}

// certificateUser names a listener or domain that references the
// certificate id, or returns "" when none does.
func certificateUser(tx *resource.Tx, id string) (string, error) {
	listeners, _, err := resource.List[model.Listener](tx, store.Query{})
	if err != nil {
		return "", err
	}
	for _, l := range listeners {
		if l.CertificateID == id || slices.Contains(l.ClientCertificateIDs, id) {
			return "listener " + l.ID, nil
		}
	}
	doms, _, err := resource.List[model.Domain](tx, store.Query{})
	if err != nil {
		return "", err
	}
	for _, d := range doms {
		if slices.Contains(domainCertificates(d), id) {
			return "domain " + d.Host + " of listener " + d.ListenerID, nil
		}
	}
	return "", nil
}

// domainCertificates lists every certificate ID a domain references.
func domainCertificates(d *model.Domain) []string {
	ids := []string{d.CertificateID, d.BasicAuthConfID, d.GaapCertificateID}
	ids = append(ids, d.ClientCertificateIDs...)
	return append(ids, d.RealServerCertificateIDs...)
}

// certificateOut is a certificate as DescribeCertificates lists it, and
// the fields DescribeCertificateDetail shares. BeginTime and EndTime are
// Unix timestamps the official SDK reads as uint64, so a validity bound
// before 1970 (X.509 UTCTime reaches back to 1950) is answered as 0: a
// negative one made the SDK fail to read the whole answer, hiding every
// certificate of the page.
func certificateOut(c *model.Certificate) gaapapi.Certificate {
	out := gaapapi.Certificate{CertificateId: &c.ID, CertificateName: &c.Name, CertificateAlias: &c.Name,
		CertificateType: &c.Type, CreateTime: &c.CreateTime}
	if model.IsTLS(c.Type) {
		out.BeginTime, out.EndTime = new(max(c.BeginTime, 0)), new(max(c.EndTime, 0))
		out.IssuerCN, out.SubjectCN = &c.IssuerCN, &c.SubjectCN
	}
	return out
}

func validateCertAlias(name string) error {
	if len([]rune(name)) > model.CertificateNameMax {
		return cloudapi.Invalid("CertificateAlias", "must have at most %d characters", model.CertificateNameMax)
	}
	return nil
}
