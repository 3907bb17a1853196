// Package edge is the data plane runtime: it turns immutable snapshots into
// running listeners. Runtime.Apply diffs a snapshot against what runs, by
// stable IDs and socket addresses, and touches only what changed; sockets,
// origin health, UDP sessions, persistence tables and counters live in pools
// that outlive snapshots.
//
// The edge imports the snapshot contract and libraries only — never the
// store, the API packages, the domain model or database/sql (deps_test.go
// enforces it) — so the control plane can drive it in process today and over
// a network later through the Node interface.
package edge

import (
	"context"
	"net"
	"time"

	"github.com/opengaap/opengaap/internal/edge/limit"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/edge/toa"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// Node is what a controller needs from an edge node. Every argument and
// result is plain data (JSON-encodable), so a remote transport can carry it.
type Node interface {
	// Apply makes snap the desired state and returns what happened, per
	// listener (the ACK/NACK). Calls are serialised.
	Apply(snap *snapshot.Snapshot) Report
	// Events delivers asynchronous observations: origin health flips and
	// listeners finishing their drain. The channel is closed by Close.
	Events() <-chan Event
	// Stats returns cumulative counters and changes nothing: any number
	// of readers (/metrics) may call it.
	Stats() stats.Sample
	// Sample returns cumulative counters, as Stats, and then drops those
	// of removed objects, whose final figures it holds. It is for the one
	// consumer that diffs consecutive samples with stats.Delta (the
	// statistics recorder): any other caller would take the final figures
	// of a removed object away from it.
	Sample() stats.Sample
	// Health returns the health of every origin in use, as its checks
	// report it (healthy while they are off), keyed by
	// "listenerID/originID", or "ruleID/originID" for HTTP (events report
	// only changes).
	Health() map[string]OriginHealth
	// Addresses returns the local addresses the node holds a socket on,
	// serving or still draining. An access IP missing from it carries no
	// connection of a removed proxy any more: the control plane hands it
	// out again only then, so no new proxy (another tenant's) serves
	// where the old one's clients are still connected.
	Addresses() []string
	// Close stops every listener, lets connections drain for the drain
	// grace (at most until ctx is done), then aborts the rest.
	Close(ctx context.Context) error
}

// Options configure a Runtime. The zero value is usable.
type Options struct {
	// DrainGrace is how long connections of a removed listener, a closed
	// proxy, or all of them on Close may continue before they are
	// aborted; 0 means 30s, negative means no drain (cut at once).
	DrainGrace time.Duration
	// ResolveEvery is the re-resolution period of domain origins; 0 = 30s.
	ResolveEvery time.Duration
	// Resolver, when set, resolves domain origins (after the hosts file,
	// re-resolved every ResolveEvery: it gives no TTLs) instead of the
	// nameservers of /etc/resolv.conf; nil means those, with TTLs, and
	// net.DefaultResolver when none of them answers.
	Resolver *net.Resolver
	// DenyPrivateOrigins drops the loopback, private and other
	// non-public addresses domain origins resolve to (health.Options.DenyPrivate) and mirror
	// collectors at such addresses (mirror.Options.DenyPrivate), as the
	// API refuses literal ones under the same operator setting.
	DenyPrivateOrigins bool
	// EventBuffer is the Events channel capacity; 0 means 256. Events that
	// find it full are dropped (and counted in Report.DroppedEvents) rather
	// than blocking the data plane.
	EventBuffer int
	// MirrorRate caps the payload bytes per second traffic mirroring
	// copies on this node (mirror.Options.Rate: 0 = mirror.DefaultRate,
	// negative = no cap).
	MirrorRate int64
	// BodyIdleTimeout ends an HTTP request whose client sends none of its
	// body for this long while the proxy waits for it; 0 means
	// l7.BodyIdleTimeout.
	BodyIdleTimeout time.Duration
	// SendTimeout bounds each write to an HTTP client, OriginReadTimeout
	// each read of an origin's answer body; 0 means l7.SendTimeout and
	// l7.OriginReadTimeout.
	SendTimeout, OriginReadTimeout time.Duration
	// MaxClientDescriptors bounds the descriptors the clients of every
	// proxy of the node hold together (capped by MaxConns or not): two a
	// TCP connection (layer 4 or HTTP), one a UDP session. A connection
	// that would take more is reset, a datagram that would start a
	// session dropped, and both counted in Refused, as over MaxConns. 0
	// means limit.ClientDescriptors(), half the process's descriptor
	// limit.
	MaxClientDescriptors int
	// MaxPipeDescriptors bounds the descriptors of the pipes the node's
	// TCP connections hold (splices, mirror tees): a direction that
	// would take more copies through user space. 0 means limit.Pipes(),
	// a sixteenth of the descriptor limit.
	MaxPipeDescriptors int
	// MaxListeners bounds the listening sockets of the node: serving and
	// draining, layer 4 and HTTP (two for an HTTP listener, whose QUIC
	// side may bind too). A listener that would bind one more fails like
	// a bind failure (StateFailed) and is retried on the next Apply. 0
	// means limit.Listeners(), a quarter of the descriptor limit.
	MaxListeners int
	// TOA writes the client address option on origin connections of
	// listeners that ask for it; nil: such listeners are invalid here.
	// The runtime closes it on Close.
	TOA *toa.Writer
	// NoTOA is why TOA is nil, the error of the listeners that ask for
	// it; nil: toa.ErrUnsupported.
	NoTOA error
}

func (o *Options) defaults() {
	switch {
	case o.DrainGrace == 0:
		o.DrainGrace = 30 * time.Second
	case o.DrainGrace < 0: // No drain: connections are cut at once.
		o.DrainGrace = 0
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = 256
	}
	if o.MaxClientDescriptors <= 0 {
		o.MaxClientDescriptors = limit.ClientDescriptors()
	}
	if o.MaxPipeDescriptors <= 0 {
		o.MaxPipeDescriptors = limit.Pipes()
	}
	if o.MaxListeners <= 0 {
		o.MaxListeners = limit.Listeners()
	}
	if o.NoTOA == nil {
		o.NoTOA = toa.ErrUnsupported
	}
}

// Listener states in a report.
const (
	StateRunning  = "running"  // Bound and serving.
	StateFailed   = "failed"   // Bind failed; see Error. Retried on the next Apply.
	StateInvalid  = "invalid"  // Rejected by validation; a previous config, if any, keeps running.
	StateDraining = "draining" // Removed or proxy closed: not accepting, open connections finishing.
	StateClosed   = "closed"   // Drained and gone (events only).
)

// Listener changes in a report.
const (
	ChangeAdded     = "added"
	ChangeUpdated   = "updated" // Socket kept, route swapped atomically.
	ChangeUnchanged = "unchanged"
	ChangeRemoved   = "removed"
)

// Report is the result of one Apply.
type Report struct {
	Version   int64            `json:"version"`
	At        time.Time        `json:"at"`
	Listeners []ListenerStatus `json:"listeners"`
	// Invalid has the validation errors of objects other than listeners,
	// by the ID of the object (a proxy, which keeps its previous state, or
	// a mirror), so that what waits for it can fail.
	Invalid map[string]string `json:"invalid,omitempty"`
	// Errors are failures tied to no object (the runtime closed, the
	// mirror engine failing).
	Errors        []string `json:"errors,omitempty"`
	DroppedEvents int64    `json:"droppedEvents,omitempty"`
}

// invalid records the validation error of a proxy or mirror.
func (r *Report) invalid(id, msg string) {
	if r.Invalid == nil {
		r.Invalid = map[string]string{}
	}
	r.Invalid[id] = msg
}

// OK reports whether every listener of the snapshot runs as specified: the
// controller's ACK (true) or NACK (false, details in Listeners, Invalid
// and Errors).
func (r Report) OK() bool {
	for _, l := range r.Listeners {
		if l.State == StateFailed || l.State == StateInvalid {
			return false
		}
	}
	return len(r.Invalid) == 0 && len(r.Errors) == 0
}

// Listener returns the status of listener id, if reported.
func (r Report) Listener(id string) (ListenerStatus, bool) {
	for _, l := range r.Listeners {
		if l.ID == id {
			return l, true
		}
	}
	return ListenerStatus{}, false
}

// ListenerStatus is the state of one listener after an Apply.
type ListenerStatus struct {
	ID      string `json:"id"`
	ProxyID string `json:"proxyId"`
	Addr    string `json:"addr"` // protocol/ip:port
	State   string `json:"state"`
	Change  string `json:"change"`
	Error   string `json:"error,omitempty"`
}

// OriginHealth is the health of a bound origin as its checks report it
// (health.Status).
type OriginHealth struct {
	Healthy bool `json:"healthy"`
	// Down lists a DOMAIN origin's addresses that fail its checks: while
	// it is down, those its last check failed; while it is up, those its
	// per-address checks took out (health.Status). Empty for an IP origin
	// and for a name that does not resolve.
	Down []string `json:"down,omitempty"`
}

// Event kinds.
const (
	EventOriginHealth = "origin-health"
	EventListener     = "listener"
)

// Event is an asynchronous observation.
type Event struct {
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
	// For EventOriginHealth: the origin (host:port), every listener/
	// origin ID that uses it, as "listenerID/originID", and its health
	// (OriginHealth.Down: the addresses that fail).
	Origin  string   `json:"origin,omitempty"`
	Users   []string `json:"users,omitempty"`
	Healthy bool     `json:"healthy,omitempty"`
	Down    []string `json:"down,omitempty"`
	// For EventListener: the listener and its new state.
	Listener string `json:"listener,omitempty"`
	State    string `json:"state,omitempty"`
	Message  string `json:"message,omitempty"`
}
