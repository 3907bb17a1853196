package mirror

import (
	"hash/fnv"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// mirror is one running mirror, by ID. It stays the same object while it
// runs: Apply updates its configuration in place, and the flows it copies
// follow (see flow.route), so changing a mirror's sources, filters,
// collectors or direction does not stop the flows it still covers.
type mirror struct {
	e       *Engine
	id      string
	stats   *stats.Counters
	stopped atomic.Bool // Set when the mirror is removed: its flows go quiet.
	cfg     atomic.Pointer[config]
}

// config is one compiled snapshot.Mirror. Immutable but for mss.
type config struct {
	snap    snapshot.Mirror
	copies  [2]bool   // By l4.Dir.
	rules   [2][]rule // By l4.Dir; nil = every packet of a copied direction.
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

// newMirror returns a running mirror of a valid configuration.
func newMirror(e *Engine, cfg snapshot.Mirror, c *stats.Counters) *mirror {
	m := &mirror{e: e, id: cfg.ID, stats: c}
	m.set(cfg)
	return m
}

// set makes cfg, valid and of the mirror's ID, its configuration. Live
// flows see it at their next event.
func (m *mirror) set(cfg snapshot.Mirror) {
	if c := m.cfg.Load(); c != nil && reflect.DeepEqual(c.snap, cfg) {
		return
	}
	m.cfg.Store(compile(cfg))
}

// compile builds the config of a valid snapshot.Mirror.
func compile(cfg snapshot.Mirror) *config {
	c := &config{snap: cfg, sources: map[string][]string{}}
	c.copies[l4.Ingress] = cfg.Direction != snapshot.MirrorEgress
	c.copies[l4.Egress] = cfg.Direction != snapshot.MirrorIngress
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
		c.rules[d] = append(c.rules[d], r)
	}
	for _, t := range cfg.Targets {
		port := t.Port
		if port == 0 {
			port = snapshot.DefaultMirrorPort
		}
		c.targets = append(c.targets, netip.AddrPortFrom(netip.MustParseAddr(t.IP).Unmap(), uint16(port)))
	}
	for _, t := range c.targets {
		// One address per collector, built once: the batch writer also
		// coalesces by address identity.
		c.addrs = append(c.addrs, net.UDPAddrFromAddrPort(t))
	}
	c.mss = make([]atomic.Int32, len(c.targets))
	c.learnMTUs()
	for _, s := range cfg.Sources {
		c.sources[s.ProxyID] = append(c.sources[s.ProxyID], s.ListenerID)
	}
	return c
}

// learnMTUs sets the segment size of every target from its route's MTU
// (1500 when the kernel will not say). The sender calls it again now and
// then, so a route that changes (a tunnel coming up) is followed.
func (c *config) learnMTUs() {
	for i, t := range c.targets {
		mtu, ok := pathMTU(t)
		if !ok {
			mtu = defaultMTU
		}
		c.mss[i].Store(int32(segmentSize(mtu)))
	}
}

// selects reports whether the mirror covers a flow's listener.
func (c *config) selects(k *flowKey) bool {
	for _, id := range c.sources[k.proxy] {
		if id == "" || id == k.listener {
			return true
		}
	}
	return false
}

// copiesDir reports whether packets of direction d of a flow are copied.
func (c *config) copiesDir(d l4.Dir, proto string, client, local netip.AddrPort) bool {
	if !c.copies[d] {
		return false
	}
	if c.rules[d] == nil {
		return true
	}
	src, dst := client, local
	if d == l4.Egress {
		src, dst = local, client
	}
	for _, r := range c.rules[d] {
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
func (c *config) target(proto string, client, local netip.AddrPort) int {
	if len(c.targets) == 1 {
		return 0
	}
	h := fnv.New32a()
	b, _ := local.Addr().MarshalBinary()
	h.Write(b)
	if c.snap.AlgHash != snapshot.MirrorHashSource {
		b, _ = local.MarshalBinary()
		h.Write(b)
		b, _ = client.MarshalBinary()
		h.Write(b)
		h.Write([]byte(proto))
	}
	return int(h.Sum32() % uint32(len(c.targets)))
}

// route is how one configuration of a mirror copies one flow.
type route struct {
	c      *config
	copies [2]bool // By l4.Dir.
	ti     int     // The flow's collector: its index in c.targets.
}

// route decides how the mirror copies the flow k describes: the wanted
// directions its filters accept, when it still selects the flow's
// listener, to the collector it picks for the flow. A flow's five-tuple is
// constant, so this is decided once per flow and configuration.
func (c *config) route(k *flowKey) *route {
	r := &route{c: c}
	if !c.selects(k) {
		return r
	}
	for d := range r.copies {
		r.copies[d] = k.want[d] && c.copiesDir(l4.Dir(d), k.proto, k.client, k.local)
	}
	if r.any() {
		r.ti = c.target(k.proto, k.client, k.local)
	}
	return r
}

// any reports whether the route copies a direction.
func (r *route) any() bool { return r.copies[l4.Ingress] || r.copies[l4.Egress] }

// mss is the largest payload of a segment on the route to the flow's
// collector, as last learnt.
func (r *route) mss() int { return int(r.c.mss[r.ti].Load()) }

// proxyTap is the l4.Tap of one proxy: the mirrors that select it. When
// several select one flow, the first by mirror ID copies it; the API
// refuses overlapping sources, so that happens only when sources resolved
// earlier have drifted (docs/dataplane-mirror.md, "Not done").
type proxyTap struct {
	mirrors []*mirror
	self    *own // The engine's own copies, never copied again.
}

// Interface guards.
var (
	_ l4.Tap    = (*proxyTap)(nil)
	_ l4.TCPTap = (*tcpFlow)(nil)
	_ l4.UDPTap = (*udpFlow)(nil)
)

func proxyTaps(ms map[string]*mirror, self *own) map[string]l4.Tap {
	byProxy := map[string]*proxyTap{}
	for _, m := range ms {
		for id := range m.cfg.Load().sources {
			if byProxy[id] == nil {
				byProxy[id] = &proxyTap{self: self}
			}
			byProxy[id].mirrors = append(byProxy[id].mirrors, m)
		}
	}
	out := make(map[string]l4.Tap, len(byProxy))
	for id, t := range byProxy {
		slices.SortFunc(t.mirrors, func(a, b *mirror) int { return strings.Compare(a.id, b.id) })
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

// SkipUDP implements l4.Tap: the datagrams go to the Dropped counter of
// the mirror that would copy them, as those its full queue drops.
func (t *proxyTap) SkipUDP(f l4.Flow, d l4.Dir, n int) {
	want := [2]bool{}
	want[d] = true
	if m, _, _ := t.match(f, want); m != nil {
		m.stats.Dropped.Add(int64(n))
	}
}

// open returns the flow state of the first mirror copying one of the
// wanted directions of f, or nil. IPv6 flows are not mirrored (collectors
// and filters are IPv4), nor are the engine's own copies (own).
func (t *proxyTap) open(f l4.Flow, want [2]bool) *flow {
	if m, k, r := t.match(f, want); m != nil {
		return newFlow(m, k, r)
	}
	return nil
}

// match returns the first mirror copying one of the wanted directions of
// f, with the flow's key and route, or a nil mirror (see open). It builds
// no flow state: SkipUDP, which only counts, calls it per batch of
// datagrams.
func (t *proxyTap) match(f l4.Flow, want [2]bool) (*mirror, flowKey, *route) {
	k := flowKey{proxy: f.ProxyID, listener: f.ListenerID, proto: f.Proto, want: want,
		client: netip.AddrPortFrom(f.Client.Addr().Unmap(), f.Client.Port()),
		local:  netip.AddrPortFrom(f.Local.Addr().Unmap(), f.Local.Port())}
	if !k.client.Addr().Is4() || !k.local.Addr().Is4() || t.self.sent(&k) {
		return nil, k, nil
	}
	for _, m := range t.mirrors {
		if m.stopped.Load() {
			continue
		}
		if r := m.cfg.Load().route(&k); r.any() {
			return m, k, r
		}
	}
	return nil, k, nil
}
