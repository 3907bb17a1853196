package edgetest

import (
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// onlyPort has the kernel queue on the raw socket fd only the TCP
// segments to port. Unfiltered it queues every TCP segment of the host,
// and another test's bulk transfer over loopback fills its buffer
// between two reads: the kernel then drops what arrives, the segments
// watched among them.
func onlyPort(fd int, port uint16) error {
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadMemShift{Off: 0},          // X: the IPv4 header's length.
		bpf.LoadIndirect{Off: 2, Size: 2}, // The TCP destination port.
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(port), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffffffff}, // The whole segment.
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		return err
	}
	f := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		f[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]})
}
