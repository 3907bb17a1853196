// Package mono is the edge's process-wide monotonic clock for times kept as
// integers in atomics (activity, failure and measurement stamps). A
// wall-clock stamp (UnixNano) moves with every step of the system clock
// (ntpd steps offsets over 128 ms, chrony's makestep, a VM resumed): after a
// step back, a timeout measured from it would not expire for the step's
// length; after a step forward, every one would expire at once. Readings
// from here advance with elapsed time only.
package mono

import "time"

// base lies an hour before the process started, so that a reading is never
// 0 (which callers use for "none") and one minus any of their timeouts stays
// positive (a negative stamp marks a claim in health.Backend).
var base = time.Now().Add(-time.Hour)

// Now is the clock's reading, in nanoseconds. It costs a monotonic clock
// read, not a wall-clock one.
func Now() int64 { return int64(time.Since(base)) }

// At is the clock's reading at t, a time.Now reading or one derived from it
// (Add keeps the monotonic reading; Truncate, Round and a parsed time do
// not, and fall back to the wall clock).
func At(t time.Time) int64 { return int64(t.Sub(base)) }
