package server_test

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	vpcsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/mirror"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestEdgeOneL4EndToEnd drives an EdgeOne L4 proxy through the teo API
// with real traffic: a TCP rule onto an origin group with a live and a
// dead record (health checks take the dead one out, and
// DescribeOriginGroupHealthStatus says so), DescribeTimingL4Data counting
// the bytes sent, a PUBLICIP traffic mirror of the proxy's access IP (to
// an endpoint with its own port) until DeleteTrafficMirror, a port change
// the listener follows, and the proxy's status, its zone's pause and its
// deletion closing the port.
func TestEdgeOneL4EndToEnd(t *testing.T) {
	n := startNode(t)
	c := n.VPC()

	live, dead := mirrorAddrs.Next(), mirrorAddrs.Next()
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(live, 0), edgetest.Echo)
	originPort := strconv.Itoa(int(origin.Addr.Port()))

	var zone struct{ ZoneId string }
	teoCall(t, c, "CreateZone", map[string]any{"Type": "noDomainAccess"}, &zone)
	var group struct{ OriginGroupId string }
	teoCall(t, c, "CreateOriginGroup", map[string]any{"ZoneId": zone.ZoneId, "Name": "pool", "Type": "GENERAL",
		"Records": []map[string]any{{"Record": live.String(), "Type": "IP_DOMAIN"}, {"Record": dead.String(), "Type": "IP_DOMAIN"}}}, &group)
	var proxy struct{ ProxyId string }
	teoCall(t, c, "CreateL4Proxy", map[string]any{"ZoneId": zone.ZoneId, "ProxyName": "e2e", "Area": "mainland"}, &proxy)
	var access netip.Addr
	n.until("L4 proxy online", func() bool {
		var r struct {
			L4Proxies []struct{ Status, Cname string }
		}
		teoCall(t, c, "DescribeL4Proxy", map[string]any{"ZoneId": zone.ZoneId,
			"Filters": []map[string]any{{"Name": "proxy-id", "Values": []string{proxy.ProxyId}}}}, &r)
		if len(r.L4Proxies) != 1 || r.L4Proxies[0].Status != "online" {
			return false
		}
		access = netip.MustParseAddr(r.L4Proxies[0].Cname)
		return true
	})

	port := edgetest.FreePort(t, access)
	var rules struct{ L4ProxyRuleIds []string }
	teoCall(t, c, "CreateL4ProxyRules", map[string]any{"ZoneId": zone.ZoneId, "ProxyId": proxy.ProxyId,
		"L4ProxyRules": []map[string]any{{"Protocol": "TCP", "PortRange": []string{strconv.Itoa(port)},
			"OriginType": "ORIGIN_GROUP", "OriginValue": []string{group.OriginGroupId}, "OriginPortRange": originPort}}}, &rules)
	rule := rules.L4ProxyRuleIds[0]

	// The dead record fails its connect checks (3 × 5 s): from then on
	// every connection reaches the live one.
	health := func() map[string]string {
		var r struct {
			OriginGroupHealthStatusList []struct {
				OriginHealthStatus []struct{ Origin, Healthy string }
			}
		}
		teoCall(t, c, "DescribeOriginGroupHealthStatus", map[string]any{"ZoneId": zone.ZoneId, "LBInstanceId": "lb-unused",
			"OriginGroupIds": []string{group.OriginGroupId}}, &r)
		out := map[string]string{}
		for _, g := range r.OriginGroupHealthStatusList {
			for _, o := range g.OriginHealthStatus {
				out[o.Origin] = o.Healthy
			}
		}
		return out
	}
	n.until("dead record Unhealthy, live one Healthy", func() bool {
		h := health()
		return h[live.String()] == "Healthy" && h[dead.String()] == "Unhealthy"
	})
	echo := (&teoEnv{access: access}).echoN
	for i := range 5 {
		if err := echo(port, fmt.Sprintf("hello %d", i)); err != nil {
			t.Fatalf("connection %d through the rule: %v", i, err)
		}
	}

	// DescribeTimingL4Data reads the bytes back from the statistics.
	n.until("l4Flow_flux of the rule counted", func() bool {
		var r struct {
			Data []struct{ TypeValue []struct{ Sum int64 } }
		}
		now := time.Now()
		teoCall(t, c, "DescribeTimingL4Data", map[string]any{"ZoneIds": []string{zone.ZoneId}, "MetricNames": []string{"l4Flow_flux"},
			"StartTime": now.Add(-10 * time.Minute).Format(time.RFC3339), "EndTime": now.Add(time.Minute).Format(time.RFC3339), "Interval": "min",
			"Filters": []map[string]any{{"Key": "ruleId", "Operator": "equals", "Value": []string{rule}}}}, &r)
		return len(r.Data) == 1 && len(r.Data[0].TypeValue) == 1 && r.Data[0].TypeValue[0].Sum >= int64(2*len("hello 0")*5)
	})

	// A PUBLICIP mirror of the access IP copies the rule's traffic until
	// it is deleted.
	// The collector is named by an endpoint with its own port.
	col := startPcapCollector(t, netip.AddrPortFrom(mirrorAddrs.Next(), 4799))
	id := createMirror(t, c, map[string]any{"VpcId": xtest.DefaultVPC(t, c), "TrafficMirrorName": "teo",
		"Type": "PUBLICIP", "State": "RUNNING", "Direction": "ALL", "CollectorSrcs": []string{access.String()},
		"CollectorTarget": map[string]any{"TargetEndPoints": []string{col.addr.String()}}})
	key := stats.Key{Kind: mirror.StatsKind, ID: id}
	n.until("mirror running on the edge", func() bool { _, ok := n.Edge.Stats().Values[key]; return ok })
	if err := echo(port, "mirrored payload"); err != nil {
		t.Fatal(err)
	}
	n.until("both FINs mirrored", func() bool { return col.fins() >= 2 })
	if !col.contains([]byte("mirrored payload")) {
		t.Error("the collector got no frame carrying the payload")
	}
	// The last ACK follows the last FIN: every copy sent is in before the
	// count below is taken, or one arriving late reads as sent after.
	n.until("every copy the mirror sent received", func() bool {
		return int64(col.count()) == n.Edge.Stats().Values[key].PacketsOut
	})
	vpcCall(t, c, "DeleteTrafficMirror", map[string]any{"TrafficMirrorId": id}, nil)
	n.until("mirror removed from the edge", func() bool { _, ok := n.Edge.Stats().Values[key]; return !ok })
	before := col.count()
	if err := echo(port, "after delete"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if after := col.count(); after != before {
		t.Errorf("collector got %d packets after DeleteTrafficMirror; want none", after-before)
	}

	// A port change moves the listener: the new port serves, the old one
	// refuses.
	port2 := edgetest.FreePort(t, access)
	teoCall(t, c, "ModifyL4ProxyRules", map[string]any{"ZoneId": zone.ZoneId, "ProxyId": proxy.ProxyId,
		"L4ProxyRules": []map[string]any{{"RuleId": rule, "PortRange": []string{strconv.Itoa(port2)}}}}, nil)
	closed := func(port int) func() bool {
		return func() bool {
			conn, err := net.DialTimeout("tcp", netip.AddrPortFrom(access, uint16(port)).String(), time.Second)
			if err == nil {
				conn.Close()
			}
			return err != nil
		}
	}
	n.until("new port serving", func() bool { return echo(port2, "moved") == nil })
	n.until("old port closed", closed(port))

	// The proxy's and the zone's switches close and reopen the port, and
	// deleting the proxy closes it for good.
	status := func(s string) {
		teoCall(t, c, "ModifyL4ProxyStatus", map[string]any{"ZoneId": zone.ZoneId, "ProxyId": proxy.ProxyId, "Status": s}, nil)
	}
	status("offline")
	n.until("offline proxy refusing", closed(port2))
	status("online")
	n.until("online proxy serving again", func() bool { return echo(port2, "back") == nil })
	teoCall(t, c, "ModifyZoneStatus", map[string]any{"ZoneId": zone.ZoneId, "Paused": true}, nil)
	n.until("paused zone refusing", closed(port2))
	teoCall(t, c, "ModifyZoneStatus", map[string]any{"ZoneId": zone.ZoneId, "Paused": false}, nil)
	n.until("resumed zone serving", func() bool { return echo(port2, "resumed") == nil })
	teoCall(t, c, "DeleteL4Proxy", map[string]any{"ZoneId": zone.ZoneId, "ProxyId": proxy.ProxyId}, nil)
	n.until("deleted proxy refusing", closed(port2))
}

