package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// CreateCustomHeader sets the headers a rule adds to requests towards its
// origins. The list replaces the previous one (an empty list removes
// them all), which is how Tencent's own tools use this action.
func (s *Service) CreateCustomHeader(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateCustomHeaderRequest) (*gaapapi.CreateCustomHeaderResponse, error) {
	headers := headersIn(req.Headers)
	if err := model.ValidateCustomHeaders(headers); err != nil {
		return nil, err
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		_, r, err := s.changeableRule(tx, nil, req.RuleId)
		if err != nil {
			return err
		}
		r.Headers = headers
		return changeRule(tx, r, model.StatusAdjusting)
	})
	return &gaapapi.CreateCustomHeaderResponse{}, err
}

// DescribeCustomHeader returns the custom headers of a rule. Its error list
// has no ResourceNotFound, so an unknown rule is InvalidParameterValue.
func (s *Service) DescribeCustomHeader(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeCustomHeaderRequest) (*gaapapi.DescribeCustomHeaderResponse, error) {
	var r *model.Rule
	err := s.view(ctx, call, func(tx *resource.Tx) (err error) {
		r, err = ruleParam(tx, req.RuleId)
		if apierr.Is(err, apierr.ResourceNotFound) {
			return cloudapi.Invalid("RuleId", "rule %s does not exist", trimmed(req.RuleId))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeCustomHeaderResponse{RuleId: &r.ID, Headers: headersOut(r.Headers)}, nil
}

// DescribeBlackHeader returns the header names custom headers may not
// set (model.BlackHeaders).
func (s *Service) DescribeBlackHeader(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeBlackHeaderRequest) (*gaapapi.DescribeBlackHeaderResponse, error) {
	return &gaapapi.DescribeBlackHeaderResponse{BlackHeaders: append([]string(nil), model.BlackHeaders...)}, nil
}

func headersIn(in []gaapapi.HttpHeaderParam) []model.HeaderParam {
	out := make([]model.HeaderParam, 0, len(in))
	for _, h := range in {
		out = append(out, model.HeaderParam{Name: trimmed(h.HeaderName), Value: cloudapi.Value(h.HeaderValue)})
	}
	return out
}

func headersOut(in []model.HeaderParam) []gaapapi.HttpHeaderParam {
	out := make([]gaapapi.HttpHeaderParam, 0, len(in))
	for _, h := range in {
		out = append(out, gaapapi.HttpHeaderParam{HeaderName: new(h.Name), HeaderValue: new(h.Value)})
	}
	return out
}
