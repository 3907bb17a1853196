// Package sockio does the data plane's socket reads and writes on its hot
// paths: the layer-4 copy of small messages, the HTTP/1.1 fast path's
// client side and the origin connections of the direct exchange.
//
// Two things set it apart from net.Conn. First, Reader reads TCP sockets
// with the kernel's count of what is left to read after each read
// (TCP_INQ), so that an event loop running inside syscall.RawConn.Read can
// wait for the poller instead of issuing a read that fails with EAGAIN, as
// nginx and haproxy do. Why a count and not "the read was short": Go's
// poller is edge-triggered and does not report a peer's FIN separately
// (EPOLLRDHUP), so data and a FIN that arrived together wake a waiter
// once; after a short read that took the data, waiting again would miss
// the FIN. TCP_INQ counts a received FIN as one byte left (tcp_inq_hint),
// so zero means the socket is drained and no FIN is pending.
//
// Second, the system calls are raw (syscall.RawSyscall): the sockets are
// non-blocking, so a call never waits, and the runtime's bookkeeping
// around a blocking call (entersyscall/exitsyscall) buys nothing. It costs
// more than itself: on a loaded box the kernel often preempts a writer on
// its way out of write(2) (the write woke the reader, which takes the
// core), the call then outlasts a sysmon tick (20 µs), sysmon hands the P
// to another thread, and the writer, back, finds it gone and parks its
// goroutine; and sysmon, finding Ps to retake, keeps waking every 20 µs
// instead of backing off. Measured on the HTTP keep-alive benchmark: 7 %
// of the proxy's CPU per request (BENCHMARKS.md, "Layer 7"). Writes larger
// than rawWriteMax, whose copy is long enough for that hand-off to be
// worth it, go through net.Conn as before.
package sockio
