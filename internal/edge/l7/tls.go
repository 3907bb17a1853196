package l7

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/opengaap/opengaap/internal/snapshot"
)

var tlsVersion = map[string]uint16{
	snapshot.TLS10: tls.VersionTLS10, snapshot.TLS11: tls.VersionTLS11,
	snapshot.TLS12: tls.VersionTLS12, snapshot.TLS13: tls.VersionTLS13,
}

// Cipher policies for TLS 1.0-1.2 (TLS 1.3 suites are fixed by Go).
// STRICT is what Mozilla's "intermediate" profile allows: ECDHE key
// exchange with AEAD ciphers. GENERAL adds ECDHE with CBC (SHA-1 MAC) for
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
		m.MinVersion, m.MaxVersion = over.MinVersion, over.MaxVersion
	}
	if over.Ciphers != "" {
		m.Ciphers = over.Ciphers
	}
	return m
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
// negotiated it.
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
		if cfg.ClientCAs, err = certPool(t.ClientCAPEMs); err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// certPool parses PEM bundles into a pool.
func certPool(pems []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, p := range pems {
		if !pool.AppendCertsFromPEM([]byte(p)) {
			return nil, errors.New("no certificate in PEM")
		}
	}
	return pool, nil
}

// originName is the name an origin certificate must carry for a domain.
func originName(d *snapshot.Domain, r *snapshot.Rule) string {
	switch {
	case d.OriginServerName != "":
		return d.OriginServerName
	case r.SNI != "":
		return r.SNI
	}
	return strings.TrimPrefix(d.Host, "*.")
}
