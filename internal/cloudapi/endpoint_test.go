package cloudapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/cloudapi/sign"
)

var acct = cloudapi.Account{SecretID: "AKIDendpointtest0001", SecretKey: "endpointsecret", AppID: 1, Uin: "1001"}

// colleague is another key of acct's owner Uin: a second user (sub-account)
// sharing the account's resources.
var colleague = cloudapi.Account{SecretID: "AKIDendpointtest0002", SecretKey: "othersecret", AppID: 1, Uin: acct.Uin}

type echoReq struct {
	Name   *string  `json:"Name"`
	Limit  *int64   `json:"Limit"`
	Flag   *bool    `json:"Flag"`
	Items  []string `json:"Items"`
	Filter []struct {
		Name   *string  `json:"Name"`
		Values []string `json:"Values"`
	} `json:"Filters"`
}

func (r *echoReq) Validate() error {
	if r.Name == nil {
		return cloudapi.Missing("Name")
	}
	return nil
}

type echoResp struct {
	Got   *echoReq
	Empty []string
	Uin   string
}

// newEndpoint serves a "demo" service whose Echo action returns its input,
// changed by mods.
func newEndpoint(t *testing.T, mods ...func(*cloudapi.Service)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(demoEndpoint(t, mods...))
	t.Cleanup(srv.Close)
	return srv
}

// demoEndpoint is the endpoint newEndpoint serves.
func demoEndpoint(t *testing.T, mods ...func(*cloudapi.Service)) *cloudapi.Endpoint {
	t.Helper()
	accounts, err := cloudapi.NewAccounts(acct, colleague)
	if err != nil {
		t.Fatal(err)
	}
	svc := cloudapi.NewService("demo", "2020-01-01")
	cloudapi.Handle(svc, cloudapi.ActionInfo{Name: "Echo", RateLimit: 1000}, func(_ context.Context, c *cloudapi.Call, r *echoReq) (*echoResp, error) {
		return &echoResp{Got: r, Uin: c.Account.Uin}, nil
	})
	cloudapi.Handle(svc, cloudapi.ActionInfo{Name: "Slow", RateLimit: 2}, func(context.Context, *cloudapi.Call, *echoReq) (*echoResp, error) {
		return &echoResp{}, nil
	})
	cloudapi.Handle(svc, cloudapi.ActionInfo{Name: "Boom", RateLimit: 20}, func(context.Context, *cloudapi.Call, *echoReq) (*echoResp, error) {
		panic("database exploded: SELECT secret FROM keys")
	})
	cloudapi.Handle(svc, cloudapi.ActionInfo{Name: "Fail", RateLimit: 20}, func(context.Context, *cloudapi.Call, *echoReq) (*echoResp, error) {
		return nil, apierr.New(apierr.ResourceInUse, "the thing is in use")
	})
	// An answer that cannot be encoded: it is encoded inside the action's
	// panic guard, and used to cut the connection with no answer.
	cloudapi.Handle(svc, cloudapi.ActionInfo{Name: "Nothing", RateLimit: 20}, func(context.Context, *cloudapi.Call, *echoReq) (*echoResp, error) {
		return nil, nil
	})
	for _, m := range mods {
		m(svc)
	}
	return cloudapi.NewEndpoint(accounts, slog.New(slog.NewTextHandler(io.Discard, nil)), svc)
}

type envelope struct {
	Response struct {
		Error     *struct{ Code, Message string }
		Got       *echoReq
		Empty     []string
		Uin       string
		RequestId string
	}
}

// post sends a TC3-signed JSON call; mutate may change the request after signing.
func post(t *testing.T, srv *httptest.Server, action, body string, ts time.Time, mutate func(*http.Request)) (int, envelope) {
	t.Helper()
	host := strings.TrimPrefix(srv.URL, "http://")
	req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", "2020-01-01")
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("Authorization", sign.SignTC3(acct.SecretID, acct.SecretKey, "demo", "POST", host, "", req.Header, []byte(body), ts.Unix()))
	if mutate != nil {
		mutate(req)
	}
	return do(t, req)
}

