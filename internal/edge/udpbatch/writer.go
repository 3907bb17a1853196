// Package udpbatch sends batches of UDP datagrams with sendmmsg(2),
// coalescing runs of equal-size datagrams into UDP GSO messages. The l4
// engine's UDP forwarding and the mirror's VXLAN sender share it.
package udpbatch

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/net/ipv4"
)

// Limits of one UDP GSO message: the kernel's UDP_MAX_SEGMENTS (64 before
// Linux 6.9) and the UDP length field.
const (
	gsoMaxSegs  = 64
	gsoMaxBytes = 65000
)

// Writer sends batches of datagrams with one sendmmsg, coalescing each
// run of equal-size datagrams to one destination into a single UDP GSO
// message (UDP_SEGMENT): the kernel then builds one skb and walks the IP
// stack once for the run, and splits it into the original datagrams only
// at the device (or, on loopback, at the receiving socket). The datagrams
// are gathered with an iovec, not copied. A writer belongs to one
// goroutine (scratch space and GSO state).
type Writer struct {
	bc     Conn
	gso    bool // GSO may be tried; cleared for good on EIO.
	maxSeg int  // Largest segment still tried with GSO; lowered on EINVAL.

	wire  []ipv4.Message // Messages handed to sendmmsg.
	first []int          // Index in the batch of wire[i]'s first datagram.
	segs  []int          // Datagrams carried by wire[i].
	bufs  [][]byte       // Backing of the GSO messages' iovecs.
	oob   []byte         // Backing of their control messages.
	lost  []int          // Send's result.
	// refused: a send of the last Send failed with ECONNREFUSED (Refused).
	refused bool
}

// Conn is the sendmmsg half of ipv4.PacketConn and ipv6.PacketConn (their
// Message types are the same type).
type Conn interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// NewWriter returns a writer on bc. gso says whether to try GSO (start it
// at Supported()). Each writer learns on its own that its route cannot do
// GSO: the l4 session writers send to one destination each, so one
// client's route without checksum offload does not cost the others GSO.
func NewWriter(bc Conn, gso bool) *Writer {
	return &Writer{bc: bc, gso: gso, maxSeg: gsoMaxBytes}
}

// Send writes ms (one payload buffer each) and returns the indices, in
// order, of the datagrams the kernel refused (valid until the next Send).
// A refused datagram costs only itself: the batch goes on after it, so
// one unreachable destination does not drop the others' datagrams. A GSO
// message the socket refuses is resent as plain datagrams.
func (w *Writer) Send(ms []ipv4.Message) (lost []int) {
	w.lost, w.refused = w.lost[:0], false
	if len(ms) < 2 || !w.gso {
		w.plain(ms, 0)
		return w.lost
	}
	w.coalesce(ms)
	defer func() { clear(w.wire); clear(w.bufs) }()
	wire, first, segs := w.wire, w.first, w.segs
	for len(wire) > 0 {
		n, err := w.bc.WriteBatch(wire, 0)
		n = min(max(n, 0), len(wire))
		wire, first, segs = wire[n:], first[n:], segs[n:]
		if err == nil || len(wire) == 0 {
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			w.loseFrom(first[0], len(ms))
			break
		}
		// wire[0] failed. A GSO message is resent as plain datagrams,
		// whatever the error: the route may refuse GSO (then it is
		// turned off or its size lowered), and an error such as a
		// pending ICMP unreachable is the send's, not each datagram's.
		w.noteRefused(err)
		i, k := first[0], segs[0]
		if k > 1 {
			if off, tooBig := gsoErr(err); off {
				w.gso = false
			} else if tooBig {
				w.maxSeg = len(wire[0].Buffers[0]) - 1
			}
			w.plain(ms[i:i+k], i)
		} else {
			w.lost = append(w.lost, i)
		}
		wire, first, segs = wire[1:], first[1:], segs[1:]
	}
	return w.lost
}

// plain sends ms with sendmmsg as they are, skipping each datagram the
// kernel refuses (ms[0] is the batch's datagram base).
func (w *Writer) plain(ms []ipv4.Message, base int) {
	for i := 0; i < len(ms); {
		n, err := w.bc.WriteBatch(ms[i:], 0)
		i += min(max(n, 0), len(ms)-i)
		switch {
		case err == nil || i == len(ms):
		case errors.Is(err, net.ErrClosed):
			w.loseFrom(base+i, base+len(ms))
			return
		default:
			w.noteRefused(err)
			w.lost = append(w.lost, base+i)
			i++
		}
	}
}

// Refused reports whether a send of the last Send failed with
// ECONNREFUSED: on a connected socket, the ICMP port unreachable that a
// datagram sent before drew, which the kernel reports to the next call on
// the socket, this one if it comes before a read.
func (w *Writer) Refused() bool { return w.refused }

func (w *Writer) noteRefused(err error) {
	if errors.Is(err, syscall.ECONNREFUSED) {
		w.refused = true
	}
}

// loseFrom marks datagrams i to end (exclusive) lost.
func (w *Writer) loseFrom(i, end int) {
	for ; i < end; i++ {
		w.lost = append(w.lost, i)
	}
}

// coalesce fills wire from ms: a run of datagrams of one size to one
// address (the last may be shorter) becomes one GSO message.
func (w *Writer) coalesce(ms []ipv4.Message) {
	if cap(w.bufs) < len(ms) { // Never regrown below: wire messages alias them.
		w.bufs = make([][]byte, 0, len(ms))
		w.oob = make([]byte, 0, len(ms)*gsoOOBLen)
	}
	w.wire, w.first, w.segs = w.wire[:0], w.first[:0], w.segs[:0]
	w.bufs, w.oob = w.bufs[:0], w.oob[:0]
	for i := 0; i < len(ms); {
		seg := len(ms[i].Buffers[0])
		j := i + 1
		if seg > 0 && seg <= w.maxSeg {
			total := seg
			for j < len(ms) && j-i < gsoMaxSegs && ms[j].Addr == ms[i].Addr {
				q := len(ms[j].Buffers[0])
				if q == 0 || q > seg || total+q > gsoMaxBytes {
					break
				}
				total += q
				j++
				if q < seg { // A shorter datagram ends a GSO message.
					break
				}
			}
		}
		if j-i == 1 {
			w.wire = append(w.wire, ms[i])
		} else {
			b := len(w.bufs)
			for k := i; k < j; k++ {
				w.bufs = append(w.bufs, ms[k].Buffers[0])
			}
			o := len(w.oob)
			w.oob = w.oob[:o+gsoOOBLen]
			putGSO(w.oob[o:], seg)
			w.wire = append(w.wire, ipv4.Message{Buffers: w.bufs[b:len(w.bufs):len(w.bufs)],
				OOB: w.oob[o : o+gsoOOBLen : o+gsoOOBLen], Addr: ms[i].Addr})
		}
		w.first = append(w.first, i)
		w.segs = append(w.segs, j-i)
		i = j
	}
}
