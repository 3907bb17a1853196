package snapshot_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestCertPoolReadsHeaderedBlocks: a CA block with RFC 1421 headers,
// which x509.CertPool.AppendCertsFromPEM skips, is in the pool; a text
// with no certificate, or another block type, is refused.
func TestCertPoolReadsHeaderedBlocks(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Comment": "root"}, Bytes: der}))
	pool, err := snapshot.CertPool(ca)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("headered CA not in the pool: %v", err)
	}
	for _, bad := range []string{"", "no pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))} {
		if _, err := snapshot.CertPool(ca, bad); err == nil {
			t.Errorf("CertPool(ca, %q): no error", bad)
		}
	}
}