// resign signs r again after a test changed a signed header.
func resign(r *http.Request, body string, ts time.Time) {
	r.Header.Set("Authorization", sign.SignTC3(acct.SecretID, acct.SecretKey, "demo", "POST", r.URL.Host, "", r.Header, []byte(body), ts.Unix()))
}

// v1Request is a v1 (form) call of the encoded parameters enc: in the
// query of a GET, or the body of a POST.
func v1Request(srv *httptest.Server, method, enc string) *http.Request {
	if method == "GET" {
		req, _ := http.NewRequest("GET", srv.URL+"/?"+enc, nil)
		return req
	}
	req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(enc))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func do(t *testing.T, req *http.Request) (int, envelope) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env envelope
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("body %q is not JSON: %v", b, err)
	}
	if env.Response.RequestId == "" {
		t.Errorf("no RequestId in %s", b)
	}
	return resp.StatusCode, env
}

func code(env envelope) string {
	if env.Response.Error == nil {
		return ""
	}
	return env.Response.Error.Code
}

func TestEndpointErrors(t *testing.T) {
	srv := newEndpoint(t)
	now := time.Now()
	big := `{"Name":"` + strings.Repeat("x", 10<<20) + `"}`
	tests := []struct {
		name, action, body string
		ts                 time.Time
		mutate             func(*http.Request)
		want               string
	}{
		{"ok", "Echo", `{"Name":"a"}`, now, nil, ""},
		{"integer as string", "Echo", `{"Name":"a","Limit":"20"}`, now, nil, ""},
		// The reference: a POST's canonical query string is empty.
		{"post with a query", "Echo", `{"Name":"a"}`, now, func(r *http.Request) { r.URL.RawQuery = "trace=1" }, ""},
		{"signature", "Echo", `{"Name":"a"}`, now, func(r *http.Request) { r.Header.Set("X-TC-Action", "Slow") }, "AuthFailure.SignatureFailure"},
		{"expired", "Echo", `{"Name":"a"}`, now.Add(-6 * time.Minute), nil, "AuthFailure.SignatureExpire"},
		{"future", "Echo", `{"Name":"a"}`, now.Add(6 * time.Minute), nil, "AuthFailure.SignatureExpire"},
		{"unknown secret id", "Echo", `{"Name":"a"}`, now, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), acct.SecretID, "AKIDnotknown000000000", 1))
		}, "AuthFailure.SecretIdNotFound"},
		{"malformed secret id", "Echo", `{"Name":"a"}`, now, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), acct.SecretID, "bad!id", 1))
		}, "AuthFailure.InvalidSecretId"},
		{"bad authorization", "Echo", `{"Name":"a"}`, now, func(r *http.Request) { r.Header.Set("Authorization", "Basic abc") }, "AuthFailure.InvalidAuthorization"},
		{"token with long-term key", "Echo", `{"Name":"a"}`, now, func(r *http.Request) { r.Header.Set("X-TC-Token", "t") }, "AuthFailure.TokenFailure"},
		{"unknown action", "Nope", `{}`, now, nil, "InvalidAction"},
		{"product not served", "Echo", `{"Name":"a"}`, now, func(r *http.Request) {
			r.Header.Set("Authorization", sign.SignTC3(acct.SecretID, acct.SecretKey, "cvm", "POST", r.URL.Host, "", r.Header, []byte(`{"Name":"a"}`), now.Unix()))
		}, "NoSuchProduct"},
		{"wrong version", "Echo", `{"Name":"a"}`, now, func(r *http.Request) {
			r.Header.Set("X-TC-Version", "1999-01-01")
			resign(r, `{"Name":"a"}`, now)
		}, "NoSuchVersion"},
		{"missing", "Echo", `{}`, now, nil, "MissingParameter"},
		{"unknown parameter", "Echo", `{"Name":"a","Bogus":1}`, now, nil, "UnknownParameter"},
		{"wrong type", "Echo", `{"Name":5}`, now, nil, "InvalidParameter"},
		{"fractional integer", "Echo", `{"Name":"a","Limit":1.5}`, now, nil, "InvalidParameter"},
		{"non-digit string integer", "Echo", `{"Name":"a","Limit":"2x"}`, now, nil, "InvalidParameter"},
		{"not json", "Echo", `{"Name":`, now, nil, "InvalidParameter"},
		{"json array", "Echo", `[1]`, now, nil, "InvalidParameter"},
		{"too large", "Echo", big, now, nil, "RequestSizeLimitExceeded"},
		{"json over the form limit", "Echo", `{"Name":"` + strings.Repeat("x", 2<<20) + `"}`, now, nil, ""},
		{"handler error", "Fail", `{"Name":"a"}`, now, nil, "ResourceInUse"},
		{"handler panic", "Boom", `{"Name":"a"}`, now, nil, "InternalError"},
		{"handler answers nothing", "Nothing", `{"Name":"a"}`, now, nil, "InternalError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, env := post(t, srv, tc.action, tc.body, tc.ts, tc.mutate)
			if status != 200 {
				t.Errorf("got HTTP %d; want 200", status)
			}
			if got := code(env); got != tc.want {
				t.Fatalf("got code %q; want %q (%+v)", got, tc.want, env.Response.Error)
			}
			if tc.want == "InternalError" && strings.Contains(env.Response.Error.Message, "SELECT") {
				t.Errorf("internal detail leaked: %q", env.Response.Error.Message)
			}
		})
	}
}

