package server_test

import (
	"fmt"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// randomChanges are the changes TestRandomChurnIsHitless draws from. None
// targets its traffic: the loaded listeners and rules keep origin 0 bound
// and up, and other objects are created and deleted on other ports, paths
// and hosts. (Removing a bound origin, lowering limits and denying
// policies affect traffic on purpose; other tests cover them.) A change
// that does not apply yet, such as deleting what was never created,
// returns false and another is drawn.
var randomChanges = []struct {
	name string
	make func(s *randomChurn, i int) bool
}{
	{"TCP listener scheduler", (*randomChurn).tcpScheduler},
	{"UDP listener scheduler", (*randomChurn).udpScheduler},
	{"TCP listener origins", (*randomChurn).tcpOriginsBound},
	{"UDP listener origins", (*randomChurn).udpOriginsBound},
	{"other listener", (*randomChurn).otherListener},
	{"other listener deleted", (*randomChurn).otherListenerDeleted},
	{"rule scheduler", (*randomChurn).ruleScheduler},
	{"rule origins", (*randomChurn).ruleOriginsBound},
	{"certificate", (*randomChurn).certificate},
	{"other rule", (*randomChurn).otherRule},
	{"other rule deleted", (*randomChurn).otherRuleDeleted},
	{"security policy", (*randomChurn).securityPolicy},
	{"proxy limits raised", (*randomChurn).limitsRaised},
	{"custom header", (*randomChurn).customHeader},
	{"error page", (*randomChurn).errorPage},
	{"error page deleted", (*randomChurn).errorPageDeleted},
	{"names", (*randomChurn).names},
	{"rule health check", (*randomChurn).ruleHealthCheck},
	{"other domain", (*randomChurn).otherDomain},
	{"other domain deleted", (*randomChurn).otherDomainDeleted},
	{"TCP listener health check", (*randomChurn).tcpHealthCheck},
	{"third proxy", (*randomChurn).thirdProxy},
	{"rule forward host", (*randomChurn).forwardHost},
}

var churnSchedulers = []string{"rr", "wrr", "lc"}

// call makes change i through the API and records it for blaming
// failures on.
func (s *randomChurn) call(i int, action string, params map[string]any, resp any) {
	s.n.t.Helper()
	what := fmt.Sprintf("%s %v", action, params)
	if len(what) > 200 {
		what = what[:200] + "…"
	}
	s.cnt.changed(fmt.Sprint(i, " ", what))
	if err := s.n.Call(s.n.c, action, params, resp); err != nil {
		s.n.t.Fatalf("change %d, %s: %v", i, what, err)
	}
}

// pick returns a random element of ids.
func pick[T any](s *randomChurn, ids ...T) T { return ids[s.rng.IntN(len(ids))] }

// remove removes and returns a random element of *ids.
func remove[T any](s *randomChurn, ids *[]T) T {
	j := s.rng.IntN(len(*ids))
	v := (*ids)[j]
	*ids = append((*ids)[:j], (*ids)[j+1:]...)
	return v
}

func (s *randomChurn) tcpScheduler(i int) bool {
	l := pick(s, s.tcp[:]...)
	s.call(i, "ModifyTCPListenerAttribute", map[string]any{"ProxyId": s.pA, "ListenerId": l,
		"Scheduler": pick(s, churnSchedulers...), "ListenerName": fmt.Sprint("t", i)}, nil)
	s.n.waitListener(l)
	return true
}

func (s *randomChurn) udpScheduler(i int) bool {
	s.call(i, "ModifyUDPListenerAttribute", map[string]any{"ProxyId": s.pA, "ListenerId": s.udp,
		"Scheduler": pick(s, churnSchedulers...), "ListenerName": fmt.Sprint("u", i)}, nil)
	s.n.waitListener(s.udp)
	return true
}

// tcpHealthCheck turns the health check of a loaded TCP listener, whose
// origins are up, on or off.
func (s *randomChurn) tcpHealthCheck(i int) bool {
	l := pick(s, s.tcp[:]...)
	params := map[string]any{"ProxyId": s.pA, "ListenerId": l, "HealthCheck": s.rng.IntN(2)}
	if params["HealthCheck"] == 1 {
		params["DelayLoop"], params["ConnectTimeout"] = 5, 2
	}
	s.call(i, "ModifyTCPListenerAttribute", params, nil)
	s.n.waitListener(l)
	return true
}

// tcpOriginsBound binds both TCP origins, with random weights, to a
// loaded TCP listener.
func (s *randomChurn) tcpOriginsBound(i int) bool {
	l := pick(s, s.tcp[:]...)
	s.call(i, "BindListenerRealServers", map[string]any{"ListenerId": l, "RealServerBindSet": s.tcpOrigins.bindSet(s.rng)}, nil)
	s.n.waitListener(l)
	return true
}

func (s *randomChurn) udpOriginsBound(i int) bool {
	s.call(i, "BindListenerRealServers", map[string]any{"ListenerId": s.udp, "RealServerBindSet": s.udpOrigins.bindSet(s.rng)}, nil)
	s.n.waitListener(s.udp)
	return true
}

// otherListener creates a listener of a random protocol on another port.
func (s *randomChurn) otherListener(i int) bool {
	var r struct {
		ListenerIds []string
		ListenerId  string
	}
	l4 := map[string]any{"ProxyId": s.pA, "ListenerName": "x", "Ports": []int{edgetest.FreePort(s.n.t, s.ipA)},
		"Scheduler": "rr", "RealServerType": "IP"}
	l7 := map[string]any{"ProxyId": s.pB, "ListenerName": "x", "Port": edgetest.FreePort(s.n.t, s.ipB)}
	switch s.rng.IntN(4) {
	case 0:
		l4["HealthCheck"] = 0
		s.call(i, "CreateTCPListeners", l4, &r)
	case 1:
		s.call(i, "CreateUDPListeners", l4, &r)
	case 2:
		s.call(i, "CreateHTTPListener", l7, &r)
	case 3:
		cert, key := s.ca.leaf(s.n.t, "x", churnHost)
		l7["CertificateId"], l7["ForwardProtocol"], l7["AuthType"] = s.n.cert(2, cert, key), "HTTP", 0
		l7["Http3Supported"] = s.rng.IntN(2)
		s.call(i, "CreateHTTPSListener", l7, &r)
	}
	id := r.ListenerId
	if id == "" {
		id = r.ListenerIds[0]
	}
	s.n.waitListener(id)
	s.extra = append(s.extra, id)
	return true
}

func (s *randomChurn) otherListenerDeleted(i int) bool {
	if len(s.extra) == 0 {
		return false
	}
	id := remove(s, &s.extra)
	proxy := s.pA
	for _, proto := range []string{"HTTP", "HTTPS"} {
		var r struct{ ListenerSet []struct{} }
		if err := s.n.Call(s.n.c, "Describe"+proto+"Listeners", map[string]any{"ListenerId": id}, &r); err == nil && len(r.ListenerSet) == 1 {
			proxy = s.pB
		}
	}
	s.call(i, "DeleteListeners", map[string]any{"ProxyId": proxy, "ListenerIds": []string{id}, "Force": 1}, nil)
	time.Sleep(100 * time.Millisecond) // The deletion has no status to wait for.
	return true
}

// side picks the HTTPS (0) or the HTTP (1) listener of proxy B.
func (s *randomChurn) side() (int, string) {
	side := s.rng.IntN(2)
	return side, []string{s.https, s.http}[side]
}

func (s *randomChurn) ruleScheduler(i int) bool {
	side, l := s.side()
	s.call(i, "ModifyRuleAttribute", map[string]any{"ListenerId": l, "RuleId": s.loaded[side],
		"Scheduler": pick(s, churnSchedulers...)}, nil)
	s.n.waitRule(s.loaded[side])
	return true
}

// ruleHealthCheck turns the health check of a loaded rule, whose origins
// are up, on or off.
func (s *randomChurn) ruleHealthCheck(i int) bool {
	side, l := s.side()
	params := map[string]any{"ListenerId": l, "RuleId": s.loaded[side], "HealthCheck": s.rng.IntN(2)}
	if params["HealthCheck"] == 1 {
		params["CheckParams"] = map[string]any{"DelayLoop": 5, "ConnectTimeout": 2, "Path": "/", "Method": "HEAD",
			"StatusCode": []int{200, 300}}
	}
	s.call(i, "ModifyRuleAttribute", params, nil)
	s.n.waitRule(s.loaded[side])
	return true
}

func (s *randomChurn) forwardHost(i int) bool {
	side, l := s.side()
	s.call(i, "ModifyRuleAttribute", map[string]any{"ListenerId": l, "RuleId": s.loaded[side],
		"ForwardHost": pick(s, "default", "forward."+churnHost)}, nil)
	s.n.waitRule(s.loaded[side])
	return true
}

// ruleOriginsBound binds both HTTP origins, with random weights, to a
// loaded rule.
func (s *randomChurn) ruleOriginsBound(i int) bool {
	side, _ := s.side()
	s.call(i, "BindRuleRealServers", map[string]any{"RuleId": s.loaded[side], "RealServerBindSet": s.httpOrigins.bindSet(s.rng)}, nil)
	s.n.waitRule(s.loaded[side])
	return true
}

func (s *randomChurn) customHeader(i int) bool {
	side, _ := s.side()
	s.call(i, "CreateCustomHeader", map[string]any{"RuleId": s.loaded[side],
		"Headers": []map[string]string{{"HeaderName": "X-Churn", "HeaderValue": fmt.Sprint("change-", i)}}}, nil)
	s.n.waitRule(s.loaded[side])
	return true
}

// certificate puts a new certificate on the HTTPS domain or listener.
func (s *randomChurn) certificate(i int) bool {
	cert, key := s.ca.leaf(s.n.t, fmt.Sprint("rotated-", i), churnHost)
	id := s.n.cert(2, cert, key)
	if s.rng.IntN(2) == 0 {
		s.call(i, "ModifyDomain", map[string]any{"ListenerId": s.https, "OldDomain": churnHost, "NewDomain": churnHost,
			"CertificateId": id}, nil)
	} else {
		s.call(i, "ModifyHTTPSListenerAttribute", map[string]any{"ProxyId": s.pB, "ListenerId": s.https, "CertificateId": id}, nil)
		s.n.waitListener(s.https)
	}
	s.n.waitDomain(s.https, churnHost)
	return true
}

func (s *randomChurn) otherRule(i int) bool {
	_, l := s.side()
	var r struct{ RuleId string }
	s.call(i, "CreateRule", map[string]any{"ListenerId": l, "Domain": churnHost, "Path": fmt.Sprintf("/tmp/%d", i),
		"RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0}, &r)
	s.n.waitRule(r.RuleId)
	s.tmpRules = append(s.tmpRules, r.RuleId)
	return true
}

func (s *randomChurn) otherRuleDeleted(i int) bool {
	if len(s.tmpRules) == 0 {
		return false
	}
	id := remove(s, &s.tmpRules)
	var r struct{ RuleSet []struct{ ListenerId string } }
	if err := s.n.Call(s.n.c, "DescribeRulesByRuleIds", map[string]any{"RuleIds": []string{id}}, &r); err != nil {
		s.n.t.Fatal(err)
	}
	s.call(i, "DeleteRule", map[string]any{"ListenerId": r.RuleSet[0].ListenerId, "RuleId": id, "Force": 1}, nil)
	time.Sleep(100 * time.Millisecond) // The deletion has no status to wait for.
	return true
}

// otherDomain creates another host on a loaded listener (on HTTPS with
// its own certificate, with or without HTTP/3).
func (s *randomChurn) otherDomain(i int) bool {
	side, l := s.side()
	host := fmt.Sprintf("d%d.%s", i, churnHost)
	params := map[string]any{"ListenerId": l, "Domain": host}
	if side == 0 {
		cert, key := s.ca.leaf(s.n.t, host, host)
		params["CertificateId"], params["Http3Supported"] = s.n.cert(2, cert, key), s.rng.IntN(2)
	}
	s.call(i, "CreateDomain", params, nil)
	s.n.waitDomain(l, host)
	s.domains = append(s.domains, [2]string{l, host})
	return true
}

func (s *randomChurn) otherDomainDeleted(i int) bool {
	if len(s.domains) == 0 {
		return false
	}
	d := remove(s, &s.domains)
	s.call(i, "DeleteDomain", map[string]any{"ListenerId": d[0], "Domain": d[1], "Force": 1}, nil)
	time.Sleep(100 * time.Millisecond) // The deletion has no status to wait for.
	return true
}

// errorPage creates an error page on a loaded domain for a 5xx status
// the traffic never sees (one page per status and domain).
func (s *randomChurn) errorPage(i int) bool {
	side, l := s.side()
	status := 500 + s.rng.IntN(5)
	for _, p := range s.pages {
		if p.side == side && p.status == status {
			return false
		}
	}
	var r struct{ ErrorPageId string }
	s.call(i, "CreateDomainErrorPageInfo", map[string]any{"ListenerId": l, "Domain": churnHost,
		"ErrorNos": []int{status}, "NewErrorNo": 503, "Body": "sorry"}, &r)
	s.pages = append(s.pages, errorPage{side, status, r.ErrorPageId})
	return true
}

func (s *randomChurn) errorPageDeleted(i int) bool {
	if len(s.pages) == 0 {
		return false
	}
	p := remove(s, &s.pages)
	s.call(i, "DeleteDomainErrorPageInfo", map[string]any{"ErrorPageId": p.id}, nil)
	return true
}

// securityPolicy creates and opens an ACCEPT policy on a proxy, then adds
// rules that still accept 127.0.0.0/8 (ACCEPT a 127/8 prefix, DROP a
// 10.x/24) or deletes them.
func (s *randomChurn) securityPolicy(i int) bool {
	p := s.rng.IntN(2)
	proxy := []string{s.pA, s.pB}[p]
	switch {
	case s.policy[p] == "":
		s.cnt.changed(fmt.Sprint(i, " CreateSecurityPolicy and OpenSecurityPolicy on ", proxy))
		s.policy[p] = s.n.createPolicy(proxy, "ACCEPT")
		s.n.openPolicy(proxy, s.policy[p])
		return true
	case len(s.secRules[p]) > 0 && s.rng.IntN(3) == 0:
		s.call(i, "DeleteSecurityRules", map[string]any{"PolicyId": s.policy[p], "RuleIdList": s.secRules[p]}, nil)
		s.secRules[p] = nil
	default:
		src, act := fmt.Sprintf("10.%d.%d.0/24", i/256, i%256), "DROP" // Distinct: duplicates are refused.
		if s.rng.IntN(2) == 0 {
			src, act = fmt.Sprintf("127.0.0.0/%d", 8+i%8), "ACCEPT"
		}
		var r struct{ RuleIdList []string }
		s.call(i, "CreateSecurityRules", map[string]any{"PolicyId": s.policy[p], "RuleList": []map[string]any{{
			"SourceCidr": src, "Action": act, "AliasName": "r", "Protocol": "ALL", "DestPortRange": "ALL"}}}, &r)
		s.secRules[p] = append(s.secRules[p], r.RuleIdList...)
	}
	policy := s.policy[p]
	s.n.until("policy "+policy+" BOUND", func() bool {
		var r struct{ Status string }
		err := s.n.Call(s.n.c, "DescribeSecurityPolicyDetail", map[string]any{"PolicyId": policy}, &r)
		return err == nil && r.Status == "BOUND"
	})
	return true
}

// limitsRaised raises a proxy's Bandwidth, and maybe its Concurrent, to
// the next offered value.
func (s *randomChurn) limitsRaised(i int) bool {
	p := s.rng.IntN(2)
	proxy := []string{s.pA, s.pB}[p]
	s.bw[p] = min(s.bw[p]+1, 6)
	params := map[string]any{"ProxyId": proxy, "Bandwidth": []int{10, 20, 50, 100, 200, 500, 1000}[s.bw[p]]}
	if s.rng.IntN(2) == 0 {
		s.conc[p] = min(s.conc[p]+1, 6)
		params["Concurrent"] = []int{2, 5, 10, 20, 30, 40, 50}[s.conc[p]]
	}
	s.call(i, "ModifyProxyConfiguration", params, nil)
	s.n.proxyIP(proxy) // Waits until the proxy runs again.
	return true
}

// names renames the HTTP listener or a proxy.
func (s *randomChurn) names(i int) bool {
	if s.rng.IntN(2) == 0 {
		s.call(i, "ModifyHTTPListenerAttribute", map[string]any{"ProxyId": s.pB, "ListenerId": s.http, "ListenerName": fmt.Sprint("h", i)}, nil)
		s.n.waitListener(s.http)
		return true
	}
	s.call(i, "ModifyProxiesAttribute", map[string]any{"ProxyIds": []string{pick(s, s.pA, s.pB)}, "ProxyName": fmt.Sprint("p", i)}, nil)
	return true
}

// thirdProxy creates a third proxy with a TCP listener, or destroys it.
func (s *randomChurn) thirdProxy(i int) bool {
	if s.third != "" {
		s.call(i, "DestroyProxies", map[string]any{"ProxyIds": []string{s.third}, "Force": 1}, nil)
		s.third = ""
		time.Sleep(200 * time.Millisecond) // The destruction has no status to wait for.
		return true
	}
	var p struct{ InstanceId string }
	s.call(i, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "third", "AccessRegion": "SouthChina",
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}, &p)
	s.third = p.InstanceId
	ip := s.n.proxyIP(p.InstanceId)
	var r struct{ ListenerIds []string }
	s.call(i, "CreateTCPListeners", map[string]any{"ProxyId": s.third, "ListenerName": "x",
		"Ports": []int{edgetest.FreePort(s.n.t, ip)}, "Scheduler": "rr", "RealServerType": "IP", "HealthCheck": 0}, &r)
	s.n.waitListener(r.ListenerIds[0])
	return true
}
