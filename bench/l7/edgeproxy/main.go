// Command edgeproxy runs the opengaap layer-7 data plane (internal/edge)
// standalone for bench/l7/run.sh: it builds a snapshot with one proxy on
// -ip, an HTTP listener on -http-port and an HTTPS listener on -https-port
// (self-signed certificate generated at start), one default domain and one
// rule "/" to -origin, applies it with edge.New(...).Apply and serves until
// SIGTERM/SIGINT. No API, no store: exactly the proxying engine.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/opengaap/opengaap/bench/edgerun"
	"github.com/opengaap/opengaap/internal/snapshot"
)

func main() {
	ip := flag.String("ip", "127.0.94.2", "access IP of the proxy (127.0.x.y)")
	httpPort := flag.Int("http-port", 8080, "HTTP listener port")
	httpsPort := flag.Int("https-port", 8443, "HTTPS listener port")
	origin := flag.String("origin", "127.0.94.1:8080", "origin ip:port (plain HTTP)")
	certDir := flag.String("certdir", "", "also write the generated cert.pem and key.pem here")
	keyType := flag.String("key", "ecdsa", "certificate key: ecdsa (P-256) or rsa (2048)")
	flag.Parse()

	o, err := netip.ParseAddrPort(*origin)
	if err != nil {
		log.Fatalf("-origin: %v", err)
	}
	if _, err := netip.ParseAddr(*ip); err != nil {
		log.Fatalf("-ip: %v", err)
	}
	certPEM, keyPEM, err := selfSigned(*keyType)
	if err != nil {
		log.Fatal(err)
	}
	if *certDir != "" {
		must(os.WriteFile(filepath.Join(*certDir, "cert.pem"), certPEM, 0o600))
		must(os.WriteFile(filepath.Join(*certDir, "key.pem"), keyPEM, 0o600))
	}
	domains := []snapshot.Domain{{Host: "bench.test", IsDefault: true, Rules: []snapshot.Rule{{
		ID: "rule-bench", Path: "/", Scheduler: snapshot.SchedRR,
		Origins: []snapshot.Origin{{ID: "o-bench", Host: o.Addr().String(), Port: int(o.Port()), Weight: 10}},
	}}}}
	snap := &snapshot.Snapshot{Version: 1, Proxies: []snapshot.Proxy{{
		ID:       "link-bench",
		AccessIP: *ip,
		HTTPListeners: []snapshot.HTTPListener{
			{ID: "lsr-http", Protocol: snapshot.ProtoHTTP, Port: *httpPort, Domains: domains},
			{ID: "lsr-https", Protocol: snapshot.ProtoHTTPS, Port: *httpsPort, Domains: domains,
				TLS: &snapshot.TLS{CertPEM: string(certPEM), KeyPEM: string(keyPEM)}},
		},
	}}}

	edgerun.Run(snap)
}

// selfSigned returns a certificate for bench.test and localhost (wrk
// checks no name), valid for a day.
func selfSigned(keyType string) (certPEM, keyPEM []byte, err error) {
	var key any
	switch keyType {
	case "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ecdsa":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, nil, fmt.Errorf("-key %q: want ecdsa or rsa", keyType)
	}
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "bench.test"},
		DNSNames:     []string{"bench.test", "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	signer := key.(crypto.Signer)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
