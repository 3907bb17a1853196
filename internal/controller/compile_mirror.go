package controller

import (
	"slices"
	"sort"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// mirrors compiles running VPC traffic mirrors into the data plane's form
// (docs/dataplane-mirror.md). The model's filters fold into one ordered
// rule list per direction (model.TrafficMirror.EffectiveRules); a
// direction with no rules is not copied, and a mirror that copies neither
// direction, or whose sources are all gone, is left out. A STOPED mirror
// is simply absent: the edge stops copying when it leaves the snapshot.
// proxies are the snapshot's: a source on a proxy not among them (one
// destroyed), or on a listener deleted since, copies nothing.
func (ix *index) mirrors(proxies []snapshot.Proxy) []snapshot.Mirror {
	groups := make(map[string]string, len(proxies)) // Proxy ID → its group, "" for none.
	for _, p := range proxies {
		groups[p.ID] = p.Group
	}
	var out []snapshot.Mirror
	for _, o := range ix.st.Objects[model.KindTrafficMirror] {
		m := o.(*model.TrafficMirror)
		if !m.Running() {
			continue
		}
		if sm, ok := ix.mirror(m, groups); ok {
			out = append(out, sm)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (ix *index) mirror(m *model.TrafficMirror, groups map[string]string) (snapshot.Mirror, bool) {
	sm := snapshot.Mirror{ID: m.ID, VNI: m.VNI(), AlgHash: m.Target.AlgHash}
	in, out := m.EffectiveRules(model.DirIngress), m.EffectiveRules(model.DirEgress)
	switch {
	case len(in) > 0 && len(out) > 0:
		sm.Direction = snapshot.MirrorAll
	case len(in) > 0:
		sm.Direction = snapshot.MirrorIngress
	case len(out) > 0:
		sm.Direction = snapshot.MirrorEgress
	default:
		return sm, false
	}
	sm.Filters = append(mirrorFilters(snapshot.MirrorIngress, in), mirrorFilters(snapshot.MirrorEgress, out)...)
	for _, c := range m.Target.Collectors() {
		sm.Targets = append(sm.Targets, snapshot.MirrorTarget{IP: c.IP, Port: c.Port})
	}
	for _, ref := range m.Sources {
		group, ok := groups[ref.ProxyID]
		if !ok {
			continue
		}
		if id, ok := ix.mirrorListenerID(ref, group); ok {
			sm.Sources = append(sm.Sources, snapshot.MirrorSource{ProxyID: ref.ProxyID, ListenerID: id})
		}
	}
	return sm, len(sm.Sources) > 0 && len(sm.Targets) > 0
}

// mirrorListenerID is the snapshot ID of a listener source on its proxy
// (in group, "" for none): a group listener runs on each member proxy
// under snapshot.GroupInstanceID. ok is false for a listener that is gone.
func (ix *index) mirrorListenerID(ref model.MirrorSourceRef, group string) (id string, ok bool) {
	if ref.ListenerID == "" {
		return "", true
	}
	has := func(owner string) bool {
		return owner != "" && slices.ContainsFunc(ix.listeners[owner], func(l *model.Listener) bool { return l.ID == ref.ListenerID })
	}
	switch {
	case has(ref.ProxyID):
		return ref.ListenerID, true
	case has(group):
		return snapshot.GroupInstanceID(ref.ListenerID, ref.ProxyID), true
	}
	return "", false
}

func mirrorFilters(dir string, rules []model.MirrorFilterRule) []snapshot.MirrorFilter {
	out := make([]snapshot.MirrorFilter, 0, len(rules))
	for _, r := range rules {
		out = append(out, snapshot.MirrorFilter{Direction: dir, SrcCIDR: r.SrcNet, DstCIDR: r.DstNet,
			Protocol: r.Protocol, SrcPorts: mirrorPorts(r.SrcPort), DstPorts: mirrorPorts(r.DstPort), Action: r.Action})
	}
	return out
}

// mirrorPorts maps 1-65535 (the model's "any") to the zero range.
func mirrorPorts(r model.PortRange) snapshot.PortRange {
	if r.Min <= 1 && r.Max >= 65535 {
		return snapshot.PortRange{}
	}
	return snapshot.PortRange{Lo: r.Min, Hi: r.Max}
}
