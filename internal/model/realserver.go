package model

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// KindRealServer is the stored kind of RealServer.
const KindRealServer = "realserver"

// Origin bounds the reference does not give. Every origin listing
// (DescribeRealServers, DescribeListenerRealServers, DescribeRuleRealServers)
// reads all of the account's origins of the project before paging.
const (
	// MaxOriginsPerCall is how many addresses one AddRealServers may
	// register: as many as one listener or rule can bind (MaxBindings).
	MaxOriginsPerCall = MaxBindings
	// MaxOrigins is how many origins an account may hold: half what one
	// proxy full of distinct origins would bind (TeoMaxProxyOrigins), and a
	// listing of all of them a few megabytes.
	MaxOrigins = 10000
)

// RealServer is an origin: an IP address or a domain name in a project.
type RealServer struct {
	Base
	Name      string `json:"name"`
	Address   string `json:"address"` // IP or domain name
	IsDomain  bool   `json:"isDomain"`
	ProjectID int64  `json:"projectId"`
	Tags      []Tag  `json:"tags,omitempty"`

	// AddressAsGiven is Address, normalised by ParseOrigin, as the
	// caller spelled it (AsGiven).
	AddressAsGiven string `json:"addressAsGiven,omitempty"`
}

func (r *RealServer) Kind() string   { return KindRealServer }
func (r *RealServer) Parent() string { return "" }
func (r *RealServer) Project() int64 { return r.ProjectID }

// ShownAddress is the RealServerIP Describe answers (AsGiven).
func (r *RealServer) ShownAddress() string { return AsGiven(r.AddressAsGiven, r.Address) }

// Type is the API's RealServerType for the origin.
func (r *RealServer) Type() string {
	if r.IsDomain {
		return "DOMAIN"
	}
	return "IP"
}

// HasAddress reports whether addr, as a bind set spells it, is the
// origin's address. Address was normalised by ParseOrigin, so addr is
// too: any spelling of the same address ("Origin.Example.com",
// "origin.example.com.", an uncompressed IPv6 address) names the origin.
func (r *RealServer) HasAddress(addr string) bool {
	norm, _, err := ParseOrigin("RealServerIP", addr, true)
	return err == nil && norm == r.Address
}

// AddressContains reports whether text, as a search writes it, is part of
// the origin's address. The stored address is lower-case (ParseOrigin), so
// the case of text does not matter, nor surrounding spaces.
func (r *RealServer) AddressContains(text string) bool {
	return strings.Contains(r.Address, strings.ToLower(strings.TrimSpace(text)))
}

// servesProject reports whether the origin may be bound to a listener or
// rule of a proxy or group in project: origins belong to a project, and
// are bound only to proxies and groups of that project.
func (r *RealServer) servesProject(project int64) bool { return r.ProjectID == project }

// CheckProject refuses binding the origin to a listener or rule whose
// proxy or group is in another project: origins are offered for binding
// by project (Describe*RealServers), and binding enforces the same.
func (r *RealServer) CheckProject(param string, project int64) error {
	if !r.servesProject(project) {
		return apierr.New(apierr.InvalidParameterValueRealServerNotBelong, "%s: origin %s is in project %d, the proxy or group in project %d", param, r.ID, r.ProjectID, project)
	}
	return nil
}

// CheckProjectMove refuses (FailedOperation, which ModifyProxiesProject
// and ModifyProxyGroupAttribute both list) moving owner, a proxy or group,
// to project while bound, the origins bound to its listeners and rules,
// holds one of another project. The move would leave bindings that
// CheckProject refuses, so the listener or rule could never be sent the
// same bind set again (to change a weight, say); unbinding them on the
// move would cut the traffic they serve. The caller unbinds them first.
func CheckProjectMove(owner string, project int64, bound map[string]*RealServer) error {
	for _, id := range slices.Sorted(maps.Keys(bound)) {
		if r := bound[id]; !r.servesProject(project) {
			return apierr.New(apierr.FailedOperation, "ProjectId: origin %s of project %d is bound to a listener or rule of %s; "+
				"only origins of project %d may be bound there, so unbind it before the move", r.ID, r.ProjectID, owner, project)
		}
	}
	return nil
}

// CheckNewOrigins refuses fresh, origins to register in a project, when
// one's address is already registered there (existing, the project's
// origins) or given twice: InvalidParameterValue.DuplicateRS. It indexes
// the addresses once, so one AddRealServers of thousands of addresses in
// a project of thousands, run in a write transaction, stays linear.
func CheckNewOrigins(existing, fresh []*RealServer) error {
	byAddr := make(map[string]*RealServer, len(existing)+len(fresh))
	for _, r := range existing {
		byAddr[r.Address] = r
	}
	for _, r := range fresh {
		if dup := byAddr[r.Address]; dup != nil {
			return apierr.New(apierr.InvalidParameterValueDuplicateRS, "RealServerIP: %s is already registered in project %d (%s)", r.Address, r.ProjectID, dup.ID)
		}
		byAddr[r.Address] = r
	}
	return nil
}

// ParseOrigin validates an origin address given to AddRealServers and
// returns it normalised (IPv6 compressed, domain lower-cased) with whether
// it is a domain name. Unspecified, multicast and broadcast addresses are
// no one server and are always refused. Loopback, private and link-local
// addresses, and the name localhost, reach only the proxy host itself or
// its network; they are refused unless allowPrivate (operator setting).
// Other names are taken: what they resolve to is known only when the edge
// resolves them, and it drops such addresses then (snapshot.PublicAddr).
func ParseOrigin(param, addr string, allowPrivate bool) (norm string, isDomain bool, err error) {
	addr = strings.TrimSpace(addr)
	if ip, perr := netip.ParseAddr(addr); perr == nil {
		if ip.Zone() != "" {
			return "", false, invalid(param, "%q: an IPv6 zone is not allowed", addr)
		}
		ip = ip.Unmap()
		if snapshot.NotOneHost(ip) {
			return "", false, invalid(param, "%s is an unspecified, multicast or broadcast address, not the address of one origin server", ip)
		}
		if !allowPrivate && !snapshot.PublicAddr(ip) {
			return "", false, invalid(param, "%s is a loopback, private or otherwise non-public address; origins must be reachable on the internet", ip)
		}
		return ip.String(), false, nil
	}
	name := strings.ToLower(strings.TrimSuffix(addr, "."))
	if !validDomain(name) {
		return "", false, invalid(param, "%q is neither an IPv4/IPv6 address nor a domain name", addr)
	}
	if !allowPrivate && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return "", false, invalid(param, "%s names the proxy host itself; origins must be reachable on the internet", name)
	}
	return name, true, nil
}

// validDomain checks an origin's (lowercased) domain name. A single label
// is accepted: origins may be resolved by a search domain.
func validDomain(name string) bool { return hostName(name, 1, true) }
