package controller

import (
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// teoProxies compiles EdgeOne L4 proxies: the same engine as GAAP, one
// listener per port of every rule span, so each port keeps its own socket
// and counters, while the rule's ports share session persistence
// (PersistGroup). Port Start+k of a ranged span goes to origin port
// OriginStart+k; otherwise every port goes to OriginStart.
func (ix *index) teoProxies() []snapshot.Proxy {
	paused := map[string]bool{}
	for _, o := range ix.st.Objects[model.KindTeoZone] {
		z := o.(*model.TeoZone)
		paused[z.ID] = z.Paused
	}
	groups := map[string]*model.TeoOriginGroup{}
	for _, o := range ix.st.Objects[model.KindTeoOriginGroup] {
		g := o.(*model.TeoOriginGroup)
		groups[g.ID] = g
	}
	rules := map[string][]*model.TeoL4Rule{}
	for _, o := range ix.st.Objects[model.KindTeoL4Rule] {
		r := o.(*model.TeoL4Rule)
		rules[r.ProxyID] = append(rules[r.ProxyID], r)
	}
	var out []snapshot.Proxy
	for _, o := range ix.st.Objects[model.KindTeoL4Proxy] {
		p := o.(*model.TeoL4Proxy)
		sp := snapshot.Proxy{ID: p.ID, AccessIP: p.IP, Owner: p.Account, Closed: !p.Serving() || paused[p.ZoneID]}
		for _, r := range rules[p.ID] {
			if r.Listening() {
				sp.Listeners = append(sp.Listeners, teoListeners(r, groups)...)
			}
		}
		out = append(out, sp)
	}
	return out
}

func teoListeners(r *model.TeoL4Rule, groups map[string]*model.TeoOriginGroup) []snapshot.Listener {
	origins, weighted := teoOrigins(r, groups)
	base := snapshot.Listener{
		Protocol: r.Protocol, Scheduler: snapshot.SchedRR,
		SessionPersist: time.Duration(r.SessionPersistSeconds()) * time.Second,
		// Persistence is a setting of the rule: its ports share one table.
		PersistGroup: r.ID,
		// teo has no health-check settings: TCP connect checks with the
		// defaults keep dead origins out of rotation.
		Health: snapshot.HealthCheck{Enabled: r.Protocol == model.TCP},
	}
	if weighted {
		base.Scheduler = snapshot.SchedWRR
	}
	switch r.ClientIPMode {
	case "TOA":
		base.ClientIP = snapshot.ClientIPTOA
	case "PPV1":
		base.ClientIP = snapshot.ClientIPPPV1
	case "PPV2":
		base.ClientIP = snapshot.ClientIPPPV2
	case "SPP":
		base.ClientIP = snapshot.ClientIPSPP
	}
	var out []snapshot.Listener
	for _, m := range r.PortMaps() {
		// The API refuses wider rules; the bound holds for any stored
		// before it did. The (port, origin) bound is not applied here:
		// the API refuses new and grown rules past it, and a rule stored
		// before it keeps serving every port it served (cutting it would
		// silently drop ports of a rule that reads online).
		for port := m.Start; port <= m.End && len(out) < model.TeoMaxRulePorts; port++ {
			l := base
			l.ID = snapshot.PortInstanceID(r.ID, port)
			l.Port = port
			originPort := m.OriginStart
			if m.Ranged {
				originPort += port - m.Start
			}
			l.Origins = make([]snapshot.Origin, len(origins))
			for i, o := range origins {
				o.Port = originPort
				l.Origins[i] = o
			}
			out = append(out, l)
		}
	}
	return out
}

// teoOrigins resolves a rule's origins (ports are filled per listener) and
// reports whether any carries a weight.
func teoOrigins(r *model.TeoL4Rule, groups map[string]*model.TeoOriginGroup) ([]snapshot.Origin, bool) {
	if r.OriginType != "ORIGIN_GROUP" {
		out := make([]snapshot.Origin, 0, len(r.OriginValue))
		for i := range r.OriginValue {
			out = append(out, snapshot.Origin{ID: r.OriginID(i), Host: r.OriginHost(i), IsDomain: r.OriginIsDomain, Weight: 1})
		}
		return out, false
	}
	g, ok := groups[first(r.OriginValue)]
	if !ok {
		return nil, false
	}
	weighted := false
	out := make([]snapshot.Origin, 0, len(g.Records))
	for _, rec := range g.Records {
		w := 1
		if rec.Weight != nil {
			w, weighted = int(*rec.Weight), true
		}
		// The record's health series is keyed by group and record, so
		// the origin carries that key (telemetry writes the series).
		out = append(out, snapshot.Origin{ID: model.TeoOriginHealthObject(g.ID, rec.ID), Host: rec.Addr(),
			IsDomain: rec.IsDomain, Weight: w})
	}
	return out, weighted
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