func TestEndpointDecodes(t *testing.T) {
	srv := newEndpoint(t)
	_, env := post(t, srv, "Echo", `{"Name":"a","Limit":"20","Flag":true,"Items":["x","y"],"Filters":[{"Name":"f","Values":["1"]}]}`, time.Now(), nil)
	got := env.Response.Got
	if got == nil || *got.Limit != 20 || !*got.Flag || len(got.Items) != 2 || *got.Filter[0].Name != "f" {
		t.Fatalf("got %+v; want the decoded request echoed", got)
	}
	if env.Response.Empty == nil {
		t.Error("got null for an empty list; want []")
	}
	if env.Response.Uin != acct.Uin {
		t.Errorf("got account %q; want %q", env.Response.Uin, acct.Uin)
	}
}

// TestEndpointHostWithoutPort signs the host without its port while sending
// it with the port, as the Node SDK does.
func TestEndpointHostWithoutPort(t *testing.T) {
	srv := newEndpoint(t)
	body := `{"Name":"a"}`
	now := time.Now()
	_, env := post(t, srv, "Echo", body, now, func(r *http.Request) {
		host := strings.TrimPrefix(srv.URL, "http://")
		bare := host[:strings.LastIndex(host, ":")]
		r.Header.Set("Authorization", sign.SignTC3(acct.SecretID, acct.SecretKey, "demo", "POST", bare, "", r.Header, []byte(body), now.Unix()))
	})
	if c := code(env); c != "" {
		t.Fatalf("got %s; want success", c)
	}
}

