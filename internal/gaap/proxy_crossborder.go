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

// The reference documents three actions with no parameters and no outputs
// besides RequestId. They are served with the only semantics such a shape
// allows; docs/api-proxies.md records the decisions.

// crossBorderProxies returns the caller's CrossBorder proxies.
func crossBorderProxies(tx *resource.Tx) ([]*model.Proxy, error) {
	all, _, err := resource.List[model.Proxy](tx, store.Query{})
	return slices.DeleteFunc(all, func(p *model.Proxy) bool { return p.PackageType != model.PackageCrossBorder }), err
}

// DescribeCrossBorderProxies checks that the caller may list cross-border
// proxies; the documented response carries no list (DescribeProxies with
// Filters PackageType=CrossBorder returns them).
func (s *Service) DescribeCrossBorderProxies(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeCrossBorderProxiesRequest) (*gaapapi.DescribeCrossBorderProxiesResponse, error) {
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		_, err := crossBorderProxies(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeCrossBorderProxiesResponse{}, nil
}

// BanAndRecoverProxy bans, or recovers, every cross-border proxy of the
// caller (the reference: "issued per customer UIN"). Having no parameter
// to say which, it toggles: if any of them is banned (or being banned)
// all are recovered, else all are banned. A banned proxy forwards nothing.
func (s *Service) BanAndRecoverProxy(ctx context.Context, call *cloudapi.Call, req *gaapapi.BanAndRecoverProxyRequest) (*gaapapi.BanAndRecoverProxyResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		proxies, err := crossBorderProxies(tx)
		if err != nil {
			return err
		}
		if len(proxies) == 0 {
			return apierr.New(apierr.ResourceNotFound, "the account has no CrossBorder proxy to ban or recover")
		}
		to := model.BanBanning
		if slices.ContainsFunc(proxies, (*model.Proxy).Banned) {
			to = model.BanRecovering
		}
		ids := make([]string, 0, len(proxies))
		for _, p := range proxies {
			p.BanStatus = to
			if err := tx.Put(p); err != nil {
				return err
			}
			ids = append(ids, p.ID)
		}
		_, err = tx.StartTask(ids...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.BanAndRecoverProxyResponse{}, nil
}

// banLikeOthers starts a new cross-border proxy p banned when the
// account's are (the ban is the account's: "issued per customer UIN"), so
// that neither a clone of a banned proxy nor a new one forwards what the
// ban stopped; the next BanAndRecoverProxy recovers it with the others.
func banLikeOthers(tx *resource.Tx, p *model.Proxy) error {
	if p.PackageType != model.PackageCrossBorder {
		return nil
	}
	others, err := crossBorderProxies(tx)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(others, (*model.Proxy).Banned) {
		p.BanStatus = model.BanBanned
	}
	return nil
}

// DescribeAuthSignature is the billing-signature check of Tencent's order
// flow. opengaap bills nothing, so a caller that reaches it is simply
// authorised (the request itself was signature-verified) unless the
// operator disabled the action.
func (s *Service) DescribeAuthSignature(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeAuthSignatureRequest) (*gaapapi.DescribeAuthSignatureResponse, error) {
	if s.cfg.AuthSignature.Disabled {
		return nil, apierr.New(apierr.UnsupportedOperation, "billing signatures are disabled on this installation")
	}
	return &gaapapi.DescribeAuthSignatureResponse{}, nil
}

// banStatus is ProxyInfo.BanStatus: RECOVER for a proxy never banned.
func banStatus(p *model.Proxy) string {
	if p.BanStatus == "" {
		return model.BanRecover
	}
	return p.BanStatus
}
