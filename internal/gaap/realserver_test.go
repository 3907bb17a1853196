package gaap_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

// addOrigins registers addresses in project and returns their IDs.
func addOrigins(t *testing.T, c *gaapsdk.Client, project int64, name string, addrs ...string) []string {
	t.Helper()
	req := gaapsdk.NewAddRealServersRequest()
	req.ProjectId, req.RealServerName = new(uint64(project)), new(name)
	for _, a := range addrs {
		req.RealServerIP = append(req.RealServerIP, new(a))
	}
	req.TagSet = []*gaapsdk.TagPair{{TagKey: new("env"), TagValue: new(name)}}
	resp, err := c.AddRealServers(req)
	if err != nil {
		t.Fatalf("AddRealServers(%v): %v", addrs, err)
	}
	var ids []string
	for _, r := range resp.Response.RealServerSet {
		ids = append(ids, *r.RealServerId)
	}
	return ids
}

func TestRealServers(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	web := addOrigins(t, c, 0, "web", "1.1.1.1", "2001:DB8::0:1", "Origin.Example.COM")
	db := addOrigins(t, c, 3, "db", "8.8.8.8")

	t.Run("describe", func(t *testing.T) {
		cases := []struct {
			desc string
			mod  func(*gaapsdk.DescribeRealServersRequest)
			want []string
		}{
			{"all projects", func(r *gaapsdk.DescribeRealServersRequest) { r.ProjectId = new(int64(-1)) }, append(web, db...)},
			{"project 3", func(r *gaapsdk.DescribeRealServersRequest) { r.ProjectId = new(int64(3)) }, db},
			{"search", func(r *gaapsdk.DescribeRealServersRequest) { r.SearchValue = new("example") }, web[2:]},
			{"name filter", func(r *gaapsdk.DescribeRealServersRequest) {
				r.Filters = []*gaapsdk.Filter{{Name: new("RealServerName"), Values: []*string{new("we")}}}
			}, web},
			{"ip filter", func(r *gaapsdk.DescribeRealServersRequest) {
				r.Filters = []*gaapsdk.Filter{{Name: new("RealServerIP"), Values: []*string{new("2001:db8"), new("1.1.")}}}
			}, web[:2]},
			{"tags", func(r *gaapsdk.DescribeRealServersRequest) {
				r.ProjectId = new(int64(-1))
				r.TagSet = []*gaapsdk.TagPair{{TagKey: new("env"), TagValue: new("db")}, {TagKey: new("x"), TagValue: new("y")}}
			}, db},
			{"page", func(r *gaapsdk.DescribeRealServersRequest) { r.Offset, r.Limit = new(uint64(2)), new(uint64(50)) }, web[2:]},
		}
		for _, tc := range cases {
			req := gaapsdk.NewDescribeRealServersRequest()
			req.ProjectId = new(int64(0))
			tc.mod(req)
			resp, err := c.DescribeRealServers(req)
			if err != nil {
				t.Fatalf("%s: %v", tc.desc, err)
			}
			var got []string
			for _, r := range resp.Response.RealServerSet {
				got = append(got, *r.RealServerId)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v; want %v", tc.desc, got, tc.want)
			}
		}
		req := gaapsdk.NewDescribeRealServersRequest()
		req.ProjectId = new(int64(0))
		resp, err := c.DescribeRealServers(req)
		if err != nil {
			t.Fatal(err)
		}
		// RealServerIP reads back as added: Terraform's
		// tencentcloud_gaap_realserver sets its ForceNew ip/domain from
		// it, so a rewritten spelling is a replacement on every plan.
		if ip := *resp.Response.RealServerSet[1].RealServerIP; ip != "2001:DB8::0:1" {
			t.Errorf("got address %s; want 2001:DB8::0:1, as added", ip)
		}
		if ip := *resp.Response.RealServerSet[2].RealServerIP; ip != "Origin.Example.COM" {
			t.Errorf("got address %s; want Origin.Example.COM, as added", ip)
		}
	})

	t.Run("rename", func(t *testing.T) {
		req := gaapsdk.NewModifyRealServerNameRequest()
		req.RealServerId, req.RealServerName = new(db[0]), new("dns")
		if _, err := c.ModifyRealServerName(req); err != nil {
			t.Fatal(err)
		}
		d := gaapsdk.NewDescribeRealServersRequest()
		d.ProjectId = new(int64(3))
		resp, err := c.DescribeRealServers(d)
		if err != nil || *resp.Response.RealServerSet[0].RealServerName != "dns" {
			t.Errorf("got %v (err %v); want name dns", resp.Response.RealServerSet, err)
		}
		_, err = api.GAAP(xtest.Other).ModifyRealServerName(req)
		wantCode(t, err, "InvalidParameterValue")
	})

	t.Run("invalid", func(t *testing.T) {
		cases := []struct {
			desc, addr, code string
		}{
			{"duplicate", "1.1.1.1", "InvalidParameterValue.DuplicateRS"},
			// Another spelling of a registered address is the same origin.
			{"duplicate, IPv4-mapped", "::ffff:1.1.1.1", "InvalidParameterValue.DuplicateRS"},
			{"duplicate, compressed IPv6", "2001:db8::1", "InvalidParameterValue.DuplicateRS"},
			{"duplicate, lower-case FQDN", "origin.example.com.", "InvalidParameterValue.DuplicateRS"},
			{"not an address", "1.2.3", "InvalidParameterValue"},
			{"bad name", "exa mple.com", "InvalidParameterValue"},
			// No one server, private origins allowed or not.
			{"unspecified", "0.0.0.0", "InvalidParameterValue"},
			{"multicast", "ff02::1", "InvalidParameterValue"},
			{"broadcast", "255.255.255.255", "InvalidParameterValue"},
		}
		for _, tc := range cases {
			req := gaapsdk.NewAddRealServersRequest()
			req.ProjectId, req.RealServerName, req.RealServerIP = new(uint64(0)), new("x"), []*string{new(tc.addr)}
			_, err := c.AddRealServers(req)
			wantCode(t, err, tc.code)
		}
		req := gaapsdk.NewDescribeRealServersRequest()
		req.ProjectId, req.Limit = new(int64(0)), new(uint64(51))
		_, err := c.DescribeRealServers(req)
		wantCode(t, err, "InvalidParameterValue")
	})

	t.Run("remove", func(t *testing.T) {
		req := gaapsdk.NewRemoveRealServersRequest()
		req.RealServerIds = sdkIDs(db[0])
		if _, err := c.RemoveRealServers(req); err != nil {
			t.Fatal(err)
		}
		_, err := c.RemoveRealServers(req)
		wantCode(t, err, "ResourceNotFound")
	})
}

