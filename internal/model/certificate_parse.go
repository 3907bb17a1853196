package model

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"strings"
	"unicode"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/certname"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// DecodeCertificateText undoes the URL encoding the reference asks for
// ("采用url编码") when it was applied: PEM and htpasswd text never
// contain '%' escapes of their own, so text with a valid escape that
// decodes to something different is taken as encoded. Plain text is kept.
//
// The reference does not say which URL encoding. Form encoding
// (url.QueryEscape, Python's quote_plus) writes a space as '+', while
// path encoding leaves a '+' of the base64 body as is; PEM has spaces only
// in its BEGIN and END lines, so '+' is read as a space when the BEGIN
// line shows one.
//
// A leading UTF-8 byte-order mark (Notepad and other Windows tools write
// one) is dropped, as OpenSSL drops it: it hid the BEGIN line from the PEM
// decoder, and the text was refused as no certificate.
func DecodeCertificateText(s string) string {
	s = strings.TrimPrefix(s, bom)
	if !strings.Contains(s, "%") {
		return s
	}
	d, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	d = strings.TrimPrefix(d, bom) // Encoded along with the text (%EF%BB%BF).
	if strings.Contains(d, "-----BEGIN+") {
		if q, err := url.QueryUnescape(s); err == nil {
			return strings.TrimPrefix(q, bom)
		}
	}
	return d
}

// bom is the UTF-8 byte-order mark.
const bom = "\uFEFF"

// FillCertificate validates content (and key, for types with keys) of a
// certificate of c.Type and fills c.Content and the parsed validity and
// names. It returns the key text to be sealed by the caller ("" when the
// type has none).
func FillCertificate(c *Certificate, content, key string) (string, error) {
	content, key = DecodeCertificateText(content), DecodeCertificateText(key)
	switch {
	case len(content) > MaxCertificateContent:
		return "", apierr.New(apierr.InvalidParameterValueInvalidCertificateContent, "CertificateContent has %d bytes; at most %d are accepted", len(content), MaxCertificateContent)
	case len(key) > MaxCertificateContent:
		return "", apierr.New(apierr.InvalidParameterValueInvalidCertificateKey, "CertificateKey has %d bytes; at most %d are accepted", len(key), MaxCertificateContent)
	case c.Type < CertBasicAuth || c.Type > CertProxyClient:
		return "", apierr.New(apierr.InvalidParameterValue, "CertificateType must be 0 (basic auth), 1 (client CA), 2 (server), 3 (origin CA) or 4 (proxy client), not %d", c.Type)
	case !HasKey(c.Type) && strings.TrimSpace(key) != "":
		return "", apierr.New(apierr.InvalidParameterValueInvalidCertificateKey, "CertificateKey is only accepted for types 2 and 4; type %d has no private key", c.Type)
	case HasKey(c.Type) && strings.TrimSpace(key) == "":
		return "", apierr.New(apierr.MissingParameter, "CertificateKey is required for certificate type %d", c.Type)
	}
	c.Content = strings.TrimSpace(content)
	if c.Type == CertBasicAuth {
		return "", validateUserList(c.Content)
	}
	leaf, size, err := parseChainSize(c.Content)
	if err != nil {
		return "", err
	}
	if HasKey(c.Type) && size > MaxChainDER {
		return "", apierr.New(apierr.InvalidParameterValueInvalidCertificateContent, "CertificateContent is a chain of %d bytes (DER); at most %d are accepted: every handshake sends it whole, and clients refuse more (HTTP/3 ones over 64 KiB, OpenSSL over 100 KiB)", size, MaxChainDER)
	}
	c.BeginTime, c.EndTime = leaf.NotBefore.Unix(), leaf.NotAfter.Unix()
	c.IssuerCN, c.SubjectCN = leaf.Issuer.CommonName, leaf.Subject.CommonName
	if !HasKey(c.Type) {
		return "", nil
	}
	key = strings.TrimSpace(key)
	return key, matchKey(leaf, key)
}

// validateUserList checks an htpasswd-like list: one "user:hash" per
// line, optionally followed by nginx's ":comment", and '#' comment lines,
// read as the edge reads it (snapshot.UserLines, snapshot.UserEntry). The
// hash format is not checked (the reference's own example, "root:FSGdT",
// is no known crypt format), but its cost is (snapshot.HashTooCostly): the
// edge would pay it on every request naming the user.
func validateUserList(text string) error {
	users := 0
	for n, line := range snapshot.UserLines(text) {
		_, hash, ok := snapshot.UserEntry(line)
		if !ok || strings.IndexFunc(line, unicode.IsSpace) >= 0 {
			return apierr.New(apierr.InvalidParameterValueInvalidCertificateContent, "CertificateContent line %d must be user:hashed-password[:comment] without spaces (as htpasswd writes it)", n)
		}
		if snapshot.HashTooCostly(hash) {
			return apierr.New(apierr.InvalidParameterValueInvalidCertificateContent, "CertificateContent line %d: the hash's cost is above bcrypt cost %d or SHA-crypt rounds=%d, which every login attempt would pay", n, snapshot.MaxBcryptCost, snapshot.MaxCryptRounds)
		}
		users++
	}
	if users == 0 {
		return apierr.New(apierr.InvalidParameterValueInvalidCertificateContent, "CertificateContent must hold at least one user:password line")
	}
	return nil
}

// parseChain parses text as the edge does (snapshot.Certificates) and
// returns the first certificate, the one the content is reported by.
func parseChain(text string) (*x509.Certificate, error) {
	leaf, _, err := parseChainSize(text)
	return leaf, err
}

