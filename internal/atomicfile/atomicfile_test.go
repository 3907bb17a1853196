package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesWholeFileWithPerm(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.key")
	for _, data := range []string{"first", "second, longer"} {
		if err := Write(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("read back %q, %v; want %q", got, err, data)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode %v; want 0600", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries; want only the file (no temporary left)", len(ents))
	}
}

// TestWriteFailureLeavesOldContent: a write whose rename fails leaves
// the target as it was and no temporary file behind.
func TestWriteFailureLeavesOldContent(t *testing.T) {
	dir := t.TempDir()
	// Renaming a file over a non-empty directory fails after the
	// temporary file is written.
	target := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(target, "old"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Write(target, []byte("new"), 0o600); err == nil {
		t.Fatal("Write over a non-empty directory succeeded")
	}
	if _, err := os.Stat(filepath.Join(target, "old")); err != nil {
		t.Errorf("the target lost its old content: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries; want only the target (no temporary left)", len(ents))
	}
}
