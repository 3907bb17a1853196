// Package certname matches a certificate to a host name as OpenSSL's
// X509_check_host does (nginx, curl, and so Tencent's service): by its DNS
// subjectAltNames when it has any, as browsers read it, else by its
// subject CN. `openssl req -x509 -subj /CN=host` and many internal CAs
// write certificates without subjectAltName; Go's VerifyHostname has
// ignored the CN since Go 1.15, which refused such a certificate for the
// very host it names. Both the API (a domain's certificate) and the edge
// (an origin's, under RealServerAuth) read names this one way.
package certname

import (
	"crypto/x509"
	"net/netip"
)

// Verify reports whether leaf is valid for host (wildcards included). An
// IP address is matched against the IP subjectAltNames only, as OpenSSL's
// X509_check_ip does.
func Verify(leaf *x509.Certificate, host string) error {
	if _, err := netip.ParseAddr(host); err == nil || len(leaf.DNSNames) > 0 || leaf.Subject.CommonName == "" {
		return leaf.VerifyHostname(host)
	}
	byCN := *leaf
	byCN.DNSNames = []string{leaf.Subject.CommonName}
	return byCN.VerifyHostname(host)
}
