package model

import (
	"slices"
	"testing"
)

func TestOriginIDs(t *testing.T) {
	bs := []Bound{{RealServerID: "rs-a", Port: 80}, {RealServerID: "rs-b", Port: 80}, {RealServerID: "rs-a", Port: 8080}}
	if got, want := OriginIDs(bs), []string{"rs-a", "rs-b", "rs-a:8080"}; !slices.Equal(got, want) {
		t.Errorf("OriginIDs = %v; want %v", got, want)
	}
	for rs, want := range map[string][]string{"rs-a": {"rs-a", "rs-a:8080"}, "rs-b": {"rs-b"}, "rs-c": nil} {
		if got := OriginIDsOf(bs, rs); !slices.Equal(got, want) {
			t.Errorf("OriginIDsOf(%s) = %v; want %v", rs, got, want)
		}
	}
}
