package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestChurnKeepsConnections makes 200 configuration changes through the
// API (listeners added, rebound and removed, the streaming listener's
// scheduler switched) while 100 connections stream through one listener:
// none may break and no new connection to it may be refused.
func TestChurnKeepsConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("churn test in -short mode")
	}
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.NoRateLimits = true; o.DrainGrace = time.Second })
	n := &node{API: api, c: api.GAAP(), t: t}
	proxy, ip := n.proxy()
	echo := edgetest.StartTCP(t, netip.AddrPortFrom(origins.Next(), 0), edgetest.Echo)
	ids := n.realServers(echo.Addr.Addr())
	stable, port := n.plainListener(proxy, ip)
	n.bind(stable, map[string]netip.AddrPort{ids[0]: echo.Addr})
	addr := netip.AddrPortFrom(ip, uint16(port))

	stop := make(chan struct{})
	var broken, refused, rounds atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		wg.Go(func() { stream(c, i, stop, &broken, &rounds) })
	}
	wg.Go(func() { probe(addr, stop, &refused) })

	for i := range 200 {
		n.churnStep(i, proxy, ip, stable, ids[0], echo.Addr)
	}
	close(stop)
	wg.Wait()
	if broken.Load() != 0 || refused.Load() != 0 {
		t.Fatalf("during 200 changes: %d of 100 streams broke, %d new connections refused; want 0 and 0", broken.Load(), refused.Load())
	}
	if rounds.Load() < 1000 {
		t.Fatalf("only %d echo rounds streamed; the streams did not run", rounds.Load())
	}
}

// churnStep makes change i: a cycle of creating a listener, binding an
// origin to it, switching the stable listener's scheduler and deleting the
// new listener.
func (n *node) churnStep(i int, proxy string, ip netip.Addr, stable, rs string, origin netip.AddrPort) {
	n.t.Helper()
	switch i % 4 {
	case 0:
		n.churnListener, _ = n.plainListener(proxy, ip)
	case 1:
		n.bind(n.churnListener, map[string]netip.AddrPort{rs: origin})
	case 2:
		sched := []string{"lc", "rr"}[i/4%2]
		req := gaapsdk.NewModifyTCPListenerAttributeRequest()
		req.ProxyId, req.ListenerId, req.Scheduler = &proxy, &stable, &sched
		if _, err := n.c.ModifyTCPListenerAttribute(req); err != nil {
			n.t.Fatalf("change %d: %v", i, err)
		}
		n.waitListener(stable)
	case 3:
		req := gaapsdk.NewDeleteListenersRequest()
		req.ProxyId, req.ListenerIds, req.Force = &proxy, []*string{&n.churnListener}, new(uint64(1))
		if _, err := n.c.DeleteListeners(req); err != nil {
			n.t.Fatalf("change %d: %v", i, err)
		}
	}
}

// plainListener creates a TCP listener that passes bytes unchanged.
func (n *node) plainListener(proxy string, ip netip.Addr) (string, int) {
	n.t.Helper()
	port := edgetest.FreePort(n.t, ip)
	var resp struct{ ListenerIds []string }
	err := n.Call(n.c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "churn",
		"Ports": []int{port}, "Scheduler": "rr", "RealServerType": "IP", "HealthCheck": 0}, &resp)
	if err != nil {
		n.t.Fatal(err)
	}
	n.waitListener(resp.ListenerIds[0])
	return resp.ListenerIds[0], port
}

// stream echoes numbered messages until stop, counting a failure once.
func stream(c net.Conn, id int, stop <-chan struct{}, broken, rounds *atomic.Int64) {
	defer c.Close()
	buf := make([]byte, 64)
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		msg := []byte(fmt.Sprintf("%04d:%08d:%s", id, seq, bytes.Repeat([]byte("x"), 40)))[:64]
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(msg); err != nil {
			broken.Add(1)
			return
		}
		if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, msg) {
			broken.Add(1)
			return
		}
		rounds.Add(1)
		time.Sleep(20 * time.Millisecond)
	}
}

// probe opens short connections to addr until stop, counting refusals.
func probe(addr netip.AddrPort, stop <-chan struct{}, refused *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		c, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if err != nil {
			refused.Add(1)
			continue
		}
		c.Close()
	}
}
