package l7

import (
	"crypto/tls"
	"errors"
	"strconv"
	"sync"

	"github.com/quic-go/quic-go/http3"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// AltSvcMaxAge is how long (seconds) clients may remember that a listener
// speaks HTTP/3, as advertised in Alt-Svc.
const AltSvcMaxAge = 86400

// altSvc is the Alt-Svc value advertising HTTP/3 on port (same host).
func altSvc(port int) string {
	return `h3=":` + strconv.Itoa(port) + `"; ma=` + strconv.Itoa(AltSvcMaxAge)
}

// ServesHTTP3 reports whether listener l serves HTTP/3 (binds its UDP port
// and advertises it in Alt-Svc): it asks for it and its TLS versions
// include TLS 1.3, the only version QUIC speaks. A listener limited to
// older versions keeps them on TCP rather than speak TLS 1.3 over QUIC.
func ServesHTTP3(l *snapshot.HTTPListener) bool {
	return l.HTTP3 && l.TLS != nil && (l.TLS.MaxVersion == "" || l.TLS.MaxVersion == snapshot.TLS13)
}

// errNoH3 refuses a QUIC handshake for a domain not served over HTTP/3
// (vhost.noH3): the client falls back to TCP and the domain's settings.
var errNoH3 = errors.New("this domain is not served over HTTP/3")

// h3Configs holds the QUIC variants of one handler's TLS configs: the same
// certificates, client CAs and session-ticket keys, with ALPN "h3" and TLS
// 1.3 only (QUIC has no other version; cipher policies cover TLS 1.0-1.2
// and do not apply). Variants are made on first use and shared by later
// handshakes; a handler swap starts a new set.
type h3Configs struct {
	h  *Handler
	mu sync.Mutex
	m  map[*tls.Config]*tls.Config
}

// configFor is the QUIC listener's GetConfigForClient: the handler current
// at handshake time picks the config by SNI exactly as over TCP.
func (s *H3Server) configFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	h := s.h.Load()
	if stamp, ok := hello.Context().Value(h3StampKey{}).(*h3Stamp); ok {
		stamp.h.Store(h)
	}
	if h.tls == nil {
		return nil, errors.New("listener has no TLS") // Switched to HTTP: Apply closes us.
	}
	set := s.tls.Load()
	if set == nil || set.h != h {
		fresh := &h3Configs{h: h, m: map[*tls.Config]*tls.Config{}}
		if s.tls.CompareAndSwap(set, fresh) {
			set = fresh
		} else {
			set = s.tls.Load()
		}
		if set.h != h { // Lost to a handshake that saw an older handler.
			set = fresh
		}
	}
	base, err := h.tls.forName(hello.ServerName) // QUIC offers h3: no h2 to guard
	if err != nil {
		return nil, err
	}
	if v := h.match(canonHost(hello.ServerName)); v != nil && v.noH3 || base.MaxVersion < tls.VersionTLS13 {
		return nil, errNoH3
	}
	return set.get(base), nil
}

func (c *h3Configs) get(base *tls.Config) *tls.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cfg := c.m[base]; cfg != nil {
		return cfg
	}
	cfg := base.Clone()
	cfg.NextProtos = []string{http3.NextProtoH3}
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	c.m[base] = cfg
	return cfg
}
