package edge

import (
	"time"

	"github.com/opengaap/opengaap/internal/edge/l7"
)

// syncHTTP3 makes the UDP side of an HTTP socket match its listener: bound
// and serving the entry's handler when the listener has HTTP/3, closed
// otherwise. A changed listener keeps its UDP socket and QUIC connections
// (handler swap). A bind failure marks the listener failed while its TCP
// side keeps serving; the next Apply retries the bind, as for any failed
// bind.
func (rt *Runtime) syncHTTP3(k sockKey, e *l7Entry, ls *ListenerStatus) {
	switch {
	case !e.placed.Listener.HTTP3:
		closeHTTP3(e)
	case e.h3 != nil:
		e.h3.Update(e.h)
	default:
		h3, err := l7.ListenHTTP3(k.addr, e.h)
		if err != nil {
			ls.State, ls.Error = StateFailed, "bind UDP/"+k.addr.String()+" (HTTP/3): "+err.Error()
			return
		}
		e.h3 = h3
	}
}

// closeHTTP3 closes an entry's QUIC side, if any, releasing the UDP port
// at once; its request handlers end in the background.
func closeHTTP3(e *l7Entry) {
	if e.h3 != nil {
		e.h3.Close()
		e.h3 = nil
	}
}

// releaseUDP closes the QUIC side of sockets whose next configuration has
// no HTTP/3. It runs with the L7 removals, before layer-4 binds, so the UDP
// port can pass to a UDP listener in the same Apply.
func (rt *Runtime) releaseUDP(want map[sockKey]wantedHTTP) {
	for k, e := range rt.l7().servers {
		if w, ok := want[k]; ok && !w.kept && !w.Listener.HTTP3 {
			closeHTTP3(e)
		}
	}
}

// shutdownL7 stops both sides of an entry: the TCP socket drains for
// grace, the QUIC side closes now (its connections live on the socket).
// done is closed when both are gone.
func shutdownL7(e *l7Entry, grace time.Duration) <-chan struct{} {
	done := e.srv.Shutdown(grace)
	if e.h3 == nil {
		return done
	}
	quic := e.h3.Close()
	both := make(chan struct{})
	go func() {
		<-done
		<-quic
		close(both)
	}()
	return both
}

// recheckL7 closes HTTP connections (TCP and QUIC) whose client the proxy's
// policy now denies. A proxy's compiled policy is replaced only when the
// policy changed (applyProxies), so a new pointer means "recheck"; each
// entry remembers the one it last checked against.
func (rt *Runtime) recheckL7() {
	for _, e := range rt.l7().servers {
		pol := e.h.Proxy.Policy.Load()
		if pol == e.policy {
			continue
		}
		e.policy = pol
		e.srv.Recheck()
		if e.h3 != nil {
			e.h3.Recheck()
		}
	}
}
