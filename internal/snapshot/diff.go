package snapshot

import (
	"reflect"
	"slices"
)

// Delta lists listener IDs (layer-4 and HTTP/HTTPS alike) by what happened
// to them between two snapshots.
// A listener counts as Changed when its own fields or its proxy's AccessIP
// or Closed flag changed; proxy-wide settings (bandwidth, connection cap,
// policy) are reported in ProxiesChanged because the edge updates them in
// place without touching listeners.
type Delta struct {
	Added, Removed, Changed, Unchanged []string
	ProxiesChanged                     []string
}

// Empty reports whether nothing changed.
func (d Delta) Empty() bool {
	return len(d.Added)+len(d.Removed)+len(d.Changed)+len(d.ProxiesChanged) == 0
}

// Diff compares two snapshots by stable IDs. Either may be nil (empty).
// Result slices are sorted.
func Diff(old, cur *Snapshot) Delta {
	ol, op := index(old)
	nl, np := index(cur)
	var d Delta
	classify(&d, ol, nl)
	for id, n := range np {
		if o, ok := op[id]; ok && !o.SameShared(n) {
			d.ProxiesChanged = append(d.ProxiesChanged, id)
		}
	}
	d.addHTTP(old, cur) // diff_l7.go
	for _, s := range []*[]string{&d.Added, &d.Removed, &d.Changed, &d.Unchanged, &d.ProxiesChanged} {
		slices.Sort(*s)
	}
	return d
}

// Placed is a listener together with the proxy it belongs to.
type Placed struct {
	Proxy    *Proxy
	Listener *Listener
}

func (a Placed) equal(b Placed) bool {
	return samePlace(a.Proxy, b.Proxy) && a.Listener.Equal(b.Listener)
}

// samePlace reports whether two proxies place a listener identically: same
// proxy, access IP and Closed flag (layer-4 and HTTP listeners alike).
func samePlace(a, b *Proxy) bool {
	return a.ID == b.ID && a.AccessIP == b.AccessIP && a.Closed == b.Closed
}

// Equal reports whether two listeners are configured identically.
func (l *Listener) Equal(o *Listener) bool { return reflect.DeepEqual(l, o) }

// SameShared reports whether the proxy-wide settings that the edge applies
// in place (bandwidth, connection cap, policy) are identical.
func (p *Proxy) SameShared(o *Proxy) bool {
	return p.BandwidthMbps == o.BandwidthMbps && p.MaxConns == o.MaxConns &&
		reflect.DeepEqual(p.Policy, o.Policy)
}

func index(s *Snapshot) (map[string]Placed, map[string]*Proxy) {
	ls, ps := map[string]Placed{}, map[string]*Proxy{}
	if s == nil {
		return ls, ps
	}
	for i := range s.Proxies {
		p := &s.Proxies[i]
		ps[p.ID] = p
		for j := range p.Listeners {
			ls[p.Listeners[j].ID] = Placed{p, &p.Listeners[j]}
		}
	}
	return ls, ps
}

// Listeners returns every listener with its proxy, in snapshot order.
func (s *Snapshot) Listeners() []Placed {
	var out []Placed
	for i := range s.Proxies {
		p := &s.Proxies[i]
		for j := range p.Listeners {
			out = append(out, Placed{p, &p.Listeners[j]})
		}
	}
	return out
}

// OriginIDs returns the IDs of every origin a listener or rule uses.
func (s *Snapshot) OriginIDs() map[string]bool {
	ids := map[string]bool{}
	for _, pl := range s.Listeners() {
		for _, o := range pl.Listener.Origins {
			ids[o.ID] = true
		}
	}
	for _, pl := range s.HTTPListeners() {
		for _, d := range pl.Listener.Domains {
			for _, r := range d.Rules {
				for _, o := range r.Origins {
					ids[o.ID] = true
				}
			}
		}
	}
	return ids
}
