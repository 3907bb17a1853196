package controller

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// index gives the compiler typed access to a State.
type index struct {
	st          *State
	realServers map[string]*model.RealServer
	policies    map[string]*model.SecurityPolicy // by owner (proxy or group) ID
	listeners   map[string][]*model.Listener     // by owner (proxy or group) ID
	unit        int                              // connections per unit of Concurrent
}

func newIndex(st *State, unit int) *index {
	ix := &index{st: st, unit: unit, realServers: map[string]*model.RealServer{},
		policies: map[string]*model.SecurityPolicy{}, listeners: map[string][]*model.Listener{}}
	for _, o := range st.Objects[model.KindRealServer] {
		rs := o.(*model.RealServer)
		ix.realServers[rs.ID] = rs
	}
	for _, o := range st.Objects[model.KindPolicy] {
		p := o.(*model.SecurityPolicy)
		ix.policies[p.Parent()] = p
	}
	for _, o := range st.Objects[model.KindListener] {
		l := o.(*model.Listener)
		ix.listeners[l.Owner()] = append(ix.listeners[l.Owner()], l)
	}
	return ix
}

// leftOut names the loaded objects Compile leaves out because a row they
// hang on is not loaded (it did not decode, State.Undecodable, or is not
// stored), with why: the listeners of a proxy, the domains and rules of a
// listener, the rules of a domain (by host). Nothing serves them, so they
// count as failed as that row does instead of settling as applied. Those
// being deleted are not named: their removal is what was asked for.
func leftOut(st *State) map[string]string {
	out, loaded, hosts := map[string]string{}, map[string]bool{}, map[string]bool{}
	for _, k := range []string{model.KindProxy, model.KindListener} {
		for _, o := range st.Objects[k] {
			loaded[o.Meta().ID] = true
		}
	}
	// why tells whether the object id of kind is left out, and why.
	why := func(kind, id string) (string, bool) {
		w, left := out[id]
		if !left && !loaded[id] {
			w, left = cmp.Or(st.Undecodable[id], "not stored"), true
		}
		if !left { // The usual case, every pass: nothing to format.
			return "", false
		}
		return fmt.Sprintf("its %s %s is left out: %s", kind, id, w), true
	}
	for _, o := range st.Objects[model.KindListener] {
		l := o.(*model.Listener)
		// A group's listeners run on its members, whatever its own row.
		if l.ProxyID == "" || l.Status == model.StatusDeleting {
			continue
		}
		if w, ok := why("proxy", l.ProxyID); ok {
			out[l.ID] = w
		}
	}
	for _, o := range st.Objects[model.KindDomain] {
		d := o.(*model.Domain)
		hosts[d.ListenerID+"/"+d.Host] = true
		if d.Status == model.DomainDeleting {
			continue
		}
		if w, ok := why("listener", d.ListenerID); ok {
			out[d.ID] = w
		}
	}
	for _, o := range st.Objects[model.KindRule] {
		r := o.(*model.Rule)
		if r.Status == model.StatusDeleting {
			continue
		}
		if w, ok := why("listener", r.ListenerID); ok {
			out[r.ID] = w
		} else if !hosts[r.ListenerID+"/"+strings.ToLower(r.Domain)] {
			out[r.ID] = fmt.Sprintf("its domain %s is left out: not loaded", r.Domain)
		}
	}
	return out
}

// compileL4 is Compile without HTTP(S) listeners (see compile_l7.go).
func compileL4(ix *index) *snapshot.Snapshot {
	st := ix.st
	snap := &snapshot.Snapshot{Version: st.Revision}
	for _, o := range st.Objects[model.KindProxy] {
		p := o.(*model.Proxy)
		if p.Status == model.ProxyDestroying {
			continue
		}
		snap.Proxies = append(snap.Proxies, ix.proxy(p))
	}
	snap.Proxies = append(snap.Proxies, ix.teoProxies()...)
	snap.Mirrors = ix.mirrors(snap.Proxies)
	return snap
}

func (ix *index) proxy(p *model.Proxy) snapshot.Proxy {
	sp := snapshot.Proxy{
		ID: p.ID, AccessIP: p.IP, Owner: p.Account, BandwidthMbps: int(p.Bandwidth), MaxConns: int(p.Concurrent) * ix.unit, Group: p.GroupID,
		Closed: p.Closed || p.Status == model.ProxyClosing || p.Status == model.ProxyClosed || p.Banned(),
	}
	owners := []string{p.ID}
	if p.GroupID != "" {
		owners = append(owners, p.GroupID)
	}
	for _, owner := range owners {
		if pol, ok := ix.policies[owner]; ok && sp.Policy == nil {
			sp.Policy = policy(pol)
		}
		for _, l := range ix.listeners[owner] {
			if l.IsL7() || l.Status == model.StatusDeleting {
				continue
			}
			sl := ix.listener(l)
			if owner != p.ID {
				sl.ID = snapshot.GroupInstanceID(l.ID, p.ID)
			}
			sp.Listeners = append(sp.Listeners, sl)
		}
	}
	return sp
}

func (ix *index) listener(l *model.Listener) snapshot.Listener {
	sl := snapshot.Listener{
		ID: l.ID, Protocol: l.Protocol, Port: int(l.Port), Scheduler: l.Scheduler,
		SessionPersist: time.Duration(l.SessionPersist) * time.Second,
		FailoverSwitch: l.FailoverSwitch == 1,
		Health: snapshot.HealthCheck{
			Enabled:  l.HealthCheck == 1,
			Interval: time.Duration(l.DelayLoop) * time.Second, Timeout: time.Duration(l.ConnectTimeout) * time.Second,
			Healthy: int(l.HealthyThreshold), Unhealthy: int(l.UnhealthyThreshold),
		},
	}
	if l.Protocol == model.UDP {
		sl.Health.CheckType, sl.Health.ContextType = l.CheckType, l.ContextType
		sl.Health.Send, sl.Health.Recv, sl.Health.Port = l.SendContext, l.RecvContext, int(l.CheckPort)
	}
	if l.TOA() {
		sl.ClientIP = snapshot.ClientIPTOA
	}
	if l.ProxyProtocol() {
		// GAAP's Proxy Protocol is the v1 text header on TCP; UDP has only v2.
		sl.ClientIP = snapshot.ClientIPPPV1
		if l.Protocol == model.UDP {
			sl.ClientIP = snapshot.ClientIPPPV2
		}
	}
	ids := model.OriginIDs(l.Bindings)
	for i, b := range l.Bindings {
		rs, ok := ix.realServers[b.RealServerID]
		if !ok {
			continue
		}
		sl.Origins = append(sl.Origins, snapshot.Origin{
			ID: ids[i], Host: rs.Address, IsDomain: rs.IsDomain, Port: int(b.Port), Weight: int(b.Weight),
			Secondary: b.Role == model.RoleSlave,
		})
	}
	return sl
}

// policy compiles a security policy; only a bound (or binding) policy is
// enforced.
func policy(p *model.SecurityPolicy) *snapshot.SecurityPolicy {
	sp := &snapshot.SecurityPolicy{ID: p.ID, DefaultAction: strings.ToUpper(p.DefaultAction),
		Enabled: p.Status == model.PolicyBound || p.Status == model.PolicyBinding}
	for _, r := range p.Rules {
		sp.Rules = append(sp.Rules, snapshot.SecurityRule{SourceCIDR: r.SourceCidr, Protocol: strings.ToUpper(r.Protocol),
			DestPorts: r.DestPortRange, Action: strings.ToUpper(r.Action)})
	}
	return sp
}
