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

// TestReadKeepsForgottenKeys: only Sample drops a forgotten key, so that
// readers besides the recorder (a /metrics scrape) cannot take a removed
// object's final figures away from the recorder's next sample.
func TestReadKeepsForgottenKeys(t *testing.T) {
	r := NewRegistry()
	r.Get(KindListener, "lsr-1").NewConns.Add(3)
	r.Forget(KindListener, "lsr-1")
	k := Key{KindListener, "lsr-1"}
	if got := r.Read().Values[k].NewConns; got != 3 {
		t.Errorf("Read after Forget: NewConns %d; want 3", got)
	}
	if got := r.Sample().Values[k].NewConns; got != 3 {
		t.Errorf("Sample after Forget and Read: NewConns %d; want the final 3", got)
	}
	if _, ok := r.Read().Values[k]; ok {
		t.Error("forgotten key outlived the Sample after Forget")
	}
}

// TestSamplePeak: a sample's Peak is the most connections open at once
// since the previous Sample, those closed in between included, and a
// Sample resets it to the connections still open.
func TestSamplePeak(t *testing.T) {
	r := NewRegistry()
	c := r.Get(KindProxy, "sid-1")
	k := Key{KindProxy, "sid-1"}
	for range 3 {
		c.Open()
	}
	c.Active.Add(-2)
	if v := r.Read().Values[k]; v.Peak != 3 || v.Active != 1 {
		t.Errorf("Read: Peak %d, Active %d; want 3, 1", v.Peak, v.Active)
	}
	first := r.Sample()
	if v := first.Values[k]; v.Peak != 3 {
		t.Errorf("first Sample: Peak %d; want 3", v.Peak)
	}
	if v := Delta(first, r.Sample())[k]; v.Peak != 1 {
		t.Errorf("next minute: Peak %d; want 1, the one still open", v.Peak)
	}
}
