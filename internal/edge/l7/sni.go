package l7

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// serverTLS holds a listener's distinct TLS server configs: one per
// distinct effective setting (most domains share the listener's).
type serverTLS struct {
	configs  []*tls.Config
	guards   []*h2Guard // By config: nil if it allows only what HTTP/2 accepts.
	pins     [][]pinned // By config: nil if its versions have no hole (pins).
	access   []string   // By config: what it demands of clients (accessKey).
	byKey    map[string]int
	listener int // The config of handshakes whose SNI matches no domain.
	handler  *Handler
}

// accessKey is what a TLS setting demands of clients: client CAs,
// versions and ciphers; not the server's certificate, whose rotation
// leaves existing connections as good as they were.
func accessKey(t snapshot.TLS) string {
	return strings.Join(t.ClientCAPEMs, "\x00") + "\x00" + t.MinVersion + "\x00" + t.MaxVersion + "\x00" +
		strings.Join(t.SkipVersions, ",") + "\x00" + t.Ciphers
}

// add returns the index of the config for t, building it if new.
func (s *serverTLS) add(t snapshot.TLS, certs certCache) (int, error) {
	if t.CertPEM == "" {
		return 0, errors.New("no server certificate")
	}
	key := t.CertPEM + "\x00" + t.KeyPEM + "\x00" + accessKey(t)
	if s.byKey == nil {
		s.byKey = map[string]int{}
	}
	if i, ok := s.byKey[key]; ok {
		return i, nil
	}
	cfg, err := serverConfig(t, certs)
	if err != nil {
		return 0, err
	}
	s.configs, s.guards, s.access = append(s.configs, cfg), append(s.guards, newH2Guard(cfg)), append(s.access, accessKey(t))
	s.pins = append(s.pins, pins(t, cfg))
	s.byKey[key] = len(s.configs) - 1
	return len(s.configs) - 1, nil
}

// finish builds the listener-level config and links back to the handler.
func (s *serverTLS) finish(h *Handler, t snapshot.TLS, certs certCache) error {
	i, err := s.add(t, certs)
	if err != nil {
		return err
	}
	s.listener, s.handler = i, h
	h.access = s.access[i]
	for _, v := range h.vhosts() {
		h.access += "\x01" + v.host + "\x02" + s.accessOf(v)
	}
	if h.def != nil { // Clients without a matching SNI get its demands.
		h.access += "\x03" + s.accessOf(h.def)
	}
	return nil
}

// accessOf is what v demands of clients; a domain left out demands what
// no client can give.
func (s *serverTLS) accessOf(v *vhost) string {
	if v.out {
		return "\x04"
	}
	return s.access[v.tlsIdx]
}

// admits reports whether a finished handshake, which prev admitted (nil:
// unknown), meets what h demands of a client with its SNI and of one
// sending requests for hosts, those the connection is serving: one
// handshake serves the domains that share its config, and a client
// without SNI those whose demands it met (misdirected). Each must be
// met as a new handshake for it would be: the same demands as prev's for
// that name, or a version and cipher h allows and the client certificate
// h asks for, verified against h's client CAs as crypto/tls verifies it.
// A name h leaves out admits nobody. A connection that still qualifies
// after a change of demands stays open (Server.Update).
func (h *Handler) admits(cs *tls.ConnectionState, prev *Handler, hosts []string) bool {
	if h.tls == nil {
		return false
	}
	i := h.tls.indexFor(cs.ServerName)
	if !h.admitsFor(cs, prev, cs.ServerName, i) {
		return false
	}
	met := []int{i} // Configs met: each is verified once, not per stream.
	for _, host := range hosts {
		name := hostName(host)
		if i = h.tls.indexFor(name); slices.Contains(met, i) {
			continue
		}
		if !h.admitsFor(cs, prev, name, i) {
			return false
		}
		met = append(met, i)
	}
	return true
}

// admitsFor is admits for the one name (an SNI or a request's host),
// whose config in h is the i-th.
func (h *Handler) admitsFor(cs *tls.ConnectionState, prev *Handler, name string, i int) bool {
	if i == leftOut {
		return false
	}
	if prev != nil && prev.tls != nil {
		if j := prev.tls.indexFor(name); j != leftOut && prev.tls.access[j] == h.tls.access[i] {
			return true
		}
	}
	cfg := h.tls.configs[i]
	if cs.Version < cfg.MinVersion || cs.Version > cfg.MaxVersion || h.tls.pins[i] != nil && pin(h.tls.pins[i], []uint16{cs.Version}) == nil ||
		cs.Version < tls.VersionTLS13 && !slices.Contains(cfg.CipherSuites, cs.CipherSuite) {
		return false
	}
	if cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		return true
	}
	if len(cs.PeerCertificates) == 0 {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: cfg.ClientCAs, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err == nil
}

// forHello picks the config of a handshake by SNI: the matching domain's,
// else the default domain's, else the listener's. Clients that send no SNI
// (IP literals) get the default domain's or the listener's. A client that
// offers h2 gets it only where HTTP/2 will accept the handshake (h2Guard).
// Where the versions have a hole, the handshake gets the highest listed
// version the client offers (pins); a client offering none gets the
// highest listed alone, which crypto/tls refuses with a protocol_version
// alert, as it does a client below a plain range. A name whose domain is
// left out is refused (errLeftOut).
func (s *serverTLS) forHello(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	i := s.indexFor(hello.ServerName)
	if i == leftOut {
		return nil, errLeftOut
	}
	cfg, g := s.configs[i], s.guards[i]
	if ps := s.pins[i]; ps != nil {
		p := pin(ps, hello.SupportedVersions)
		if p == nil {
			p = &ps[0]
		}
		cfg, g = p.cfg, p.guard
	}
	if g != nil && slices.Contains(hello.SupportedProtos, "h2") {
		return g.pick(cfg, hello), nil
	}
	return cfg, nil
}

func (s *serverTLS) forName(sni string) (*tls.Config, error) {
	i := s.indexFor(sni)
	if i == leftOut {
		return nil, errLeftOut
	}
	return s.configs[i], nil
}

// errLeftOut refuses a handshake for a domain the handler left out (its
// TLS material unusable, or snapshot.Domain.Invalid): the default
// domain's or listener's config would serve its name without the
// client certificate, versions or ciphers it demands.
var errLeftOut = errors.New("this domain is not served: its configuration could not be used")

// leftOut is indexFor's index of a name whose domain is left out.
const leftOut = -1

// indexFor is the index of forName's config, or leftOut.
func (s *serverTLS) indexFor(sni string) int {
	if v := s.handler.match(canonHost(sni)); v != nil {
		if v.out {
			return leftOut
		}
		return v.tlsIdx
	}
	return s.listener
}

// misdirected reports whether a request for v came on a connection whose
// handshake (by its SNI) used another TLS config than v's: another
// certificate, client CA or protocol range. Serving it would let a client
// verified for one domain (or not at all) reach a domain that asks for
// mutual TLS; the answer is 421, after which clients open a connection
// for that host. Domains sharing a config may share connections (HTTP/2
// coalescing). A client that sent no SNI asked for no certificate and
// would get the same handshake on a new connection, so for it only what
// v demands of clients counts (accessKey): it is served by Host where
// the demands are the same (nginx serves it by Host whatever they are).
func (s *serverTLS) misdirected(cs *tls.ConnectionState, v *vhost) bool {
	i := s.indexFor(cs.ServerName)
	if i == leftOut {
		return true
	}
	if cs.ServerName == "" {
		return s.access[i] != s.access[v.tlsIdx]
	}
	return i != v.tlsIdx
}
