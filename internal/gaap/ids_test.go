package gaap_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/xtest"
)

// idCall is one action sent with an ID parameter under test.
type idCall struct {
	action string
	params map[string]any
}

// answersAlike sends the calls in order and fails unless they all get the
// same outcome ("OK" or one error code).
func answersAlike(t *testing.T, api *xtest.API, what string, calls []idCall) {
	t.Helper()
	var got []string
	seen := map[string]bool{}
	for _, cl := range calls {
		time.Sleep(60 * time.Millisecond) // under the 20/s limit
		o := code(api.Call(api.GAAP(), cl.action, cl.params, nil))
		if o == "" {
			o = "OK"
		}
		seen[o] = true
		got = append(got, cl.action+"="+o)
	}
	if len(seen) > 1 {
		t.Errorf("%s is answered differently: %s", what, strings.Join(got, ", "))
	}
}

// statsParams are the parameters of a statistics action on one object.
func statsParams(param, id string) map[string]any {
	return map[string]any{param: id, "StartTime": "2024-01-01 00:00:00", "EndTime": "2024-01-01 01:00:00",
		"MetricNames": []string{"InBandwidth"}, "Granularity": 300}
}

// TestPaddedIDReadAlikeByEveryAction guards idParam: an existing proxy's,
// group's or listener's ID with spaces around it names that resource in
// every action. The list, statistics and batch actions trimmed it while the
// single-resource lookups did not, so ModifyProxiesAttribute could rename a
// proxy that DescribeProxyDetail then called ResourceNotFound.
func TestPaddedIDReadAlikeByEveryAction(t *testing.T) {
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := runningProxy(t, api)
	g := createGroup(t, api, "NorthChina")
	lis := createTCP(t, c, tcpRequest(p, 7001))[0]
	pad := func(s string) string { return " " + s + " " }
	answersAlike(t, api, fmt.Sprintf("proxy %q", pad(p)), []idCall{
		{"DescribeProxies", map[string]any{"ProxyIds": []string{pad(p)}}},
		{"DescribeProxyStatistics", statsParams("ProxyId", pad(p))},
		{"DescribeTCPListeners", map[string]any{"ProxyId": pad(p)}},
		{"ModifyProxiesAttribute", map[string]any{"ProxyIds": []string{pad(p)}, "ProxyName": "renamed"}},
		{"DescribeProxyDetail", map[string]any{"ProxyId": pad(p)}},
	})
	answersAlike(t, api, fmt.Sprintf("group %q", pad(g)), []idCall{
		{"DescribeProxyGroupStatistics", statsParams("GroupId", pad(g))},
		{"DescribeTCPListeners", map[string]any{"GroupId": pad(g)}},
		{"DescribeProxyGroupDetails", map[string]any{"GroupId": pad(g)}},
		{"ModifyProxyGroupAttribute", map[string]any{"GroupId": pad(g), "GroupName": "renamed"}},
	})
	answersAlike(t, api, fmt.Sprintf("listener %q", pad(lis)), []idCall{
		{"DescribeListenerStatistics", statsParams("ListenerId", pad(lis))},
		{"DescribeTCPListeners", map[string]any{"ListenerId": pad(lis)}},
		{"DescribeListenerRealServers", map[string]any{"ListenerId": pad(lis)}},
		{"ModifyTCPListenerAttribute", map[string]any{"ListenerId": pad(lis), "ProxyId": p, "ListenerName": "renamed"}},
	})
}

// TestBlankRequiredIDIsMissingParameter guards idParam: a required
// ProxyId or GroupId left blank is MissingParameter in every action, as
// model.ProxyID answers, not a lookup of "" answering ResourceNotFound.
func TestBlankRequiredIDIsMissingParameter(t *testing.T) {
	api := xtest.StartAPI(t)
	for _, blank := range []string{"", "  "} {
		answersAlike(t, api, fmt.Sprintf("ProxyId %q", blank), []idCall{
			{"ModifyProxyConfiguration", map[string]any{"ProxyId": blank, "Bandwidth": 10}},
			{"DestroyProxies", map[string]any{"ProxyIds": []string{blank}, "Force": 0}},
			{"DescribeProxyDetail", map[string]any{"ProxyId": blank}},
			{"DescribeProxyStatistics", statsParams("ProxyId", blank)},
		})
		answersAlike(t, api, fmt.Sprintf("GroupId %q", blank), []idCall{
			{"DescribeProxyGroupDetails", map[string]any{"GroupId": blank}},
			{"DeleteProxyGroup", map[string]any{"GroupId": blank}},
			{"OpenProxyGroup", map[string]any{"GroupId": blank}},
			{"ModifyProxyGroupAttribute", map[string]any{"GroupId": blank, "GroupName": "x"}},
			{"DescribeProxyGroupStatistics", statsParams("GroupId", blank)},
		})
	}
	wantCode(t, api.Call(api.GAAP(), "DescribeProxyDetail", map[string]any{"ProxyId": ""}, nil), "MissingParameter")
	wantCode(t, api.Call(api.GAAP(), "DescribeProxyGroupDetails", map[string]any{"GroupId": ""}, nil), "MissingParameter")
}
