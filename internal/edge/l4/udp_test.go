package l4

import (
	"bytes"
	"testing"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// TestPayloadFromSpill: in a batch whose datagrams share one spill
// buffer, only the last datagram that spilled is whole (copied out of its
// two buffers); an earlier one was overwritten and is lost, as is one cut
// short.
func TestPayloadFromSpill(t *testing.T) {
	ms := readMessages(false, 4, 8)
	spill := []byte("SPILLED")
	for i := range ms {
		copy(ms[i].Buffers[0], "abcdefgh")
		ms[i].Buffers = append(ms[i].Buffers, spill)
	}
	ms[0].N = 8 + 3 // Spilled, then overwritten by ms[2].
	ms[1].N = 5
	ms[2].N = 8 + 3
	ms[3].N, ms[3].Flags = 8, unix.MSG_TRUNC
	last := lastSpilled(ms)
	if last != 2 {
		t.Fatalf("lastSpilled: got %d; want 2", last)
	}
	for i, want := range [][]byte{nil, []byte("abcde"), []byte("abcdefghSPI"), nil} {
		got := payload(&ms[i], i == last)
		if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("datagram %d: got %q; want %q", i, got, want)
		}
	}
	if lastSpilled([]ipv4.Message{ms[1]}) != -1 {
		t.Errorf("lastSpilled of a batch without spill: want -1")
	}
}
