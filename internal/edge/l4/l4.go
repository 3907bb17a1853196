// Package l4 is the layer-4 forwarding engine: TCP servers that splice
// client and origin sockets together, and UDP servers with a per-client
// session table. Each server owns its socket and serves a Route, an
// immutable configuration swapped atomically by Update; a connection or
// session keeps the Route it started with, so a change never disturbs
// traffic in flight (traefik's switcher idea).
package l4

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/edge/acl"
	"github.com/opengaap/opengaap/internal/edge/balance"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/limit"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/edge/toa"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// Defaults for zero timeouts in a snapshot.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultTCPIdle        = 15 * time.Minute
	DefaultUDPIdle        = 60 * time.Second
)

// Proxy is the state one GAAP proxy shares across its listeners and across
// snapshots: policy, connection cap, bandwidth and counters. The runtime
// updates it in place. Safe for concurrent use.
type Proxy struct {
	ID string
	// Owner is the snapshot's Proxy.Owner, fixed with the ID: the key
	// under which its listeners' origins keep their state (health.Key).
	Owner  string
	Policy atomic.Pointer[acl.Policy] // Nil: accept all.
	Conns  limit.Gate
	// Node is shared by every proxy of the node; nil: no node bound.
	Node  *Node
	BW    *limit.Bandwidth
	Stats *stats.Counters
	tap   atomic.Pointer[tapRef] // Traffic observer (mirroring); nil = none.
}

// Node is the state every proxy of a node shares: the budget of the
// descriptors their clients hold (limit.ClientDescriptors), whatever each
// proxy's cap, and how many UDP sessions hold part of it. Safe for
// concurrent use.
type Node struct {
	FDs limit.Gate
	// Pipes bounds the pipe descriptors splices and mirror tees hold
	// (limit.Pipes): a direction refused one copies through user space.
	Pipes limit.Gate
	udp   atomic.Int64
}

// pipes is the gate of the pipes p's connections hold; nil (no bound)
// without a node.
func (p *Proxy) pipes() *limit.Gate {
	if p.Node == nil {
		return nil
	}
	return &p.Node.Pipes
}

// pipeFDs are the descriptors of one pipe.
const pipeFDs = 2

// UDPSessions is the number of live UDP sessions of every proxy.
func (n *Node) UDPSessions() int64 { return n.udp.Load() }

// Descriptors a client holds, charged to Node.FDs.
const (
	tcpFDs    = 2 // The client's socket and the origin's.
	udpFDs    = 1 // The session's upstream socket; the client's datagrams come through the listener's.
	streamFDs = 1 // A request's origin connection; its client's connection is counted already (or is QUIC's, through the listener's socket).
)

// acquire takes a slot of the proxy's cap and fds descriptors of the
// node's budget, or neither and reports false.
func (p *Proxy) acquire(fds int64) bool {
	if !p.Conns.TryAcquire() {
		return false
	}
	if p.Node != nil && !p.Node.FDs.TryAcquireN(fds) {
		p.Conns.Release()
		return false
	}
	return true
}

// release returns what acquire took.
func (p *Proxy) release(fds int64) {
	if p.Node != nil {
		p.Node.FDs.ReleaseN(fds)
	}
	p.Conns.Release()
}

// ReleaseConn returns what Admit took for a TCP connection.
func (p *Proxy) ReleaseConn() { p.release(tcpFDs) }

// AcquireStream takes what a request of a multiplexed connection (HTTP/2,
// HTTP/3) holds beyond its connection: a slot of the cap, as nginx's
// limit_conn counts each request, and its origin connection's descriptor;
// or neither and reports false. It also admits a QUIC connection, whose
// packets come through the listener's socket. ReleaseStream returns it.
func (p *Proxy) AcquireStream() bool { return p.acquire(streamFDs) }

// ReleaseStream returns what AcquireStream took.
func (p *Proxy) ReleaseStream() { p.release(streamFDs) }

// NewProxy returns unlimited shared state for a proxy.
func NewProxy(id string, c *stats.Counters) *Proxy {
	return &Proxy{ID: id, BW: limit.NewBandwidth(), Stats: c}
}

// Origin is a pickable origin with its shared backend and counters.
type Origin struct {
	ID      string
	Backend *health.Backend
	Stats   *stats.Counters
}

