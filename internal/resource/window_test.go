package resource

import (
	"math"
	"slices"
	"testing"
)

// TestWindow: a page is clamped to the list for any Offset and Limit the
// API accepts, including a Limit so large that offset+limit overflows.
func TestWindow(t *testing.T) {
	items := []int{0, 1, 2, 3}
	for _, c := range []struct {
		offset, limit int
		want          []int
	}{
		{0, 2, []int{0, 1}},
		{1, 2, []int{1, 2}},
		{3, 2, []int{3}},
		{4, 2, nil},
		{9, 2, nil},
		{2, 0, []int{}},
		{1, math.MaxInt, []int{1, 2, 3}},
		{math.MaxInt, math.MaxInt, nil},
	} {
		if got := Window(items, c.offset, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("Window(offset %d, limit %d) = %v; want %v", c.offset, c.limit, got, c.want)
		}
	}
}
