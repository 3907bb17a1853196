package server_test

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/toa"
	"github.com/opengaap/opengaap/internal/server"
)

// TestTCPListenerTOAThroughAPI: ClientIPMethod 0 makes the origin
// connection carry the client's address in GAAP's TOA option (kind 200),
// read here off the wire on the ACK that ends the handshake, as an
// origin's TOA module reads it; Describe shows 0.
func TestTCPListenerTOAThroughAPI(t *testing.T) {
	if w, err := toa.New(); errors.Is(err, toa.ErrUnsupported) {
		t.Skip(err)
	} else if err == nil {
		w.Close()
	}
	n := startNode(t)
	proxy, ip := n.proxy()
	o := origins.Next()
	srv := edgetest.StartTCP(t, netip.AddrPortFrom(o, 0), func(c net.Conn) { io.WriteString(c, "hello") })
	ids := n.realServers(o)
	wire, err := edgetest.WatchTCP(srv.Addr.Port())
	if err != nil {
		t.Skipf("no raw socket to watch the wire: %v", err)
	}
	port := edgetest.FreePort(t, ip)
	var resp struct{ ListenerIds []string }
	if err := n.Call(n.c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "toa", "Ports": []int{port},
		"Scheduler": "rr", "RealServerType": "IP", "ClientIPMethod": 0, "HealthCheck": 0}, &resp); err != nil {
		t.Fatal(err)
	}
	listener := resp.ListenerIds[0]
	n.waitListener(listener)
	n.bind(listener, map[string]netip.AddrPort{ids[0]: srv.Addr})

	src := origins.Next()
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	c, err := d.Dial("tcp", netip.AddrPortFrom(ip, uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	got, err := io.ReadAll(c)
	c.Close()
	if string(got) != "hello" {
		t.Fatalf("through the TOA listener: %q, %v", got, err)
	}
	time.Sleep(50 * time.Millisecond)
	segs := wire.Stop()
	client := netip.MustParseAddrPort(c.LocalAddr().String())
	if ack, ok := edgetest.HandshakeACK(segs); !ok || !ack.HasTOA || ack.TOA != client {
		t.Errorf("handshake ACK to the origin (%d segments): TOA %v %s; want %s", len(segs), ack.HasTOA, ack.TOA, client)
	}
	req := gaapsdk.NewDescribeTCPListenersRequest()
	req.ListenerId = &listener
	dr, err := n.c.DescribeTCPListeners(req)
	if err != nil {
		t.Fatal(err)
	}
	if m := dr.Response.ListenerSet[0].ClientIPMethod; m == nil || *m != 0 {
		t.Errorf("Describe: ClientIPMethod %v; want 0", m)
	}
}

// TestTCPListenerTOARefusedWithout: a server that cannot (here: must not)
// write TOA refuses ClientIPMethod 0, saying why (the method is set at
// creation only: ModifyTCPListenerAttribute has no such parameter).
func TestTCPListenerTOARefusedWithout(t *testing.T) {
	n := startNode(t, func(o *server.Options) { o.NoTOA = true })
	proxy, ip := n.proxy()
	err := n.Call(n.c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "toa",
		"Ports": []int{edgetest.FreePort(t, ip)}, "Scheduler": "rr", "RealServerType": "IP", "ClientIPMethod": 0, "HealthCheck": 0}, nil)
	if err == nil || !strings.Contains(err.Error(), "InvalidParameterValue") || !strings.Contains(err.Error(), "TOA") {
		t.Errorf("create with TOA: %v; want InvalidParameterValue naming TOA", err)
	}
}