// TestRealServerErrorCodesDocumented: an unknown origin or another
// account's is answered with codes the action's error list names, since
// clients branch on those: ModifyRealServerName lists neither
// ResourceNotFound nor InvalidParameterValue.RealServerNotBelong, and
// RemoveRealServers does not list RealServerNotBelong. Where the list
// lacks RealServerNotBelong, another account's origin reads as unknown.
func TestRealServerErrorCodesDocumented(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	origin := addOrigins(t, c, 0, "web", "1.1.1.1")[0]

	m := gaapsdk.NewModifyRealServerNameRequest()
	m.RealServerId, m.RealServerName = new("rs-00000000"), new("x")
	_, err := c.ModifyRealServerName(m)
	t.Run("ModifyRealServerName unknown", func(t *testing.T) { wantDocumented(t, "ModifyRealServerName", err) })

	m.RealServerId = new(origin)
	_, err = api.GAAP(xtest.Other).ModifyRealServerName(m)
	t.Run("ModifyRealServerName other account", func(t *testing.T) { wantDocumented(t, "ModifyRealServerName", err) })

	r := gaapsdk.NewRemoveRealServersRequest()
	r.RealServerIds = sdkIDs(origin)
	_, err = api.GAAP(xtest.Other).RemoveRealServers(r)
	t.Run("RemoveRealServers other account", func(t *testing.T) {
		wantDocumented(t, "RemoveRealServers", err)
		wantCode(t, err, "ResourceNotFound")
	})
}

