package l4

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

func TestSPPHeaderLayout(t *testing.T) {
	tests := []struct {
		desc          string
		client, proxy string
	}{
		{"ipv4 mapped", "198.51.100.7:40000", "203.0.113.1:53"},
		{"ipv6", "[2001:db8::7]:1", "[2001:db8::1]:65535"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c, p := netip.MustParseAddrPort(tc.client), netip.MustParseAddrPort(tc.proxy)
			h := sppHeader(c, p)
			if len(h) != 38 {
				t.Fatalf("len %d; want 38", len(h))
			}
			if got := binary.BigEndian.Uint16(h); got != 0x56EC {
				t.Errorf("magic %#x; want 0x56ec", got)
			}
			ca := netip.AddrFrom16([16]byte(h[2:18])).Unmap()
			pa := netip.AddrFrom16([16]byte(h[18:34])).Unmap()
			if ca != c.Addr() || pa != p.Addr() {
				t.Errorf("addresses %v, %v; want %v, %v", ca, pa, c.Addr(), p.Addr())
			}
			if c.Addr().Is4() && !bytes.Equal(h[2:14], []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) {
				t.Errorf("client %x is not IPv4-mapped", h[2:18])
			}
			if cp, pp := binary.BigEndian.Uint16(h[34:]), binary.BigEndian.Uint16(h[36:]); cp != c.Port() || pp != p.Port() {
				t.Errorf("ports %d, %d; want %d, %d", cp, pp, c.Port(), p.Port())
			}
		})
	}
}

func TestStripSPP(t *testing.T) {
	h := sppHeader(netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2"))
	tests := []struct {
		desc     string
		in, want []byte
		stripped bool
	}{
		{"header and payload", append(h[:38:38], "pong"...), []byte("pong"), true},
		{"header only", h, []byte{}, true},
		{"no header", []byte("plain reply"), []byte("plain reply"), false},
		{"short with magic", []byte{0x56, 0xEC, 1}, []byte{0x56, 0xEC, 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, ok := stripSPP(tc.in)
			if !bytes.Equal(got, tc.want) || ok != tc.stripped {
				t.Errorf("got %q, %v; want %q, %v", got, ok, tc.want, tc.stripped)
			}
		})
	}
}

func FuzzStripSPP(f *testing.F) {
	f.Add([]byte("plain"))
	f.Add(append(sppHeader(netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2")), 'x'))
	f.Fuzz(func(t *testing.T, p []byte) {
		got, ok := stripSPP(p)
		switch {
		case ok && !bytes.Equal(got, p[SPPHeaderLen:]):
			t.Fatalf("stripped %q from %q", got, p)
		case !ok && !bytes.Equal(got, p):
			t.Fatalf("changed %q to %q without a header", p, got)
		}
	})
}
