package xtest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// claimPort is where a test binary claims a vip pool: a TCP listener on the
// pool's network address, which no pool hands out and no test binds. The
// port is above Linux's ephemeral range, so no outgoing socket takes it.
const claimPort = 61999

var (
	vipMu   sync.Mutex
	vipNext uint32
	claims  []net.Listener // Held until the process exits.
)

// NextVIPPool returns a fresh /24 inside 127.64.0.0/10 for one test API.
// Test binaries run in parallel (go test -p), so a pool is claimed with a
// listener the kernel holds for this process alone: no two binaries ever
// hand out the same addresses, which would make one test's connections
// reach another's listener.
func NextVIPPool() string {
	vipMu.Lock()
	defer vipMu.Unlock()
	for range 64 * 256 {
		n := vipNext
		vipNext = (vipNext + 1) % (64 * 256)
		b, c := 64+n/256, n%256
		if b == edgetest.AllocNet {
			continue // Test origins' addresses.
		}
		ln, err := net.Listen("tcp4", fmt.Sprintf("127.%d.%d.0:%d", b, c, claimPort))
		if errors.Is(err, syscall.EADDRINUSE) {
			continue // Another binary has it.
		}
		if err != nil {
			panic("xtest: claiming a vip pool: " + err.Error())
		}
		claims = append(claims, ln)
		return fmt.Sprintf("127.%d.%d.0/24", b, c)
	}
	panic("xtest: every vip pool in 127.64.0.0/10 is claimed")
}
