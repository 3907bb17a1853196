//go:build !linux

package l4

import "net"

// tcpInfo is unavailable off Linux: packets are then not counted, idle
// timeouts are not enforced and bytes are counted at close only.
type tcpInfo struct {
	bytesAcked              uint64
	dataSegsIn, dataSegsOut uint32
	lastRecvMs              uint32
}

func readTCPInfo(*net.TCPConn) (tcpInfo, bool) { return tcpInfo{}, false }

func (tcpInfo) peer() Peer { return PeerOpen }

// wasReset is unknown off Linux: false.
func wasReset(*net.TCPConn, tcpInfo) bool { return false }

// PeerClosed is unknown off Linux: false.
func PeerClosed(*net.TCPConn) bool { return false }

// Unread is unknown off Linux: 0.
func Unread(*net.TCPConn) int { return 0 }
