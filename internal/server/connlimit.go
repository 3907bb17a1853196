package server

import (
	"container/list"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// capListener holds at most a fixed number of an http.Server's
// connections open. At the cap, a new connection takes the slot of the
// connection idle the longest (a keep-alive connection between calls),
// as nginx reuses its keep-alive connections when it runs out, and waits
// only when none is idle. A plain limit (netutil.LimitListener) let one
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
		if victim := l.longestIdle(); victim != nil {
			victim.Close() // Its slot comes back at once.
			continue
		}
		select {
		case l.slots <- struct{}{}:
			return &capConn{Conn: c, l: l}, nil
		case <-l.wake:
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
	if c.idleAt != nil {
		l.idle.Remove(c.idleAt)
		c.idleAt = nil
	}
	if st == http.StateIdle && !c.done {
		c.idleAt = l.idle.PushBack(c)
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

func (l *capListener) longestIdle() *capConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.idle.Front(); e != nil {
		return e.Value.(*capConn)
	}
	return nil
}

// capConn gives its slot back when it closes.
type capConn struct {
	net.Conn
	l      *capListener
	idleAt *list.Element // In l.idle while idle; guarded by l.mu.
	done   bool          // Closed; guarded by l.mu.
}

func (c *capConn) Close() error {
	l := c.l
	l.mu.Lock()
	first := !c.done
	c.done = true
	if c.idleAt != nil {
		l.idle.Remove(c.idleAt)
		c.idleAt = nil
	}
	l.mu.Unlock()
	err := c.Conn.Close()
	if first {
		<-l.slots
	}
	return err
}
