package snapshot

import (
	"strings"
	"testing"
)

func validMirror() Mirror {
	return Mirror{ID: "imgf-1", VNI: 42, Direction: MirrorAll, Sources: []MirrorSource{{ProxyID: "link-1"}},
		Filters: []MirrorFilter{{Direction: MirrorIngress, SrcCIDR: "10.0.0.0/8", Protocol: ProtoTCP,
			DstPorts: PortRange{80, 80}, Action: MirrorAccept}},
		Targets: []MirrorTarget{{IP: "192.0.2.1"}}}
}

func TestValidateMirrors(t *testing.T) {
	tests := []struct {
		desc string
		mut  func(*Snapshot)
		want string // Substring of the single error; "" = valid.
	}{
		{"valid", func(*Snapshot) {}, ""},
		{"vni zero", func(s *Snapshot) { s.Mirrors[0].VNI = 0 }, "VNI"},
		{"vni too big", func(s *Snapshot) { s.Mirrors[0].VNI = 1 << 24 }, "VNI"},
		{"direction", func(s *Snapshot) { s.Mirrors[0].Direction = "NO-DIRECTION" }, "direction"},
		{"no targets", func(s *Snapshot) { s.Mirrors[0].Targets = nil }, "no targets"},
		{"ipv6 target", func(s *Snapshot) { s.Mirrors[0].Targets[0].IP = "2001:db8::1" }, "IPv4"},
		{"filter action", func(s *Snapshot) { s.Mirrors[0].Filters[0].Action = "COPY" }, "action"},
		{"filter cidr", func(s *Snapshot) { s.Mirrors[0].Filters[0].SrcCIDR = "10.0.0.0/33" }, "source"},
		{"filter ports", func(s *Snapshot) { s.Mirrors[0].Filters[0].DstPorts = PortRange{90, 80} }, "port range"},
		{"duplicate", func(s *Snapshot) { s.Mirrors = append(s.Mirrors, s.Mirrors[0]) }, "duplicate"},
		{"spp on udp", func(s *Snapshot) {
			l := &s.Proxies[0].Listeners[0]
			l.Protocol, l.ClientIP = ProtoUDP, ClientIPSPP
		}, ""},
		{"spp on tcp", func(s *Snapshot) { s.Proxies[0].Listeners[0].ClientIP = ClientIPSPP }, "SPP"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := valid()
			s.Mirrors = []Mirror{validMirror()}
			tc.mut(s)
			errs := s.Validate()
			switch {
			case tc.want == "" && len(errs) != 0:
				t.Fatalf("got %v; want valid", errs)
			case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
				t.Fatalf("got %v; want one error containing %q", errs, tc.want)
			}
		})
	}
}

func TestPortRangeAny(t *testing.T) {
	if !(PortRange{}).Contains(1) || !(PortRange{}).Contains(65535) || (PortRange{80, 81}).Contains(82) {
		t.Error("zero range must match every port; 80-81 must not match 82")
	}
}
