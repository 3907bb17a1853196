package gaap_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"

	"github.com/opengaap/opengaap/internal/gaap"
)

// specAction is an action of the API reference with its error list.
type specAction struct {
	Name   string
	Errors []struct{ Code string }
}

// readSpec reads the actions of the API reference.
func readSpec(t *testing.T) []specAction {
	t.Helper()
	b, err := os.ReadFile("../../spec/gaap-2018-05-29.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct{ Actions []specAction }
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	return spec.Actions
}

// specActions reads the action names of the API reference.
func specActions(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, a := range readSpec(t) {
		names = append(names, a.Name)
	}
	return names
}

// wantDocumented fails unless err is an API error whose code the error
// list of action names: clients branch on the documented codes.
func wantDocumented(t *testing.T, action string, err error) {
	t.Helper()
	var e *sdkerrors.TencentCloudSDKError
	if !errors.As(err, &e) {
		t.Errorf("%s: got error %v; want an API error", action, err)
		return
	}
	for _, a := range readSpec(t) {
		if a.Name == action {
			if !slices.ContainsFunc(a.Errors, func(x struct{ Code string }) bool { return x.Code == e.Code }) {
				t.Errorf("%s: got code %s (%s), which its error list does not name", action, e.Code, e.Message)
			}
			return
		}
	}
	t.Fatalf("the reference has no action %s", action)
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
