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
}
