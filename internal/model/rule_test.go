package model

import (
	"slices"
	"testing"
)

// TestDomainClientCAs: "default" in a domain's client CAs is the
// listener's, kept when other CAs are listed with it; a list of only
// "default" (or none) is no override; one-way listeners trust none.
func TestDomainClientCAs(t *testing.T) {
	mutual := &Listener{AuthType: 1, ClientCertificateIDs: []string{"ca-a", "ca-x"}}
	for _, tc := range []struct {
		ids  []string
		l    *Listener
		want []string
	}{
		{nil, mutual, nil},
		{[]string{CertDefault}, mutual, nil},
		{[]string{"ca-b"}, mutual, []string{"ca-b"}},
		{[]string{CertDefault, "ca-b"}, mutual, []string{"ca-a", "ca-x", "ca-b"}},
		{[]string{"ca-b", CertDefault, "ca-a"}, mutual, []string{"ca-b", "ca-a", "ca-x"}},
		{[]string{CertDefault, "ca-b"}, &Listener{AuthType: 0}, nil},
	} {
		d := &Domain{ClientCertificateIDs: tc.ids}
		if got := d.ClientCAs(tc.l); !slices.Equal(got, tc.want) {
			t.Errorf("ClientCAs of %v on a listener with AuthType %d: %v; want %v", tc.ids, tc.l.AuthType, got, tc.want)
		}
	}
}
