// Package model is the GAAP domain: resources, their status machines, ID
// formats, quotas and the validation rules of the API reference. It knows
// nothing about storage or the wire; rule violations are apierr errors so
// the service can return them unchanged.
package model

import (
	"crypto/rand"
	"strings"
)

// Base is embedded in every stored resource.
type Base struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	// Gen counts writes of the resource. The controller settles a status
	// only if Gen is what it compiled, so a newer change is never marked
	// applied by an older snapshot.
	Gen        int64 `json:"gen"`
	CreateTime int64 `json:"createTime"` // Unix seconds
}

// AsGiven is what Describe shows of a value kept in two forms: given,
// the caller's spelling ("Www.Example.COM", "2001:DB8::1"), or canon, the
// normalised form that every comparison, uniqueness check and the data
// plane use. Declarative clients (Terraform) compare what they sent with
// what Describe answers, so a rewritten echo is a change they did not
// make. Objects stored before the spelling was kept have only canon
// (given is empty) and read as stored.
func AsGiven(given, canon string) string {
	if given != "" {
		return given
	}
	return canon
}

// Meta returns the embedded Base.
func (b *Base) Meta() *Base { return b }

// Object is implemented by every stored resource.
type Object interface {
	Meta() *Base
	Kind() string
	// Parent is the ID of the owning resource, "" when none.
	Parent() string
	// Project is the project ID used for filtering, 0 when none.
	Project() int64
}

// Settler is implemented by resources with asynchronous statuses. Settle
// moves an in-progress status to its final one once the data plane applied
// the change; it reports whether anything changed and whether the resource
// is gone for good (its deletion finished).
type Settler interface {
	Object
	Settle() (changed, remove bool)
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// NewID returns prefix + "-" + 8 random lower-case letters and digits, the
// shape of Tencent's resource IDs (link-xxxxxxxx, listener-xxxxxxxx, ...).
func NewID(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + "-" + string(b[:])
}

// WellFormedID reports whether id has the whole shape NewID gives prefix's
// kind: the prefix, "-" and 8 lower-case letters or digits. A prefix alone
// is not enough: "vpc-" or "vpc-1" can name no VPC, and the services that
// refuse a malformed ID must refuse these too, in every action alike.
func WellFormedID(prefix, id string) bool {
	suffix, ok := strings.CutPrefix(id, prefix+"-")
	return ok && len(suffix) == 8 && strings.Trim(suffix, idAlphabet) == ""
}

// ID prefixes per kind.
const (
	PrefixProxy          = "link"
	PrefixGroup          = "lg"
	PrefixListener       = "listener"
	PrefixRule           = "rule"
	PrefixRealServer     = "rs"
	PrefixCertificate    = "cert"
	PrefixPolicy         = "sp"
	PrefixSecurityRule   = "sr"
	PrefixGlobalDomain   = "dm"
	PrefixErrorPage      = "errorPage"
	PrefixDomainInternal = "domain"
)

// KindInfo names a stored kind and makes empty objects of it for decoding.
type KindInfo struct {
	Name string
	New  func() Object
}

// Kinds lists every stored kind of this package. Files add theirs with
// registerKind, so a new resource type touches only its own file.
var Kinds []KindInfo

func registerKind(name string, newObject func() Object) {
	Kinds = append(Kinds, KindInfo{name, newObject})
}

func init() {
	registerKind(KindGroup, func() Object { return new(ProxyGroup) })
	registerKind(KindProxy, func() Object { return new(Proxy) })
	registerKind(KindPolicy, func() Object { return new(SecurityPolicy) })
	registerKind(KindListener, func() Object { return new(Listener) })
	registerKind(KindDomain, func() Object { return new(Domain) })
	registerKind(KindRule, func() Object { return new(Rule) })
	registerKind(KindErrorPage, func() Object { return new(ErrorPage) })
	registerKind(KindRealServer, func() Object { return new(RealServer) })
	registerKind(KindCertificate, func() Object { return new(Certificate) })
	registerKind(KindGlobalDomain, func() Object { return new(GlobalDomain) })
	registerKind(KindTask, func() Object { return new(Task) })
}

// NewObject returns a new, empty object of the named kind.
func NewObject(kind string) Object {
	for _, k := range Kinds {
		if k.Name == kind {
			return k.New()
		}
	}
	panic("model: unknown kind " + kind)
}

// KindNames returns the names of Kinds.
func KindNames() []string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = k.Name
	}
	return names
}
