//go:build unix

package sqlstore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileLock is an flock(2) held on an open file.
type fileLock struct{ f *os.File }

// lostCh: an flock lasts as long as the descriptor, which only release
// closes; nothing to watch.
func (l fileLock) lostCh() <-chan error { return nil }

func (l fileLock) release() error {
	// Empty the description first: a reader then never sees a stale holder.
	_ = l.f.Truncate(0)
	return l.f.Close() // closing the descriptor drops the flock
}

// lockFile takes an exclusive flock on path without waiting and writes
// holder into it.
func lockFile(path, holder string) (instanceLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: instance lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked by %s", ErrLocked, path, describeLockFile(path))
		}
		return nil, fmt.Errorf("sqlstore: instance lock %s: %w", path, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(holder+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sqlstore: instance lock %s: %w", path, err)
	}
	return fileLock{f}, nil
}
