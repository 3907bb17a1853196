package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"
	vpcsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/mirror"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

// mirrorAddrs hands out 127.77.202.x for the mirror test's origin and collector.
var mirrorAddrs = edgetest.NewAlloc(202)

// TestTrafficMirrorEndToEnd mirrors a GAAP proxy through the VPC API to a
// VXLAN collector, checks with tshark that the HTTP request decodes from a
// clean TCP flow, then stops the mirror and checks that copies stop.
func TestTrafficMirrorEndToEnd(t *testing.T) {
	tshark := needTshark(t)
	s := newMirrorSite(t)
	n, ip, port := s.n, s.ip, s.port
	col := s.collector()
	id := s.mirror(map[string]any{"TrafficMirrorName": "e2e", "Type": "VPC", "State": "RUNNING", "Direction": "ALL",
		"CollectorSrcs": []string{s.proxy}, "CollectorTarget": targetIPs(col)})
	key := stats.Key{Kind: mirror.StatsKind, ID: id}
	n.until("mirror running on the edge", func() bool { return s.onEdge(id) })

	url := fmt.Sprintf("http://%s/mirror-test?n=1", netip.AddrPortFrom(ip, uint16(port)))
	if got := httpGet(t, url); got != "hello from origin" {
		t.Fatalf("GET through the proxy: %q", got)
	}
	n.until("both FINs mirrored", func() bool { return col.fins() >= 2 })
	pcap := col.write(t)

	out := run(t, tshark, "-r", pcap, "-Y", "http.request", "-T", "fields", "-e", "http.request.method", "-e", "http.request.uri")
	if strings.TrimSpace(out) != "GET\t/mirror-test?n=1" {
		t.Errorf("tshark HTTP requests: %q; want GET /mirror-test?n=1", out)
	}
	checkExpert(t, tshark, pcap)

	// A large answer: over loopback the segments are as large as the
	// collector's path allows (docs/dataplane-mirror.md), and tshark still
	// reassembles the answer from a clean flow.
	if got := httpGet(t, strings.Replace(url, "mirror-test", "big", 1)); len(got) != bigAnswer {
		t.Fatalf("GET /big through the proxy: %d bytes; want %d", len(got), bigAnswer)
	}
	n.until("both FINs of the second flow mirrored", func() bool { return col.fins() >= 4 })
	pcap = col.write(t)
	out = run(t, tshark, "-r", pcap, "-Y", "http.response and http.content_length == "+strconv.Itoa(bigAnswer), "-T", "fields", "-e", "http.response.code")
	if strings.TrimSpace(out) != "200" {
		t.Errorf("tshark reassembled answers of %d bytes: %q; want one 200", bigAnswer, out)
	}
	lens := strings.Fields(run(t, tshark, "-r", pcap, "-Y", "tcp.len > 1410", "-T", "fields", "-e", "tcp.len"))
	if len(lens) == 0 {
		t.Errorf("no mirrored segment over 1410 bytes; want loopback-sized segments")
	}
	checkExpert(t, tshark, pcap)

	// The mirror's counters are exported for Prometheus: packets sent equal
	// what the edge counted, no copy dropped.
	sent := n.Edge.Stats().Values[key].PacketsOut
	metrics := httpGet(t, "http://"+n.Addr+"/metrics")
	for _, want := range []string{fmt.Sprintf(`opengaap_packets_out_total{id=%q,kind="mirror"} %d`, id, sent),
		fmt.Sprintf(`opengaap_udp_dropped_total{id=%q,kind="mirror"} 0`, id)} {
		if sent == 0 || !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	vpcCall(t, s.vc, "StopTrafficMirror", map[string]any{"TrafficMirrorId": id}, nil)
	n.until("mirror stopped on the edge", func() bool { return !s.onEdge(id) })
	before := col.count()
	for i := range 3 {
		httpGet(t, fmt.Sprintf("http://%s/after-stop?%d", netip.AddrPortFrom(ip, uint16(port)), i))
	}
	time.Sleep(300 * time.Millisecond)
	if after := col.count(); after != before {
		t.Errorf("collector got %d packets after StopTrafficMirror; want none", after-before)
	}
}

// TestMirrorCompletedByReset: CollectorTarget and CollectorSrcs are
// optional at creation. A running mirror without either copies nothing
// and leaves the node's snapshots valid; once ResetTrafficMirrorTarget
// names a collector it copies.
func TestMirrorCompletedByReset(t *testing.T) {
	s := newMirrorSite(t)
	col, idle := s.collector(), s.collector()
	noTarget := s.mirror(map[string]any{"TrafficMirrorName": "no-target", "State": "RUNNING", "CollectorSrcs": []string{s.proxy}})
	noSrcs := s.mirror(map[string]any{"TrafficMirrorName": "no-srcs", "State": "RUNNING", "CollectorTarget": targetIPs(idle)})
	s.get(s.port, "/before-target")

	vpcCall(t, s.vc, "ResetTrafficMirrorTarget", map[string]any{"TrafficMirrorId": noTarget, "CollectorTarget": targetIPs(col)}, nil)
	// The snapshot that brings it still holds the mirror without sources.
	s.n.until("mirror with a target running on the edge", func() bool { return s.onEdge(noTarget) })
	if s.onEdge(noSrcs) {
		t.Errorf("mirror without sources is on the edge; want it left out")
	}
	s.get(s.port, "/after-target")
	s.n.until("the request copied", func() bool { return col.contains([]byte("GET /after-target")) })
	if col.contains([]byte("GET /before-target")) || idle.count() != 0 {
		t.Errorf("copies before the target was set (%v) or to the mirror without sources (%d frames); want none",
			col.contains([]byte("GET /before-target")), idle.count())
	}
}

// TestMirrorNormalFilterDrop: a CollectorNormalFilters entry with Action
// DROP keeps the traffic it matches (one listener's port) out of the
// mirror, and only that: with no ACCEPT filter the rest is copied.
func TestMirrorNormalFilterDrop(t *testing.T) {
	s := newMirrorSite(t)
	_, other := s.listen()
	col := s.collector()
	id := s.mirror(map[string]any{"TrafficMirrorName": "drop", "State": "RUNNING", "CollectorSrcs": []string{s.proxy},
		"CollectorNormalFilters": []map[string]any{{"Protocol": "TCP", "DstPort": strconv.Itoa(s.port), "Action": "DROP"}},
		"CollectorTarget":        targetIPs(col)})
	s.n.until("mirror running on the edge", func() bool { return s.onEdge(id) })
	s.get(s.port, "/dropped-by-filter")
	s.get(other, "/not-dropped")
	s.n.until("the other listener's request copied", func() bool { return col.contains([]byte("GET /not-dropped")) })
	if col.contains([]byte("GET /dropped-by-filter")) {
		t.Errorf("the collector got the request the DROP filter matches")
	}
}

// mirrorSite is a proxy with a plain TCP listener to an HTTP origin, and
// the caller's default VPC to mirror it in.
type mirrorSite struct {
	n        *node
	proxy    string
	ip       netip.Addr
	listener string
	port     int
	origin   map[string]netip.AddrPort // Real server ID → address.
	vc       *vpcsdk.Client
	vpc      string
}

func newMirrorSite(t *testing.T) *mirrorSite {
	s := &mirrorSite{n: startNode(t)}
	s.proxy, s.ip = s.n.proxy()
	originIP := mirrorAddrs.Next()
	s.origin = map[string]netip.AddrPort{s.n.realServers(originIP)[0]: startHTTP(t, originIP)}
	s.listener, s.port = s.listen()
	s.vc = s.n.VPC()
	s.vpc = xtest.DefaultVPC(t, s.vc)
	return s
}

// listen adds a plain TCP listener to the origin on the site's proxy.
func (s *mirrorSite) listen() (string, int) {
	id, port := s.n.plainListener(s.proxy, s.ip)
	s.n.bind(id, s.origin)
	return id, port
}

// mirror creates a mirror in the site's VPC and returns its ID.
func (s *mirrorSite) mirror(params map[string]any) string {
	s.n.t.Helper()
	params["VpcId"] = s.vpc
	return createMirror(s.n.t, s.vc, params)
}

// onEdge reports whether mirror id runs on the edge (it has counters).
func (s *mirrorSite) onEdge(id string) bool {
	_, ok := s.n.Edge.Stats().Values[stats.Key{Kind: mirror.StatsKind, ID: id}]
	return ok
}

// applied returns once the edge runs what the store holds now: a
// controller pass of the current revision (its own, or the one that ran
// it already) has handed its snapshot to the edge. Changes whose effect on
// the edge no API call shows (a mirror's direction, the sources left once a
// deletion is done) are waited for with it rather than with a sleep.
func (n *node) applied() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Controller.Reconcile(ctx); err != nil {
		n.t.Fatalf("reconcile: %v", err)
	}
}

