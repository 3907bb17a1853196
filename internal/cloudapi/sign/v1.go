package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/url"
	"slices"
	"strings"
)

// v1Hash maps SignatureMethod to its hash; absent means HmacSHA1, as
// documented. Unknown methods get nil rather than a fallback so that a
// typo is an error, not a silently weaker algorithm.
func v1Hash(method string) func() hash.Hash {
	switch method {
	case "", "HmacSHA1":
		return sha1.New
	case "HmacSHA256":
		return sha256.New
	}
	return nil
}

// stringToSignV1 is METHOD + host + path + "?" + k=v&... over all
// parameters but Signature, sorted by name in byte (ASCII) order, with raw
// (decoded) values. A repeated parameter contributes its first value.
func stringToSignV1(method, host, path string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(method + host + path + "?")
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + params.Get(k))
	}
	return b.String()
}

// VerifyV1 reports whether params["Signature"] (standard base64, in its one
// canonical spelling, so that callers may recognise a replay by the string)
// signs a v1 request.
// params are all request parameters, decoded (r.Form); path is the URL path
// ("/"). The host is tried with and without its port, as for TC3. A request
// with any repeated parameter is rejected: the string to sign can hold only
// one value per name, and a second, unsigned value must not reach a
// handler.
func VerifyV1(secretKey, method, host, path string, params url.Values) bool {
	for _, vs := range params {
		if len(vs) != 1 {
			return false
		}
	}
	h := v1Hash(params.Get("SignatureMethod"))
	want, err := base64.StdEncoding.DecodeString(params.Get("Signature"))
	if h == nil || err != nil || len(want) == 0 || base64.StdEncoding.EncodeToString(want) != params.Get("Signature") {
		return false
	}
	for _, hf := range hostForms(host) {
		if hmac.Equal(macOf(h, []byte(secretKey), stringToSignV1(method, hf, path, params)), want) {
			return true
		}
	}
	return false
}

// SignV1 is the client side: it returns the base64 signature of a v1
// request using params["SignatureMethod"], or "" if that names no
// supported method. The caller sets params["Signature"]; an existing one
// is ignored. host is signed as given, port included, like the Go SDK.
func SignV1(secretKey, method, host, path string, params url.Values) string {
	h := v1Hash(params.Get("SignatureMethod"))
	if h == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(macOf(h, []byte(secretKey), stringToSignV1(method, host, path, params)))
}
