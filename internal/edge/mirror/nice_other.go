//go:build !linux

package mirror

// lowerPriority is a no-op off Linux, where per-thread niceness is not
// available through the same call.
func lowerPriority() {}
