package model

import "testing"

func TestHostName(t *testing.T) {
	long := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		s          string
		min        int
		underscore bool
		want       bool
	}{
		{"example.com", 2, false, true},
		{"Example.COM", 2, false, true},
		{"xn--p1ai.xn--p1ai", 2, false, true}, // Punycode TLD (.рф).
		{"a-b.c-d.io", 2, false, true},
		{"localhost", 1, false, true},
		{"localhost", 2, false, false},
		{"_sip._udp.example.com", 1, true, true},
		{"_sip._udp.example.com", 1, false, false},
		{"300.1.1.1", 1, false, false}, // A mistyped IPv4 address.
		{"example.123", 2, false, false},
		{"123", 1, true, false},
		{"1a.2b", 2, false, true},
		{"", 1, false, false},
		{"a..b", 1, false, false},
		{".a", 1, false, false},
		{"a.", 1, false, false},
		{"-a.com", 1, false, false},
		{"a-.com", 1, false, false},
		{"a b.com", 1, false, false},
		{"a*.com", 1, false, false},
		{long(63) + ".com", 2, false, true},
		{long(64) + ".com", 2, false, false},
		{long(63) + "." + long(63) + "." + long(63) + "." + long(61), 1, false, true}, // 253 bytes.
		{long(63) + "." + long(63) + "." + long(63) + "." + long(62), 1, false, false},
	}
	for _, tc := range tests {
		if got := hostName(tc.s, tc.min, tc.underscore); got != tc.want {
			t.Errorf("hostName(%q, %d, %v) = %v; want %v", tc.s, tc.min, tc.underscore, got, tc.want)
		}
	}
	if !IsHostName("example.com.") || IsHostName("example") {
		t.Error("IsHostName: a trailing dot is allowed, one label is not")
	}
}

func TestIsHostHeader(t *testing.T) {
	tests := []struct {
		h    string
		want bool
	}{
		{"example.com", true},
		{"example.com:8080", true},
		{"localhost", true},
		{"203.0.113.7", true},
		{"203.0.113.7:80", true},
		{"[2001:db8::1]", true},
		{"[2001:db8::1]:443", true},
		{"example.com:65535", true},
		{"", false},
		{"example.com:", false},
		{"example.com:0", false},
		{"example.com:65536", false},
		{"example.com:+80", false},
		{"https://example.com", false},
		{"example.com/app", false},
		{"bad host", false},
		{"*.example.com", false},
		{"2001:db8::1", false},   // IPv6 needs brackets.
		{"[203.0.113.7]", false}, // IPv4 does not take them.
		{"[2001:db8::1", false},
		{"[fe80::1%eth0]", false},
		{"a:b:c", false},
	}
	for _, tc := range tests {
		if got := IsHostHeader(tc.h); got != tc.want {
			t.Errorf("IsHostHeader(%q) = %v; want %v", tc.h, got, tc.want)
		}
	}
}
