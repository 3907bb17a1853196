// Package xtest starts the real product for tests and hands out official
// Tencent Cloud SDK clients pointed at it.
package xtest

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/server"
)

// Root is the root account of every test API.
var Root = cloudapi.Account{SecretID: "AKIDtestroot000000001", SecretKey: "testrootsecretkey", AppID: 1250000001, Uin: "100000000001"}

// Other is a second account, to prove isolation.
var Other = cloudapi.Account{SecretID: "AKIDtestother00000002", SecretKey: "testothersecretkey", AppID: 1250000002, Uin: "100000000002"}

// API is a running opengaap node for one test.
type API struct {
	*server.Server
	t testing.TB
}

// StartAPI starts a node on 127.0.0.1 with a fresh store: SQLite in a
// temporary directory, or a new PostgreSQL database when
// OPENGAAP_TEST_STORE=postgres (see PostgresDSN).
func StartAPI(t testing.TB) *API { return StartAPIWith(t, nil) }

// StartAPIWith is StartAPI with options changed by mod before start.
func StartAPIWith(t testing.TB, mod func(*server.Options)) *API {
	t.Helper()
	dir := t.TempDir()
	accts, _ := json.Marshal([]cloudapi.Account{Other})
	accFile := dir + "/accounts.json"
	if err := os.WriteFile(accFile, accts, 0o600); err != nil {
		t.Fatal(err)
	}
	o := server.Options{APIListen: "127.0.0.1:0", DataDir: dir, VIPPool: NextVIPPool(), AccountsFile: accFile, Root: Root}
	if os.Getenv("OPENGAAP_TEST_STORE") == "postgres" {
		o.StoreDSN = PostgresDSN(t)
	}
	if mod != nil {
		mod(&o)
	}
	s, err := server.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start API: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return &API{Server: s, t: t}
}

// Profile is the SDK client profile for the node.
func (a *API) Profile() *profile.ClientProfile {
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = a.Addr
	cpf.HttpProfile.Scheme = "HTTP"
	cpf.HttpProfile.ReqTimeout = 30
	return cpf
}

// GAAP returns an official SDK GAAP client for acct (Root by default).
func (a *API) GAAP(acct ...cloudapi.Account) *gaapsdk.Client {
	a.t.Helper()
	ac := Root
	if len(acct) > 0 {
		ac = acct[0]
	}
	c, err := gaapsdk.NewClient(common.NewCredential(ac.SecretID, ac.SecretKey), "ap-guangzhou", a.Profile())
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// Call sends an action the SDK version lacks through the SDK's own
// signing and transport: params is marshalled as the JSON body and the
// {"Response": ...} object is decoded into resp.
func (a *API) Call(c *gaapsdk.Client, action string, params, resp any) error {
	req := &rawRequest{BaseRequest: &tchttp.BaseRequest{}, params: params}
	req.Init().WithApiInfo("gaap", gaapsdk.APIVersion, action)
	out := &rawResponse{BaseResponse: &tchttp.BaseResponse{}, Response: resp}
	return c.Send(req, out)
}

type rawRequest struct {
	*tchttp.BaseRequest
	params any
}

func (r *rawRequest) MarshalJSON() ([]byte, error) {
	if r.params == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(r.params)
}

type rawResponse struct {
	*tchttp.BaseResponse
	Response any `json:"Response"`
}