// teoOrigins hands out the origin addresses of the EdgeOne tests below.
var teoOrigins = edgetest.NewAlloc(204)

// teoEnv is a node with one zone and one online L4 proxy on it.
type teoEnv struct {
	n           *node
	c           *vpcsdk.Client
	zone, proxy string
	access      netip.Addr
}

func newTeoEnv(t *testing.T) *teoEnv {
	t.Helper()
	return teoEnvOn(t, startNode(t))
}

// teoEnvOn is newTeoEnv on a node already started, for the default
// account or acct.
func teoEnvOn(t *testing.T, n *node, acct ...cloudapi.Account) *teoEnv {
	t.Helper()
	e := &teoEnv{n: n, c: n.VPC(acct...)}
	var zone struct{ ZoneId string }
	teoCall(t, e.c, "CreateZone", map[string]any{"Type": "noDomainAccess"}, &zone)
	e.zone = zone.ZoneId
	var proxy struct{ ProxyId string }
	teoCall(t, e.c, "CreateL4Proxy", map[string]any{"ZoneId": e.zone, "ProxyName": "p", "Area": "mainland"}, &proxy)
	e.proxy = proxy.ProxyId
	n.until("L4 proxy online", func() bool {
		var r struct {
			L4Proxies []struct{ Status, Cname string }
		}
		teoCall(t, e.c, "DescribeL4Proxy", map[string]any{"ZoneId": e.zone}, &r)
		if len(r.L4Proxies) != 1 || r.L4Proxies[0].Status != "online" {
			return false
		}
		e.access = netip.MustParseAddr(r.L4Proxies[0].Cname)
		return true
	})
	return e
}

