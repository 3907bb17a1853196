package model

import (
	"slices"
	"strings"
)

// Global domain statuses (Domain.Status) and DNS record statuses.
const (
	GlobalEnabled   = 0
	GlobalDisabled  = 1
	GlobalDisabling = 2
	GlobalEnabling  = 3

	DnsRunning   = 1
	DnsCreating  = 2
	DnsModifying = 3
	DnsDeleting  = 4
)

// KindGlobalDomain is the stored kind of GlobalDomain.
const KindGlobalDomain = "globaldomain"

// GlobalDomain is a unified domain resolved to proxies per country.
type GlobalDomain struct {
	Base
	Domain       string      `json:"domain"`
	FullDomain   string      `json:"fullDomain"`
	Alias        string      `json:"alias"`
	ProjectID    int64       `json:"projectId"`
	DefaultValue string      `json:"defaultValue"`
	Status       int64       `json:"status"`
	Tags         []Tag       `json:"tags,omitempty"`
	Records      []DnsRecord `json:"records,omitempty"`
	// LastRecordID is the highest DnsRecordId issued for the domain. IDs
	// come from the account's DnsRecordSeq; stores written before it
	// existed start the sequence from the highest LastRecordID.
	LastRecordID int64 `json:"lastRecordId"`
	UpdateTime   int64 `json:"updateTime"` // Unix seconds

	// DefaultValueAsGiven is DefaultValue, normalised by
	// ParseGlobalTarget (DNS answers use it), as the caller spelled it
	// (AsGiven).
	DefaultValueAsGiven string `json:"defaultValueAsGiven,omitempty"`
}

// KindDnsRecordSeq is the stored kind of DnsRecordSeq.
const KindDnsRecordSeq = "dnsrecordseq"

// DnsRecordSeq is the last DnsRecordId issued in an account; its ID is the
// account's. It outlives the account's global domains, so no ID is issued
// twice for the life of the store: DeleteGlobalDomainDns names a record by
// its ID alone, and a client holding the ID of a deleted domain's record
// must not reach another domain's. The controller compiles nothing from
// it, so it is not among Kinds.
type DnsRecordSeq struct {
	Base
	Last int64 `json:"last"`
}

func (q *DnsRecordSeq) Kind() string   { return KindDnsRecordSeq }
func (q *DnsRecordSeq) Parent() string { return "" }
func (q *DnsRecordSeq) Project() int64 { return 0 }

// DnsRecord resolves the domain, for clients in NationCountryInnerCodes,
// to the access addresses of ProxyIDs.
type DnsRecord struct {
	ID                      int64    `json:"id"`
	NationCountryInnerCodes []string `json:"nations"`
	ProxyIDs                []string `json:"proxyIds"`
	Status                  int64    `json:"status"`
}

func (g *GlobalDomain) Kind() string   { return KindGlobalDomain }
func (g *GlobalDomain) Parent() string { return "" }
func (g *GlobalDomain) Project() int64 { return g.ProjectID }

// ShownDefaultValue is the DefaultValue Describe answers (AsGiven).
func (g *GlobalDomain) ShownDefaultValue() string {
	return AsGiven(g.DefaultValueAsGiven, g.DefaultValue)
}

// ProxyIDs lists the proxies the domain's records resolve to, each once.
// Records keep the IDs of proxies destroyed since they were written:
// callers leave out those that no longer exist.
func (g *GlobalDomain) ProxyIDs() []string {
	var out []string
	for _, r := range g.Records {
		for _, id := range r.ProxyIDs {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// DefaultEntries maps the names of an account's domains to their default
// entries: each global domain's FullDomain to its DefaultValue and each
// proxy group's Domain to its DnsDefaultIP, names as dnsName keeps them.
// A name there answers its default entry, a CNAME when that is a name,
// so a chain of defaults may pass through both kinds.
type DefaultEntries map[string]string

// NewDefaultEntries collects the default entries of domains and of the
// groups that have a domain. Disabled domains count: enabling one would
// close a loop through it.
func NewDefaultEntries(domains []*GlobalDomain, groups []*ProxyGroup) DefaultEntries {
	e := DefaultEntries{}
	for _, d := range domains {
		e[dnsName(d.FullDomain)] = d.DefaultValue
	}
	for _, g := range groups {
		if g.Domain != "" {
			e[dnsName(g.Domain)] = g.DnsDefaultIP
		}
	}
	return e
}

// CheckLoop refuses v (parsed by ParseGlobalTarget), given as param, as
// the default entry of the domain named self when it leads back to self:
// it is self, or a name whose default entries lead to self. As a name v
// is a CNAME, and such a loop resolves for no client. self's own entry in
// e is never followed: v replaces it.
func (e DefaultEntries) CheckLoop(param, self, v string) error {
	self = dnsName(self)
	seen := map[string]bool{}
	for name := dnsName(v); !seen[name]; {
		if name == self {
			return invalid(param, "%s leads back to %s, its own name: a CNAME loop that resolves for no client", v, self)
		}
		next, ok := e[name]
		if !ok {
			return nil
		}
		seen[name] = true // a loop that does not pass self ends the walk
		name = dnsName(next)
	}
	return nil
}

// dnsName is a domain name as DNS compares it: case-insensitive, the
// trailing dot optional.
func dnsName(s string) string { return strings.TrimSuffix(strings.ToLower(s), ".") }

// Settle finishes enabling, disabling and record changes.
func (g *GlobalDomain) Settle() (changed, remove bool) {
	switch g.Status {
	case GlobalDisabling:
		g.Status, changed = GlobalDisabled, true
	case GlobalEnabling:
		g.Status, changed = GlobalEnabled, true
	}
	kept := g.Records[:0]
	for _, r := range g.Records {
		switch r.Status {
		case DnsCreating, DnsModifying:
			r.Status, changed = DnsRunning, true
		case DnsDeleting:
			changed = true
			continue
		}
		kept = append(kept, r)
	}
	g.Records = kept
	return changed, false
}
