package sign

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzParseTC3 checks that ParseTC3 never panics, that what it accepts
// has the invariants Verify relies on, and that Verify never panics on it.
func FuzzParseTC3(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseTC3(s)
		if err != nil {
			return
		}
		if !slices.IsSorted(a.SignedHeaders) || !slices.Contains(a.SignedHeaders, "host") ||
			!slices.Contains(a.SignedHeaders, "content-type") || len(a.Signature) != 64 {
			t.Fatalf("ParseTC3(%q) = %+v: broken invariant", s, a)
		}
		again := AlgorithmTC3 + " Credential=" + a.SecretID + "/" + a.Date + "/" + a.Service + "/tc3_request, SignedHeaders=" +
			strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature
		if b, err := ParseTC3(again); err != nil || b.Signature != a.Signature || b.SecretID != a.SecretID {
			t.Fatalf("ParseTC3(%q) = %+v, %v; re-rendered from %+v", again, b, err, a)
		}
		a.Verify("k", "POST", "h:1", "", http.Header{}, nil, 0)
	})
}

// FuzzTC3RoundTrip checks that whatever SignTC3 produces parses and
// verifies, and stops verifying when the payload grows by a byte.
func FuzzTC3RoundTrip(f *testing.F) {
	f.Add([]byte(docPayload), docHost, "application/json; charset=utf-8", "DescribeInstances", int64(docTimestamp))
	f.Add([]byte{}, "127.0.0.1:8080", "", "", int64(0))
	f.Add([]byte("\x00\xff"), "[::1]:1", " A\tB ", "\xff", int64(-1))
	f.Fuzz(func(t *testing.T, payload []byte, host, ctype, action string, ts int64) {
		// Keep the date within years 1970-9999, the range YYYY-MM-DD can express.
		ts = (ts%253402300800 + 253402300800) % 253402300800
		header := http.Header{"Content-Type": {ctype}, "X-Tc-Action": {action}}
		auth := SignTC3("AKID", "key", "gaap", "POST", host, "", header, payload, ts)
		a, err := ParseTC3(auth)
		if err != nil {
			t.Fatalf("ParseTC3(SignTC3 output %q): %v", auth, err)
		}
		if !a.Verify("key", "POST", host, "", header, payload, ts) {
			t.Fatalf("Verify(SignTC3 output %q) = false; want true", auth)
		}
		if a.Verify("key", "POST", host, "", header, append(payload, 0), ts) {
			t.Fatalf("Verify(longer payload) = true; want false")
		}
	})
}

// FuzzVerifyV1 checks that VerifyV1 never panics and accepts exactly what
// SignV1 signs.
func FuzzVerifyV1(f *testing.F) {
	for _, m := range []string{"", "HmacSHA1", "HmacSHA256", "HmacMD5"} {
		p := v1Params(m)
		f.Add("secret", "POST", "gaap.tencentcloudapi.com", p.Encode())
		p.Set("Signature", SignV1("secret", "GET", "127.0.0.1:80", "/", p))
		f.Add("secret", "GET", "127.0.0.1:80", p.Encode())
	}
	f.Fuzz(func(t *testing.T, secret, method, host, query string) {
		p, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		VerifyV1(secret, method, host, "/", p)
		for _, vs := range p {
			if len(vs) != 1 {
				return
			}
		}
		sig := SignV1(secret, method, host, "/", p)
		p.Set("Signature", sig)
		if got, want := VerifyV1(secret, method, host, "/", p), sig != ""; got != want {
			t.Fatalf("VerifyV1(SignV1 output %q, params %v) = %v; want %v", sig, p, got, want)
		}
	})
}
