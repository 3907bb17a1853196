package model

import (
	"testing"

	"github.com/opengaap/opengaap/internal/apierr"
)

func TestParseOrigin(t *testing.T) {
	cases := []struct {
		addr         string
		allowPrivate bool
		want         string
		domain, ok   bool
	}{
		{"1.1.1.1", false, "1.1.1.1", false, true},
		{" 2001:DB8::0:1 ", false, "2001:db8::1", false, true},
		{"::ffff:8.8.8.8", false, "8.8.8.8", false, true},
		{"Example.COM.", false, "example.com", true, true},
		{"my_host.internal", false, "my_host.internal", true, true},
		{"127.0.0.1", false, "", false, false},
		{"127.0.0.1", true, "127.0.0.1", false, true},
		{"10.1.2.3", false, "", false, false},
		{"192.168.1.1", false, "", false, false},
		{"100.64.0.1", false, "", false, false},
		{"fe80::1", false, "", false, false},
		// IPv6 forms that a translator delivers to the IPv4 host they
		// embed are judged as that host.
		{"64:ff9b::a00:1", false, "", false, false},     // NAT64 of 10.0.0.1
		{"64:ff9b::7f00:1", false, "", false, false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false, "", false, false}, // NAT64 of 169.254.169.254 (cloud metadata)
		{"64:ff9b:1::a00:1", false, "", false, false},   // local-use NAT64 (RFC 8215), never global
		{"64:ff9b:1::808:808", false, "", false, false}, // local-use NAT64 (RFC 8215), never global
		{"2002:a00:1::1", false, "", false, false},      // 6to4 of 10.0.0.1
		{"::a00:1", false, "", false, false},            // IPv4-compatible 10.0.0.1
		{"::ffff:0:a9fe:a9fe", false, "", false, false}, // IPv4-translated (SIIT) 169.254.169.254
		{"::ffff:0:7f00:1", false, "", false, false},    // IPv4-translated 127.0.0.1
		// Teredo clients 127.0.0.1 and 169.254.169.254 (the last 32 bits inverted).
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", false, "", false, false},
		{"2001:0:4136:e378:8000:63bf:5601:5601", false, "", false, false},
		{"::ffff:0:808:808", false, "::ffff:0:808:808", false, true},
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", false, "2001:0:4136:e378:8000:63bf:f7f7:f7f7", false, true},
		{"64:ff9b::808:808", false, "64:ff9b::808:808", false, true},
		{"2002:808:808::1", false, "2002:808:808::1", false, true},
		{"64:ff9b::a00:1", true, "64:ff9b::a00:1", false, true},
		{"0.0.0.0", false, "", false, false},
		{"224.0.0.1", false, "", false, false},
		{"localhost", false, "", false, false},
		{"localhost", true, "localhost", true, true},
		{"1.2.3", false, "", false, false},
		{"-bad.com", false, "", false, false},
		{"a..b", false, "", false, false},
		{"", false, "", false, false},
	}
	for _, tc := range cases {
		got, domain, err := ParseOrigin("RealServerIP", tc.addr, tc.allowPrivate)
		if (err == nil) != tc.ok || got != tc.want || domain != tc.domain {
			t.Errorf("ParseOrigin(%q, %v) = %q, %v, %v; want %q, %v, ok=%v", tc.addr, tc.allowPrivate, got, domain, err, tc.want, tc.domain, tc.ok)
		}
	}
}

