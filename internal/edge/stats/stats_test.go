package stats

import "testing"

// TestDeltaCounterReset: counters that went down were reset (a key forgotten
// and reused): the delta is what the new counters counted, never negative.
func TestDeltaCounterReset(t *testing.T) {
	k := Key{Kind: KindOrigin, ID: "rs-1"}
	prev := Sample{Values: map[Key]Values{k: {BytesIn: 100, BytesOut: 80, NewConns: 4}}}
	grown := Sample{Values: map[Key]Values{k: {BytesIn: 150, BytesOut: 90, NewConns: 5}}}
	if d := Delta(prev, grown)[k]; d.BytesIn != 50 || d.BytesOut != 10 || d.NewConns != 1 {
		t.Errorf("growth: got %+v; want 50, 10, 1", d)
	}
	reset := Sample{Values: map[Key]Values{k: {BytesIn: 30, BytesOut: 20, NewConns: 1}}}
	if d := Delta(prev, reset)[k]; d.BytesIn != 30 || d.BytesOut != 20 || d.NewConns != 1 {
		t.Errorf("after a reset: got %+v; want the new counters, 30, 20, 1", d)
	}
}
