package l4

import "time"

// workerIdle is how long an idle worker goroutine waits for a task before
// it exits.
const workerIdle = 10 * time.Second

// tasks hands a task to an idle worker; unbuffered, so a send succeeds
// only when a worker is waiting.
var tasks = make(chan func())

// spawn runs f on a goroutine, reusing an idle worker when there is one.
// A fresh goroutine starts with a small stack that a connection's dial and
// copy grow (and copy) several times; reusing a finished connection's
// goroutine skips that, and go's scheduler hands a channel receive to the
// waiting goroutine as directly as a go statement.
func spawn(f func()) {
	select {
	case tasks <- f:
	default:
		go worker(f)
	}
}

func worker(f func()) {
	var t *time.Timer
	for {
		f()
		f = nil // Let the finished task's memory go while idle.
		if t == nil {
			t = time.NewTimer(workerIdle)
		} else {
			t.Reset(workerIdle)
		}
		select {
		case f = <-tasks:
		case <-t.C:
			return
		}
	}
}
