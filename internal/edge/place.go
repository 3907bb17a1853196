package edge

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// place makes socket k serve pl: unchanged, route swap, or fresh bind.
func (rt *Runtime) place(k sockKey, pl snapshot.Placed) ListenerStatus {
	l := pl.Listener
	st := ListenerStatus{ID: l.ID, ProxyID: pl.Proxy.ID, Addr: k.String(), State: StateRunning}
	e := rt.servers[k]
	if e != nil && e.placed.Proxy.ID == pl.Proxy.ID && e.placed.Listener.Equal(l) {
		e.placed = pl // Same config; keep the newest pointers.
		st.Change = ChangeUnchanged
		return st
	}
	if e != nil {
		old := e.backends
		sticky := rt.stickyFor(e, pl)
		var prev *balance.Picker
		if e.placed.Listener.ID == l.ID {
			prev = e.picker
		}
		r, bs := rt.route(pl, sticky, prev)
		e.srv.Update(r) // Acquire-before-release keeps shared backends alive.
		e.placed, e.backends, e.sticky, e.picker = pl, bs, sticky, r.Picker
		for _, b := range old {
			rt.pool.Release(b)
		}
		st.Change = ChangeUpdated
		return st
	}
	st.Change = ChangeAdded
	sticky := rt.stickyFor(nil, pl)
	r, bs := rt.route(pl, sticky, nil)
	if k.proto == snapshot.ProtoUDP {
		rt.yieldUDP(k.addr) // A listener that will run wins the port over a drain.
	}
	if err := rt.socketBudget(k); err != nil {
		for _, b := range bs {
			rt.pool.Release(b)
		}
		st.State, st.Error = StateFailed, err.Error()
		return st
	}
	srv, err := listen(k, r)
	if err != nil {
		for _, b := range bs {
			rt.pool.Release(b)
		}
		st.State, st.Error = StateFailed, bindError(k.String(), err)
		return st
	}
	rt.servers[k] = &entry{srv: srv, placed: pl, backends: bs, sticky: sticky, picker: r.Picker}
	return st
}

// stickyFor is the persistence table of pl on socket entry e (nil for a
// new socket): its group's, shared by the group's sockets and kept while
// any of them runs with persistence (forgetPersist), or else the socket's own, kept while
// the same listener serves it (another listener taking the port starts
// afresh). Both outlive configuration changes; a client pinned to an
// origin the new configuration lacks is simply picked anew. A socket's own
// table is not kept across a time with persistence off: its pins would
// come back when it is turned on again, though the clients' connections
// meanwhile went wherever the scheduler sent them.
func (rt *Runtime) stickyFor(e *entry, pl snapshot.Placed) *balance.Sticky {
	l := pl.Listener
	if l.PersistGroup != "" && l.SessionPersist > 0 {
		k := persistKey{pl.Proxy.ID, l.PersistGroup}
		s := rt.persist[k]
		if s == nil {
			s = balance.NewSticky()
			rt.persist[k] = s
		}
		return s
	}
	if e != nil && e.placed.Listener.ID == l.ID && e.placed.Listener.PersistGroup == "" && e.placed.Listener.SessionPersist > 0 {
		return e.sticky
	}
	return balance.NewSticky()
}

// forgetPersist drops the tables of groups no running socket with
// persistence is in any more (a rule deleted, set offline or with its
// persistence off starts afresh, as a removed listener's socket does). Draining sockets accept no new clients, so
// they need none: their routes keep their pointer anyway.
func (rt *Runtime) forgetPersist() {
	live := map[persistKey]bool{}
	for _, e := range rt.servers {
		if l := e.placed.Listener; l.PersistGroup != "" && l.SessionPersist > 0 {
			live[persistKey{e.placed.Proxy.ID, l.PersistGroup}] = true
		}
	}
	for k := range rt.persist {
		if !live[k] {
			delete(rt.persist, k)
		}
	}
}

func listen(k sockKey, r *l4.Route) (l4.Server, error) {
	if k.proto == snapshot.ProtoUDP {
		return l4.ListenUDP(k.addr, r)
	}
	return l4.ListenTCP(k.addr, r)
}

