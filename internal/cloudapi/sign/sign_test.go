package sign

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// The documentation's TC3 vector (Calling conventions in spec/INDEX.md).
// The secret key is masked there, so the test starts from SecretSigning.
const (
	docSigningKey  = "b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af"
	docPayload     = `{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`
	docPayloadHash = "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
	docCRHash      = "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
	docSignature   = "10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"
	docTimestamp   = 1551113065
	docHost        = "cvm.tencentcloudapi.com"
	docAuth        = "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2019-02-25/cvm/tc3_request, " +
		"SignedHeaders=content-type;host;x-tc-action, Signature=" + docSignature
)

func docHeader() http.Header {
	return http.Header{
		"Content-Type": {"application/json; charset=utf-8"},
		"X-Tc-Action":  {"DescribeInstances"},
	}
}

func TestDocVector(t *testing.T) {
	key, _ := hex.DecodeString(docSigningKey)
	a, err := ParseTC3(docAuth)
	if err != nil {
		t.Fatalf("ParseTC3: %v", err)
	}
	if got := payloadHash(docHeader(), []byte(docPayload)); got != docPayloadHash {
		t.Errorf("payload hash = %s; want %s", got, docPayloadHash)
	}
	ch := canonicalHeaders(a.SignedHeaders, docHost, docHeader(), true)
	cr := canonicalRequest("POST", "", ch, a.SignedHeaders, docPayloadHash)
	if got := sha256Hex([]byte(cr)); got != docCRHash {
		t.Errorf("canonical request hash = %s; want %s\n%s", got, docCRHash, cr)
	}
	sts := stringToSign(docTimestamp, "2019-02-25", "cvm", cr)
	if got := hex.EncodeToString(macOf(sha256.New, key, sts)); got != docSignature {
		t.Errorf("signature = %s; want %s", got, docSignature)
	}
	if !a.verifyWithKey(key, "POST", docHost, "", docHeader(), []byte(docPayload), docTimestamp) {
		t.Error("verifyWithKey(doc request) = false; want true")
	}
	if a.verifyWithKey(key, "POST", docHost, "", docHeader(), []byte(docPayload+" "), docTimestamp) {
		t.Error("verifyWithKey(changed payload) = true; want false")
	}
}

var parseTests = []struct {
	name, in string
	want     *TC3 // nil: want an error
}{
	{name: "doc", in: docAuth, want: &TC3{SecretID: "AKIDEXAMPLE", Date: "2019-02-25", Service: "cvm",
		SignedHeaders: []string{"content-type", "host", "x-tc-action"}, Signature: docSignature}},
	{name: "go sdk form", in: "TC3-HMAC-SHA256 Credential=AKID/2024-01-31/gaap/tc3_request, SignedHeaders=content-type;host, Signature=" + docSignature,
		want: &TC3{SecretID: "AKID", Date: "2024-01-31", Service: "gaap", SignedHeaders: []string{"content-type", "host"}, Signature: docSignature}},
	{name: "no spaces, parts reordered", in: "TC3-HMAC-SHA256 Signature=" + docSignature + ",SignedHeaders=content-type;host,Credential=AKID/2024-01-31/gaap/tc3_request",
		want: &TC3{SecretID: "AKID", Date: "2024-01-31", Service: "gaap", SignedHeaders: []string{"content-type", "host"}, Signature: docSignature}},
	{name: "empty", in: ""},
	{name: "algorithm only", in: "TC3-HMAC-SHA256"},
	{name: "algorithm and space", in: "TC3-HMAC-SHA256 "},
	{name: "other algorithm", in: strings.Replace(docAuth, "TC3-HMAC-SHA256", "TC3-HMAC-SHA1", 1)},
	{name: "lower-case algorithm", in: strings.Replace(docAuth, "TC3-HMAC-SHA256", "tc3-hmac-sha256", 1)},
	{name: "missing signature", in: "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host"},
	{name: "missing credential", in: "TC3-HMAC-SHA256 SignedHeaders=content-type;host, Signature=" + docSignature},
	{name: "repeated part", in: docAuth + ", Signature=" + docSignature},
	{name: "unknown part", in: docAuth + ", Nonce=1"},
	{name: "trailing comma", in: docAuth + ","},
	{name: "empty value", in: strings.Replace(docAuth, "Signature="+docSignature, "Signature=", 1)},
	{name: "credential three fields", in: strings.Replace(docAuth, "/cvm/tc3_request", "/tc3_request", 1)},
	{name: "credential wrong terminator", in: strings.Replace(docAuth, "tc3_request", "tc2_request", 1)},
	{name: "credential extra field", in: strings.Replace(docAuth, "AKIDEXAMPLE/", "AKID/X/", 1)},
	{name: "empty secret id", in: strings.Replace(docAuth, "AKIDEXAMPLE", "", 1)},
	{name: "secret id with space", in: strings.Replace(docAuth, "AKIDEXAMPLE", "AKID EXAMPLE", 1)},
	{name: "impossible date", in: strings.Replace(docAuth, "2019-02-25", "2019-02-30", 1)},
	{name: "unpadded date", in: strings.Replace(docAuth, "2019-02-25", "2019-2-25", 1)},
	{name: "compact date", in: strings.Replace(docAuth, "2019-02-25", "20190225", 1)},
	{name: "empty service", in: strings.Replace(docAuth, "/cvm/", "//", 1)},
	{name: "upper-case service", in: strings.Replace(docAuth, "/cvm/", "/CVM/", 1)},
	{name: "non-hex signature", in: strings.Replace(docAuth, docSignature, strings.Repeat("zz", 32), 1)},
	{name: "short signature", in: strings.Replace(docAuth, docSignature, docSignature[:62], 1)},
	{name: "long signature", in: docAuth + "00"},
	{name: "odd signature", in: docAuth + "0"},
	{name: "empty signed headers", in: strings.Replace(docAuth, "content-type;host;x-tc-action", ";", 1)},
	{name: "empty signed header name", in: strings.Replace(docAuth, "content-type;host", "content-type;;host", 1)},
	{name: "no host", in: strings.Replace(docAuth, "content-type;host;x-tc-action", "content-type;x-tc-action", 1)},
	{name: "no content-type", in: strings.Replace(docAuth, "content-type;host;x-tc-action", "host;x-tc-action", 1)},
	{name: "unsorted signed headers", in: strings.Replace(docAuth, "content-type;host", "host;content-type", 1)},
	{name: "repeated signed header", in: strings.Replace(docAuth, "host;", "host;host;", 1)},
	{name: "upper-case signed header", in: strings.Replace(docAuth, "x-tc-action", "X-TC-Action", 1)},
	{name: "signed header with colon", in: strings.Replace(docAuth, "x-tc-action", "x:y", 1)},
}

