package sockio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection: the first
// wrapped by For.
func pair(t *testing.T) (io.ReadWriter, *net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	rw := For(c)
	if _, raw := rw.(*Conn); raw == raceBuild {
		t.Fatalf("For gave %T in a build with raceBuild %v", rw, raceBuild)
	}
	return rw, c.(*net.TCPConn), peer.(*net.TCPConn)
}

// TestConnReadWrite: bytes both ways, a read that waits for them, a write
// larger than the socket's buffers (the peer drains it), and EOF after
// the peer's FIN.
func TestConnReadWrite(t *testing.T) {
	rw, c, peer := pair(t)
	go func() {
		time.Sleep(20 * time.Millisecond) // The read below waits.
		peer.Write([]byte("ping"))
	}()
	b := make([]byte, 16)
	if n, err := rw.Read(b); err != nil || string(b[:n]) != "ping" {
		t.Fatalf("read: %q, %v", b[:n], err)
	}
	for _, size := range []int{1, rawWriteMax, rawWriteMax + 1, 8 << 20} {
		want := bytes.Repeat([]byte{byte(size)}, size)
		got := make(chan []byte)
		go func() { b, _ := io.ReadAll(io.LimitReader(peer, int64(size))); got <- b }()
		if n, err := rw.Write(want); n != size || err != nil {
			t.Fatalf("write of %d bytes: %d, %v", size, n, err)
		}
		if g := <-got; !bytes.Equal(g, want) {
			t.Fatalf("write of %d bytes: the peer read %d bytes, not the ones written", size, len(g))
		}
	}
	// Writes into full socket buffers wait for the peer, then complete.
	c.SetWriteBuffer(rawWriteMax)
	peer.SetReadBuffer(rawWriteMax)
	done := make(chan int64)
	go func() {
		time.Sleep(50 * time.Millisecond)
		n, _ := io.Copy(io.Discard, io.LimitReader(peer, 16*rawWriteMax))
		done <- n
	}()
	for i := range 16 {
		if n, err := rw.Write(bytes.Repeat([]byte("y"), rawWriteMax)); n != rawWriteMax || err != nil {
			t.Fatalf("write %d into full buffers: %d, %v", i, n, err)
		}
	}
	if n := <-done; n != 16*rawWriteMax {
		t.Fatalf("the peer read %d bytes of %d", n, 16*rawWriteMax)
	}
	peer.CloseWrite()
	if n, err := rw.Read(b); n != 0 || err != io.EOF {
		t.Fatalf("read at the FIN: %d, %v; want 0, EOF", n, err)
	}
}

// TestConnErrors: errors are net.Conn's: a deadline is a timeout, a closed
// connection net.ErrClosed, a reset ECONNRESET, each a *net.OpError.
func TestConnErrors(t *testing.T) {
	rw, c, peer := pair(t)
	check := func(what string, err, want error) {
		t.Helper()
		var oe *net.OpError
		if !errors.As(err, &oe) || !errors.Is(err, want) {
			t.Errorf("%s: %v (%T); want a *net.OpError for %v", what, err, err, want)
		} else if inner := new(net.OpError); errors.As(oe.Err, &inner) {
			t.Errorf("%s: %v: an OpError inside an OpError", what, err)
		}
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	_, err := rw.Read(make([]byte, 8))
	check("read past its deadline", err, os.ErrDeadlineExceeded)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("read past its deadline: %v is no timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))
	_, err = rw.Write(bytes.Repeat([]byte("x"), rawWriteMax)) // Until the buffers fill.
	for err == nil {
		_, err = rw.Write(bytes.Repeat([]byte("x"), rawWriteMax))
	}
	check("write past its deadline", err, os.ErrDeadlineExceeded)
	c.SetWriteDeadline(time.Time{})

	peer.SetLinger(0)
	peer.Close()
	time.Sleep(20 * time.Millisecond)
	_, err = rw.Read(make([]byte, 8))
	check("read after a reset", err, syscall.ECONNRESET)
	c.Close()
	_, err = rw.Write([]byte("x"))
	check("write after close", err, net.ErrClosed)
	_, err = rw.Write(nil)
	check("empty write after close", err, net.ErrClosed)
	_, err = rw.Read(nil)
	check("empty read after close", err, net.ErrClosed)
}

// TestWriteFDBound: WriteFD writes at most rawWriteMax bytes, leaving the
// rest to its caller as after any short write (the package comment: a
// longer write is left to net.Conn).
func TestWriteFDBound(t *testing.T) {
	_, c, peer := pair(t)
	go io.Copy(io.Discard, peer)
	rc, _ := c.SyscallConn()
	var n int
	var err error
	_ = rc.Write(func(fd uintptr) bool {
		n, err = WriteFD(int(fd), make([]byte, 4*rawWriteMax))
		return err != syscall.EAGAIN
	})
	if err != nil || n <= 0 || n > rawWriteMax {
		t.Fatalf("WriteFD of %d bytes: wrote %d, %v; want 1..%d", 4*rawWriteMax, n, err, rawWriteMax)
	}
}

// TestConnConcurrentWrites: writes from several goroutines each reach the
// peer whole, as net.Conn's do.
func TestConnConcurrentWrites(t *testing.T) {
	rw, _, peer := pair(t)
	const writers, each, size = 8, 200, 100
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := bytes.Repeat([]byte{'a' + byte(i)}, size)
			for range each {
				if _, err := rw.Write(b); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	got, err := io.ReadAll(io.LimitReader(peer, writers*each*size))
	wg.Wait()
	if err != nil || len(got) != writers*each*size {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	for i := 0; i < len(got); i += size {
		if bytes.Count(got[i:i+size], got[i:i+1]) != size {
			t.Fatalf("the write at byte %d is not whole: %q", i, got[i:i+size])
		}
	}
}
