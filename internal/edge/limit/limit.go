// Package limit provides the limits of the edge: a concurrency gate (per
// proxy for connections plus UDP sessions, per node for the descriptors
// they hold) and a two-direction bandwidth bucket. Both are updated in
// place when a snapshot changes the limit, so state (open connection
// count, tokens) survives the change.
package limit

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"
)

// Gate caps concurrent holders. The zero value, and a nil *Gate, are
// unlimited. Safe for concurrent use.
type Gate struct {
	max atomic.Int64 // 0 = unlimited.
	cur atomic.Int64
}

// SetMax changes the cap; holders above a lowered cap are not evicted, new
// ones are refused until the count falls below it.
func (g *Gate) SetMax(n int) { g.max.Store(int64(n)) }

// TryAcquire takes a slot, or reports false when the gate is full.
func (g *Gate) TryAcquire() bool { return g.TryAcquireN(1) }

// TryAcquireN takes n slots at once, or none and reports false when fewer
// than n are free: for holders that cost more than one (a TCP connection
// holds two descriptors, a UDP session one: ClientDescriptors).
func (g *Gate) TryAcquireN(n int64) bool {
	if g == nil {
		return true
	}
	c := g.cur.Add(n)
	if m := g.max.Load(); m > 0 && c > m {
		g.cur.Add(-n)
		return false
	}
	return true
}

// Held is how many slots are taken.
func (g *Gate) Held() int64 {
	if g == nil {
		return 0
	}
	return g.cur.Load()
}

// Release returns a slot taken by TryAcquire.
func (g *Gate) Release() { g.ReleaseN(1) }

// ReleaseN returns the n slots taken by TryAcquireN.
func (g *Gate) ReleaseN(n int64) {
	if g != nil {
		g.cur.Add(-n)
	}
}

// ClientDescriptors is the node-wide budget of the descriptors clients
// hold, TCP connections (layer 4 and HTTP: two each, the client's socket
// and the origin's) and UDP sessions (one each, the connected upstream
// socket; the client's datagrams come in through the listener's):
// half the process's descriptor limit (the soft RLIMIT_NOFILE, which the
// Go runtime raises to the hard limit at start), or 0 (no bound) if the
// limit cannot be read. Each proxy's cap bounds its own clients, but
// proxies are many and EdgeOne's have no cap; without a bound on the node,
// idle TCP connections to one proxy (each costs its client one descriptor
// and the node two) or a flood of spoofed UDP source ports take every
// descriptor, and every proxy of the node stops accepting connections,
// dialling origins and checking them. The other half is the headroom for
// everything else: listening sockets (a quarter of the limit: Listeners),
// the API (an eighth: APIConns), and in the last eighth health checks (one
// per check under way), the database, HTTP origin connections kept idle
// for reuse, and the pipes the data plane holds (at most Pipes).
func ClientDescriptors() int { return descriptors() / 2 }

// Pipes is the node-wide bound on the descriptors of the pipes the data
// plane holds: two for each direction a TCP connection splices (io.Copy's
// pipe is held until the direction ends, however long it then idles) and
// for each pipe a mirrored connection tees through: a sixteenth of the
// process's descriptor limit, half of the last eighth ClientDescriptors,
// Listeners and APIConns leave, or 0 (no bound) if the limit cannot be
// read. Uncounted, the connections ClientDescriptors admits held up to
// five times their two descriptors in pipes, and took the process's last
// ones. A direction that finds the bound reached copies through user
// space instead (a mirror still sees it, through that copy); one refused
// the second pipe a mirror keeps its chunks in keeps nothing.
func Pipes() int { return descriptors() / 16 }

// Listeners is the node-wide bound on listening sockets: a quarter of the
// process's descriptor limit, half of what ClientDescriptors leaves, or 0
// (no bound) if the limit cannot be read. The API bounds the ports of each
// proxy, but proxies are many: without a bound on the node, rules
// listening on enough ports take every descriptor, and every other proxy
// stops accepting connections and dialling origins. The last quarter is
// for the API (half of it at most: APIConns), health checks and the
// database.
func Listeners() int { return descriptors() / 4 }

// APIConns is the bound on the API's connections: an eighth of the
// process's descriptor limit, half of what ClientDescriptors and Listeners
// leave, or 0 (no bound) if the limit cannot be read. An idle keep-alive
// connection costs its client nothing: without a bound, one client could
// take every descriptor and stop the data plane. The other eighth is for
// health checks, the database and the data plane's spare descriptors
// (ClientDescriptors).
func APIConns() int { return descriptors() / 8 }

// descriptors is the soft RLIMIT_NOFILE, or 0 if it cannot be read.
func descriptors() int {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return int(min(l.Cur, math.MaxInt32))
}

// Direction of traffic through the proxy.
type Direction int

// Directions: In is client → origin, Out is origin → client.
const (
	In Direction = iota
	Out
)

