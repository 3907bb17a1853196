package model

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/apierr"
)

func origins(prefix string, n int) []*RealServer {
	rs := make([]*RealServer, n)
	for i := range rs {
		rs[i] = &RealServer{Base: Base{ID: fmt.Sprintf("rs-%s%d", prefix, i)}, Address: fmt.Sprintf("%s.%d.%d", prefix, i/250, i%250+1)}
	}
	return rs
}

func TestCheckNewOrigins(t *testing.T) {
	existing := origins("10.0", 3)
	tests := []struct {
		name  string
		fresh []*RealServer
		dup   string // "" when accepted
	}{
		{"new addresses", origins("10.1", 3), ""},
		{"registered", append(origins("10.1", 2), &RealServer{Base: Base{ID: "rs-x"}, Address: "10.0.0.2"}), "rs-10.01"},
		{"given twice", append(origins("10.1", 2), &RealServer{Base: Base{ID: "rs-y"}, Address: "10.1.0.1"}), "rs-10.10"},
	}
	for _, tt := range tests {
		err := CheckNewOrigins(existing, tt.fresh)
		switch {
		case tt.dup == "" && err != nil:
			t.Errorf("%s: %v; want accepted", tt.name, err)
		case tt.dup != "" && (!apierr.Is(err, apierr.InvalidParameterValueDuplicateRS) || !strings.Contains(err.Error(), tt.dup)):
			t.Errorf("%s: %v; want DuplicateRS naming %s", tt.name, err, tt.dup)
		}
	}
}

// TestCheckNewOriginsLinear: one AddRealServers may register thousands of
// addresses in a project of thousands, and checks them in the write
// transaction. The bytes the check allocates per address must not grow
// with the call: an 8 times larger call and project cost about the same
// per address (copying the origins seen so far for each address made it 8
// times more, 58 MB for 2,000 addresses).
func TestCheckNewOriginsLinear(t *testing.T) {
	perAddr := func(k int) float64 {
		existing, fresh := origins("10.0", k), origins("10.1", k)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		if err := CheckNewOrigins(existing, fresh); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return float64(m1.TotalAlloc-m0.TotalAlloc) / float64(k)
	}
	small, large := perAddr(250), perAddr(2000)
	t.Logf("bytes allocated per address: %.0f for 250 in a project of 250, %.0f for 2,000 in a project of 2,000", small, large)
	if large > 2*small {
		t.Errorf("2,000 addresses allocate %.0f bytes each, 250 addresses %.0f: the check grows faster than the call", large, small)
	}
}
