package edge_test

import (
	"os/exec"
	"strings"
	"testing"
)

// badDeps are packages the edge must never import, even transitively, each
// with the reason (tailscale deptest style).
var badDeps = map[string]string{
	"database/sql":        "the edge is driven by snapshots, never by a database",
	"database/sql/driver": "same: no SQL drivers in the data plane",
	"testing":             "test-only code must not ship in the data plane",
	"github.com/opengaap/opengaap/internal/store":    "the control plane's storage",
	"github.com/opengaap/opengaap/internal/model":    "the control plane's domain model; the edge sees snapshots",
	"github.com/opengaap/opengaap/internal/cloudapi": "the API endpoint",
	"github.com/opengaap/opengaap/internal/gaap":     "API actions",
	"github.com/opengaap/opengaap/internal/teo":      "API actions",
	"github.com/opengaap/opengaap/internal/vpc":      "API actions",
	"github.com/opengaap/opengaap/internal/apierr":   "wire errors belong to the API",
}

var badPrefixes = []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/opengaap/opengaap/internal/store/"}

func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if why, ok := badDeps[dep]; ok {
			t.Errorf("edge imports %s: %s", dep, why)
		}
		for _, p := range badPrefixes {
			if strings.HasPrefix(dep, p) {
				t.Errorf("edge imports %s: no storage in the data plane", dep)
			}
		}
	}
}