// Route is the immutable configuration a server serves with. Build one per
// listener change; never modify a Route after passing it to a server.
type Route struct {
	ListenerID     string
	Port           int
	Proxy          *Proxy
	Picker         *balance.Picker
	Origins        map[string]*Origin // By target ID.
	ConnectTimeout time.Duration
	IdleTimeout    time.Duration
	ClientIP       snapshot.ClientIPMode
	TOA            *toa.Writer     // Set when ClientIP is TOA.
	Stats          *stats.Counters // The listener's counters.
}

// Admission is Proxy.Admit's verdict on a new connection.
type Admission int8

// Admission verdicts.
const (
	Admitted Admission = iota
	Denied             // By the security policy.
	Refused            // By the connection cap or the node's descriptor budget.
)

// Admit applies the policy, then the connection cap and the node's
// descriptor budget, to a new TCP connection from src to port. On
// Admitted the caller owns a slot of Conns and the connection's share of
// the node's budget, which ReleaseConn returns.
//
// A server admits a connection in the critical section that adds it to
// its set of open connections, under the lock its Recheck lists that set
// with. Apply stores a new policy before it calls Recheck, so each
// connection is either admitted under the new policy or listed, and
// checked, by the recheck. (Admitted first and added after, a connection
// could pass under the old policy, join the set just after the recheck
// listed it, and be served for its whole life.)
func (p *Proxy) Admit(src netip.Addr, port int) Admission {
	if !p.Policy.Load().Allow(src, "TCP", port) {
		return Denied
	}
	if !p.acquire(tcpFDs) {
		return Refused
	}
	return Admitted
}

// admit is Proxy.Admit for a new TCP connection of r, counting refusals.
func (r *Route) admit(src netip.Addr) bool {
	switch r.Proxy.Admit(src, r.Port) {
	case Denied:
		r.counters(nil).Add(denied, 1)
		return false
	case Refused:
		r.counters(nil).Add(refused, 1)
		return false
	}
	return true
}

// pick chooses an origin for src, leaving out tried, or returns nil once
// a connection that failed on tried may try no other (maxConnectTries).
func (r *Route) pick(src netip.Addr, tried ...*balance.Target) (*Origin, *balance.Target) {
	t := r.Picker.PickWithin(src, maxConnectTries, tried...)
	if t == nil {
		return nil, nil
	}
	return r.Origins[t.ID], t
}

// counters is the stats set for an event on this route and origin o.
func (r *Route) counters(o *Origin) stats.Set {
	s := stats.Set{r.Stats, r.Proxy.Stats}
	if o != nil {
		s[2] = o.Stats
	}
	return s
}

// Field selectors for stats.Set.Add.
func bytesIn(c *stats.Counters) *atomic.Int64    { return &c.BytesIn }
func bytesOut(c *stats.Counters) *atomic.Int64   { return &c.BytesOut }
func packetsIn(c *stats.Counters) *atomic.Int64  { return &c.PacketsIn }
func packetsOut(c *stats.Counters) *atomic.Int64 { return &c.PacketsOut }
func active(c *stats.Counters) *atomic.Int64     { return &c.Active }
func newConns(c *stats.Counters) *atomic.Int64   { return &c.NewConns }
func refused(c *stats.Counters) *atomic.Int64    { return &c.Refused }
func denied(c *stats.Counters) *atomic.Int64     { return &c.Denied }
func dialFails(c *stats.Counters) *atomic.Int64  { return &c.DialFails }
func dialCount(c *stats.Counters) *atomic.Int64  { return &c.DialCount }
func dialNanos(c *stats.Counters) *atomic.Int64  { return &c.DialNanos }
func dropped(c *stats.Counters) *atomic.Int64    { return &c.Dropped }
func bounced(c *stats.Counters) *atomic.Int64    { return &c.Bounced }
func shaped(c *stats.Counters) *atomic.Int64     { return &c.Shaped }

// Server is what the runtime holds for each bound socket, TCP or UDP.
type Server interface {
	// Update swaps the route for new connections/sessions.
	Update(*Route)
	// Recheck closes connections/sessions the proxy's current policy denies.
	Recheck()
	// Shutdown stops accepting at once, lets traffic drain for up to grace,
	// then closes what is left; done is closed when everything is closed.
	Shutdown(grace time.Duration) (done <-chan struct{})
	// Abort closes every remaining connection/session now.
	Abort()
	// Addr is the bound local address.
	Addr() netip.AddrPort
}

// Interface guards.
var (
	_ Server = (*TCPServer)(nil)
	_ Server = (*UDPServer)(nil)
)