// get sends GET path through the site's listener on port.
func (s *mirrorSite) get(port int, path string) {
	s.n.t.Helper()
	if got := httpGet(s.n.t, fmt.Sprintf("http://%s%s", netip.AddrPortFrom(s.ip, uint16(port)), path)); got != "hello from origin" {
		s.n.t.Fatalf("GET %s through the proxy: %q", path, got)
	}
}

// collector starts a VXLAN collector on a fresh loopback address.
func (s *mirrorSite) collector() *pcapCollector {
	return startPcapCollector(s.n.t, netip.AddrPortFrom(mirrorAddrs.Next(), 4789))
}

// targetIPs is a CollectorTarget naming c.
func targetIPs(c *pcapCollector) map[string]any {
	return map[string]any{"TargetIps": []string{c.addr.Addr().String()}}
}

// checkExpert fails the test when tshark's expert info on pcap shows
// anything a clean capture would not.
func checkExpert(t *testing.T, tshark, pcap string) {
	t.Helper()
	expert := run(t, tshark, "-r", pcap, "-q", "-z", "expert")
	for _, bad := range []string{"previous segment not captured", "ACKed segment that wasn't captured", "Out-Of-Order",
		"Retransmission", "Dup ACK", "spurious", "Bad checksum", "Malformed", "Warnings (", "Errors ("} {
		if strings.Contains(expert, bad) {
			t.Errorf("tshark expert info reports %q:\n%s", bad, expert)
		}
	}
}