func TestEndpointV1(t *testing.T) {
	srv := newEndpoint(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	params := func() url.Values {
		return url.Values{"Action": {"Echo"}, "Version": {"2020-01-01"}, "Timestamp": {strconv.FormatInt(time.Now().Unix(), 10)},
			"Nonce": {"42"}, "SecretId": {acct.SecretID}, "SignatureMethod": {"HmacSHA256"}, "Name": {"a"}, "Limit": {"7"},
			"Filters.0.Name": {"f"}, "Filters.0.Values.0": {"v0"}, "Filters.0.Values.1": {"v1"}, "Flag": {"true"}}
	}
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			p := params()
			p.Set("Signature", sign.SignV1(acct.SecretKey, method, host, "/", p))
			_, env := do(t, v1Request(srv, method, p.Encode()))
			got := env.Response.Got
			if code(env) != "" || got == nil || *got.Limit != 7 || len(got.Filter[0].Values) != 2 || !*got.Flag {
				t.Fatalf("got %+v %+v; want the flattened request decoded", env.Response.Error, got)
			}
		})
	}
	t.Run("gap in array", func(t *testing.T) {
		p := params()
		p.Del("Filters.0.Values.0")
		p.Set("Signature", sign.SignV1(acct.SecretKey, "GET", host, "/", p))
		req, _ := http.NewRequest("GET", srv.URL+"/?"+p.Encode(), nil)
		if _, env := do(t, req); code(env) != "InvalidParameter" {
			t.Fatalf("got %q; want InvalidParameter", code(env))
		}
	})
	t.Run("bad signature", func(t *testing.T) {
		p := params()
		p.Set("Signature", "AAAA")
		req, _ := http.NewRequest("GET", srv.URL+"/?"+p.Encode(), nil)
		if _, env := do(t, req); code(env) != "AuthFailure.SignatureFailure" {
			t.Fatalf("got %q; want AuthFailure.SignatureFailure", code(env))
		}
	})
	t.Run("signature missing", func(t *testing.T) {
		req, _ := http.NewRequest("GET", srv.URL+"/?"+params().Encode(), nil)
		if _, env := do(t, req); code(env) != "MissingParameter" {
			t.Fatalf("got %q; want MissingParameter, as for the other common parameters", code(env))
		}
	})
	// The reference: "Nonce (random positive int, anti-replay)"; 0 is
	// taken too, as the Node SDK sends it once in 131,070 calls.
	for name, c := range map[string]struct{ nonce, want string }{
		"missing": {"", "MissingParameter"}, "negative": {"-7", "InvalidParameter"}, "not a number": {"abc", "InvalidParameter"},
		"zero": {"0", ""},
	} {
		t.Run("nonce "+name, func(t *testing.T) {
			p := params()
			if c.nonce == "" {
				p.Del("Nonce")
			} else {
				p.Set("Nonce", c.nonce)
			}
			p.Set("Signature", sign.SignV1(acct.SecretKey, "GET", host, "/", p))
			req, _ := http.NewRequest("GET", srv.URL+"/?"+p.Encode(), nil)
			if _, env := do(t, req); code(env) != c.want {
				t.Fatalf("got %q; want %q", code(env), c.want)
			}
		})
	}
	t.Run("replayed", func(t *testing.T) {
		p := params()
		p.Set("Nonce", "4242")
		p.Set("Signature", sign.SignV1(acct.SecretKey, "GET", host, "/", p))
		for i, want := range []string{"", "AuthFailure.SignatureFailure"} {
			req, _ := http.NewRequest("GET", srv.URL+"/?"+p.Encode(), nil)
			if _, env := do(t, req); code(env) != want {
				t.Fatalf("send %d of one signed call: got %q; want %q", i+1, code(env), want)
			}
		}
	})
	// The reference: a form POST is "≤ 1 MB", a JSON one ≤ 10 MB.
	t.Run("form body too large", func(t *testing.T) {
		p := params()
		p.Set("Name", strings.Repeat("x", 1<<20))
		p.Set("Signature", sign.SignV1(acct.SecretKey, "POST", host, "/", p))
		req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(p.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if _, env := do(t, req); code(env) != "RequestSizeLimitExceeded" {
			t.Fatalf("got %q; want RequestSizeLimitExceeded", code(env))
		}
	})
	t.Run("query too large", func(t *testing.T) {
		req, _ := http.NewRequest("GET", srv.URL+"/?Name="+strings.Repeat("x", 33<<10), nil)
		if _, env := do(t, req); code(env) != "RequestSizeLimitExceeded" {
			t.Fatalf("got %q; want RequestSizeLimitExceeded", code(env))
		}
	})
}

