package balance

import (
	"net/netip"
	"sync"
	"time"
)

// Sticky maps client IPs to the origin ID they were last sent to, with an
// expiry. It belongs to a listener socket, or to a persistence group of
// sockets (an EdgeOne rule's ports), not to a configuration, so a config
// change that keeps an origin keeps its clients on it. Safe for concurrent
// use.
type Sticky struct {
	mu        sync.Mutex
	m         map[netip.Addr]stickyEntry
	nextSweep time.Time
}

type stickyEntry struct {
	id  string
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

// Put binds ip to id until exp, and sweeps expired entries at most once a
// second so the table stays bounded by the active client population.
func (s *Sticky) Put(ip netip.Addr, id string, now, exp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[ip] = stickyEntry{id, exp}
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(time.Second)
	for k, e := range s.m {
		if now.After(e.exp) {
			delete(s.m, k)
		}
	}
}

// Len is the number of entries (expired ones may linger up to a second).
func (s *Sticky) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
