// Package udpbatch sends batches of UDP datagrams with sendmmsg(2),
// coalescing runs of equal-size datagrams into UDP GSO messages. The l4
// engine's UDP forwarding and the mirror's VXLAN sender share it.
package udpbatch

import (
	"sync/atomic"

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
// goroutine (scratch space); gso may be shared by writers of one socket.
type Writer struct {
	bc     Conn
	gso    *atomic.Bool // The socket may send GSO; cleared for good on EIO.
	maxSeg int          // Largest segment still tried with GSO; lowered on EINVAL.

	wire  []ipv4.Message // Messages handed to sendmmsg.
	first []int          // Index in the batch of wire[i]'s first datagram.
	segs  []int          // Datagrams carried by wire[i].
	bufs  [][]byte       // Backing of the GSO messages' iovecs.
	oob   []byte         // Backing of their control messages.
}

// Conn is the sendmmsg half of ipv4.PacketConn and ipv6.PacketConn (their
// Message types are the same type).
type Conn interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// NewWriter returns a writer on bc. gso says whether the socket may send
// GSO (start it at Supported()); it may be shared by the writers of one
// socket and is cleared for good when the route cannot do GSO.
func NewWriter(bc Conn, gso *atomic.Bool) *Writer {
	return &Writer{bc: bc, gso: gso, maxSeg: gsoMaxBytes}
}

// Send writes ms (one payload buffer each) and returns how many datagrams
// were not sent. As with plain sendmmsg, a send error drops the rest of
// the batch (so the lost datagrams are the last ones), except that a GSO
// message the socket refuses is resent as plain datagrams.
func (w *Writer) Send(ms []ipv4.Message) (lost int) {
	if len(ms) < 2 || !w.gso.Load() {
		return w.plain(ms)
	}
	w.coalesce(ms)
	defer func() { clear(w.wire); clear(w.bufs) }()
	wire, first, segs := w.wire, w.first, w.segs
	for len(wire) > 0 {
		n, err := w.bc.WriteBatch(wire, 0)
		if err == nil {
			wire, first, segs = wire[n:], first[n:], segs[n:]
			continue
		}
		// The first message failed.
		if segs[0] > 1 {
			if off, tooBig := gsoErr(err); off || tooBig {
				if off {
					w.gso.Store(false)
				} else {
					w.maxSeg = len(wire[0].Buffers[0]) - 1
				}
				if lost = w.plain(ms[first[0] : first[0]+segs[0]]); lost == 0 {
					wire, first, segs = wire[1:], first[1:], segs[1:]
					continue
				}
				segs = segs[1:] // Failed too: the rest goes with it (lost are last).
			}
		}
		for _, k := range segs {
			lost += k
		}
		return lost
	}
	return lost
}

// plain sends ms with sendmmsg as they are.
func (w *Writer) plain(ms []ipv4.Message) int {
	for len(ms) > 0 {
		n, err := w.bc.WriteBatch(ms, 0)
		if err != nil {
			return len(ms) // Origin refused or buffers full.
		}
		ms = ms[n:]
	}
	return 0
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
