package snapshot

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// Certificates parses the CERTIFICATE blocks of PEM text (the content of a
// type 1 to 4 certificate), in order. The API validates content with it and
// the edge builds its CA pools with it (CertPool), so a certificate the API
// accepts is one the edge loads: x509.CertPool.AppendCertsFromPEM skips a
// block carrying RFC 1421 headers ("Comment: ..."), which left a listener
// with an accepted client CA and an empty pool, refused by the edge. Headers
// are ignored here, as tls.X509KeyPair ignores them in a server chain; an
// encrypted block ("Proc-Type: 4,ENCRYPTED") is not DER and is refused.
func Certificates(text string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(text)
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("holds a PEM block of type %q; only CERTIFICATE blocks are accepted", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("is not a valid X.509 certificate: %w", err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("must be a PEM-encoded certificate (-----BEGIN CERTIFICATE-----)")
	}
	return certs, nil
}

// CertPool is a pool of the certificates of the CA texts pems, read by
// Certificates.
func CertPool(pems ...string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, p := range pems {
		certs, err := Certificates(p)
		if err != nil {
			return nil, fmt.Errorf("PEM %w", err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, nil
}
