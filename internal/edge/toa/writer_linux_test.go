package toa_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

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

// echoOrigin is a loopback TCP origin that echoes.
func echoOrigin(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// watch records the segments sent to origin.
func watch(t *testing.T, origin netip.AddrPort) *edgetest.Wire {
	t.Helper()
	wire, err := edgetest.WatchTCP(origin.Port())
	if err != nil {
		t.Skipf("no raw socket to watch the wire: %v", err)
	}
	return wire
}

// marking is a dialer whose sockets w marks with client's address.
func marking(w *toa.Writer, client netip.AddrPort) net.Dialer {
	return net.Dialer{Timeout: 2 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var merr error
		if err := rc.Control(func(fd uintptr) { merr = w.Mark(fd, client) }); err != nil {
			return err
		}
		return merr
	}}
}

// TestWriterMarksConnection: a marked connection carries the client's
// address in a TOA option on the SYN and on the ACK that ends the
// handshake (where TOA modules read it), and no longer once the origin has
// acknowledged data; an unmarked connection carries none.
func TestWriterMarksConnection(t *testing.T) {
	w := newWriter(t)
	origin := echoOrigin(t)
	wire := watch(t, origin)
	client := netip.MustParseAddrPort("198.51.100.7:40001")
	exchange := func(mark bool) netip.AddrPort {
		d := net.Dialer{Timeout: 2 * time.Second}
		if mark {
			d = marking(w, client)
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

// TestWriterReservesRoomOnItsOwnSocketsOnly guards that a Writer's
// program, which runs for every socket of its cgroup, leaves alone the
// sockets it did not mark: a second Writer (another node on the host)
// reserved option room on the first one's marked sockets, padding each of
// their segments with 8 bytes of NOPs, out of the SYN's 40 bytes of
// options.
func TestWriterReservesRoomOnItsOwnSocketsOnly(t *testing.T) {
	w := newWriter(t)
	origin := echoOrigin(t)
	wire := watch(t, origin)
	client := netip.MustParseAddrPort("198.51.100.7:40001")
	exchange := func() netip.AddrPort {
		d := marking(w, client)
		c, err := d.DialContext(context.Background(), "tcp", origin.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 4)
		if _, err := io.WriteString(c, "ping"); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		return netip.MustParseAddrPort(c.LocalAddr().String())
	}
	alone := exchange()
	newWriter(t) // Marks nothing.
	shared := exchange()
	time.Sleep(50 * time.Millisecond)
	segs := wire.Stop()

	// The handshake ACK, not the SYN: the SYN's options may be full
	// already, when another node's program pads them.
	acks := map[netip.AddrPort]edgetest.Segment{}
	for _, s := range edgetest.HandshakeACKs(segs) {
		acks[s.Src] = s
	}
	a, ok1 := acks[alone]
	s, ok2 := acks[shared]
	if !ok1 || !ok2 {
		t.Fatalf("handshakes not seen (%d segments captured)", len(segs))
	}
	if !s.HasTOA || s.TOA != client {
		t.Errorf("handshake ACK with a second writer attached: TOA %s %v; want %s", s.TOA, s.HasTOA, client)
	}
	if len(s.Options) != len(a.Options) {
		t.Errorf("handshake ACK options: %d bytes with one writer (% x), %d with a second one that marked nothing (% x); want the same",
			len(a.Options), a.Options, len(s.Options), s.Options)
	}
}

// rttCounter is another sock_ops program in the Writer's cgroup: it asks
// for RTT callbacks on the sockets in its storage and counts them there.
type rttCounter struct{ counts *ebpf.Map }

func newRTTCounter(t *testing.T) *rttCounter {
	t.Helper()
	const opRTT, flagRTT = 12, 1 << 3 // BPF_SOCK_OPS_RTT_CB, BPF_SOCK_OPS_RTT_CB_FLAG
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	counts, err := ebpf.NewMap(&ebpf.MapSpec{Name: "rtt_counts", Type: ebpf.SkStorage, KeySize: 4, ValueSize: 4,
		Flags: unix.BPF_F_NO_PREALLOC, Key: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}, Value: u32})
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { counts.Close() })
	insns := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R2, asm.R6, toa.OffOp, asm.Word),
		asm.JEq.Imm(asm.R2, toa.OpTCPConnect, "connect"),
		asm.JEq.Imm(asm.R2, opRTT, "rtt"),
		asm.Ja.Label("out"),
	}
	insns = append(insns, toa.OwnStorage(counts, "connect")...)
	insns = append(insns, toa.SetFlags("set", asm.Or, flagRTT)...)
	insns = append(insns, toa.OwnStorage(counts, "rtt")...)
	insns = append(insns,
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.Word),
		asm.Mov.Imm(asm.R0, 1).WithSymbol("out"),
		asm.Return(),
	)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "rtt_counter", Type: ebpf.SockOps, License: "GPL", Instructions: insns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	cg, err := toa.OwnCgroup()
	if err != nil {
		t.Fatal(err)
	}
	l, err := link.AttachCgroup(link.CgroupOptions{Path: cg, Attach: ebpf.AttachCGroupSockOps, Program: prog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &rttCounter{counts}
}

// sockOpsPrograms counts the sock_ops programs that run for this
// process's sockets (attached to its cgroup or an ancestor).
func sockOpsPrograms(t *testing.T) int {
	t.Helper()
	cg, err := toa.OwnCgroup()
	if err != nil {
		t.Skip(err)
	}
	f, err := os.Open(cg)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	r, err := link.QueryPrograms(link.QueryOptions{Target: int(f.Fd()), Attach: ebpf.AttachCGroupSockOps, QueryFlags: unix.BPF_F_QUERY_EFFECTIVE})
	if err != nil {
		t.Skip(err)
	}
	return len(r.Programs)
}

// TestWriterKeepsOtherProgramsCallbacks guards that a Writer sets and
// clears only its own callback flag on the sockets it marks: it set the
// flags to its own at connect, turning off the callbacks a sock_ops
// program attached before it had asked for on the same socket, and
// cleared them all once the origin had acknowledged data, turning off
// those of a program attached after it.
func TestWriterKeepsOtherProgramsCallbacks(t *testing.T) {
	for _, first := range []bool{true, false} {
		name := map[bool]string{true: "attached before the writer", false: "attached after it"}[first]
		t.Run(name, func(t *testing.T) {
			// Another node's Writer changes the flags too: the test judges
			// only the programs it attaches.
			if n := sockOpsPrograms(t); n > 0 {
				t.Skipf("%d other sock_ops programs run in this cgroup", n)
			}
			var w *toa.Writer
			if !first {
				w = newWriter(t)
			}
			other := newRTTCounter(t)
			if first {
				w = newWriter(t)
			}
			d := marking(w, netip.MustParseAddrPort("198.51.100.7:40001"))
			mark := d.Control
			d.Control = func(network, address string, rc syscall.RawConn) error {
				var err error
				if cerr := rc.Control(func(fd uintptr) { err = other.counts.Update(uint32(fd), uint32(0), ebpf.UpdateAny) }); cerr != nil {
					return cerr
				}
				if err != nil {
					return err
				}
				return mark(network, address, rc)
			}
			c, err := d.DialContext(context.Background(), "tcp", echoOrigin(t).String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			const exchanges = 5
			buf := make([]byte, 4)
			for range exchanges {
				if _, err := io.WriteString(c, "ping"); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond) // An RTT sample each: no ACK of one covers the next.
			}
			rc, err := c.(*net.TCPConn).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var n uint32
			if cerr := rc.Control(func(fd uintptr) { err = other.counts.Lookup(uint32(fd), &n) }); cerr != nil || err != nil {
				t.Fatal(cerr, err)
			}
			if all := sockOpsPrograms(t); all != 2 {
				t.Skipf("other sock_ops programs were attached meanwhile (%d in all, 2 of the test's)", all)
			}
			if n < exchanges {
				t.Errorf("the other program saw %d RTT callbacks over %d acknowledged exchanges; want one at least for each", n, exchanges)
			}
		})
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
