package gaap_test

import (
	"sync"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/xtest"
)

// Checks of parameters that the listings and rule changes got wrong.

// TestRuleSNIWildcardRefused: ServerNameIndication is the host name a
// rule sends to its origins in the TLS ClientHello (RFC 6066 3: one name,
// no wildcard). It was checked as a listener domain, which may be a
// wildcard: a rule sent "*.example.com", which no origin has a
// certificate for, and with RealServerAuth every handshake failed.
func TestRuleSNIWildcardRefused(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	id := createRule(t, c, listener, "www.example.com", "/a")
	var none map[string]any
	err := api.Call(c, "ModifyRuleAttribute", map[string]any{"ListenerId": listener, "RuleId": id, "ForwardProtocol": "HTTPS",
		"ServerNameIndicationSwitch": "ON", "ServerNameIndication": "*.example.com"}, &none)
	wantCode(t, err, "InvalidParameterValue")
}

// TestCheckDomainCaseInsensitive: ModifyRuleAttribute refuses a change of
// CheckParams.Domain; the rule's own domain sent back in another case is
// no change (domains compare without case in every action), and was
// refused.
func TestCheckDomainCaseInsensitive(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "Www.Example.com")
	c := api.GAAP()
	id := createRule(t, c, listener, "Www.Example.com", "/a")
	r := describeRule(t, c, id)
	cp := *r.CheckParams
	cp.Domain = r.Domain // the rule's own domain, as DescribeRules shows it
	cp.DelayLoop = new(uint64(10))
	mod := gaapsdk.NewModifyRuleAttributeRequest()
	mod.ListenerId, mod.RuleId, mod.CheckParams = new(listener), new(id), &cp
	if _, err := c.ModifyRuleAttribute(mod); err != nil {
		t.Fatalf("ModifyRuleAttribute with CheckParams.Domain %q (the same domain): %v", *cp.Domain, err)
	}
}

// TestRuleOfDeletingDomainCode: a domain being deleted refuses changes
// with FailedOperation.DomainStatusNotInRunning where the action lists it
// (docs/api-l7.md, "Status"), DeleteRule and BindRuleRealServers
// included. Its rules, being deleted with it, answered ListenerHasTask, a
// "busy, retry" code.
func TestRuleOfDeletingDomainCode(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "gone.example.com")
	c := api.GAAP()
	id := createRule(t, c, listener, "gone.example.com", "/")
	release := sync.OnceFunc(api.Controller.Hold())
	defer release()
	del := gaapsdk.NewDeleteDomainRequest()
	del.ListenerId, del.Domain, del.Force = new(listener), new("gone.example.com"), new(uint64(1))
	if _, err := c.DeleteDomain(del); err != nil {
		t.Fatal(err)
	}
	bind := gaapsdk.NewBindRuleRealServersRequest()
	bind.RuleId = new(id)
	_, err := c.BindRuleRealServers(bind)
	dr := gaapsdk.NewDeleteRuleRequest()
	dr.ListenerId, dr.RuleId, dr.Force = new(listener), new(id), new(uint64(1))
	_, err2 := c.DeleteRule(dr)
	wantCode(t, err, "FailedOperation.DomainStatusNotInRunning")
	wantCode(t, err2, "FailedOperation.DomainStatusNotInRunning")
}

// TestHTTPSListenersHttp3FilterValue: DescribeHTTPSListeners'
// Http3Supported filter is 0 or 1; any other value matched nothing, so a
// typo read as "no listeners".
func TestHTTPSListenersHttp3FilterValue(t *testing.T) {
	t.Parallel()
	api, _, listener, _ := httpsSetup(t)
	var out map[string]any
	err := api.Call(api.GAAP(), "DescribeHTTPSListeners", map[string]any{"ListenerId": listener, "Http3Supported": 7}, &out)
	wantCode(t, err, "InvalidParameterValue")
}

// TestEmptySearchValueIsNoFilter: an empty SearchValue filters nothing,
// yet it was refused next to Port or ListenerName (which SearchValue
// excludes), so a client that always sends the field could not filter by
// port or name.
func TestEmptySearchValueIsNoFilter(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	createTCP(t, c, tcpRequest(proxy, 9120, 9121))
	var out struct {
		TotalCount  int64
		ListenerSet []struct{ Port int64 }
	}
	for _, p := range []map[string]any{
		{"ProxyId": proxy, "SearchValue": "", "Port": 9121},
		{"ProxyId": proxy, "SearchValue": "", "ListenerName": "tcp"},
	} {
		if err := api.Call(c, "DescribeTCPListeners", p, &out); err != nil {
			t.Errorf("DescribeTCPListeners(%v): %v; want the listeners matching, an empty SearchValue being no search", p, err)
		}
		if err := api.Call(c, "DescribeUDPListeners", p, nil); err != nil {
			t.Errorf("DescribeUDPListeners(%v): %v; want an empty list", p, err)
		}
	}
}

// TestRuleEditKeepsStoredWildcardSNI: a rule stored with a wildcard
// ServerNameIndication (accepted before ValidateSNI) stays editable for
// what a call changes, as an older ForcedRedirect does
// (TestRuleEditKeepsStoredRedirect): the check runs only on a value the
// call sends.
func TestRuleEditKeepsStoredWildcardSNI(t *testing.T) {
	t.Parallel()
	api, _, listener := httpDomain(t, "www.example.com")
	c := api.GAAP()
	rule := createRule(t, c, listener, "www.example.com", "/")
	// The row as the previous release stored it.
	rewriteRow(t, api, model.KindRule, rule, func(row map[string]any) {
		row["forwardProtocol"], row["sniSwitch"], row["sni"] = "HTTPS", "ON", "*.example.com"
	})
	pace()
	err := api.Call(c, "ModifyRuleAttribute", map[string]any{"ListenerId": listener, "RuleId": rule, "Scheduler": "wrr"}, nil)
	if err != nil {
		t.Fatalf("changing only the Scheduler of a rule stored with ServerNameIndication *.example.com: %v; want it changed (the SNI was not sent)", err)
	}
}
