package snapshot_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the contract stdlib-only, so both planes can import it.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(dep, "/")
		if strings.Contains(first, ".") && dep != "github.com/opengaap/opengaap/internal/snapshot" {
			t.Errorf("snapshot imports non-stdlib %s", dep)
		}
	}
}
