package gaap

import (
	"testing"

	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
)

// TestUDPBindStatus: a UDP listener's BindStatus tells IP origins (1)
// from DOMAIN ones (2) when one is abnormal, and is 0 when all are normal.
func TestUDPBindStatus(t *testing.T) {
	abnormal := []gaapapi.BindRealServer{{RealServerStatus: new(int64(originHealthy))}, {RealServerStatus: new(int64(originHealthy + 1))}}
	normal := abnormal[:1]
	for _, tc := range []struct {
		typ   string
		bound []gaapapi.BindRealServer
		want  int64
	}{{"IP", normal, 0}, {"IP", abnormal, 1}, {"DOMAIN", normal, 0}, {"DOMAIN", abnormal, 2}} {
		l := &model.Listener{Protocol: model.UDP, RealServerType: tc.typ}
		if got := *udpListenerOut(l, tc.bound).BindStatus; got != tc.want {
			t.Errorf("%s origins, %d bound: BindStatus %d; want %d", tc.typ, len(tc.bound), got, tc.want)
		}
	}
}
