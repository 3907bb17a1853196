//go:build !unix

package sqlstore

// lockFile is a no-op where flock(2) does not exist: opengaap serves from
// Linux, and the edge needs it anyway.
func lockFile(path, holder string) (instanceLock, error) { return nil, nil }
