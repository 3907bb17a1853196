package edgetest

import "time"

// SteppedStamp returns what a time stamp taken before the system clock
// stepped by step (negative: back) reads as relative to the clock after the
// step, for tests of timeouts kept as integer stamps: no test can step the
// machine's clock. A wall-clock stamp (Unix nanoseconds: within a day of
// time.Now) is then -step away from where it was; a monotonic one is where
// it was.
func SteppedStamp(stamp int64, step time.Duration) int64 {
	if d := time.Duration(stamp - time.Now().UnixNano()); d > -24*time.Hour && d < 24*time.Hour {
		return stamp - int64(step)
	}
	return stamp
}
