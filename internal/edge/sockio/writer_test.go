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

// pair returns the two ends of a loopback TCP connection and the
// Writer of the first.
func pair(t *testing.T) (io.Writer, *net.TCPConn, *net.TCPConn) {
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
	w := Writer(c)
	if _, raw := w.(*rawWriter); raw == raceBuild {
		t.Fatalf("Writer gave %T in a build with raceBuild %v", w, raceBuild)
	}
	return w, c.(*net.TCPConn), peer.(*net.TCPConn)
}

// TestWriterWrite: writes of every size reach the peer whole, and writes
// into full socket buffers wait for the peer, then complete.
func TestWriterWrite(t *testing.T) {
	w, c, peer := pair(t)
	for _, size := range []int{1, rawWriteMax, rawWriteMax + 1, 8 << 20} {
		want := bytes.Repeat([]byte{byte(size)}, size)
		got := make(chan []byte)
		go func() { b, _ := io.ReadAll(io.LimitReader(peer, int64(size))); got <- b }()
		if n, err := w.Write(want); n != size || err != nil {
			t.Fatalf("write of %d bytes: %d, %v", size, n, err)
		}
		if g := <-got; !bytes.Equal(g, want) {
			t.Fatalf("write of %d bytes: the peer read %d bytes, not the ones written", size, len(g))
		}
	}
	c.SetWriteBuffer(rawWriteMax)
	peer.SetReadBuffer(rawWriteMax)
	done := make(chan int64)
	go func() {
		time.Sleep(50 * time.Millisecond)
		n, _ := io.Copy(io.Discard, io.LimitReader(peer, 16*rawWriteMax))
		done <- n
	}()
	for i := range 16 {
		if n, err := w.Write(bytes.Repeat([]byte("y"), rawWriteMax)); n != rawWriteMax || err != nil {
			t.Fatalf("write %d into full buffers: %d, %v", i, n, err)
		}
	}
	if n := <-done; n != 16*rawWriteMax {
		t.Fatalf("the peer read %d bytes of %d", n, 16*rawWriteMax)
	}
}

// TestWriterErrors: errors are net.Conn's: a deadline is a timeout, a
// reset peer EPIPE or ECONNRESET, a closed connection net.ErrClosed (for
// an empty write too), each one *net.OpError.
func TestWriterErrors(t *testing.T) {
	w, c, peer := pair(t)
	check := func(what string, err error, want ...error) {
		t.Helper()
		var oe *net.OpError
		if !errors.As(err, &oe) {
			t.Errorf("%s: %v (%T); want a *net.OpError", what, err, err)
			return
		}
		if inner := new(net.OpError); errors.As(oe.Err, &inner) {
			t.Errorf("%s: %v: an OpError inside an OpError", what, err)
		}
		for _, e := range want {
			if errors.Is(err, e) {
				return
			}
		}
		t.Errorf("%s: %v; want one of %v", what, err, want)
	}
	c.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))
	var err error
	for err == nil { // Until the buffers fill.
		_, err = w.Write(bytes.Repeat([]byte("x"), rawWriteMax))
	}
	check("write past its deadline", err, os.ErrDeadlineExceeded)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("write past its deadline: %v is no timeout", err)
	}
	c.SetWriteDeadline(time.Time{})

	peer.SetLinger(0)
	peer.Close()
	time.Sleep(20 * time.Millisecond)
	_, err = w.Write([]byte("x"))
	check("write after a reset", err, syscall.EPIPE, syscall.ECONNRESET)
	c.Close()
	_, err = w.Write([]byte("x"))
	check("write after close", err, net.ErrClosed)
	_, err = w.Write(nil)
	check("empty write after close", err, net.ErrClosed)
}

// TestWriterConcurrent: writes from several goroutines each reach the
// peer whole and once, as net.Conn's do.
func TestWriterConcurrent(t *testing.T) {
	w, _, peer := pair(t)
	const writers, each, size = 8, 200, 100
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := bytes.Repeat([]byte{'a' + byte(i)}, size)
			for range each {
				if n, err := w.Write(b); n != size || err != nil {
					t.Errorf("write: %d, %v; want %d, nil", n, err, size)
					return
				}
			}
		}()
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second)) // A lost write fails, not hangs.
	got, err := io.ReadAll(io.LimitReader(peer, writers*each*size))
	wg.Wait()
	if len(got) != writers*each*size {
		t.Fatalf("read %d bytes of %d, %v", len(got), writers*each*size, err)
	}
	for i := range writers {
		if c := bytes.Count(got, []byte{'a' + byte(i)}); c != each*size {
			t.Errorf("writer %d: %d bytes arrived; want %d", i, c, each*size)
		}
	}
	for i := 0; i < len(got); i += size {
		if bytes.Count(got[i:i+size], got[i:i+1]) != size {
			t.Fatalf("the write at byte %d is not whole: %q", i, got[i:i+size])
		}
	}
}
