package sign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// AlgorithmTC3 is the algorithm name that opens a v3 Authorization header.
	AlgorithmTC3 = "TC3-HMAC-SHA256"

	scopeTerminator = "tc3_request"
	dateLayout      = "2006-01-02"

	// unsignedPayload is the X-TC-Content-SHA256 value with which a client
	// (the Go SDK's ClientProfile.UnsignedPayload) signs the hash of this
	// literal instead of the body.
	unsignedPayload = "UNSIGNED-PAYLOAD"
)

// ErrMalformed is wrapped by every ParseTC3 error, so the endpoint can map
// all of them to AuthFailure.InvalidAuthorization with errors.Is.
var ErrMalformed = errors.New("malformed TC3 authorization")

// TC3 is a parsed "Authorization: TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request,
// SignedHeaders=a;b, Signature=hex" header. SignedHeaders are lower-case,
// sorted and unique, and always include content-type and host.
type TC3 struct {
	SecretID      string
	Date          string // YYYY-MM-DD, the UTC date of the signing timestamp
	Service       string // the caller must check it names this service ("gaap")
	SignedHeaders []string
	Signature     string // 64 hex digits
}

// ParseTC3 parses a v3 Authorization header value. It rejects anything the
// SDKs would not produce in a way that matters for security: another
// algorithm, missing, repeated or unknown parts, a bad credential scope or
// date, a signature that is not 32 bytes of hex, and signed headers that
// are empty, unsorted, repeated or lack content-type or host (without those
// two a signature could be replayed to another host or reinterpreted).
// Errors wrap ErrMalformed and do not echo the input.
func ParseTC3(authorization string) (TC3, error) {
	rest, ok := strings.CutPrefix(authorization, AlgorithmTC3+" ")
	if !ok {
		return TC3{}, malformed("algorithm is not " + AlgorithmTC3)
	}
	parts, err := splitParts(rest)
	if err != nil {
		return TC3{}, err
	}
	var a TC3
	if err := a.parseCredential(parts["Credential"]); err != nil {
		return TC3{}, err
	}
	if a.SignedHeaders, err = parseSignedHeaders(parts["SignedHeaders"]); err != nil {
		return TC3{}, err
	}
	a.Signature = parts["Signature"]
	if b, err := hex.DecodeString(a.Signature); err != nil || len(b) != sha256.Size {
		return TC3{}, malformed("Signature is not 64 hex digits")
	}
	return a, nil
}

func malformed(why string) error { return fmt.Errorf("%w: %s", ErrMalformed, why) }

// splitParts splits "K=V, K=V, K=V" into exactly Credential, SignedHeaders
// and Signature. Spaces around parts are tolerated, as hand-written clients
// vary there; anything else is not.
func splitParts(s string) (map[string]string, error) {
	parts := make(map[string]string, 3)
	for p := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		switch {
		case !ok || v == "":
			return nil, malformed("a part is not Key=Value")
		case k != "Credential" && k != "SignedHeaders" && k != "Signature":
			return nil, malformed("unknown part")
		case parts[k] != "":
			return nil, malformed("repeated part " + k)
		}
		parts[k] = v
	}
	if len(parts) != 3 {
		return nil, malformed("want Credential, SignedHeaders and Signature")
	}
	return parts, nil
}

func (a *TC3) parseCredential(s string) error {
	f := strings.Split(s, "/")
	if len(f) != 4 || f[3] != scopeTerminator {
		return malformed("Credential is not ID/DATE/SERVICE/" + scopeTerminator)
	}
	if f[0] == "" || strings.ContainsFunc(f[0], isSpaceOrControl) {
		return malformed("bad SecretId")
	}
	if t, err := time.Parse(dateLayout, f[1]); err != nil || t.Format(dateLayout) != f[1] {
		return malformed("Credential date is not YYYY-MM-DD")
	}
	if f[2] == "" || strings.ContainsFunc(f[2], func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_'
	}) {
		// The Node SDK and tccli sign with the endpoint's first label: an
		// endpoint "localhost:8800" gives the service "localhost:8800".
		return malformed(fmt.Sprintf("bad service name %q in the Credential scope (the Node SDK and tccli take it "+
			"from the endpoint's first label: use an endpoint such as gaap.<name>:<port>, with a <name> that "+
			"resolves to this server)", f[2]))
	}
	a.SecretID, a.Date, a.Service = f[0], f[1], f[2]
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// parseSignedHeaders requires the sorted, unique, lower-case list the
// canonical request is built from, so that one list has one meaning.
func parseSignedHeaders(s string) ([]string, error) {
	names := strings.Split(s, ";")
	for i, n := range names {
		if n == "" || strings.ContainsFunc(n, func(r rune) bool { return !isHeaderNameByte(r) }) {
			return nil, malformed("bad SignedHeaders name")
		}
		if i > 0 && names[i-1] >= n {
			return nil, malformed("SignedHeaders not sorted and unique")
		}
	}
	if !slices.Contains(names, "content-type") || !slices.Contains(names, "host") {
		return nil, malformed("SignedHeaders must include content-type and host")
	}
	return names, nil
}

