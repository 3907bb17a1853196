package acl

import (
	"net/netip"
	"testing"

	"github.com/opengaap/opengaap/internal/snapshot"
)

func TestAllow(t *testing.T) {
	pol := &snapshot.SecurityPolicy{ID: "sp", Enabled: true, DefaultAction: "DROP", Rules: []snapshot.SecurityRule{
		{SourceCIDR: "10.1.2.3", Protocol: "ALL", DestPorts: "ALL", Action: "DROP"},
		{SourceCIDR: "10.0.0.0/8", Protocol: "TCP", DestPorts: "80,443,3306-20000", Action: "ACCEPT"},
		{SourceCIDR: "ALL", Protocol: "UDP", DestPorts: "53", Action: "ACCEPT"},
	}}
	p, err := Compile(pol)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src   string
		proto string
		port  int
		want  bool
	}{
		{"10.1.2.3", "TCP", 80, false},
		{"10.9.9.9", "TCP", 80, true},
		{"10.9.9.9", "TCP", 5000, true},
		{"10.9.9.9", "TCP", 22, false},
		{"10.9.9.9", "UDP", 80, false},
		{"192.0.2.1", "UDP", 53, true},
		{"::ffff:10.9.9.9", "TCP", 443, true},
		{"192.0.2.1", "TCP", 80, false},
	}
	for _, tc := range tests {
		if got := p.Allow(netip.MustParseAddr(tc.src), tc.proto, tc.port); got != tc.want {
			t.Errorf("%s %s/%d: got %v; want %v", tc.src, tc.proto, tc.port, got, tc.want)
		}
	}
	if off, _ := Compile(&snapshot.SecurityPolicy{DefaultAction: "DROP"}); !off.Allow(netip.MustParseAddr("1.1.1.1"), "TCP", 1) {
		t.Error("disabled policy denied")
	}
}

// TestZeroPrefixFamilies: 0.0.0.0/0 is every IPv4 address and ::/0 every
// IPv6 address; neither contains an address of the other family, while
// ALL is any source of either family.
func TestZeroPrefixFamilies(t *testing.T) {
	for _, tc := range []struct {
		cidr, client string
		match        bool
	}{
		{"0.0.0.0/0", "192.0.2.1", true},
		{"0.0.0.0/0", "::ffff:192.0.2.1", true},
		{"0.0.0.0/0", "2001:db8::1", false},
		{"::/0", "2001:db8::1", true},
		{"::/0", "192.0.2.1", false},
		{"::/0", "::ffff:192.0.2.1", false},
		{"::ffff:0.0.0.0/96", "192.0.2.1", true},
		{"::ffff:0.0.0.0/96", "2001:db8::1", false},
		{"::ffff:1.2.3.4/64", "2001:db8::1", false},
		{"::ffff:1.2.3.4/64", "::1", true},
		{"ALL", "192.0.2.1", true},
		{"ALL", "2001:db8::1", true},
	} {
		p, err := Compile(&snapshot.SecurityPolicy{ID: "sp", Enabled: true, DefaultAction: "ACCEPT", Rules: []snapshot.SecurityRule{
			{SourceCIDR: tc.cidr, Protocol: "ALL", DestPorts: "ALL", Action: "DROP"}}})
		if err != nil {
			t.Fatal(err)
		}
		if denied := !p.Allow(netip.MustParseAddr(tc.client), "TCP", 80); denied != tc.match {
			t.Errorf("DROP rule for %s, client %s: denied %v; want %v", tc.cidr, tc.client, denied, tc.match)
		}
	}
}

// TestZonedClientMatchesPrefix: a client on the proxy's link that
// connects from its link-local address reaches the edge as fe80::…%eth0
// (the accepted socket's peer carries the interface as zone, and so does
// a UDP datagram's source). netip.Prefix.Contains is false for any
// address with a zone, so no CIDR rule matched such a client: a DROP
// rule for ::/0 or fe80::/10 let it through, an ACCEPT rule under
// DefaultAction DROP shut it out. Allow compares the address without it.
func TestZonedClientMatchesPrefix(t *testing.T) {
	client := netip.MustParseAddr("fe80::1%eth0")
	for _, tc := range []struct {
		cidr, def, action string
		want              bool
	}{
		{"::/0", "ACCEPT", "DROP", false},
		{"fe80::/10", "ACCEPT", "DROP", false},
		{"fe80::1", "ACCEPT", "DROP", false},
		{"fe80::/10", "DROP", "ACCEPT", true},
	} {
		p, err := Compile(&snapshot.SecurityPolicy{ID: "sp", Enabled: true, DefaultAction: tc.def, Rules: []snapshot.SecurityRule{
			{SourceCIDR: tc.cidr, Protocol: "ALL", DestPorts: "ALL", Action: tc.action}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, proto := range []string{"TCP", "UDP"} {
			if got := p.Allow(client, proto, 80); got != tc.want {
				t.Errorf("default %s, %s rule for %s: %s client %s allowed %v; want %v", tc.def, tc.action, tc.cidr, proto, client, got, tc.want)
			}
		}
	}
}