// TestEndpointV1ReplaySetHoldsNoBodies: the replay set holds the v1 calls
// of ten minutes, so what an entry costs must not depend on the call. 40
// accepted form POSTs near the 1 MB form limit, each with a Nonce padded
// with 400 KB of zeros (still the positive integer it names), must not keep
// their bodies, or those Nonces, alive once answered: 40 MB without the
// fix, 16 MB if the entry only copied its strings.
func TestEndpointV1ReplaySetHoldsNoBodies(t *testing.T) {
	srv := newEndpoint(t) // Echo: 1000 req/s
	host := strings.TrimPrefix(srv.URL, "http://")
	name, zeros := strings.Repeat("a", 500_000), strings.Repeat("0", 400_000)
	send := func(nonce int) {
		p := url.Values{"Action": {"Echo"}, "Version": {"2020-01-01"}, "Timestamp": {strconv.FormatInt(time.Now().Unix(), 10)},
			"Nonce": {zeros + strconv.Itoa(nonce)}, "SecretId": {acct.SecretID}, "SignatureMethod": {"HmacSHA256"}, "Name": {name}}
		p.Set("Signature", sign.SignV1(acct.SecretKey, "POST", host, "/", p))
		if _, env := do(t, v1Request(srv, "POST", p.Encode())); code(env) != "" {
			t.Fatalf("call %d: got %q; want success", nonce, code(env))
		}
	}
	heap := func() int64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	send(1) // Buffers and pools warmed up.
	before := heap()
	for i := range 40 {
		send(100 + i)
	}
	http.DefaultClient.CloseIdleConnections()
	if grew := heap() - before; grew > 10<<20 {
		t.Errorf("40 accepted v1 calls of 900 KB keep %d MB alive after they were answered; want their bodies freed", grew>>20)
	}
}

// TestEndpointAmbiguousAction: with no product named (no TC3 scope, a Host
// that is not a product), an action offered by several products is
// refused, not sent to whichever a map iteration finds first.
func TestEndpointAmbiguousAction(t *testing.T) {
	accounts, _ := cloudapi.NewAccounts(acct)
	var svcs []*cloudapi.Service
	for _, name := range []string{"bbb", "aaa", "ccc"} {
		svc := cloudapi.NewService(name, "2020-01-01")
		actions := []string{"Same", "Only" + name}
		if name == "ccc" {
			actions = actions[1:]
		}
		for _, a := range actions {
			cloudapi.Handle(svc, cloudapi.ActionInfo{Name: a, RateLimit: 1000}, func(_ context.Context, c *cloudapi.Call, r *echoReq) (*echoResp, error) {
				return &echoResp{Uin: c.Service}, nil
			})
		}
		svcs = append(svcs, svc)
	}
	srv := httptest.NewServer(cloudapi.NewEndpoint(accounts, slog.New(slog.NewTextHandler(io.Discard, nil)), svcs...))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	nonce := 1000
	for _, c := range []struct{ action, code, service string }{
		{"Same", "InvalidParameter", ""}, {"Onlyaaa", "", "aaa"}, {"Onlyccc", "", "ccc"},
	} {
		for range 5 { // A map's order changes from one iteration to the next.
			p := url.Values{"Action": {c.action}, "Version": {"2020-01-01"}, "Timestamp": {strconv.FormatInt(time.Now().Unix(), 10)},
				"Nonce": {strconv.Itoa(nonce)}, "SecretId": {acct.SecretID}, "Name": {"a"}}
			p.Set("Signature", sign.SignV1(acct.SecretKey, "GET", host, "/", p))
			req, _ := http.NewRequest("GET", srv.URL+"/?"+p.Encode(), nil)
			_, env := do(t, req)
			if code(env) != c.code || env.Response.Uin != c.service {
				t.Fatalf("%s: got %q from %q; want %q from %q", c.action, code(env), env.Response.Uin, c.code, c.service)
			}
			nonce++
		}
	}
}

func TestEndpointMethodAndRateLimit(t *testing.T) {
	srv := newEndpoint(t)
	req, _ := http.NewRequest("PUT", srv.URL+"/", nil)
	if status, env := do(t, req); status != 200 || code(env) != "UnsupportedProtocol" {
		t.Fatalf("got %d %q; want 200 UnsupportedProtocol", status, code(env))
	}
	allowed, start := 0, time.Now()
	for range 5 {
		if _, env := post(t, srv, "Slow", `{"Name":"a"}`, time.Now(), nil); code(env) != "RequestLimitExceeded" {
			allowed++
		}
	}
	// The bucket holds 2 and refills 2 a second while the calls go on: a
	// stalled run may be allowed more, never more than that.
	if took := time.Since(start); float64(allowed) > 2+2*took.Seconds() {
		t.Fatalf("%d of 5 calls allowed in %v at 2/s; want at most %d", allowed, took, 2+int(2*took.Seconds()))
	}
}

