package l4

import "net/netip"

// Dir is a traffic direction seen from the access IP.
type Dir uint8

// Directions: Ingress is client → proxy, Egress is proxy → client.
const (
	Ingress Dir = iota
	Egress
)

// Flow describes a TCP connection or UDP session to a Tap. The client leg
// (Client ↔ Local) is the one mirrored: it is what the access IP receives
// and sends (docs/dataplane-mirror.md).
type Flow struct {
	ProxyID    string
	ListenerID string
	Proto      string         // snapshot.ProtoTCP or snapshot.ProtoUDP.
	Client     netip.AddrPort // The client's address.
	Local      netip.AddrPort // The access address the client reached.
	Origin     netip.AddrPort // The origin chosen (zero if unknown).
}

// Tap is a traffic observer (traffic mirroring) attached to a proxy. The
// engine asks it once per TCP connection (of layer-4 and HTTP listeners
// alike, see ObserveTCP), and once per UDP session and direction whenever
// the proxy's Tap changes. Implementations
// must be safe for concurrent use and must never block.
type Tap interface {
	// TCP returns the observer of a new connection, or nil to leave the
	// connection alone. An observed layer-4 connection still splices, but
	// through a pipe that tee(2) can duplicate (copyTee), for its whole
	// life.
	TCP(f Flow) TCPTap
	// UDP returns the observer of a session's datagrams in direction d, or
	// nil.
	UDP(f Flow, d Dir) UDPTap
	// SkipUDP counts n datagrams of direction d of the flow f describes
	// as copies dropped by the mirror that would copy them: for a caller
	// that keeps no observer for the flow (an HTTP/3 socket past its bound
	// on mirrored flows).
	SkipUDP(f Flow, d Dir, n int)
}

// TCPTap observes one TCP connection. Data and End of one direction are
// called by one goroutine at a time, those of the other direction
// independently; Close is called once, at the end: after both directions
// are done on a layer-4 listener, while on an HTTP listener a client's FIN
// that the proxy never read has no End.
type TCPTap interface {
	// Data announces the next n bytes of direction d, before they are
	// written on. A tap that wants them calls c.Keep during Data and reads
	// them later, off the data path. Not calling Keep costs the data path
	// nothing, which is how a tap whose queue is full drops. Data must not
	// block.
	Data(d Dir, n int, c Chunk)
	// End reports that direction d ended with a FIN (half-close).
	End(d Dir)
	// Close reports the end of the connection; reset when it was aborted.
	Close(reset bool)
}

// Chunk is the source of the bytes offered by TCPTap.Data. The bytes a
// tap keeps are read later by one consumer, so that copying them is not
// on the data path: a spliced connection duplicates them into a second
// pipe (tee(2), no copy) that the consumer reads (copyTee).
type Chunk interface {
	// Keep, called during Data, keeps a prefix of the chunk of at most
	// limit bytes (all of them unless the source is short of room because
	// its consumer is behind) and returns its length; 0 means nothing was
	// kept.
	Keep(limit int) int
	// Read copies the next kept bytes into b and returns how many: len(b)
	// unless the source failed. The chunks kept from one direction must be
	// read in the order they were kept.
	Read(b []byte) int
	// Release ends one kept chunk, with unread of its bytes not read (a
	// chunk dropped after Keep): then the source is out of step and keeps
	// nothing more.
	Release(unread int)
}

// CopyChunk returns a Chunk of p whose Keep copies p (the userspace copy
// path, whose buffer is reused once Data returns).
func CopyChunk(p []byte) Chunk { return &copyChunk{src: p} }

// copyChunk is one chunk: Keep copies it out of the caller's buffer.
type copyChunk struct{ src, kept []byte }

func (c *copyChunk) Keep(limit int) int {
	c.kept, c.src = append([]byte(nil), c.src[:min(limit, len(c.src))]...), nil
	return len(c.kept)
}

func (c *copyChunk) Read(b []byte) int {
	n := copy(b, c.kept)
	c.kept = c.kept[n:]
	return n
}

func (c *copyChunk) Release(int) { c.kept = nil }

// UDPTap observes one direction of a UDP session. Datagram is called from
// one goroutine; p is only valid during the call. It must not block.
type UDPTap interface {
	Datagram(p []byte)
}

// tapRef boxes a Tap so the proxy can hold it in an atomic pointer.
type tapRef struct{ Tap }

// SetTap attaches t to the proxy (nil detaches). New TCP connections and
// the next datagram of every UDP session see it; TCP connections accepted
// before keep what they had (a spliced connection cannot be observed).
func (p *Proxy) SetTap(t Tap) {
	if t == nil {
		p.tap.Store(nil)
		return
	}
	if cur := p.tap.Load(); cur != nil && cur.Tap == t {
		return // Same observer: keep the pointer so sessions keep their taps.
	}
	p.tap.Store(&tapRef{t})
}

// ObserveTCP asks the proxy's Tap, if any, for an observer of a new TCP
// connection, which f describes (called only when there is a Tap).
// Without a Tap this is one atomic load. Layer-4 and HTTP listeners of the
// proxy both ask.
func (p *Proxy) ObserveTCP(f func() Flow) TCPTap {
	ref := p.tap.Load()
	if ref == nil {
		return nil
	}
	return ref.TCP(f())
}

// SkipUDP tells the proxy's Tap, if any, of n datagrams of direction d of
// the UDP flow f describes that are not offered to it (Tap.SkipUDP).
func (p *Proxy) SkipUDP(f func() Flow, d Dir, n int) {
	if ref := p.tap.Load(); ref != nil {
		ref.SkipUDP(f(), d, n)
	}
}

// Tapped reports whether a traffic mirror observes the proxy: one atomic
// load, for data paths that would otherwise look up a flow for nothing.
func (p *Proxy) Tapped() bool { return p.tap.Load() != nil }

// UDPTapCache is one UDP flow direction's cached observer (a layer-4
// session's, or an HTTP/3 client address's), used by one goroutine at a
// time: the Tap is asked again only when the proxy's Tap pointer changes.
type UDPTapCache struct {
	ref *tapRef
	tap UDPTap
}

// Get returns the observer of direction d of the flow f describes, or nil.
func (c *UDPTapCache) Get(p *Proxy, d Dir, f func() Flow) UDPTap {
	ref := p.tap.Load()
	if ref != c.ref {
		c.ref, c.tap = ref, nil
		if ref != nil {
			c.tap = ref.UDP(f(), d)
		}
	}
	return c.tap
}
