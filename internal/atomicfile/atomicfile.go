// Package atomicfile writes small files that must survive a crash whole or
// not at all: secrets the store's data cannot be read without. It also
// keeps such files, and the store's, readable by their owner only.
package atomicfile

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Write stores data at path with mode perm, replacing any file there. It
// writes a temporary file in the same directory, syncs it, renames it over
// path and syncs the directory, so after a crash path holds either the old
// content or all of data, and once Write returns nil a power cut cannot
// undo it. A plain os.WriteFile can leave an empty or missing file behind.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the rename itself durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// KeepPrivate makes the existing file at path readable by its owner only
// when its group or others have any access, and logs it. Serve writes its
// files 0600, but one written by hand (umask 022), restored from a backup
// or copied from an older release may be open to every local user. A
// missing file is left alone. A file serve may not chmod (owned by another
// user, on a read-only mount) is only warned about: it stays as readable
// as it was, and refusing to start would change nothing about that.
func KeepPrivate(path string, log *slog.Logger) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, perm&0o700); err != nil {
		log.Warn("file is readable by others and could not be made its owner's only; restrict it", "mode", fmt.Sprintf("%#o", perm), "err", err, "file", path)
		return nil
	}
	log.Warn("file was readable by others; now by its owner only", "mode", fmt.Sprintf("%#o", perm&0o700), "file", path)
	return nil
}
