package gaap

import (
	"slices"

	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// Origin health as the listener structures encode it (the polarity differs
// per structure); the data plane's health checks supply it (Service.Health).
const (
	tcpBindNormal     = 1 // TCPListener.BindStatus: 0 abnormal, 1 normal
	udpBindNormal     = 0 // UDPListener.BindStatus: 0 normal, 1 IP, 2 DNS abnormal
	udpBindIPAbnormal = 1
	udpBindDNSFailed  = 2
	originHealthy     = 0 // BindRealServer.RealServerStatus: 0 normal, 1 abnormal
	originAbnormal    = 1
	notInBanBlacklist = 0 // RealServer.InBanBlacklist
)

// bindStatus summarises the health of a listener's or rule's origins:
// normal only when every bound origin is.
func bindStatus(bound []gaapapi.BindRealServer, normal, abnormal int64) *int64 {
	for _, b := range bound {
		if b.RealServerStatus != nil && *b.RealServerStatus != originHealthy {
			return new(abnormal)
		}
	}
	return new(normal)
}

// originsByID loads the caller's origins with the given IDs.
func originsByID(tx *resource.Tx, ids []string) (map[string]*model.RealServer, error) {
	out := map[string]*model.RealServer{}
	if len(ids) == 0 {
		return out, nil
	}
	rs, _, err := resource.List[model.RealServer](tx, store.Query{IDs: ids})
	for _, r := range rs {
		out[r.ID] = r
	}
	return out, err
}

// listenerBoundOut renders the bindings of a listener or rule (owner) as
// BindRealServer entries with the origins' addresses and observed health.
func (s *Service) listenerBoundOut(tx *resource.Tx, owner string, bs []model.Bound) ([]gaapapi.BindRealServer, error) {
	addrs, err := originAddrs(tx, bs)
	return s.boundWith(addrs, owner, bs), err
}

// boundWith is listenerBoundOut with the addresses already loaded (by
// originAddrs), so a page of listeners or rules costs one query.
func (s *Service) boundWith(addrs map[string]string, owner string, bs []model.Bound) []gaapapi.BindRealServer {
	return boundOut(bs, addrs, func(rs string) (bool, []string) { return s.health(owner, rs) })
}

// originsOf loads, in one query, the caller's origins bound in any of bss,
// by ID.
func originsOf(tx *resource.Tx, bss ...[]model.Bound) (map[string]*model.RealServer, error) {
	var ids []string
	for _, bs := range bss {
		for _, b := range bs {
			ids = append(ids, b.RealServerID)
		}
	}
	slices.Sort(ids)
	return originsByID(tx, slices.Compact(ids))
}

// originAddrs maps the caller's origins bound in any of bss to their
// addresses as Describe shows them, loading them in one query.
func originAddrs(tx *resource.Tx, bss ...[]model.Bound) (map[string]string, error) {
	origins, err := originsOf(tx, bss...)
	addrs := make(map[string]string, len(origins))
	for id, o := range origins {
		addrs[id] = o.ShownAddress()
	}
	return addrs, err
}

// clientIPMethodOut is ClientIPMethod as Describe shows it: 1 for Proxy
// Protocol and null when the client address is not passed, because 0
// would claim TOA, which this service never applies.
func clientIPMethodOut(l *model.Listener) *int64 {
	if l.ClientIPMethod == model.ClientIPNone {
		return nil
	}
	return new(l.ClientIPMethod)
}

// realServerPortOut is null unless the listener fixes the origin port
// (proxy-group listeners): TCPListener's may be null. UDPListener's may
// not (the reference marks only the TCP one nullable), so a UDP listener
// that fixes none reads 0.
func realServerPortOut(l *model.Listener) *int64 {
	switch {
	case l.RealServerPort != 0:
		return new(l.OriginPort())
	case l.Protocol == model.UDP:
		return new(int64(0))
	}
	return nil
}

func tcpListenerOut(l *model.Listener, bound []gaapapi.BindRealServer) gaapapi.TCPListener {
	return gaapapi.TCPListener{
		ListenerId: new(l.ID), ListenerName: new(l.Name), Port: new(l.Port), RealServerPort: realServerPortOut(l),
		RealServerType: new(l.RealServerType), Protocol: new(l.Protocol), ListenerStatus: new(l.Status),
		Scheduler: new(l.Scheduler), ConnectTimeout: new(l.ConnectTimeout), DelayLoop: new(l.DelayLoop),
		HealthCheck: new(l.HealthCheck), BindStatus: bindStatus(bound, tcpBindNormal, 0), RealServerSet: bound,
		CreateTime: new(l.CreateTime), ClientIPMethod: clientIPMethodOut(l),
		HealthyThreshold: new(l.HealthyThreshold), UnhealthyThreshold: new(l.UnhealthyThreshold),
		FailoverSwitch: new(l.FailoverSwitch), SessionPersist: new(l.SessionPersist),
		ProxyId: optional(l.ProxyID), GroupId: optional(l.GroupID),
	}
}

// udpBindStatus is a UDP listener's BindStatus: normal when every bound
// origin is; else 2 ("域名解析异常") when the name of a DOMAIN origin does
// not resolve (abnormal with an empty DownIPList, as the spec reads it),
// else 1 ("IP异常"): an IP origin, or the addresses of a domain, failed
// their checks.
func udpBindStatus(l *model.Listener, bound []gaapapi.BindRealServer) *int64 {
	st := bindStatus(bound, udpBindNormal, udpBindIPAbnormal)
	if *st == udpBindNormal || l.RealServerType != "DOMAIN" {
		return st
	}
	for _, b := range bound {
		if *b.RealServerStatus != originHealthy && len(b.DownIPList) == 0 {
			return new(int64(udpBindDNSFailed))
		}
	}
	return st
}

func udpListenerOut(l *model.Listener, bound []gaapapi.BindRealServer) gaapapi.UDPListener {
	return gaapapi.UDPListener{
		ListenerId: new(l.ID), ListenerName: new(l.Name), Port: new(l.Port), RealServerPort: realServerPortOut(l),
		RealServerType: new(l.RealServerType), Protocol: new(l.Protocol), ListenerStatus: new(l.Status),
		Scheduler: new(l.Scheduler), BindStatus: udpBindStatus(l, bound), RealServerSet: bound,
		CreateTime: new(l.CreateTime), SessionPersist: new(l.SessionPersist),
		DelayLoop: new(l.DelayLoop), ConnectTimeout: new(l.ConnectTimeout),
		HealthyThreshold: new(l.HealthyThreshold), UnhealthyThreshold: new(l.UnhealthyThreshold),
		FailoverSwitch: new(l.FailoverSwitch), HealthCheck: new(l.HealthCheck),
		CheckType: new(l.CheckType), CheckPort: new(l.CheckPort), ContextType: new(l.ContextType),
		SendContext: new(l.SendContext), RecvContext: new(l.RecvContext),
		ProxyId: optional(l.ProxyID), GroupId: optional(l.GroupID),
	}
}

// httpsListenerOut renders an HTTPS listener with its certificates'
// names (from certificateNames) as aliases.
func httpsListenerOut(l *model.Listener, names map[string]string) gaapapi.HTTPSListener {
	out := gaapapi.HTTPSListener{
		ListenerId: new(l.ID), ListenerName: new(l.Name), Port: new(l.Port), Protocol: new(l.Protocol),
		ListenerStatus: new(l.Status), CertificateId: new(l.CertificateID), ForwardProtocol: new(l.ForwardProtocol),
		CreateTime: new(l.CreateTime), CertificateAlias: alias(names, l.CertificateID), AuthType: new(l.AuthType),
		PolyClientCertificateAliasInfo: aliasInfos(names, l.ClientCertificateIDs), Http3Supported: new(l.Http3Supported),
		ProxyId: optional(l.ProxyID), GroupId: optional(l.GroupID),
		TLSSupportVersion: l.TLSSupportVersion, TLSCiphers: new(l.TLSCiphers),
	}
	if len(l.ClientCertificateIDs) > 0 {
		first := l.ClientCertificateIDs[0]
		out.ClientCertificateId, out.ClientCertificateAlias = new(first), alias(names, first)
	}
	return out
}

// certificateNames maps the caller's certificates with the given IDs to
// their names (aliases).
func certificateNames(tx *resource.Tx, ids []string) (map[string]string, error) {
	if len(ids) == 0 {
		return map[string]string{}, nil // an empty Query.IDs would list them all
	}
	cs, _, err := resource.List[model.Certificate](tx, store.Query{IDs: ids})
	out := make(map[string]string, len(cs))
	for _, c := range cs {
		out[c.ID] = c.Name
	}
	return out, err
}
