package balance

import (
	"net/netip"
	"sync"
	"time"
)

// MaxStickyClients bounds the clients one persistence table pins. Time
// alone does not bound it: an entry lives while its client has a
// connection open and SessionPersist (up to an hour) after that, and one
// IPv6 client holds a whole /64 of source addresses. A client new to a full table is not pinned: it
// is balanced as without persistence (each new connection picks anew)
// until expiries make room, while the clients already pinned keep their
// origin. So a full table costs nothing per connection (evicting the entry
// closest to expiry would need an ordered index on every Put) and a flood
// of sources cannot unpin the clients that were there first. At about 100
// bytes an entry, a full table is some 7 MB.
const MaxStickyClients = 1 << 16

// stickySweep is how many due entries one Put looks at, at most. Every
// entry falls due once after it is added, once more each time a later
// connection or the end of one (Release) refreshed it, and once per persist
// time while a connection holds it; each of those but the last comes with
// a Put (Release follows one), and a held entry waits a whole persist time
// in between, so the sweep keeps up, and no Put does more than a few map
// operations under the lock.
const stickySweep = 4

// Sticky maps client IPs to the origin ID they were last sent to, with the
// time of their last new connection or, once their connections through
// the table (Hold) have all ended, of the end of the last one. It belongs
// to a listener socket, or to a persistence group of sockets (an EdgeOne
// rule's ports), not to a configuration, so a config change that keeps an origin keeps its clients
// on it. A pin is live while its client has a connection open (as LVS
// keeps a persistence template while connections use it) and then while
// less than the persist time has passed since that time, the persist time
// being the caller's, i.e. the current SessionPersist: a lowered one
// applies to pins made before it at once. Safe for concurrent use.
//
// Expired entries are swept without scanning the table: every entry is in
// a queue once, with the time it had when queued; each Put looks at up to
// stickySweep entries at the front that are older than its persist time,
// deleting those still expired and queueing again, with their new time,
// those a later connection refreshed (and, with the time of the sweep,
// those a connection holds). The queue is in order of those
// times, except that an entry queued again goes behind younger ones; so an
// expired entry may stay up to one persist time longer (Get ignores it
// meanwhile). Sockets of one group pass their own persist times (the same
// for an EdgeOne rule's ports).
type Sticky struct {
	mu    sync.Mutex
	m     map[netip.Addr]stickyEntry
	queue []queued // queue[head:] are the entries of m, oldest first.
	head  int
}

type stickyEntry struct {
	id    string
	at    time.Time // The client's last new connection, or the end of its last one.
	conns int       // Connections open that hold the entry (Hold).
}

// live: a connection holds e, or its time is at most persist before now.
func (e stickyEntry) live(now time.Time, persist time.Duration) bool {
	return e.conns > 0 || now.Sub(e.at) <= persist
}

type queued struct {
	ip netip.Addr
	at time.Time
}

// NewSticky returns an empty table.
func NewSticky() *Sticky { return &Sticky{m: map[netip.Addr]stickyEntry{}} }

// Get returns the binding of ip if a connection holds it or its time is
// at most persist before now.
func (s *Sticky) Get(ip netip.Addr, now time.Time, persist time.Duration) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[ip]
	if !ok || !e.live(now, persist) {
		return "", false
	}
	return e.id, true
}

// Hold records a connection of ip that is open and reports whether ip has
// an entry to hold (a client new to a full table has none); if it does,
// the caller calls Release when the connection ends.
func (s *Sticky) Hold(ip netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[ip]
	if ok {
		e.conns++
		s.m[ip] = e
	}
	return ok
}

// Release ends what Hold began: the entry's time is now, so that once the
// client's last connection has ended the pin lives one persist time more.
func (s *Sticky) Release(ip netip.Addr, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[ip]; ok && e.conns > 0 { // Held entries are never deleted.
		e.conns--
		e.at = now
		s.m[ip] = e
	}
}

// Put binds ip to id as of now, unless ip is new and the table already
// holds MaxStickyClients entries (see there), and sweeps some entries
// older than persist.
func (s *Sticky) Put(ip netip.Addr, id string, now time.Time, persist time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(ip, id, now, persist)
}

func (s *Sticky) put(ip netip.Addr, id string, now time.Time, persist time.Duration) {
	s.sweep(now, persist)
	if _, ok := s.m[ip]; !ok {
		if len(s.m) >= MaxStickyClients {
			return
		}
		s.push(queued{ip, now})
	}
	s.m[ip] = stickyEntry{id, now, s.m[ip].conns}
}

// Claim binds ip to id as Put does, unless ip has a live binding (one Get
// would return), whose ID it returns instead; else id.
func (s *Sticky) Claim(ip netip.Addr, id string, now time.Time, persist time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[ip]; ok && e.live(now, persist) {
		return e.id
	}
	s.put(ip, id, now, persist)
	return id
}

// sweep handles up to stickySweep due entries at the front of the queue.
func (s *Sticky) sweep(now time.Time, persist time.Duration) {
	for range stickySweep {
		if s.head == len(s.queue) || now.Sub(s.queue[s.head].at) <= persist {
			return
		}
		q := s.queue[s.head]
		s.queue[s.head] = queued{}
		s.head++
		switch e := s.m[q.ip]; {
		case e.conns > 0:
			s.push(queued{q.ip, now}) // Looked at again one persist time later.
		case now.Sub(e.at) > persist:
			delete(s.m, q.ip)
		default:
			s.push(queued{q.ip, e.at})
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
