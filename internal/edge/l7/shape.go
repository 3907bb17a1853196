package l7

import (
	"context"
	"net"

	"github.com/opengaap/opengaap/internal/edge/limit"
)

// shapedConn passes a client connection's wire bytes (TLS included)
// through the proxy's bandwidth buckets, shared with its layer-4
// listeners. Reads are charged after the fact and delay the next read, so
// TCP flow control slows the client down; writes wait before each chunk.
// Connections are wrapped only when a limit is set at accept, so unlimited
// proxies keep the plain path; a limit set later applies to connections
// accepted after it (keep-alive ones end within IdleTimeout when idle).
type shapedConn struct {
	net.Conn
	bw *limit.Bandwidth
}

// shape wraps c when the proxy has a bandwidth limit.
func shape(c net.Conn, bw *limit.Bandwidth) net.Conn {
	if !bw.Limited() {
		return c
	}
	return &shapedConn{Conn: c, bw: bw}
}

func (c *shapedConn) Read(b []byte) (int, error) {
	if n := c.bw.Chunk(); len(b) > n {
		b = b[:n]
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		_ = c.bw.Wait(context.Background(), limit.In, n) // About one burst: n ≤ Chunk() at the read.
	}
	return n, err
}

func (c *shapedConn) Write(b []byte) (int, error) {
	total := 0
	for len(b) > 0 {
		n := min(len(b), c.bw.Chunk())
		_ = c.bw.Wait(context.Background(), limit.Out, n)
		m, err := c.Conn.Write(b[:n])
		total += m
		if err != nil {
			return total, err
		}
		b = b[n:]
	}
	return total, nil
}
