package edge

import (
	"net/netip"
	"time"

	"github.com/opengaap/opengaap/internal/edge/l7"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// noTLS13 is the status message of a listener that asks for HTTP/3 while
// its TLS versions exclude TLS 1.3 (l7.ServesHTTP3): it runs on TCP only.
const noTLS13 = "HTTP/3 not served: the listener's TLS versions exclude TLS 1.3, the only version QUIC speaks"

// syncHTTP3 makes the UDP side of an HTTP socket match its listener: bound
// and serving the entry's handler when the listener serves HTTP/3, drained
// otherwise. A changed listener keeps its UDP socket and QUIC connections
// (handler swap). A bind failure marks the listener failed while its TCP
// side keeps serving; the next Apply retries the bind, as for any failed
// bind.
func (rt *Runtime) syncHTTP3(k sockKey, e *l7Entry, ls *ListenerStatus) {
	if e.h3 != nil {
		e.h3.Update(e.h) // One about to drain too: streams opened before its GOAWAY get today's rules.
	}
	switch l := e.placed.Listener; {
	case !l7.ServesHTTP3(l):
		rt.drainHTTP3(k.addr, e, rt.opts.DrainGrace)
		if l.HTTP3 {
			ls.Error = noTLS13
		}
	case e.h3 == nil:
		rt.yieldUDP(k.addr) // HTTP/3 back on while its last socket drains.
		h3, err := l7.ListenHTTP3(k.addr, e.h)
		if err != nil {
			ls.State, ls.Error = StateFailed, bindError("UDP/"+k.addr.String()+" (HTTP/3)", err)
			return
		}
		e.h3 = h3
	}
}

// quicDrain is a QUIC side draining on its UDP socket, and the proxy of
// the listener it served (Runtime.recheck).
type quicDrain struct {
	srv   *l7.H3Server
	proxy string
}

// drainHTTP3 detaches an entry's QUIC side, if any, and drains it for
// grace (l7.H3Server.Shutdown: GOAWAY, in-flight requests finish). The
// UDP port stays bound meanwhile, unless a listener claims it (yieldUDP).
// It returns nil when there was no QUIC side.
func (rt *Runtime) drainHTTP3(addr netip.AddrPort, e *l7Entry, grace time.Duration) <-chan struct{} {
	q := e.h3
	if q == nil {
		return nil
	}
	e.h3 = nil
	st := rt.l7()
	st.quic[addr] = quicDrain{q, e.placed.Proxy.ID}
	done := q.Shutdown(grace)
	rt.bg.Add(1)
	go func() {
		defer rt.bg.Done()
		<-done
		rt.mu.Lock()
		if st.quic[addr].srv == q {
			delete(st.quic, addr)
		}
		rt.mu.Unlock()
	}()
	return done
}

// yieldUDP closes the draining socket on addr, if any (a QUIC side or a
// removed UDP listener), releasing the port at once: a configured listener
// wins over a drain.
func (rt *Runtime) yieldUDP(addr netip.AddrPort) {
	st := rt.l7()
	if q, ok := st.quic[addr]; ok {
		q.srv.Close()
		delete(st.quic, addr)
	}
	for e := range rt.drains {
		if k := keyOf(e.placed); k.proto == snapshot.ProtoUDP && k.addr == addr {
			e.srv.Abort() // Closes the socket now; its drain watcher then ends.
		}
	}
}

// releaseUDP drains the QUIC side of sockets whose next configuration
// serves no HTTP/3. It runs with the L7 removals, before layer-4 binds,
// which yield their ports (yieldUDP) in place.
func (rt *Runtime) releaseUDP(want map[sockKey]wantedHTTP) {
	for k, e := range rt.l7().servers {
		if w, ok := want[k]; ok && !w.kept && !l7.ServesHTTP3(w.Listener) {
			rt.drainHTTP3(k.addr, e, rt.opts.DrainGrace)
		}
	}
}

// shutdownL7 stops both sides of an entry: the TCP socket and the QUIC
// side drain for grace. done is closed when both are gone.
func (rt *Runtime) shutdownL7(k sockKey, e *l7Entry, grace time.Duration) <-chan struct{} {
	done := e.srv.Shutdown(grace)
	quic := rt.drainHTTP3(k.addr, e, grace)
	if quic == nil {
		return done
	}
	both := make(chan struct{})
	go func() {
		<-done
		<-quic
		close(both)
	}()
	return both
}

// cutQUIC closes every QUIC drain at grace, for Runtime.Close, and returns
// what to wait for.
func (st *l7State) cutQUIC(grace time.Duration) []<-chan struct{} {
	var dones []<-chan struct{}
	for _, q := range st.quic {
		dones = append(dones, q.srv.Shutdown(grace)) // Already draining: its done.
		time.AfterFunc(max(grace, 0), func() { q.srv.Close() })
	}
	return dones
}

// recheckL7 is Runtime.recheck's HTTP half: the TCP and QUIC sides of
// the sockets of the proxies in changed, serving or draining.
func (rt *Runtime) recheckL7(changed map[string]bool) {
	st := rt.l7()
	for _, e := range st.servers {
		if changed[e.placed.Proxy.ID] {
			e.srv.Recheck()
			if e.h3 != nil {
				e.h3.Recheck()
			}
		}
	}
	for e := range st.drains { // Their QUIC side drains in st.quic.
		if changed[e.placed.Proxy.ID] {
			e.srv.Recheck()
		}
	}
	for _, q := range st.quic {
		if changed[q.proxy] {
			q.srv.Recheck()
		}
	}
}
