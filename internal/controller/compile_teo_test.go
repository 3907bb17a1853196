package controller

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestTeoListeners: how an EdgeOne rule maps onto the shared L4 engine's
// listeners — one per port of every span, origin ports one to one for a
// ranged OriginPortRange and all to one port otherwise, origin groups
// with their weights (wrr) and health-series origin IDs, several IPs,
// session persistence, pass-through modes, TCP-only health checks.
func TestTeoListeners(t *testing.T) {
	w := func(v int64) *int64 { return &v }
	groups := map[string]*model.TeoOriginGroup{"origin-g": {Base: model.Base{ID: "origin-g"}, Records: []model.TeoOriginRecord{
		{ID: "record-a", Record: "10.0.0.1", Weight: w(20)}, {ID: "record-b", Record: "origin.example", IsDomain: true, Weight: w(80)}}}}
	type lis struct {
		id          string
		port        int
		originPorts []int
	}
	tests := []struct {
		desc     string
		rule     model.TeoL4Rule
		want     []lis
		origins  []snapshot.Origin // With the first listener's ports.
		sched    string
		persist  time.Duration
		clientIP snapshot.ClientIPMode
		checked  bool
	}{
		{
			desc: "two spans onto one origin port, two IPs",
			rule: model.TeoL4Rule{Base: model.Base{ID: "rule-1"}, Protocol: model.TCP, PortRange: []string{"80", "90-91"},
				OriginType: "IP_DOMAIN", OriginValue: []string{"10.0.0.1", "10.0.0.2"}, OriginPortRange: "8080", ClientIPMode: "PPV1"},
			want:    []lis{{"rule-1/80", 80, []int{8080, 8080}}, {"rule-1/90", 90, []int{8080, 8080}}, {"rule-1/91", 91, []int{8080, 8080}}},
			origins: []snapshot.Origin{{ID: "rule-1/origin-0", Host: "10.0.0.1", Port: 8080, Weight: 1}, {ID: "rule-1/origin-1", Host: "10.0.0.2", Port: 8080, Weight: 1}},
			sched:   snapshot.SchedRR, clientIP: snapshot.ClientIPPPV1, checked: true,
		},
		{
			desc: "range mapped one to one onto a weighted origin group, UDP, persistence",
			rule: model.TeoL4Rule{Base: model.Base{ID: "rule-2"}, Protocol: model.UDP, PortRange: []string{"81-83"},
				OriginType: "ORIGIN_GROUP", OriginValue: []string{"origin-g"}, OriginPortRange: "91-93", ClientIPMode: "SPP",
				SessionPersist: model.TeoOn, SessionPersistTime: 600},
			want: []lis{{"rule-2/81", 81, []int{91, 91}}, {"rule-2/82", 82, []int{92, 92}}, {"rule-2/83", 83, []int{93, 93}}},
			origins: []snapshot.Origin{{ID: "origin-g/record-a", Host: "10.0.0.1", Port: 91, Weight: 20},
				{ID: "origin-g/record-b", Host: "origin.example", IsDomain: true, Port: 91, Weight: 80}},
			sched: snapshot.SchedWRR, persist: 600 * time.Second, clientIP: snapshot.ClientIPSPP,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			ls := teoListeners(&tc.rule, groups)
			if len(ls) != len(tc.want) {
				t.Fatalf("%d listeners; want %d", len(ls), len(tc.want))
			}
			for i, l := range ls {
				var ports []int
				for _, o := range l.Origins {
					ports = append(ports, o.Port)
				}
				if got := (lis{l.ID, l.Port, ports}); !reflect.DeepEqual(got, tc.want[i]) {
					t.Errorf("listener %d: %+v; want %+v", i, got, tc.want[i])
				}
				if l.Protocol != tc.rule.Protocol || l.Scheduler != tc.sched || l.SessionPersist != tc.persist ||
					l.ClientIP != tc.clientIP || l.Health.Enabled != tc.checked || l.PersistGroup != tc.rule.ID {
					t.Errorf("listener %s: protocol %s scheduler %s persist %v group %q clientIP %q checked %v; want %s %s %v %q %q %v", l.ID,
						l.Protocol, l.Scheduler, l.SessionPersist, l.PersistGroup, l.ClientIP, l.Health.Enabled,
						tc.rule.Protocol, tc.sched, tc.persist, tc.rule.ID, tc.clientIP, tc.checked)
				}
			}
			if !reflect.DeepEqual(ls[0].Origins, tc.origins) {
				t.Errorf("origins %+v; want %+v", ls[0].Origins, tc.origins)
			}
		})
	}
}

// TestTeoListenersPortCap: a stored rule spanning more ports than a rule
// may (one accepted before the API refused them) compiles to the first
// model.TeoMaxRulePorts (docs/dataplane-teo.md).
func TestTeoListenersPortCap(t *testing.T) {
	r := &model.TeoL4Rule{Base: model.Base{ID: "rule-w"}, Protocol: model.TCP, PortRange: []string{"1000-9999"},
		OriginType: "IP_DOMAIN", OriginValue: []string{"10.0.0.1"}, OriginPortRange: "80"}
	ls := teoListeners(r, nil)
	if len(ls) != model.TeoMaxRulePorts {
		t.Fatalf("%d listeners; want %d", len(ls), model.TeoMaxRulePorts)
	}
	if last := ls[len(ls)-1].Port; last != 1000+model.TeoMaxRulePorts-1 {
		t.Errorf("listeners up to port %d; want %d", last, 1000+model.TeoMaxRulePorts-1)
	}
}

// TestTeoListenersStoredPastOriginBound: a rule stored by the previous
// release whose ports times origins pass model.TeoMaxProxyOrigins (2048
// ports over 10 origins, accepted then and serving every port) keeps
// compiling every port after the upgrade; the API refuses only new or
// grown rules past the bound, and cutting stored ones would silently drop
// ports of a rule that still reads online.
func TestTeoListenersStoredPastOriginBound(t *testing.T) {
	var origins []string
	for i := range 10 {
		origins = append(origins, fmt.Sprintf("10.0.0.%d", i+1))
	}
	r := &model.TeoL4Rule{Base: model.Base{ID: "rule-w"}, Protocol: model.TCP, PortRange: []string{"40000-42047"},
		OriginType: "IP_DOMAIN", OriginValue: origins, OriginPortRange: "80"}
	if r.Ports()*len(origins) <= model.TeoMaxProxyOrigins {
		t.Fatalf("the rule forwards %d pairs, within the bound %d: the test proves nothing", r.Ports()*len(origins), model.TeoMaxProxyOrigins)
	}
	ls := teoListeners(r, nil)
	if len(ls) != r.Ports() {
		t.Fatalf("%d listeners; want all %d ports of the stored rule", len(ls), r.Ports())
	}
	if last := ls[len(ls)-1]; last.Port != 42047 || len(last.Origins) != len(origins) {
		t.Errorf("last listener on port %d with %d origins; want 42047 with %d", last.Port, len(last.Origins), len(origins))
	}
}
