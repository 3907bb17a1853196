package l4

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// TestCopyAuto relays small messages (read/write), then a bulk stream
// (splice), then a half-close, and checks the bytes and the count.
func TestCopyAuto(t *testing.T) {
	client, src := tcpPair(t)
	dst, origin := tcpPair(t)
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := copyAuto(dst, src, nil)
		_ = dst.CloseWrite()
		done <- result{n, err}
	}()
	var want bytes.Buffer
	small := []byte("ping-64-bytes...")
	got := make([]byte, len(small))
	for range 100 { // Ping-pong: each message is its own read.
		if _, err := client.Write(small); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(origin, got); err != nil || !bytes.Equal(got, small) {
			t.Fatalf("small message: %q, %v", got, err)
		}
	}
	want.Write(bytes.Repeat(small, 100))
	bulk := make([]byte, 3<<20+17)
	for i := range bulk {
		bulk[i] = byte(rand.Uint32())
	}
	recv := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(origin) // Until the relayed FIN.
		recv <- b
	}()
	if _, err := client.Write(bulk); err != nil {
		t.Fatal(err)
	}
	if err := client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("copyAuto: %v", r.err)
	}
	if b := <-recv; !bytes.Equal(b, bulk) {
		t.Fatalf("bulk: got %d bytes, want %d (or content differs)", len(b), len(bulk))
	}
	if total := int64(want.Len() + len(bulk)); r.n != total {
		t.Fatalf("count %d; want %d", r.n, total)
	}
}

// TestCopyAutoSmallThenFIN: after small messages (TCP_INQ on), a last
// message and the FIN arrive together, and one read takes both; the FIN
// must still end the copy.
func TestCopyAutoSmallThenFIN(t *testing.T) {
	for range 20 {
		client, src := tcpPair(t)
		dst, origin := tcpPair(t)
		done := make(chan error, 1)
		go func() {
			_, err := copyAuto(dst, src, nil)
			_ = dst.CloseWrite()
			done <- err
		}()
		msg := []byte("0123456789abcdef")
		got := make([]byte, len(msg))
		for range 5 {
			if _, err := client.Write(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(origin, got); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := client.Write([]byte("last")); err != nil {
			t.Fatal(err)
		}
		_ = client.CloseWrite()
		_ = origin.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(origin)
		if err != nil || string(b) != "last" {
			t.Fatalf("tail: %q, %v", b, err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