// TestEndpointRateLimitPerRegion: the reference limits each action per
// "action + access region + sub-account", so a multi-region client gets the
// rate in each region; a region it does not list is no bucket of its own.
func TestEndpointRateLimitPerRegion(t *testing.T) {
	srv := newEndpoint(t) // Slow: 2 req/s
	body := `{"Name":"a"}`
	call := func(region string) string {
		_, env := post(t, srv, "Slow", body, time.Now(), func(r *http.Request) {
			r.Header.Set("X-TC-Region", region)
			resign(r, body, time.Now())
		})
		return code(env)
	}
	for i, region := range []string{"ap-guangzhou", "ap-shanghai", "ap-guangzhou", "ap-shanghai"} {
		if c := call(region); c != "" {
			t.Fatalf("call %d (in %s, 2/s per region): %s; want success", i+1, region, c)
		}
	}
	allowed, start := 0, time.Now()
	for _, region := range []string{"xx-1", "xx-2", "xx-3", "xx-4"} {
		if call(region) != "RequestLimitExceeded" {
			allowed++
		}
	}
	// One bucket holds 2 and refills 2 a second while the calls go on (see
	// TestEndpointMethodAndRateLimit).
	if took := time.Since(start); float64(allowed) > 2+2*took.Seconds() {
		t.Errorf("4 calls in 4 unlisted regions at 2/s: %d allowed in %v; want at most %d, from one shared bucket",
			allowed, took, 2+int(2*took.Seconds()))
	}
}

// TestEndpointRateLimitPerKey: the reference's dimension is "API + 接入地域
// + 子账号" (per sub-account), and a sub-account holds its own key. Two keys
// of one owner Uin are two users: one exhausting Slow (2/s) must not
// throttle the other's first call.
func TestEndpointRateLimitPerKey(t *testing.T) {
	srv := newEndpoint(t)
	body := `{"Name":"a"}`
	for range 5 { // acct's user uses, and overuses, its budget.
		post(t, srv, "Slow", body, time.Now(), nil)
	}
	now := time.Now()
	_, env := post(t, srv, "Slow", body, now, func(r *http.Request) {
		r.Header.Set("Authorization", sign.SignTC3(colleague.SecretID, colleague.SecretKey, "demo", "POST", r.URL.Host, "", r.Header, []byte(body), now.Unix()))
	})
	if c := code(env); c != "" {
		t.Errorf("another key of the same Uin, first Slow call after the first key used its budget: %q; want success", c)
	}
}

// TestEndpointRegionRequired: a service that requires a Region (vpc)
// refuses a call without one (MissingParameter) or with one the reference
// does not list (UnsupportedRegion); others ignore it.
func TestEndpointRegionRequired(t *testing.T) {
	body := `{"Name":"a"}`
	call := func(srv *httptest.Server, region string) string {
		_, env := post(t, srv, "Echo", body, time.Now(), func(r *http.Request) {
			if region != "" {
				r.Header.Set("X-TC-Region", region)
			}
			resign(r, body, time.Now())
		})
		return code(env)
	}
	regional := newEndpoint(t, func(s *cloudapi.Service) { s.RegionRequired = true })
	for region, want := range map[string]string{"": "MissingParameter", "xx-nowhere-1": "UnsupportedRegion", "ap-guangzhou": "", "eu-frankfurt": ""} {
		if got := call(regional, region); got != want {
			t.Errorf("region %q on a service that requires one: %q; want %q", region, got, want)
		}
	}
	plain := newEndpoint(t)
	for _, region := range []string{"", "xx-nowhere-1"} {
		if got := call(plain, region); got != "" {
			t.Errorf("region %q on a service that needs none: %q; want success", region, got)
		}
	}
}

