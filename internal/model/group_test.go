package model

import (
	"slices"
	"testing"
)

// TestMembers: a proxy being destroyed (DestroyProxies has returned; the
// controller has yet to remove it) is no longer a member of its group;
// every other status is.
func TestMembers(t *testing.T) {
	ps := []*Proxy{{Base: Base{ID: "a"}, Status: ProxyRunning}, {Base: Base{ID: "b"}, Status: ProxyDestroying},
		{Base: Base{ID: "c"}, Status: ProxyClosed}, {Base: Base{ID: "d"}, Status: ProxyCreating}}
	var got []string
	for _, p := range Members(ps) {
		got = append(got, p.ID)
	}
	if want := []string{"a", "c", "d"}; !slices.Equal(got, want) {
		t.Errorf("Members = %v; want %v", got, want)
	}
}
