package balance

import (
	"net/netip"
	"sync"
	"time"
)

// MaxStickyClients bounds the clients one persistence table pins. Time
// alone does not bound it: an entry lives SessionPersist (up to an hour)
// after a client's last new connection, and one IPv6 client holds a whole
// /64 of source addresses. A client new to a full table is not pinned: it
// is balanced as without persistence (each new connection picks anew)
// until expiries make room, while the clients already pinned keep their
// origin. So a full table costs nothing per connection (evicting the entry
// closest to expiry would need an ordered index on every Put) and a flood
// of sources cannot unpin the clients that were there first. At about 100
// bytes an entry, a full table is some 7 MB.
const MaxStickyClients = 1 << 16

// stickySweep is how many due entries one Put looks at, at most. Every
// entry falls due once after it is added and once more each time a later
// connection extended it, so at most two per Put: the sweep keeps up,
// and no Put does more than a few map operations under the lock.
const stickySweep = 4

// Sticky maps client IPs to the origin ID they were last sent to, with an
// expiry. It belongs to a listener socket, or to a persistence group of
// sockets (an EdgeOne rule's ports), not to a configuration, so a config
// change that keeps an origin keeps its clients on it. Safe for concurrent
// use.
//
// Expired entries are swept without scanning the table: every entry is in
// a queue once, with the expiry it had when queued; each Put looks at up
// to stickySweep entries at the front whose queued expiry has passed,
// deleting those still expired and queueing again, with their new expiry,
// those a later connection extended. The queue is only roughly in expiry
// order (an entry queued again, or one queued after SessionPersist was
// shortened, may expire before those ahead of it), so an expired entry
// may stay up to one SessionPersist longer; Get ignores it meanwhile.
type Sticky struct {
	mu    sync.Mutex
	m     map[netip.Addr]stickyEntry
	queue []queued // queue[head:] are the entries of m, oldest first.
	head  int
}

type stickyEntry struct {
	id  string
	exp time.Time
}

type queued struct {
	ip  netip.Addr
	exp time.Time
}

// NewSticky returns an empty table.
func NewSticky() *Sticky { return &Sticky{m: map[netip.Addr]stickyEntry{}} }

// Get returns the live binding of ip.
func (s *Sticky) Get(ip netip.Addr, now time.Time) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[ip]
	if !ok || now.After(e.exp) {
		return "", false
	}
	return e.id, true
}

// Put binds ip to id until exp, unless ip is new and the table already
// holds MaxStickyClients live entries (see there), and sweeps some
// expired entries.
func (s *Sticky) Put(ip netip.Addr, id string, now, exp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if _, ok := s.m[ip]; !ok {
		if len(s.m) >= MaxStickyClients {
			return
		}
		s.push(queued{ip, exp})
	}
	s.m[ip] = stickyEntry{id, exp}
}

// sweep handles up to stickySweep due entries at the front of the queue.
func (s *Sticky) sweep(now time.Time) {
	for range stickySweep {
		if s.head == len(s.queue) || !now.After(s.queue[s.head].exp) {
			return
		}
		q := s.queue[s.head]
		s.queue[s.head] = queued{}
		s.head++
		if e := s.m[q.ip]; now.After(e.exp) {
			delete(s.m, q.ip)
		} else {
			s.push(queued{q.ip, e.exp})
		}
	}
}

// push queues q, moving the queue to the front of its array once half of
// it is spent, so the array stays within twice the table (an occasional
// copy, amortised like append's growth).
func (s *Sticky) push(q queued) {
	if s.head > 0 && s.head >= len(s.queue)/2 {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue, s.head = s.queue[:n], 0
	}
	s.queue = append(s.queue, q)
}

// Len is the number of entries (expired ones linger until swept).
func (s *Sticky) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
