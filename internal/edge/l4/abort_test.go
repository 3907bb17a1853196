package l4

import (
	"net"
	"testing"
	"time"
)

// TestAbortStalledSmallMessages: a client that sends small messages to an
// origin that stopped reading leaves the client→origin copy blocked in a
// write to the origin made inside the client socket's RawConn.Read (the
// small-message loop). Aborting the connection (here the server's Abort;
// also the idle timeout and a policy change) must not wait for that write:
// it used to close the client socket first, which waits for the write, for
// good, and hung the sweeper and Shutdown with it.
func TestAbortStalledSmallMessages(t *testing.T) {
	oln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer oln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := oln.Accept(); err == nil {
			accepted <- c // Never read: a stalled origin.
		}
	}()
	_, _, srv := oneOriginListener(t, oln.Addr().(*net.TCPAddr).AddrPort())
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	oc := <-accepted
	defer oc.Close()
	_ = oc.(*net.TCPConn).SetReadBuffer(4096)
	msg := make([]byte, 1000)
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
		_ = c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := c.Write(msg); err != nil {
			break // Every buffer on the way is full.
		}
		time.Sleep(20 * time.Microsecond) // Short reads keep the copy off splice.
	}
	done := make(chan struct{})
	go func() { srv.Abort(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Abort hung: closing the client socket waits for the copy blocked writing to the origin")
	}
}
