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

// CheckDefault refuses a DefaultValue v (parsed by ParseGlobalTarget)
// that leads back to g: its own FullDomain, or the FullDomain of one of
// domains (the account's, g among them or not) whose default entries lead
// back to it. As a name v is a CNAME, and such a loop resolves for no
// client. Disabled domains count: enabling one would close the loop.
func (g *GlobalDomain) CheckDefault(param, v string, domains []*GlobalDomain) error {
	byName := map[string]*GlobalDomain{}
	for _, d := range domains {
		if d.ID != g.ID {
			byName[dnsName(d.FullDomain)] = d
		}
	}
	self := dnsName(g.FullDomain)
	for name := dnsName(v); ; {
		if name == self {
			return invalid(param, "%s leads back to %s, its own name: a CNAME loop that resolves for no client", v, g.FullDomain)
		}
		d, ok := byName[name]
		if !ok {
			return nil
		}
		delete(byName, name) // followed once: a loop that does not pass g ends the walk
		name = dnsName(d.DefaultValue)
	}
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
