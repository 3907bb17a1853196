package server_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestPrivateOriginsDenied: with --deny-private-origins every service
// refuses loopback and private addresses where it would send traffic —
// GAAP origins, EdgeOne origin records and traffic-mirror collectors —
// and still takes public ones.
func TestPrivateOriginsDenied(t *testing.T) {
	n := startNode(t, func(o *server.Options) { o.DenyPrivateOrigins = true })
	const public = "198.51.100.7"

	add := func(ip string) error {
		req := gaapsdk.NewAddRealServersRequest()
		req.ProjectId, req.RealServerName, req.RealServerIP = new(uint64(0)), new("origin"), []*string{new(ip)}
		_, err := n.c.AddRealServers(req)
		return err
	}
	wantCode(t, "AddRealServers 127.0.0.1", add("127.0.0.1"), "InvalidParameterValue")
	wantCode(t, "AddRealServers 10.1.2.3", add("10.1.2.3"), "InvalidParameterValue")
	if err := add(public); err != nil {
		t.Errorf("AddRealServers %s: %v", public, err)
	}

	vc := n.VPC()
	var zone struct{ ZoneId string }
	teoCall(t, vc, "CreateZone", map[string]any{"Type": "noDomainAccess"}, &zone)
	group := func(ip string) error {
		return xtest.CallService(&vc.Client, "teo", "2022-09-01", "CreateOriginGroup", map[string]any{"ZoneId": zone.ZoneId,
			"Name": "g", "Type": "GENERAL", "Records": []map[string]any{{"Record": ip, "Type": "IP_DOMAIN"}}}, nil)
	}
	wantCode(t, "CreateOriginGroup 127.0.0.1", group("127.0.0.1"), "InvalidParameter.InvalidOriginIp")
	if err := group(public); err != nil {
		t.Errorf("CreateOriginGroup %s: %v", public, err)
	}

	vpc := xtest.DefaultVPC(t, vc)
	mirror := func(ip string) error {
		return xtest.CallService(&vc.Client, "vpc", "2017-03-12", "CreateTrafficMirror", map[string]any{"VpcId": vpc,
			"TrafficMirrorName": "m", "State": "RUNNING", "CollectorTarget": map[string]any{"TargetIps": []string{ip}}}, nil)
	}
	wantCode(t, "CreateTrafficMirror 127.0.0.1", mirror("127.0.0.1"), "InvalidParameterValue.InvalidLbTrafficMirrorReciverEndpoint")
	if err := mirror(public); err != nil {
		t.Errorf("CreateTrafficMirror %s: %v", public, err)
	}
}

// TestMirrorPrivateCollectorStoppedByFlag: a traffic mirror whose
// collector is a loopback address, created while private addresses were
// allowed, stops receiving copies once the node restarts with
// --deny-private-origins, as literal GAAP origins stored before the flag
// stop getting traffic (mirror.Options.DenyPrivate). It went on getting
// VXLAN copies of every client's requests.
func TestMirrorPrivateCollectorStoppedByFlag(t *testing.T) {
	n, mod := restartableNode(t, func(o *server.Options) { o.DrainGrace = 100 * time.Millisecond })
	proxy, ip := n.proxy()
	listener, port := n.httpListener(proxy, ip)
	col := startPcapCollector(t, netip.AddrPortFrom(mirrorAddrs.Next(), 4789))
	vc := n.VPC()
	createMirror(t, vc, map[string]any{"VpcId": xtest.DefaultVPC(t, vc), "TrafficMirrorName": "pre-flag", "State": "RUNNING",
		"Direction": "ALL", "CollectorSrcs": []string{proxy}, "CollectorTarget": targetIPs(col)})
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) {
		if resp, err := c.Get(fmt.Sprintf("http://%s%s", netip.AddrPortFrom(ip, uint16(port)), path)); err == nil {
			resp.Body.Close()
		}
	}
	// Before the flag the collector gets copies: what follows is the
	// flag's doing, not a mirror that never ran.
	n.applied()
	n.until("a request copied before the flag", func() bool {
		get("/before-flag") // Again until one is copied: the mirror may still be attaching.
		return col.contains([]byte("GET /before-flag"))
	})

	n = n.restart(func(o *server.Options) { mod(o); o.DenyPrivateOrigins = true })
	ip = n.proxyIP(proxy)
	n.waitListener(listener)
	n.applied()
	for i := range 3 {
		get(fmt.Sprintf("/after-flag-%d", i))
	}
	time.Sleep(time.Second)
	if col.contains([]byte("GET /after-flag-")) {
		t.Fatalf("--deny-private-origins: the loopback collector %s (stored before the flag) still got %d VXLAN frames "+
			"carrying client requests; want none", col.addr, col.count())
	}
}
