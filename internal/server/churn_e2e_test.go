package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
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
// none may break and every new connection to it must echo.
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
	cnt := &churnCounters{}
	var wg sync.WaitGroup
	for i := range 100 {
		c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		wg.Go(func() { stream(c, fmt.Sprint("stream ", i), stop, cnt) })
	}
	wg.Go(func() { probe(addr, stop, cnt) })

	for i := range 200 {
		n.churnStep(i, proxy, ip, stable, ids[0], echo.Addr)
	}
	close(stop)
	wg.Wait()
	if cnt.failed.Load() != 0 {
		t.Fatalf("during 200 changes: %d streams of 100 broke or new connections failed; want 0; first failures:\n%s",
			cnt.failed.Load(), strings.Join(cnt.firstFailures, "\n"))
	}
	if got := cnt.kinds()["tcp"]; got < 1000 {
		t.Fatalf("only %d echo rounds streamed; the streams did not run", got)
	}
	if cnt.kinds()["probe"] == 0 {
		t.Fatal("no new connection echoed; the probe did not run")
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

// stream echoes numbered 64-byte messages on c every 20 ms until stop,
// counting each round as "tcp"; a failure is noted and ends it.
func stream(c net.Conn, name string, stop <-chan struct{}, cnt *churnCounters) {
	defer c.Close()
	buf := make([]byte, 64)
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		msg := []byte(fmt.Sprintf("%-64s", fmt.Sprintf("%s:%d", name, seq)))[:64]
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(msg); err != nil {
			cnt.fail("%s: write %d: %v", name, seq, err)
			return
		}
		if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, msg) {
			cnt.fail("%s: echo %d: got %q, %v", name, seq, buf, err)
			return
		}
		cnt.count("tcp")
		time.Sleep(20 * time.Millisecond)
	}
}

// probe opens a new connection to the echo listener at addr every 10 ms
// until stop and checks it echoes, counting each as "probe".
func probe(addr netip.AddrPort, stop <-chan struct{}, cnt *churnCounters) {
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		c, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if err != nil {
			cnt.fail("probe %v: connect: %v", addr, err)
			continue
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		msg := fmt.Sprint("probe ", seq)
		buf := make([]byte, len(msg))
		_, err = io.WriteString(c, msg)
		if err == nil {
			_, err = io.ReadFull(c, buf)
		}
		c.Close()
		if err != nil || string(buf) != msg {
			cnt.fail("probe %v: echo %d: got %q, %v", addr, seq, buf, err)
			continue
		}
		cnt.count("probe")
	}
}
