package gaap_test

import (
	"strings"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

// createPolicy creates a security policy on proxy and returns its ID.
func createPolicy(t *testing.T, c *gaapsdk.Client, proxy, action string) string {
	t.Helper()
	req := gaapsdk.NewCreateSecurityPolicyRequest()
	req.ProxyId, req.DefaultAction = new(proxy), new(action)
	resp, err := c.CreateSecurityPolicy(req)
	if err != nil {
		t.Fatalf("CreateSecurityPolicy: %v", err)
	}
	return *resp.Response.PolicyId
}

func policyDetail(t *testing.T, c *gaapsdk.Client, id string) *gaapsdk.DescribeSecurityPolicyDetailResponse {
	t.Helper()
	req := gaapsdk.NewDescribeSecurityPolicyDetailRequest()
	req.PolicyId = new(id)
	resp, err := c.DescribeSecurityPolicyDetail(req)
	if err != nil {
		t.Fatalf("DescribeSecurityPolicyDetail(%s): %v", id, err)
	}
	return resp
}

type taskStatus struct {
	Status, TaskId string
}

// waitPolicy waits for the task to succeed and the policy to reach status.
func waitPolicy(t *testing.T, api *xtest.API, policy, task, status string) {
	t.Helper()
	c := api.GAAP()
	var got taskStatus
	if err := api.Call(c, "DescribeTaskStatus", map[string]string{"TaskId": task}, &got); err != nil {
		t.Fatalf("DescribeTaskStatus: %v", err)
	}
	if got.TaskId != task || (got.Status != "RUNNING" && got.Status != "SUCCESS") {
		t.Fatalf("DescribeTaskStatus = %+v; want RUNNING or SUCCESS of %s", got, task)
	}
	eventually(t, func() bool {
		if err := api.Call(c, "DescribeTaskStatus", map[string]string{"TaskId": task}, &got); err != nil {
			t.Fatalf("DescribeTaskStatus: %v", err)
		}
		return got.Status == "SUCCESS"
	}, "task %s status %s; want SUCCESS", task, &got.Status)
	if s := *policyDetail(t, c, policy).Response.Status; s != status {
		t.Fatalf("policy status %s after its task; want %s", s, status)
	}
}

func TestSecurityPolicyLifecycle(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)

	t.Run("invalid", func(t *testing.T) {
		for _, tc := range []struct{ name, proxy, group, action, code string }{
			{"neither proxy nor group", "", "", "ACCEPT", "InvalidParameter"},
			{"both proxy and group", proxy, "lg-12345678", "ACCEPT", "InvalidParameter"},
			{"bad default action", proxy, "", "ALLOW", "InvalidParameterValue"},
			{"unknown proxy", "link-00000000", "", "DROP", "ResourceNotFound"},
		} {
			req := gaapsdk.NewCreateSecurityPolicyRequest()
			req.DefaultAction = new(tc.action)
			if tc.proxy != "" {
				req.ProxyId = new(tc.proxy)
			}
			if tc.group != "" {
				req.GroupId = new(tc.group)
			}
			_, err := c.CreateSecurityPolicy(req)
			wantCode(t, err, tc.code)
		}
	})

	// The reference's own example sends "Accept".
	id := createPolicy(t, c, proxy, "Accept")
	if !strings.HasPrefix(id, "sp-") {
		t.Fatalf("PolicyId %q; want sp-xxxxxxxx", id)
	}
	d := policyDetail(t, c, id).Response
	if *d.Status != "UNBIND" || *d.DefaultAction != "ACCEPT" || *d.ProxyId != proxy || len(d.RuleList) != 0 {
		t.Fatalf("new policy: status %s action %s proxy %s rules %d; want UNBIND ACCEPT %s 0", *d.Status, *d.DefaultAction, *d.ProxyId, len(d.RuleList), proxy)
	}
	pd := gaapsdk.NewDescribeProxyDetailRequest()
	pd.ProxyId = new(proxy)
	presp, err := c.DescribeProxyDetail(pd)
	if err != nil || presp.Response.ProxyDetail.PolicyId == nil || *presp.Response.ProxyDetail.PolicyId != id {
		t.Fatalf("DescribeProxyDetail PolicyId: %v %v; want %s", err, presp, id)
	}

	req := gaapsdk.NewCreateSecurityPolicyRequest()
	req.ProxyId, req.DefaultAction = new(proxy), new("DROP")
	_, err = c.CreateSecurityPolicy(req)
	wantCode(t, err, "FailedOperation.ProxySecurityPolicyExisted")

	other := gaapsdk.NewDescribeSecurityPolicyDetailRequest()
	other.PolicyId = new(id)
	_, err = api.GAAP(xtest.Other).DescribeSecurityPolicyDetail(other)
	wantCode(t, err, "ResourceNotFound")

	closeReq := gaapsdk.NewCloseSecurityPolicyRequest()
	closeReq.ProxyId = new(proxy)
	_, err = c.CloseSecurityPolicy(closeReq)
	wantCode(t, err, "FailedOperation.ProxySecurityAlreadyClose")

	openReq := gaapsdk.NewOpenSecurityPolicyRequest()
	openReq.ProxyId = new(proxy)
	open, err := c.OpenSecurityPolicy(openReq)
	if err != nil {
		t.Fatalf("OpenSecurityPolicy: %v", err)
	}
	if *open.Response.TaskId != *open.Response.RequestId {
		t.Fatalf("TaskId %s; want the RequestId %s", *open.Response.TaskId, *open.Response.RequestId)
	}
	waitPolicy(t, api, id, *open.Response.TaskId, "BOUND")
	_, err = c.OpenSecurityPolicy(openReq)
	wantCode(t, err, "FailedOperation.ProxySecurityAlreadyOpen")

	closed, err := c.CloseSecurityPolicy(closeReq)
	if err != nil {
		t.Fatalf("CloseSecurityPolicy: %v", err)
	}
	waitPolicy(t, api, id, *closed.Response.TaskId, "UNBIND")

	del := gaapsdk.NewDeleteSecurityPolicyRequest()
	del.PolicyId = new(id)
	if _, err := api.GAAP(xtest.Other).DeleteSecurityPolicy(del); err == nil {
		t.Fatal("another account deleted the policy")
	}
	if _, err := c.DeleteSecurityPolicy(del); err != nil {
		t.Fatalf("DeleteSecurityPolicy: %v", err)
	}
	_, err = c.DescribeSecurityPolicyDetail(other)
	wantCode(t, err, "ResourceNotFound")
	if presp, err = c.DescribeProxyDetail(pd); err != nil || presp.Response.ProxyDetail.PolicyId != nil && *presp.Response.ProxyDetail.PolicyId != "" {
		t.Fatalf("proxy PolicyId after delete: %v %v; want none", err, presp.Response.ProxyDetail.PolicyId)
	}
	// The proxy may have a policy again.
	createPolicy(t, c, proxy, "DROP")
}