// tcpRule is a CreateL4ProxyRules rule forwarding ports to origins on
// originPort.
func tcpRule(ports []string, originType string, originValue []string, originPort netip.AddrPort) map[string]any {
	return map[string]any{"Protocol": "TCP", "PortRange": ports, "OriginType": originType,
		"OriginValue": originValue, "OriginPortRange": strconv.Itoa(int(originPort.Port()))}
}

// createRule creates one rule on the proxy and returns its ID.
func (e *teoEnv) createRule(t *testing.T, rule map[string]any) string {
	t.Helper()
	var r struct{ L4ProxyRuleIds []string }
	teoCall(t, e.c, "CreateL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
		"L4ProxyRules": []map[string]any{rule}}, &r)
	return r.L4ProxyRuleIds[0]
}

// ruleStatus is the Status DescribeL4ProxyRules reports for rule id.
func (e *teoEnv) ruleStatus(t *testing.T, id string) string {
	t.Helper()
	var r struct {
		L4ProxyRules []struct{ Status string }
	}
	teoCall(t, e.c, "DescribeL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy, "Offset": 0, "Limit": 100,
		"Filters": []map[string]any{{"Name": "rule-id", "Values": []string{id}}}}, &r)
	if len(r.L4ProxyRules) != 1 {
		t.Fatalf("rule %s: %d listed; want 1", id, len(r.L4ProxyRules))
	}
	return r.L4ProxyRules[0].Status
}

// dial connects to port of the access IP and closes at once.
func (e *teoEnv) dial(port int) error {
	conn, err := net.DialTimeout("tcp", netip.AddrPortFrom(e.access, uint16(port)).String(), 2*time.Second)
	if err == nil {
		conn.Close()
	}
	return err
}

// teoError is the Tencent code and message of a refused EdgeOne call.
func teoError(t *testing.T, c *vpcsdk.Client, action string, params map[string]any) (code, msg string) {
	t.Helper()
	err := xtest.CallService(&c.Client, teoapi.Service, teoapi.Version, action, params, nil)
	var e *sdkerrors.TencentCloudSDKError
	if !errors.As(err, &e) {
		t.Fatalf("%s: %v; want a refusal", action, err)
	}
	return e.Code, e.Message
}

