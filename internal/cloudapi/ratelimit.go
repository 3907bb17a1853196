package cloudapi

import (
	"sync"

	"golang.org/x/time/rate"
)

// limiter enforces the documented per-action rate limit for each account.
type limiter struct {
	buckets sync.Map // account + "/" + action -> *rate.Limiter
}

func (l *limiter) allow(account, action string, perSecond int) bool {
	if perSecond <= 0 {
		return true
	}
	key := account + "/" + action
	b, ok := l.buckets.Load(key)
	if !ok {
		b, _ = l.buckets.LoadOrStore(key, rate.NewLimiter(rate.Limit(perSecond), perSecond))
	}
	return b.(*rate.Limiter).Allow()
}
