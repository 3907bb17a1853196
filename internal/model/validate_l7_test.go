package model

import "testing"

func TestParsePath(t *testing.T) {
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"/", "/", true},
		{"/image", "/image", true},
		{"%2Fimage", "/image", true}, // The reference's example.
		{"%2f", "/", true},
		{"%2Fa%2Fb%3Fc", "/a/b?c", true},
		{"/a%20b", "/a%20b", true}, // Literal: kept as written.
		{"/a%zz", "/a%zz", true},
		{"%2Fa%zz", "", false},
		{"%2Fa%20b", "", false}, // Decodes to a space.
		{"image", "", false},
		{"%252Fimage", "", false}, // Decoded once only.
		{"/a b", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, err := ParsePath("Path", tc.raw)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParsePath(%q) = %q, %v; want %q, ok %v", tc.raw, got, err, tc.want, tc.ok)
		}
	}
}

// TestValidateCheckPath: CheckParams.Path is the probe's request target.
// One with a malformed %-escape (refused in a rule Path too) could never
// be sent, so every check failed and every origin read abnormal; one with
// a '#' probed another path. Both are refused; a query may follow.
func TestValidateCheckPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/health", true},
		{"/a%20b", true},
		{"/x?y=1", true},
		{"/x?y=%zz", true}, // The query goes as written.
		{"%2Fhealth", true},
		{"/health%zz", false},
		{"/health%", false},
		{"/h#x", false},
		{"/h?x#y", false},
	}
	for _, tc := range tests {
		c := DefaultCheck("www.test")
		c.Path = tc.path
		if err := ValidateCheck(&c); (err == nil) != tc.ok {
			t.Errorf("ValidateCheck with Path %q: got %v; want ok %v", tc.path, err, tc.ok)
		}
	}
}
