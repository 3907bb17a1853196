package gaap

import (
	"fmt"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// proxySpec is the configuration a proxy is created with, shared by
// CreateProxy, CheckProxyCreate, InquiryPriceCreateProxy and the proxies
// of CreateProxyGroup.
type proxySpec struct {
	AccessRegion     string
	RealServerRegion string
	Bandwidth        int64 // Mbps
	Concurrent       int64 // units of 10,000 connections
	IPVersion        string
	NetworkType      string
	PackageType      string
	BillingType      int64
}

// newProxySpec normalises the enumerations of a request (defaults
// applied, spelling made canonical).
func newProxySpec(access, dest string, bw, conc int64, ipv, network, pkg *string, billing *int64) (proxySpec, error) {
	sp := proxySpec{AccessRegion: access, RealServerRegion: dest, Bandwidth: bw, Concurrent: conc}
	var err error
	if sp.IPVersion, err = model.ParseIPVersion(ipv); err != nil {
		return sp, err
	}
	if sp.NetworkType, err = model.ParseNetworkType(network); err != nil {
		return sp, err
	}
	if sp.PackageType, err = model.ParsePackageType(pkg); err != nil {
		return sp, err
	}
	sp.BillingType, err = model.ParseBillingType(billing)
	return sp, err
}

// checkSpec validates a spec against the catalogue for action: regions
// exist (UnknownAccessRegion, UnknownDestRegion) and the caps are offered
// by the access region (InvalidBandwidth, InvalidConcurrency), each code
// where action's error list names it.
func (c *Config) checkSpec(action string, sp proxySpec) (access, dest *Region, err error) {
	if access, err = c.accessRegion(action, sp.AccessRegion); err != nil {
		return nil, nil, err
	}
	if dest, err = c.destRegion(action, sp.RealServerRegion); err != nil {
		return nil, nil, err
	}
	if err := c.checkBandwidth(action, access, sp.Bandwidth); err != nil {
		return nil, nil, err
	}
	if err := c.checkConcurrent(action, access, sp.Concurrent); err != nil {
		return nil, nil, err
	}
	return access, dest, nil
}

// conflict explains why the regions do not offer the spec's features
// ("" when they do).
func conflict(sp proxySpec, access, dest *Region) string {
	switch {
	case !access.offers(sp.IPVersion, sp.PackageType, true):
		return fmt.Sprintf("access region %s does not offer %s %s proxies", access.ID, sp.IPVersion, sp.PackageType)
	case !dest.offers(sp.IPVersion, sp.PackageType, false):
		return fmt.Sprintf("origin region %s does not offer %s %s proxies", dest.ID, sp.IPVersion, sp.PackageType)
	case !access.offersNetwork(sp.NetworkType):
		return fmt.Sprintf("access region %s does not offer network type %s (it offers %v)", access.ID, sp.NetworkType, access.NetworkTypes)
	}
	return ""
}

// validateProxySpec is checkSpec plus the feature check, for actions that
// create or price proxies: an unsupported combination is
// InvalidParameterValue.ProxyAndRegionFeatureConflict (CreateProxy),
// InvalidParameterValue.FeatureConflict (CreateProxyGroup) or
// InvalidParameterValue, whichever action's error list names.
func (c *Config) validateProxySpec(action string, sp proxySpec) (access, dest *Region, err error) {
	if access, dest, err = c.checkSpec(action, sp); err != nil {
		return nil, nil, err
	}
	if why := conflict(sp, access, dest); why != "" {
		code := listedCode(action, apierr.InvalidParameterValueProxyAndRegionFeatureConflict,
			apierr.InvalidParameterValueFeatureConflict, apierr.InvalidParameterValue)
		return nil, nil, apierr.New(code, "%s", why)
	}
	return access, dest, nil
}

// specFromAccessConfig is the spec of one AccessRegionSet entry of
// CreateProxyGroup.
func specFromAccessConfig(ac gaapapi.AccessConfiguration, i int, dest, ipv, pkg string) (proxySpec, error) {
	field := func(n string) string { return fmt.Sprintf("AccessRegionSet.%d.%s", i, n) }
	switch {
	case ac.AccessRegion == nil || *ac.AccessRegion == "":
		return proxySpec{}, apierr.New(apierr.MissingParameter, "the required parameter %s is missing", field("AccessRegion"))
	case ac.Bandwidth == nil:
		return proxySpec{}, apierr.New(apierr.MissingParameter, "the required parameter %s is missing", field("Bandwidth"))
	case ac.Concurrent == nil:
		return proxySpec{}, apierr.New(apierr.MissingParameter, "the required parameter %s is missing", field("Concurrent"))
	}
	return newProxySpec(*ac.AccessRegion, dest, *ac.Bandwidth, *ac.Concurrent, &ipv, ac.NetworkType, &pkg, nil)
}

// checkNewProxy validates a proxy about to be created (CreateProxy)
// against the catalogue and, for a group member, against its group; it
// makes the enumerations canonical.
func (s *Service) checkNewProxy(tx *resource.Tx, p *model.Proxy) error {
	sp, err := newProxySpec(p.AccessRegion, p.RealServerRegion, p.Bandwidth, p.Concurrent,
		&p.IPAddressVersion, &p.NetworkType, &p.PackageType, &p.BillingType)
	if err != nil {
		return err
	}
	if _, _, err := s.cfg.validateProxySpec(tx.Action, sp); err != nil {
		return err
	}
	p.IPAddressVersion, p.NetworkType, p.PackageType = sp.IPVersion, sp.NetworkType, sp.PackageType
	p.Http3Supported = http3For(sp.IPVersion)
	if p.GroupID == "" {
		return nil
	}
	return s.checkGroupMember(tx, p.GroupID, sp)
}

// checkGroupMember checks that a proxy of spec can join group id: same
// origin region, IP version and package, room left, group not going away.
func (s *Service) checkGroupMember(tx *resource.Tx, id string, sp proxySpec) error {
	g, err := resource.Get[model.ProxyGroup](tx, id)
	if err != nil {
		return err
	}
	children, err := resource.Children[model.Proxy](tx, g.ID)
	members := model.Members(children) // a member being destroyed counts for nothing
	conflict := listedCode(tx.Action, apierr.InvalidParameterValueProxyAndGroupFeatureConflict, apierr.InvalidParameterValue)
	switch {
	case err != nil:
		return err
	case g.Status == model.GroupDestroying:
		return apierr.New(notRunningCode(tx.Action, apierr.FailedOperationGroupStatusNotInRuning), "group %s is being destroyed", g.ID)
	case model.Closed(members):
		// A closed group carries no traffic (CloseProxyGroup); a member
		// joining would serve its listeners, and reopen it unasked.
		return apierr.New(notRunningCode(tx.Action, apierr.FailedOperationGroupStatusNotInRuning),
			"group %s is closed; open it (OpenProxyGroup) before adding a proxy", g.ID)
	case g.RealServerRegion != sp.RealServerRegion:
		return apierr.New(conflict, "group %s forwards to %s, not %s", g.ID, g.RealServerRegion, sp.RealServerRegion)
	case g.IPAddressVersion != sp.IPVersion || g.PackageType != sp.PackageType:
		return apierr.New(conflict, "group %s holds %s %s proxies, not %s %s", g.ID, g.IPAddressVersion, g.PackageType, sp.IPVersion, sp.PackageType)
	case len(members) >= s.cfg.MaxProxiesPerGroup:
		return apierr.New(listedCode(tx.Action, apierr.FailedOperationLimitNumofProxiesInGroup, apierr.FailedOperation),
			"group %s already holds %d proxies", g.ID, len(members))
	}
	// One proxy per access region, as CreateProxyGroup requires (groupSpecs,
	// same code): the group's nearest-access configuration
	// (ModifyGroupDomainConfig) is keyed by access region.
	if i := slices.IndexFunc(members, func(m *model.Proxy) bool { return m.AccessRegion == sp.AccessRegion }); i >= 0 {
		return cloudapi.Invalid("AccessRegion", "the proxy group %s already has the proxy %s in %s; a group has one proxy per access region",
			g.ID, members[i].ID, sp.AccessRegion)
	}
	return nil
}