func TestParseTC3(t *testing.T) {
	for _, tc := range parseTests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTC3(tc.in)
			if tc.want == nil {
				if err == nil || !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseTC3 = %+v, %v; want an ErrMalformed error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTC3: %v", err)
			}
			if got.SecretID != tc.want.SecretID || got.Date != tc.want.Date || got.Service != tc.want.Service ||
				got.Signature != tc.want.Signature || strings.Join(got.SignedHeaders, ";") != strings.Join(tc.want.SignedHeaders, ";") {
				t.Errorf("ParseTC3 = %+v; want %+v", got, *tc.want)
			}
		})
	}
}

// tc3Req is one request as the server sees it.
type tc3Req struct {
	secretKey, method, host, rawQuery string
	header                            http.Header
	payload                           []byte
	ts                                int64
}

func (r tc3Req) verify(t *testing.T, auth string) bool {
	t.Helper()
	a, err := ParseTC3(auth)
	if err != nil {
		t.Fatalf("ParseTC3(%q): %v", auth, err)
	}
	return a.Verify(r.secretKey, r.method, r.host, r.rawQuery, r.header, r.payload, r.ts)
}

func baseReq() tc3Req {
	return tc3Req{
		secretKey: "secret", method: "POST", host: "gaap.tencentcloudapi.com",
		header:  http.Header{"Content-Type": {"application/json"}, "X-Tc-Action": {"DescribeProxies"}},
		payload: []byte(`{"Limit":1}`), ts: 1700000000,
	}
}

