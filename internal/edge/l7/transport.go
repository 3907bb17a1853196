package l7

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Origin-side limits. A connect that fails or times out is retried on
// another origin (idempotent requests only); a slow answer is a 504.
const (
	DialTimeout           = 5 * time.Second
	ResponseHeaderTimeout = 60 * time.Second // nginx proxy_read_timeout.
	OriginIdleTimeout     = 90 * time.Second
	MaxIdlePerOrigin      = 64
)

// transportKey is the identity of an origin-side TLS setup; rules with the
// same one share a transport, hence its keep-alive connection pool.
type transportKey struct {
	sni        string // Sent in the handshake; "" = none.
	roots      string // Joined CA PEMs; "" = do not verify.
	verifyName string
	clientCert string // PEM cert + key presented to origins.
	clientKey  string
}

// Transports holds origin transports by TLS setup, reference counted so
// that a configuration swap keeps warm keep-alive connections. Safe for
// concurrent use.
type Transports struct {
	mu sync.Mutex
	m  map[transportKey]*transportRef
}

type transportRef struct {
	t    *http.Transport
	h1   *h1Client // Plain-HTTP requests without body (h1client.go).
	refs int
}

// NewTransports returns an empty cache.
func NewTransports() *Transports { return &Transports{m: map[transportKey]*transportRef{}} }

// acquire returns the transports for k, creating them on first use.
func (ts *Transports) acquire(k transportKey) (*http.Transport, *h1Client, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if r := ts.m[k]; r != nil {
		r.refs++
		return r.t, r.h1, nil
	}
	t, err := newTransport(k)
	if err != nil {
		return nil, nil, err
	}
	r := &transportRef{t: t, h1: newH1Client(originDialer()), refs: 1}
	ts.m[k] = r
	return t, r.h1, nil
}

// release drops one reference; the last one closes idle connections.
// Requests still in flight on the transport finish normally.
func (ts *Transports) release(k transportKey) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if r := ts.m[k]; r != nil {
		if r.refs--; r.refs == 0 {
			delete(ts.m, k)
			r.t.CloseIdleConnections()
			r.h1.close()
		}
	}
}

func originDialer() *net.Dialer {
	return &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}
}

func newTransport(k transportKey) (*http.Transport, error) {
	d := originDialer()
	cfg := &tls.Config{ServerName: k.sni, InsecureSkipVerify: true}
	if k.clientCert != "" {
		cert, err := tls.X509KeyPair([]byte(k.clientCert), []byte(k.clientKey))
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if k.roots != "" {
		roots, err := certPool(strings.Split(k.roots, "\x00"))
		if err != nil {
			return nil, err
		}
		// Verification is done by hand because the name to verify (the
		// origin's certificate name) and the SNI sent may differ, or no
		// SNI be sent at all.
		cfg.VerifyConnection = func(cs tls.ConnectionState) error { return verifyOrigin(cs, roots, k.verifyName) }
	}
	return &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       cfg,
		TLSHandshakeTimeout:   DialTimeout,
		ResponseHeaderTimeout: ResponseHeaderTimeout,
		IdleConnTimeout:       OriginIdleTimeout,
		MaxIdleConns:          0, // Bounded per origin instead.
		MaxIdleConnsPerHost:   MaxIdlePerOrigin,
		ExpectContinueTimeout: time.Second,
		// Origins speak HTTP/1.1, as behind nginx; gzip is passed through.
		DisableCompression: true,
	}, nil
}

func verifyOrigin(cs tls.ConnectionState, roots *x509.CertPool, name string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("origin sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name})
	return err
}
