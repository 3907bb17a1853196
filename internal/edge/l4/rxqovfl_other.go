//go:build !linux

package l4

import (
	"net"

	"golang.org/x/net/ipv4"
)

var rxqOOBLen = 0

func enableRxqOvfl(*net.UDPConn) bool { return false }

// rxqWaiting is unknown off Linux: false, so a session's reply buffers
// stay one (one read per reply) rather than grow for a single reply.
func rxqWaiting(*net.UDPConn) bool { return false }

type dropMeter struct{}

func (*dropMeter) delta([]byte) int64 { return 0 }

func (*dropMeter) batch([]ipv4.Message) int64 { return 0 }