// TestEdgeOneRefusesRulesItCannotServe: requests the data plane could not
// serve as asked are refused with a Tencent code and a message saying
// why, where they used to be stored, read online and forward nothing (or
// only part of what they asked, or, for an OriginType switched without
// its OriginValue, with the group ID taken for a domain name). The rule they would have changed keeps
// serving.
func TestEdgeOneRefusesRulesItCannotServe(t *testing.T) {
	e := newTeoEnv(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(teoOrigins.Next(), 0), edgetest.Echo)
	ip := origin.Addr.Addr().String()
	var group struct{ OriginGroupId string }
	teoCall(t, e.c, "CreateOriginGroup", map[string]any{"ZoneId": e.zone, "Name": "g", "Type": "GENERAL",
		"Records": []map[string]any{{"Record": ip, "Type": "IP_DOMAIN"}}}, &group)
	port := edgetest.FreePort(t, e.access)
	rule := e.createRule(t, tcpRule([]string{strconv.Itoa(port)}, "ORIGIN_GROUP", []string{group.OriginGroupId}, origin.Addr))
	e.n.until("rule online and serving", func() bool { return e.ruleStatus(t, rule) == "online" && e.dial(port) == nil })

	other := strconv.Itoa(edgetest.FreePort(t, e.access))
	tests := []struct {
		name, action string
		params       map[string]any
		code, msg    string
	}{
		{"create with an origin twice", "CreateL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
			"L4ProxyRules": []map[string]any{tcpRule([]string{other}, "IP_DOMAIN", []string{ip, "::ffff:" + ip}, origin.Addr)}},
			"InvalidParameter.InvalidOriginValue", "listed twice"},
		{"modify to an origin twice", "ModifyL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
			"L4ProxyRules": []map[string]any{{"RuleId": rule, "OriginType": "IP_DOMAIN", "OriginValue": []string{ip, ip}}}},
			"InvalidParameter.InvalidOriginValue", "listed twice"},
		// Left out, OriginValue keeps the group ID, which IP_DOMAIN would
		// take for a domain name that never resolves.
		{"modify to IP_DOMAIN without an OriginValue", "ModifyL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
			"L4ProxyRules": []map[string]any{{"RuleId": rule, "OriginType": "IP_DOMAIN"}}},
			"InvalidParameter.InvalidOriginValue", "give the OriginValue for IP_DOMAIN"},
		{"range wider than a rule may be", "CreateL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
			"L4ProxyRules": []map[string]any{tcpRule([]string{"30000-32100"}, "IP_DOMAIN", []string{ip}, origin.Addr)}},
			"InvalidParameterValue", "at most 2048"},
		{"group with an address twice", "ModifyOriginGroup", map[string]any{"ZoneId": e.zone, "GroupId": group.OriginGroupId,
			"Records": []map[string]any{{"Record": ip, "Type": "IP_DOMAIN"}, {"Record": ip, "Type": "IP_DOMAIN"}}},
			"InvalidParameterValue", "listed twice"},
	}
	for _, tc := range tests {
		code, msg := teoError(t, e.c, tc.action, tc.params)
		if code != tc.code || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %s %q; want %s mentioning %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
	if st := e.ruleStatus(t, rule); st != "online" {
		t.Errorf("rule after the refused changes: Status %q; want online", st)
	}
	if err := e.dial(port); err != nil {
		t.Errorf("rule after the refused changes: %v; want it serving", err)
	}
}

