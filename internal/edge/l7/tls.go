package l7

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/snapshot"
)

var tlsVersion = map[string]uint16{
	snapshot.TLS10: tls.VersionTLS10, snapshot.TLS11: tls.VersionTLS11,
	snapshot.TLS12: tls.VersionTLS12, snapshot.TLS13: tls.VersionTLS13,
}

// Cipher policies for TLS 1.0-1.2 (TLS 1.3 suites are fixed by Go).
// STRICT is what Mozilla's "intermediate" profile allows: ECDHE key
// exchange with AEAD ciphers, which are also the only suites here that
// HTTP/2 permits (RFC 9113 9.2.2). GENERAL adds ECDHE with CBC (SHA-1 MAC) for
// TLS 1.0/1.1-era clients. WIDE adds static-RSA key exchange (no forward
// secrecy) for very old clients; 3DES and RC4 are never offered.
var (
	ciphersStrict = []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
	ciphersGeneral = append(ciphersStrict[:len(ciphersStrict):len(ciphersStrict)],
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	)
	ciphersWide = append(ciphersGeneral[:len(ciphersGeneral):len(ciphersGeneral)],
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	)
)

// CipherSuites returns the TLS 1.0-1.2 suites of a GAAP cipher policy.
func CipherSuites(policy string) []uint16 {
	switch policy {
	case snapshot.CiphersStrict:
		return ciphersStrict
	case snapshot.CiphersGeneral:
		return ciphersGeneral
	}
	return ciphersWide
}

// merge overlays a domain's TLS settings on the listener's.
func merge(base, over *snapshot.TLS) snapshot.TLS {
	m := *base
	if over == nil {
		return m
	}
	if over.CertPEM != "" {
		m.CertPEM, m.KeyPEM = over.CertPEM, over.KeyPEM
	}
	if over.ClientCAPEMs != nil {
		m.ClientCAPEMs = over.ClientCAPEMs
	}
	if over.MinVersion != "" || over.MaxVersion != "" {
		m.MinVersion, m.MaxVersion, m.SkipVersions = over.MinVersion, over.MaxVersion, over.SkipVersions
	}
	if over.Ciphers != "" {
		m.Ciphers = over.Ciphers
	}
	return m
}

// pinned is a config narrowed to one TLS version, with its guard.
type pinned struct {
	version uint16
	cfg     *tls.Config
	guard   *h2Guard
}

// pins returns cfg narrowed to each version of its range that t does not
// skip, highest first; nil if t skips none (cfg serves as it is). Go
// negotiates within one range only, so a set with a hole is served by
// picking one of these per handshake (serverTLS.forHello); they are built
// here, with the listener, so that a handshake only chooses.
func pins(t snapshot.TLS, cfg *tls.Config) []pinned {
	if len(t.SkipVersions) == 0 {
		return nil
	}
	skip := make([]uint16, 0, len(t.SkipVersions))
	for _, name := range t.SkipVersions {
		skip = append(skip, tlsVersion[name])
	}
	var out []pinned
	for v := cfg.MaxVersion; v >= cfg.MinVersion; v-- {
		if slices.Contains(skip, v) {
			continue
		}
		c := cfg.Clone()
		c.MinVersion, c.MaxVersion = v, v
		out = append(out, pinned{version: v, cfg: c, guard: newH2Guard(c)})
	}
	return out
}

// pin is the pinned config for the highest version in ps the client
// offers; nil if it offers none.
func pin(ps []pinned, offered []uint16) *pinned {
	for i := range ps {
		if slices.Contains(offered, ps[i].version) {
			return &ps[i]
		}
	}
	return nil
}

// certCache parses each distinct certificate/key pair once per build:
// most domains use the listener's certificate.
type certCache map[string]tls.Certificate

func (c certCache) pair(certPEM, keyPEM string) (tls.Certificate, error) {
	k := certPEM + "\x00" + keyPEM
	if cert, ok := c[k]; ok {
		return cert, nil
	}
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return cert, err
	}
	c[k] = cert
	return cert, nil
}

