package gaap

import (
	"context"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// maxErrorPageIDs is DescribeDomainErrorPageInfoByIds' documented cap.
const maxErrorPageIDs = 10

// CreateDomainErrorPageInfo customises the response of a domain for some
// status codes. A status code has at most one custom response per domain.
func (s *Service) CreateDomainErrorPageInfo(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateDomainErrorPageInfoRequest) (*gaapapi.CreateDomainErrorPageInfoResponse, error) {
	page := &model.ErrorPage{Base: model.Base{ID: model.NewID(model.PrefixErrorPage)}, ListenerID: trimmed(req.ListenerId),
		Domain: l7Host(*req.Domain), DomainAsGiven: strings.TrimSpace(*req.Domain), ErrorNos: req.ErrorNos, NewErrorNo: cloudapi.Value(req.NewErrorNo),
		ClearHeaders: req.ClearHeaders, SetHeaders: headersIn(req.SetHeaders), Body: *req.Body}
	if err := model.ValidateErrorPage(page); err != nil {
		return nil, err
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		l, d, err := s.changeableDomain(tx, &page.ListenerID, page.Domain)
		if err != nil {
			return err
		}
		existing, err := domainErrorPages(tx, l.ID, d.Host)
		if err != nil {
			return err
		}
		for _, e := range existing {
			for _, no := range page.ErrorNos {
				if slices.Contains(e.ErrorNos, no) {
					return apierr.New(apierr.FailedOperationDomainAlreadyExisted, "domain %q already customises status %d (error page %s)", d.Host, no, e.ID)
				}
			}
		}
		return tx.Insert(page)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateDomainErrorPageInfoResponse{ErrorPageId: &page.ID}, nil
}

// DeleteDomainErrorPageInfo removes a custom error response.
func (s *Service) DeleteDomainErrorPageInfo(ctx context.Context, call *cloudapi.Call, req *gaapapi.DeleteDomainErrorPageInfoRequest) (*gaapapi.DeleteDomainErrorPageInfoResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		page, err := resource.Get[model.ErrorPage](tx, *req.ErrorPageId)
		if err != nil {
			return err
		}
		if _, err := s.operableL7Listener(tx, page.ListenerID); err != nil {
			return err
		}
		return tx.Delete(page)
	})
	return &gaapapi.DeleteDomainErrorPageInfoResponse{}, err
}

// DescribeDomainErrorPageInfo lists the custom error responses of a domain.
func (s *Service) DescribeDomainErrorPageInfo(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeDomainErrorPageInfoRequest) (*gaapapi.DescribeDomainErrorPageInfoResponse, error) {
	var pages []*model.ErrorPage
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		l, err := l7ListenerParam(tx, req.ListenerId)
		if err != nil {
			return err
		}
		d, err := findDomain(tx, l.ID, l7Host(*req.Domain))
		if err != nil {
			return err
		}
		pages, err = domainErrorPages(tx, l.ID, d.Host)
		return err
	})
	return &gaapapi.DescribeDomainErrorPageInfoResponse{ErrorPageSet: errorPagesOut(pages)}, err
}

// DescribeDomainErrorPageInfoByIds returns up to 10 custom error
// responses by ID, in the order asked, each once. Its error list has no
// ResourceNotFound, so unknown IDs are left out, as DescribeSecurityRules
// leaves them out.
func (s *Service) DescribeDomainErrorPageInfoByIds(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeDomainErrorPageInfoByIdsRequest) (*gaapapi.DescribeDomainErrorPageInfoByIdsResponse, error) {
	ids := cloudapi.UniqueInOrder(req.ErrorPageIds)
	if len(ids) == 0 || len(ids) > maxErrorPageIDs {
		return nil, cloudapi.Invalid("ErrorPageIds", "must list 1-%d distinct error page IDs, not %d", maxErrorPageIDs, len(ids))
	}
	var pages []*model.ErrorPage
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		for _, id := range ids {
			p, err := resource.Get[model.ErrorPage](tx, id)
			switch {
			case apierr.Is(err, apierr.ResourceNotFound):
				continue
			case err != nil:
				return err
			}
			pages = append(pages, p)
		}
		return nil
	})
	return &gaapapi.DescribeDomainErrorPageInfoByIdsResponse{ErrorPageSet: errorPagesOut(pages)}, err
}

// domainErrorPages returns the error pages of a listener's domain.
func domainErrorPages(tx *resource.Tx, listenerID, host string) ([]*model.ErrorPage, error) {
	pages, _, err := resource.List[model.ErrorPage](tx, store.Query{Parent: listenerID})
	return slices.DeleteFunc(pages, func(p *model.ErrorPage) bool { return p.Domain != host }), err
}

// deleteErrorPages removes the error pages of a domain being deleted.
// They are removed at once: they have no status of their own to settle.
func deleteErrorPages(tx *resource.Tx, listenerID, host string) error {
	pages, err := domainErrorPages(tx, listenerID, host)
	for _, p := range pages {
		if err == nil {
			err = tx.Delete(p)
		}
	}
	return err
}

func errorPagesOut(pages []*model.ErrorPage) []gaapapi.DomainErrorPageInfo {
	out := make([]gaapapi.DomainErrorPageInfo, 0, len(pages))
	for _, p := range pages {
		info := gaapapi.DomainErrorPageInfo{ErrorPageId: &p.ID, ListenerId: &p.ListenerID, Domain: new(p.ShownDomain()),
			ErrorNos: p.ErrorNos, ClearHeaders: p.ClearHeaders, SetHeaders: headersOut(p.SetHeaders),
			Body: &p.Body, Status: &p.Status}
		if p.NewErrorNo != 0 {
			info.NewErrorNo = &p.NewErrorNo
		}
		if info.ClearHeaders == nil {
			info.ClearHeaders = []string{}
		}
		out = append(out, info)
	}
	return out
}