// route compiles one listener into an immutable l4.Route, acquiring its
// origins' backends from the pool (the caller releases them later). prev
// is the picker of the listener's route being replaced (nil for a new
// socket, or another listener's): the new one continues its rotation.
func (rt *Runtime) route(pl snapshot.Placed, sticky *balance.Sticky, prev *balance.Picker) (*l4.Route, []*health.Backend) {
	l := pl.Listener
	r := &l4.Route{
		ListenerID: l.ID, Port: l.Port, Proxy: rt.proxies[pl.Proxy.ID].shared,
		Origins: map[string]*l4.Origin{}, ClientIP: l.ClientIP,
		ConnectTimeout: cmp.Or(l.ConnectTimeout, l4.DefaultConnectTimeout),
		IdleTimeout:    cmp.Or(l.IdleTimeout, l4.DefaultTCPIdle),
		Stats:          rt.stats.Get(stats.KindListener, l.ID),
	}
	if l.Protocol == snapshot.ProtoUDP {
		r.IdleTimeout = cmp.Or(l.IdleTimeout, l4.DefaultUDPIdle)
	}
	if l.ClientIP == snapshot.ClientIPTOA {
		r.TOA = rt.opts.TOA
	}
	var targets []*balance.Target
	var bs []*health.Backend
	for _, o := range l.Origins {
		b := rt.pool.Acquire(health.Key{Owner: r.Proxy.Owner, Proto: l.Protocol, Host: o.Host, Port: o.Port, IsDomain: o.IsDomain, Check: l.Health})
		bs = append(bs, b)
		r.Origins[o.ID] = &l4.Origin{ID: o.ID, Backend: b, Stats: rt.stats.Get(stats.KindOrigin, o.ID)}
		targets = append(targets, &balance.Target{ID: o.ID, Weight: o.Weight, Secondary: o.Secondary, Backend: b})
	}
	r.Picker = balance.New(l.Scheduler, targets, l.FailoverSwitch, sticky, l.SessionPersist)
	if (prev == nil || !r.Picker.Continue(prev)) && l.PersistGroup != "" {
		// One of the ports of an EdgeOne rule, each a listener of its own:
		// started at the port, the ports spread their first clients over
		// the rule's origins instead of all sending them to the same one
		// (also when a wrr sequence could not go on from the old picker).
		r.Picker.Offset(uint64(l.Port))
	}
	return r, bs
}

// reindexUsers rebuilds the health key → users index used by events.
func (rt *Runtime) reindexUsers() {
	users := map[health.Key][]string{}
	for _, e := range rt.servers {
		for i, b := range e.backends {
			users[b.Key()] = append(users[b.Key()], snapshot.HealthKey(e.placed.Listener.ID, e.placed.Listener.Origins[i].ID))
		}
	}
	rt.usersL7(users)
	rt.usersMu.Lock()
	rt.users = users
	rt.usersMu.Unlock()
}

// socketBudget refuses to bind socket k when the node already holds
// Options.MaxListeners listening sockets, so that listeners alone cannot
// take the descriptors that connections, origin dials and health checks
// need (limit.Listeners). Draining sockets still hold theirs, and an HTTP
// listener counts two: its QUIC side may bind the UDP port too.
func (rt *Runtime) socketBudget(k sockKey) error {
	n := len(rt.servers) + len(rt.drains)
	if st := rt.http; st != nil {
		n += 2*(len(st.servers)+len(st.drains)) + len(st.quic)
	}
	if budget := rt.opts.MaxListeners; budget > 0 && n >= budget {
		return fmt.Errorf("bind %s: the node holds %d listening sockets, its budget (a quarter of the descriptor limit, RLIMIT_NOFILE); "+
			"raise the limit (LimitNOFILE= in systemd) or remove listeners on this node", k, budget)
	}
	return nil
}

// bindError is a failed bind's reason in the report: the error and, for
// the two causes an operator fixes outside the API, what to do. Both read
// like a port that is merely taken otherwise (listener still coming up,
// task FAIL, retried every second) but never clear up by themselves.
func bindError(what string, err error) string {
	msg := "bind " + what + ": " + err.Error()
	switch {
	case errors.Is(err, syscall.EACCES):
		msg += " (ports below net.ipv4.ip_unprivileged_port_start, 1024 by default, need root or the capability " +
			"CAP_NET_BIND_SERVICE: setcap cap_net_bind_service=+ep on the binary, or AmbientCapabilities= in systemd)"
	case errors.Is(err, syscall.EADDRNOTAVAIL) && strings.Contains(what, "["): // An IPv6 address: [addr]:port.
		msg += " (the access IP is not an address of this machine: --vip-pool-ipv6 must be local, " +
			"e.g. ip -6 route add local <pool> dev lo)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		msg += " (the access IP is not an address of this machine: --vip-pool must be local, " +
			"e.g. ip route add local <pool> dev lo)"
	}
	return msg
}
