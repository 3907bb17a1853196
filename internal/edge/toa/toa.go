// Package toa passes a TCP client's address to an origin in a TCP option
// (TOA, "TCP Option Address"), as GAAP's ClientIPMethod 0 does: the option
// kind 200, length 8, then the client's port and IPv4 address in network
// byte order. Origins read it with a TOA kernel module (getpeername then
// returns the client's address); origins without one ignore the unknown
// option, so a connection works either way.
//
// A user-space proxy cannot write TCP options; an eBPF sock_ops program
// attached to the process's cgroup does it for the sockets the proxy
// marks (Writer.Mark) before connecting, on the SYN, the ACK that ends
// the handshake (which a TOA module reads) and every packet after it
// until the origin has acknowledged data, which proves the handshake done.
package toa

import (
	"errors"
	"net/netip"
)

// Option kind and length of GAAP's TOA.
const (
	Kind = 200
	Len  = 8
)

// ErrUnsupported means this machine cannot write TOA options (not Linux,
// no BPF permission, no cgroup v2, or a kernel before 5.10).
var ErrUnsupported = errors.New("TOA needs Linux ≥ 5.10 with cgroup v2 and permission to load BPF programs")

// Option is the TOA option carrying client, which must be IPv4 (the
// option has no room for more).
func Option(client netip.AddrPort) ([Len]byte, bool) {
	a := client.Addr().Unmap()
	if !a.Is4() {
		return [Len]byte{}, false
	}
	ip := a.As4()
	p := client.Port()
	return [Len]byte{Kind, Len, byte(p >> 8), byte(p), ip[0], ip[1], ip[2], ip[3]}, true
}

// Parse finds a TOA option in a TCP header's options and returns the
// address it carries.
func Parse(opts []byte) (netip.AddrPort, bool) {
	for i := 0; i < len(opts); {
		switch opts[i] {
		case 0: // End of options.
			return netip.AddrPort{}, false
		case 1: // NOP.
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			return netip.AddrPort{}, false
		}
		if opts[i] == Kind && opts[i+1] == Len {
			o := opts[i : i+Len]
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte(o[4:8])), uint16(o[2])<<8|uint16(o[3])), true
		}
		i += int(opts[i+1])
	}
	return netip.AddrPort{}, false
}
