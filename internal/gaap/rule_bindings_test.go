package gaap_test

import (
	"context"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestOwnerBindingsShrinkPastBound: a proxy stored past
// model.MaxOwnerBindings by a release before the cap (its HTTP rules held
// more) can still lower its bindings: BindRuleRealServers with a smaller
// (here empty) set takes bindings away and cannot make the proxy heavier,
// as EdgeOne's ModifyOriginGroup allows fewer records for this reason; a
// set that grows is refused.
func TestOwnerBindingsShrinkPastBound(t *testing.T) {
	t.Parallel()
	api, proxy, l, origin := bindingFixture(t)
	c := api.GAAP()
	createDomain(t, c, l, "a.example.com")
	resp, err := c.CreateRule(ruleRequest(l, "a.example.com", "/"))
	if err != nil {
		t.Fatal(err)
	}
	rule := *resp.Response.RuleId
	bind := func(n int) error {
		waitRule(t, c, rule)
		return bindPorts(c, rule, origin, n)
	}
	if err := bind(model.MaxBindings); err != nil {
		t.Fatal(err)
	}
	// What an older release let the proxy hold besides: a listener whose
	// bindings bring the proxy past the bound.
	big := &model.Listener{Base: model.Base{ID: model.NewID(model.PrefixListener)}, Name: "old", ProxyID: proxy,
		Protocol: model.TCP, Port: 40000 + time.Now().UnixNano()%20000, Status: model.StatusRunning}
	for p := range model.MaxOwnerBindings + 50 {
		big.Bindings = append(big.Bindings, model.Bound{RealServerID: "rs-00000000", Port: int64(1 + p%60000), Weight: 1})
	}
	err = api.Store.Update(context.Background(), func(tx store.Tx) error {
		return (&resource.Tx{Store: tx, Account: xtest.Root.Uin, Now: time.Now()}).Insert(big)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Unbinding the rule's origins lowers the proxy from 20,150 to 20,050.
	if err := bind(0); err != nil {
		t.Errorf("unbinding a rule's origins on a proxy past the bound was refused: %v", err)
	}
	wantCode(t, bind(1), "FailedOperation")
}
