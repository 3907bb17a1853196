package xtest

import (
	"fmt"
	"os"
	"sync/atomic"
)

// vipSeq spreads the vip pools of concurrently running test APIs across
// 127.64.0.0/10 so that their proxies never bind the same addresses; the
// process ID separates test binaries that run at the same time.
var vipSeq atomic.Uint32

// NextVIPPool returns a fresh /24 inside 127.0.0.0/8 for one test API.
func NextVIPPool() string {
	n := vipSeq.Add(1)
	return fmt.Sprintf("127.%d.%d.0/24", 64+(uint32(os.Getpid())+n/256)%64, n%256)
}
