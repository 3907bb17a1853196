package l7

import (
	"slices"
	"sync"
	"time"

	"github.com/opengaap/opengaap/internal/edge/l4"
)

// maxStreams is the number of requests an HTTP/2 client may have open on
// one connection (SETTINGS_MAX_CONCURRENT_STREAMS; nginx's
// http2_max_concurrent_streams). quic-go's HTTP/3 default is 100.
const maxStreams = 128

// An HTTP/2 connection's receive windows: how much of its request bodies
// a client may send ahead of what the handlers have read. A stream whose
// origin reads slowly or not at all keeps its window's worth unread. With
// a connection window no larger than a stream's (net/http's default,
// 1 MiB both), one stalled upload stopped every other upload of the
// connection, and they got 408 after BodyIdleTimeout. nginx advertises a
// connection window of 2^31-1, as it buffers bodies on disk; the edge
// buffers them in memory, so the connection window is a few streams'
// windows. Up to h2ConnWindow/h2StreamWindow-1 stalled uploads leave a
// whole stream window to the others, and a connection buffers at most
// h2ConnWindow, less than the kernel may buffer for one stalled HTTP/1
// upload (tcp_rmem's default maximum, 6 MiB). The stream window stays
// net/http's 1 MiB so that one upload is not slowed: up to 1 MiB a round
// trip, 80 Mbit/s at 100 ms.
const (
	h2StreamWindow = 1 << 20
	h2ConnWindow   = 4 * h2StreamWindow
)

// A connection whose client cancels more than maxCancelled requests
// within cancelWindow while they are served is closed (streams.release).
// A browser cancels what it has in flight when it leaves a page, up to
// maxStreams at a time.
const (
	maxCancelled = 2 * maxStreams
	cancelWindow = 10 * time.Second
)

// streams counts the requests in flight on one multiplexed client
// connection (HTTP/2, HTTP/3) against the proxy's connection cap, as
// nginx's limit_conn counts each of them as a connection: each request
// may hold an origin connection of its own, so a connection counted once
// would let one client exceed the cap by its streams. The connection's
// own slot, taken when it was admitted, covers its first request in
// flight; each further one takes a slot of the proxy's cap and its origin
// connection's descriptor of the node's budget (l4.Proxy.AcquireStream),
// so a connection holds max(1, requests in flight) slots. A nil *streams
// admits everything.
// Safe for concurrent use.
//
// It also bounds the requests a client cancels (CVE-2023-44487, "rapid
// reset"): each costs the client two small frames, but may cost an origin
// a connection, dialled and closed; net/http's own defence only counts
// handlers queued beyond the stream limit, which requests that end at
// once never fill.
type streams struct {
	gate *l4.Proxy
	// conn closes the connection; an interface, not a func: a method
	// value would be one more allocation per connection, HTTP/1 too.
	conn interface{ cut() }
	mu   sync.Mutex
	n    int // Requests in flight.
	// cancelled counts the requests the client cancelled since since.
	cancelled int
	since     time.Time
	// hosts holds the Host of each request in flight as it came (HTTP/1
	// ones too, through enter, on TLS connections), for a change of what domains
	// demand of clients to judge the connection by every domain it is
	// serving, not only by its SNI's (Handler.admits): one handshake
	// serves the domains that share its TLS config, and a client without
	// SNI every domain whose demands its handshake met. The array is
	// kept: no allocation per request.
	hosts []string
}

// acquire admits a request for host, or reports false when the cap is
// full; an admitted request ends with release.
func (s *streams) acquire(host string) bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n > 0 && !s.gate.AcquireStream() {
		return false
	}
	s.n++
	s.hosts = append(s.hosts, host)
	return true
}

// release ends a request for host that acquire admitted; cancelled: the
// client cancelled it (its context ended before its handler did). The
// connection is closed once its client has cancelled more than
// maxCancelled requests within cancelWindow.
func (s *streams) release(host string, cancelled bool) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.remove(host)
	s.n--
	if s.n > 0 {
		s.gate.ReleaseStream()
	}
	if cancelled {
		if now := time.Now(); now.Sub(s.since) > cancelWindow {
			s.since, s.cancelled = now, 0
		}
		s.cancelled++
	}
	tooMany := s.cancelled > maxCancelled
	s.mu.Unlock()
	if tooMany {
		s.conn.cut()
	}
}

// enter lists a request for host of an HTTP/1 connection (which the
// cap counts as the connection) among those in flight, until leave.
func (s *streams) enter(host string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.hosts = append(s.hosts, host)
	s.mu.Unlock()
}

func (s *streams) leave(host string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.remove(host)
	s.mu.Unlock()
}

// remove unlists one request for host; the caller holds s.mu.
func (s *streams) remove(host string) {
	if i := slices.Index(s.hosts, host); i >= 0 {
		last := len(s.hosts) - 1
		s.hosts[i], s.hosts[last] = s.hosts[last], ""
		s.hosts = s.hosts[:last]
	}
}

// serving returns the Hosts of the requests in flight (nil for a nil s).
func (s *streams) serving() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hosts)
}
