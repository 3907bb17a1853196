package health

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
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

// TestOriginClientCertSentWhateverCAsAsked: the proxy certificate
// (GaapAuth) is presented to an origin whatever CA names its request
// lists, as OpenSSL clients (nginx's proxy_ssl_certificate) present
// theirs: crypto/tls sent none when no named CA issued the chain (an
// origin naming its root, trusting the leaf's intermediate apart), and
// every request was a 502.
func TestOriginClientCertSentWhateverCAsAsked(t *testing.T) {
	now := time.Now()
	newCert := func(cn string, ca bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: ca, BasicConstraintsValid: true,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, key, der
	}
	named, _, _ := newCert("root the origin names", true, nil, nil)
	issuer, issuerKey, _ := newCert("intermediate it trusts apart", true, nil, nil)
	_, leafKey, leafDER := newCert("gaap-proxy", false, issuer, issuerKey)
	keyDER, _ := x509.MarshalECPrivateKey(leafKey)
	o := OriginTLS{ClientCert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})),
		ClientKey: string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))}
	cfg, _, err := o.Config("origin.test")
	if err != nil {
		t.Fatal(err)
	}
	// The origin names another CA in its request.
	names := x509.NewCertPool()
	names.AddCert(named)
	_, srvKey, srvDER := newCert("origin.test", false, nil, nil)
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	got := make(chan int, 1)
	go func() {
		s := tls.Server(server, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}},
			ClientAuth: tls.RequestClientCert, ClientCAs: names})
		if err := s.Handshake(); err != nil {
			got <- -1
			return
		}
		got <- len(s.ConnectionState().PeerCertificates)
	}()
	c := tls.Client(client, cfg)
	_ = c.Handshake()
	if n := <-got; n != 1 {
		t.Errorf("the origin got %d certificates from the proxy; want its certificate, though the origin named another CA", n)
	}
}
