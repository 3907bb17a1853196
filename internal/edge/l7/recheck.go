package l7

import "net"

// Recheck closes the connections (keep-alive, busy or upgraded) whose
// client the proxy's current policy denies, with a reset, as layer-4
// listeners do: a DROP rule added against a client must not wait for its
// keep-alive connections to go idle. Each connection is checked against
// the proxy it was accepted for.
func (s *Server) Recheck() {
	port := s.Addr().Port()
	s.mu.Lock()
	var deny []*conn
	for c := range s.conns {
		ta, _ := c.Conn.RemoteAddr().(*net.TCPAddr)
		if ta != nil && !c.gate.Policy.Load().Allow(ta.AddrPort().Addr().Unmap(), "TCP", int(port)) {
			deny = append(deny, c)
		}
	}
	s.mu.Unlock()
	for _, c := range deny {
		c.listener.Denied.Add(1)
		if c.proxy != nil {
			c.proxy.Denied.Add(1)
		}
		c.cut() // A reset, as every cut.
	}
}
