package snapshot

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func valid() *Snapshot {
	return &Snapshot{Version: 1, Proxies: []Proxy{{ID: "link-1", AccessIP: "127.0.0.1", BandwidthMbps: 10,
		Policy: &SecurityPolicy{ID: "sp", Enabled: true, DefaultAction: ActionAccept,
			Rules: []SecurityRule{{SourceCIDR: "10.0.0.0/8", Protocol: "TCP", DestPorts: "80,443,1000-2000", Action: ActionDrop}}},
		Listeners: []Listener{{ID: "lsr-1", Protocol: ProtoTCP, Port: 80, Scheduler: SchedWRR,
			Health:  HealthCheck{Enabled: true, Interval: time.Second},
			Origins: []Origin{{ID: "rs-1", Host: "10.0.0.1", Port: 8080, Weight: 10}}}}}}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		desc string
		mut  func(*Snapshot)
		want string // Substring of the single error; "" = valid.
	}{
		{"valid", func(*Snapshot) {}, ""},
		{"bad scheduler", func(s *Snapshot) { s.Proxies[0].Listeners[0].Scheduler = "x" }, "scheduler"},
		// The origin gets no address at the edge; its listener is valid.
		{"domain without flag", func(s *Snapshot) { s.Proxies[0].Listeners[0].Origins[0].Host = "a.example" }, ""},
		{"ppv1 on udp", func(s *Snapshot) {
			l := &s.Proxies[0].Listeners[0]
			l.Protocol, l.ClientIP = ProtoUDP, ClientIPPPV1
		}, "PPV1 cannot carry UDP"},
		{"toa on udp", func(s *Snapshot) {
			l := &s.Proxies[0].Listeners[0]
			l.Protocol, l.ClientIP = ProtoUDP, ClientIPTOA
		}, "TOA cannot carry UDP"},
		{"bad hex", func(s *Snapshot) {
			l := &s.Proxies[0].Listeners[0]
			l.Protocol, l.Health.ContextType, l.Health.Send = ProtoUDP, TextHex, "zz"
		}, "send"},
		{"bad ports", func(s *Snapshot) { s.Proxies[0].Policy.Rules[0].DestPorts = "90-80" }, "ports"},
		{"duplicate socket", func(s *Snapshot) {
			l := s.Proxies[0].Listeners[0]
			l.ID = "lsr-2"
			s.Proxies[0].Listeners = append(s.Proxies[0].Listeners, l)
		}, "already used"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := valid()
			tc.mut(s)
			errs := s.Validate()
			if tc.want == "" {
				if len(errs) != 0 {
					t.Fatalf("got %v; want valid", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Errorf("got %v; want one error containing %q", errs, tc.want)
			}
		})
	}
}

// FuzzDecodeValidate: decoding and validating arbitrary JSON never panics.
func FuzzDecodeValidate(f *testing.F) {
	seed, _ := json.Marshal(valid())
	f.Add(seed)
	f.Add([]byte(`{"proxies":[{"id":"p","listeners":[{"id":"l","protocol":"UDP","port":1}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Snapshot
		if json.Unmarshal(b, &s) != nil {
			return
		}
		_ = s.Validate()
	})
}

// TestPublicAddrSpecialPurpose guards --deny-private-origins against the
// special-purpose blocks that IANA's registries mark not globally
// reachable but netip counts as global unicast (several are routed inside
// networks): PublicAddr took them, so the API accepted them as origins
// and mirror collectors, and the edge kept them among what names resolve
// to. The documentation blocks stay public (tests use them as stand-ins).
func TestPublicAddrSpecialPurpose(t *testing.T) {
	for s, want := range map[string]bool{
		"0.1.2.3":         false, // "This network"
		"192.0.0.8":       false, // IETF protocol assignments
		"198.18.0.1":      false, // Benchmarking
		"198.19.255.254":  false,
		"240.0.0.1":       false, // Reserved (class E)
		"255.255.255.254": false,
		"255.255.255.255": false,
		"fec0::1":         false, // Deprecated site-local
		"100::1":          false, // Discard-only
		"64:ff9b::c612:1": false, // NAT64 of 198.18.0.1
		"1.0.0.1":         true,
		"192.0.1.1":       true,
		"198.20.0.1":      true,
		"223.255.255.254": true,
		"192.0.2.1":       true, // Documentation
		"198.51.100.7":    true,
		"203.0.113.1":     true,
		"2001:db8::1":     true,
		"100:0:0:1::1":    true,
		"2606:4700::1111": true,
	} {
		if got := PublicAddr(netip.MustParseAddr(s)); got != want {
			t.Errorf("PublicAddr(%s) = %v; want %v", s, got, want)
		}
	}
}
