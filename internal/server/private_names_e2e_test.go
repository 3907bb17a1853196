package server_test

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
)

// loopbackHostName is a name /etc/hosts maps to an IPv4 loopback address,
// other than localhost (which the API refuses by name); the test is
// skipped on a machine without one.
func loopbackHostName(t *testing.T) (string, netip.Addr) {
	f, err := os.Open("/etc/hosts")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.SplitN(sc.Text(), "#", 2)[0])
		if len(fields) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(fields[0])
		if err != nil || !ip.Is4() || !ip.IsLoopback() {
			continue
		}
		for _, name := range fields[1:] {
			if name != "localhost" && !strings.HasSuffix(name, ".localhost") {
				return strings.ToLower(name), ip
			}
		}
	}
	t.Skip("no loopback name in /etc/hosts")
	return "", netip.Addr{}
}

// countingOrigin is a TCP origin on lo that answers "internal-service" and
// counts the connections it accepts.
func countingOrigin(t *testing.T, lo netip.Addr) (*edgetest.TCPServer, *atomic.Int64) {
	var n atomic.Int64
	name := edgetest.Name("internal-service")
	srv := edgetest.StartTCP(t, netip.AddrPortFrom(lo, 0), func(c net.Conn) {
		n.Add(1)
		name(c)
	})
	return srv, &n
}

// neverReaches connects to addr a few times over two seconds and fails the
// test if the origin counted by reached is ever connected to.
func neverReaches(t *testing.T, addr netip.AddrPort, what string, reached *atomic.Int64) {
	t.Helper()
	for range 5 {
		if c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second); err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			if len(b) > 0 {
				t.Fatalf("%s: a client got %q from the loopback origin", what, b)
			}
		}
		time.Sleep(400 * time.Millisecond)
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("%s: the loopback origin was connected to %d times; want none", what, n)
	}
}

// TestDenyPrivateOriginsResolvedNameTEO: under --deny-private-origins an
// EdgeOne rule whose origin is a name resolving to a loopback address is
// accepted (the API cannot know what a name resolves to) but the edge
// drops that address, so no client reaches the node's internal service
// through it, as none does through the literal address, which is refused.
// The same holds for a name among an origin group's records.
func TestDenyPrivateOriginsResolvedNameTEO(t *testing.T) {
	name, lo := loopbackHostName(t)
	e := teoEnvOn(t, startNode(t, func(o *server.Options) { o.DenyPrivateOrigins = true }))
	origin, reached := countingOrigin(t, lo)
	port := edgetest.FreePort(t, e.access)

	code, _ := teoError(t, e.c, "CreateL4ProxyRules", map[string]any{"ZoneId": e.zone, "ProxyId": e.proxy,
		"L4ProxyRules": []map[string]any{tcpRule([]string{strconv.Itoa(port)}, "IP_DOMAIN", []string{lo.String()}, origin.Addr)}})
	if code != "InvalidParameter.InvalidOriginIp" {
		t.Fatalf("rule to %s: %s; want InvalidParameter.InvalidOriginIp", lo, code)
	}
	rule := e.createRule(t, tcpRule([]string{strconv.Itoa(port)}, "IP_DOMAIN", []string{name}, origin.Addr))

	// An origin group's domain record takes the same path.
	var group struct{ OriginGroupId string }
	teoCall(t, e.c, "CreateOriginGroup", map[string]any{"ZoneId": e.zone, "Name": "g", "Type": "GENERAL",
		"Records": []map[string]any{{"Record": name, "Type": "IP_DOMAIN"}}}, &group)
	groupPort := edgetest.FreePort(t, e.access)
	groupRule := e.createRule(t, tcpRule([]string{strconv.Itoa(groupPort)}, "ORIGIN_GROUP", []string{group.OriginGroupId}, origin.Addr))

	e.n.until("rules online", func() bool { return e.ruleStatus(t, rule) == "online" && e.ruleStatus(t, groupRule) == "online" })
	neverReaches(t, netip.AddrPortFrom(e.access, uint16(port)), "rule to "+name+" ("+lo.String()+" in /etc/hosts)", reached)
	neverReaches(t, netip.AddrPortFrom(e.access, uint16(groupPort)), "rule to a group with record "+name, reached)
}

// TestDenyPrivateOriginsResolvedNameGAAP: the same for a GAAP DOMAIN
// origin. Its name counts as not resolving (RealServerStatus 1 with no
// DownIPList, as for a name with no address at all), and it gets no
// traffic.
func TestDenyPrivateOriginsResolvedNameGAAP(t *testing.T) {
	name, lo := loopbackHostName(t)
	n := startNode(t, func(o *server.Options) { o.DenyPrivateOrigins = true })
	proxy, ip := n.proxy()
	origin, reached := countingOrigin(t, lo)

	add := gaapsdk.NewAddRealServersRequest()
	add.ProjectId, add.RealServerName, add.RealServerIP = new(uint64(0)), new("origin"), []*string{new(name)}
	resp, err := n.c.AddRealServers(add)
	if err != nil {
		t.Fatalf("AddRealServers %q: %v", name, err)
	}
	rs := *resp.Response.RealServerSet[0].RealServerId
	port := edgetest.FreePort(t, ip)
	var created struct{ ListenerIds []string }
	if err := n.Call(n.c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "tcp", "Ports": []int{port},
		"Scheduler": "rr", "RealServerType": "DOMAIN", "HealthCheck": 1, "DelayLoop": 5, "ConnectTimeout": 2,
		"HealthyThreshold": 1, "UnhealthyThreshold": 1}, &created); err != nil {
		t.Fatal(err)
	}
	listener := created.ListenerIds[0]
	n.waitListener(listener)
	bind := gaapsdk.NewBindListenerRealServersRequest()
	bind.ListenerId = &listener
	bind.RealServerBindSet = []*gaapsdk.RealServerBindSetReq{{RealServerId: new(rs), RealServerIP: new(name),
		RealServerPort: new(uint64(origin.Addr.Port())), RealServerWeight: new(uint64(1))}}
	if _, err := n.c.BindListenerRealServers(bind); err != nil {
		t.Fatal(err)
	}
	var out struct {
		BindRealServerSet []struct {
			RealServerStatus int64
			DownIPList       []string
		}
	}
	n.until("origin abnormal", func() bool {
		if err := n.Call(n.c, "DescribeListenerRealServers", map[string]any{"ListenerId": listener}, &out); err != nil {
			t.Fatal(err)
		}
		return len(out.BindRealServerSet) == 1 && out.BindRealServerSet[0].RealServerStatus == 1
	})
	if got := out.BindRealServerSet[0].DownIPList; len(got) != 0 {
		t.Errorf("DownIPList %q; want none: the name's only address is dropped, so it does not resolve", got)
	}
	neverReaches(t, netip.AddrPortFrom(ip, uint16(port)), "DOMAIN origin "+name+" ("+lo.String()+" in /etc/hosts)", reached)
}
