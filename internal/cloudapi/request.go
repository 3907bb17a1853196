package cloudapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi/sign"
)

// request is a call as parsed from HTTP, before authentication.
type request struct {
	v3           bool
	method, host string
	path         string
	action       string
	version      string
	region       string
	lang         string
	token        string
	timestamp    string
	nonce        string // v1 only
	secretID     string
	scopeService string
	tc3          sign.TC3
	header       http.Header
	rawQuery     string
	body         []byte
	v1params     url.Values // every v1 parameter, for the signature
	in           input
}

// v1Common are the common parameters of signature v1 calls; the rest are
// the action's own parameters.
var v1Common = []string{"Action", "Version", "Region", "Timestamp", "Nonce", "SecretId",
	"Signature", "SignatureMethod", "Token", "Language", "RequestClient"}

// parse reads the call from r. The request is returned with an error too,
// holding what was read, so that the error can be localised.
// held receives the bytes of head and body charged to the endpoint's
// budget.
func (e *Endpoint) parse(w http.ResponseWriter, r *http.Request, held *int64) (*request, error) {
	// The language comes first, so that the method and size errors below
	// are localised like every later one.
	req := &request{method: r.Method, host: r.Host, path: r.URL.Path, header: r.Header, rawQuery: r.URL.RawQuery,
		lang: r.Header.Get("X-TC-Language")}
	if req.path == "" {
		req.path = "/"
	}
	if r.Method != http.MethodPost && r.ContentLength != 0 {
		DropBody(w, r) // Only a POST's body is read.
	}
	// The head is held until the answer, like the body.
	if err := e.charge(headSize(r), held); err != nil {
		DropBody(w, r)
		return req, err
	}
	switch r.Method {
	case http.MethodGet:
		if len(r.URL.RawQuery) > maxGETQuery {
			return req, apierr.New(apierr.RequestSizeLimitExceeded, "a GET request may carry at most %d bytes of parameters", maxGETQuery)
		}
	case http.MethodPost:
		limit := int64(maxPOSTBody)
		if mediaType(r.Header) == formType {
			limit = maxFormBody
		}
		body, err := e.readBody(w, r, limit, held)
		if err != nil {
			return req, err
		}
		req.body = body
	default:
		return req, apierr.New(apierr.UnsupportedProtocol, "the HTTP method %s is not supported; use GET or POST", r.Method)
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		return req, req.parseV3(r, auth)
	}
	return req, req.parseV1(r)
}

func (req *request) parseV3(r *http.Request, auth string) error {
	req.v3 = true
	h := r.Header
	req.action, req.version = h.Get("X-TC-Action"), h.Get("X-TC-Version")
	req.region, req.token = h.Get("X-TC-Region"), h.Get("X-TC-Token")
	req.timestamp = h.Get("X-TC-Timestamp")
	tc3, err := sign.ParseTC3(auth)
	if err != nil {
		return apierr.New(apierr.AuthFailureInvalidAuthorization, "the Authorization header is not a valid TC3-HMAC-SHA256 authorization: %v", err)
	}
	req.tc3, req.secretID, req.scopeService = tc3, tc3.SecretID, tc3.Service
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return apierr.New(apierr.InvalidParameter, "the query string is malformed")
		}
		req.in.form = q
		return nil
	}
	if ct := mediaType(h); ct != "application/json" {
		return apierr.New(apierr.InvalidParameter, "a TC3-HMAC-SHA256 POST must be application/json, not %q", ct)
	}
	req.in.json = req.body
	return nil
}

func (req *request) parseV1(r *http.Request) error {
	raw := r.URL.RawQuery
	if r.Method == http.MethodPost {
		if ct := mediaType(r.Header); ct != formType {
			return apierr.New(apierr.AuthFailureInvalidAuthorization, "a %q POST needs a TC3-HMAC-SHA256 Authorization header", ct)
		}
		raw = string(req.body)
	}
	all, err := url.ParseQuery(raw)
	if err != nil {
		return apierr.New(apierr.InvalidParameter, "the parameters are not valid x-www-form-urlencoded data")
	}
	req.v1params = all
	get := all.Get
	req.action, req.version, req.region = get("Action"), get("Version"), get("Region")
	req.token, req.timestamp, req.secretID, req.nonce = get("Token"), get("Timestamp"), get("SecretId"), get("Nonce")
	if l := get("Language"); l != "" {
		req.lang = l
	}
	own := url.Values{}
	for k, v := range all {
		own[k] = v
	}
	for _, k := range v1Common {
		delete(own, k)
	}
	req.in.form = own
	return nil
}