// TestOtherAccountsOriginReadsAsUnknown: BindListenerRealServers and
// DescribeRealServersStatus answer another account's origin ID exactly as
// one that exists nowhere (docs/api-protocol.md "Accounts"), so no caller
// can learn which origin IDs other accounts hold.
func TestOtherAccountsOriginReadsAsUnknown(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	theirs := addOrigins(t, api.GAAP(xtest.Other), 0, "a", "198.51.100.20")[0]
	unknown := model.NewID(model.PrefixRealServer)
	listener := createTCP(t, c, tcpRequest(runningProxy(t, api), 9300))[0]
	for _, tc := range []struct {
		action string
		call   func(id string) error
	}{
		{"DescribeRealServersStatus", func(id string) error {
			req := gaapsdk.NewDescribeRealServersStatusRequest()
			req.RealServerIds = sdkIDs(id)
			_, err := c.DescribeRealServersStatus(req)
			return err
		}},
		{"BindListenerRealServers", func(id string) error {
			_, err := c.BindListenerRealServers(bindReq(listener, bindOne(id, "198.51.100.20", 80)))
			return err
		}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			var got, want *sdkerrors.TencentCloudSDKError
			if !errors.As(tc.call(theirs), &got) || !errors.As(tc.call(unknown), &want) {
				t.Fatalf("want API errors for both IDs")
			}
			if got.Code != want.Code || strings.ReplaceAll(got.Message, theirs, unknown) != want.Message {
				t.Errorf("another account's origin: %s (%s); want as an unknown one: %s (%s)", got.Code, got.Message, want.Code, want.Message)
			}
		})
	}
}

// TestRealServerIPFilterCase: SearchValue and the RealServerIP filter both
// match a substring of the address (docs/api-listeners.md), which is
// stored lower-case, so the text an origin was added with finds it either
// way, in whatever case it was written.
func TestRealServerIPFilterCase(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	rs := gaapsdk.NewAddRealServersRequest()
	rs.RealServerIP, rs.RealServerName, rs.ProjectId = []*string{new("Origin.Example.COM"), new("2001:DB8::A")}, new("origin"), new(uint64(0))
	if _, err := c.AddRealServers(rs); err != nil {
		t.Fatalf("AddRealServers: %v", err)
	}
	count := func(search, filter string) uint64 {
		t.Helper()
		r := gaapsdk.NewDescribeRealServersRequest()
		r.ProjectId = new(int64(-1))
		if search != "" {
			r.SearchValue = new(search)
		}
		if filter != "" {
			r.Filters = []*gaapsdk.Filter{{Name: new("RealServerIP"), Values: []*string{new(filter)}}}
		}
		resp, err := c.DescribeRealServers(r)
		if err != nil {
			t.Fatalf("DescribeRealServers: %v", err)
		}
		return *resp.Response.TotalCount
	}
	for _, text := range []string{"Origin.Example", "2001:DB8"} {
		if n := count(text, ""); n != 1 {
			t.Errorf("SearchValue %s finds %d origins; want 1", text, n)
		}
		if n := count("", text); n != 1 {
			t.Errorf("Filter RealServerIP=%s finds %d origins; want 1, as SearchValue", text, n)
		}
	}
}

// TestOriginsBoundedPerCallAndAccount: AddRealServers registers at most
// model.MaxOriginsPerCall addresses per call (InvalidParameterValue) and an
// account at most model.MaxOrigins origins, all projects together
// (LimitExceeded). Neither was bounded: two calls stored 20,000 origins,
// which every origin listing then read.
func TestOriginsBoundedPerCallAndAccount(t *testing.T) {
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.NoRateLimits = true })
	c := api.GAAP()
	add := func(project uint64, from, n int) error {
		req := gaapsdk.NewAddRealServersRequest()
		req.ProjectId, req.RealServerName = new(project), new("o")
		for i := from; i < from+n; i++ {
			req.RealServerIP = append(req.RealServerIP, new(fmt.Sprintf("9.%d.%d.%d", i>>16, (i>>8)&255, i&255)))
		}
		_, err := c.AddRealServers(req)
		return err
	}
	wantCode(t, add(0, 0, model.MaxOriginsPerCall+1), "InvalidParameterValue")
	for from := 0; from < model.MaxOrigins; from += model.MaxOriginsPerCall {
		if err := add(uint64(from*2/model.MaxOrigins), from, model.MaxOriginsPerCall); err != nil {
			t.Fatalf("AddRealServers of origins %d-%d: %v", from, from+model.MaxOriginsPerCall-1, err)
		}
	}
	wantCode(t, add(2, model.MaxOrigins, 1), "LimitExceeded")
	d := gaapsdk.NewDescribeRealServersRequest()
	d.ProjectId, d.Limit = new(int64(-1)), new(uint64(1))
	resp, err := c.DescribeRealServers(d)
	if err != nil {
		t.Fatal(err)
	}
	if n := *resp.Response.TotalCount; n != model.MaxOrigins {
		t.Errorf("DescribeRealServers TotalCount %d; want %d", n, model.MaxOrigins)
	}
}
