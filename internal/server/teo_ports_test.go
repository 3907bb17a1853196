package server_test

import (
	"fmt"
	"maps"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/model"
)

// TestTeoListeningPortsBounded: a proxy's rules listen on at most
// model.TeoMaxProxyPorts ports (the API refuses more), and the node on at
// most a quarter of its descriptor limit: a proxy whose rules ask for more
// than the node has left gets some ports, its other rules read fail, and
// a rule of another proxy that was already serving goes on serving. The
// descriptor limit is lowered to 3000 (a budget of 750 listening sockets)
// to keep the test small.
func TestTeoListeningPortsBounded(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	low := old
	low.Cur = 3000
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}

	// A working rule of one proxy (the victim).
	e := newTeoEnv(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(teoOrigins.Next(), 0), edgetest.Echo)
	port := edgetest.FreePort(t, e.access)
	rule := e.createRule(t, tcpRule([]string{strconv.Itoa(port)}, "IP_DOMAIN", []string{origin.Addr.Addr().String()}, origin.Addr))
	e.n.until("victim rule online and serving", func() bool { return e.ruleStatus(t, rule) == "online" && e.echoN(port, "hello") == nil })

	// Another proxy of the zone takes two rules of 2048 TCP ports each, the
	// most a proxy may have: accepted; one port more is not.
	hog := *e
	var p struct{ ProxyId string }
	teoCall(t, e.c, "CreateL4Proxy", map[string]any{"ZoneId": e.zone, "ProxyName": "hog", "Area": "mainland"}, &p)
	hog.proxy = p.ProxyId
	hogRule := func(span string) map[string]any {
		return tcpRule([]string{span}, "IP_DOMAIN", []string{origin.Addr.Addr().String()}, origin.Addr)
	}
	var hogRules []string
	for _, span := range []string{"20000-22047", "22048-24095"} {
		hogRules = append(hogRules, hog.createRule(t, hogRule(span)))
	}
	code, msg := teoError(t, e.c, "CreateL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": hog.proxy,
		"L4ProxyRules": []map[string]any{hogRule("24096")}})
	if code != "LimitExceeded.ProxyRulesLimitExceeded" {
		t.Errorf("a port past the proxy's %d: %s %q; want LimitExceeded.ProxyRulesLimitExceeded", model.TeoMaxProxyPorts, code, msg)
	}

	// The node binds what its budget allows; the rest reads fail.
	e.n.until("a hog rule reads fail (the node's listening sockets used up)", func() bool {
		return hog.ruleStatus(t, hogRules[0]) == "fail" || hog.ruleStatus(t, hogRules[1]) == "fail"
	})
	for i := range 3 {
		if err := e.echoN(port, fmt.Sprintf("hello %d", i)); err != nil {
			t.Fatalf("after another proxy's rules asked for %d ports, the victim rule's port %d no longer serves: %v", model.TeoMaxProxyPorts, port, err)
		}
	}
	if s := e.ruleStatus(t, rule); s != "online" {
		t.Errorf("victim rule reads %s; want online", s)
	}
}

// TestTeoRulePortsUniqueAcrossRules: no port of a protocol is used by two
// rules of a proxy, whether a rule is created over another's port or
// modified onto it; the same port of the other protocol is free.
func TestTeoRulePortsUniqueAcrossRules(t *testing.T) {
	e := newTeoEnv(t)
	origin := netip.AddrPortFrom(teoOrigins.Next(), 9)
	rule := func(proto string, ports ...string) map[string]any {
		r := tcpRule(ports, "IP_DOMAIN", []string{origin.Addr().String()}, origin)
		r["Protocol"] = proto
		return r
	}
	first := e.createRule(t, rule("TCP", "30000-30010"))
	udp := e.createRule(t, rule("UDP", "30005"))
	code, msg := teoError(t, e.c, "CreateL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
		"L4ProxyRules": []map[string]any{rule("TCP", "40000", "30010")}})
	if code != "InvalidParameter.RulePortDuplicating" {
		t.Errorf("TCP 30010 created over TCP 30000-30010: %s %q; want InvalidParameter.RulePortDuplicating", code, msg)
	}
	code, msg = teoError(t, e.c, "ModifyL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
		"L4ProxyRules": []map[string]any{{"RuleId": udp, "Protocol": "TCP"}}})
	if code != "InvalidParameter.RulePortDuplicating" || !strings.Contains(msg, first) {
		t.Errorf("UDP 30005 modified to TCP: %s %q; want InvalidParameter.RulePortDuplicating naming %s", code, msg, first)
	}
	// Refused, neither call changed the proxy's rules.
	var r struct {
		L4ProxyRules []struct{ RuleId, Protocol string }
	}
	teoCall(t, e.c, "DescribeL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy, "Offset": 0, "Limit": 100}, &r)
	got := map[string]string{}
	for _, x := range r.L4ProxyRules {
		got[x.RuleId] = x.Protocol
	}
	if want := map[string]string{first: "TCP", udp: "UDP"}; !maps.Equal(got, want) {
		t.Errorf("rules after the refused calls: %v; want %v", got, want)
	}
}
