package edge

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestBindErrorSaysWhatToDo: a bind refused for permission or for an
// address that is not local says what the operator must change, as a
// listen error wraps the errno (net.OpError → os.SyscallError).
func TestBindErrorSaysWhatToDo(t *testing.T) {
	wrap := func(errno syscall.Errno) error {
		return &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", errno)}
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{wrap(syscall.EACCES), "CAP_NET_BIND_SERVICE"},
		{wrap(syscall.EADDRNOTAVAIL), "--vip-pool must be local"},
		{wrap(syscall.EADDRINUSE), "address already in use"},
	} {
		got := bindError("TCP/127.0.0.1:80", c.err)
		if !strings.HasPrefix(got, "bind TCP/127.0.0.1:80: ") || !strings.Contains(got, c.want) {
			t.Errorf("%v: %q; want it to contain %q", c.err, got, c.want)
		}
	}
}
