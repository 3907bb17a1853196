package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/edge/limit"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestAPIConnectionsLeaveDataPlaneDescriptors: the API and the data plane
// share the process's descriptors, and an idle keep-alive API connection is
// kept for IdleTimeout (2 min): uncapped, a client opening enough idle API
// connections would leave the data plane no descriptor to accept or to
// reach the origin with, and accelerated traffic would stop. The API's
// connections are capped to an eighth of the descriptor limit. (The node's
// limit is lowered before it starts, to make it quick; the attacker, the
// origin and the data-plane client are child processes, so that every
// descriptor of this process is the node's.)
func TestAPIConnectionsLeaveDataPlaneDescriptors(t *testing.T) {
	lowerNOFILE(t, 300)
	n := startNode(t)
	probe := probeChild(t, childFront(t, n, "origin"))
	if got := probe(); got != "a" {
		t.Fatalf("before: %q", got)
	}

	idle := apiConnsChild(t, "idle", n.Addr)
	defer idle.stop()
	t.Logf("attacker: %s", idle.line)
	var held int
	if _, err := fmt.Sscanf(idle.line, "%d idle API connections open", &held); err != nil || held == 0 {
		t.Fatalf("attacker: %q; want idle API connections held, or the probe below tests nothing", idle.line)
	}
	if got := probe(); got != "a" {
		t.Errorf("TCP listener while one client holds idle API connections: %q; want %q: "+
			"the API's connections must be capped below what the data plane needs", got, "a")
	}
}

// lowerNOFILE lowers the soft descriptor limit of this process to what is
// open plus spare until the test ends (or skips the test if it may not),
// so that a flood runs the node out of descriptors quickly.
func lowerNOFILE(t *testing.T, spare int) {
	t.Helper()
	var old syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old)
	lim := old
	lim.Cur = uint64(openFDs() + spare)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// childFront starts an origin child process in mode and a TCP listener
// of a new proxy of n bound to it, and returns the listener's address.
func childFront(t *testing.T, n *node, mode string) string {
	t.Helper()
	proxy, ip := n.proxy()
	originIP := origins.Next()
	origin := netip.AddrPortFrom(originIP, uint16(edgetest.FreePort(t, originIP)))
	o := apiConnsChild(t, mode, origin.String())
	t.Cleanup(o.stop)
	ids := n.realServers(originIP)
	l, port := n.tcpListener(proxy, ip, "rr", false)
	n.bind(l, map[string]netip.AddrPort{ids[0]: origin})
	return netip.AddrPortFrom(ip, uint16(port)).String()
}

// probeChild starts a probe child process for front and returns a func
// that makes it connect once and returns what it read (or its error).
func probeChild(t *testing.T, front string) func() string {
	t.Helper()
	pr := apiConnsChild(t, "probe", front)
	t.Cleanup(pr.stop)
	return func() string {
		io.WriteString(pr.in, "go\n")
		line, _ := pr.out.ReadString('\n')
		return strings.TrimSpace(line)
	}
}

type apiConnsProc struct {
	cmd  *exec.Cmd
	line string
	in   io.Writer
	out  *bufio.Reader
}

func (p *apiConnsProc) stop() { p.cmd.Process.Kill(); p.cmd.Wait() }

// apiConnsChild runs TestAPIConnectionsHelper in a child process in mode on addr and
// returns once it printed its first line.
func apiConnsChild(t *testing.T, mode, addr string) *apiConnsProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAPIConnectionsHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "APICONNS_MODE="+mode, "APICONNS_ADDR="+addr)
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	line, _ := r.ReadString('\n')
	return &apiConnsProc{cmd: cmd, line: strings.TrimSpace(line), in: in, out: r}
}

// TestAPIConnectionsHelper is the child of TestAPIConnectionsLeaveDataPlaneDescriptors
// and TestTCPFloodLeavesOtherProxiesServing.
func TestAPIConnectionsHelper(t *testing.T) {
	addr := os.Getenv("APICONNS_ADDR")
	switch os.Getenv("APICONNS_MODE") {
	case "origin": // Reads the PROXY line, answers "a".
		ln := listenAndSay(addr)
		for ln != nil {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, "a")
			}()
		}
	case "probe": // One connection per line read.
		fmt.Println("ready")
		in := bufio.NewReader(os.Stdin)
		for {
			if _, err := in.ReadString('\n'); err != nil {
				return
			}
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				fmt.Println(err)
				continue
			}
			c.SetDeadline(time.Now().Add(3 * time.Second))
			b, err := io.ReadAll(c)
			c.Close()
			if err != nil {
				fmt.Printf("%q (%v)\n", b, err)
				continue
			}
			fmt.Println(string(b))
		}
	case "idle": // Keep-alive API connections, one call each.
		var conns []net.Conn
		for range 400 { // More than the descriptors left.
			c, err := idleAPIConn(addr)
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
		fmt.Printf("%d idle API connections open\n", len(conns))
		time.Sleep(60 * time.Second)
	case "hold": // Accepts every connection and keeps it open.
		ln := listenAndSay(addr)
		for ln != nil {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c) // Open until the client closes it.
		}
	case "flood": // Idle TCP connections, held; refused ones are not.
		var conns []net.Conn
		for range 400 { // More than the descriptors left.
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				continue
			}
			conns = append(conns, c)
		}
		fmt.Printf("%d TCP connections dialled\n", len(conns))
		time.Sleep(60 * time.Second)
	default:
		t.Skip("helper")
	}
}

// listenAndSay listens on addr and prints "listening" (what apiConnsChild
// waits for), or prints the error and returns nil.
func listenAndSay(addr string) net.Listener {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println(err)
		return nil
	}
	fmt.Println("listening")
	return ln
}

// TestIdleAPIConnectionsGiveWayAtTheCap: one unauthenticated client that
// sends a garbage GET on each of the API's APIConns connections and keeps
// them idle must not lock every tenant out: at the cap a new connection
// takes an idle one's slot (the SDK call waited in the backlog until it
// timed out).
func TestIdleAPIConnectionsGiveWayAtTheCap(t *testing.T) {
	lowerNOFILE(t, 400)
	api := xtest.StartAPI(t)
	slots := limit.APIConns()
	if slots == 0 {
		t.Skip("no connection cap")
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range slots {
		c, err := idleAPIConn(api.Addr)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	t.Logf("attacker holds %d idle unauthenticated keep-alive connections (cap %d)", len(conns), slots)

	cpf := api.Profile()
	cpf.HttpProfile.ReqTimeout = 5
	c, err := gaapsdk.NewClient(common.NewCredential(xtest.Root.SecretID, xtest.Root.SecretKey), "ap-guangzhou", cpf)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.DescribeProxies(gaapsdk.NewDescribeProxiesRequest())
	if err != nil {
		t.Errorf("a tenant's DescribeProxies while one unauthenticated client keeps %d idle keep-alive connections: "+
			"%v after %v; want it served (idle connections closed to make room at the cap)",
			len(conns), err, time.Since(start).Round(time.Millisecond))
	}
}

// idleAPIConn opens a connection to the API at addr, has one call without
// credentials answered on it, and leaves it idle (keep-alive).
func idleAPIConn(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return c, nil
}
