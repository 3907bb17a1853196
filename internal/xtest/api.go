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
	tagsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/tag/v20180813"
	vpcsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

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

// Restartable returns options for StartAPIWith under which every start
// uses dir as its data dir, one VIP pool and one store (the file in dir on
// SQLite, the first start's database on PostgreSQL), so a test can stop a
// node and start another on its state. more, if not nil, changes the
// options further.
func Restartable(dir string, more func(*server.Options)) func(*server.Options) {
	pool, dsn := NextVIPPool(), ""
	return func(o *server.Options) {
		o.DataDir, o.VIPPool = dir, pool
		if dsn == "" {
			dsn = o.StoreDSN // the later starts open the first one's store
		}
		o.StoreDSN = dsn
		if more != nil {
			more(o)
		}
	}
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
	return newClient(a, gaapsdk.NewClient, acct)
}

// VPC returns an official SDK VPC client for acct (Root by default).
func (a *API) VPC(acct ...cloudapi.Account) *vpcsdk.Client {
	a.t.Helper()
	return newClient(a, vpcsdk.NewClient, acct)
}

// Tag returns an official SDK tag client for acct (Root by default).
func (a *API) Tag(acct ...cloudapi.Account) *tagsdk.Client {
	a.t.Helper()
	return newClient(a, tagsdk.NewClient, acct)
}

// newClient builds an SDK client of the node for acct[0], or Root.
func newClient[C any](a *API, build func(*common.Credential, string, *profile.ClientProfile) (C, error), acct []cloudapi.Account) C {
	a.t.Helper()
	ac := Root
	if len(acct) > 0 {
		ac = acct[0]
	}
	c, err := build(common.NewCredential(ac.SecretID, ac.SecretKey), "ap-guangzhou", a.Profile())
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// DefaultVPC returns the ID of the default VPC of c's account.
func DefaultVPC(t testing.TB, c *vpcsdk.Client) string {
	t.Helper()
	req := vpcsdk.NewDescribeVpcsRequest()
	req.Filters = []*vpcsdk.Filter{{Name: new("is-default"), Values: []*string{new("true")}}}
	resp, err := c.DescribeVpcs(req)
	if err != nil {
		t.Fatalf("DescribeVpcs: %v", err)
	}
	if len(resp.Response.VpcSet) != 1 {
		t.Fatalf("got %d default VPCs; want 1", len(resp.Response.VpcSet))
	}
	return *resp.Response.VpcSet[0].VpcId
}

// Call sends a GAAP action the SDK version lacks (see CallService).
func (a *API) Call(c *gaapsdk.Client, action string, params, resp any) error {
	return CallService(&c.Client, "gaap", gaapsdk.APIVersion, action, params, resp)
}

// CallService sends an action of any service through an SDK client's own
// signing and transport, for actions (or services: the module proxy's SDK
// has no teo) the SDK version lacks: params is marshalled as the JSON body
// and the {"Response": ...} object is decoded into resp (nil: ignored).
func CallService(c *common.Client, service, version, action string, params, resp any) error {
	req := &rawRequest{BaseRequest: &tchttp.BaseRequest{}, params: params}
	req.Init().WithApiInfo(service, version, action)
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

// WithIPv6Pool is a StartAPIWith option giving the node an IPv6
// access-IP pool (--vip-pool-ipv6) of one address, ::1, so that regions
// offer IPv6 proxies.
func WithIPv6Pool(o *server.Options) { o.VIPPoolIPv6 = "::1/128" }