// Bucket depths. minBurst keeps a shaped copy able to pass one reasonable
// read at low rates; minDatagramBurst holds a train of datagrams (a video
// frame, a game snapshot, a multi-datagram reply) at low rates.
const (
	minBurst         = 16 << 10
	minDatagramBurst = 64 << 10
)

// Bandwidth is a pair of token buckets in bytes, one per direction, shared by
// every listener of a proxy. A nil or unlimited Bandwidth lets everything
// through. Safe for concurrent use.
//
// Each bucket is 1/10 s of traffic deep (at least 64 KiB), but a shaped
// copy (Wait) sees only its top chunk, 1/50 s (at least 16 KiB): the rest
// is a reserve for datagrams (Allow). UDP has no back-pressure: a datagram
// without tokens is dropped, and datagrams come in trains sent at once, so
// a burst of 1/50 s cut flows at a third of the cap. A copy can wait
// instead, and a burst of one chunk keeps its rate over any second within
// a few percent of the cap. A train that dips into the reserve holds the
// copies back until the refill has made it up, so the proxy's traffic
// stays at the rate; over any window it is at most the rate plus the
// bucket's depth.
type Bandwidth struct {
	mbps  atomic.Int64
	chunk atomic.Int64 // The part of the depth a shaped copy sees.
	dir   [2]*rate.Limiter
}

// NewBandwidth returns an unlimited bucket pair.
func NewBandwidth() *Bandwidth {
	return &Bandwidth{dir: [2]*rate.Limiter{rate.NewLimiter(rate.Inf, 0), rate.NewLimiter(rate.Inf, 0)}}
}

// SetMbps sets the limit in 10^6 bits per second per direction; 0 lifts it.
func (b *Bandwidth) SetMbps(mbps int) {
	b.mbps.Store(int64(mbps))
	bps := float64(mbps) * 1e6 / 8
	b.chunk.Store(int64(max(minBurst, int(bps/50))))
	for _, l := range b.dir {
		if mbps <= 0 {
			l.SetLimit(rate.Inf)
			continue
		}
		l.SetBurst(max(minDatagramBurst, int(bps/10)))
		l.SetLimit(rate.Limit(bps))
	}
}

// Limited reports whether a limit is set. TCP uses it to choose the shaped
// copy loop over splice when a connection starts.
func (b *Bandwidth) Limited() bool { return b != nil && b.mbps.Load() > 0 }

// Chunk is the part of a bucket a shaped copy sees: readers size buffers
// by it so that each read waits for about one refill (1/50 s) rather than
// for many at once.
func (b *Bandwidth) Chunk() int { return max(minBurst, int(b.chunk.Load())) }

// Wait blocks until n bytes may pass in direction d. It takes only tokens
// the bucket holds above the datagrams' reserve (Bandwidth), never ahead
// of time: rate.Limiter.WaitN would reserve them and leave the bucket in
// debt while it sleeps, and a copy loop that reads its next chunk at once
// keeps it there, so Allow (UDP, which polices with tokens on hand) would
// find none as long as one TCP connection of the proxy pushes at the cap.
// Instead a waiter sleeps until half a chunk (or n, if less) has come in
// above the reserve, then takes what is there, up to n, and sleeps again
// for the rest: UDP datagrams arriving meanwhile take their share of the
// refill, and the bucket never fills beyond its depth while a waiter
// oversleeps (which would lose tokens and undershoot the cap). Any n is
// charged in full, so a reader whose buffer was sized before the limit was
// lowered still holds the new rate.
func (b *Bandwidth) Wait(ctx context.Context, d Direction, n int) error {
	if !b.Limited() {
		return nil
	}
	l := b.dir[d]
	var t *time.Timer
	woke := false
	for n > 0 {
		lim := l.Limit()
		if lim == rate.Inf { // Lifted meanwhile.
			return nil
		}
		now := time.Now()
		chunk := b.Chunk()
		// Below 0 while datagrams have taken part of the reserve.
		avail := int(l.TokensAt(now)) - max(0, l.Burst()-chunk)
		need := min(n, max(1, chunk/2))
		// After a sleep, take what came in even if others took part of it:
		// a waiter that held out for need could be starved by small takers.
		if avail >= need || woke && avail > 0 {
			k := min(n, avail)
			if l.AllowN(now, k) {
				n -= k
			}
			woke = false
			continue
		}
		sleep := time.Duration(float64(need-avail) / float64(lim) * float64(time.Second))
		if t == nil {
			t = time.NewTimer(sleep)
			defer t.Stop()
		} else {
			t.Reset(sleep)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		woke = true
	}
	return nil
}

// Allow reports whether n bytes may pass now in direction d, from the
// whole bucket, reserve included; UDP polices with it (drops instead of
// queueing).
func (b *Bandwidth) Allow(d Direction, n int) bool {
	if !b.Limited() {
		return true
	}
	return b.dir[d].AllowN(time.Now(), n)
}
