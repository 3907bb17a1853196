package mirror

import (
	"hash/fnv"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// mirror is one compiled snapshot.Mirror. Immutable but for stopped.
type mirror struct {
	e       *Engine
	cfg     snapshot.Mirror
	stats   *stats.Counters
	stopped atomic.Bool // Set when the mirror is changed or removed: its flows go quiet.
	copies  [2]bool     // By l4.Dir.
	rules   [2][]rule   // By l4.Dir; nil = every packet of a copied direction.
	targets []netip.AddrPort
	mss     []atomic.Int32      // Segment size on the route to each target (learnMTUs).
	addrs   []*net.UDPAddr      // targets, as the socket API wants them.
	sources map[string][]string // Proxy ID → listener IDs ("" = every listener).
}

// rule is a compiled snapshot.MirrorFilter.
type rule struct {
	src, dst netip.Prefix // Zero = any.
	proto    string       // "" = any.
	sp, dp   snapshot.PortRange
	accept   bool
}

// compile builds a mirror from a valid configuration.
func compile(e *Engine, cfg snapshot.Mirror, c *stats.Counters) *mirror {
	m := &mirror{e: e, cfg: cfg, stats: c, sources: map[string][]string{}}
	m.copies[l4.Ingress] = cfg.Direction != snapshot.MirrorEgress
	m.copies[l4.Egress] = cfg.Direction != snapshot.MirrorIngress
	for _, f := range cfg.Filters {
		src, _ := snapshot.ParseMirrorNet(f.SrcCIDR)
		dst, _ := snapshot.ParseMirrorNet(f.DstCIDR)
		r := rule{src: src, dst: dst, proto: f.Protocol, sp: f.SrcPorts, dp: f.DstPorts, accept: f.Action == snapshot.MirrorAccept}
		if r.proto == snapshot.ProtoAll {
			r.proto = ""
		}
		d := l4.Ingress
		if f.Direction == snapshot.MirrorEgress {
			d = l4.Egress
		}
		m.rules[d] = append(m.rules[d], r)
	}
	for _, t := range cfg.Targets {
		port := t.Port
		if port == 0 {
			port = snapshot.DefaultMirrorPort
		}
		m.targets = append(m.targets, netip.AddrPortFrom(netip.MustParseAddr(t.IP).Unmap(), uint16(port)))
	}
	for _, t := range m.targets {
		// One address per collector, built once: the batch writer also
		// coalesces by address identity.
		m.addrs = append(m.addrs, net.UDPAddrFromAddrPort(t))
	}
	m.mss = make([]atomic.Int32, len(m.targets))
	m.learnMTUs()
	for _, s := range cfg.Sources {
		m.sources[s.ProxyID] = append(m.sources[s.ProxyID], s.ListenerID)
	}
	return m
}

// learnMTUs sets the segment size of every target from its route's MTU
// (1500 when the kernel will not say). The sender calls it again now and
// then, so a route that changes (a tunnel coming up) is followed.
func (m *mirror) learnMTUs() {
	for i, t := range m.targets {
		mtu, ok := pathMTU(t)
		if !ok {
			mtu = defaultMTU
		}
		m.mss[i].Store(int32(segmentSize(mtu)))
	}
}

// selects reports whether the mirror covers a flow's listener.
func (m *mirror) selects(f *l4.Flow) bool {
	for _, id := range m.sources[f.ProxyID] {
		if id == "" || id == f.ListenerID {
			return true
		}
	}
	return false
}

// copiesDir reports whether packets of direction d of a flow are copied.
// A flow's five-tuple is constant, so this is decided once per flow.
func (m *mirror) copiesDir(d l4.Dir, proto string, client, local netip.AddrPort) bool {
	if !m.copies[d] {
		return false
	}
	if m.rules[d] == nil {
		return true
	}
	src, dst := client, local
	if d == l4.Egress {
		src, dst = local, client
	}
	for _, r := range m.rules[d] {
		if r.match(proto, src, dst) {
			return r.accept
		}
	}
	return false
}

func (r *rule) match(proto string, src, dst netip.AddrPort) bool {
	return (r.proto == "" || r.proto == proto) &&
		(!r.src.IsValid() || r.src.Contains(src.Addr())) && (!r.dst.IsValid() || r.dst.Contains(dst.Addr())) &&
		r.sp.Contains(int(src.Port())) && r.dp.Contains(int(dst.Port()))
}

// target picks the collector of a flow (its index in targets): by the
// unordered address pair and protocol (FIVE_TUPLE_FLOW, so both directions
// meet), or by the access IP (ENI).
func (m *mirror) target(proto string, client, local netip.AddrPort) int {
	if len(m.targets) == 1 {
		return 0
	}
	h := fnv.New32a()
	b, _ := local.Addr().MarshalBinary()
	h.Write(b)
	if m.cfg.AlgHash != snapshot.MirrorHashSource {
		b, _ = local.MarshalBinary()
		h.Write(b)
		b, _ = client.MarshalBinary()
		h.Write(b)
		h.Write([]byte(proto))
	}
	return int(h.Sum32() % uint32(len(m.targets)))
}

// proxyTap is the l4.Tap of one proxy: the mirrors that select it. When
// several select one flow, the first by mirror ID copies it; the API
// refuses overlapping sources, so that happens only when sources resolved
// earlier have drifted (docs/dataplane-mirror.md, "Not done").
type proxyTap struct{ mirrors []*mirror }

// Interface guards.
var (
	_ l4.Tap    = (*proxyTap)(nil)
	_ l4.TCPTap = (*tcpFlow)(nil)
	_ l4.UDPTap = (*udpFlow)(nil)
)

func proxyTaps(ms map[string]*mirror) map[string]l4.Tap {
	byProxy := map[string]*proxyTap{}
	for _, m := range ms {
		for id := range m.sources {
			if byProxy[id] == nil {
				byProxy[id] = &proxyTap{}
			}
			byProxy[id].mirrors = append(byProxy[id].mirrors, m)
		}
	}
	out := make(map[string]l4.Tap, len(byProxy))
	for id, t := range byProxy {
		slices.SortFunc(t.mirrors, func(a, b *mirror) int { return strings.Compare(a.cfg.ID, b.cfg.ID) })
		out[id] = t
	}
	return out
}

// TCP implements l4.Tap.
func (t *proxyTap) TCP(f l4.Flow) l4.TCPTap {
	fl := t.open(f, [2]bool{true, true})
	if fl == nil {
		return nil
	}
	tf := &tcpFlow{flow: fl}
	tf.open()
	return tf
}

// UDP implements l4.Tap.
func (t *proxyTap) UDP(f l4.Flow, d l4.Dir) l4.UDPTap {
	want := [2]bool{}
	want[d] = true
	fl := t.open(f, want)
	if fl == nil {
		return nil
	}
	return &udpFlow{flow: fl, dir: d}
}

// open returns the flow state of the first mirror copying one of the
// wanted directions of f, or nil. IPv6 flows are not mirrored (collectors
// and filters are IPv4).
func (t *proxyTap) open(f l4.Flow, want [2]bool) *flow {
	client := netip.AddrPortFrom(f.Client.Addr().Unmap(), f.Client.Port())
	local := netip.AddrPortFrom(f.Local.Addr().Unmap(), f.Local.Port())
	if !client.Addr().Is4() || !local.Addr().Is4() {
		return nil
	}
	for _, m := range t.mirrors {
		if m.stopped.Load() || !m.selects(&f) {
			continue
		}
		var c [2]bool
		for d := range c {
			c[d] = want[d] && m.copiesDir(l4.Dir(d), f.Proto, client, local)
		}
		if c[0] || c[1] {
			return newFlow(m, f.Proto, client, local, c)
		}
	}
	return nil
}
