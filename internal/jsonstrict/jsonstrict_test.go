package jsonstrict

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type v struct{ A int }
	for _, c := range []struct {
		in string
		ok bool
	}{
		{`{"A": 1}`, true},
		{"{\"A\": 1}\n\t ", true},
		{`{"A": 1, "B": 2}`, false},  // A member v has no field for.
		{`{"A": 1} {"A": 2}`, false}, // A second value, which was ignored.
		{`{"A": 1} x`, false},
		{``, false},
	} {
		var got v
		if err := Decode(strings.NewReader(c.in), &got); (err == nil) != c.ok {
			t.Errorf("Decode(%q): %v; want ok=%v", c.in, err, c.ok)
		}
	}
}