// TestCreateSecurityPolicyOnClosedProxy: a proxy that is not RUNNING gets a
// code of CreateSecurityPolicy's own error list, which has no
// FailedOperation.ProxyStatusNotInRuning (clients branch on documented
// codes; the group case answers ResourceUnavailable for the same reason).
func TestCreateSecurityPolicyOnClosedProxy(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	cl := gaapsdk.NewCloseProxiesRequest()
	cl.ProxyIds = []*string{new(proxy)}
	if _, err := c.CloseProxies(cl); err != nil {
		t.Fatal(err)
	}
	waitProxyStatus(t, api, proxy, "CLOSED")
	req := gaapsdk.NewCreateSecurityPolicyRequest()
	req.ProxyId, req.DefaultAction = new(proxy), new("DROP")
	_, err := c.CreateSecurityPolicy(req)
	wantDocumented(t, "CreateSecurityPolicy", err)
	wantCode(t, err, "ResourceUnavailable")
}

// TestGroupMemberPolicyOpenClose: DescribeProxies shows a group member's
// PolicyId as its group's policy, which the data plane enforces on it, so
// Open/CloseSecurityPolicy take the member for that policy: with the very
// PolicyId DescribeProxies reports, or with ProxyId alone. Another
// proxy's policy still does not match the member.
func TestGroupMemberPolicyOpenClose(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	g, members := groupWithRegions(t, api, "SouthChina")
	cr := gaapsdk.NewCreateSecurityPolicyRequest()
	cr.GroupId, cr.DefaultAction = new(g), new("DROP")
	resp, err := c.CreateSecurityPolicy(cr)
	if err != nil {
		t.Fatal(err)
	}
	policy := *resp.Response.PolicyId
	var shown string
	for _, p := range groupProxies(t, c, g) {
		if *p.ProxyId == members[0] && p.PolicyId != nil {
			shown = *p.PolicyId
		}
	}
	if shown != policy {
		t.Fatalf("DescribeProxies PolicyId of member %s = %q; want the group's %s", members[0], shown, policy)
	}

	open := gaapsdk.NewOpenSecurityPolicyRequest()
	open.ProxyId, open.PolicyId = new(members[0]), new(shown)
	opened, err := c.OpenSecurityPolicy(open)
	if err != nil {
		t.Fatalf("OpenSecurityPolicy(ProxyId=%s, PolicyId=%s as DescribeProxies shows it): %v", members[0], shown, err)
	}
	waitPolicy(t, api, policy, *opened.Response.TaskId, "BOUND")
	closeReq := gaapsdk.NewCloseSecurityPolicyRequest()
	closeReq.ProxyId = new(members[0])
	closed, err := c.CloseSecurityPolicy(closeReq)
	if err != nil {
		t.Fatalf("CloseSecurityPolicy(ProxyId=%s): %v", members[0], err)
	}
	waitPolicy(t, api, policy, *closed.Response.TaskId, "UNBIND")

	open.PolicyId = new(createPolicy(t, c, runningProxy(t, api), "DROP"))
	_, err = c.OpenSecurityPolicy(open)
	wantCode(t, err, "InvalidParameterValue")
}

func TestDescribeTaskStatusErrors(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	var out taskStatus
	wantCode(t, api.Call(api.GAAP(), "DescribeTaskStatus", map[string]string{"TaskId": "00000000-0000-0000-0000-000000000000"}, &out), "ResourceNotFound")
	wantCode(t, api.Call(api.GAAP(), "DescribeTaskStatus", map[string]string{}, &out), "MissingParameter")
}