func TestApplyL4(t *testing.T) {
	l := NewL4Listener(TCP)
	ok := L4Params{Scheduler: new("wrr"), RealServerType: new("IP"), HealthCheck: new(int64(1))}
	if err := l.ApplyL4(ok, Capabilities{}); err != nil {
		t.Fatalf("valid settings: %v", err)
	}
	if l.ClientIPMethod != ClientIPNone || l.DelayLoop != 5 || l.ConnectTimeout != 2 {
		t.Errorf("got clientIP %d delay %d timeout %d; want defaults -1 5 2", l.ClientIPMethod, l.DelayLoop, l.ConnectTimeout)
	}
	bad := []L4Params{
		{ClientIPMethod: new(int64(0))},
		{ClientIPMethod: new(int64(2))},
		{RealServerType: new("DOMAIN")}, // wrr is not available for domains
		{HealthyThreshold: new(int64(11))},
		{ConnectTimeout: new(int64(5))},
		{CheckType: new("PING")}, // The data plane cannot ping.
	}
	for _, p := range bad {
		if err := copyOf(l).ApplyL4(p, Capabilities{}); err == nil {
			t.Errorf("ApplyL4(%+v) accepted", p)
		}
	}
	// TOA where the data plane can write it.
	toa := copyOf(l)
	if err := toa.ApplyL4(L4Params{ClientIPMethod: new(int64(0))}, Capabilities{TOA: true}); err != nil || !toa.TOA() {
		t.Errorf("TOA on a data plane that writes it: %v, TOA() %v", err, toa.TOA())
	}
	// PING where the data plane can send ICMP echo; a stored PING
	// listener stays editable where it cannot.
	ping := NewL4Listener(UDP)
	if err := ping.ApplyL4(L4Params{Scheduler: new("rr"), RealServerType: new("IP"), CheckType: new("PING")}, Capabilities{Ping: true}); err != nil || ping.CheckType != "PING" {
		t.Errorf("PING on a data plane that can ping: %v, CheckType %q", err, ping.CheckType)
	}
	if err := ping.ApplyL4(L4Params{DelayLoop: new(int64(10))}, Capabilities{}); err != nil {
		t.Errorf("a stored PING listener's other settings, on a data plane that cannot ping: %v", err)
	}
}

// copyOf copies l so each case starts from the same settings.
func copyOf(l *Listener) *Listener { c := *l; return &c }

// TestCheckTLSRefusesVersionsWithoutSuites: GAAP_TLS_CIPHERS_STRICT has
// only TLS 1.2 suites, so with TLSv1/TLSv1.1 alone no client can connect:
// such a pair is refused with the code given (SetTlsVersion lists
// InvalidParameter.ConflictParameters). A range that reaches TLS 1.2 or
// 1.3, and the other policies, which have TLS 1.0 suites, are accepted.
func TestCheckTLSRefusesVersionsWithoutSuites(t *testing.T) {
	const strict, general = "GAAP_TLS_CIPHERS_STRICT", "GAAP_TLS_CIPHERS_GENERAL"
	for _, vs := range [][]string{{"TLSv1"}, {"TLSv1.1"}, {"TLSv1", "TLSv1.1"}} {
		if err := CheckTLS(vs, strict, apierr.InvalidParameterConflictParameters); !apierr.Is(err, apierr.InvalidParameterConflictParameters) {
			t.Errorf("CheckTLS(%v, %s) = %v; want InvalidParameter.ConflictParameters", vs, strict, err)
		}
	}
	for _, tc := range []struct {
		versions []string
		ciphers  string
	}{
		{[]string{"TLSv1", "TLSv1.3"}, strict}, {[]string{"TLSv1.2"}, strict}, {[]string{"TLSv1.3"}, strict},
		{[]string{"TLSv1"}, general}, {[]string{"TLSv1.1"}, "GAAP_TLS_CIPHERS_WIDE"},
	} {
		if err := CheckTLS(tc.versions, tc.ciphers, apierr.InvalidParameterConflictParameters); err != nil {
			t.Errorf("CheckTLS(%v, %s) = %v; want nil", tc.versions, tc.ciphers, err)
		}
	}
	if err := CheckTLSPair(nil, strict, apierr.InvalidParameter); err != nil {
		t.Errorf("CheckTLSPair(no versions, %s) = %v; want nil (nothing to check)", strict, err)
	}
}
