package edge

import (
	"context"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestBindErrorSaysWhatToDo: a bind refused for permission or for an
// address that is not local says what the operator must change, as a
// listen error wraps the errno (net.OpError → os.SyscallError).
func TestBindErrorSaysWhatToDo(t *testing.T) {
	wrap := func(errno syscall.Errno) error {
		return &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", errno)}
	}
	for _, c := range []struct {
		addr string
		err  error
		want string
	}{
		{"TCP/127.0.0.1:80", wrap(syscall.EACCES), "CAP_NET_BIND_SERVICE"},
		{"TCP/127.0.0.1:80", wrap(syscall.EADDRNOTAVAIL), "--vip-pool must be local"},
		// An IPv6 access IP comes from the other pool, set up with ip -6.
		{"TCP/[2001:db8::1]:80", wrap(syscall.EADDRNOTAVAIL), "--vip-pool-ipv6 must be local, e.g. ip -6 route"},
		{"TCP/127.0.0.1:80", wrap(syscall.EADDRINUSE), "address already in use"},
	} {
		got := bindError(c.addr, c.err)
		if !strings.HasPrefix(got, "bind "+c.addr+": ") || !strings.Contains(got, c.want) {
			t.Errorf("%s, %v: %q; want it to contain %q", c.addr, c.err, got, c.want)
		}
	}
}

// TestReserveWildcardOnInterfaces: a socket bound to every address (the
// API on 0.0.0.0) is reserved against origins on each interface address
// too, where clients (and a tenant's origin) reach it, not only on the
// loopback ones a wildcard listener covers.
func TestReserveWildcardOnInterfaces(t *testing.T) {
	rt := New(Options{})
	defer rt.Close(context.Background())
	rt.Reserve(netip.MustParseAddrPort("0.0.0.0:8800"))
	rt.Reserve(netip.MustParseAddrPort("127.0.0.1:9900"))
	local := interfaceAddrs()
	if len(local) == 0 {
		t.Skip("no interface addresses")
	}
	for _, ip := range local {
		if !slices.Contains(rt.reserved, netip.AddrPortFrom(ip, 8800)) {
			t.Errorf("interface address %s: port 8800 not reserved (%v)", ip, rt.reserved)
		}
	}
	on9900 := slices.DeleteFunc(slices.Clone(rt.reserved), func(a netip.AddrPort) bool { return a.Port() != 9900 })
	if !slices.Equal(on9900, []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:9900")}) {
		t.Errorf("reserved %v; want 127.0.0.1:9900 as given, not spread over the interfaces", rt.reserved)
	}
}
