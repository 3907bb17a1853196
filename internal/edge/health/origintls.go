package health

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/opengaap/opengaap/internal/certname"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// OriginTLS is the client side of an HTTPS origin's handshakes, as a
// rule's requests make them and its health checks make them too: an
// origin whose certificate fails verification (RealServerAuth) is not
// usable, so a check that skipped verification read it healthy while every
// request to it failed. It is comparable: it keys the layer-7 transports
// and is part of an HTTPS probe.
type OriginTLS struct {
	SNI string // Sent in the handshake; "" = none.
	// Roots are the CA PEMs the origin's certificate is verified against,
	// joined by "\x00"; "" = not verified.
	Roots string
	// VerifyName is the name the certificate must carry; "" with Roots:
	// the host of each request (a wildcard domain's), which Config's
	// caller names.
	VerifyName string
	// ClientCert and ClientKey (PEM) are presented to the origin (GaapAuth).
	ClientCert, ClientKey string
}

// ErrUnverified wraps the error of an origin certificate that failed
// verification (VerifyOrigin). The handshake fails before any byte of a
// request is written, so, like a failed connect, it makes the origin
// suspect and the request may go to another origin.
var ErrUnverified = errors.New("origin certificate not verified")

// Config returns the client config of o's handshakes and the roots it
// verifies against (nil: none). With roots, the certificate is verified
// for o.VerifyName, else for host; with neither name every handshake
// fails. Verification is done by hand (VerifyConnection) because the
// name verified and the SNI sent may differ, or no SNI be sent at all.
func (o OriginTLS) Config(host string) (*tls.Config, *x509.CertPool, error) {
	cfg := &tls.Config{ServerName: o.SNI, InsecureSkipVerify: true}
	if o.ClientCert != "" {
		cert, err := tls.X509KeyPair([]byte(o.ClientCert), []byte(o.ClientKey))
		if err != nil {
			return nil, nil, fmt.Errorf("origin client certificate: %w", err)
		}
		// Whatever CAs the origin names in its request, as OpenSSL
		// clients (nginx's proxy_ssl_certificate) send theirs:
		// crypto/tls sent nothing when none of them issued the chain (an
		// origin naming its root while the leaf's issuer is an
		// intermediate it trusts apart), and every request was a 502.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	if o.Roots == "" {
		return cfg, nil, nil
	}
	roots, err := snapshot.CertPool(strings.Split(o.Roots, "\x00")...)
	if err != nil {
		return nil, nil, fmt.Errorf("origin CA: %w", err)
	}
	name := cmp.Or(o.VerifyName, host)
	cfg.VerifyConnection = func(cs tls.ConnectionState) error { return VerifyOrigin(cs, roots, name) }
	return cfg, roots, nil
}

// VerifyOrigin verifies the certificate an origin presented against roots
// for name. Its errors wrap ErrUnverified.
func VerifyOrigin(cs tls.ConnectionState, roots *x509.CertPool, name string) error {
	switch {
	case len(cs.PeerCertificates) == 0:
		return fmt.Errorf("%w: origin sent no certificate", ErrUnverified)
	case name == "": // x509 would check no name at all.
		return fmt.Errorf("%w: no name to verify it against", ErrUnverified)
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	// A certificate without subjectAltName is read by its CN, as nginx's
	// proxy_ssl_verify reads it; but x509 holds a chain's DNS name
	// constraints against subjectAltNames only, so under a constrained CA
	// the CN is not read (OpenSSL holds it to them: a CA limited to
	// .corp.test would otherwise vouch for CN=bank.test).
	verify := certname.Verify
	if len(leaf.DNSNames) == 0 && dnsConstrained(chains) {
		verify = (*x509.Certificate).VerifyHostname
	}
	if err := verify(leaf, name); err != nil {
		return fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	return nil
}

// dnsConstrained reports whether a CA of chains limits the DNS names it
// vouches for.
func dnsConstrained(chains [][]*x509.Certificate) bool {
	for _, chain := range chains {
		for _, ca := range chain[1:] {
			if len(ca.PermittedDNSDomains) > 0 || len(ca.ExcludedDNSDomains) > 0 {
				return true
			}
		}
	}
	return false
}
