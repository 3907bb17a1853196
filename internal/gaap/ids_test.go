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

// answersAlike sends the calls in order and fails unless every one gets
// want ("OK" or an error code): the same answer, and the right one.
func answersAlike(t *testing.T, api *xtest.API, what, want string, calls []idCall) {
	t.Helper()
	var got []string
	wrong := false
	for _, cl := range calls {
		time.Sleep(60 * time.Millisecond) // under the 20/s limit
		o := code(api.Call(api.GAAP(), cl.action, cl.params, nil))
		if o == "" {
			o = "OK"
		}
		wrong = wrong || o != want
		got = append(got, cl.action+"="+o)
	}
	if wrong {
		t.Errorf("%s is answered %s; want %s from every action", what, strings.Join(got, ", "), want)
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
	answersAlike(t, api, fmt.Sprintf("proxy %q", pad(p)), "OK", []idCall{
		{"DescribeProxies", map[string]any{"ProxyIds": []string{pad(p)}}},
		{"DescribeProxyStatistics", statsParams("ProxyId", pad(p))},
		{"DescribeTCPListeners", map[string]any{"ProxyId": pad(p)}},
		{"ModifyProxiesAttribute", map[string]any{"ProxyIds": []string{pad(p)}, "ProxyName": "renamed"}},
		{"DescribeProxyDetail", map[string]any{"ProxyId": pad(p)}},
	})
	var detail struct{ ProxyDetail struct{ ProxyName string } }
	if err := api.Call(c, "DescribeProxyDetail", map[string]any{"ProxyId": pad(p)}, &detail); err != nil || detail.ProxyDetail.ProxyName != "renamed" {
		t.Errorf("proxy %s after ModifyProxiesAttribute with its padded ID: name %q, %v; want renamed", p, detail.ProxyDetail.ProxyName, err)
	}
	answersAlike(t, api, fmt.Sprintf("group %q", pad(g)), "OK", []idCall{
		{"DescribeProxyGroupStatistics", statsParams("GroupId", pad(g))},
		{"DescribeTCPListeners", map[string]any{"GroupId": pad(g)}},
		{"DescribeProxyGroupDetails", map[string]any{"GroupId": pad(g)}},
		{"ModifyProxyGroupAttribute", map[string]any{"GroupId": pad(g), "GroupName": "renamed"}},
	})
	answersAlike(t, api, fmt.Sprintf("listener %q", pad(lis)), "OK", []idCall{
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
		answersAlike(t, api, fmt.Sprintf("ProxyId %q", blank), "MissingParameter", []idCall{
			{"ModifyProxyConfiguration", map[string]any{"ProxyId": blank, "Bandwidth": 10}},
			{"DestroyProxies", map[string]any{"ProxyIds": []string{blank}, "Force": 0}},
			{"DescribeProxyDetail", map[string]any{"ProxyId": blank}},
			{"DescribeProxyStatistics", statsParams("ProxyId", blank)},
		})
		answersAlike(t, api, fmt.Sprintf("GroupId %q", blank), "MissingParameter", []idCall{
			{"DescribeProxyGroupDetails", map[string]any{"GroupId": blank}},
			{"DeleteProxyGroup", map[string]any{"GroupId": blank}},
			{"OpenProxyGroup", map[string]any{"GroupId": blank}},
			{"ModifyProxyGroupAttribute", map[string]any{"GroupId": blank, "GroupName": "x"}},
			{"DescribeProxyGroupStatistics", statsParams("GroupId", blank)},
		})
	}
}

// TestPaddedLayer7IDsReadAlike guards the layer-7 actions' use of
// idParam: a padded ListenerId or RuleId names the listener or rule in the
// domain, rule, header and error-page actions as in the statistics ones,
// and what they create is stored under the trimmed ID. They looked the
// padded string up as sent: ResourceNotFound for an existing listener.
func TestPaddedLayer7IDsReadAlike(t *testing.T) {
	api, _, lis := httpDomain(t, "a.example.com")
	c := api.GAAP()
	rule := createRule(t, c, lis, "a.example.com", "/")
	pad := func(s string) string { return " " + s + " " }
	answersAlike(t, api, fmt.Sprintf("listener %q and rule %q", pad(lis), pad(rule)), "OK", []idCall{
		{"DescribeRules", map[string]any{"ListenerId": pad(lis)}},
		{"DescribeDomainErrorPageInfo", map[string]any{"ListenerId": pad(lis), "Domain": "a.example.com"}},
		{"DescribeCustomHeader", map[string]any{"RuleId": pad(rule)}},
		{"DescribeRuleRealServers", map[string]any{"RuleId": pad(rule)}},
		{"CreateDomainErrorPageInfo", map[string]any{"ListenerId": pad(lis), "Domain": "a.example.com", "ErrorNos": []int{404}, "Body": "gone"}},
		{"CreateDomain", map[string]any{"ListenerId": pad(lis), "Domain": "b.example.com"}},
		{"ModifyRuleAttribute", map[string]any{"ListenerId": pad(lis), "RuleId": pad(rule), "Path": "/renamed"}},
	})
	waitDomain(t, c, lis, "b.example.com")
	waitRule(t, c, rule)
	if got := *describeRule(t, c, rule).Path; got != "/renamed" {
		t.Errorf("rule %s after ModifyRuleAttribute with padded IDs: path %q, want /renamed", rule, got)
	}
	var pages struct{ ErrorPageSet []struct{ ListenerId string } }
	if err := api.Call(c, "DescribeDomainErrorPageInfo", map[string]any{"ListenerId": lis, "Domain": "a.example.com"}, &pages); err != nil ||
		len(pages.ErrorPageSet) != 1 || pages.ErrorPageSet[0].ListenerId != lis {
		t.Errorf("error pages of %s: %+v, %v; want one, stored under the trimmed ID", lis, pages, err)
	}
	var created struct{ RuleId string }
	if err := api.Call(c, "CreateRule", map[string]any{"ListenerId": pad(lis), "Domain": "b.example.com", "Path": "/",
		"RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0}, &created); err != nil {
		t.Fatalf("CreateRule with a padded ListenerId: %v", err)
	}
	if got := *describeRule(t, c, created.RuleId).ListenerId; got != lis {
		t.Errorf("rule created with a padded ListenerId belongs to %q, want %q", got, lis)
	}
	answersAlike(t, api, "a blank ListenerId", "MissingParameter", []idCall{
		{"DescribeRules", map[string]any{"ListenerId": " "}},
		{"CreateDomain", map[string]any{"ListenerId": " ", "Domain": "c.example.com"}},
		{"ModifyRuleAttribute", map[string]any{"ListenerId": " ", "RuleId": rule, "Path": "/x"}},
		{"DescribeCustomHeader", map[string]any{"RuleId": " "}},
	})
}
