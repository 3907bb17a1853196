package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/server"
)

// TestConcurrencyCapThroughAPI: a proxy created through the SDK with
// Concurrent 2 holds 2 units of connections at once, refuses the next one
// (the kernel accepts it, the edge resets it at once) and counts it at
// /metrics, and takes a new connection once a held one ends. The node's
// unit is lowered from the API's 10,000 to 25: 10,000 connections would
// need 40,000 descriptors in this process (client, both sides of the
// proxy, origin), twice the limit a test may count on; the unit's default
// is checked by the controller's tests.
func TestConcurrencyCapThroughAPI(t *testing.T) {
	const unit, capConns = 25, 50
	n := startNode(t, func(o *server.Options) { o.ConcurrentUnit = unit })
	proxy, ip := n.proxy()
	// The origin greets each connection after the PROXY header
	// (ClientIPMethod 1): a greeting proves the proxy carried it.
	_, addr := n.listenerServing(proxy, ip, func(c net.Conn) {
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			return
		}
		io.WriteString(c, "ok")
		io.Copy(io.Discard, c)
	})
	to := addr.String()

	// served dials the listener and returns the connection and the error
	// of dialling or reading the origin's greeting (nil: greeted). A reset
	// may reach the client before its connect returns, under load.
	served := func() (net.Conn, error) {
		t.Helper()
		c, err := net.DialTimeout("tcp", to, 5*time.Second)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 2)
		if _, err = io.ReadFull(c, buf); err == nil && string(buf) != "ok" {
			err = fmt.Errorf("greeted %q", buf)
		}
		c.SetReadDeadline(time.Time{})
		return c, err
	}
	var first net.Conn
	for i := range capConns {
		c, err := served()
		if err != nil {
			t.Fatalf("connection %d of %d was not served: %v", i+1, capConns, err)
		}
		if first == nil {
			first = c
		}
	}
	// Over the cap the edge resets at once: not a connection left waiting.
	if _, err := served(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection %d over a cap of %d: %v; want it reset", capConns+1, capConns, err)
	}
	refused := `opengaap_refused_total{id="` + proxy + `",kind="proxy"} 1` + "\n"
	if metrics := httpGet(t, "http://"+n.Addr+"/metrics"); !strings.Contains(metrics, refused) {
		t.Errorf("/metrics lacks %q", refused)
	}

	// One held connection ends: its place is free again once the proxy
	// has seen both sides close.
	first.Close()
	n.until("a connection served after one ended", func() bool {
		_, err := served()
		return err == nil
	})
}
