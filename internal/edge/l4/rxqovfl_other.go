//go:build !linux

package l4

import "net"

var rxqOOBLen = 0

func enableRxqOvfl(*net.UDPConn) bool { return false }

type dropMeter struct{}

func (*dropMeter) delta([]byte) int64 { return 0 }
