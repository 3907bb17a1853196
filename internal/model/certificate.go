package model

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
// is stored encrypted (see package gaap's sealing); KeySealed is opaque here.
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

// CertificateNameMax is the longest CertificateAlias
// (ModifyCertificateAttributes: at most 50 characters).
const CertificateNameMax = 50

// HasKey reports whether certificates of type t carry a private key.
func HasKey(t int64) bool { return t == CertServer || t == CertProxyClient }

// IsTLS reports whether certificates of type t hold PEM certificates
// (every type but the basic-auth user list).
func IsTLS(t int64) bool { return t >= CertClientCA && t <= CertProxyClient }
