package gaap

import (
	"cmp"
	"context"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// maxRulesByIDs is DescribeRulesByRuleIds' documented cap.
const maxRulesByIDs = 10

// defaultCertAlias is the alias Tencent returns for CertificateId
// "default" (the listener's certificate).
const defaultCertAlias = "默认证书"

// DescribeRules lists the domains of a layer-7 listener, each with its
// rules and TLS/authentication settings.
func (s *Service) DescribeRules(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeRulesRequest) (*gaapapi.DescribeRulesResponse, error) {
	resp := &gaapapi.DescribeRulesResponse{DomainRuleSet: []gaapapi.DomainRuleSet{}}
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		l, err := l7ListenerParam(tx, req.ListenerId)
		if err != nil {
			return err
		}
		doms, err := listenerDomains(tx, l.ID)
		if err != nil {
			return err
		}
		rules, err := resource.Children[model.Rule](tx, l.ID)
		if err != nil {
			return err
		}
		infos, err := s.ruleInfos(tx, rules)
		if err != nil {
			return err
		}
		certs, err := certNames(tx, doms)
		if err != nil {
			return err
		}
		for _, d := range doms {
			set := s.domainRuleSetOut(l, d, certs)
			for i, r := range rules {
				if r.Domain == d.Host {
					set.RuleSet = append(set.RuleSet, infos[i])
				}
			}
			resp.DomainRuleSet = append(resp.DomainRuleSet, set)
		}
		resp.TotalCount = new(int64(len(doms)))
		return nil
	})
	return resp, err
}

// DescribeRulesByRuleIds returns up to 10 rules by ID; an unknown ID (or
// another account's) is ResourceNotFound.
func (s *Service) DescribeRulesByRuleIds(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeRulesByRuleIdsRequest) (*gaapapi.DescribeRulesByRuleIdsResponse, error) {
	if len(req.RuleIds) == 0 || len(req.RuleIds) > maxRulesByIDs {
		return nil, cloudapi.Invalid("RuleIds", "must list 1-%d rule IDs, not %d", maxRulesByIDs, len(req.RuleIds))
	}
	resp := &gaapapi.DescribeRulesByRuleIdsResponse{RuleSet: []gaapapi.RuleInfo{}}
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		var rules []*model.Rule
		for _, id := range cloudapi.UniqueInOrder(req.RuleIds) { // A repeated ID answered once, as the other lookups by ID.
			r, err := resource.Get[model.Rule](tx, id)
			if err != nil {
				return err
			}
			rules = append(rules, r)
		}
		infos, err := s.ruleInfos(tx, rules)
		resp.RuleSet = infos
		resp.TotalCount = new(int64(len(infos)))
		return err
	})
	return resp, err
}

// ruleInfos converts rules, resolving their origins' addresses.
func (s *Service) ruleInfos(tx *resource.Tx, rules []*model.Rule) ([]gaapapi.RuleInfo, error) {
	bss := make([][]model.Bound, len(rules))
	for i, r := range rules {
		bss[i] = r.Bindings
	}
	addrs, err := originAddrs(tx, bss...)
	if err != nil {
		return nil, err
	}
	out := make([]gaapapi.RuleInfo, 0, len(rules))
	for _, r := range rules {
		out = append(out, s.ruleInfoOut(r, s.boundWith(addrs, r.ID, r.Bindings)))
	}
	return out, nil
}

// ruleInfoOut converts a rule; BindStatus is 1 (normal) while every bound
// origin is healthy, 0 otherwise.
func (s *Service) ruleInfoOut(r *model.Rule, bound []gaapapi.BindRealServer) gaapapi.RuleInfo {
	c := r.Check
	return gaapapi.RuleInfo{RuleId: &r.ID, ListenerId: &r.ListenerID, Domain: new(r.ShownDomain()), Path: &r.Path,
		RealServerType: &r.RealServerType, Scheduler: &r.Scheduler, HealthCheck: &r.HealthCheck,
		// A rule the data plane left out (its domain dropped: reported under
		// the rule's ID too) or whose listener it cannot serve is not served.
		RuleStatus: new(shown(s, r.Status, model.StatusRunning, model.StatusCreating, r.ID, r.ListenerID)),
		CheckParams: &gaapapi.RuleCheckParams{DelayLoop: &c.DelayLoop, ConnectTimeout: &c.ConnectTimeout, Path: &c.Path,
			Method: &c.Method, StatusCode: c.StatusCode, Domain: &c.Domain, FailedCountInter: &c.FailedCountInter,
			FailedThreshold: &c.FailedThreshold, BlockInter: &c.BlockInter},
		RealServerSet: bound, BindStatus: bindStatus(bound, 1, 0), ForwardHost: &r.ForwardHost,
		ServerNameIndicationSwitch: &r.ServerNameIndicationSwitch, ServerNameIndication: &r.ServerNameIndication,
		ForcedRedirect: &r.ForcedRedirect}
}

