package snapshot_test

import (
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// h3 is a valid HTTPS listener with HTTP/3 on port 443.
func h3(id string) snapshot.HTTPListener {
	return snapshot.HTTPListener{ID: id, Protocol: snapshot.ProtoHTTPS, Port: 443, HTTP3: true,
		TLS: &snapshot.TLS{CertPEM: "c", KeyPEM: "k"}}
}

func TestHTTP3Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    snapshot.Proxy
		want string // "" = valid
	}{
		{"https", snapshot.Proxy{ID: "p", HTTPListeners: []snapshot.HTTPListener{h3("h")}}, ""},
		{"http", snapshot.Proxy{ID: "p", HTTPListeners: []snapshot.HTTPListener{{ID: "h", Protocol: snapshot.ProtoHTTP, Port: 80, HTTP3: true}}},
			"needs HTTPS"},
		{"udp port taken", snapshot.Proxy{ID: "p", AccessIP: "127.0.0.9",
			Listeners:     []snapshot.Listener{{ID: "u", Protocol: snapshot.ProtoUDP, Port: 443, Scheduler: snapshot.SchedRR}},
			HTTPListeners: []snapshot.HTTPListener{h3("h")}}, "UDP/127.0.0.9:443 (HTTP/3) already used by listener u"},
		{"udp port free without http3", snapshot.Proxy{ID: "p", AccessIP: "127.0.0.9",
			Listeners: []snapshot.Listener{{ID: "u", Protocol: snapshot.ProtoUDP, Port: 443, Scheduler: snapshot.SchedRR}},
			HTTPListeners: []snapshot.HTTPListener{func() snapshot.HTTPListener {
				l := h3("h")
				l.HTTP3 = false
				return l
			}()}}, ""},
		// A UDP listener on all addresses would reply from the route's
		// address, which a connected client drops.
		{"udp on all addresses", snapshot.Proxy{ID: "p", AccessIP: "0.0.0.0",
			Listeners: []snapshot.Listener{{ID: "u", Protocol: snapshot.ProtoUDP, Port: 53, Scheduler: snapshot.SchedRR}}},
			"needs a specific access IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := (&snapshot.Snapshot{Proxies: []snapshot.Proxy{tc.p}}).Validate()
			var got string
			if len(errs) > 0 {
				got = errs[0].Error()
			}
			if (tc.want == "") != (len(errs) == 0) || !strings.Contains(got, tc.want) {
				t.Errorf("got %v; want error containing %q", errs, tc.want)
			}
		})
	}
}