const formType = "application/x-www-form-urlencoded"

// mediaType is the Content-Type without its parameters, lower-cased.
func mediaType(h http.Header) string {
	ct, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

// authenticate finds the caller's account and checks the signature.
// now is the time of the call.
func (e *Endpoint) authenticate(req *request, now time.Time) (*Account, error) {
	if req.action == "" {
		return nil, apierr.New(apierr.MissingParameter, "the common parameter Action is missing")
	}
	if req.timestamp == "" {
		return nil, apierr.New(apierr.MissingParameter, "the common parameter Timestamp is missing")
	}
	ts, err := strconv.ParseInt(req.timestamp, 10, 64)
	if err != nil {
		return nil, apierr.New(apierr.InvalidParameter, "the common parameter Timestamp must be Unix seconds")
	}
	if !req.v3 {
		if req.nonce == "" {
			return nil, apierr.New(apierr.MissingParameter, "the common parameter Nonce is missing")
		}
		// 0 too: the Node SDK draws Math.round(Math.random()*65535), 0 once
		// in 131,070 calls, and its call must not fail for it.
		if _, err := strconv.ParseUint(req.nonce, 10, 64); err != nil {
			return nil, apierr.New(apierr.InvalidParameter, "the common parameter Nonce must be a non-negative integer")
		}
	}
	// In whole seconds, as both times are: a client 300 s behind passes
	// as one 300 s ahead does, whatever the fraction of the server's second.
	if d, window := now.Unix()-ts, int64(maxClockSkew/time.Second); d > window || d < -window {
		return nil, apierr.New(apierr.AuthFailureSignatureExpire, "the request timestamp %d is more than 5 minutes away from the server time %d", ts, now.Unix())
	}
	if req.secretID == "" {
		return nil, apierr.New(apierr.MissingParameter, "the common parameter SecretId is missing")
	}
	if !req.v3 && req.v1params.Get("Signature") == "" {
		return nil, apierr.New(apierr.MissingParameter, "the common parameter Signature is missing")
	}
	// A v1 string to sign holds one value per name (sign.VerifyV1 refuses
	// a repeat too), so a repeated name is malformed, as it is in a TC3
	// query: say so rather than answer a signature that cannot match.
	for k, vs := range req.v1params {
		if len(vs) > 1 {
			return nil, apierr.New(apierr.InvalidParameter, "the parameter %s is given %d times", k, len(vs))
		}
	}
	if !secretIDPattern.MatchString(req.secretID) {
		return nil, apierr.New(apierr.AuthFailureInvalidSecretId, "the SecretId is not a cloud API key id")
	}
	acct, ok := e.accounts.Lookup(req.secretID)
	if !ok {
		return nil, apierr.New(apierr.AuthFailureSecretIdNotFound, "the SecretId %s does not exist", req.secretID)
	}
	if req.token != "" {
		return nil, apierr.New(apierr.AuthFailureTokenFailure, "a session token was sent with a long-term key; temporary credentials are not supported")
	}
	if !req.verify(acct.SecretKey, ts) {
		return nil, apierr.New(apierr.AuthFailureSignatureFailure, "the request signature does not match; check the SecretKey and the signing method")
	}
	// A TC3 call has no nonce to tell a replay from a retry; v1's is there
	// for this. The replay is refused as an authentication failure: the
	// signature no longer authenticates a new call. It is only looked up
	// here, so that a replay takes no rate-limit token; dispatch records
	// the call once the rate limit has accepted it.
	if !req.v3 && e.replays.has(req.v1Call()) {
		return nil, errReplay
	}
	return acct, nil
}

var errReplay = apierr.New(apierr.AuthFailureSignatureFailure, "this signed request was already accepted; sign each call with a new Nonce")

// v1Call identifies a v1 call in the replay set.
func (req *request) v1Call() v1Call {
	return newV1Call(req.secretID, req.nonce, req.timestamp, req.v1params.Get("Signature"))
}

// v1Expires is when a v1 call's timestamp leaves the window (the last
// second it is in ends), and the call the replay set.
func (req *request) v1Expires() time.Time {
	ts, _ := strconv.ParseInt(req.timestamp, 10, 64)
	return time.Unix(ts, 0).Add(maxClockSkew + time.Second)
}

func (req *request) verify(secretKey string, ts int64) bool {
	if req.v3 {
		return req.tc3.Verify(secretKey, req.method, req.host, req.rawQuery, req.header, req.body, ts)
	}
	return sign.VerifyV1(secretKey, req.method, req.host, req.path, req.v1params)
}
