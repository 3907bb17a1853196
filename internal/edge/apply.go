package edge

import (
	"fmt"
	"net/netip"
	"reflect"
	"time"

	"github.com/opengaap/opengaap/internal/edge/acl"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// Apply implements Node. It never fails as a whole: invalid objects and
// bind failures are reported per listener while everything else applies.
// Order matters for hitlessness: shared proxy state is updated in place,
// sockets that stay configured get a new route by atomic swap, new sockets
// are bound, and only then are sockets that left the snapshot drained.
func (rt *Runtime) Apply(snap *snapshot.Snapshot) Report {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rep := Report{Version: snap.Version, At: time.Now()}
	if rt.closed {
		rep.Errors = append(rep.Errors, "runtime closed")
		return rep
	}
	bad := map[string]error{} // Invalid listeners and proxies by ID.
	for _, e := range snap.Validate() {
		switch e.Kind {
		case "proxy":
			bad["p/"+e.ID] = e.Err
			rep.invalid(e.ID, e.Error())
		case "mirror": // The mirror engine skips invalid mirrors itself.
			rep.invalid(e.ID, e.Error())
		case "policy": // Its proxy keeps the policy it had (applyProxies).
			bad["sp/"+e.ProxyID] = e.Err
			rep.invalid(e.ID, e.Error())
		default:
			bad["l/"+e.ID] = e.Err
		}
	}
	if rt.opts.TOA == nil {
		for _, pl := range snap.Listeners() {
			if id := "l/" + pl.Listener.ID; pl.Listener.ClientIP == snapshot.ClientIPTOA && bad[id] == nil {
				bad[id] = rt.opts.NoTOA
			}
		}
	}
	rt.setListening(snap)
	recheck := rt.applyProxies(snap, bad)
	rt.applyMirrors(snap, &rep)
	want := rt.desired(snap, bad, &rep)
	for k, e := range rt.servers {
		if _, ok := want[k]; !ok {
			rt.remove(k, e, &rep)
		}
	}
	want7 := rt.removeL7(snap, bad, &rep)
	var replaced []replacedListener
	for k, pl := range want {
		if pl.kept {
			continue
		}
		if e := rt.servers[k]; e != nil && e.placed.Listener.ID != pl.Listener.ID {
			replaced = append(replaced, replacedListener{e.placed.Listener.ID, e.placed.Proxy.ID, k.String()})
		}
		rep.Listeners = append(rep.Listeners, rt.place(k, pl.Placed))
	}
	replaced = rt.placeL7(want7, replaced, &rep)
	rt.retire(replaced, &rep)
	rt.forgetPersist()
	rt.forgetListeners(snap)
	rt.forgetRules(snap)
	rt.forgetOrigins(snap)
	rt.recheck(recheck)
	rt.reindexUsers()
	rep.DroppedEvents = rt.dropped.Load()
	return rep
}

// setListening tells the origin pool every address the node listens on,
// those of snap and those already bound (a listener kept on its previous
// configuration), before any socket of snap binds: no origin connect, UDP
// session or check goes to one of them (health.ErrOwnListener). An origin
// there would be a forwarding loop, each hop a new connection or session.
func (rt *Runtime) setListening(snap *snapshot.Snapshot) {
	rt.listenSnap = snap
	l := health.NewListening()
	for _, a := range rt.reserved {
		l.Add(false, a)
	}
	for _, pl := range snap.Listeners() {
		k := keyOf(pl)
		l.Add(k.proto == snapshot.ProtoUDP, k.addr)
	}
	addHTTP := func(addr netip.AddrPort, http3 bool) {
		l.Add(false, addr)
		if http3 {
			l.Add(true, addr)
		}
	}
	for _, pl := range snap.HTTPListeners() {
		addHTTP(httpKeyOf(pl).addr, pl.Listener.HTTP3)
	}
	for k := range rt.servers {
		l.Add(k.proto == snapshot.ProtoUDP, k.addr)
	}
	if rt.http != nil {
		for k, e := range rt.http.servers {
			addHTTP(k.addr, e.placed.Listener.HTTP3)
		}
	}
	rt.pool.SetListening(l)
}

// applyProxies updates shared per-proxy state in place and returns the
// proxies whose policy changed (their open connections are rechecked).
// An invalid proxy keeps its previous state, and a proxy whose policy is
// invalid its previous policy (none on a node it never ran on): filtering
// by whatever rules remain could let through what a left-out DROP rule
// denies.
func (rt *Runtime) applyProxies(snap *snapshot.Snapshot, bad map[string]error) map[string]bool {
	recheck := map[string]bool{}
	seen := map[string]bool{}
	for i := range snap.Proxies {
		p := &snap.Proxies[i]
		seen[p.ID] = true
		if bad["p/"+p.ID] != nil {
			continue
		}
		ps := rt.proxies[p.ID]
		if ps == nil {
			ps = &proxyState{shared: l4.NewProxy(p.ID, rt.stats.Get(stats.KindProxy, p.ID))}
			ps.shared.Owner = p.Owner
			ps.shared.Node = &rt.node
			rt.proxies[p.ID] = ps
		}
		ps.shared.Conns.SetMax(rt.proxyCap(p.MaxConns))
		ps.shared.BW.SetMbps(p.BandwidthMbps)
		if bad["sp/"+p.ID] == nil && !reflect.DeepEqual(ps.policy, p.Policy) {
			pol, _ := acl.Compile(p.Policy) // Validated above.
			ps.shared.Policy.Store(pol)
			ps.policy = p.Policy
			recheck[p.ID] = true
		}
	}
	for id := range rt.proxies {
		if !seen[id] {
			delete(rt.proxies, id) // Draining routes keep their pointer.
			rt.stats.Forget(stats.KindProxy, id)
		}
	}
	return recheck
}

// recheck closes the open connections and sessions, on both layers,
// whose client the policy of their proxy now denies: every socket of a
// proxy in changed is rechecked, draining ones included (a removed
// listener's connections live on for DrainGrace, and a DROP rule must not
// wait for them). Each connection is checked against the proxy it was
// accepted for.
func (rt *Runtime) recheck(changed map[string]bool) {
	if len(changed) == 0 {
		return
	}
	for _, e := range rt.servers {
		if changed[e.placed.Proxy.ID] {
			e.srv.Recheck()
		}
	}
	for e := range rt.drains {
		if changed[e.placed.Proxy.ID] {
			e.srv.Recheck()
		}
	}
	rt.recheckL7(changed) // apply_http3.go
}

// desired maps each socket to the listener that should serve it. Invalid
// listeners keep their previous config if they had one.
func (rt *Runtime) desired(snap *snapshot.Snapshot, bad map[string]error, rep *Report) map[sockKey]wanted {
	prev := map[string]sockKey{}
	for k, e := range rt.servers {
		prev[e.placed.Listener.ID] = k
	}
	want := map[sockKey]wanted{}
	for _, pl := range snap.Listeners() {
		l := pl.Listener
		if pl.Proxy.Closed {
			continue // Drains if running.
		}
		err := bad["l/"+l.ID]
		if err == nil && bad["p/"+pl.Proxy.ID] != nil {
			err = fmt.Errorf("proxy %s invalid", pl.Proxy.ID)
		}
		if err == nil {
			want[keyOf(pl)] = wanted{Placed: pl}
			continue
		}
		// Reported even when its proxy never ran here (after a restart):
		// it must not read as running.
		st := ListenerStatus{ID: l.ID, ProxyID: pl.Proxy.ID, Addr: keyOf(pl).String(), State: StateInvalid,
			Change: ChangeUnchanged, Error: err.Error()}
		if k, ok := prev[l.ID]; ok && rt.proxies[pl.Proxy.ID] != nil {
			want[k] = wanted{Placed: rt.servers[k].placed, kept: true}
			st.Error += " (previous configuration kept)"
		}
		rep.Listeners = append(rep.Listeners, st)
	}
	return want
}

// wanted is a listener a socket should serve; kept marks an invalid
// listener's previous config, left untouched.
type wanted struct {
	snapshot.Placed
	kept bool
}

func keyOf(pl snapshot.Placed) sockKey {
	ip, err := netip.ParseAddr(pl.Proxy.AccessIP)
	if err != nil {
		ip = netip.IPv4Unspecified()
	}
	return sockKey{pl.Listener.Protocol, netip.AddrPortFrom(ip.Unmap(), uint16(pl.Listener.Port))}
}

// httpKeyOf is the key of an HTTP or HTTPS listener's TCP socket.
func httpKeyOf(pl snapshot.PlacedHTTP) sockKey {
	return keyOf(snapshot.Placed{Proxy: pl.Proxy, Listener: &snapshot.Listener{Protocol: snapshot.ProtoTCP, Port: pl.Listener.Port}})
}

// remove drains a socket that left the snapshot.
func (rt *Runtime) remove(k sockKey, e *entry, rep *Report) {
	delete(rt.servers, k)
	rt.drain(e)
	l := e.placed.Listener
	rep.Listeners = append(rep.Listeners, ListenerStatus{ID: l.ID, ProxyID: e.placed.Proxy.ID,
		Addr: k.String(), State: StateDraining, Change: ChangeRemoved})
}

// replacedListener is a listener (layer 4 or HTTP) whose socket another
// listener took over in this Apply; addr is as reported.
type replacedListener struct {
	id, proxyID, addr string
}

// retire ends listeners that another listener replaced on the same socket
// and that serve nowhere else now: as for a removed socket, they are
// reported removed (forgetListeners forgets their counters), and their
// "closed" event follows at once, since there is no socket to drain (their
// open connections go on under the route they were accepted with, like
// those of any route swap). A listener that moved to another socket in
// the same Apply keeps running there and is left alone.
func (rt *Runtime) retire(replaced []replacedListener, rep *Report) {
	if len(replaced) == 0 {
		return
	}
	running := map[string]bool{}
	for _, e := range rt.servers {
		running[e.placed.Listener.ID] = true
	}
	if rt.http != nil {
		for _, e := range rt.http.servers {
			running[e.placed.Listener.ID] = true
		}
	}
	for _, r := range replaced {
		if running[r.id] {
			continue
		}
		rep.Listeners = append(rep.Listeners, ListenerStatus{ID: r.id, ProxyID: r.proxyID,
			Addr: r.addr, State: StateDraining, Change: ChangeRemoved})
		rt.emit(Event{Kind: EventListener, At: time.Now(), Listener: r.id, State: StateClosed})
	}
}

// forgetListeners drops the counters of listeners that no socket serves
// any more, the one way a listener's counters go: a listener removed or
// replaced, or of a closed proxy, and as well one that never ran (its bind
// failed, or its handler did not build), which registered them all the
// same. A listener that moves to another socket in one Apply keeps them,
// and so does an invalid listener whose previous configuration is kept.
// The candidates are the listeners served after the last Apply and those
// of the snapshot. As for rules, the next Sample still reports the final
// figures.
func (rt *Runtime) forgetListeners(snap *snapshot.Snapshot) {
	now := map[string]bool{}
	for _, e := range rt.servers {
		now[e.placed.Listener.ID] = true
	}
	for _, e := range rt.l7().servers {
		now[e.placed.Listener.ID] = true
	}
	forget := func(id string) {
		if !now[id] {
			rt.stats.Forget(stats.KindListener, id)
		}
	}
	for id := range rt.listeners {
		forget(id)
	}
	for _, pl := range snap.Listeners() {
		forget(pl.Listener.ID)
	}
	for _, pl := range snap.HTTPListeners() {
		forget(pl.Listener.ID)
	}
	rt.listeners = now
}

// forgetOrigins drops the counters of origins that no listener or rule
// uses any more. An origin's counters are shared by every listener bound
// to it, so removing one listener must not drop them (they would vanish
// from samples and /metrics while the others still count).
func (rt *Runtime) forgetOrigins(snap *snapshot.Snapshot) {
	now := snap.OriginIDs()
	for id := range rt.origins {
		if !now[id] {
			rt.stats.Forget(stats.KindOrigin, id)
		}
	}
	rt.origins = now
}

// applyMirrors runs the snapshot's traffic mirrors and attaches each
// proxy's observer (nil detaches it); see internal/edge/mirror.
func (rt *Runtime) applyMirrors(snap *snapshot.Snapshot, rep *Report) {
	taps, err := rt.mirror.Apply(snap.Mirrors)
	if err != nil {
		rep.Errors = append(rep.Errors, "mirrors: "+err.Error())
	}
	for id, ps := range rt.proxies {
		ps.shared.SetTap(taps[id])
	}
}

// proxyCap is the cap on a proxy's connections and UDP sessions: its
// MaxConns (0: none), but at most as many TCP connections as hold half the
// node's client descriptors (Options.MaxClientDescriptors). The node's
// budget alone would let one proxy's clients (a flood of idle connections
// to one listener) take all of it and every other proxy's new clients be
// refused; with the share, it takes at least two proxies.
func (rt *Runtime) proxyCap(maxConns int) int {
	if rt.opts.MaxClientDescriptors <= 0 { // The descriptor limit is unknown.
		return maxConns
	}
	share := max(1, rt.opts.MaxClientDescriptors/4)
	if maxConns <= 0 {
		return share
	}
	return min(maxConns, share)
}
