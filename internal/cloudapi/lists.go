package cloudapi

import "slices"

// UniqueInOrder returns a list parameter's values without repeats, each
// where it first appears: a name given twice is answered once, so the
// size of an answer follows what was asked, not how often.
func UniqueInOrder(values []string) []string {
	seen := make(map[string]bool, len(values))
	return slices.DeleteFunc(slices.Clone(values), func(v string) bool {
		dup := seen[v]
		seen[v] = true
		return dup
	})
}
