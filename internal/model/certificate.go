package model

import "slices"

// Certificate types (CertificateType).
const (
	CertBasicAuth   = 0 // user list for HTTP basic authentication
	CertClientCA    = 1 // CA that signs client certificates (mutual TLS)
	CertServer      = 2 // server certificate and key presented to clients
	CertOriginCA    = 3 // CA that signs origin certificates
	CertProxyClient = 4 // certificate and key the proxy presents to origins
)

// CertDefault is the certificate ID by which a domain names its listener's
// certificate (server or client CAs).
const CertDefault = "default"

// KindCertificate is the stored kind of Certificate.
const KindCertificate = "certificate"

// Certificate is TLS material or a basic-auth user list. The private key
// is stored encrypted (package seal); KeySealed is opaque here.
type Certificate struct {
	Base
	Name       string `json:"name"`
	Type       int64  `json:"type"`
	Content    string `json:"content"`
	KeySealed  string `json:"keySealed,omitempty"`
	BeginTime  int64  `json:"beginTime,omitempty"`
	EndTime    int64  `json:"endTime,omitempty"`
	IssuerCN   string `json:"issuerCN,omitempty"`
	SubjectCN  string `json:"subjectCN,omitempty"`
	ProjectID  int64  `json:"projectId"`
	UpdateTime int64  `json:"updateTime"`
}

func (c *Certificate) Kind() string   { return KindCertificate }
func (c *Certificate) Parent() string { return "" }
func (c *Certificate) Project() int64 { return c.ProjectID }

// Sealed counts the certificate's sealed values: its private key, if any.
func (c *Certificate) Sealed() int {
	if c.KeySealed == "" {
		return 0
	}
	return 1
}

// CertificateNameMax is the longest CertificateAlias
// (ModifyCertificateAttributes: at most 50 characters).
const CertificateNameMax = 50

// HasKey reports whether certificates of type t carry a private key.
func HasKey(t int64) bool { return t == CertServer || t == CertProxyClient }

// IsTLS reports whether certificates of type t hold PEM certificates
// (every type but the basic-auth user list).
func IsTLS(t int64) bool { return t >= CertClientCA && t <= CertProxyClient }

// Certificate bounds the reference does not give. The store holds each
// certificate whole and the controller copies it into the snapshot of
// every listener and domain naming it, on the node every tenant shares.
const (
	// MaxCertificateContent is the longest CertificateContent and
	// CertificateKey, in bytes once URL-decoded: over twice the Mozilla CA
	// bundle (about 220 KB), or some 8000 bcrypt basic-auth users.
	MaxCertificateContent = 512 << 10
	// MaxChainDER is the largest chain a server (type 2) or proxy (type
	// 4) certificate may hold, in DER bytes: what a handshake sends of it
	// and every client accepts (QUIC ones take a 64 KiB Certificate
	// message; real chains are under 10 KB). The bound above is a CA
	// bundle's, which no handshake sends.
	MaxChainDER = 60 << 10
	// MaxCertificates is how many certificates an account may hold: five
	// per domain of a full listener (MaxDomainsPerListener), while bounding
	// what one account can store to MaxCertificates × MaxCertificateContent.
	MaxCertificates = 500
)

// MaxPolyCertificates is how many CA certificates one
// PolyClientCertificateIds or PolyRealServerCertificateIds may list. The
// reference gives no number; the edge parses each listed CA for the
// listener or domain, on the node every tenant shares, and ten is more
// than a client or origin PKI rotating its CAs needs.
const MaxPolyCertificates = 10

// CheckCertificateIDs checks a PolyClientCertificateIds or
// PolyRealServerCertificateIds list: at most MaxPolyCertificates, each ID
// once. A repeat is refused rather than collapsed: it asks for nothing more,
// but the controller copies the CA's content once per entry, and refusing
// keeps what Describe answers equal to what was sent.
func CheckCertificateIDs(param string, ids []string) error {
	if len(ids) > MaxPolyCertificates {
		return invalid(param, "%d certificates given; at most %d may be listed", len(ids), MaxPolyCertificates)
	}
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			return invalid(param, "certificate %s is listed twice", id)
		}
	}
	return nil
}
