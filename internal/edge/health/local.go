package health

import (
	"errors"
	"os"
	"syscall"
)

// LocalFailure reports whether err is the edge's own lack of a resource,
// met before anything was sent: no descriptor, socket buffer or memory
// for a socket (socket, bind), no ephemeral port left (bind, or connect,
// which binds one implicitly), or no permission for an ICMP socket. Such
// an error says nothing about the origin or the DNS server it was meant
// for; counted against them, an episode of descriptor exhaustion would
// mark every checked origin of the node down at once, and keep them down
// for Healthy checks after it ends.
func LocalFailure(err error) bool {
	if errors.Is(err, errNoICMP) {
		return true
	}
	var se *os.SyscallError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Syscall {
	case "socket", "bind":
		for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.EADDRNOTAVAIL} {
			if errors.Is(se.Err, e) {
				return true
			}
		}
	case "connect":
		return errors.Is(se.Err, syscall.EADDRNOTAVAIL)
	}
	return false
}
