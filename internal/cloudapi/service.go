// Package cloudapi is the Tencent Cloud API 3.0 endpoint: it parses a call
// (JSON with TC3-HMAC-SHA256, or query/form with HmacSHA1/HmacSHA256),
// authenticates it, finds the service and action, applies the rate limit,
// decodes and validates the typed request, runs the handler and writes the
// {"Response": ...} envelope. Every answer, error or not, is HTTP 200.
package cloudapi

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi/params"
)

// ActionInfo describes an action as documented.
type ActionInfo struct {
	Name       string
	RateLimit  int // requests per second per access region and user
	Deprecated bool
	Errors     []apierr.Code // service-specific codes the reference lists
}

// Call is what a handler knows about the request besides its parameters.
type Call struct {
	Account   *Account
	RequestID string
	Service   string
	Action    string
	Region    string
	Language  string
	ClientIP  string
	Time      time.Time
}

// Validator is implemented by every generated request type.
type Validator interface{ Validate() error }

// Service is one API product and version, e.g. gaap 2018-05-29.
type Service struct {
	Name    string
	Version string
	// RegionRequired: every call must name one of the reference's regions
	// (vpc: "This API only supports: ap-bangkok, ..."); GAAP's and
	// EdgeOne's actions say Region is not needed.
	RegionRequired bool
	actions        map[string]*action
}

type action struct {
	info ActionInfo
	run  func(ctx context.Context, c *Call, in input) (any, error)
}

// input is the undecoded parameters of a call: a JSON body or form values.
type input struct {
	json []byte
	form url.Values
}

// NewService returns an empty service; actions are added with Handle.
func NewService(name, version string) *Service {
	return &Service{Name: name, Version: version, actions: map[string]*action{}}
}

// Handle registers h for info.Name. Decoding, validation and encoding are
// done here once, so handlers only see a typed, validated request.
func Handle[Req any, Resp any, PReq interface {
	*Req
	Validator
}](svc *Service, info ActionInfo, h func(context.Context, *Call, PReq) (*Resp, error)) {
	if _, dup := svc.actions[info.Name]; dup {
		panic("cloudapi: action registered twice: " + info.Name)
	}
	svc.actions[info.Name] = &action{info: info, run: func(ctx context.Context, c *Call, in input) (any, error) {
		req := PReq(new(Req))
		var err error
		if in.form != nil {
			err = params.FromForm(in.form, req)
		} else {
			err = params.FromJSON(in.json, req)
		}
		if err != nil {
			return nil, err
		}
		if err := req.Validate(); err != nil {
			return nil, err
		}
		return h(ctx, c, req)
	}}
}

// Actions lists the registered action names.
func (s *Service) Actions() []string {
	names := make([]string, 0, len(s.actions))
	for n := range s.actions {
		names = append(names, n)
	}
	return names
}

// Missing is the error for an absent required parameter.
func Missing(name string) error {
	return apierr.New(apierr.MissingParameter, "the required parameter %s is missing", name)
}

// Index names element i of an array parameter, as a prefix for its members.
func Index(name string, i int) string { return name + "." + strconv.Itoa(i) + "." }

// DefaultLimit is the page size when Limit is left out, in every service.
const DefaultLimit = 20

// Paging reads the Offset/Limit pair of a Describe action: Offset defaults
// to 0 and must not be negative; Limit defaults to DefaultLimit and must
// be 0 to maxLimit (0: no cap), else the error has limitCode (services
// differ on it).
func Paging(offset, limit *int64, maxLimit int, limitCode apierr.Code) (int, int, error) {
	o, l := Value(offset), ValueOr(limit, DefaultLimit)
	if o < 0 {
		return 0, 0, apierr.New(apierr.InvalidParameterValue, "Offset must not be negative, not %d", o)
	}
	switch {
	case l < 0 && maxLimit == 0:
		return 0, 0, apierr.New(limitCode, "Limit must not be negative, not %d", l)
	case l < 0 || maxLimit > 0 && l > int64(maxLimit):
		return 0, 0, apierr.New(limitCode, "Limit must be between 0 and %d, not %d", maxLimit, l)
	}
	return int(o), int(l), nil
}

// Invalid is the error for a parameter whose value breaks a documented rule.
func Invalid(name string, format string, args ...any) error {
	return apierr.New(apierr.InvalidParameterValue, "%s: %s", name, fmt.Sprintf(format, args...))
}
