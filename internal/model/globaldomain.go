package model

import "slices"

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
	// LastRecordID is the highest DnsRecordId issued for the domain; IDs
	// are unique within the account (DeleteGlobalDomainDns names a record
	// by its ID alone).
	LastRecordID int64 `json:"lastRecordId"`
	UpdateTime   int64 `json:"updateTime"` // Unix seconds
}

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
