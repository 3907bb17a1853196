package limit

import (
	"context"
	"testing"
	"time"
)

// TestBandwidthReserveIsForDatagrams: a full bucket passes a train of
// datagrams as deep as its reserve at once, but a shaped copy sees only
// its chunk: the rest of a read larger than the chunk waits for the
// refill, so a copy's rate over a second stays within a few percent of
// the cap.
func TestBandwidthReserveIsForDatagrams(t *testing.T) {
	const mbps, bps = 8, 1_000_000 // Bytes per second.
	b := NewBandwidth()
	b.SetMbps(mbps)
	if got, want := b.Chunk(), bps/50; got != want {
		t.Errorf("Chunk() = %d; want %d (1/50 s)", got, want)
	}
	time.Sleep(150 * time.Millisecond) // The bucket fills, if it was not full.
	const train = 60 << 10
	for i := range train / 1200 {
		if !b.Allow(Out, 1200) {
			t.Fatalf("datagram %d of a %d-byte train dropped by a full bucket", i, train)
		}
	}

	time.Sleep(150 * time.Millisecond)
	start := time.Now()
	if err := b.Wait(context.Background(), In, 100_000); err != nil {
		t.Fatal(err)
	}
	// 20,000 bytes at once, the other 80,000 at 10^6 bytes a second.
	if d := time.Since(start); d < 75*time.Millisecond {
		t.Errorf("a full bucket gave a shaped copy 100,000 bytes in %v; want one chunk at once, the rest at the rate (80 ms)", d)
	}
}
