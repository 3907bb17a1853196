package gaap_test

import (
	"fmt"
	"slices"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

func TestDomainErrorPages(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	listener := l7Listener(t, api, proxy, "", 0)
	createDomain(t, c, listener, "www.example.com")

	create := func(body string, nos ...int64) (string, error) {
		req := gaapsdk.NewCreateDomainErrorPageInfoRequest()
		req.ListenerId, req.Domain, req.Body, req.NewErrorNo = new(listener), new("www.example.com"), new(body), new(int64(200))
		for _, n := range nos {
			req.ErrorNos = append(req.ErrorNos, new(n))
		}
		req.ClearHeaders = []*string{new("Server")}
		req.SetHeaders = []*gaapsdk.HttpHeaderParam{{HeaderName: new("Content-Type"), HeaderValue: new("text/html")}}
		resp, err := c.CreateDomainErrorPageInfo(req)
		if err != nil {
			return "", err
		}
		return *resp.Response.ErrorPageId, nil
	}
	id, err := create("<h1>oops</h1>", 502, 504)
	if err != nil {
		t.Fatal(err)
	}

	list := gaapsdk.NewDescribeDomainErrorPageInfoRequest()
	list.ListenerId, list.Domain = new(listener), new("www.example.com")
	resp, err := c.DescribeDomainErrorPageInfo(list)
	if err != nil {
		t.Fatal(err)
	}
	if set := resp.Response.ErrorPageSet; len(set) != 1 || *set[0].ErrorPageId != id || *set[0].Body != "<h1>oops</h1>" ||
		len(set[0].ErrorNos) != 2 || *set[0].NewErrorNo != 200 || *set[0].SetHeaders[0].HeaderValue != "text/html" {
		t.Errorf("got error pages %+v; want %s for 502,504", set, id)
	}

	t.Run("invalid", func(t *testing.T) {
		_, err := create("again", 504)
		wantCode(t, err, "FailedOperation.DomainAlreadyExisted")
		_, err = create("x", 200)
		wantCode(t, err, "InvalidParameterValue")
		_, err = create("x", 404, 404)
		wantCode(t, err, "InvalidParameterValue")
		// NewErrorNo is a final status: a 1xx is interim (RFC 9110
		// section 15.2) and would reach clients as 200 OK.
		for _, no := range []int64{100, 199, 600} {
			req := gaapsdk.NewCreateDomainErrorPageInfoRequest()
			req.ListenerId, req.Domain, req.Body, req.NewErrorNo = new(listener), new("www.example.com"), new("x"), new(no)
			req.ErrorNos = []*int64{new(int64(503))}
			_, err = c.CreateDomainErrorPageInfo(req)
			wantCode(t, err, "InvalidParameterValue")
		}
		// The page is the whole answer: a header that frames the message
		// or concerns the connection would cut the body short or leave
		// the client waiting for its end, so SetHeaders may not name one.
		for _, name := range []string{"Content-Length", "transfer-encoding", "Connection", "Keep-Alive", "TE",
			"Trailer", "Upgrade", "Proxy-Connection"} {
			req := gaapsdk.NewCreateDomainErrorPageInfoRequest()
			req.ListenerId, req.Domain, req.Body = new(listener), new("www.example.com"), new("x")
			req.ErrorNos = []*int64{new(int64(503))}
			req.SetHeaders = []*gaapsdk.HttpHeaderParam{{HeaderName: new(name), HeaderValue: new("1000")}}
			_, err = c.CreateDomainErrorPageInfo(req)
			wantCode(t, err, "InvalidParameterValue")
		}
		// SetHeaders follow CreateCustomHeader's rule (model.ValidateHeaders):
		// a value net/http cannot write is refused.
		for _, h := range [][2]string{{"X-Tag", "a\x01b"}, {"X-Tag", "a\x7f"}, {"Bad Name", "v"}} {
			req := gaapsdk.NewCreateDomainErrorPageInfoRequest()
			req.ListenerId, req.Domain, req.Body = new(listener), new("www.example.com"), new("x")
			req.ErrorNos = []*int64{new(int64(503))}
			req.SetHeaders = []*gaapsdk.HttpHeaderParam{{HeaderName: new(h[0]), HeaderValue: new(h[1])}}
			_, err = c.CreateDomainErrorPageInfo(req)
			wantCode(t, err, "InvalidParameterValue")
		}
		byIDs := gaapsdk.NewDescribeDomainErrorPageInfoByIdsRequest()
		for i := range 11 { // Distinct: an ID given twice counts once.
			byIDs.ErrorPageIds = append(byIDs.ErrorPageIds, new(fmt.Sprintf("errorPage-%08d", i)))
		}
		_, err = c.DescribeDomainErrorPageInfoByIds(byIDs)
		wantCode(t, err, "InvalidParameterValue")
	})

	// The action lists no ResourceNotFound: unknown and foreign IDs are
	// left out of the answer, which keeps the order asked.
	byIDs := func(c *gaapsdk.Client, ids ...string) []string {
		t.Helper()
		req := gaapsdk.NewDescribeDomainErrorPageInfoByIdsRequest()
		for _, id := range ids {
			req.ErrorPageIds = append(req.ErrorPageIds, new(id))
		}
		resp, err := c.DescribeDomainErrorPageInfoByIds(req)
		if err != nil {
			t.Fatalf("DescribeDomainErrorPageInfoByIds: %v", err)
		}
		var got []string
		for _, p := range resp.Response.ErrorPageSet {
			got = append(got, *p.ErrorPageId)
		}
		return got
	}
	other, err := create("<h1>not found</h1>", 404)
	if err != nil {
		t.Fatal(err)
	}
	if got := byIDs(api.GAAP(xtest.Other), id); len(got) != 0 {
		t.Errorf("another account got %v; want nothing", got)
	}
	if got := byIDs(c, other, "errorPage-00000000", id); !slices.Equal(got, []string{other, id}) {
		t.Errorf("got %v; want [%s %s]", got, other, id)
	}
	if got := byIDs(c, id, other, id); !slices.Equal(got, []string{id, other}) {
		t.Errorf("an ID given twice: got %v; want [%s %s], each once", got, id, other)
	}

	del := gaapsdk.NewDeleteDomainErrorPageInfoRequest()
	del.ErrorPageId = new(id)
	if _, err := c.DeleteDomainErrorPageInfo(del); err != nil {
		t.Fatal(err)
	}
	if got := byIDs(c, id); len(got) != 0 {
		t.Errorf("got %v after deleting it; want nothing", got)
	}
}

// TestErrorPageClearHeadersBounded: ClearHeaders is held to SetHeaders'
// rule, at most 20 distinct names: it took 10,000 (the API's array bound),
// duplicates included, about 1 MB a page, which every snapshot of the
// proxy carried and the edge walked on every answer the page replaced.
func TestErrorPageClearHeadersBounded(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	create := func(clear []string) error {
		return api.Call(c, "CreateDomainErrorPageInfo", map[string]any{"ListenerId": listener, "Domain": "www.example.com",
			"ErrorNos": []int{500 + len(clear)%99}, "Body": "x", "ClearHeaders": clear}, nil)
	}
	var distinct []string
	for i := range 21 {
		distinct = append(distinct, fmt.Sprintf("X-H%d", i))
	}
	if err := create(distinct); err == nil {
		t.Errorf("21 ClearHeaders accepted; want InvalidParameterValue, as for 21 SetHeaders")
	} else {
		wantCode(t, err, "InvalidParameterValue")
	}
	same := make([]string, 10000)
	for i := range same {
		same[i] = "X-A"
	}
	if err := create(same); err == nil {
		t.Errorf("10000 ClearHeaders, all X-A, accepted; want InvalidParameterValue (count and duplicates)")
	} else {
		wantCode(t, err, "InvalidParameterValue")
	}
}
