package edge

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/l7"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// l7Entry is one bound HTTP(S) socket and the listener it serves.
type l7Entry struct {
	srv    *l7.Server
	h3     *l7.H3Server // QUIC side on the same UDP port; nil without HTTP/3.
	h      *l7.Handler
	placed snapshot.PlacedHTTP
}

// l7State is the runtime's layer-7 half, guarded by Runtime.mu.
type l7State struct {
	env     *l7.Env
	servers map[sockKey]*l7Entry
	drains  map[*l7Entry]<-chan struct{}
	quic    map[netip.AddrPort]quicDrain // Draining QUIC sockets by UDP address (apply_http3.go).
}

func (rt *Runtime) l7() *l7State {
	if rt.http == nil {
		rt.http = &l7State{env: &l7.Env{Pool: rt.pool, Stats: rt.stats, Transports: l7.NewTransports(rt.opts.OriginReadTimeout),
			BodyIdleTimeout: rt.opts.BodyIdleTimeout, SendTimeout: rt.opts.SendTimeout},
			servers: map[sockKey]*l7Entry{}, drains: map[*l7Entry]<-chan struct{}{}, quic: map[netip.AddrPort]quicDrain{}}
	}
	return rt.http
}

// wantedHTTP is an HTTP listener a socket should serve; kept marks an
// invalid listener's previous config, left untouched.
type wantedHTTP struct {
	snapshot.PlacedHTTP
	kept bool
}

// removeL7 works out which sockets HTTP listeners want and drains the
// others. It runs before layer-4 sockets are bound, so a port moving from
// HTTP to TCP is free in time (and placeL7 runs after layer-4 removals
// for the opposite move).
func (rt *Runtime) removeL7(snap *snapshot.Snapshot, bad map[string]error, rep *Report) map[sockKey]wantedHTTP {
	st := rt.l7()
	prev := map[string]sockKey{}
	for k, e := range st.servers {
		prev[e.placed.Listener.ID] = k
	}
	want := map[sockKey]wantedHTTP{}
	for _, pl := range snap.HTTPListeners() {
		l := pl.Listener
		if pl.Proxy.Closed {
			continue
		}
		err := bad["l/"+l.ID]
		if err == nil && bad["p/"+pl.Proxy.ID] != nil {
			err = fmt.Errorf("proxy %s invalid", pl.Proxy.ID)
		}
		k := httpKeyOf(pl)
		if err == nil {
			want[k] = wantedHTTP{PlacedHTTP: pl}
			continue
		}
		ls := ListenerStatus{ID: l.ID, ProxyID: pl.Proxy.ID, Addr: l.Protocol + "/" + k.addr.String(),
			State: StateInvalid, Change: ChangeUnchanged, Error: err.Error()}
		if pk, ok := prev[l.ID]; ok && rt.proxies[pl.Proxy.ID] != nil {
			want[pk] = wantedHTTP{PlacedHTTP: st.servers[pk].placed, kept: true}
			ls.Error += " (previous configuration kept)"
		}
		rep.Listeners = append(rep.Listeners, ls)
	}
	for k, e := range st.servers {
		if _, ok := want[k]; !ok {
			rt.removeHTTP(k, e, rep)
		}
	}
	rt.releaseUDP(want) // apply_http3.go
	return want
}

// placeL7 binds, swaps or keeps each wanted HTTP socket. It appends to
// replaced the listeners whose socket another listener took over, for
// Runtime.retire, and returns it.
func (rt *Runtime) placeL7(want map[sockKey]wantedHTTP, replaced []replacedListener, rep *Report) []replacedListener {
	for k, w := range want {
		if w.kept {
			continue
		}
		e := rt.l7().servers[k]
		var old snapshot.PlacedHTTP
		if e != nil {
			old = e.placed
		}
		ls := rt.placeHTTP(k, w.PlacedHTTP, rep)
		if e != nil && old.Listener.ID != w.Listener.ID && e.placed.Listener.ID == w.Listener.ID {
			replaced = append(replaced, replacedListener{old.Listener.ID, old.Proxy.ID, old.Listener.Protocol + "/" + k.addr.String()})
		}
		rep.Listeners = append(rep.Listeners, ls)
	}
	return replaced
}

