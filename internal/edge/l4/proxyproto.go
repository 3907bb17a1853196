package l4

import (
	"net"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// proxyHeader returns the PROXY protocol header announcing the client
// (src) and the address it reached (dst), or nil if mode sends none.
func proxyHeader(mode snapshot.ClientIPMode, src, dst net.Addr) ([]byte, error) {
	var v byte
	switch mode {
	case snapshot.ClientIPPPV1:
		v = 1
	case snapshot.ClientIPPPV2:
		v = 2
	default:
		return nil, nil
	}
	return proxyproto.HeaderProxyFromAddrs(v, src, dst).Format()
}

// udpProxyHeader returns the PROXY v2 header (DGRAM) that precedes every
// datagram of a session: UDP has no stream start, so each datagram must
// carry the client address on its own.
func udpProxyHeader(src, dst net.Addr) ([]byte, error) {
	// A socket bound to 0.0.0.0 reports [::]; the header needs both
	// addresses in the client's family.
	if s, ok := src.(*net.UDPAddr); ok {
		if d, ok := dst.(*net.UDPAddr); ok && d.IP.IsUnspecified() && s.IP.To4() != nil {
			dst = &net.UDPAddr{IP: net.IPv4zero, Port: d.Port}
		}
	}
	return proxyproto.HeaderProxyFromAddrs(2, src, dst).Format()
}
