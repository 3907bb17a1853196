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
