package vpc_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	vpcsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc/v20170312"

	"github.com/opengaap/opengaap/internal/xtest"
)

func describeVpc(t *testing.T, c *vpcsdk.Client, id string) *vpcsdk.Vpc {
	t.Helper()
	req := vpcsdk.NewDescribeVpcsRequest()
	req.VpcIds = []*string{new(id)}
	resp, err := c.DescribeVpcs(req)
	if err != nil {
		t.Fatalf("DescribeVpcs(%s): %v", id, err)
	}
	if len(resp.Response.VpcSet) != 1 {
		t.Fatalf("DescribeVpcs(%s) returned %d VPCs; want 1", id, len(resp.Response.VpcSet))
	}
	return resp.Response.VpcSet[0]
}

func createVpc(t *testing.T, c *vpcsdk.Client, name, cidr string) string {
	t.Helper()
	req := vpcsdk.NewCreateVpcRequest()
	req.VpcName, req.CidrBlock = new(name), new(cidr)
	resp, err := c.CreateVpc(req)
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	return *resp.Response.Vpc.VpcId
}

func TestDefaultVpc(t *testing.T) {
	e := start(t)
	id := xtest.DefaultVPC(t, e.vpc)
	v := describeVpc(t, e.vpc, id)
	if *v.CidrBlock != "172.16.0.0/16" || !*v.IsDefault || *v.VpcName != "Default-VPC" {
		t.Fatalf("got default VPC %s %s default=%v; want Default-VPC 172.16.0.0/16 default=true", *v.VpcName, *v.CidrBlock, *v.IsDefault)
	}
	if _, err := time.Parse("2006-01-02 15:04:05", *v.CreatedTime); err != nil {
		t.Errorf("CreatedTime %q: %v", *v.CreatedTime, err)
	}
	if again := xtest.DefaultVPC(t, e.vpc); again != id {
		t.Errorf("default VPC changed from %s to %s", id, again)
	}
	if other := xtest.DefaultVPC(t, e.other); other == id {
		t.Errorf("both accounts share default VPC %s", id)
	}
	// A deleted default VPC stays deleted.
	req := vpcsdk.NewDeleteVpcRequest()
	req.VpcId = new(id)
	if _, err := e.vpc.DeleteVpc(req); err != nil {
		t.Fatalf("DeleteVpc: %v", err)
	}
	resp, err := e.vpc.DescribeVpcs(vpcsdk.NewDescribeVpcsRequest())
	if err != nil || *resp.Response.TotalCount != 0 {
		t.Fatalf("after deleting the default VPC: err %v, TotalCount %v; want 0", err, resp)
	}
}

// TestDefaultVpcOnceUnderConcurrentFirstCalls: first VPC calls racing for
// one account all find the default VPC missing by their read, and the
// claim taken with the write still lets only one of them make it.
func TestDefaultVpcOnceUnderConcurrentFirstCalls(t *testing.T) {
	e := start(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := e.vpc.DescribeVpcs(vpcsdk.NewDescribeVpcsRequest())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("DescribeVpcs: %v", err)
		}
	}
	resp, err := e.vpc.DescribeVpcs(vpcsdk.NewDescribeVpcsRequest())
	if err != nil || *resp.Response.TotalCount != 1 {
		t.Fatalf("after concurrent first calls: err %v, VPCs %s; want the one default VPC", err, jsonOf(resp))
	}
}

