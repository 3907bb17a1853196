package mirror

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// senderNice is the scheduling niceness of the sender's thread. Building
// and sending copies is pure overhead for the mirrored traffic; at a low
// priority the kernel runs it on spare CPU only, and when there is none
// the queue fills and copies are dropped (and counted) instead of the
// proxied connections slowing down. Loopback and local UDP delivery cost
// is charged to the sending thread, so it is deprioritized too.
const senderNice = 15

// lowerPriority pins the calling goroutine to its OS thread and lowers
// that thread's priority. Best effort: without the privilege or on error
// the sender just runs at normal priority.
func lowerPriority() {
	runtime.LockOSThread()
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), senderNice)
}
