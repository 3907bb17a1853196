package sockio

import (
	"runtime"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDupKeepsSocketNonBlocking: while connections are duplicated, a
// watcher reading the socket's flags never sees O_NONBLOCK cleared (see
// Dup: c.File plus net.FileConn clears it for a moment each time), and
// the duplicate reads what the peer sends.
func TestDupKeepsSocketNonBlocking(t *testing.T) {
	_, c, peer := pair(t)
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	_ = rc.Control(func(s uintptr) { fd = s })
	var stop, blocking atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		for !stop.Load() {
			if fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0); err == nil && fl&unix.O_NONBLOCK == 0 {
				blocking.Store(true)
			}
		}
	}()
	for range 2000 {
		d, err := Dup(c)
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
	}
	stop.Store(true)
	<-done
	if blocking.Load() {
		t.Fatal("the socket was blocking for a moment while it was duplicated")
	}
	d, err := Dup(c)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c.Close() // The duplicate keeps the socket.
	peer.Write([]byte("after"))
	b := make([]byte, 8)
	if n, err := d.Read(b); err != nil || string(b[:n]) != "after" {
		t.Fatalf("read through the duplicate: %q, %v", b[:n], err)
	}
}
