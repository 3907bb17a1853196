package server

import (
	"container/list"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// capListener holds at most a fixed number of an http.Server's
// connections open. At the cap, a new connection takes the slot of an
// idle keep-alive connection (evictIdle: the one idle longest on which
// nothing arrived since, else one on which bytes did), as nginx reuses
// its keep-alive connections when it runs out, and waits only when none
// is idle. A plain limit (netutil.LimitListener) let one
// client that keeps its connections idle hold every slot while every
// other client waited in the kernel's backlog.
//
// The server's ConnState must be the listener's Track.
type capListener struct {
	net.Listener
	slots  chan struct{} // One token per open connection.
	wake   chan struct{} // A connection went idle; capacity 1.
	closed chan struct{}
	once   sync.Once

	mu   sync.Mutex
	idle list.List // Of *capConn, longest idle first.
}

func newCapListener(ln net.Listener, n int) *capListener {
	return &capListener{Listener: ln, slots: make(chan struct{}, n), wake: make(chan struct{}, 1), closed: make(chan struct{})}
}

// Accept takes a connection off the backlog and then its slot, closing
// idle connections until one is free.
func (l *capListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		select {
		case l.slots <- struct{}{}:
			return &capConn{Conn: c, l: l}, nil
		default:
		}
		wake := l.wake
		if l.evictIdle() {
			wake = nil // Its slot comes back when net/http closes it.
		}
		select {
		case l.slots <- struct{}{}:
			return &capConn{Conn: c, l: l}, nil
		case <-wake:
		case <-l.closed:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

func (l *capListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// Track is the http.Server's ConnState hook: it keeps the list of idle
// connections.
func (l *capListener) Track(nc net.Conn, st http.ConnState) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, ok := nc.(*capConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy(c)
	if st == http.StateIdle && !c.done {
		c.idleAt = l.idle.PushBack(c)
		c.idle.Store(true)
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// busy takes c off the idle list. The caller holds l.mu.
func (l *capListener) busy(c *capConn) {
	if c.idleAt != nil {
		l.idle.Remove(c.idleAt)
		c.idleAt = nil
		c.idle.Store(false)
		c.stirred.Store(false)
	}
}

// evictIdle closes the connection idle the longest, if any, and reports
// whether it did: one on which nothing arrived since its last answer
// first, else one on which bytes did (stirred: the head of a call may be
// arriving, or a stray CRLF, or a byte a client sends to keep its slot,
// which net/http waits on until IdleTimeout). It chooses and closes under
// l.mu, so that the connection cannot turn busy in between.
func (l *capListener) evictIdle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.idle.Front()
	if e == nil {
		return false
	}
	for f := e; f != nil; f = f.Next() {
		if !f.Value.(*capConn).stirred.Load() {
			e = f
			break
		}
	}
	c := e.Value.(*capConn)
	l.busy(c)
	_ = c.Conn.Close() // net/http's read fails and it closes c, which frees the slot.
	return true
}

// capConn gives its slot back when it closes.
type capConn struct {
	net.Conn
	l      *capListener
	idleAt *list.Element // In l.idle while idle; guarded by l.mu.
	idle   atomic.Bool   // idleAt != nil, read without l.mu.
	// stirred: bytes arrived while idle. net/http reports a connection
	// active only once the whole head of its next call is in, so such a
	// connection is evicted only when no quiet one is left.
	stirred atomic.Bool
	done    bool // Closed; guarded by l.mu.
}

func (c *capConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.idle.Load() {
		c.stirred.Store(true)
	}
	return n, err
}

func (c *capConn) Close() error {
	l := c.l
	l.mu.Lock()
	first := !c.done
	c.done = true
	l.busy(c)
	l.mu.Unlock()
	err := c.Conn.Close()
	if first {
		<-l.slots
	}
	return err
}
