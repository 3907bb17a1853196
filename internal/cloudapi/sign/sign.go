// Package sign verifies and produces Tencent Cloud API 3.0 request
// signatures: TC3-HMAC-SHA256 (signature v3, the Authorization header) and
// HmacSHA1/HmacSHA256 (signature v1, the Signature parameter).
//
// The functions are pure: they see no clock, no key store and no
// http.Request, so the endpoint decides timestamp skew, SecretId lookup and
// which error code to return, and tests can pin every byte. Verification is
// deliberately a little more lenient than the documentation where the
// official SDKs disagree with each other (see hostForms); it is never
// lenient about what the signature covers.
package sign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
)

// hostForms returns the Host values a well-behaved client may have signed
// for a request received with host. The Go SDK signs the Host header
// exactly as sent, port included; the Node SDK sends "name:port" but signs
// URL.hostname, which has no port. Accepting both costs one more HMAC and
// lets an attacker do nothing the port-less form does not already allow.
func hostForms(host string) []string {
	if bare, ok := stripPort(host); ok {
		return []string{host, bare}
	}
	return []string{host}
}

// stripPort removes a trailing ":port" from host. It leaves bracketed and
// bare IPv6 literals without a port alone, because their colons are part
// of the address ("[::1]" and "::1" are hosts, "[::1]:80" has a port).
func stripPort(host string) (string, bool) {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.LastIndexByte(host, ']') > i {
		return "", false
	}
	if strings.IndexByte(host, ':') != i && !strings.HasPrefix(host, "[") {
		return "", false
	}
	return host[:i], true
}

// macOf returns the HMAC of msg under key using hash function h.
func macOf(h func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// sha256Hex returns the lower-case hex SHA-256 of b, the form TC3 uses for
// both the payload and the canonical request.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