func TestTC3RoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		signed   func(*tc3Req) // changes the request before signing
		received func(*tc3Req) // changes it between signing and verification
		want     bool
	}{
		{name: "post", want: true},
		{name: "get with query", want: true, signed: func(r *tc3Req) {
			r.method, r.payload, r.rawQuery = "GET", nil, "InstanceIds.0=link-1&Limit=10"
			r.header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		}},
		{name: "mixed-case content-type", want: true, signed: func(r *tc3Req) { r.header.Set("Content-Type", "Application/JSON; charset=UTF-8") }},
		{name: "unsigned payload", want: true, signed: func(r *tc3Req) { r.header.Set("X-TC-Content-SHA256", "UNSIGNED-PAYLOAD") },
			received: func(r *tc3Req) { r.payload = []byte("anything") }},
		{name: "host with port signed with port", want: true, signed: func(r *tc3Req) { r.host = "127.0.0.1:8443" }},
		{name: "host with port signed without port", want: true, signed: func(r *tc3Req) { r.host = "127.0.0.1" },
			received: func(r *tc3Req) { r.host = "127.0.0.1:8443" }},
		{name: "ipv6 host signed without port", want: true, signed: func(r *tc3Req) { r.host = "[::1]" },
			received: func(r *tc3Req) { r.host = "[::1]:8443" }},
		{name: "host signed with other port", signed: func(r *tc3Req) { r.host = "127.0.0.1:8443" },
			received: func(r *tc3Req) { r.host = "127.0.0.1:9443" }},
		{name: "host signed with port received without", signed: func(r *tc3Req) { r.host = "127.0.0.1:8443" },
			received: func(r *tc3Req) { r.host = "127.0.0.1" }},
		{name: "host changed", received: func(r *tc3Req) { r.host = "gaap.tencentcloudapi.co" }},
		{name: "payload byte changed", received: func(r *tc3Req) { r.payload = []byte(`{"Limit":2}`) }},
		{name: "payload dropped", received: func(r *tc3Req) { r.payload = nil }},
		{name: "unsigned payload header added", received: func(r *tc3Req) { r.header.Set("X-TC-Content-SHA256", "UNSIGNED-PAYLOAD") }},
		{name: "content-type changed", received: func(r *tc3Req) { r.header.Set("Content-Type", "application/jsoN2") }},
		{name: "signed extra header changed", received: func(r *tc3Req) { r.header.Set("X-TC-Action", "DescribeProxieS2") }},
		{name: "signed extra header removed", received: func(r *tc3Req) { r.header.Del("X-TC-Action") }},
		{name: "method changed", received: func(r *tc3Req) { r.method = "GET" }},
		{name: "get query changed", signed: func(r *tc3Req) { r.method, r.payload, r.rawQuery = "GET", nil, "Limit=10" },
			received: func(r *tc3Req) { r.rawQuery = "Limit=11" }},
		// The reference: "CanonicalQueryString (POST: empty; GET: the query string)".
		{name: "post query not signed", want: true, received: func(r *tc3Req) { r.rawQuery = "trace=1" }},
		{name: "timestamp changed", received: func(r *tc3Req) { r.ts++ }},
		{name: "timestamp on another day", received: func(r *tc3Req) { r.ts += 86400 }},
		{name: "secret changed", received: func(r *tc3Req) { r.secretKey = "secreT" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := baseReq()
			if tc.signed != nil {
				tc.signed(&r)
			}
			auth := SignTC3("AKID", r.secretKey, "gaap", r.method, r.host, r.rawQuery, r.header, r.payload, r.ts)
			if tc.received != nil {
				tc.received(&r)
			}
			if got := r.verify(t, auth); got != tc.want {
				t.Errorf("Verify = %v; want %v (auth %s)", got, tc.want, auth)
			}
		})
	}
}

// TestTC3EveryPayloadByte flips each bit of each payload byte.
func TestTC3EveryPayloadByte(t *testing.T) {
	r := baseReq()
	auth := SignTC3("AKID", r.secretKey, "gaap", r.method, r.host, r.rawQuery, r.header, r.payload, r.ts)
	orig := r.payload
	for i := range orig {
		for bit := range 8 {
			r.payload = []byte(string(orig))
			r.payload[i] ^= 1 << bit
			if r.verify(t, auth) {
				t.Fatalf("Verify(payload with byte %d bit %d flipped) = true; want false", i, bit)
			}
		}
	}
}

func TestTC3ServiceAndScope(t *testing.T) {
	r := baseReq()
	auth := SignTC3("AKID", r.secretKey, "gaap", r.method, r.host, r.rawQuery, r.header, r.payload, r.ts)
	for name, tamper := range map[string]func(string) string{
		"service":        func(s string) string { return strings.Replace(s, "/gaap/", "/cvm/", 1) },
		"date":           func(s string) string { return strings.Replace(s, "2023-11-14", "2023-11-15", 1) },
		"signed headers": func(s string) string { return strings.Replace(s, "host;x-tc-action", "host", 1) },
	} {
		t.Run(name, func(t *testing.T) {
			if r.verify(t, tamper(auth)) {
				t.Errorf("Verify(%s) = true; want false", tamper(auth))
			}
		})
	}
}

func TestStripPort(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"a.example", "", false}, {"a.example:80", "a.example", true}, {"127.0.0.1:1", "127.0.0.1", true},
		{"[::1]:80", "[::1]", true}, {"[::1]", "", false}, {"::1", "", false}, {"", "", false}, {":", "", true},
	} {
		if got, ok := stripPort(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("stripPort(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
