package mirror

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// pathMTU is the kernel's MTU of the route to target (IP_MTU on a
// connected UDP socket), or ok false when it cannot be learnt.
func pathMTU(target netip.AddrPort) (mtu int, ok bool) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(target))
	if err != nil {
		return 0, false
	}
	defer c.Close()
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { mtu, serr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU) }); err != nil || serr != nil {
		return 0, false
	}
	return mtu, true
}
