//go:build !linux

package sqlstore

// freeSpace is unknown off Linux, where opengaap does not serve from:
// an open error is then reported as SQLite words it.
func freeSpace(dir string) (uint64, bool) { return 0, false }
