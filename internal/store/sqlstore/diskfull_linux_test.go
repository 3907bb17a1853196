package sqlstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opengaap/opengaap/internal/store"
)

// TestOpenOnFullDiskSaysDiskFull: a store closed cleanly (as serve's
// shutdown does, its -wal and -shm files removed) cannot be opened while
// its filesystem is full, since SQLite must create the -shm file again.
// The error must say the filesystem is full, not "disk I/O error (4874)"
// (SQLITE_IOERR_SHMSIZE), which points at the hardware; once space is
// freed the store opens with its data.
func TestOpenOnFullDiskSaysDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	ctx := context.Background()
	path := filepath.Join(dir, "opengaap.db")
	s, err := Open(ctx, path, WithInstanceLock("test"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx store.Tx) error {
		return tx.Insert(store.Record{Kind: "proxy", ID: "link-1", Account: "a", Data: []byte(`{}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for buf := make([]byte, 4096); ; {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()

	s, err = Open(ctx, path, WithInstanceLock("test"))
	if err == nil {
		s.Close()
		t.Fatal("Open on a full filesystem succeeded; want it refused (docs/controller.md)")
	}
	if msg := err.Error(); !strings.Contains(msg, "the filesystem holding "+dir+" is full") {
		t.Fatalf("Open on a full filesystem: %v; want it to say the filesystem is full", err)
	}
	t.Log(err)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, WithInstanceLock("test"))
	if err != nil {
		t.Fatalf("Open once space is back: %v", err)
	}
	defer s.Close()
	if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Get("proxy", "link-1"); return err }); err != nil {
		t.Errorf("read once space is back: %v", err)
	}
}
