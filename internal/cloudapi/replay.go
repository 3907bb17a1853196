package cloudapi

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"sync"
	"time"
)

// replays remembers the signature-v1 calls accepted within the clock-skew
// window, so that a captured URL or form body is accepted once: the Nonce
// the reference calls "anti-replay". A call leaves the set when its
// timestamp is out of the window, as it is refused as expired from then
// on; the set so holds at most the v1 calls of ten minutes that passed
// the rate limits. A call is swept only once now is past its expiry, and
// the skew check accepts its timestamp only up to that expiry, with the
// same now: no replay can pass the check and find its original gone.
type replays struct {
	mu        sync.Mutex
	seen      map[v1Call]time.Time // -> when the call's timestamp expires
	nextSweep time.Time
}

// v1Call identifies one signed call: a SHA-256 digest of its SecretId,
// Nonce, Timestamp and Signature. The signature is part of it, so two
// different calls that happen to share a nonce and second both pass. A
// digest, not the strings, so that an entry costs the same few bytes
// whatever the call: the strings are slices of the request's parameters,
// which would keep a whole body (up to 1 MB) alive for the window, and a
// Nonce or Timestamp may carry any number of leading zeros.
type v1Call [sha256.Size]byte

// newV1Call is the v1Call of a call's four identifying parameters. Each is
// written after its length, so no two different tuples share an input.
func newV1Call(secretID, nonce, timestamp, signature string) v1Call {
	h := sha256.New()
	for _, s := range [...]string{secretID, nonce, timestamp, signature} {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s))))
		io.WriteString(h, s)
	}
	return v1Call(h.Sum(nil))
}

// has reports whether c was recorded (and has not been swept yet).
func (r *replays) has(c v1Call) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.seen[c]
	return ok
}

// first records c and reports whether it was not seen before. expires is
// when c's timestamp leaves the window, now the current time.
func (r *replays) first(c v1Call, expires, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.After(r.nextSweep) {
		for k, exp := range r.seen {
			if now.After(exp) {
				delete(r.seen, k)
			}
		}
		r.nextSweep = now.Add(maxClockSkew)
	}
	if _, dup := r.seen[c]; dup {
		return false
	}
	if r.seen == nil {
		r.seen = map[v1Call]time.Time{}
	}
	r.seen[c] = expires
	return true
}