// certNames maps the certificate IDs the domains use to their aliases.
func certNames(tx *resource.Tx, doms []*model.Domain) (map[string]string, error) {
	var ids []string
	for _, d := range doms {
		ids = append(ids, domainCertificates(d)...)
	}
	names, err := certificateNames(tx, ids)
	if names == nil {
		names = map[string]string{}
	}
	names[model.CertDefault] = defaultCertAlias
	return names, err
}

// domainRuleSetOut converts a domain of listener l; its TLS versions and
// ciphers are those it is served with, its listener's unless it sets them.
// A domain without certificates of its own (any domain of an HTTP
// listener, client CAs of a one-way HTTPS one) shows the listener's as
// "default" / 默认证书, as the reference's example does: the Terraform
// provider's http_domains data source reads PolyClientCertificateAliasInfo[0]
// unchecked, and panicked on [].
func (s *Service) domainRuleSetOut(l *model.Listener, d *model.Domain, names map[string]string) gaapapi.DomainRuleSet {
	versions, ciphers := d.ServedTLS(l)
	server, clients := cmp.Or(d.CertificateID, model.CertDefault), d.ClientCertificateIDs
	if len(clients) == 0 {
		clients = []string{model.CertDefault}
	}
	set := gaapapi.DomainRuleSet{Domain: new(d.ShownHost()), RuleSet: []gaapapi.RuleInfo{},
		CertificateId: &server, CertificateAlias: alias(names, server),
		BasicAuth: &d.BasicAuth, BasicAuthConfId: optional(d.BasicAuthConfID), BasicAuthConfAlias: alias(names, d.BasicAuthConfID),
		GaapAuth: &d.GaapAuth, GaapCertificateId: optional(d.GaapCertificateID), GaapCertificateAlias: alias(names, d.GaapCertificateID),
		RealServerAuth: &d.RealServerAuth, RealServerCertificateDomain: optional(d.RealServerCertificateDomain),
		PolyClientCertificateAliasInfo:     aliasInfos(names, clients),
		PolyRealServerCertificateAliasInfo: aliasInfos(names, d.RealServerCertificateIDs),
		DomainStatus:                       new(shown(s, d.Status, model.StatusRunning, model.StatusCreating, d.ID, l.ID)), BanStatus: new("RECOVER"), Http3Supported: &d.Http3Supported,
		IsDefaultServer: &d.IsDefaultServer, TLSCiphers: &ciphers, TLSSupportVersion: versions}
	set.ClientCertificateId, set.ClientCertificateAlias = &clients[0], alias(names, clients[0])
	if len(d.RealServerCertificateIDs) > 0 {
		set.RealServerCertificateId = &d.RealServerCertificateIDs[0]
		set.RealServerCertificateAlias = alias(names, d.RealServerCertificateIDs[0])
	}
	if set.TLSSupportVersion == nil {
		set.TLSSupportVersion = []string{}
	}
	return set
}

func aliasInfos(names map[string]string, ids []string) []gaapapi.CertificateAliasInfo {
	out := make([]gaapapi.CertificateAliasInfo, 0, len(ids))
	for _, id := range ids {
		out = append(out, gaapapi.CertificateAliasInfo{CertificateId: new(id), CertificateAlias: alias(names, id)})
	}
	return out
}

// alias is the alias of a certificate ID, nil when the ID is empty.
func alias(names map[string]string, id string) *string {
	if id == "" {
		return nil
	}
	return new(names[id])
}

// boundOut converts bindings given their origins' addresses and health (by
// origin ID, model.OriginIDs); listeners and rules share it. DownIPList is
// what the data plane reports failing of a DOMAIN origin: of an abnormal
// one, the addresses of its failed check; of a normal one, those its
// checks took out (the reference's example shows one so); empty when its
// name does not resolve (as the spec reads an abnormal origin with an
// empty list) and for IP origins.
func boundOut(bs []model.Bound, addrs map[string]string, health func(origin string) (bool, []string)) []gaapapi.BindRealServer {
	out := make([]gaapapi.BindRealServer, 0, len(bs))
	ids := model.OriginIDs(bs) // The data plane's names: health is kept under them.
	for i, b := range bs {
		status := int64(originHealthy)
		healthy, down := health(ids[i])
		if !healthy {
			status = originAbnormal
		}
		downIPs := append([]string{}, down...)
		out = append(out, gaapapi.BindRealServer{RealServerId: new(b.RealServerID), RealServerIP: new(addrs[b.RealServerID]),
			RealServerWeight: new(b.Weight), RealServerStatus: new(status), RealServerPort: new(b.Port),
			DownIPList: downIPs, RealServerFailoverRole: new(b.Role)})
	}
	return out
}
