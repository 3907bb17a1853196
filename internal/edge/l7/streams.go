package l7

import (
	"sync"

	"github.com/opengaap/opengaap/internal/edge/limit"
)

// maxStreams is the number of requests an HTTP/2 client may have open on
// one connection (SETTINGS_MAX_CONCURRENT_STREAMS; nginx's
// http2_max_concurrent_streams). quic-go's HTTP/3 default is 100.
const maxStreams = 128

// streams counts the requests in flight on one multiplexed client
// connection (HTTP/2, HTTP/3) against the proxy's connection cap, as
// nginx's limit_conn counts each of them as a connection: each request
// may hold an origin connection of its own, so a connection counted once
// would let one client exceed the cap by its streams. The connection's
// own slot, taken when it was admitted, covers its first request in
// flight; each further one takes a slot of gate, so a connection holds
// max(1, requests in flight) slots. A nil *streams admits everything.
// Safe for concurrent use.
type streams struct {
	gate *limit.Gate
	mu   sync.Mutex
	n    int // Requests in flight.
}

// acquire admits a request, or reports false when the cap is full; an
// admitted request ends with release.
func (s *streams) acquire() bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n > 0 && !s.gate.TryAcquire() {
		return false
	}
	s.n++
	return true
}

// release ends a request acquire admitted.
func (s *streams) release() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n--
	if s.n > 0 {
		s.gate.Release()
	}
}
