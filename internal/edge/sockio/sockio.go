// Package sockio does the data plane's socket reads and writes where the
// runtime's generic path costs too much: the layer-4 copy of small
// messages and the HTTP/1.1 fast path's client reads.
//
// Reader reads TCP sockets with the kernel's count of what is left to
// read after each read (TCP_INQ), so that an event loop running inside
// syscall.RawConn.Read can wait for the poller instead of issuing a read
// that fails with EAGAIN, as nginx and haproxy do. Why a count and not
// "the read was short": Go's poller is edge-triggered and does not report
// a peer's FIN separately (EPOLLRDHUP), so data and a FIN that arrived
// together wake a waiter once; after a short read that took the data,
// waiting again would miss the FIN. TCP_INQ counts a received FIN as one
// byte left (tcp_inq_hint), so zero means the socket is drained and no FIN
// is pending.
//
// Its reads, and Writer's writes, are raw system calls
// (syscall.RawSyscall): the sockets are non-blocking, so a call never
// waits, and the runtime's bookkeeping around a blocking call
// (entersyscall/exitsyscall) buys nothing but a hand-off: on a loaded box
// the kernel often preempts a writer on its way out of write(2) (the write
// woke the reader), the call outlasts a sysmon tick (20 µs), sysmon hands
// the P to another thread and, finding Ps to retake, keeps waking every
// 20 µs instead of backing off. Raw, the copy of 64-byte messages does
// 4-5 % more round trips. The hand-off has one use, which is why layer 7
// keeps net.Conn's writes: goroutines queued on the P of a thread the
// kernel preempted run elsewhere; without it they wait, and on the HTTP
// benchmark p99 rose 9-12 % for 5-8 % less CPU per request (BENCHMARKS.md,
// "Layer 7"). Writes larger than rawWriteMax, whose copy is long enough
// for the hand-off to be worth it, go through net.Conn.
//
// Dup duplicates a connection without ever making its socket blocking,
// which a raw read in that moment would not survive.
package sockio
