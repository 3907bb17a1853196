package l7

import (
	"crypto/tls"
	"errors"
	"strconv"
	"sync"

	"github.com/quic-go/quic-go/http3"
)

// AltSvcMaxAge is how long (seconds) clients may remember that a listener
// speaks HTTP/3, as advertised in Alt-Svc.
const AltSvcMaxAge = 86400

// altSvc is the Alt-Svc value advertising HTTP/3 on port (same host).
func altSvc(port int) string {
	return `h3=":` + strconv.Itoa(port) + `"; ma=` + strconv.Itoa(AltSvcMaxAge)
}

// h3Configs holds the QUIC variants of one handler's TLS configs: the same
// certificates, client CAs and session-ticket keys, with ALPN "h3" and TLS
// 1.3 only. QUIC has no other TLS version, so a listener limited to older
// versions still speaks TLS 1.3 over HTTP/3 (its cipher policy covers TLS
// 1.0-1.2 only and does not apply). Variants are made on first use and
// shared by later handshakes; a handler swap starts a new set.
type h3Configs struct {
	h  *Handler
	mu sync.Mutex
	m  map[*tls.Config]*tls.Config
}

// configFor is the QUIC listener's GetConfigForClient: the handler current
// at handshake time picks the config by SNI exactly as over TCP.
func (s *H3Server) configFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	h := s.h.Load()
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
	return set.get(h.tls.forHello(hello)), nil
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
