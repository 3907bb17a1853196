package cloudapi

import (
	"testing"
	"time"
)

// TestReplaysForgetExpiredCalls: the set must not grow with every v1 call
// ever made; a call is forgotten once its timestamp is out of the window.
func TestReplaysForgetExpiredCalls(t *testing.T) {
	var r replays
	now := time.Unix(1700000000, 0)
	c := v1Call{"AKID", "1", "1700000000", "sig"}
	if !r.first(c, now.Add(maxClockSkew), now) || r.first(c, now.Add(maxClockSkew), now) {
		t.Fatal("want the first send accepted and the second refused")
	}
	later := now.Add(2*maxClockSkew + time.Second)
	r.first(v1Call{"AKID", "2", "1700000601", "sig2"}, later.Add(maxClockSkew), later)
	if _, ok := r.seen[c]; ok || len(r.seen) != 1 {
		t.Errorf("after the window: %d calls remembered, the expired one included: %v; want only the new one", len(r.seen), ok)
	}
}
