// Package atomicfile writes small files that must survive a crash whole or
// not at all: secrets the store's data cannot be read without.
package atomicfile

import (
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
