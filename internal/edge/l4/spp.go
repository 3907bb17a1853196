package l4

import (
	"encoding/binary"
	"net/netip"
)

// SPP (Simple Proxy Protocol) is the client-address header EdgeOne L4
// proxies put before every UDP payload (Tencent EdgeOne "通过 SPP 协议传递
// 客户端真实 IP", cloud.tencent.com/document/product/1552/104412; the
// layout is Cloudflare Spectrum's "Simple Proxy Protocol Header",
// developers.cloudflare.com/spectrum/reference/simple-proxy-protocol-header).
// 38 bytes, network byte order:
//
//	0      2                 18                34           36          38
//	| magic | client address | proxy address | client port | proxy port | payload…
//
// magic is 0x56EC; addresses are 16 bytes, IPv4 as IPv4-mapped IPv6.
// Origins reply with the header in front of their payload, and the proxy
// removes it before the reply reaches the client.
const (
	SPPMagic     = 0x56EC
	SPPHeaderLen = 38
)

// sppHeader returns the SPP header announcing client and the proxy
// address the client sent to.
func sppHeader(client, proxy netip.AddrPort) []byte {
	b := make([]byte, SPPHeaderLen)
	binary.BigEndian.PutUint16(b[0:], SPPMagic)
	c16, p16 := as16(client.Addr()), as16(proxy.Addr())
	copy(b[2:18], c16[:])
	copy(b[18:34], p16[:])
	binary.BigEndian.PutUint16(b[34:], client.Port())
	binary.BigEndian.PutUint16(b[36:], proxy.Port())
	return b
}

// as16 is the 16-byte form of a: IPv4 (and the invalid address, as
// 0.0.0.0) becomes IPv4-mapped IPv6.
func as16(a netip.Addr) [16]byte {
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	return netip.AddrFrom16(a.As16()).As16()
}

// stripSPP removes the SPP header an origin put before its reply. It
// returns p unchanged and false when p does not start with one. EdgeOne
// documents that it cuts 38 bytes from a reply whether or not they are a
// header (a reply without one is truncated); forwarding a header-less reply
// unchanged is kinder to origins that answer some datagrams bare.
func stripSPP(p []byte) ([]byte, bool) {
	if len(p) < SPPHeaderLen || binary.BigEndian.Uint16(p) != SPPMagic {
		return p, false
	}
	return p[SPPHeaderLen:], true
}
