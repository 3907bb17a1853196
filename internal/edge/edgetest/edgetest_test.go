package edgetest

import (
	"fmt"
	"testing"
)

// recordingT records what ShapedRate reports.
type recordingT struct {
	testing.TB
	errors []string
}

func (r *recordingT) Helper()             {}
func (r *recordingT) Logf(string, ...any) {}
func (r *recordingT) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestShapedRate: a rate short of the cap is measured again, up to three
// times; one over it fails at once.
func TestShapedRate(t *testing.T) {
	for _, c := range []struct {
		rates []float64
		tries int
		fails bool
	}{
		{[]float64{8}, 1, false},
		{[]float64{5, 7.5}, 2, false},
		{[]float64{5, 5, 5, 8}, 3, true},
		{[]float64{9, 8}, 1, true},
	} {
		r := &recordingT{TB: t}
		tries := 0
		ShapedRate(r, "rate", 8, 0.1, func() float64 { tries++; return c.rates[tries-1] })
		if tries != c.tries || (len(r.errors) > 0) != c.fails {
			t.Errorf("rates %v: %d tries, errors %q; want %d tries, failing %v", c.rates, tries, r.errors, c.tries, c.fails)
		}
	}
}
