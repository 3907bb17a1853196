package sockio

import (
	"syscall"
	"testing"
	"time"
)

// TestLeft: what is left after a read counts the bytes not read and a
// received FIN as one more; zero only when the socket is drained.
func TestLeft(t *testing.T) {
	if raceBuild {
		t.Skip("TCP_INQ is off in race builds")
	}
	_, c, peer := pair(t)
	rc, _ := c.SyscallConn()
	var r Reader
	_ = rc.Control(func(fd uintptr) {
		if !r.Enable(int(fd)) {
			t.Skip("no TCP_INQ")
		}
	})
	read := func(n int) (int, int) {
		t.Helper()
		time.Sleep(20 * time.Millisecond) // Let the bytes arrive.
		var got, left int
		var rerr error
		_ = rc.Read(func(fd uintptr) bool {
			got, left, rerr = r.Read(int(fd), make([]byte, n))
			return rerr != syscall.EAGAIN
		})
		if rerr != nil {
			t.Fatal(rerr)
		}
		return got, left
	}
	peer.Write([]byte("abcde"))
	if n, left := read(2); n != 2 || left != 3 {
		t.Errorf("read 2 of 5: got %d, %d left; want 2, 3", n, left)
	}
	if n, left := read(10); n != 3 || left != 0 {
		t.Errorf("read the rest: got %d, %d left; want 3, 0", n, left)
	}
	peer.Write([]byte("xy"))
	peer.CloseWrite()
	if n, left := read(10); n != 2 || left != 1 {
		t.Errorf("read data before a FIN: got %d, %d left; want 2, 1 (the FIN)", n, left)
	}
	if n, _ := read(10); n != 0 {
		t.Errorf("read at the FIN: got %d; want 0 (EOF)", n)
	}
}
