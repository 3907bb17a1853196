// Package faultproxy is a TCP proxy for tests that fails the way a network
// or a server host does: cut (every connection closed and new ones refused,
// as while a database restarts) or frozen (connections stay open and no
// byte passes, as when a host vanished without a reset: power loss, a paused
// VM, a partition). Tests put it between a client and a real server, so the
// outage needs no server of their own to stop.
package faultproxy

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy forwards every connection to its listen address on to a target.
// It is safe for concurrent use.
type Proxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex
	cut    bool // set by Cut, cleared by Restore
	frozen bool // set by Freeze, cleared by Restore and Cut
	closed bool
	conns  map[net.Conn]struct{} // both sides of every open link
}

// New starts a proxy to target (host:port) on a loopback port, closed
// with every connection when t ends.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	t.Cleanup(p.close)
	go p.serve()
	return p
}

// Addr is the proxy's host:port, for clients to dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection and refuses new ones (accepted and closed at
// once) until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.frozen = true, false
	p.closeConns()
}

// Freeze stops carrying bytes, keeping every connection open; new ones are
// accepted and never answered. Restore delivers what was held.
func (p *Proxy) Freeze() { p.set(false, true) }

// Restore ends a Cut or a Freeze.
func (p *Proxy) Restore() { p.set(false, false) }

func (p *Proxy) set(cut, frozen bool) {
	p.mu.Lock()
	p.cut, p.frozen = cut, frozen
	p.mu.Unlock()
}

func (p *Proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed, p.frozen = true, false
	p.closeConns()
}

// closeConns closes every tracked connection; p.mu is held.
func (p *Proxy) closeConns() {
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.link(c)
	}
}

// link connects client c to the target, once the proxy is not frozen.
func (p *Proxy) link(c net.Conn) {
	if !p.track(c) {
		c.Close()
		return
	}
	p.waitFlowing()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		p.drop(c)
		return
	}
	if !p.track(s) {
		s.Close()
		p.drop(c)
		return
	}
	go p.pipe(s, c)
	p.pipe(c, s)
}

// pipe copies src to dst, holding each chunk while frozen, until either fails.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.drop(src)
	defer p.drop(dst)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.waitFlowing()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// track records c as open; false when cut or closed (c must then be closed).
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// waitFlowing returns once the proxy is not frozen.
func (p *Proxy) waitFlowing() {
	for {
		p.mu.Lock()
		frozen := p.frozen
		p.mu.Unlock()
		if !frozen {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
