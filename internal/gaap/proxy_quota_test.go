package gaap_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
	"github.com/opengaap/opengaap/internal/xtest"
)

// quotaProxy is CreateProxy's minimal valid request.
var quotaProxy = map[string]any{"ProjectId": 0, "ProxyName": "p", "AccessRegion": "SouthChina",
	"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}

// TestAccessIPQuotaPerAccount: the access IP pool (--vip-pool) is shared
// by every account, so each account holds at most its quota of it (by
// default a quarter; the root account none): an account creating EdgeOne
// L4 proxies, which cost nothing and need no listener, is refused past it
// with a code CreateL4Proxy lists, as is its next GAAP proxy (one quota
// for both), and another account's CreateProxy is still served.
func TestAccessIPQuotaPerAccount(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.VIPPool = strings.Replace(o.VIPPool, "/24", "/28", 1) })
	other := api.VPC(xtest.Other)
	teo := func(action string, params map[string]any, into any) error {
		return xtest.CallService(&other.Client, teoapi.Service, teoapi.Version, action, params, into)
	}
	var zone struct{ ZoneId string }
	if err := teo("CreateZone", map[string]any{"Type": "noDomainAccess"}, &zone); err != nil {
		t.Fatal(err)
	}
	n := 0
	var err error
	for ; n < 14; n++ {
		if err = teo("CreateL4Proxy", map[string]any{"ZoneId": zone.ZoneId, "ProxyName": fmt.Sprintf("p%d", n), "Area": "mainland"}, nil); err != nil {
			break
		}
		pace()
	}
	if n != 3 || code(err) != "OperationDenied" {
		t.Fatalf("account B's L4 proxies on a 14-address pool: %d, then %v; want 3 (a quarter), then OperationDenied", n, err)
	}
	err = api.Call(api.GAAP(xtest.Other), "CreateProxy", quotaProxy, nil)
	wantDocumented(t, "CreateProxy", err)
	wantCode(t, err, "FailedOperation")
	for i := range 4 { // More than a quarter: the root account has no cap.
		if err := api.Call(api.GAAP(), "CreateProxy", quotaProxy, nil); err != nil {
			t.Fatalf("account A's CreateProxy %d after B reached its quota: %v; want A served", i, err)
		}
		pace()
	}
}

// TestAccessIPQuotaFromAccountsFile: an account's AccessIPQuota in the
// --accounts file replaces the default share; CreateProxyGroup, which
// takes one address per access region, is refused as a whole past it,
// with a code it lists.
func TestAccessIPQuotaFromAccountsFile(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		acct := xtest.Other
		acct.AccessIPQuota = 1
		b, _ := json.Marshal([]cloudapi.Account{acct})
		o.AccountsFile = filepath.Join(t.TempDir(), "accounts.json")
		if err := os.WriteFile(o.AccountsFile, b, 0o600); err != nil {
			t.Fatal(err)
		}
	})
	c := api.GAAP(xtest.Other)
	group := map[string]any{"ProjectId": 0, "GroupName": "g", "RealServerRegion": "NorthChina",
		"AccessRegionSet": []map[string]any{{"AccessRegion": "SouthChina", "Bandwidth": 10, "Concurrent": 2},
			{"AccessRegion": "EastChina", "Bandwidth": 10, "Concurrent": 2}}}
	err := api.Call(c, "CreateProxyGroup", group, nil)
	wantDocumented(t, "CreateProxyGroup", err)
	wantCode(t, err, "FailedOperation")
	time.Sleep(60 * time.Millisecond)
	if err := api.Call(c, "CreateProxy", quotaProxy, nil); err != nil {
		t.Fatalf("first proxy within a quota of 1 (the refused group took none): %v", err)
	}
	pace()
	wantCode(t, api.Call(c, "CreateProxy", quotaProxy, nil), "FailedOperation")
}

// TestCreateProxyGroupPoolExhaustedCodeListed: CreateProxyGroup on a pool
// with too few free access IPs answers a code its error list names
// (FailedOperation: ProxySellOut is CreateProxy's).
func TestCreateProxyGroupPoolExhaustedCodeListed(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		// Two addresses (a /30 without its network and broadcast).
		o.VIPPool = strings.Replace(o.VIPPool, ".0/24", ".0/30", 1)
	})
	c := api.GAAP()
	runningProxy(t, api)
	set := []map[string]any{{"AccessRegion": "SouthChina", "Bandwidth": 10, "Concurrent": 2},
		{"AccessRegion": "Hongkong", "Bandwidth": 10, "Concurrent": 2}}
	err := api.Call(c, "CreateProxyGroup", map[string]any{"ProjectId": 0, "GroupName": "g", "RealServerRegion": "NorthChina",
		"AccessRegionSet": set}, nil)
	wantDocumented(t, "CreateProxyGroup", err)
	wantCode(t, err, "FailedOperation")
}