// TestEdgeOnePausedZoneRefusesEnablingProxy: a paused zone serves none of
// its proxies (docs/api-teo.md, Zones), so ModifyL4ProxyStatus(online)
// answers OperationDenied.ErrZoneIsAlreadyPaused there, also for a proxy
// that already reads online (a success would tell the caller it serves).
// Stopping the proxy and switching its rules either way are allowed in a
// paused zone: they settle as usual, serve nothing while the zone is
// paused, and hold when it resumes (a proxy stopped meanwhile stays
// closed until started again).
func TestEdgeOnePausedZoneRefusesEnablingProxy(t *testing.T) {
	e := newTeoEnv(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(teoOrigins.Next(), 0), edgetest.Echo)
	port := edgetest.FreePort(t, e.access)
	rule := e.createRule(t, tcpRule([]string{strconv.Itoa(port)}, "IP_DOMAIN", []string{origin.Addr.Addr().String()}, origin.Addr))
	e.n.until("rule online and serving", func() bool { return e.ruleStatus(t, rule) == "online" && e.dial(port) == nil })

	proxyStatus := func() string {
		var r struct {
			L4Proxies []struct{ Status string }
		}
		teoCall(t, e.c, "DescribeL4Proxy", map[string]any{"ZoneId": e.zone}, &r)
		return r.L4Proxies[0].Status
	}
	setProxy := map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy, "Status": "online"}
	setRule := func(status string) {
		teoCall(t, e.c, "ModifyL4ProxyRulesStatus", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
			"RuleIds": []string{rule}, "Status": status}, nil)
		e.n.until("rule "+status, func() bool { return e.ruleStatus(t, rule) == status })
	}
	refusing := func(when string) {
		t.Helper()
		if e.dial(port) == nil {
			t.Fatalf("%s: the port serves; want it closed", when)
		}
	}

	teoCall(t, e.c, "ModifyZoneStatus", map[string]any{"ZoneId": e.zone, "Paused": true}, nil)
	e.n.until("paused zone refusing", func() bool { return e.dial(port) != nil })
	if code, _ := teoError(t, e.c, "ModifyL4ProxyStatus", setProxy); code != "OperationDenied.ErrZoneIsAlreadyPaused" {
		t.Fatalf("ModifyL4ProxyStatus(online) of an online proxy in a paused zone: %s; want OperationDenied.ErrZoneIsAlreadyPaused", code)
	}

	setRule("offline")
	setRule("online")
	refusing("rule switched back online in the paused zone")
	teoCall(t, e.c, "ModifyL4ProxyStatus", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy, "Status": "offline"}, nil)
	e.n.until("proxy offline", func() bool { return proxyStatus() == "offline" })
	if code, _ := teoError(t, e.c, "ModifyL4ProxyStatus", setProxy); code != "OperationDenied.ErrZoneIsAlreadyPaused" {
		t.Fatalf("ModifyL4ProxyStatus(online) of an offline proxy in a paused zone: %s; want OperationDenied.ErrZoneIsAlreadyPaused", code)
	}

	teoCall(t, e.c, "ModifyZoneStatus", map[string]any{"ZoneId": e.zone, "Paused": false}, nil)
	time.Sleep(500 * time.Millisecond)
	refusing("zone resumed with its proxy stopped while paused")
	if st := proxyStatus(); st != "offline" {
		t.Fatalf("proxy stopped while paused, zone resumed: Status %q; want offline", st)
	}
	teoCall(t, e.c, "ModifyL4ProxyStatus", setProxy, nil)
	e.n.until("proxy started after the zone resumed, serving", func() bool { return proxyStatus() == "online" && e.dial(port) == nil })
}

