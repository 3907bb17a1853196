package jsonstrict

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type v struct {
		A int
		B map[string]int
		C []map[string]int
		D map[string]any
	}
	for _, c := range []struct {
		in string
		ok bool
	}{
		{`{"A": 1}`, true},
		{"{\"A\": 1}\n\t ", true},
		{`{"A": 1, "B": 2}`, false},  // A member v has no field for.
		{`{"A": 1} {"A": 2}`, false}, // A second value, which was ignored.
		{`{"A": 1} x`, false},
		{`{"A": 1} ]`, false}, // A stray closing bracket, and anything after it, was let through.
		{`{"A": 1} } [`, false},
		{`{"A": 1, "A": 2}`, false},                   // The first would silently not apply.
		{`{"A": 1, "a": 2}`, false},                   // Both set A.
		{"{\"D\": {\"s\": 1, \"\u017f\": 2}}", false}, // ſ folds to s, as encoding/json matches names.
		{`{"A": 1, "B": {"x": 1, "x": 2}}`, false},
		{`{"A": 1, "C": [{"x": 1}, {"x": 2}], "D": {"x": {"y": 1}, "y": 2}}`, true},
		{``, false},
	} {
		var got v
		if err := Decode(strings.NewReader(c.in), &got); (err == nil) != c.ok {
			t.Errorf("Decode(%q): %v; want ok=%v", c.in, err, c.ok)
		}
	}
}
