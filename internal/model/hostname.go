package model

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// hostName reports whether s is a DNS host name: dot-separated labels of
// 1-63 letters, digits and hyphens (and underscores when underscore is
// set: origin names such as _sip._udp.example.com), no label starting or
// ending with a hyphen, 253 bytes at most, at least minLabels labels, and
// a last label that is not all digits, which would be a mistyped IPv4
// address (RFC 3696 section 2). Every host-name rule of the API is this
// one check with its options.
func hostName(s string, minLabels int, underscore bool) bool {
	labels := strings.Split(s, ".")
	if len(s) > 253 || len(labels) < minLabels {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' && underscore) {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

// IsHostName reports whether s (a trailing dot allowed) is a DNS name of
// at least two labels: what a DNS answer or a global domain may point to.
func IsHostName(s string) bool {
	return hostName(strings.TrimSuffix(s, "."), 2, false)
}

// IsHostHeader reports whether h can be sent as an HTTP Host header
// (RFC 9110 section 7.2): a host name, an IPv4 address or a bracketed IPv6
// address, optionally followed by ":port" (1-65535). A URL or anything
// with a path or spaces is not one; net/http would send such a Host empty.
func IsHostHeader(h string) bool {
	host, port, err := net.SplitHostPort(h)
	if err != nil { // No port.
		host = h
		if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
			host = h[1 : len(h)-1]
		}
	} else if n, perr := strconv.ParseUint(port, 10, 16); perr != nil || n == 0 {
		return false
	}
	bracketed := strings.HasPrefix(h, "[")
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Zone() == "" && ip.Is4() != bracketed
	}
	return !bracketed && hostName(host, 1, false)
}
