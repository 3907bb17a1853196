//go:build !linux

package l4

import "net"

// copyTee falls back to the userspace copy where tee(2) does not exist.
func (c *tcpConn) copyTee(dst, src *net.TCPConn, d Dir) (int64, error) {
	return c.copyLoop(dst, src, false, nil, d)
}