// bigAnswer is the size of the test origin's answer to /big.
const bigAnswer = 1 << 20

// needTshark returns tshark's path; without it the test fails in CI and is
// skipped elsewhere.
func needTshark(t *testing.T) string {
	p, err := exec.LookPath("tshark")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("tshark is required in CI (scripts/test.sh installs it)")
	}
	t.Skip("tshark not installed: apt-get install -y tshark to run the traffic mirror capture test")
	return ""
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

func startHTTP(t *testing.T, ip netip.Addr) netip.AddrPort {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Header().Set("Content-Length", strconv.Itoa(bigAnswer))
			w.Write(bytes.Repeat([]byte("x"), bigAnswer))
			return
		}
		io.WriteString(w, "hello from origin")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// pcapCollector receives VXLAN on addr and keeps the inner frames.
type pcapCollector struct {
	addr   netip.AddrPort
	mu     sync.Mutex
	frames [][]byte
	at     []time.Time
}

func startPcapCollector(t *testing.T, addr netip.AddrPort) *pcapCollector {
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	c := &pcapCollector{addr: addr}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			nr, err := pc.Read(buf)
			if err != nil {
				return
			}
			var vx layers.VXLAN
			if vx.DecodeFromBytes(buf[:nr], gopacket.NilDecodeFeedback) != nil || !vx.ValidIDFlag {
				continue
			}
			c.mu.Lock()
			c.frames = append(c.frames, append([]byte(nil), vx.Payload...))
			c.at = append(c.at, time.Now())
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return c
}

func (c *pcapCollector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

func (c *pcapCollector) fins() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.frames {
		p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.NoCopy)
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && tcp.FIN {
			n++
		}
	}
	return n
}

