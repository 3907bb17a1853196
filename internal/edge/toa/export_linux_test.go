package toa

// For tests that attach a sock_ops program of their own next to the
// Writer's.
var OwnCgroup = ownCgroup

const (
	OffOp        = offOp
	OffCbFlags   = offCbFlags
	OffSk        = offSk
	OpTCPConnect = opTCPConnect
)
