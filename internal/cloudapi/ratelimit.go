package cloudapi

import (
	"sync"

	"golang.org/x/time/rate"
)

// limiter enforces the documented per-action rate limit in the reference's
// dimension: action + access region + sub-account. A sub-account is the
// holder of a key: the keys of one owner Uin are its users (CAM users under
// one OwnerUin), each with its own budget, not one shared by the account.
type limiter struct {
	buckets sync.Map // bucket -> *rate.Limiter
}

type bucket struct{ secretID, region, action string }

// allow takes a token from the caller's bucket, which holds a second's
// worth: a client that was quiet may send that many at once, as clients
// (the SDKs, tccli) burst when a script starts. A region the reference
// does not list shares one bucket with calls naming none: a bucket per
// arbitrary name would let a caller multiply its rate, and grow the map,
// by inventing regions.
func (l *limiter) allow(secretID, region, action string, perSecond int) bool {
	if perSecond <= 0 {
		return true
	}
	if !apiRegions[region] {
		region = ""
	}
	key := bucket{secretID, region, action}
	b, ok := l.buckets.Load(key)
	if !ok {
		b, _ = l.buckets.LoadOrStore(key, rate.NewLimiter(rate.Limit(perSecond), perSecond))
	}
	return b.(*rate.Limiter).Allow()
}
