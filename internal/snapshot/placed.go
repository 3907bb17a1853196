package snapshot

import "reflect"

// Placed is a listener together with the proxy it belongs to.
type Placed struct {
	Proxy    *Proxy
	Listener *Listener
}

// Equal reports whether two listeners are configured identically.
func (l *Listener) Equal(o *Listener) bool { return reflect.DeepEqual(l, o) }

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