// TestEndpointLanguageOnEarlyErrors: X-TC-Language zh-CN localises every
// error, those found before the call is parsed (method, size) included.
func TestEndpointLanguageOnEarlyErrors(t *testing.T) {
	srv := newEndpoint(t)
	del, _ := http.NewRequest("DELETE", srv.URL+"/", nil)
	big, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(`{"Name":"`+strings.Repeat("x", 10<<20)+`"}`))
	big.Header.Set("Content-Type", "application/json")
	longGET, _ := http.NewRequest("GET", srv.URL+"/?Name="+strings.Repeat("x", 33<<10), nil)
	for _, r := range []*http.Request{del, big, longGET} {
		r.Header.Set("X-TC-Language", "zh-CN")
		_, env := do(t, r)
		if msg := env.Response.Error.Message; !strings.ContainsFunc(msg, func(c rune) bool { return c >= 0x4e00 && c <= 0x9fff }) {
			t.Errorf("%s with X-TC-Language: zh-CN: %s message %q has no Chinese", r.Method, code(env), msg)
		}
	}
}

// TestEndpointProductHints: an SDK that signs with the endpoint's first
// label as the product (the Node SDK, tccli) pointed at an IP address or at
// "localhost:PORT" is told where the product comes from and what endpoint
// to use, not just that "127" is no product.
func TestEndpointProductHints(t *testing.T) {
	srv := newEndpoint(t)
	now := time.Now()
	for _, c := range []struct{ scope, code, want string }{
		{"127", "NoSuchProduct", `"127"`},
		{"localhost:8800", "AuthFailure.InvalidAuthorization", `"localhost:8800"`},
	} {
		_, env := post(t, srv, "Echo", `{"Name":"a"}`, now, func(r *http.Request) {
			r.Header.Set("Authorization", sign.SignTC3(acct.SecretID, acct.SecretKey, c.scope, "POST", r.URL.Host, "", r.Header, []byte(`{"Name":"a"}`), now.Unix()))
		})
		if code(env) != c.code {
			t.Fatalf("scope %q: got %+v; want %s", c.scope, env.Response.Error, c.code)
		}
		msg := env.Response.Error.Message
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, "first label") || !strings.Contains(msg, "gaap.<name>:<port>") {
			t.Errorf("scope %q: message %q does not explain the endpoint to use", c.scope, msg)
		}
	}
}

// TestEndpointBodyErrorKeepsHTTP2Connection: on HTTP/2 a refused body
// (here too large) ends its stream only. "Connection: close", which
// HTTP/1 needs to skip the unread rest, makes Go's HTTP/2 server send a
// GOAWAY: every other call multiplexed on the connection would have to
// reconnect.
func TestEndpointBodyErrorKeepsHTTP2Connection(t *testing.T) {
	srv := httptest.NewUnstartedServer(demoEndpoint(t))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := srv.Client()
	call := func(body string, length int64) (errCode string, reused bool) {
		t.Helper()
		ts := time.Now()
		req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(body))
		req.ContentLength = length
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-TC-Action", "Echo")
		req.Header.Set("X-TC-Version", "2020-01-01")
		req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts.Unix(), 10))
		resign(req, body, ts)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("served over %s; want HTTP/2", resp.Proto)
		}
		var env envelope
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
			t.Fatal(err)
		}
		return code(env), reused
	}
	call("{}", 2) // Opens the connection (whatever Echo answers).
	big := `{"S":"` + strings.Repeat("x", 10<<20) + `"}`
	if c, reused := call(big, int64(len(big))); c != "RequestSizeLimitExceeded" || !reused {
		t.Fatalf("too large a body: %q, reused %v; want RequestSizeLimitExceeded on the open connection", c, reused)
	}
	if _, reused := call("{}", 2); !reused {
		t.Error("the call after a refused body opened a new connection; want the HTTP/2 connection kept")
	}
}

