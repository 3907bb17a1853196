package gaap

import (
	"testing"

	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
)

// TestUDPBindStatus: a UDP listener's BindStatus is 0 when all origins are
// normal, 2 ("域名解析异常") when a DOMAIN origin is abnormal with no failing
// address (its name does not resolve), else 1 ("IP异常"): an IP origin or
// the addresses of a domain fail their checks.
func TestUDPBindStatus(t *testing.T) {
	ok := gaapapi.BindRealServer{RealServerStatus: new(int64(originHealthy)), DownIPList: []string{}}
	down := gaapapi.BindRealServer{RealServerStatus: new(int64(originAbnormal)), DownIPList: []string{}}
	ipsDown := gaapapi.BindRealServer{RealServerStatus: new(int64(originAbnormal)), DownIPList: []string{"192.0.2.1"}}
	normal, abnormal := []gaapapi.BindRealServer{ok}, []gaapapi.BindRealServer{ok, down}
	for _, tc := range []struct {
		typ   string
		bound []gaapapi.BindRealServer
		want  int64
	}{{"IP", normal, 0}, {"IP", abnormal, 1}, {"DOMAIN", normal, 0}, {"DOMAIN", abnormal, 2},
		{"DOMAIN", []gaapapi.BindRealServer{ok, ipsDown}, 1}, {"DOMAIN", []gaapapi.BindRealServer{ipsDown, down}, 2}} {
		l := &model.Listener{Protocol: model.UDP, RealServerType: tc.typ}
		if got := *udpListenerOut(l, tc.bound).BindStatus; got != tc.want {
			t.Errorf("%s origins, %d bound: BindStatus %d; want %d", tc.typ, len(tc.bound), got, tc.want)
		}
	}
}

// TestBoundOutDownIPList: DownIPList lists a DOMAIN origin's failing
// addresses whatever its status, as the reference's example shows a normal
// origin (RealServerStatus 0) with one: a name with one address out of
// several reads normal and lists it; an abnormal one with none did not
// resolve.
func TestBoundOutDownIPList(t *testing.T) {
	for _, tc := range []struct {
		healthy bool
		down    []string
		status  int64
	}{{true, nil, originHealthy}, {true, []string{"192.0.2.2"}, originHealthy}, {false, nil, originAbnormal},
		{false, []string{"192.0.2.1", "192.0.2.2"}, originAbnormal}} {
		out := boundOut([]model.Bound{{RealServerID: "rs-1", Port: 80, Weight: 1}}, map[string]string{"rs-1": "a.test"},
			func(string) (bool, []string) { return tc.healthy, tc.down })
		if got := out[0]; *got.RealServerStatus != tc.status || got.DownIPList == nil || len(got.DownIPList) != len(tc.down) {
			t.Errorf("healthy %v, down %v: RealServerStatus %d, DownIPList %v; want %d and the list", tc.healthy, tc.down,
				*got.RealServerStatus, got.DownIPList, tc.status)
		}
	}
}