// parseChainSize is parseChain, with the size of the chain's DER: what a
// handshake sends of it.
func parseChainSize(text string) (*x509.Certificate, int, error) {
	certs, err := snapshot.Certificates(text)
	if err != nil {
		return nil, 0, apierr.New(apierr.InvalidParameterValueInvalidCertificateContent, "CertificateContent %v", err)
	}
	// pem.Decode passes over a block it cannot decode (broken base64, no
	// END line): the certificate would be stored and never used, a CA's
	// clients refused or a chain served without its intermediate. OpenSSL
	// refuses such a file.
	if begun := strings.Count(text, "-----BEGIN "); begun != len(certs) {
		return nil, 0, apierr.New(apierr.InvalidParameterValueInvalidCertificateContent,
			"CertificateContent has %d PEM blocks (-----BEGIN), of which %d decode: one is damaged (its base64, or its -----END line)", begun, len(certs))
	}
	size := 0
	for _, c := range certs {
		size += len(c.Raw)
	}
	return certs[0], size, nil
}

// matchKey parses a PEM private key (PKCS #1, PKCS #8 or SEC 1) and checks
// it belongs to leaf and that crypto/tls, which presents the certificate
// (to clients for type 2, to origins for type 4), can sign with it. Like tls.X509KeyPair, which the data plane loads the
// key with, it skips blocks that are not keys, such as the EC PARAMETERS
// block `openssl ecparam -genkey` writes first.
func matchKey(leaf *x509.Certificate, text string) error {
	block, rest := pem.Decode([]byte(text))
	for block != nil && block.Type != "PRIVATE KEY" && !strings.HasSuffix(block.Type, " PRIVATE KEY") {
		block, rest = pem.Decode(rest)
	}
	if block == nil {
		return apierr.New(apierr.InvalidParameterValueInvalidCertificateKey, "CertificateKey must hold a PEM-encoded private key (-----BEGIN ... PRIVATE KEY-----)")
	}
	priv, err := parsePrivateKey(block.Bytes)
	if err != nil {
		return apierr.New(apierr.InvalidParameterValueInvalidCertificateKey, "CertificateKey is not a valid RSA, ECDSA or Ed25519 private key: %v", err)
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(priv.Public()) {
		return apierr.New(apierr.InvalidParameterValueCertificateContentNotMatchKey, "CertificateKey is not the private key of the certificate in CertificateContent")
	}
	return tlsCanSign(priv)
}

// maxRSABits is the largest RSA key accepted, as crypto/tls clients
// accept (defaultMaxRSAKeySize).
const maxRSABits = 8192

// tlsCanSign refuses keys crypto/tls cannot sign a handshake with, as
// tls.X509KeyPair does not: ECDSA keys on curves other than P-256, P-384
// and P-521 (x509 also parses P-224), and RSA keys crypto/rsa refuses to
// sign with (under 1024 bits unless GODEBUG rsa1024min=0, which a trial
// signature asks it). Ed25519 keys always sign.
func tlsCanSign(priv crypto.Signer) error {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return apierr.New(apierr.InvalidParameterValueInvalidCertificateKey, "CertificateKey is an ECDSA key on curve %s; TLS serves ECDSA keys on P-256, P-384 and P-521 only", k.Curve.Params().Name)
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits > maxRSABits {
			return apierr.New(apierr.InvalidParameterValueInvalidCertificateKey, "CertificateKey is a %d-bit RSA key; at most %d bits are accepted: TLS clients refuse larger ones (Go's over 8192 bits), and each handshake's signature would cost the node up to a second", bits, maxRSABits)
		}
		digest := sha256.Sum256(nil)
		if _, err := k.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			return apierr.New(apierr.InvalidParameterValueInvalidCertificateKey, "CertificateKey is a %d-bit RSA key TLS cannot sign with (at least 1024 bits are needed): %v", k.N.BitLen(), err)
		}
		return nil
	case ed25519.PrivateKey:
		return nil
	}
	return apierr.New(apierr.InvalidParameterValueInvalidCertificateKey, "unsupported key type %T", priv)
}

func parsePrivateKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	// PKCS #8 yields RSA, ECDSA and Ed25519 keys, which sign, or X25519
	// (*ecdh.PrivateKey), which does not.
	if s, ok := k.(crypto.Signer); ok {
		return s, nil
	}
	return nil, apierr.New(apierr.InvalidParameterValueInvalidCertificateKey, "unsupported key type %T", k)
}

// CertificateMatchesHost reports whether the leaf certificate in content
// is valid for host (wildcards included; names read as certname.Verify
// reads them, as Tencent's console binds them) and, for a refusal's
// message, the names it is valid for.
func CertificateMatchesHost(content, host string) (covers string, ok bool) {
	leaf, err := parseChain(content)
	if err != nil {
		return "no parsable certificate", false
	}
	ok = certname.Verify(leaf, host) == nil
	if len(leaf.DNSNames) == 0 {
		return "subject CN " + cmp.Or(leaf.Subject.CommonName, `""`) + ", no subjectAltName", ok
	}
	covers = "subjectAltName " + strings.Join(leaf.DNSNames, ", ")
	byCN := *leaf
	byCN.DNSNames = nil
	if leaf.Subject.CommonName != "" && certname.Verify(&byCN, host) == nil {
		covers += "; its subject CN is not read beside them, as browsers do not read it"
	}
	return covers, ok
}
