//go:build linux

package l4

import (
	"net"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// TestDropMeter overflows a real socket's receive queue: the drops the
// kernel reports plus the datagrams read must be every datagram sent.
func TestDropMeter(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	_ = rx.SetReadBuffer(1) // The kernel's minimum: a few datagrams.
	if !enableRxqOvfl(rx) {
		t.Skip("SO_RXQ_OVFL refused")
	}
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	const sent = 300
	for range sent {
		if _, err := tx.Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	bc := ipv4.NewPacketConn(rx)
	ms := make([]ipv4.Message, 8)
	for i := range ms {
		ms[i].Buffers, ms[i].OOB = [][]byte{make([]byte, 2048)}, make([]byte, rxqOOBLen)
	}
	var m dropMeter
	var read, dropped int64
	drain := func() {
		_ = rx.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, err := bc.ReadBatch(ms, 0)
			if err != nil {
				return // Deadline: the queue is empty.
			}
			read += int64(n)
			dropped += m.batch(ms[:n])
		}
	}
	drain()
	// A datagram carries the drop count as of its own arrival: the drops
	// after the last one queued show with the next datagram.
	if _, err := tx.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	drain()
	if dropped == 0 || read+dropped != sent+1 {
		t.Errorf("read %d + dropped %d; want %d in all, some dropped", read, dropped, sent+1)
	}
	if d := m.delta(nil); d != 0 {
		t.Errorf("no control message: delta %d; want 0", d)
	}
}
