package l4

import (
	"bufio"
	"bytes"
	"net"
	"testing"

	"github.com/pires/go-proxyproto"
)

// TestUDPProxyHeaderWildcard: a listener bound to 0.0.0.0 reports [::] as
// its address; an IPv4 client's PROXY v2 header still formats, with the
// IPv4 unspecified address as its destination.
func TestUDPProxyHeaderWildcard(t *testing.T) {
	client := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 5000}
	b, err := udpProxyHeader(client, &net.UDPAddr{IP: net.IPv6unspecified, Port: 9000})
	if err != nil {
		t.Fatal(err)
	}
	h, err := proxyproto.Read(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	src, dst := h.SourceAddr.(*net.UDPAddr), h.DestinationAddr.(*net.UDPAddr)
	if !src.IP.Equal(client.IP) || src.Port != 5000 || !dst.IP.Equal(net.IPv4zero) || dst.Port != 9000 {
		t.Errorf("header %v → %v; want 192.0.2.7:5000 → 0.0.0.0:9000", src, dst)
	}
}
