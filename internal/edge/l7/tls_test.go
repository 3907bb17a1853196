package l7

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"slices"
	"testing"
)

// TestH2Guard: where a listener allows what HTTP/2 forbids, a ClientHello
// offering h2 gets it only when the handshake will be TLS 1.3, or TLS 1.2
// with an ECDHE AEAD suite the certificate's key can sign for and a curve
// for ECDHE; then the TLS 1.2 suites are cut to those HTTP/2 permits.
// Otherwise it gets HTTP/1.1 alone.
func TestH2Guard(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	config := func(key crypto.Signer, lo, hi uint16, policy string) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{{PrivateKey: key}}, MinVersion: lo, MaxVersion: hi,
			CipherSuites: CipherSuites(policy), NextProtos: []string{"h2", "http/1.1"}}
	}
	if newH2Guard(config(ecKey, tls.VersionTLS12, tls.VersionTLS13, "GAAP_TLS_CIPHERS_STRICT")) != nil ||
		newH2Guard(config(ecKey, tls.VersionTLS13, tls.VersionTLS13, "GAAP_TLS_CIPHERS_WIDE")) != nil {
		t.Error("a guard where HTTP/2 accepts every handshake")
	}
	curves := []tls.CurveID{tls.X25519}
	v12 := []uint16{tls.VersionTLS12, tls.VersionTLS11, tls.VersionTLS10}
	for _, tc := range []struct {
		name   string
		cfg    *tls.Config
		hello  tls.ClientHelloInfo
		h2     bool
		suites []uint16 // Of the h2 config; nil: unchanged.
	}{
		{"TLS 1.3", config(ecKey, tls.VersionTLS10, tls.VersionTLS13, "GAAP_TLS_CIPHERS_WIDE"),
			tls.ClientHelloInfo{SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12}}, true, nil},
		{"TLS 1.3 not allowed", config(ecKey, tls.VersionTLS10, tls.VersionTLS12, "GAAP_TLS_CIPHERS_STRICT"),
			tls.ClientHelloInfo{SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS11},
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, SupportedCurves: curves}, false, nil},
		{"TLS 1.2 ECDSA AEAD", config(ecKey, tls.VersionTLS10, tls.VersionTLS13, "GAAP_TLS_CIPHERS_GENERAL"),
			tls.ClientHelloInfo{SupportedVersions: v12, SupportedCurves: curves,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
			true, ciphersStrict},
		{"TLS 1.2 RSA AEAD", config(rsaKey, tls.VersionTLS12, tls.VersionTLS12, "GAAP_TLS_CIPHERS_WIDE"),
			tls.ClientHelloInfo{SupportedVersions: v12, SupportedCurves: curves,
				CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}},
			true, ciphersStrict},
		{"TLS 1.2 AEAD for the other key", config(rsaKey, tls.VersionTLS12, tls.VersionTLS13, "GAAP_TLS_CIPHERS_GENERAL"),
			tls.ClientHelloInfo{SupportedVersions: v12, SupportedCurves: curves,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}},
			false, nil},
		{"TLS 1.2 without ECDHE", config(rsaKey, tls.VersionTLS12, tls.VersionTLS13, "GAAP_TLS_CIPHERS_WIDE"),
			tls.ClientHelloInfo{SupportedVersions: v12, SupportedCurves: []tls.CurveID{tls.X25519MLKEM768},
				CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256}},
			false, nil},
		{"TLS 1.1", config(ecKey, tls.VersionTLS10, tls.VersionTLS13, "GAAP_TLS_CIPHERS_STRICT"),
			tls.ClientHelloInfo{SupportedVersions: []uint16{tls.VersionTLS11, tls.VersionTLS10}, SupportedCurves: curves,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}},
			false, nil},
	} {
		g := newH2Guard(tc.cfg)
		if g == nil {
			t.Errorf("%s: no guard", tc.name)
			continue
		}
		got := g.pick(tc.cfg, &tc.hello)
		if h2 := slices.Contains(got.NextProtos, "h2"); h2 != tc.h2 {
			t.Errorf("%s: ALPN %v; want h2 %v", tc.name, got.NextProtos, tc.h2)
		}
		want := tc.suites
		if want == nil {
			want = tc.cfg.CipherSuites
		}
		if !slices.Equal(got.CipherSuites, want) || got.Certificates[0].PrivateKey != tc.cfg.Certificates[0].PrivateKey {
			t.Errorf("%s: suites %x; want %x", tc.name, got.CipherSuites, want)
		}
	}
}