// TestEdgeOneSessionPersistSpansRulePorts: SessionPersist is a setting of
// the rule (L4ProxyRule.SessionPersist), and a PortRange "p-(p+2)" is
// three ports of that one rule, so a client stays on one origin whichever
// of the rule's ports it connects to (a multi-port service, e.g. a control
// and a data port, keeps both on the same server).
func TestEdgeOneSessionPersistSpansRulePorts(t *testing.T) {
	e := newTeoEnv(t)
	a, b := teoOrigins.Next(), teoOrigins.Next()
	var o0 int // Three consecutive origin ports, free on both origins.
	for {
		if o0 = edgetest.FreePort(t, a); o0+2 <= 65535 && portsFree(a, o0, 3) && portsFree(b, o0, 3) {
			break
		}
	}
	for k := range 3 {
		edgetest.StartTCP(t, netip.AddrPortFrom(a, uint16(o0+k)), edgetest.Name("A"))
		edgetest.StartTCP(t, netip.AddrPortFrom(b, uint16(o0+k)), edgetest.Name("B"))
	}
	var p0 int
	for {
		if p0 = edgetest.FreePort(t, e.access); p0+2 <= 65535 && portsFree(e.access, p0, 3) {
			break
		}
	}
	rule := e.createRule(t, map[string]any{"Protocol": "TCP", "PortRange": []string{fmt.Sprintf("%d-%d", p0, p0+2)},
		"OriginType": "IP_DOMAIN", "OriginValue": []string{a.String(), b.String()},
		"OriginPortRange": fmt.Sprintf("%d-%d", o0, o0+2), "SessionPersist": "on", "SessionPersistTime": 3600})
	e.n.until("rule online", func() bool { return e.ruleStatus(t, rule) == "online" })

	clients := make([]netip.Addr, 6)
	first := map[netip.Addr]string{}
	for i := range clients {
		clients[i] = teoOrigins.Next()
		first[clients[i]] = e.originFrom(t, clients[i], p0)
	}
	if len(slices.Compact(slices.Sorted(maps.Values(first)))) < 2 {
		t.Fatalf("first connections all on one origin (%v); want them spread", first)
	}
	// The same clients, in another order, on the rule's other ports.
	var moved []string
	for k := 1; k <= 2; k++ {
		for _, i := range []int{1, 0, 3, 2, 5, 4} {
			c := clients[i]
			if got := e.originFrom(t, c, p0+k); got != first[c] {
				moved = append(moved, fmt.Sprintf("%v port %d: %s→%s", c, p0+k, first[c], got))
			}
		}
	}
	if len(moved) > 0 {
		t.Errorf("SessionPersist on: %d of %d connections went to another origin than the client's first on the rule: %v",
			len(moved), 2*len(clients), moved)
	}
}

// TestTeoPersistSurvivesOriginRemoval: with SessionPersist on, clients
// pinned to origins B and C stay on them when ModifyL4ProxyRules removes
// origin A, listed before both, and then swaps B and C: "a change of
// origins keeps the pins to the origins that remain" (docs/dataplane-l4.md).
// Origins named by position moved B's clients to C on the removal.
func TestTeoPersistSurvivesOriginRemoval(t *testing.T) {
	e := newTeoEnv(t)
	hosts := []netip.Addr{teoOrigins.Next(), teoOrigins.Next(), teoOrigins.Next()}
	port := edgetest.StartTCP(t, netip.AddrPortFrom(hosts[0], 0), edgetest.Name("A")).Addr.Port()
	edgetest.StartTCP(t, netip.AddrPortFrom(hosts[1], port), edgetest.Name("B"))
	edgetest.StartTCP(t, netip.AddrPortFrom(hosts[2], port), edgetest.Name("C"))
	lport := edgetest.FreePort(t, e.access)
	rule := e.createRule(t, map[string]any{"Protocol": "TCP", "PortRange": []string{strconv.Itoa(lport)}, "OriginType": "IP_DOMAIN",
		"OriginValue": []string{hosts[0].String(), hosts[1].String(), hosts[2].String()}, "OriginPortRange": strconv.Itoa(int(port)),
		"SessionPersist": "on", "SessionPersistTime": 3600})
	e.n.until("rule online", func() bool { return e.ruleStatus(t, rule) == "online" })
	pinned := map[string]netip.Addr{} // Origin name → a client pinned to it.
	for range 30 {
		src := teoOrigins.Next()
		if got := e.originFrom(t, src, lport); !pinned[got].IsValid() {
			pinned[got] = src
		}
		if pinned["B"].IsValid() && pinned["C"].IsValid() {
			break
		}
	}
	if !pinned["B"].IsValid() || !pinned["C"].IsValid() {
		t.Fatalf("clients by origin %v; want one on B and one on C", pinned)
	}
	for _, step := range []struct {
		name    string
		origins []netip.Addr
	}{{"A removed", hosts[1:]}, {"B and C swapped", []netip.Addr{hosts[2], hosts[1]}}} {
		teoCall(t, e.c, "ModifyL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
			"L4ProxyRules": []map[string]any{{"RuleId": rule, "OriginValue": []string{step.origins[0].String(), step.origins[1].String()}}}}, nil)
		e.n.until("rule online", func() bool { return e.ruleStatus(t, rule) == "online" })
		for _, name := range []string{"B", "C"} {
			for i := range 2 {
				if got := e.originFrom(t, pinned[name], lport); got != name {
					t.Errorf("%s: client pinned to %s, connection %d: %q; want %s", step.name, name, i, got, name)
				}
			}
		}
	}
}

