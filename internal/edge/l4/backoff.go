package l4

import "time"

// readBackoff paces a UDP read loop whose socket keeps failing. A single
// error (an ICMP port unreachable queued on the socket) is retried at
// once; a socket that fails on every read (out of memory, a kernel that
// refuses the batch call) would otherwise spin a core, so each further
// failure in a row waits 1 ms, doubling up to 100 ms, until a read
// succeeds.
type readBackoff struct {
	fails int
	sleep func(time.Duration) // time.Sleep; replaced in tests.
}

const maxReadBackoff = 100 * time.Millisecond

// failed records a failed read and waits if the previous one failed too.
func (b *readBackoff) failed() {
	b.fails++
	if b.fails < 2 {
		return
	}
	d := min(time.Millisecond<<min(b.fails-2, 7), maxReadBackoff)
	if b.sleep == nil {
		b.sleep = time.Sleep
	}
	b.sleep(d)
}

// ok records a successful read.
func (b *readBackoff) ok() { b.fails = 0 }
