package mirror

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// lowerPriority pins the calling goroutine to its OS thread and moves that
// thread to SCHED_IDLE. Building and sending copies is pure overhead for
// the mirrored traffic: in the idle class the kernel runs the sender only
// on CPU nothing else wants, and when there is none the queue fills and
// copies are dropped (and counted) instead of the proxied connections
// slowing down. Loopback and local UDP delivery are charged to the sending
// thread, so they are deprioritized too. SCHED_IDLE beat nice 15 by ~25 %
// of the mirrored connection's throughput (BENCHMARKS.md, "Traffic
// mirroring"): a nice-15 thread still wins wake-up slices. Best effort: if
// the kernel refuses, nice 19, else normal priority.
func lowerPriority() {
	runtime.LockOSThread()
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}
	if unix.SchedSetAttr(0, &attr, 0) != nil {
		_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19)
	}
}
