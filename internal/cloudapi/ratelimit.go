package cloudapi

import (
	"sync"
	"time"
)

// limiter enforces the documented per-action rate limit in the reference's
// dimension: action + access region + sub-account. A sub-account is the
// holder of a key: the keys of one owner Uin are its users (CAM users under
// one OwnerUin), each with its own budget, not one shared by the account.
type limiter struct {
	buckets sync.Map // bucket -> *window
}

type bucket struct{ secretID, region, action string }

// window holds a bucket's last admissions, oldest first from next: at most
// the action's rate of them, allocated as they are made.
type window struct {
	mu    sync.Mutex
	times []time.Time
	next  int // the oldest admission, once times is full
}

// allow admits a call to the caller's bucket if fewer than perSecond calls
// were admitted in the second before it. This is the reference's "at most
// N requests per second" over any one second: a token bucket holding a
// second's worth would also admit the second's refill, up to 2N in a
// second. A region the reference does not list shares one bucket with
// calls naming none: a bucket per arbitrary name would let a caller
// multiply its rate, and grow the map, by inventing regions.
func (l *limiter) allow(secretID, region, action string, perSecond int) bool {
	if perSecond <= 0 {
		return true
	}
	if !apiRegions[region] {
		region = ""
	}
	key := bucket{secretID, region, action}
	w, ok := l.buckets.Load(key)
	if !ok {
		w, _ = l.buckets.LoadOrStore(key, &window{})
	}
	return w.(*window).admit(perSecond)
}

// admit records a call now unless n were admitted in the last second. The
// clock is read under the lock, so admissions are recorded in time order
// and the one at next is the oldest.
func (w *window) admit(n int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if len(w.times) < n {
		w.times = append(w.times, now)
		return true
	}
	if now.Sub(w.times[w.next]) < time.Second {
		return false
	}
	w.times[w.next] = now
	w.next = (w.next + 1) % n
	return true
}
