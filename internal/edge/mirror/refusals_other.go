//go:build !linux

package mirror

import "net"

func watchRefusals(*net.UDPConn) bool        { return false }
func (e *Engine) countRefusals(*net.UDPConn) {}