// isHeaderNameByte reports whether r may appear in a lower-case RFC 9110
// token.
func isHeaderNameByte(r rune) bool {
	return ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// Verify reports whether a.Signature signs the request; a must come from
// ParseTC3. host is the Host header as received (r.Host: net/http removes
// it from header), header the other request headers, rawQuery the raw URL
// query exactly as received (the SDKs sign the query string a GET sends;
// see canonicalRequest for POST), payload the body and timestamp the
// X-TC-Timestamp value. The canonical URI is always "/", the only path the
// API serves.
//
// Verify does not check clock skew, the SecretId or a.Service; it does
// require a.Date to be the UTC date of timestamp, as the key is derived
// from the date and a stale date would otherwise extend a key's reach.
func (a TC3) Verify(secretKey, method, host, rawQuery string, header http.Header, payload []byte, timestamp int64) bool {
	return a.verifyWithKey(signingKey(secretKey, a.Date, a.Service), method, host, rawQuery, header, payload, timestamp)
}

// verifyWithKey is Verify from the derived signing key, so the
// documentation's vector (which masks the secret key) can be checked end to
// end.
func (a TC3) verifyWithKey(key []byte, method, host, rawQuery string, header http.Header, payload []byte, timestamp int64) bool {
	want, err := hex.DecodeString(a.Signature)
	if err != nil || len(want) != sha256.Size || a.Date != utcDate(timestamp) {
		return false
	}
	ph := payloadHash(header, payload)
	for _, ch := range a.headerForms(host, header) {
		cr := canonicalRequest(method, rawQuery, ch, a.SignedHeaders, ph)
		got := macOf(sha256.New, key, stringToSign(timestamp, a.Date, a.Service, cr))
		if hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// headerForms returns the distinct canonical-header blocks a client may
// have signed: each of hostForms, with values lower-cased as the
// documentation prescribes (its example signs "x-tc-action:describeinstances")
// and, for clients that sign values verbatim, as received. All official
// SDKs produce both forms identically for lower-case values.
func (a TC3) headerForms(host string, header http.Header) []string {
	var forms []string
	for _, h := range hostForms(host) {
		for _, lower := range []bool{true, false} {
			if f := canonicalHeaders(a.SignedHeaders, h, header, lower); !slices.Contains(forms, f) {
				forms = append(forms, f)
			}
		}
	}
	return forms
}

// canonicalHeaders renders "name:value\n" for each signed header. The host
// header comes from host, not header, because net/http moves it out.
// Repeated headers contribute their first value, the one handlers read.
func canonicalHeaders(names []string, host string, header http.Header, lower bool) string {
	var b strings.Builder
	for _, n := range names {
		v := host
		if n != "host" {
			v = header.Get(n)
		}
		v = strings.TrimSpace(v)
		if lower {
			v = strings.ToLower(v)
		}
		b.WriteString(n + ":" + v + "\n")
	}
	return b.String()
}

// payloadHash is the hex SHA-256 of the body, or of "UNSIGNED-PAYLOAD" when
// the client declared it did not sign the body (Go SDK UnsignedPayload,
// accepted by Tencent Cloud). Such a request's body is not authenticated;
// a client opts into that, and a signature over the real hash can't be
// turned into one by adding the header, since the hashes differ.
func payloadHash(header http.Header, payload []byte) string {
	if header.Get("X-TC-Content-SHA256") == unsignedPayload {
		return sha256Hex([]byte(unsignedPayload))
	}
	return sha256Hex(payload)
}

// canonicalRequest is step 1 of the TC3 algorithm; headers already ends in
// "\n", so a blank line separates it from the signed-header list, as in the
// SDKs. Only a GET signs its query: the reference prescribes an empty
// canonical query for POST, whose parameters are the (signed) body, so a
// query a proxy or tracer appends to a POST URL carries nothing to protect.
func canonicalRequest(method, rawQuery, headers string, signed []string, payloadHash string) string {
	if method != http.MethodGet {
		rawQuery = ""
	}
	return method + "\n/\n" + rawQuery + "\n" + headers + "\n" + strings.Join(signed, ";") + "\n" + payloadHash
}

// stringToSign is step 2: it binds the canonical request to the timestamp
// and credential scope.
func stringToSign(timestamp int64, date, service, canonicalRequest string) string {
	return AlgorithmTC3 + "\n" + strconv.FormatInt(timestamp, 10) + "\n" +
		date + "/" + service + "/" + scopeTerminator + "\n" + sha256Hex([]byte(canonicalRequest))
}

// signingKey is step 3's SecretSigning, derived from the secret key through
// the date and service so that a leaked derived key is limited to one day
// and one service.
func signingKey(secretKey, date, service string) []byte {
	k := macOf(sha256.New, []byte("TC3"+secretKey), date)
	k = macOf(sha256.New, k, service)
	return macOf(sha256.New, k, scopeTerminator)
}

func utcDate(timestamp int64) string { return time.Unix(timestamp, 0).UTC().Format(dateLayout) }

// SignTC3 is the client side, for tests and fuzzers: it returns the
// Authorization header value for the request, signing content-type, host
// and every other header in header (names must be valid tokens;
// Authorization is skipped). host is signed as given, port included, like
// the Go SDK; values are lower-cased, like the documentation.
func SignTC3(secretID, secretKey, service, method, host, rawQuery string, header http.Header, payload []byte, timestamp int64) string {
	signed := []string{"content-type", "host"}
	for k := range header {
		if n := strings.ToLower(k); n != "authorization" && !slices.Contains(signed, n) {
			signed = append(signed, n)
		}
	}
	slices.Sort(signed)
	date := utcDate(timestamp)
	cr := canonicalRequest(method, rawQuery, canonicalHeaders(signed, host, header, true), signed, payloadHash(header, payload))
	sig := macOf(sha256.New, signingKey(secretKey, date, service), stringToSign(timestamp, date, service, cr))
	return fmt.Sprintf("%s Credential=%s/%s/%s/%s, SignedHeaders=%s, Signature=%x",
		AlgorithmTC3, secretID, date, service, scopeTerminator, strings.Join(signed, ";"), sig)
}
