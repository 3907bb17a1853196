package gaap_test

import (
	"testing"

	"github.com/opengaap/opengaap/internal/xtest"
)

// banStatus reads ProxyInfo.BanStatus (absent from the SDK version).
func banStatusOf(t *testing.T, api *xtest.API, id string) string {
	t.Helper()
	var out struct{ ProxyDetail struct{ BanStatus string } }
	if err := api.Call(api.GAAP(), "DescribeProxyDetail", map[string]any{"ProxyId": id}, &out); err != nil {
		t.Fatal(err)
	}
	return out.ProxyDetail.BanStatus
}

func TestBanAndRecoverProxy(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	wantCode(t, api.Call(c, "BanAndRecoverProxy", nil, &struct{}{}), "ResourceNotFound")

	var created struct{ InstanceId string }
	err := api.Call(c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "xb", "AccessRegion": "SouthChina",
		"RealServerRegion": "Hongkong", "Bandwidth": 10, "Concurrent": 2, "PackageType": "CrossBorder"}, &created)
	if err != nil {
		t.Fatal(err)
	}
	id := created.InstanceId
	plain := runningProxy(t, api)
	if got := banStatusOf(t, api, id); got != "RECOVER" {
		t.Fatalf("BanStatus of a new proxy = %s; want RECOVER", got)
	}
	for _, want := range []string{"BANNED", "RECOVER"} {
		if err := api.Call(c, "BanAndRecoverProxy", nil, &struct{}{}); err != nil {
			t.Fatal(err)
		}
		var got string
		eventually(t, func() bool { got = banStatusOf(t, api, id); return got == want }, "BanStatus %s; want %s", &got, want)
	}
	if got := banStatusOf(t, api, plain); got != "RECOVER" {
		t.Errorf("BanStatus of a Thunder proxy = %s; want RECOVER (untouched)", got)
	}
	wantCode(t, api.Call(api.GAAP(xtest.Other), "BanAndRecoverProxy", nil, &struct{}{}), "ResourceNotFound")
	wantCode(t, api.Call(c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "xb", "AccessRegion": "Japan",
		"RealServerRegion": "Hongkong", "Bandwidth": 10, "Concurrent": 2, "PackageType": "CrossBorder"}, &struct{}{}),
		"InvalidParameterValue.ProxyAndRegionFeatureConflict")
}

func TestParameterlessActions(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	for _, action := range []string{"DescribeCrossBorderProxies", "DescribeAuthSignature"} {
		t.Run(action, func(t *testing.T) {
			var out struct{ RequestId string }
			if err := api.Call(api.GAAP(), action, nil, &out); err != nil || out.RequestId == "" {
				t.Errorf("got RequestId %q, err %v; want a RequestId", out.RequestId, err)
			}
			wantCode(t, api.Call(api.GAAP(), action, map[string]any{"ProxyIds": []string{"link-1"}}, &struct{}{}), "UnknownParameter")
		})
	}
}
