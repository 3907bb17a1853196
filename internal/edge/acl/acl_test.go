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
