package model

import "slices"

// Proxy group statuses: ProxyGroupDetail.Status is an integer code,
// ProxyGroupInfo.Status a string (docs/api-decisions.md).
const (
	GroupRunning    = 0
	GroupCreating   = 1
	GroupDestroying = 4
	GroupClosed     = 5 // not in the reference's integer list; see docs
	GroupMoving     = 11
	GroupChanging   = 12 // partially deployed: some proxy is changing
)

// groupStateNames are the ProxyGroupInfo.Status strings of the codes.
var groupStateNames = map[int64]string{
	GroupRunning: "RUNNING", GroupCreating: "CREATING", GroupDestroying: "DESTROYING",
	GroupClosed: "CLOSED", GroupMoving: "MOVING", GroupChanging: "CHANGING",
}

// KindGroup is the stored kind of ProxyGroup.
const KindGroup = "group"

// ProxyGroup is a set of proxies in several access regions sharing one
// origin region, listeners and a nearest-access domain.
type ProxyGroup struct {
	Base
	Name             string `json:"name"`
	ProjectID        int64  `json:"projectId"`
	RealServerRegion string `json:"realServerRegion"`
	Status           int64  `json:"status"`
	Domain           string `json:"domain"`
	DnsDefaultIP     string `json:"dnsDefaultIp,omitempty"`
	// DnsDefaultIPAsGiven is DnsDefaultIP, normalised by
	// ParseGlobalTarget (DNS answers use it), as the caller spelled it
	// (AsGiven).
	DnsDefaultIPAsGiven string            `json:"dnsDefaultIpAsGiven,omitempty"`
	PolicyID            string            `json:"policyId,omitempty"`
	IPAddressVersion    string            `json:"ipAddressVersion"`
	PackageType         string            `json:"packageType"`
	Http3Supported      int64             `json:"http3Supported"`
	Tags                []Tag             `json:"tags,omitempty"`
	DomainConfig        []GroupDomainConf `json:"domainConfig,omitempty"`
}

// GroupDomainConf maps access regions to a nearest-access region
// (deprecated ModifyGroupDomainConfig).
type GroupDomainConf struct {
	NationCountryInnerCodes []string `json:"nations"`
	AccessRegion            string   `json:"accessRegion"`
}

func (g *ProxyGroup) Kind() string   { return KindGroup }
func (g *ProxyGroup) Parent() string { return "" }
func (g *ProxyGroup) Project() int64 { return g.ProjectID }

// ShownDnsDefaultIP is the DefaultDnsIp Describe answers (AsGiven).
func (g *ProxyGroup) ShownDnsDefaultIP() string {
	return AsGiven(g.DnsDefaultIPAsGiven, g.DnsDefaultIP)
}

// State is the group's status as the API reports it, as a code
// (ProxyGroupDetail.Status) and a name (ProxyGroupInfo.Status). Only
// creation and destruction are stored on the group; the rest follows from
// its proxies: any of them changing makes the group CHANGING, all of them
// closed makes it CLOSED.
func (g *ProxyGroup) State(proxies []*Proxy) (int64, string) {
	code := g.Status
	if code == GroupRunning {
		code = stateOfProxies(proxies)
	}
	return code, groupStateNames[code]
}

// Closed reports whether a group's members are all closed or being
// closed: CloseProxyGroup's state, also before its members have settled
// (State reads CHANGING then). A member joining such a group would serve
// its listeners and reopen it unasked.
func Closed(members []*Proxy) bool {
	return len(members) > 0 && !slices.ContainsFunc(members, func(m *Proxy) bool {
		return m.Status != ProxyClosed && m.Status != ProxyClosing
	})
}

func stateOfProxies(proxies []*Proxy) int64 {
	closed := 0
	for _, p := range proxies {
		if p.Transitional() {
			return GroupChanging
		}
		if p.Status == ProxyClosed {
			closed++
		}
	}
	if closed > 0 && closed == len(proxies) {
		return GroupClosed
	}
	return GroupRunning
}

// Members are the group's members among proxies, its child proxies: all
// but those being destroyed. A member being destroyed has left the group
// for its users (DestroyProxies returned) and serves nothing, though it
// stays a child until the controller removes it. One rule for listings
// and limits alike (docs/api-proxies.md): the group describes
// (ProxyNum, DescribeGroupAndStatisticsProxy, DescribeGroupDomainConfig),
// the regions ModifyGroupDomainConfig may configure, and the proxies a
// joining one is counted against (MaxProxiesPerGroup, one per access
// region) all leave it out, so a replacement can join at once. The
// group's status (State) still reads CHANGING until it is gone.
func Members(proxies []*Proxy) []*Proxy {
	out := make([]*Proxy, 0, len(proxies))
	for _, p := range proxies {
		if p.Status != ProxyDestroying {
			out = append(out, p)
		}
	}
	return out
}

// Settle finishes the group's pending transition.
func (g *ProxyGroup) Settle() (changed, remove bool) {
	switch g.Status {
	case GroupCreating:
		g.Status = GroupRunning
		return true, false
	case GroupDestroying:
		return true, true
	}
	return false, false
}