func TestCreateVpc(t *testing.T) {
	e := start(t)
	req := vpcsdk.NewCreateVpcRequest()
	req.VpcName, req.CidrBlock, req.EnableMulticast = new("TestVPC"), new("10.8.0.0/16"), new("true")
	req.DnsServers = []*string{new("10.8.0.2")}
	req.DomainName = new("corp.example")
	req.Tags = []*vpcsdk.Tag{{Key: new("city"), Value: new("shanghai")}}
	resp, err := e.vpc.CreateVpc(req)
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	id := *resp.Response.Vpc.VpcId
	v := describeVpc(t, e.vpc, id)
	if *v.VpcName != "TestVPC" || *v.CidrBlock != "10.8.0.0/16" || *v.IsDefault || !*v.EnableMulticast ||
		*v.DomainName != "corp.example" || len(v.DnsServerSet) != 1 || *v.DnsServerSet[0] != "10.8.0.2" ||
		len(v.TagSet) != 1 || *v.TagSet[0].Value != "shanghai" {
		t.Fatalf("got %s; want the created attributes", jsonOf(v))
	}
	for _, name := range []string{"tag:city", "tag-key"} {
		d := vpcsdk.NewDescribeVpcsRequest()
		val := map[string]string{"tag:city": "shanghai", "tag-key": "city"}[name]
		d.Filters = []*vpcsdk.Filter{{Name: new(name), Values: []*string{new(val)}}}
		r, err := e.vpc.DescribeVpcs(d)
		if err != nil || len(r.Response.VpcSet) != 1 || *r.Response.VpcSet[0].VpcId != id {
			t.Fatalf("filter %s=%s: got %v %s; want [%s]", name, val, err, jsonOf(r), id)
		}
	}

	bad := []struct{ name, cidr, code string }{
		{"x", "10.0.0.0/33", "InvalidParameterValue.Malformed"},
		{"x", "10.0.0.1/16", "InvalidParameterValue.Malformed"},
		{"x", "vpc", "InvalidParameterValue.Malformed"},
		{"x", "10.0.0.0/11", "InvalidParameterValue.Range"},
		{"x", "10.0.0.0/29", "InvalidParameterValue.Range"},
		{"x", "192.168.0.0/15", "InvalidParameterValue.Range"},
		{"x", "8.8.0.0/16", "InvalidParameterValue.Range"},
		{strings.Repeat("n", 61), "10.1.0.0/16", "InvalidParameterValue.TooLong"},
	}
	for _, tc := range bad {
		t.Run(tc.cidr, func(t *testing.T) {
			r := vpcsdk.NewCreateVpcRequest()
			r.VpcName, r.CidrBlock = new(tc.name), new(tc.cidr)
			_, err := e.vpc.CreateVpc(r)
			wantCode(t, err, tc.code)
		})
	}
}

// TestVpcNameCountsCharacters: ModifyVpcAttribute limits VpcName to 60
// characters (字符), so 60 Chinese characters (180 bytes in UTF-8) are a
// valid name on create and modify, and 61 are too long.
func TestVpcNameCountsCharacters(t *testing.T) {
	e := start(t)
	name := strings.Repeat("网", 60)
	id := createVpc(t, e.vpc, name, "10.3.0.0/16")
	mustCall(t, e.vpc, "ModifyVpcAttribute", map[string]any{"VpcId": id, "VpcName": name}, nil)
	if got := *describeVpc(t, e.vpc, id).VpcName; got != name {
		t.Errorf("VpcName reads back %q; want %q", got, name)
	}
	err := call(e.vpc, "ModifyVpcAttribute", map[string]any{"VpcId": id, "VpcName": name + "网"}, nil)
	wantCode(t, err, "InvalidParameterValue.TooLong")
	err = call(e.vpc, "CreateVpc", map[string]any{"VpcName": name + "网", "CidrBlock": "10.4.0.0/16"}, nil)
	wantCode(t, err, "InvalidParameterValue.TooLong")
}

// TestVpcDomainName: DomainName is the VPC's DHCP domain name, so it
// follows the product's host-name rule (a single label such as the
// reference's "demo" included); anything else is Malformed on create and
// modify rather than stored and answered back. Empty means none.
func TestVpcDomainName(t *testing.T) {
	e := start(t)
	id := createVpc(t, e.vpc, "dns", "10.2.0.0/16")
	for _, good := range []string{"demo", "www.demo.com", ""} {
		if err := call(e.vpc, "ModifyVpcAttribute", map[string]any{"VpcId": id, "DomainName": good}, nil); err != nil {
			t.Errorf("ModifyVpcAttribute DomainName %q: %v", good, err)
		} else if got := *describeVpc(t, e.vpc, id).DomainName; got != good {
			t.Errorf("DomainName %q reads back %q", good, got)
		}
	}
	for _, bad := range []string{"zz junk !! value", strings.Repeat("a", 5000), "-demo", "demo..com", "under_score.com", "10.0.0.1"} {
		err := call(e.vpc, "ModifyVpcAttribute", map[string]any{"VpcId": id, "DomainName": bad}, nil)
		wantCode(t, err, "InvalidParameterValue.Malformed")
		err = call(e.vpc, "CreateVpc", map[string]any{"VpcName": "v", "CidrBlock": "10.9.0.0/16", "DomainName": bad}, nil)
		wantCode(t, err, "InvalidParameterValue.Malformed")
	}
}

