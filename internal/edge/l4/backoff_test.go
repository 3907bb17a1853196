package l4

import (
	"slices"
	"testing"
	"time"
)

func TestReadBackoff(t *testing.T) {
	var slept []time.Duration
	b := readBackoff{sleep: func(d time.Duration) { slept = append(slept, d) }}
	for range 10 {
		b.failed()
	}
	ms := time.Millisecond
	if want := []time.Duration{1 * ms, 2 * ms, 4 * ms, 8 * ms, 16 * ms, 32 * ms, 64 * ms, 100 * ms, 100 * ms}; !slices.Equal(slept, want) {
		t.Errorf("waits %v; want %v", slept, want)
	}
	b.ok()
	slept = nil
	b.failed()
	if slept != nil {
		t.Errorf("a single failure after a success waited %v", slept)
	}
}