// originFrom connects from src to port of the access IP and returns the
// name the origin answers (edgetest.Name).
func (e *teoEnv) originFrom(t *testing.T, src netip.Addr, port int) string {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	c, err := d.Dial("tcp", netip.AddrPortFrom(e.access, uint16(port)).String())
	if err != nil {
		t.Fatalf("client %v port %d: %v", src, port, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	name, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("client %v port %d: %v", src, port, err)
	}
	return string(name)
}

// portsFree reports whether ports start..start+n-1 of ip are free for
// both TCP and UDP.
func portsFree(ip netip.Addr, start, n int) bool {
	for p := start; p < start+n; p++ {
		addr := netip.AddrPortFrom(ip, uint16(p)).String()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return false
		}
		ln.Close()
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		pc.Close()
	}
	return true
}

// TestEdgeOneGroupFanOutRefused: every port of a rule forwards to every
// record of its group, and with an OriginPortRange each (port, record)
// pair is a backend the edge health-checks on its own: a 2048-port ranged
// rule over 10 records used to start over 20,000 checkers on the node. A
// proxy now holds at most model.TeoMaxProxyOrigins pairs, so the rule is
// refused over the wire before anything reaches the edge.
func TestEdgeOneGroupFanOutRefused(t *testing.T) {
	e := newTeoEnv(t)
	var recs []map[string]any
	for range 10 {
		recs = append(recs, map[string]any{"Record": teoOrigins.Next().String()})
	}
	var g struct{ OriginGroupId string }
	teoCall(t, e.c, "CreateOriginGroup", map[string]any{"ZoneId": e.zone, "Type": "GENERAL", "Records": recs}, &g)
	before := runtime.NumGoroutine()
	code, msg := teoError(t, e.c, "CreateL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
		"L4ProxyRules": []map[string]any{{"Protocol": "TCP", "PortRange": []string{"40000-42047"}, "OriginType": "ORIGIN_GROUP",
			"OriginValue": []string{g.OriginGroupId}, "OriginPortRange": "50000-52047"}}})
	if code != string(apierr.LimitExceededProxyRulesLimitExceeded) {
		t.Fatalf("2048-port ranged rule over 10 records: %s %s; want LimitExceeded.ProxyRulesLimitExceeded", code, msg)
	}
	var r struct{ L4ProxyRules []struct{ RuleId string } }
	teoCall(t, e.c, "DescribeL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy, "Offset": 0, "Limit": 100}, &r)
	if len(r.L4ProxyRules) != 0 {
		t.Errorf("the refused rule is stored: the proxy has rules %v; want none", r.L4ProxyRules)
	}
	time.Sleep(200 * time.Millisecond) // a compile pass, had anything been stored
	if added := runtime.NumGoroutine() - before; added > 100 {
		t.Errorf("a refused rule added %d goroutines on the node", added)
	}
}

// TestNoOpModifyL4ProxyStaysOnline: ModifyL4Proxy's switches left out are
// "not changed" (不填该参数时，表示不修改该配置), so a call changing
// nothing, the switches left out or sent as they are, leaves an online
// proxy online: it moved it to progress, and until the next controller
// pass (held here) its zone's pause, its deletion and its status change
// were refused as in progress.
func TestNoOpModifyL4ProxyStaysOnline(t *testing.T) {
	e := newTeoEnv(t)
	release := e.n.Controller.Hold()
	defer release()
	for _, params := range []map[string]any{
		{"ZoneId": e.zone, "ProxyId": e.proxy, "Ipv6": "off", "AccelerateMainland": "off"},
		{"ZoneId": e.zone, "ProxyId": e.proxy},
	} {
		teoCall(t, e.c, "ModifyL4Proxy", params, nil)
		if !e.proxyOnline(t) {
			t.Errorf("ModifyL4Proxy %v changing nothing: the proxy is no longer online; want it left as it is", params)
		}
	}
	teoCall(t, e.c, "ModifyZoneStatus", map[string]any{"ZoneId": e.zone, "Paused": true}, nil)
}
