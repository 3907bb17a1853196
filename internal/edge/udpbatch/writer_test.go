package udpbatch

import (
	"bytes"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

func datagrams(sizes ...int) []ipv4.Message {
	ms := make([]ipv4.Message, len(sizes))
	for i, n := range sizes {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, n)
		ms[i] = ipv4.Message{Buffers: [][]byte{p}}
	}
	return ms
}

func TestUDPWriterCoalesce(t *testing.T) {
	w := NewWriter(nil, true)
	big := make([]int, 70)
	for i := range big {
		big[i] = 100
	}
	tests := []struct {
		name  string
		sizes []int
		want  []int // Datagrams per wire message.
	}{
		{"uniform", []int{64, 64, 64, 64}, []int{4}},
		{"shorter last", []int{64, 64, 10, 64}, []int{3, 1}},
		{"larger breaks", []int{64, 64, 100, 100}, []int{2, 2}},
		{"empty alone", []int{64, 0, 64, 64}, []int{1, 1, 2}},
		{"segment cap", big, []int{64, 6}},
		{"byte cap", []int{9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000}, []int{7, 1}},
	}
	for _, tc := range tests {
		w.coalesce(datagrams(tc.sizes...))
		if len(w.segs) != len(tc.want) {
			t.Errorf("%s: segs %v; want %v", tc.name, w.segs, tc.want)
			continue
		}
		for i := range tc.want {
			if w.segs[i] != tc.want[i] || (w.segs[i] > 1) != (w.wire[i].OOB != nil) || len(w.wire[i].Buffers) != w.segs[i] {
				t.Errorf("%s: segs %v; want %v", tc.name, w.segs, tc.want)
			}
		}
	}
	// Different destinations never share a message.
	ms := datagrams(64, 64)
	ms[0].Addr, ms[1].Addr = &net.UDPAddr{Port: 1}, &net.UDPAddr{Port: 2}
	if w.coalesce(ms); len(w.wire) != 2 {
		t.Errorf("two addresses: %d wire messages; want 2", len(w.wire))
	}
}

// TestUDPWriterGSO sends mixed batches through a real socket and checks
// that the receiver gets exactly the original datagrams, in order.
func TestUDPWriterGSO(t *testing.T) {
	if !Supported() {
		t.Skip("no UDP_SEGMENT")
	}
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	_ = rx.SetReadBuffer(4 << 20)
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	w := NewWriter(ipv4.NewPacketConn(tx), true)
	sizes := []int{64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
		1200, 1200, 1200, 700, 1, 1, 5000, 5000, 38, 0, 9000, 9000, 9000}
	ms := datagrams(sizes...)
	if lost := w.Send(ms); len(lost) != 0 {
		t.Fatalf("lost %v", lost)
	}
	if !w.gso {
		t.Fatal("GSO switched off on loopback")
	}
	buf := make([]byte, 65536)
	_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, m := range ms {
		n, err := rx.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], m.Buffers[0]) {
			t.Fatalf("datagram %d: got %d bytes; want %d", i, n, len(m.Buffers[0]))
		}
	}
}

// fakeBatch refuses GSO messages with err and records what it sent.
type fakeBatch struct {
	err  error
	sent []int // Datagram sizes.
}

func (f *fakeBatch) WriteBatch(ms []ipv4.Message, _ int) (int, error) {
	for i, m := range ms {
		if m.OOB != nil {
			if i == 0 {
				return 0, f.err
			}
			return i, nil
		}
		f.sent = append(f.sent, len(m.Buffers[0]))
	}
	return len(ms), nil
}

func TestUDPWriterFallback(t *testing.T) {
	for _, tc := range []struct {
		err    error
		gsoOff bool
		maxSeg int
	}{{syscall.EIO, true, gsoMaxBytes}, {syscall.EINVAL, false, 99}, {syscall.ECONNREFUSED, false, gsoMaxBytes}} {
		f := &fakeBatch{err: tc.err}
		w := NewWriter(f, true)
		if lost := w.Send(datagrams(7, 100, 100, 100, 3)); len(lost) != 0 {
			t.Errorf("%v: lost %v", tc.err, lost)
		}
		if want := []int{7, 100, 100, 100, 3}; !slices.Equal(f.sent, want) {
			t.Errorf("%v: sent %v; want %v", tc.err, f.sent, want)
		}
		if w.gso == tc.gsoOff {
			t.Errorf("%v: gso on = %v", tc.err, w.gso)
		}
		if w.maxSeg != tc.maxSeg {
			t.Errorf("%v: maxSeg %d; want %d", tc.err, w.maxSeg, tc.maxSeg)
		}
	}
}

