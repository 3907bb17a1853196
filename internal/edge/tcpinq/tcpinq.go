// Package tcpinq reads TCP sockets with the kernel's count of what is left
// to read after each read (TCP_INQ), so that an event loop running inside
// syscall.RawConn.Read can wait for the poller instead of issuing a read
// that fails with EAGAIN, as nginx and haproxy do.
//
// Why a count and not "the read was short": Go's poller is edge-triggered
// and does not report a peer's FIN separately (EPOLLRDHUP), so data and a
// FIN that arrived together wake a waiter once; after a short read that
// took the data, waiting again would miss the FIN. TCP_INQ counts a
// received FIN as one byte left (tcp_inq_hint), so zero means the socket
// is drained and no FIN is pending.
package tcpinq
