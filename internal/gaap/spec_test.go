package gaap_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/gaap"
)

// specActions reads the action names of the API reference.
func specActions(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../spec/gaap-2018-05-29.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Actions []struct{ Name string }
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range spec.Actions {
		names = append(names, a.Name)
	}
	return names
}

// TestEveryActionRegistered fails when an action of the reference has no handler.
func TestEveryActionRegistered(t *testing.T) {
	registered := (&gaap.Service{}).Register().Actions()
	for _, name := range specActions(t) {
		if !slices.Contains(registered, name) {
			t.Errorf("action %s is not registered", name)
		}
	}
	if len(registered) != len(specActions(t)) {
		t.Errorf("got %d registered actions; want %d", len(registered), len(specActions(t)))
	}
}

// TestEveryActionTested fails when no test of this package calls an action,
// through the SDK (.Action( or NewActionRequest) or a raw call ("Action").
func TestEveryActionTested(t *testing.T) {
	files, _ := filepath.Glob("*_test.go")
	var all strings.Builder
	for _, f := range files {
		if f == "spec_test.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	src := all.String()
	for _, name := range specActions(t) {
		if !strings.Contains(src, "."+name+"(") && !strings.Contains(src, "New"+name+"Request(") && !strings.Contains(src, `"`+name+`"`) {
			t.Errorf("no test calls %s", name)
		}
	}
}
