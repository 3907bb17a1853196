package toa

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Offsets into struct bpf_sock_ops and the sock_ops values the program
// uses (include/uapi/linux/bpf.h; stable ABI).
const (
	offOp         = 0
	offCbFlags    = 84 // bpf_sock_ops_cb_flags
	offBytesAcked = 176
	offSk         = 184

	opTCPConnect = 3  // BPF_SOCK_OPS_TCP_CONNECT_CB
	opHdrOptLen  = 14 // BPF_SOCK_OPS_HDR_OPT_LEN_CB
	opWriteHdr   = 15 // BPF_SOCK_OPS_WRITE_HDR_OPT_CB

	flagWriteHdrOpt = 1 << 6 // BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG
)

// Writer marks sockets whose connection carries a TOA option. Safe for
// concurrent use.
type Writer struct {
	opts *ebpf.Map // Socket-local storage: the option bytes of a marked socket.
	prog *ebpf.Program
	link link.Link
}

// New loads the program and attaches it to the process's cgroup (v2). Its
// socket storage dies with each socket, and the attachment with the
// Writer (Close) or the process.
func New() (*Writer, error) {
	cg, err := ownCgroup()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	byteT := &btf.Int{Name: "unsigned char", Size: 1}
	opts, err := ebpf.NewMap(&ebpf.MapSpec{Name: "toa_opts", Type: ebpf.SkStorage, KeySize: 4, ValueSize: Len,
		Flags: unix.BPF_F_NO_PREALLOC,
		Key:   &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed},
		Value: &btf.Array{Type: byteT, Index: &btf.Int{Name: "unsigned int", Size: 4}, Nelems: Len}})
	if err != nil {
		return nil, fmt.Errorf("%w: socket storage: %v", ErrUnsupported, err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "toa_sockops", Type: ebpf.SockOps, License: "GPL",
		Instructions: program(opts)})
	if err != nil {
		opts.Close()
		return nil, fmt.Errorf("%w: sock_ops program: %v", ErrUnsupported, err)
	}
	l, err := link.AttachCgroup(link.CgroupOptions{Path: cg, Attach: ebpf.AttachCGroupSockOps, Program: prog})
	if err != nil {
		prog.Close()
		opts.Close()
		return nil, fmt.Errorf("%w: attach to %s: %v", ErrUnsupported, cg, err)
	}
	return &Writer{opts: opts, prog: prog, link: l}, nil
}

// program is the sock_ops program: on connect, a socket with an option in
// storage asks for header-option callbacks; each packet then reserves
// room and writes the option, until the peer has acknowledged data (more
// than the SYN's one sequence number), when the callbacks stop.
//
// The program runs for every socket of the cgroup (the root cgroup, on
// many hosts), where other sock_ops programs (another Writer among them)
// turn callbacks on for sockets of their own: each branch looks the socket
// up in its own storage first, and the callback flags are shared, so it
// sets or clears its own flag only.
func program(opts *ebpf.Map) asm.Instructions {
	var p asm.Instructions
	p = append(p,
		asm.Mov.Reg(asm.R6, asm.R1),
		asm.LoadMem(asm.R2, asm.R6, offOp, asm.Word),
		asm.JEq.Imm(asm.R2, opTCPConnect, "connect"),
		asm.JEq.Imm(asm.R2, opHdrOptLen, "len"),
		asm.JEq.Imm(asm.R2, opWriteHdr, "write"),
		asm.Ja.Label("out"),
	)
	p = append(p, ownStorage(opts, "connect")...)
	p = append(p, setFlags("start", asm.Or, flagWriteHdrOpt)...)
	p = append(p, ownStorage(opts, "len")...)
	p = append(p,
		asm.LoadMem(asm.R2, asm.R6, offBytesAcked, asm.DWord),
		asm.JGT.Imm(asm.R2, 1, "stop"),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.Mov.Imm(asm.R2, Len),
		asm.Mov.Imm(asm.R3, 0),
		asm.FnReserveHdrOpt.Call(),
		asm.Ja.Label("out"),
	)
	p = append(p, setFlags("stop", asm.And, ^flagWriteHdrOpt)...)
	p = append(p, ownStorage(opts, "write")...)
	p = append(p,
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.Mov.Reg(asm.R2, asm.R0),
		asm.Mov.Imm(asm.R3, Len),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnStoreHdrOpt.Call(),

		asm.Mov.Imm(asm.R0, 1).WithSymbol("out"),
		asm.Return(),
	)
	return p
}

// Mark makes the connection fd is about to make carry client's address;
// call it before connect (net.Dialer.Control). An IPv6 client gets no
// option: TOA has room for IPv4 only.
func (w *Writer) Mark(fd uintptr, client netip.AddrPort) error {
	o, ok := Option(client)
	if !ok {
		return nil
	}
	return w.opts.Update(uint32(fd), o[:], ebpf.UpdateAny)
}

// Close detaches the program.
func (w *Writer) Close() error {
	return errors.Join(w.link.Close(), w.prog.Close(), w.opts.Close())
}

// ownStorage is the sock_ops code at label that loads into r0 the socket's
// entry of m, a socket storage map, or jumps to "out" when it has none
// (r6 holds the context).
func ownStorage(m *ebpf.Map, label string) asm.Instructions {
	return asm.Instructions{
		asm.LoadMem(asm.R2, asm.R6, offSk, asm.DWord).WithSymbol(label),
		asm.JEq.Imm(asm.R2, 0, "out"),
		asm.LoadMapPtr(asm.R1, m.FD()),
		asm.Mov.Imm(asm.R3, 0),
		asm.Mov.Imm(asm.R4, 0),
		asm.FnSkStorageGet.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
	}
}

// setFlags is the sock_ops code at label that sets the socket's callback
// flags to their value op v (or a flag in, and one out), then jumps to
// "out": the flags are shared with other programs.
func setFlags(label string, op asm.ALUOp, v int32) asm.Instructions {
	return asm.Instructions{
		asm.LoadMem(asm.R2, asm.R6, offCbFlags, asm.Word).WithSymbol(label),
		op.Imm(asm.R2, v),
		asm.Mov.Reg(asm.R1, asm.R6),
		asm.FnSockOpsCbFlagsSet.Call(),
		asm.Ja.Label("out"),
	}
}

// ownCgroup is the cgroup v2 directory of this process.
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	var rel string
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			rel = p
		}
	}
	if rel == "" {
		return "", errors.New("not in a cgroup v2 hierarchy")
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// "... mountpoint opts ... - fstype source superopts"
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if fields := strings.Fields(pre); len(fields) >= 5 {
			return filepath.Join(fields[4], rel), nil
		}
	}
	return "", errors.New("no cgroup v2 mount")
}
