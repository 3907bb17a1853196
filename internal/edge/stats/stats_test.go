package stats

import "testing"

// TestDeltaCountsRevivedKeyFromZero: counters grow, and Delta is their
// growth. A key forgotten, sampled (its final figures are in that sample,
// which drops the counters) and asked for again before the next sample
// counts from zero in new counters: Delta takes the new counts whole,
// whether they are above the old set's totals or below them, and the old
// set's final figures were in the sample that dropped it.
func TestDeltaCountsRevivedKeyFromZero(t *testing.T) {
	k := Key{KindListener, "l"}
	r := NewRegistry()
	s0 := r.Sample()
	c := r.Get(k.Kind, k.ID)
	c.BytesIn.Add(100)
	c.NewConns.Add(1)
	s1 := r.Sample()
	if d := Delta(s0, s1)[k]; d.BytesIn != 100 || d.NewConns != 1 {
		t.Errorf("growth: BytesIn %d NewConns %d; want 100 and 1", d.BytesIn, d.NewConns)
	}
	c.BytesIn.Add(50)
	r.Forget(k.Kind, k.ID)
	s2 := r.Sample() // Holds 150, drops the counters.
	if d := Delta(s1, s2)[k]; d.BytesIn != 50 || d.NewConns != 0 {
		t.Errorf("final figures: BytesIn %d NewConns %d; want 50 and 0", d.BytesIn, d.NewConns)
	}
	for _, add := range []int64{500, 20} { // Above the old totals, then below.
		c2 := r.Get(k.Kind, k.ID)
		if c2 == c {
			t.Fatal("same counters revived")
		}
		c2.BytesIn.Add(add)
		c2.NewConns.Add(2)
		r.Forget(k.Kind, k.ID)
		s3 := r.Sample()
		if d := Delta(s2, s3)[k]; d.BytesIn != add || d.NewConns != 2 {
			t.Errorf("revived after %d bytes: BytesIn %d NewConns %d; want %d and 2 (the new counters' counts)",
				s2.Values[k].BytesIn, d.BytesIn, d.NewConns, add)
		}
		c, s2 = c2, s3
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

// TestForgottenKeyKeptWhileOpen: a removed listener's connections drain
// and keep counting; its counters were dropped at the next Sample, and
// what the connections carried after it (their final figures at close
// included) went to counters no one read. They are dropped at the first
// Sample that finds nothing open.
func TestForgottenKeyKeptWhileOpen(t *testing.T) {
	k := Key{KindListener, "l"}
	r := NewRegistry()
	c := r.Get(k.Kind, k.ID)
	c.Open()
	c.BytesIn.Add(100)
	s0 := r.Sample()
	r.Forget(k.Kind, k.ID)
	c.BytesIn.Add(50)
	s1 := r.Sample()
	c.BytesIn.Add(700) // The final figures, then the close.
	c.Active.Add(-1)
	s2 := r.Sample()
	if d1, d2 := Delta(s0, s1)[k], Delta(s1, s2)[k]; d1.BytesIn != 50 || d2.BytesIn != 700 {
		t.Errorf("draining connection of a forgotten key: BytesIn %d then %d; want 50 then 700", d1.BytesIn, d2.BytesIn)
	}
	if _, ok := r.Sample().Values[k]; ok {
		t.Error("forgotten key outlived the Sample after its last connection closed")
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
