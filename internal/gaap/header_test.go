package gaap_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/xtest"
)

type headerParam struct {
	HeaderName  string `json:"HeaderName"`
	HeaderValue string `json:"HeaderValue"`
}

func TestCustomHeaders(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()

	var black struct{ BlackHeaders []string }
	if err := api.Call(c, "DescribeBlackHeader", map[string]any{}, &black); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Host", "Connection", "X-Forwarded-For"} {
		if !slices.Contains(black.BlackHeaders, h) {
			t.Errorf("DescribeBlackHeader lacks %s: %v", h, black.BlackHeaders)
		}
	}

	proxy := runningProxy(t, api)
	listener := l7Listener(t, api, proxy, "", 0)
	createDomain(t, c, listener, "www.example.com")
	rule := createRule(t, c, listener, "www.example.com", "/")

	set := func(hs ...headerParam) error {
		return api.Call(c, "CreateCustomHeader", map[string]any{"RuleId": rule, "Headers": hs}, nil)
	}
	if err := set(headerParam{"X-Client-IP", "$remote_addr"}, headerParam{"X-Env", "prod"}); err != nil {
		t.Fatal(err)
	}
	waitRule(t, c, rule)
	var got struct {
		RuleId  string
		Headers []headerParam
	}
	if err := api.Call(c, "DescribeCustomHeader", map[string]any{"RuleId": rule}, &got); err != nil {
		t.Fatal(err)
	}
	if got.RuleId != rule || len(got.Headers) != 2 || got.Headers[0] != (headerParam{"X-Client-IP", "$remote_addr"}) {
		t.Errorf("got %+v; want the two headers of rule %s", got, rule)
	}

	wantCode(t, set(headerParam{"x-forwarded-for", "1.2.3.4"}), "InvalidParameterValue.HitBlacklist")
	wantCode(t, set(headerParam{"Bad Name", "v"}), "InvalidParameterValue")
	// Values are RFC 9110 field values, as net/http sends them: a tab
	// is one, no other control character is.
	for _, v := range []string{"a\x01b", "a\x7fb", "a\r\nX-Evil: 1", "a\x00"} {
		wantCode(t, set(headerParam{"X-Tag", v}), "InvalidParameterValue")
	}
	if err := set(headerParam{"X-Tag", "a\tb"}); err != nil {
		t.Errorf("a value with a tab: %v; want it accepted", err)
	}
	// DescribeCustomHeader lists no ResourceNotFound: an unknown or foreign
	// rule is InvalidParameterValue.
	err := api.Call(api.GAAP(xtest.Other), "DescribeCustomHeader", map[string]any{"RuleId": rule}, &got)
	wantCode(t, err, "InvalidParameterValue")
	err = api.Call(c, "DescribeCustomHeader", map[string]any{"RuleId": "rule-00000000"}, &got)
	wantDocumented(t, "DescribeCustomHeader", err)
	wantCode(t, err, "InvalidParameterValue")
}

// TestCustomHeaderValueLimitCountsCharacters: a header value may have 1000
// characters (docs/api-l7.md), counted as characters, not UTF-8 bytes.
func TestCustomHeaderValueLimitCountsCharacters(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	rule := createRule(t, c, listener, "www.example.com", "/")
	set := func(value string) error {
		return api.Call(c, "CreateCustomHeader", map[string]any{"RuleId": rule, "Headers": []headerParam{{"X-Note", value}}}, nil)
	}
	if err := set(strings.Repeat("é", 1000)); err != nil {
		t.Fatalf("a 1000-character value (2000 bytes): %v; want it accepted", err)
	}
	waitRule(t, c, rule)
	wantCode(t, set(strings.Repeat("é", 1001)), "InvalidParameterValue")
}

// TestCustomHeaderQuota: a rule holds at most 20 custom headers
// (docs/api-l7.md). That is CreateCustomHeader's quota, and its error list
// names LimitExceeded ("超过配额限制") for it: 21 headers answer that, not
// InvalidParameterValue.
func TestCustomHeaderQuota(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	rule := createRule(t, c, listener, "www.example.com", "/")
	var hs []headerParam
	for i := range 21 {
		hs = append(hs, headerParam{fmt.Sprintf("X-H%d", i), "v"})
	}
	err := api.Call(c, "CreateCustomHeader", map[string]any{"RuleId": rule, "Headers": hs[:20]}, nil)
	if err != nil {
		t.Fatalf("20 headers: %v", err)
	}
	waitRule(t, c, rule)
	err = api.Call(c, "CreateCustomHeader", map[string]any{"RuleId": rule, "Headers": hs}, nil)
	wantDocumented(t, "CreateCustomHeader", err)
	wantCode(t, err, "LimitExceeded")
}