// TestV1RepeatedParameterIsInvalidParameter: a name given twice in a
// v1 call (GET or form POST) is InvalidParameter, as docs/api-protocol.md
// says and as a TC3 GET answers, not a signature failure: the string to
// sign holds one value per name, so the repeat is a malformed call.
func TestV1RepeatedParameterIsInvalidParameter(t *testing.T) {
	srv := newEndpoint(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	for i, method := range []string{"GET", "POST"} {
		p := url.Values{"Action": {"Echo"}, "Version": {"2020-01-01"}, "Timestamp": {strconv.FormatInt(time.Now().Unix(), 10)},
			"Nonce": {strconv.Itoa(7100 + i)}, "SecretId": {acct.SecretID}, "Name": {"a"}, "Items.0": {"x"}}
		// Signed as the reference's string to sign allows (one value per
		// name: the first, which is also what sign.SignV1 uses).
		p.Set("Signature", sign.SignV1(acct.SecretKey, method, host, "/", p))
		if _, env := do(t, v1Request(srv, method, p.Encode()+"&Items.0=y")); code(env) != "InvalidParameter" {
			t.Errorf("v1 %s with Items.0 given twice: got %q (%+v); want InvalidParameter",
				method, code(env), env.Response.Error)
		}
	}
	// The same duplicate in a TC3 GET is InvalidParameter.
	ts := time.Now()
	q := "Name=a&Items.0=x&Items.0=y"
	req, _ := http.NewRequest("GET", srv.URL+"/?"+q, nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-TC-Action", "Echo")
	req.Header.Set("X-TC-Version", "2020-01-01")
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("Authorization", sign.SignTC3(acct.SecretID, acct.SecretKey, "demo", "GET", host, q, req.Header, nil, ts.Unix()))
	if _, env := do(t, req); code(env) != "InvalidParameter" {
		t.Fatalf("TC3 GET with Items.0 given twice: got %q; want InvalidParameter", code(env))
	}
}

// TestEndpointRefusesDeepNameCheaply: a signed TC3 GET whose 32 KB query is
// one parameter "Name.a.a.a...=x" (16001 segments) is refused before a tree
// is built for it. Decoding it used to allocate ~260 MB, quadratic in the
// name's length, so a 1 MB v1 form body could exhaust the node's memory.
func TestEndpointRefusesDeepNameCheaply(t *testing.T) {
	srv := newEndpoint(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	q := "Name" + strings.Repeat(".a", 16000) + "=x" // 32,006 bytes, under the 32 KB GET limit
	ts := time.Now().Unix()
	req, _ := http.NewRequest("GET", srv.URL+"/?"+q, nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-TC-Action", "Echo")
	req.Header.Set("X-TC-Version", "2020-01-01")
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Authorization", sign.SignTC3(acct.SecretID, acct.SecretKey, "demo", "GET", host, q, req.Header, nil, ts))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, env := do(t, req)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	if code(env) != "InvalidParameter" {
		t.Errorf("got %q (%+v); want InvalidParameter", code(env), env.Response.Error)
	}
	if alloc > 32<<20 {
		t.Errorf("one 32 KB GET allocated %d MB (%v); want a few MB", alloc>>20, took)
	}
}

// TestFormInvalidUTF8MatchesJSON: a string parameter with a byte that is
// not UTF-8 decodes alike in every encoding: encoding/json turns it into
// U+FFFD, and so must a v1 form or query, else a value stored by one
// encoding is not found by the same value sent in the other (and echoing
// the raw byte failed the answer's encoding: InternalError).
func TestFormInvalidUTF8MatchesJSON(t *testing.T) {
	srv := newEndpoint(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	_, jenv := post(t, srv, "Echo", "{\"Name\":\"a\xff\xfeb\"}", time.Now(), nil)
	if code(jenv) != "" {
		t.Fatalf("JSON: %+v", jenv.Response.Error)
	}
	jname := *jenv.Response.Got.Name
	if jname != "a\uFFFD\uFFFDb" {
		t.Fatalf("JSON decodes Name as %q; want %q", jname, "a\uFFFD\uFFFDb")
	}
	for i, method := range []string{"GET", "POST"} {
		p := url.Values{"Action": {"Echo"}, "Version": {"2020-01-01"}, "Timestamp": {strconv.FormatInt(time.Now().Unix(), 10)},
			"Nonce": {strconv.Itoa(7200 + i)}, "SecretId": {acct.SecretID}, "Name": {"a\xff\xfeb"}}
		p.Set("Signature", sign.SignV1(acct.SecretKey, method, host, "/", p))
		_, fenv := do(t, v1Request(srv, method, p.Encode()))
		if code(fenv) != "" || fenv.Response.Got == nil || *fenv.Response.Got.Name != jname {
			t.Errorf("v1 %s answers %+v (error %+v); want Name %q as JSON decodes it", method, fenv.Response.Got, fenv.Response.Error, jname)
		}
	}
}