// mtuBatch refuses GSO messages (EINVAL) and plain datagrams larger than
// mtu (EMSGSIZE), as sendmmsg does: an error only when the first fails.
type mtuBatch struct {
	mtu  int
	sent []int
}

func (f *mtuBatch) WriteBatch(ms []ipv4.Message, _ int) (int, error) {
	for i, m := range ms {
		err := error(nil)
		if m.OOB != nil {
			err = syscall.EINVAL
		} else if len(m.Buffers[0]) > f.mtu {
			err = syscall.EMSGSIZE
		}
		if err != nil {
			if i == 0 {
				return 0, err
			}
			return i, nil
		}
		f.sent = append(f.sent, len(m.Buffers[0]))
	}
	return len(ms), nil
}

// TestUDPWriterLosesOnlyRefused: a datagram the kernel refuses costs only
// itself, with GSO (the refused run's plain resend) and without.
func TestUDPWriterLosesOnlyRefused(t *testing.T) {
	for _, gso := range []bool{true, false} {
		f := &mtuBatch{mtu: 60}
		w := NewWriter(f, gso)
		lost := w.Send(datagrams(40, 100, 100, 100, 50, 50, 70, 10))
		if want := []int{40, 50, 50, 10}; !slices.Equal(f.sent, want) {
			t.Errorf("gso %v: sent %v; want %v", gso, f.sent, want)
		}
		if want := []int{1, 2, 3, 6}; !slices.Equal(lost, want) {
			t.Errorf("gso %v: lost %v; want %v", gso, lost, want)
		}
	}
}

// closedBatch is a closed socket: every call fails.
type closedBatch struct{ calls int }

func (f *closedBatch) WriteBatch([]ipv4.Message, int) (int, error) {
	f.calls++
	return 0, &net.OpError{Op: "write", Err: net.ErrClosed}
}

// TestUDPWriterClosed: on a closed socket the whole batch is lost at once,
// not tried datagram by datagram.
func TestUDPWriterClosed(t *testing.T) {
	for _, gso := range []bool{true, false} {
		f := &closedBatch{}
		lost := NewWriter(f, gso).Send(datagrams(10, 10, 10, 5, 7))
		if want := []int{0, 1, 2, 3, 4}; !slices.Equal(lost, want) || f.calls != 1 {
			t.Errorf("gso %v: lost %v in %d calls; want %v in 1", gso, lost, f.calls, want)
		}
	}
}

// refusedOnce fails its first call as a connected socket does when an
// earlier datagram drew an ICMP port unreachable.
type refusedOnce struct{ failed bool }

func (f *refusedOnce) WriteBatch(ms []ipv4.Message, _ int) (int, error) {
	if !f.failed {
		f.failed = true
		return 0, &net.OpError{Op: "write", Err: os.NewSyscallError("sendmmsg", syscall.ECONNREFUSED)}
	}
	return len(ms), nil
}

// TestUDPWriterReportsRefusal: a send that fails with ECONNREFUSED reports
// it (Refused), with GSO and without: it is an earlier datagram's refusal,
// which the session counts as the read would have; the next Send starts
// clean.
func TestUDPWriterReportsRefusal(t *testing.T) {
	for _, gso := range []bool{true, false} {
		w := NewWriter(&refusedOnce{}, gso)
		w.Send(datagrams(10, 10, 10))
		first := w.Refused()
		w.Send(datagrams(10))
		if !first || w.Refused() {
			t.Errorf("gso %v: Refused %v after a refused send, %v after a clean one; want true, false", gso, first, w.Refused())
		}
	}
}
