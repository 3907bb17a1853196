package l4

import (
	"net"

	"golang.org/x/sys/unix"
)

// tcpInfo is the slice of TCP_INFO the edge uses. Reading it costs one
// getsockopt and leaves the splice fast path alone.
type tcpInfo struct {
	bytesReceived           uint64 // Payload bytes received (+1 once a FIN arrives).
	dataSegsIn, dataSegsOut uint32 // Segments carrying data, as TCP counted them.
	lastRecvMs              uint32 // Milliseconds since data was last received.
}

func readTCPInfo(c *net.TCPConn) (tcpInfo, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return tcpInfo{}, false
	}
	var ti *unix.TCPInfo
	cerr := rc.Control(func(fd uintptr) {
		ti, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if cerr != nil || err != nil {
		return tcpInfo{}, false
	}
	return tcpInfo{ti.Bytes_received, ti.Data_segs_in, ti.Data_segs_out, ti.Last_data_recv}, true
}
