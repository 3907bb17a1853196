package model

import "slices"

// KindDomain and KindRule are the stored kinds of Domain and Rule.
const (
	KindDomain = "domain"
	KindRule   = "rule"
)

// Domain statuses (DomainRuleSet.DomainStatus).
const (
	DomainRunning  = 0
	DomainChanging = 1
	DomainDeleting = 2
)

// Domain is an access domain on an HTTP or HTTPS listener, with its TLS and
// authentication settings. Its ID is internal; the API names it by host.
type Domain struct {
	Base
	ListenerID string `json:"listenerId"`
	Host       string `json:"host"` // lower-cased (lookups, uniqueness, routing)
	Status     int64  `json:"status"`

	CertificateID               string   `json:"certificateId,omitempty"`
	ClientCertificateIDs        []string `json:"clientCertificateIds,omitempty"`
	BasicAuth                   int64    `json:"basicAuth"`
	BasicAuthConfID             string   `json:"basicAuthConfId,omitempty"`
	GaapAuth                    int64    `json:"gaapAuth"`
	GaapCertificateID           string   `json:"gaapCertificateId,omitempty"`
	RealServerAuth              int64    `json:"realServerAuth"`
	RealServerCertificateIDs    []string `json:"realServerCertificateIds,omitempty"`
	RealServerCertificateDomain string   `json:"realServerCertificateDomain,omitempty"`
	IsDefaultServer             bool     `json:"isDefaultServer"`
	Http3Supported              int64    `json:"http3Supported"`
	TLSCiphers                  string   `json:"tlsCiphers,omitempty"`
	TLSSupportVersion           []string `json:"tlsSupportVersion,omitempty"`

	// HostAsGiven is Host as the caller spelled it (AsGiven).
	HostAsGiven string `json:"hostAsGiven,omitempty"`
}

func (d *Domain) Kind() string   { return KindDomain }
func (d *Domain) Parent() string { return d.ListenerID }
func (d *Domain) Project() int64 { return 0 }

// ShownHost is the host Describe answers (AsGiven).
func (d *Domain) ShownHost() string { return AsGiven(d.HostAsGiven, d.Host) }

// ClientCAs returns the IDs of the client CA certificates the domain
// trusts on its listener l, or nil when it trusts just the listener's (or,
// with one-way authentication, none). CertDefault in the list stands for
// the listener's CAs: listed with other CAs it keeps them, and the others
// add to them, since a user who writes both wants both.
func (d *Domain) ClientCAs(l *Listener) []string {
	if l.AuthType != 1 || !slices.ContainsFunc(d.ClientCertificateIDs, func(id string) bool { return id != CertDefault }) {
		return nil
	}
	var ids []string
	for _, id := range d.ClientCertificateIDs {
		add := []string{id}
		if id == CertDefault {
			add = l.ClientCertificateIDs
		}
		for _, a := range add {
			if !slices.Contains(ids, a) {
				ids = append(ids, a)
			}
		}
	}
	return ids
}

// ServedTLS returns the TLS versions and cipher suite policy the domain is
// served with on its listener l: each its own where SetAuthentication set
// it, its listener's otherwise (on an HTTP listener, which has none, ""
// and nil unless set).
func (d *Domain) ServedTLS(l *Listener) (versions []string, ciphers string) {
	versions, ciphers = d.TLSSupportVersion, d.TLSCiphers
	if len(versions) == 0 {
		versions = l.TLSSupportVersion
	}
	if ciphers == "" {
		ciphers = l.TLSCiphers
	}
	return versions, ciphers
}

// Settle finishes the domain's pending transition.
func (d *Domain) Settle() (changed, remove bool) {
	switch d.Status {
	case DomainChanging:
		d.Status = DomainRunning
		return true, false
	case DomainDeleting:
		return true, true
	}
	return false, false
}

// Rule is a layer-7 forwarding rule: a path on a domain of a listener,
// with its own origins, scheduler and health check.
type Rule struct {
	Base
	ListenerID                 string        `json:"listenerId"`
	Domain                     string        `json:"domain"`
	Path                       string        `json:"path"`
	RealServerType             string        `json:"realServerType"`
	Scheduler                  string        `json:"scheduler"`
	HealthCheck                int64         `json:"healthCheck"`
	Status                     int64         `json:"status"`
	Check                      CheckParams   `json:"check"`
	Bindings                   []Bound       `json:"bindings,omitempty"`
	ForwardProtocol            string        `json:"forwardProtocol,omitempty"`
	ForwardHost                string        `json:"forwardHost,omitempty"`
	ServerNameIndicationSwitch string        `json:"sniSwitch,omitempty"`
	ServerNameIndication       string        `json:"sni,omitempty"`
	ForcedRedirect             string        `json:"forcedRedirect,omitempty"`
	Headers                    []HeaderParam `json:"headers,omitempty"`

	// DomainAsGiven is Domain (its domain's Host) as the caller spelled
	// it (AsGiven).
	DomainAsGiven string `json:"domainAsGiven,omitempty"`
}

// CheckParams is a rule's HTTP health check (RuleCheckParams).
type CheckParams struct {
	DelayLoop          int64    `json:"delayLoop"`
	ConnectTimeout     int64    `json:"connectTimeout"`
	Path               string   `json:"path"`
	Method             string   `json:"method"`
	StatusCode         []int64  `json:"statusCode"`
	Domain             string   `json:"domain"`
	FailedCountInter   int64    `json:"failedCountInter,omitempty"`
	FailedThreshold    int64    `json:"failedThreshold,omitempty"`
	BlockInter         int64    `json:"blockInter,omitempty"`
	HealthyThreshold   int64    `json:"healthyThreshold,omitempty"`
	UnhealthyThreshold int64    `json:"unhealthyThreshold,omitempty"`
	Extra              []string `json:"extra,omitempty"`
}

// HeaderParam is a custom header sent to origins.
type HeaderParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (r *Rule) Kind() string   { return KindRule }
func (r *Rule) Parent() string { return r.ListenerID }
func (r *Rule) Project() int64 { return 0 }

// ShownDomain is the domain Describe answers (AsGiven).
func (r *Rule) ShownDomain() string { return AsGiven(r.DomainAsGiven, r.Domain) }

// Settle finishes the rule's pending transition.
func (r *Rule) Settle() (changed, remove bool) { return settleCode(&r.Status) }