// placeHTTP makes socket k serve pl: unchanged, handler swap, or bind.
// A listener whose configuration does not compile (a certificate that does
// not parse) is invalid; its previous handler, if any, keeps serving. The
// domains its handler left out are reported invalid on every pass, so they
// never settle as applied.
func (rt *Runtime) placeHTTP(k sockKey, pl snapshot.PlacedHTTP, rep *Report) ListenerStatus {
	st, l := rt.l7(), pl.Listener
	ls := ListenerStatus{ID: l.ID, ProxyID: pl.Proxy.ID, Addr: l.Protocol + "/" + k.addr.String(), State: StateRunning}
	e := st.servers[k]
	if e != nil && e.placed.Proxy.ID == pl.Proxy.ID && e.placed.Listener.Equal(l) {
		e.placed, ls.Change = pl, ChangeUnchanged
		reportSkipped(e.h, rep)
		rt.syncHTTP3(k, e, &ls) // Retries a failed UDP bind.
		return ls
	}
	h, err := l7.Build(st.env, l, rt.proxies[pl.Proxy.ID].shared)
	if err != nil {
		ls.State, ls.Change, ls.Error = StateInvalid, ChangeUnchanged, err.Error()
		if e != nil {
			ls.Error += " (previous configuration kept)"
		}
		return ls
	}
	reportSkipped(h, rep)
	if e != nil {
		old := e.h
		h.Continue(old)
		e.srv.Update(h) // Acquire-before-release keeps shared backends alive.
		e.h, e.placed = h, pl
		ls.Change = ChangeUpdated
		rt.syncHTTP3(k, e, &ls) // The QUIC side off old first: it may start requests on it.
		old.Release()
		return ls
	}
	ls.Change = ChangeAdded
	if err := rt.socketBudget(k); err != nil {
		h.Release()
		ls.State, ls.Error = StateFailed, err.Error()
		return ls
	}
	srv, err := l7.Listen(k.addr, h)
	if err != nil {
		h.Release()
		ls.State, ls.Error = StateFailed, bindError(k.String(), err)
		return ls
	}
	e = &l7Entry{srv: srv, h: h, placed: pl}
	st.servers[k] = e
	rt.syncHTTP3(k, e, &ls)
	return ls
}

func reportSkipped(h *l7.Handler, rep *Report) {
	for id, why := range h.Skipped {
		rep.invalid(id, why)
	}
}

// removeHTTP drains a socket that left the snapshot.
func (rt *Runtime) removeHTTP(k sockKey, e *l7Entry, rep *Report) {
	st := rt.l7()
	delete(st.servers, k)
	done := rt.shutdownL7(k, e, rt.opts.DrainGrace)
	st.drains[e] = done
	id := e.placed.Listener.ID
	rt.bg.Add(1)
	go func() {
		defer rt.bg.Done()
		<-done
		rt.mu.Lock()
		delete(st.drains, e)
		rt.mu.Unlock()
		e.h.Release()
		rt.emit(Event{Kind: EventListener, At: time.Now(), Listener: id, State: StateClosed})
	}()
	rep.Listeners = append(rep.Listeners, ListenerStatus{ID: id, ProxyID: e.placed.Proxy.ID,
		Addr: e.placed.Listener.Protocol + "/" + k.addr.String(), State: StateDraining, Change: ChangeRemoved})
}

// forgetRules drops the counters of rules that no installed handler has
// any more: a rule deleted from its listener, the rules of a listener
// removed or replaced and those of a closed proxy. As for listeners, the
// next Sample still reports their final figures; what requests still in
// flight on a draining handler count after it goes unreported. The rules of
// an invalid listener whose previous handler is kept stay. The snapshot's
// rules are candidates too: a handler that failed to build registered
// them, though it was never installed.
func (rt *Runtime) forgetRules(snap *snapshot.Snapshot) {
	now := map[string]bool{}
	for _, e := range rt.l7().servers {
		for _, id := range e.h.RuleIDs() {
			now[id] = true
		}
	}
	forget := func(id string) {
		if !now[id] {
			rt.stats.Forget(stats.KindRule, id)
		}
	}
	for id := range rt.rules {
		forget(id)
	}
	for _, pl := range snap.HTTPListeners() {
		for _, d := range pl.Listener.Domains {
			for _, r := range d.Rules {
				forget(r.ID)
			}
		}
	}
	rt.rules = now
}

// closeL7 shuts every HTTP socket for Runtime.Close and returns what to
// wait for.
func (rt *Runtime) closeL7(grace time.Duration) []<-chan struct{} {
	st := rt.l7()
	dones := st.cutQUIC(grace)
	for k, e := range st.servers {
		dones = append(dones, rt.shutdownL7(k, e, grace))
		e.h.Release()
		delete(st.servers, k)
	}
	for e, d := range st.drains {
		dones = append(dones, d)
		time.AfterFunc(max(grace, 0), e.srv.Abort)
	}
	return dones
}

// healthL7 adds "ruleID/originID" health to out: an HTTP origin is bound
// to a rule, whose ID is what the API reports its health under.
func (rt *Runtime) healthL7(out map[string]OriginHealth) {
	for _, e := range rt.l7().servers {
		for id, b := range e.h.Backends() {
			out[id] = originHealth(b.Status())
		}
	}
}

// usersL7 adds the HTTP origins to the health events' user index.
func (rt *Runtime) usersL7(users map[health.Key][]string) {
	for _, e := range rt.l7().servers {
		for id, b := range e.h.Backends() {
			users[b.Key()] = append(users[b.Key()], id)
		}
	}
}
