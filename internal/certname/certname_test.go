package certname

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
)

func leaf(t *testing.T, cn string, dns []string, ips ...string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestVerify: the CN is read only where there is no DNS subjectAltName,
// as OpenSSL's X509_check_host reads it; an IP only by IP subjectAltNames.
func TestVerify(t *testing.T) {
	for _, c := range []struct {
		cert *x509.Certificate
		host string
		ok   bool
	}{
		{leaf(t, "origin.test", nil), "origin.test", true},
		{leaf(t, "origin.test", nil), "other.test", false},
		{leaf(t, "*.origin.test", nil), "a.origin.test", true},
		{leaf(t, "*.origin.test", nil), "a.b.origin.test", false},
		{leaf(t, "origin.test", []string{"san.test"}), "origin.test", false}, // Not read beside SANs.
		{leaf(t, "origin.test", []string{"san.test"}), "san.test", true},
		{leaf(t, "origin.test", nil, "127.0.0.1"), "origin.test", true}, // IP SANs are no DNS names.
		{leaf(t, "127.0.0.1", nil), "127.0.0.1", false},
		{leaf(t, "", nil, "127.0.0.1"), "127.0.0.1", true},
		{leaf(t, "", nil), "origin.test", false},
	} {
		if err := Verify(c.cert, c.host); (err == nil) != c.ok {
			t.Errorf("CN %q, DNS %v, IP %v for %q: %v; want ok %v", c.cert.Subject.CommonName, c.cert.DNSNames, c.cert.IPAddresses, c.host, err, c.ok)
		}
	}
}
