package mirror

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// senderNice is the niceness of the sender's thread. Building and sending
// copies is pure overhead for the mirrored traffic: at the lowest priority
// the kernel gives the sender spare CPU first and only a small share
// (weight 15 against a normal thread's 1024) of a busy one, so under
// contention the queue fills and copies are dropped (and counted) instead
// of the proxied connections slowing down. Loopback and local UDP delivery
// are charged to the sending thread, so they are deprioritized too.
// SCHED_IDLE measured the same in the layer-4 benchmark but can starve the
// sender outright on a saturated node (queued FINs then waited for tens of
// seconds in a loaded CI run); nice 19 always makes progress.
const senderNice = 19

// lowerPriority pins the calling goroutine to its OS thread and lowers
// that thread's priority. Best effort: if the kernel refuses, the sender
// runs at normal priority.
func lowerPriority() {
	runtime.LockOSThread()
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), senderNice)
}