func TestDescribeVpcsFilters(t *testing.T) {
	e := start(t)
	def := xtest.DefaultVPC(t, e.vpc)
	a := createVpc(t, e.vpc, "alpha-net", "10.8.0.0/16")
	b := createVpc(t, e.vpc, "beta-net", "192.168.0.0/24")
	cases := []struct {
		name    string
		filters map[string][]string
		want    []string
	}{
		{"fuzzy name", map[string][]string{"vpc-name": {"-net"}}, []string{a, b}},
		{"not default", map[string][]string{"is-default": {"false"}}, []string{a, b}},
		{"default", map[string][]string{"is-default": {"TRUE"}}, []string{def}},
		{"cidr address", map[string][]string{"cidr-block": {"192.168.0.0", "10.0.0.0"}}, []string{b}},
		{"vpc-id and name", map[string][]string{"vpc-id": {a, b}, "vpc-name": {"alpha"}}, []string{a}},
		// Documented; no VPC here has an IPv6 CIDR.
		{"ipv6 cidr", map[string][]string{"ipv6-cidr-block": {"2402:4e00::/56"}}, nil},
		{"ipv6 operator", map[string][]string{"isp-type": {"BGP"}}, nil},
		{"ipv6 address type", map[string][]string{"address-type": {"GUA"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := vpcsdk.NewDescribeVpcsRequest()
			for n, vals := range tc.filters {
				f := &vpcsdk.Filter{Name: new(n)}
				for _, v := range vals {
					f.Values = append(f.Values, new(v))
				}
				req.Filters = append(req.Filters, f)
			}
			resp, err := e.vpc.DescribeVpcs(req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range resp.Response.VpcSet {
				got = append(got, *v.VpcId)
			}
			if len(got) != len(tc.want) || int(*resp.Response.TotalCount) != len(tc.want) {
				t.Fatalf("got %v (total %d); want %v", got, *resp.Response.TotalCount, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v; want %v (oldest first)", got, tc.want)
				}
			}
		})
	}
	t.Run("paging", func(t *testing.T) {
		req := vpcsdk.NewDescribeVpcsRequest()
		req.Offset, req.Limit = new("1"), new("1")
		resp, err := e.vpc.DescribeVpcs(req)
		if err != nil || *resp.Response.TotalCount != 3 || len(resp.Response.VpcSet) != 1 || *resp.Response.VpcSet[0].VpcId != a {
			t.Fatalf("got %v %v; want [%s] of 3", err, resp.ToJsonString(), a)
		}
	})
	errs := []struct {
		name string
		mod  func(r *vpcsdk.DescribeVpcsRequest)
		code string
	}{
		{"ids and filters", func(r *vpcsdk.DescribeVpcsRequest) {
			r.VpcIds = []*string{new(a)}
			r.Filters = []*vpcsdk.Filter{{Name: new("vpc-name"), Values: []*string{new("x")}}}
		}, "InvalidParameter.Coexist"},
		{"unknown filter", func(r *vpcsdk.DescribeVpcsRequest) {
			r.Filters = []*vpcsdk.Filter{{Name: new("color"), Values: []*string{new("x")}}}
		}, "InvalidParameter.FilterInvalidKey"},
		{"limit not a number", func(r *vpcsdk.DescribeVpcsRequest) { r.Limit = new("ten") }, "InvalidParameterValue.Malformed"},
		{"limit too big", func(r *vpcsdk.DescribeVpcsRequest) { r.Limit = new("101") }, "InvalidParameterValue.Range"},
		{"malformed id", func(r *vpcsdk.DescribeVpcsRequest) { r.VpcIds = []*string{new("subnet-1")} }, "InvalidParameterValue.Malformed"},
		{"unknown id", func(r *vpcsdk.DescribeVpcsRequest) { r.VpcIds = []*string{new("vpc-00000000")} }, "ResourceNotFound"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			req := vpcsdk.NewDescribeVpcsRequest()
			tc.mod(req)
			_, err := e.vpc.DescribeVpcs(req)
			wantCode(t, err, tc.code)
		})
	}
}

func TestModifyAndDeleteVpc(t *testing.T) {
	e := start(t)
	id := createVpc(t, e.vpc, "dev", "10.1.0.0/16")
	req := vpcsdk.NewModifyVpcAttributeRequest()
	req.VpcId, req.VpcName, req.EnableMulticast = new(id), new("vpc_dev"), new("true")
	req.DnsServers = []*string{new("1.1.1.1"), new("8.8.8.8")}
	if _, err := e.vpc.ModifyVpcAttribute(req); err != nil {
		t.Fatalf("ModifyVpcAttribute: %v", err)
	}
	v := describeVpc(t, e.vpc, id)
	if *v.VpcName != "vpc_dev" || !*v.EnableMulticast || len(v.DnsServerSet) != 2 || *v.CidrBlock != "10.1.0.0/16" {
		t.Fatalf("got %s; want renamed, multicast, 2 DNS servers, CIDR kept", jsonOf(v))
	}
	req.DnsServers = []*string{new("1.1.1.1"), new("1.1.1.2"), new("1.1.1.3"), new("1.1.1.4"), new("1.1.1.5")}
	_, err := e.vpc.ModifyVpcAttribute(req)
	wantCode(t, err, "InvalidParameterValue.LimitExceeded")
	req.DnsServers, req.EnableMulticast = nil, new("maybe")
	_, err = e.vpc.ModifyVpcAttribute(req)
	wantCode(t, err, "InvalidParameterValue")

	del := vpcsdk.NewDeleteVpcRequest()
	del.VpcId = new(id)
	if _, err := e.vpc.DeleteVpc(del); err != nil {
		t.Fatalf("DeleteVpc: %v", err)
	}
	d := vpcsdk.NewDescribeVpcsRequest()
	d.VpcIds = []*string{new(id)}
	_, err = e.vpc.DescribeVpcs(d)
	wantCode(t, err, "ResourceNotFound")
	_, err = e.vpc.DeleteVpc(del)
	wantCode(t, err, "ResourceNotFound")
	_, err = e.vpc.ModifyVpcAttribute(req)
	wantCode(t, err, "ResourceNotFound")
}

func TestVpcQuota(t *testing.T) {
	e := start(t)
	xtest.DefaultVPC(t, e.vpc)
	for i := range 19 {
		createVpc(t, e.vpc, "q", fmt.Sprintf("10.%d.0.0/16", 10+i))
	}
	req := vpcsdk.NewCreateVpcRequest()
	req.VpcName, req.CidrBlock = new("one-too-many"), new("10.200.0.0/16")
	_, err := e.vpc.CreateVpc(req)
	wantCode(t, err, "LimitExceeded")
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestMalformedIDAnsweredAlikeByEveryAction guards checkID: an ID that
// cannot be a VPC's or a traffic mirror's (another kind's, a prefix with a
// short, empty or upper-case suffix) is InvalidParameterValue.Malformed in
// the list filters and in every action taking one ID, where the
// single-ID actions used to look it up and answer ResourceNotFound; a
// well-formed unknown ID stays ResourceNotFound everywhere.
func TestMalformedIDAnsweredAlikeByEveryAction(t *testing.T) {
	e := start(t)
	kinds := []struct {
		list, listParam, param string
		singles                map[string]map[string]any
		malformed              []string
		unknown                string
	}{
		{"DescribeTrafficMirrors", "TrafficMirrorIds", "TrafficMirrorId", map[string]map[string]any{
			"DeleteTrafficMirror":              nil,
			"ModifyTrafficMirrorAttribute":     {"TrafficMirrorName": "x"},
			"StartTrafficMirror":               nil,
			"DescribeTrafficMirrorFilterRules": nil,
		}, []string{"vpc-1", "imgf-", "imgf-1", "imgf-ABCDEFGH", "IMGF-abcdefgh", "vpc-7h62jza4"}, "imgf-00000000"},
		{"DescribeVpcs", "VpcIds", "VpcId", map[string]map[string]any{
			"DeleteVpc":          nil,
			"ModifyVpcAttribute": {"VpcName": "x"},
		}, []string{"imgf-7h62jza4", "vpc-", "vpc-1", "vpc-f49l6u0z0", "VPC-abcdefgh"}, "vpc-00000000"},
	}
	for _, k := range kinds {
		for _, id := range append(k.malformed, k.unknown) {
			want := "InvalidParameterValue.Malformed"
			if id == k.unknown {
				want = "ResourceNotFound"
			}
			t.Run(fmt.Sprintf("%s %q", k.list, id), func(t *testing.T) {
				wantCode(t, call(e.vpc, k.list, map[string]any{k.listParam: []string{id}}, nil), want)
			})
			for action, extra := range k.singles {
				p := map[string]any{k.param: id}
				for n, v := range extra {
					p[n] = v
				}
				t.Run(fmt.Sprintf("%s %q", action, id), func(t *testing.T) { wantCode(t, call(e.vpc, action, p, nil), want) })
			}
		}
	}
}