// serverConfig builds the complete server-side config of one TLS setting.
// It offers h2 first: net/http serves HTTP/2 on a *tls.Conn that
// negotiated it (h2Guard withholds it where HTTP/2 would refuse the
// connection).
func serverConfig(t snapshot.TLS, certs certCache) (*tls.Config, error) {
	cert, err := certs.pair(t.CertPEM, t.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12, MaxVersion: tls.VersionTLS13,
		CipherSuites: CipherSuites(t.Ciphers),
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if v, ok := tlsVersion[t.MinVersion]; ok {
		cfg.MinVersion = v
	}
	if v, ok := tlsVersion[t.MaxVersion]; ok {
		cfg.MaxVersion = v
	}
	if len(t.ClientCAPEMs) > 0 {
		if cfg.ClientCAs, err = snapshot.CertPool(t.ClientCAPEMs...); err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// h2Guard keeps HTTP/2 to handshakes it accepts. HTTP/2 forbids TLS below
// 1.2 and, in TLS 1.2, every suite but ECDHE with AEAD (RFC 9113 9.2):
// net/http's HTTP/2 server answers such a connection with GOAWAY
// INADEQUATE_SECURITY before any request, and browsers give up on it.
// crypto/tls settles ALPN before the cipher suite, so the guard predicts
// the handshake from the ClientHello, as crypto/tls will conduct it: the
// highest version both sides allow; in TLS 1.2, an ECDHE AEAD suite when
// the client offers one the config and the certificate's key allow, and a
// curve for ECDHE (crypto/tls ranks those suites above all others). Where
// the prediction is HTTP/2, the config's suites are cut to those HTTP/2
// permits, so that a resumed session cannot bring back another; elsewhere
// the client gets HTTP/1.1, as a client offering no h2 does.
type h2Guard struct {
	h1     *tls.Config // ALPN http/1.1 only.
	h2     *tls.Config // TLS 1.2 suites cut to ciphersStrict; nil if none is left.
	ecSign bool        // The certificate signs with ECDSA or Ed25519, not RSA.
}

// newH2Guard returns cfg's guard, or nil when cfg allows only what HTTP/2
// accepts.
func newH2Guard(cfg *tls.Config) *h2Guard {
	permitted := func(id uint16) bool { return slices.Contains(ciphersStrict, id) }
	if cfg.MinVersion >= tls.VersionTLS13 || cfg.MinVersion == tls.VersionTLS12 && !slices.ContainsFunc(cfg.CipherSuites,
		func(id uint16) bool { return !permitted(id) }) {
		return nil
	}
	g := &h2Guard{h1: cfg.Clone()}
	g.h1.NextProtos = []string{"http/1.1"}
	if cfg.MaxVersion >= tls.VersionTLS12 {
		if suites := slices.DeleteFunc(slices.Clone(cfg.CipherSuites), func(id uint16) bool { return !permitted(id) }); len(suites) > 0 {
			g.h2 = cfg.Clone()
			g.h2.MinVersion, g.h2.CipherSuites = tls.VersionTLS12, suites
		}
	}
	if signer, ok := cfg.Certificates[0].PrivateKey.(crypto.Signer); ok {
		switch signer.Public().(type) {
		case *ecdsa.PublicKey, ed25519.PublicKey:
			g.ecSign = true
		}
	}
	return g
}

// ecSuites are the ECDHE suites that need an ECDSA (or Ed25519) certificate.
var ecSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}

// ecdheCurves are the groups crypto/tls offers for ECDHE in TLS 1.2.
var ecdheCurves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521}

// pick returns the config for hello, which cfg (guarded by g) answers and
// which offers h2.
func (g *h2Guard) pick(cfg *tls.Config, hello *tls.ClientHelloInfo) *tls.Config {
	version := uint16(0)
	for v := cfg.MaxVersion; v >= cfg.MinVersion && version == 0; v-- {
		if slices.Contains(hello.SupportedVersions, v) {
			version = v
		}
	}
	switch {
	case version >= tls.VersionTLS13:
		return cfg
	case version < tls.VersionTLS12 || g.h2 == nil:
		return g.h1
	}
	ecdhe := slices.ContainsFunc(hello.SupportedCurves, func(c tls.CurveID) bool { return slices.Contains(ecdheCurves, c) })
	if ecdhe && slices.ContainsFunc(hello.CipherSuites, func(id uint16) bool {
		return slices.Contains(g.h2.CipherSuites, id) && slices.Contains(ecSuites, id) == g.ecSign
	}) {
		return g.h2
	}
	return g.h1
}

// originName is the name an origin certificate must carry for a domain's
// rule: the rule's SNI, the name it asks the origin for, before the
// domain's deprecated RealServerCertificateDomain, which the reference
// replaced by it (a stale one must not fail the origin the SNI names);
// "" for a wildcard domain without a fixed name: there it is each
// request's host (hostTransports). The bare parent name ("example.com"
// for "*.example.com") would do no good: no certificate for
// "*.example.com", the usual one of such a site's origins, covers it
// (RFC 6125 6.4.3), so every request failed.
func originName(d *snapshot.Domain, r *snapshot.Rule) string {
	switch {
	case r.SNI != "":
		return r.SNI
	case d.OriginServerName != "":
		return d.OriginServerName
	case strings.HasPrefix(d.Host, "*."):
		return ""
	}
	return d.Host
}
