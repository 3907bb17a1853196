package server_test

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
)

// TestNonLocalPoolFailsListener: with a --vip-pool that is not on any
// interface the proxy runs (its IP is only allocated), but its listener
// cannot bind: the task fails and the reason says the pool must be local.
func TestNonLocalPoolFailsListener(t *testing.T) {
	var log edgetest.LogBuffer
	n := startNode(t, func(o *server.Options) {
		o.VIPPool = "198.18.77.0/28" // RFC 2544 benchmarking range: on no interface here.
		o.Log = slog.New(slog.NewTextHandler(&log, nil))
	})
	proxy, ip := n.proxy()
	if ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String()); err == nil {
		ln.Close()
		t.Skipf("%s is local on this machine", ip)
	}
	params := map[string]any{"ProxyId": proxy, "ListenerName": "far", "Ports": []int{9000}, "Scheduler": "rr",
		"RealServerType": "IP", "HealthCheck": 0}
	var resp struct {
		ListenerIds []string
		RequestId   string
	}
	if err := n.Call(n.c, "CreateTCPListeners", params, &resp); err != nil {
		t.Fatal(err)
	}
	var status struct{ Status string }
	n.until("task FAIL", func() bool {
		if err := n.Call(n.c, "DescribeTaskStatus", map[string]string{"TaskId": resp.RequestId}, &status); err != nil {
			t.Fatal(err)
		}
		return status.Status == "FAIL"
	})
	n.until("reason logged", func() bool {
		return strings.Contains(log.String(), "cannot assign requested address")
	})
	if !strings.Contains(log.String(), "--vip-pool must be local") {
		t.Errorf("log %q does not say the pool must be local", log.String())
	}
}