// contains reports whether a frame carries p.
func (c *pcapCollector) contains(p []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.frames {
		if bytes.Contains(f, p) {
			return true
		}
	}
	return false
}

// carrying lists, sorted, the flows and directions ("TCP in", "UDP out")
// of the frames whose payload carries p; in is client to proxy.
func (c *pcapCollector) carrying(p string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	for _, f := range c.frames {
		pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.NoCopy)
		eth, _ := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		app := pkt.ApplicationLayer()
		if eth == nil || app == nil || !bytes.Contains(app.Payload(), []byte(p)) {
			continue
		}
		dir := " in"
		if eth.SrcMAC[5] == 2 { // The proxy side's synthesized MAC.
			dir = " out"
		}
		seen[pkt.TransportLayer().LayerType().String()+dir] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// write saves the frames as an Ethernet pcap file.
func (c *pcapCollector) write(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mirror.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, fr := range c.frames {
		ci := gopacket.CaptureInfo{Timestamp: c.at[i], CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// createMirror creates a mirror with params and returns its ID.
func createMirror(t *testing.T, vc *vpcsdk.Client, params map[string]any) string {
	t.Helper()
	var created struct {
		TrafficMirror struct{ TrafficMirrorId string }
	}
	vpcCall(t, vc, "CreateTrafficMirror", params, &created)
	return created.TrafficMirror.TrafficMirrorId
}

// mirrorAll creates a RUNNING mirror of both directions of srcs to col in
// the default VPC and returns its ID.
func mirrorAll(t *testing.T, vc *vpcsdk.Client, srcs []string, col *pcapCollector) string {
	t.Helper()
	return createMirror(t, vc, map[string]any{"VpcId": xtest.DefaultVPC(t, vc), "TrafficMirrorName": "all", "State": "RUNNING",
		"Direction": "ALL", "CollectorSrcs": srcs, "CollectorTarget": targetIPs(col)})
}

// vpcCall sends a traffic-mirror action (SDK v1.0.162 lacks them) through
// the SDK's own signing and transport.
func vpcCall(t *testing.T, c *vpcsdk.Client, action string, params, resp any) {
	t.Helper()
	if err := xtest.CallService(&c.Client, "vpc", vpcsdk.APIVersion, action, params, resp); err != nil {
		t.Fatalf("%s: %v", action, err)
	}
}

// teoCall sends an EdgeOne action (the module proxy's Go SDK has no teo
// package) the same way.
func teoCall(t *testing.T, c *vpcsdk.Client, action string, params, resp any) {
	t.Helper()
	if err := xtest.CallService(&c.Client, teoapi.Service, teoapi.Version, action, params, resp); err != nil {
		t.Fatalf("%s: %v", action, err)
	}
}

// TestGroupListenerMirrorCoversLateMember: a mirror of a group's listener
// copies that listener's traffic on a proxy created into the group after
// the mirror was set, as it does on the members it was set with, even when
// the group had none then.
func TestGroupListenerMirrorCoversLateMember(t *testing.T) {
	n := startNode(t)
	g, _, _ := n.groupOf()                       // no member yet: the mirror resolves to no proxy
	n.until("empty group RUNNING", func() bool { // with no member to wait for
		var d struct{ ProxyGroupDetail struct{ Status int64 } }
		return n.Call(n.c, "DescribeProxyGroupDetails", map[string]any{"GroupId": g}, &d) == nil && d.ProxyGroupDetail.Status == 0
	})
	l, port := n.groupTCPListener(g, netip.MustParseAddr("127.0.0.1"), "reply-of-the-group-origin")

	vc := n.VPC()
	col := startPcapCollector(t, netip.AddrPortFrom(mirrorAddrs.Next(), 4789))
	id := mirrorAll(t, vc, []string{l}, col)

	late := n.joinGroup(g, "Hongkong", 1)[0]
	n.until("the late member's traffic mirrored", func() bool {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(late, uint16(port)).String(), time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		b, _ := io.ReadAll(c)
		return string(b) == "reply-of-the-group-origin" && col.contains(b)
	})
	// And the mirror's sources still read as the user gave them.
	var d struct {
		TrafficMirrorSet []struct{ CollectorSrcs []string }
	}
	vpcCall(t, vc, "DescribeTrafficMirrors", map[string]any{"TrafficMirrorIds": []string{id}}, &d)
	if len(d.TrafficMirrorSet) != 1 || !slices.Equal(d.TrafficMirrorSet[0].CollectorSrcs, []string{l}) {
		t.Errorf("DescribeTrafficMirrors: %+v; want CollectorSrcs [%s]", d.TrafficMirrorSet, l)
	}
}

// TestSecondMirrorOfEmptyGroupListenerRefused: a listener of a group with
// no member yet resolves to no proxy, yet a second mirror naming it is
// refused as one of a mirrored proxy is. Were it accepted, both mirrors
// would gain the next member (model.TrafficMirror.AddMember), and the
// edge, which copies a flow for one mirror only, would leave one of them
// silently empty.
func TestSecondMirrorOfEmptyGroupListenerRefused(t *testing.T) {
	n := startNode(t)
	g, _, _ := n.groupOf()
	n.until("empty group RUNNING", func() bool {
		var d struct{ ProxyGroupDetail struct{ Status int64 } }
		return n.Call(n.c, "DescribeProxyGroupDetails", map[string]any{"GroupId": g}, &d) == nil && d.ProxyGroupDetail.Status == 0
	})
	l, _ := n.groupTCPListener(g, netip.MustParseAddr("127.0.0.1"), "reply-of-the-group-origin")

	vc := n.VPC()
	mirrorAll(t, vc, []string{l}, startPcapCollector(t, netip.AddrPortFrom(mirrorAddrs.Next(), 4789)))
	params := map[string]any{"VpcId": xtest.DefaultVPC(t, vc), "TrafficMirrorName": "second", "State": "RUNNING",
		"Direction": "ALL", "CollectorSrcs": []string{l}, "CollectorTarget": map[string]any{"TargetIps": []string{mirrorAddrs.Next().String()}}}
	err := xtest.CallService(&vc.Client, "vpc", vpcsdk.APIVersion, "CreateTrafficMirror", params, nil)
	wantCode(t, "second mirror of the empty group's listener "+l, err, "InvalidParameterValue.ObjectUseInTrafficMirror")
}

// TestMirrorsAimedAtEachOtherDoNotLoop: mirror M1 copies proxy P1 to a
// collector that is P2's UDP listener, M2 copies P2 to P1's UDP listener.
// The node's own copies then arrive at the other mirrored listener as a
// client's datagrams; copied again, one client datagram would start a
// storm of copies of copies (hundreds, each 50 bytes longer), bounded only
// by the listener's buffer and the rate cap. The edge must copy the
// client's datagram and its answer, 2 packets, and not its own copies.
func TestMirrorsAimedAtEachOtherDoNotLoop(t *testing.T) {
	n := startNode(t)
	p1, ip1 := n.proxy()
	p2, ip2 := n.proxy()
	u1 := n.udpEchoListener(p1, ip1)
	u2 := n.udpEchoListener(p2, ip2)
	vc := n.VPC()
	vpc := xtest.DefaultVPC(t, vc)
	mk := func(name, src string, to netip.AddrPort) string {
		return createMirror(t, vc, map[string]any{"VpcId": vpc, "TrafficMirrorName": name, "State": "RUNNING",
			"CollectorSrcs": []string{src}, "CollectorTarget": map[string]any{"TargetEndPoints": []string{to.String()}}})
	}
	m1, m2 := mk("m1", p1, u2), mk("m2", p2, u1)
	n.applied()
	key1, key2 := stats.Key{Kind: mirror.StatsKind, ID: m1}, stats.Key{Kind: mirror.StatsKind, ID: m2}
	n.until("mirrors on the edge", func() bool {
		v := n.Edge.Stats().Values
		_, ok1 := v[key1]
		_, ok2 := v[key2]
		return ok1 && ok2
	})
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(u1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("one datagram"))
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if k, err := c.Read(buf); err != nil || string(buf[:k]) != "echo:one datagram" {
		t.Fatalf("udp echo: %q %v", buf[:k], err)
	}
	out := func() int64 { v := n.Edge.Stats().Values; return v[key1].PacketsOut + v[key2].PacketsOut }
	n.until("the datagram and its answer copied", func() bool { return out() >= 2 })
	// A loop shows within milliseconds (the storm took under 500 ms).
	time.Sleep(time.Second)
	v := n.Edge.Stats().Values
	if got := out(); got != 2 {
		t.Errorf("one client datagram and its answer produced %d mirrored packets (%d dropped); want 2: the mirrors copy each other's copies",
			got, v[key1].Dropped+v[key2].Dropped)
	}
}

// TestMirrorKeepsLiveFlowWhenProxyJoinsGroup: a mirror of a group's TCP
// listener keeps copying an established connection on a member when
// another proxy is created into the group. The join extends the mirror's
// sources on the edge, while the mirror itself (its CollectorSrcs,
// filters and collector) reads the same: its live flows carry on.
func TestMirrorKeepsLiveFlowWhenProxyJoinsGroup(t *testing.T) {
	n := startNode(t)
	g, _, ips := n.groupOf("SouthChina")
	o := edgetest.StartTCP(t, netip.AddrPortFrom(mirrorAddrs.Next(), 0), edgetest.Echo)
	rs := n.realServers(o.Addr.Addr())
	port := edgetest.FreePort(t, ips[0])
	var resp struct{ ListenerIds []string }
	if err := n.Call(n.c, "CreateTCPListeners", map[string]any{"GroupId": g, "ListenerName": "g", "Ports": []int{port}, "Scheduler": "rr",
		"RealServerType": "IP", "HealthCheck": 0, "RealServerPorts": []int{int(o.Addr.Port())}}, &resp); err != nil {
		t.Fatal(err)
	}
	l := resp.ListenerIds[0]
	n.waitListener(l)
	n.bind(l, map[string]netip.AddrPort{rs[0]: o.Addr})

	vc := n.VPC()
	col := startPcapCollector(t, netip.AddrPortFrom(mirrorAddrs.Next(), 4789))
	id := mirrorAll(t, vc, []string{l}, col)
	n.until("mirror on the edge", func() bool {
		_, ok := n.Edge.Stats().Values[stats.Key{Kind: mirror.StatsKind, ID: id}]
		return ok
	})

	echo := dialEcho(t, netip.AddrPortFrom(ips[0], uint16(port)))
	echo("before-join")
	n.until("the live connection copied", func() bool { return col.contains([]byte("before-join")) })

	members := n.joinGroup(g, "Hongkong", 2)
	late := members[0]
	if late == ips[0] {
		late = members[1]
	}
	// The edge applies mirrors before listeners: once the new member
	// serves the listener, the extended mirror is in place.
	n.until("the new member serves", func() bool { return serves(netip.AddrPortFrom(late, uint16(port))) })
	echo("after-join")
	n.until("the live connection still copied", func() bool { return col.contains([]byte("after-join")) })
}

// TestMirrorKeepsLiveFlowWhenOtherSourceDeleted: a mirror of two listeners
// keeps copying a live connection of one when the other is deleted: only
// the flows of a source that leaves the mirror stop being copied.
func TestMirrorKeepsLiveFlowWhenOtherSourceDeleted(t *testing.T) {
	s := newMirrorSite(t)
	other, _ := s.listen()
	o := edgetest.StartTCP(t, netip.AddrPortFrom(mirrorAddrs.Next(), 0), edgetest.Echo)
	kept, port := s.n.plainListener(s.proxy, s.ip)
	s.n.bind(kept, map[string]netip.AddrPort{s.n.realServers(o.Addr.Addr())[0]: o.Addr})
	col := s.collector()
	id := s.mirror(map[string]any{"TrafficMirrorName": "two", "State": "RUNNING", "Direction": "ALL",
		"CollectorSrcs": []string{other, kept}, "CollectorTarget": targetIPs(col)})
	s.n.until("mirror on the edge", func() bool { return s.onEdge(id) })

	echo := dialEcho(t, netip.AddrPortFrom(s.ip, uint16(port)))
	echo("before-delete")
	s.n.until("the live connection copied", func() bool { return col.contains([]byte("before-delete")) })

	if err := s.n.Call(s.n.c, "DeleteListeners", map[string]any{"ProxyId": s.proxy, "ListenerIds": []string{other}, "Force": 1}, nil); err != nil {
		t.Fatal(err)
	}
	// The listener leaves the edge when its deletion starts, the
	// mirror's sources once the deletion is done.
	s.n.until("the listener deleted", func() bool {
		var ls struct{ TotalCount int }
		err := s.n.Call(s.n.c, "DescribeTCPListeners", map[string]any{"ProxyId": s.proxy, "ListenerId": other}, &ls)
		return err == nil && ls.TotalCount == 0
	})
	s.n.applied() // The snapshot without it is on the edge.
	echo("after-delete")
	s.n.until("the live connection still copied", func() bool { return col.contains([]byte("after-delete")) })
}

// TestMirrorChangesActOnLiveFlows: changing a running mirror acts on the
// connections and sessions it copies at once: after
// UpdateTrafficMirrorDirection INGRESS they are copied one way only, and
// StopTrafficMirror and DeleteTrafficMirror end their copies. A restarted
// mirror copies live UDP sessions again, not TCP connections accepted
// before it started (docs/dataplane-mirror.md, "Not done").
func TestMirrorChangesActOnLiveFlows(t *testing.T) {
	s := newMirrorSite(t)
	o := edgetest.StartTCP(t, netip.AddrPortFrom(mirrorAddrs.Next(), 0), edgetest.Echo)
	l, port := s.n.plainListener(s.proxy, s.ip)
	s.n.bind(l, map[string]netip.AddrPort{s.n.realServers(o.Addr.Addr())[0]: o.Addr})
	udp := s.n.udpEchoListener(s.proxy, s.ip)
	col := s.collector()
	id := s.mirror(map[string]any{"TrafficMirrorName": "live", "State": "RUNNING", "Direction": "ALL",
		"CollectorSrcs": []string{s.proxy}, "CollectorTarget": targetIPs(col)})
	s.n.until("mirror on the edge", func() bool { return s.onEdge(id) })
	echo := dialEcho(t, netip.AddrPortFrom(s.ip, uint16(port)))
	uc, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(udp))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	buf := make([]byte, 64)
	xchg := func(msg string) {
		t.Helper()
		echo(msg)
		uc.Write([]byte(msg))
		uc.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, err := uc.Read(buf); err != nil || string(buf[:n]) != "echo:"+msg {
			t.Fatalf("udp echo %q: %q %v", msg, buf[:n], err)
		}
	}
	all := []string{"TCP in", "TCP out", "UDP in", "UDP out"}
	xchg("before-update")
	s.n.until("both flows copied both ways", func() bool { return slices.Equal(col.carrying("before-update"), all) })

	vpcCall(t, s.vc, "UpdateTrafficMirrorDirection", map[string]any{"TrafficMirrorId": id, "Direction": "INGRESS"}, nil)
	s.n.applied() // The updated mirror is on the edge.
	xchg("after-update")
	s.n.until("ingress copied", func() bool { return len(col.carrying("after-update")) >= 2 })
	time.Sleep(200 * time.Millisecond) // No egress copy follows.
	if got, want := col.carrying("after-update"), []string{"TCP in", "UDP in"}; !slices.Equal(got, want) {
		t.Errorf("after the update to INGRESS, copies of the live flows: %v; want %v", got, want)
	}

	vpcCall(t, s.vc, "StopTrafficMirror", map[string]any{"TrafficMirrorId": id}, nil)
	s.n.until("mirror off the edge", func() bool { return !s.onEdge(id) })
	xchg("after-stop")
	vpcCall(t, s.vc, "StartTrafficMirror", map[string]any{"TrafficMirrorId": id}, nil)
	s.n.until("mirror on the edge", func() bool { return s.onEdge(id) })
	xchg("after-start")
	s.n.until("udp copied after the restart", func() bool { return len(col.carrying("after-start")) > 0 })
	vpcCall(t, s.vc, "DeleteTrafficMirror", map[string]any{"TrafficMirrorId": id}, nil)
	s.n.until("mirror off the edge", func() bool { return !s.onEdge(id) })
	xchg("after-delete")
	time.Sleep(300 * time.Millisecond)
	for msg, want := range map[string][]string{"after-stop": nil, "after-start": {"UDP in"}, "after-delete": nil} {
		if got := col.carrying(msg); !slices.Equal(got, want) {
			t.Errorf("copies of %q: %v; want %v", msg, got, want)
		}
	}
}

// serves reports whether a TCP connection to addr is accepted.
func serves(addr netip.AddrPort) bool {
	c, err := net.DialTimeout("tcp", addr.String(), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// dialEcho connects to an echo service at to and returns a function that
// sends a message over that one connection and checks its echo.
func dialEcho(t *testing.T, to netip.AddrPort) func(msg string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", to.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	buf := make([]byte, 64)
	return func(msg string) {
		t.Helper()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write([]byte(msg))
		if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil || string(buf[:len(msg)]) != msg {
			t.Fatalf("echo %q: %q %v", msg, buf[:len(msg)], err)
		}
	}
}

// TestLateMemberNotItsOwnCollector: a proxy created into the group of a
// mirrored listener joins the mirror's sources; when its new access IP is
// one of the mirror's collectors (a free pool address may be named as
// one), it would mirror to itself, which every VPC action refuses
// (TrafficMirrorNotSupportSameSrcTarget): the creation is refused, and
// the mirror stays as it was. The member joined, and the mirror could no
// longer be given back even its own, unchanged collectors.
func TestLateMemberNotItsOwnCollector(t *testing.T) {
	const pool = "127.77.209.0/30" // Two access IPs: .1 and .2.
	n := startNode(t, func(o *server.Options) { o.VIPPool = pool })
	g, _, _ := n.groupOf()
	n.until("empty group RUNNING", func() bool {
		var d struct{ ProxyGroupDetail struct{ Status int64 } }
		return n.Call(n.c, "DescribeProxyGroupDetails", map[string]any{"GroupId": g}, &d) == nil && d.ProxyGroupDetail.Status == 0
	})
	l, _ := n.groupTCPListener(g, netip.MustParseAddr("127.77.209.1"), "member")
	vc := n.VPC()
	target := map[string]any{"TargetEndPoints": []string{"127.77.209.1:4789", "127.77.209.2:4789"}}
	id := createMirror(t, vc, map[string]any{"VpcId": xtest.DefaultVPC(t, vc), "TrafficMirrorName": "grp", "State": "RUNNING",
		"CollectorSrcs": []string{l}, "CollectorTarget": target})

	req := gaapsdk.NewCreateProxyRequest()
	req.ProjectId, req.ProxyName, req.AccessRegion, req.GroupId = new(int64(0)), new("late"), new("Hongkong"), new(g)
	req.RealServerRegion, req.Bandwidth, req.Concurrent = new("NorthChina"), new(uint64(10)), new(uint64(2))
	if _, err := n.c.CreateProxy(req); !hasCode(err, "FailedOperation") {
		t.Errorf("CreateProxy into the group, its only free addresses the mirror's collectors: %v; want FailedOperation", err)
	}
	if err := xtest.CallService(&vc.Client, "vpc", vpcsdk.APIVersion, "ResetTrafficMirrorTarget",
		map[string]any{"TrafficMirrorId": id, "CollectorTarget": target}, nil); err != nil {
		t.Errorf("resetting mirror %s's unchanged collectors: %v; want success", id, err)
	}
}

// hasCode reports whether err is an SDK error with code.
func hasCode(err error, code string) bool {
	var e *sdkerrors.TencentCloudSDKError
	return errors.As(err, &e) && e.Code == code
}
