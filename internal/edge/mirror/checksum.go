package mirror

import (
	"encoding/binary"
	"math/bits"
)

// Offsets in a serialized VXLAN frame: VXLAN (8) + Ethernet (14) + IPv4
// without options (20) + the transport header.
const (
	ipOff  = 8 + 14
	l4Off  = ipOff + 20
	tcpSum = l4Off + 16 // TCP checksum field.
	udpSum = l4Off + 6  // UDP checksum field.
)

// fillChecksums writes the inner IPv4 header checksum and the TCP or UDP
// checksum of a frame serialized without them. gopacket sums payloads a
// byte at a time, which made checksums the largest user-space cost of
// mirroring at line rate; this sums eight bytes at a time.
func fillChecksums(b []byte, proto byte) {
	binary.BigEndian.PutUint16(b[ipOff+10:], fold(sum(b[ipOff:l4Off], 0)))
	// The IP length, not the buffer's: short frames carry Ethernet padding.
	seg := b[l4Off : ipOff+int(binary.BigEndian.Uint16(b[ipOff+2:]))]
	// Pseudo-header: source and destination, protocol, transport length.
	ph := sum(b[ipOff+12:l4Off], uint64(proto)+uint64(len(seg)))
	off := tcpSum
	if proto == 17 {
		off = udpSum
	}
	c := fold(sum(seg, ph))
	if proto == 17 && c == 0 {
		c = 0xffff // RFC 768: a computed zero is sent as all ones.
	}
	binary.BigEndian.PutUint16(b[off:], c)
}

// sum adds b, as big-endian 16-bit words, to the ones'-complement sum acc
// (any width: folding reduces it modulo 2^16 - 1).
func sum(b []byte, acc uint64) uint64 {
	var carry uint64
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		b = b[8:]
	}
	if len(b) > 0 { // Zero-padded on the right: an odd last byte is a word's high byte.
		var tail [8]byte
		copy(tail[:], b)
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(tail[:]), carry)
	}
	acc, carry = bits.Add64(acc, 0, carry)
	return acc + carry
}

// fold reduces a sum to 16 bits and complements it.
func fold(acc uint64) uint16 {
	s := acc>>32 + acc&0xffffffff
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}
