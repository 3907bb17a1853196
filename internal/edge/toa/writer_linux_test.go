package toa_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/toa"
)

func newWriter(t *testing.T) *toa.Writer {
	t.Helper()
	w, err := toa.New()
	if errors.Is(err, toa.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestWriterMarksConnection: a marked connection carries the client's
// address in a TOA option on the SYN and on the ACK that ends the
// handshake (where TOA modules read it), and no longer once the origin has
// acknowledged data; an unmarked connection carries none.
func TestWriterMarksConnection(t *testing.T) {
	w := newWriter(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	origin := netip.MustParseAddrPort(ln.Addr().String())
	wire, err := edgetest.WatchTCP(origin.Port())
	if err != nil {
		t.Skipf("no raw socket to watch the wire: %v", err)
	}
	client := netip.MustParseAddrPort("198.51.100.7:40001")
	exchange := func(mark bool) netip.AddrPort {
		d := net.Dialer{Timeout: 2 * time.Second}
		if mark {
			d.Control = func(_, _ string, rc syscall.RawConn) error {
				var merr error
				if err := rc.Control(func(fd uintptr) { merr = w.Mark(fd, client) }); err != nil {
					return err
				}
				return merr
			}
		}
		c, err := d.DialContext(context.Background(), "tcp", origin.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := make([]byte, 5)
		for _, msg := range []string{"first", "later"} {
			if _, err := io.WriteString(c, msg); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
				t.Fatalf("echo: %q %v", buf, err)
			}
			time.Sleep(20 * time.Millisecond) // Let the origin's ACK of it arrive.
		}
		return netip.MustParseAddrPort(c.LocalAddr().String())
	}
	marked, plain := exchange(true), exchange(false)
	time.Sleep(100 * time.Millisecond)
	segs := wire.Stop()

	var syn, handshakeACK, later *edgetest.Segment
	for i := range segs {
		s := &segs[i]
		switch {
		case s.Src == plain && s.HasTOA:
			t.Errorf("unmarked connection: segment flags %#x carries TOA %s", s.Flags, s.TOA)
		case s.Src != marked:
		case s.Flags&edgetest.FlagSYN != 0:
			syn = s
		case handshakeACK == nil:
			handshakeACK = s
		case s.Payload > 0:
			later = s // The last data segment: "later".
		}
	}
	for _, c := range []struct {
		name string
		s    *edgetest.Segment
		want bool
	}{{"SYN", syn, true}, {"handshake ACK", handshakeACK, true}, {"data after the origin acknowledged data", later, false}} {
		switch {
		case c.s == nil:
			t.Errorf("%s: not seen (%d segments captured)", c.name, len(segs))
		case c.s.HasTOA != c.want:
			t.Errorf("%s (flags %#x, %d bytes): TOA %v; want %v", c.name, c.s.Flags, c.s.Payload, c.s.HasTOA, c.want)
		case c.want && c.s.TOA != client:
			t.Errorf("%s: TOA %s; want %s", c.name, c.s.TOA, client)
		}
	}
}

func TestParse(t *testing.T) {
	o, _ := toa.Option(netip.MustParseAddrPort("10.1.2.3:8080"))
	for _, c := range []struct {
		name string
		opts []byte
		ok   bool
	}{
		{"alone", o[:], true},
		{"after MSS and NOPs", append([]byte{2, 4, 0x05, 0xb4, 1, 1}, o[:]...), true},
		{"after end of options", append([]byte{0}, o[:]...), false},
		{"truncated", o[:6], false},
		{"zero length", []byte{9, 0, 200, 8}, false},
	} {
		got, ok := toa.Parse(c.opts)
		if ok != c.ok || ok && got.String() != "10.1.2.3:8080" {
			t.Errorf("%s: %v %v", c.name, got, ok)
		}
	}
}
