package gaap_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/xtest"
)

// sdkIDs converts IDs to the SDK's []*string.
func sdkIDs(ids ...string) []*string {
	out := make([]*string, len(ids))
	for i := range ids {
		out[i] = &ids[i]
	}
	return out
}

// strs dereferences the SDK's []*string for comparison.
func strs(in []*string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		out = append(out, *s)
	}
	return out
}

// proxyGone waits until the proxy no longer exists.
func proxyGone(t *testing.T, c *gaapsdk.Client, id string) {
	t.Helper()
	eventually(t, func() bool {
		req := gaapsdk.NewDescribeProxyDetailRequest()
		req.ProxyId = new(id)
		_, err := c.DescribeProxyDetail(req)
		return err != nil
	}, "proxy %s still exists", id)
}

// storeBoundListener stores a TCP listener with a bound origin under owner
// straight into the store, so the Force rules can be tested without the
// listener actions.
func storeBoundListener(t *testing.T, api *xtest.API, owner string) string {
	t.Helper()
	l := &model.Listener{Base: model.Base{ID: model.NewID(model.PrefixListener)}, Name: "bound", ProxyID: owner,
		Protocol: model.TCP, Port: 40000 + time.Now().UnixNano()%20000, Status: model.StatusRunning,
		Bindings: []model.Bound{{RealServerID: "rs-00000000", Port: 80, Weight: 1}}}
	err := api.Store.Update(context.Background(), func(tx store.Tx) error {
		return (&resource.Tx{Store: tx, Account: xtest.Root.Uin, Now: time.Now()}).Insert(l)
	})
	if err != nil {
		t.Fatal(err)
	}
	return l.ID
}

