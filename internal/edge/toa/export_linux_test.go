package toa

// For tests that attach a sock_ops program of their own next to the
// Writer's.
var (
	OwnCgroup  = ownCgroup
	OwnStorage = ownStorage
	SetFlags   = setFlags
)

const (
	OffOp        = offOp
	OpTCPConnect = opTCPConnect
)
