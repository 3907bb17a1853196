package cloudapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
)

// Size limits from the calling conventions.
const (
	maxGETQuery  = 32 << 10
	maxPOSTBody  = 10 << 20 // JSON, signature v3
	maxFormBody  = 1 << 20  // x-www-form-urlencoded, signature v1
	maxClockSkew = 5 * time.Minute
	defaultLang  = "en-US"
)

// HandlerTimeout bounds an action's handler.
const HandlerTimeout = 30 * time.Second

// MaxHeaderBytes is the http.Server limit on the request line and headers
// (and so HTTP/2's header list). A head is read and kept before anything is
// authenticated, for as long as its body takes: 64 KiB holds the largest
// GET query (32 KB, RequestSizeLimitExceeded past it, in the envelope) and
// 32 KB of headers, when the SDKs send a handful of them (a TC3
// Authorization is about 200 bytes). net/http answers a longer head itself,
// with a bare HTTP 431.
const MaxHeaderBytes = 64 << 10

// Endpoint serves every registered service on one HTTP handler.
type Endpoint struct {
	services map[string]*Service // by name, e.g. "gaap"
	accounts *Accounts
	limits   limiter
	replays  replays
	log      *slog.Logger
	now      func() time.Time
	bodies   bodyBudget
	// Unlimited turns the per-action rate limits off (benchmarks, or an
	// operator who rate-limits in front of the endpoint).
	Unlimited bool
	// BodyIdleTimeout cuts a request whose body sends nothing for this
	// long, BodyTimeout one whose body is not complete after this long;
	// BodyBudget bounds the bytes of requests, heads and bodies, held at once (past it,
	// ServiceUnavailable). Zero means the Default... values.
	BodyIdleTimeout, BodyTimeout time.Duration
	BodyBudget                   int64
}

// NewEndpoint returns an endpoint authenticating against accounts.
func NewEndpoint(accounts *Accounts, log *slog.Logger, services ...*Service) *Endpoint {
	e := &Endpoint{services: map[string]*Service{}, accounts: accounts, log: log, now: time.Now}
	for _, s := range services {
		e.services[s.Name] = s
	}
	return e
}

// ServeHTTP handles one API call.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	var held int64
	defer func() { e.bodies.give(held) }()
	req, err := e.parse(w, r, &held)
	lang := defaultLang
	if req.lang != "" {
		lang = req.lang
	}
	if err == nil {
		var body []byte
		body, err = e.dispatch(r.Context(), req, id, clientIP(r))
		if err == nil {
			send(w, body)
			return
		}
	}
	ae := apierr.From(err)
	if ae.Code == apierr.InternalError {
		e.log.Error("internal error", "request", id, "err", err)
	}
	writeError(w, id, lang, ae)
}

// dispatch authenticates a parsed call, runs its action and encodes its
// answer.
func (e *Endpoint) dispatch(ctx context.Context, req *request, id, ip string) ([]byte, error) {
	// One reading of the clock for the skew check, the replay set and the
	// call: read twice, a replay at the window's last instant could pass
	// the first and find its original swept by the second.
	now := e.now()
	acct, err := e.authenticate(req, now)
	if err != nil {
		return nil, err
	}
	svc, err := e.service(req)
	if err != nil {
		return nil, err
	}
	act, ok := svc.actions[req.action]
	if !ok {
		return nil, apierr.New(apierr.InvalidAction, "the action %s does not exist in %s %s", req.action, svc.Name, svc.Version)
	}
	if err := checkRegion(svc, req.region); err != nil {
		return nil, err
	}
	if !e.Unlimited && !e.limits.allow(acct.SecretID, req.region, svc.Name+"."+act.info.Name, act.info.RateLimit) {
		return nil, apierr.New(apierr.RequestLimitExceeded, "more than %d %s requests per second", act.info.RateLimit, act.info.Name)
	}
	// Recorded only now, so that the set holds no more calls than the
	// rate limits accept, and a call refused above can be sent again.
	if !req.v3 && !e.replays.first(req.v1Call(), req.v1Expires(), now) {
		return nil, errReplay
	}
	call := &Call{Account: acct, RequestID: id, Service: svc.Name, Action: act.info.Name,
		Region: req.region, Language: req.lang, ClientIP: ip, Time: now}
	ctx, cancel := context.WithTimeout(ctx, HandlerTimeout)
	defer cancel()
	return runSafely(ctx, act, call, req.in)
}

// runSafely runs an action and encodes its answer, turning a panic in
// either into InternalError: one bad request must not take the endpoint
// down, nor leave its client without an answer.
func runSafely(ctx context.Context, act *action, call *Call, in input) (body []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			body, err = nil, apierr.Internal(errors.New("panic in "+act.info.Name+": "+panicString(p)))
		}
	}()
	resp, err := act.run(ctx, call, in)
	if err != nil {
		return nil, err
	}
	if body, err = encodeResponse(resp, call.RequestID); err != nil {
		return nil, apierr.Internal(fmt.Errorf("encode the answer of %s: %w", act.info.Name, err))
	}
	return body, nil
}

func panicString(p any) string {
	if err, ok := p.(error); ok {
		return err.Error()
	}
	if s, ok := p.(string); ok {
		return s
	}
	return "non-error panic"
}

// service picks the product: the TC3 credential scope names it; otherwise
// the Host's first label; otherwise the one service that has the action
// (an action several offer is refused rather than sent to any of them).
// Only a scope names a product for certain (a Host label may be any name),
// so only a scope naming one this endpoint lacks is NoSuchProduct.
func (e *Endpoint) service(req *request) (*Service, error) {
	name := req.scopeService
	if _, ok := e.services[name]; name != "" && !ok {
		return nil, apierr.New(apierr.NoSuchProduct, "this endpoint does not serve the product %q (it serves %s): "+
			"the product is the credential scope's service, which the Node SDK and tccli take from the endpoint's "+
			"first label (an IP address gives its first number); use an endpoint such as gaap.<name>:<port>, "+
			"with a <name> that resolves to this server", name, e.serviceNames())
	}
	if name == "" {
		if s, ok := e.services[hostLabel(req.host)]; ok {
			name = s.Name
		}
	}
	if name == "" {
		var offering []string
		for _, s := range e.services {
			if _, ok := s.actions[req.action]; ok {
				offering = append(offering, s.Name)
			}
		}
		if len(offering) > 1 {
			slices.Sort(offering)
			return nil, apierr.New(apierr.InvalidParameter, "the action %s is offered by the products %s: name one with a TC3 credential scope or the Host (%s.example.com)",
				req.action, strings.Join(offering, ", "), offering[0])
		}
		if len(offering) == 1 {
			name = offering[0]
		}
	}
	svc, ok := e.services[name]
	if !ok {
		return nil, apierr.New(apierr.InvalidAction, "no service offers the action %s", req.action)
	}
	if req.version == "" {
		return nil, apierr.New(apierr.MissingParameter, "the common parameter Version is missing")
	}
	if req.version != svc.Version {
		return nil, apierr.New(apierr.NoSuchVersion, "%s has no API version %s; use %s", svc.Name, req.version, svc.Version)
	}
	return svc, nil
}

// serviceNames lists the products served, sorted, for messages.
func (e *Endpoint) serviceNames() string {
	names := slices.Sorted(maps.Keys(e.services))
	return strings.Join(names, ", ")
}

func hostLabel(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	label, _, _ := strings.Cut(host, ".")
	return strings.ToLower(label)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