// rewriteRow edits the stored row of kind and id as JSON, to make it what
// an older release stored.
func rewriteRow(t *testing.T, api *xtest.API, kind, id string, edit func(row map[string]any)) {
	t.Helper()
	err := api.Store.Update(context.Background(), func(tx store.Tx) error {
		rec, err := tx.Get(kind, id)
		if err != nil {
			return err
		}
		var row map[string]any
		if err := json.Unmarshal(rec.Data, &row); err != nil {
			return err
		}
		edit(row)
		if rec.Data, err = json.Marshal(row); err != nil {
			return err
		}
		return tx.Put(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// countUnder counts stored records of kind whose parent is id.
func countUnder(t *testing.T, api *xtest.API, kind, id string) int {
	t.Helper()
	var n int
	err := api.Store.View(context.Background(), func(tx store.Tx) (err error) {
		_, n, err = tx.List(store.Query{Kind: kind, Parent: id, AllAccounts: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestProxyOpenClose(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	id := runningProxy(t, api)

	closeReq := gaapsdk.NewCloseProxiesRequest()
	closeReq.InstanceIds = sdkIDs(id) // the old parameter name
	resp, err := c.CloseProxies(closeReq)
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(resp.Response.InvalidStatusInstanceSet); len(got) != 0 {
		t.Fatalf("InvalidStatusInstanceSet = %v; want empty", got)
	}
	waitProxyStatus(t, api, id, "CLOSED")

	resp, err = c.CloseProxies(closeReq)
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(resp.Response.InvalidStatusInstanceSet); !slices.Equal(got, []string{id}) {
		t.Errorf("closing a closed proxy: InvalidStatusInstanceSet = %v; want [%s]", got, id)
	}

	openReq := gaapsdk.NewOpenProxiesRequest()
	openReq.ProxyIds, openReq.ClientToken = sdkIDs(id), new("open-once")
	if _, err := c.OpenProxies(openReq); err != nil {
		t.Fatal(err)
	}
	st := gaapsdk.NewDescribeProxiesStatusRequest()
	st.ProxyIds = sdkIDs(id)
	sresp, err := c.DescribeProxiesStatus(st)
	if err != nil {
		t.Fatal(err)
	}
	if got := *sresp.Response.InstanceStatusSet[0].Status; got != "OPENING" && got != "RUNNING" {
		t.Errorf("status right after OpenProxies = %s; want OPENING or RUNNING", got)
	}
	waitProxyStatus(t, api, id, "RUNNING")

	_, err = c.OpenProxies(openReq)
	wantCode(t, err, "FailedOperation.DuplicatedRequest")
	// A token is taken as sent: with a space it is another one.
	openReq.ClientToken = new(" open-once")
	if _, err := c.OpenProxies(openReq); err != nil {
		t.Errorf(`OpenProxies with ClientToken " open-once" after "open-once": %v; want it done`, err)
	}

	other := gaapsdk.NewCloseProxiesRequest()
	other.ProxyIds = sdkIDs(id)
	_, err = api.GAAP(xtest.Other).CloseProxies(other)
	wantCode(t, err, "ResourceNotFound")

	_, err = c.OpenProxies(gaapsdk.NewOpenProxiesRequest())
	wantCode(t, err, "MissingParameter")
}

func TestDestroyProxies(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	plain, bound := runningProxy(t, api), runningProxy(t, api)
	listener := storeBoundListener(t, api, bound)

	req := gaapsdk.NewDestroyProxiesRequest()
	req.Force, req.ProxyIds = new(int64(0)), sdkIDs(plain, bound)
	_, err := c.DestroyProxies(req)
	wantCode(t, err, "FailedOperation.RealServerAlreadyBound")

	req.ProxyIds = sdkIDs(plain)
	if _, err := c.DestroyProxies(req); err != nil {
		t.Fatal(err)
	}
	proxyGone(t, c, plain)
	if n := countUnder(t, api, "vip", plain); n != 0 {
		t.Errorf("%d access IPs still held by destroyed proxy %s; want 0", n, plain)
	}

	st := gaapsdk.NewDescribeProxiesStatusRequest()
	st.InstanceIds = sdkIDs(plain)
	_, err = c.DescribeProxiesStatus(st)
	wantCode(t, err, "ResourceNotFound")

	req.Force, req.ProxyIds = new(int64(1)), sdkIDs(bound)
	if _, err := c.DestroyProxies(req); err != nil {
		t.Fatal(err)
	}
	proxyGone(t, c, bound)
	if n := countUnder(t, api, "vip", bound) + countUnder(t, api, model.KindListener, bound); n != 0 {
		t.Errorf("%d records (access IP, listener %s) left under %s; want 0", n, listener, bound)
	}

	req.Force = new(int64(2))
	_, err = c.DestroyProxies(req)
	wantCode(t, err, "InvalidParameterValue")
}

func TestDestroyProxiesInvalidStatus(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	id := runningProxy(t, api)
	destroy := gaapsdk.NewDestroyProxiesRequest()
	destroy.Force, destroy.ProxyIds = new(int64(1)), sdkIDs(id)
	cl := gaapsdk.NewCloseProxiesRequest()
	cl.ProxyIds = sdkIDs(id)
	if _, err := c.CloseProxies(cl); err != nil {
		t.Fatal(err)
	}
	// The proxy is CLOSING until the controller settles it: destroying it
	// now is refused for that proxy only.
	resp, err := c.DestroyProxies(destroy)
	if err != nil {
		t.Fatal(err)
	}
	got := strs(resp.Response.InvalidStatusInstanceSet)
	if len(got) == 1 && got[0] != id {
		t.Fatalf("InvalidStatusInstanceSet = %v; want [%s] or empty", got, id)
	}
	if len(got) == 0 {
		proxyGone(t, c, id) // the controller was faster than the call
		return
	}
	waitProxyStatus(t, api, id, "CLOSED")
	if _, err := c.DestroyProxies(destroy); err != nil {
		t.Fatal(err)
	}
	proxyGone(t, c, id)
}

// TestDestroyProxiesOneGroup: a DestroyProxies batch is independent
// proxies or members of one group; members of two groups, or a member and
// an independent proxy, are FailedOperation.BelongDifferentGroup (the
// action's code for "该批通道归属于不同的通道组"), with Force or not, and
// nothing is destroyed.
func TestDestroyProxiesOneGroup(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	_, a := groupWithRegions(t, api, "SouthChina", "Hongkong")
	_, b := groupWithRegions(t, api, "SouthChina")
	solo := runningProxy(t, api)
	for _, ids := range [][]string{{a[0], b[0]}, {a[0], solo}, {solo, a[1]}} {
		for _, force := range []int64{0, 1} {
			d := gaapsdk.NewDestroyProxiesRequest()
			d.ProxyIds, d.Force = sdkIDs(ids...), new(force)
			_, err := c.DestroyProxies(d)
			wantCode(t, err, "FailedOperation.BelongDifferentGroup")
		}
	}
	for _, id := range append(append(a, b...), solo) {
		waitProxyStatus(t, api, id, "RUNNING")
	}
	d := gaapsdk.NewDestroyProxiesRequest()
	d.ProxyIds, d.Force = sdkIDs(a...), new(int64(1))
	if _, err := c.DestroyProxies(d); err != nil {
		t.Fatalf("DestroyProxies of one group's members: %v", err)
	}
}

// TestDestroyProxiesFailsPendingListenerTask: a TCP listener created on a
// RUNNING proxy and removed with it (DestroyProxies with Force 1) before
// the data plane applied it never served, so CreateTCPListeners' task
// reads FAIL, while DestroyProxies' own task, whose proxy is meant to go,
// reads SUCCESS (docs/controller.md, "Tasks").
func TestDestroyProxiesFailsPendingListenerTask(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	release := sync.OnceFunc(api.Controller.Hold())
	defer release()
	var cl struct {
		ListenerIds []string
		RequestId   string
	}
	if err := api.Call(c, "CreateTCPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "l", "Ports": []int{20001},
		"Scheduler": "rr", "RealServerType": "IP", "ClientIPMethod": 1, "HealthCheck": 0}, &cl); err != nil {
		t.Fatal(err)
	}
	var dp struct{ RequestId string }
	if err := api.Call(c, "DestroyProxies", map[string]any{"ProxyIds": []string{proxy}, "Force": 1}, &dp); err != nil {
		t.Fatal(err)
	}
	release()
	eventually(t, func() bool { return taskOf(t, api, dp.RequestId) != "RUNNING" }, "DestroyProxies task still RUNNING")
	proxyGone(t, c, proxy)
	if got := taskOf(t, api, dp.RequestId); got != "SUCCESS" {
		t.Errorf("DestroyProxies task: %s; want SUCCESS", got)
	}
	if got := taskOf(t, api, cl.RequestId); got != "FAIL" {
		t.Errorf("CreateTCPListeners task of %v, removed with its proxy before it was applied: %s; want FAIL", cl.ListenerIds, got)
	}
}

// TestProxiesStatusOfClone: ProxyStatus.Status, unlike ProxyInfo.Status,
// has no CLONING in its documented list, so DescribeProxiesStatus reports
// a clone not yet applied as CREATING (which it is), while
// DescribeProxyDetail says CLONING.
func TestProxiesStatusOfClone(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	src := runningProxy(t, api)
	release := sync.OnceFunc(api.Controller.Hold()) // the clone stays unapplied
	defer release()
	var out struct{ InstanceId string }
	if err := api.Call(c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "clone", "AccessRegion": "Hongkong",
		"Bandwidth": 10, "Concurrent": 2, "ClonedProxyId": src}, &out); err != nil {
		t.Fatal(err)
	}
	if got := *proxyDetail(t, c, out.InstanceId).Status; got != "CLONING" {
		t.Errorf("DescribeProxyDetail Status = %s; want CLONING", got)
	}
	st := gaapsdk.NewDescribeProxiesStatusRequest()
	st.ProxyIds = sdkIDs(out.InstanceId)
	resp, err := c.DescribeProxiesStatus(st)
	if err != nil {
		t.Fatal(err)
	}
	set := resp.Response.InstanceStatusSet
	if len(set) != 1 {
		t.Fatalf("DescribeProxiesStatus returned %d proxies; want 1", len(set))
	}
	if got := *set[0].Status; got != "CREATING" {
		t.Errorf("DescribeProxiesStatus Status = %s; want CREATING", got)
	}
}
