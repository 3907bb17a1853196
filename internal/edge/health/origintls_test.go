package health

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

// TestVerifyOriginReadsCNWithoutSAN: an origin certificate without
// subjectAltName is verified by its subject CN, as nginx's
// proxy_ssl_verify reads it (it got 502 and an abnormal origin); its chain
// must still lead to the origin CA.
func TestVerifyOriginReadsCNWithoutSAN(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "origin.cn.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	cs := tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	if err := VerifyOrigin(cs, roots, "origin.cn.test"); err != nil {
		t.Errorf("CN-only certificate for its CN: %v; want verified", err)
	}
	if err := VerifyOrigin(cs, roots, "other.cn.test"); !errors.Is(err, ErrUnverified) {
		t.Errorf("CN-only certificate for another name: %v; want ErrUnverified", err)
	}
	if err := VerifyOrigin(cs, x509.NewCertPool(), "origin.cn.test"); !errors.Is(err, ErrUnverified) {
		t.Errorf("CN-only certificate from an untrusted CA: %v; want ErrUnverified", err)
	}
}

// TestVerifyOriginCNUnderNameConstraints: an intermediate limited to
// .corp.test issues a leaf with no subjectAltName and CN bank.test. x509
// holds name constraints against subjectAltNames only, so the CN read as
// the name escaped them; OpenSSL (nginx) holds it to them and refuses.
func TestVerifyOriginCNUnderNameConstraints(t *testing.T) {
	now := time.Now()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	interKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	interTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "corp intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, PermittedDNSDomains: []string{".corp.test"}, PermittedDNSDomainsCritical: true}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root, &interKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	inter, _ := x509.ParseCertificate(interDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "bank.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, inter, &leafKey.PublicKey, interKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	roots := x509.NewCertPool()
	roots.AddCert(root)
	cs := tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf, inter}}
	if err := VerifyOrigin(cs, roots, "bank.test"); !errors.Is(err, ErrUnverified) {
		t.Errorf("CN bank.test from a CA constrained to .corp.test: %v; want ErrUnverified (outside the CA's permitted names)", err)
	}
}
