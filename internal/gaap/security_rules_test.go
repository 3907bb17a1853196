package gaap_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/xtest"
)

func ruleIn(cidr, action, proto, ports, alias string) *gaapsdk.SecurityPolicyRuleIn {
	return &gaapsdk.SecurityPolicyRuleIn{SourceCidr: new(cidr), Action: new(action), Protocol: new(proto), DestPortRange: new(ports), AliasName: new(alias)}
}

func createRules(c *gaapsdk.Client, policy string, rules ...*gaapsdk.SecurityPolicyRuleIn) ([]string, error) {
	req := gaapsdk.NewCreateSecurityRulesRequest()
	req.PolicyId, req.RuleList = new(policy), rules
	resp, err := c.CreateSecurityRules(req)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, id := range resp.Response.RuleIdList {
		ids = append(ids, *id)
	}
	return ids, nil
}

func describeRules(t *testing.T, c *gaapsdk.Client, ids ...string) []*gaapsdk.SecurityPolicyRuleOut {
	t.Helper()
	req := gaapsdk.NewDescribeSecurityRulesRequest()
	for _, id := range ids {
		req.SecurityRuleIds = append(req.SecurityRuleIds, new(id))
	}
	resp, err := c.DescribeSecurityRules(req)
	if err != nil {
		t.Fatalf("DescribeSecurityRules: %v", err)
	}
	if int(*resp.Response.TotalCount) != len(resp.Response.SecurityRuleSet) {
		t.Fatalf("TotalCount %d; %d rules returned", *resp.Response.TotalCount, len(resp.Response.SecurityRuleSet))
	}
	return resp.Response.SecurityRuleSet
}

func TestSecurityRules(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	policy := createPolicy(t, c, runningProxy(t, api), "DROP")

	ids, err := createRules(c, policy,
		ruleIn("10.0.0.0/8", "accept", "TCP", "80,443", "office"),
		ruleIn("1.2.3.4", "DROP", "UDP", "3306-20000", strings.Repeat("a", 40)))
	if err != nil {
		t.Fatalf("CreateSecurityRules: %v", err)
	}
	if len(ids) != 2 || !strings.HasPrefix(ids[0], "sr-") || ids[0] == ids[1] {
		t.Fatalf("RuleIdList %v; want two distinct sr-xxxxxxxx", ids)
	}
	d := policyDetail(t, c, policy).Response
	if len(d.RuleList) != 2 {
		t.Fatalf("policy holds %d rules; want 2", len(d.RuleList))
	}
	got := d.RuleList[0]
	if *got.RuleId != ids[0] || *got.SourceCidr != "10.0.0.0/8" || *got.Action != "ACCEPT" || *got.Protocol != "TCP" ||
		*got.DestPortRange != "80,443" || *got.AliasName != "office" || *got.PolicyId != policy {
		t.Fatalf("rule 0 = %+v", *got)
	}
	if a := *d.RuleList[1].AliasName; len(a) != 30 {
		t.Fatalf("alias %q; want truncated to 30 characters", a)
	}

	t.Run("invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			rule *gaapsdk.SecurityPolicyRuleIn
			code string
		}{
			{"bad source", ruleIn("10.0.0.300", "ACCEPT", "TCP", "80", ""), "InvalidParameterValue"},
			{"bad cidr", ruleIn("10.0.0.0/33", "ACCEPT", "TCP", "80", ""), "InvalidParameterValue"},
			{"IPv6 zone", ruleIn("fe80::1%eth0", "ACCEPT", "TCP", "80", ""), "InvalidParameterValue"},
			{"bad action", ruleIn("1.1.1.1", "ALLOW", "TCP", "80", ""), "InvalidParameterValue"},
			{"bad protocol", ruleIn("1.1.1.1", "ACCEPT", "ICMP", "80", ""), "InvalidParameterValue"},
			{"port 0", ruleIn("1.1.1.1", "ACCEPT", "TCP", "0", ""), "InvalidParameterValue"},
			{"port too big", ruleIn("1.1.1.1", "ACCEPT", "TCP", "65536", ""), "InvalidParameterValue"},
			{"reversed range", ruleIn("1.1.1.1", "ACCEPT", "TCP", "2000-1000", ""), "InvalidParameterValue"},
			{"not a port", ruleIn("1.1.1.1", "ACCEPT", "TCP", "http", ""), "InvalidParameterValue"},
			{"signed port", ruleIn("1.1.1.1", "ACCEPT", "TCP", "+80", ""), "InvalidParameterValue"},
			{"duplicate of existing", ruleIn("10.0.0.0/8", "DROP", "TCP", "80,443", ""), "FailedOperation.ProxySecurityPolicyDuplicatedRule"},
			{"duplicate with leading zeros", ruleIn("10.0.0.0/8", "DROP", "TCP", "080, 0443", ""), "FailedOperation.ProxySecurityPolicyDuplicatedRule"},
			// The data plane compares clients unmapped, so an IPv4-mapped
			// source is the IPv4 one and the rule could never match.
			{"duplicate in IPv4-mapped form", ruleIn("::ffff:1.2.3.4", "ACCEPT", "UDP", "3306-20000", ""), "FailedOperation.ProxySecurityPolicyDuplicatedRule"},
			{"duplicate in IPv4-mapped CIDR form", ruleIn("::ffff:10.1.2.3/104", "DROP", "TCP", "80,443", ""), "FailedOperation.ProxySecurityPolicyDuplicatedRule"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := createRules(c, policy, tc.rule)
				wantCode(t, err, tc.code)
			})
		}
		_, err := createRules(c, policy, ruleIn("5.5.5.5", "ACCEPT", "ALL", "ALL", ""), ruleIn("5.5.5.5/32", "DROP", "ALL", "all", ""))
		wantCode(t, err, "FailedOperation.ProxySecurityPolicyDuplicatedRule")
		_, err = createRules(api.GAAP(xtest.Other), policy, ruleIn("6.6.6.6", "ACCEPT", "ALL", "ALL", ""))
		wantCode(t, err, "ResourceNotFound")
		if n := len(policyDetail(t, c, policy).Response.RuleList); n != 2 {
			t.Fatalf("failed calls left %d rules; want 2", n)
		}
	})

	t.Run("modify", func(t *testing.T) {
		req := gaapsdk.NewModifySecurityRuleRequest()
		req.PolicyId, req.RuleId, req.AliasName = new(policy), new(ids[0]), new("renamed")
		req.DestPortRange, req.RuleAction = new("8080"), new("DROP")
		if _, err := c.ModifySecurityRule(req); err != nil {
			t.Fatalf("ModifySecurityRule: %v", err)
		}
		r := describeRules(t, c, ids[0])[0]
		if *r.AliasName != "renamed" || *r.DestPortRange != "8080" || *r.Action != "DROP" || *r.SourceCidr != "10.0.0.0/8" || *r.Protocol != "TCP" {
			t.Fatalf("modified rule = %+v", *r)
		}
		req.DestPortRange = new("3306-20000")
		req.SourceCidr, req.Protocol = new("1.2.3.4"), new("UDP")
		_, err := c.ModifySecurityRule(req)
		wantCode(t, err, "FailedOperation.ProxySecurityPolicyDuplicatedRule")
		req.RuleId = new("sr-00000000")
		_, err = c.ModifySecurityRule(req)
		wantCode(t, err, "ResourceNotFound")
	})

	t.Run("describe", func(t *testing.T) {
		if got := describeRules(t, c, ids[1], "sr-00000000", ids[0]); len(got) != 2 || *got[0].RuleId != ids[1] {
			t.Fatalf("DescribeSecurityRules returned %d rules; want 2 in asked order", len(got))
		}
		if got := describeRules(t, api.GAAP(xtest.Other), ids...); len(got) != 0 {
			t.Fatalf("another account sees %d rules", len(got))
		}
		req := gaapsdk.NewDescribeSecurityRulesRequest()
		for i := range 21 {
			req.SecurityRuleIds = append(req.SecurityRuleIds, new(fmt.Sprintf("sr-%08d", i)))
		}
		_, err := c.DescribeSecurityRules(req)
		wantCode(t, err, "InvalidParameterValue")
	})

	del := gaapsdk.NewDeleteSecurityRulesRequest()
	del.PolicyId, del.RuleIdList = new(policy), []*string{new(ids[0]), new("sr-00000000")}
	_, err = c.DeleteSecurityRules(del)
	wantCode(t, err, "ResourceNotFound")
	del.RuleIdList = del.RuleIdList[:1]
	if _, err := c.DeleteSecurityRules(del); err != nil {
		t.Fatalf("DeleteSecurityRules: %v", err)
	}
	if rules := policyDetail(t, c, policy).Response.RuleList; len(rules) != 1 || *rules[0].RuleId != ids[1] {
		t.Fatalf("after delete the policy holds %d rules; want only %s", len(rules), ids[1])
	}
}

// TestRulePortsReadBackAsWrittenCompareAsSets: DestPortRange reads back
// as written, through Create and a Modify that leaves it out: Terraform's
// tencentcloud_gaap_security_rule accepts 8080-8080, 0443 and 80,0081 and
// sets port from the answer, so a rewritten echo is a change on every
// plan. A rule matching the same traffic as another is still refused (the
// second could never match) however its port set is written: ALL vs
// 1-65535, 80 vs 80,80, 80,443 vs 443,80, 80,81 vs 80-81, 8080-8080 vs
// 8080. A different set (80,82 vs 80-82) is a different rule.
func TestRulePortsReadBackAsWrittenCompareAsSets(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	policy := createPolicy(t, c, runningProxy(t, api), "ACCEPT")
	for i, tc := range []struct {
		first, second string
		same          bool
	}{
		{"ALL", "1-65535", true}, {"80", "80,80", true}, {"80,443", "443,80", true}, {"80,81", "80-81", true},
		{"8080-8080", "8080", true}, {"0443", "443", true}, {"80,0081", "81,80", true}, {"all", "ALL", true},
		{"80,82", "80-82", false},
	} {
		src := fmt.Sprintf("10.0.0.%d", i+1)
		ids, err := createRules(c, policy, ruleIn(src, "DROP", "TCP", tc.first, ""))
		if err != nil {
			t.Fatalf("rule %s: %v", tc.first, err)
		}
		req := gaapsdk.NewModifySecurityRuleRequest()
		req.PolicyId, req.RuleId, req.AliasName = new(policy), new(ids[0]), new("renamed")
		if _, err := c.ModifySecurityRule(req); err != nil {
			t.Fatalf("renaming rule %s: %v", tc.first, err)
		}
		if got := *describeRules(t, c, ids[0])[0].DestPortRange; got != tc.first {
			t.Errorf("DestPortRange %q reads back as %q", tc.first, got)
		}
		_, err = createRules(c, policy, ruleIn(src, "DROP", "TCP", tc.second, ""))
		switch {
		case !tc.same && err != nil:
			t.Errorf("a rule for ports %q was refused beside one for %q (different port sets): %v", tc.second, tc.first, err)
		case tc.same && err == nil:
			t.Errorf("a rule for ports %q was added beside one for %q (same source, protocol and port set); want FailedOperation.ProxySecurityPolicyDuplicatedRule", tc.second, tc.first)
		case tc.same:
			wantCode(t, err, "FailedOperation.ProxySecurityPolicyDuplicatedRule")
		}
	}
}

// TestStoredDuplicateRulesModifiable: the previous release compared port
// lists as text, so it stored two rules of one source and protocol on
// "80,443" and "443,80", duplicates now. Either keeps accepting a Modify
// that leaves its match (source, protocol, ports) as it is, such as a new
// AliasName or Action; a Modify that makes a rule match another's traffic
// is still refused.
func TestStoredDuplicateRulesModifiable(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	policy := createPolicy(t, c, runningProxy(t, api), "ACCEPT")
	ids, err := createRules(c, policy, ruleIn("10.0.0.0/8", "DROP", "TCP", "80,443", "a"), ruleIn("10.0.0.0/8", "DROP", "TCP", "8080", "c"))
	if err != nil {
		t.Fatal(err)
	}
	// The second rule of the pair, as the previous release stored it.
	const stored = "sr-0ld00002"
	rewriteRow(t, api, model.KindPolicy, policy, func(row map[string]any) {
		row["rules"] = append(row["rules"].([]any), map[string]any{"id": stored, "alias": "b", "sourceCidr": "10.0.0.0/8",
			"action": "DROP", "protocol": "TCP", "destPortRange": "443,80"})
	})
	modify := func(rule string, set func(*gaapsdk.ModifySecurityRuleRequest)) error {
		req := gaapsdk.NewModifySecurityRuleRequest()
		req.PolicyId, req.RuleId = new(policy), new(rule)
		set(req)
		_, err := c.ModifySecurityRule(req)
		return err
	}
	for _, rule := range []string{ids[0], stored} {
		if err := modify(rule, func(r *gaapsdk.ModifySecurityRuleRequest) { r.AliasName = new("renamed") }); err != nil {
			t.Errorf("renaming stored rule %s: %v", rule, err)
		}
		if err := modify(rule, func(r *gaapsdk.ModifySecurityRuleRequest) { r.RuleAction = new("ACCEPT"); r.AliasName = new("x") }); err != nil {
			t.Errorf("changing only the action of stored rule %s: %v", rule, err)
		}
	}
	if err := modify(stored, func(r *gaapsdk.ModifySecurityRuleRequest) { r.DestPortRange = new("443,080"); r.AliasName = new("x") }); err != nil {
		t.Errorf("rewriting the stored rule's ports as the same set: %v", err)
	}
	err = modify(ids[1], func(r *gaapsdk.ModifySecurityRuleRequest) { r.DestPortRange = new("80,443"); r.AliasName = new("x") })
	wantCode(t, err, "FailedOperation.ProxySecurityPolicyDuplicatedRule")
	// The accepted edits took effect, the refused one did not.
	rules := describeRules(t, c, ids[0], stored, ids[1])
	if len(rules) != 3 {
		t.Fatalf("DescribeSecurityRules returned %d of the 3 rules", len(rules))
	}
	for _, r := range rules {
		want := []string{"x", "ACCEPT", "443,080"} // as written
		switch *r.RuleId {
		case ids[0]:
			want[2] = "80,443"
		case ids[1]:
			want = []string{"c", "DROP", "8080"}
		}
		if got := []string{*r.AliasName, *r.Action, *r.DestPortRange}; !slices.Equal(got, want) {
			t.Errorf("rule %s: alias, action, ports = %v; want %v", *r.RuleId, got, want)
		}
	}
}

// TestDescribeSecurityRulesRepeatedID: a rule ID asked twice is answered
// and counted once (TotalCount is "返回的安全规则详情总数", and there is
// one rule), the order of first mention kept.
func TestDescribeSecurityRulesRepeatedID(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	policy := createPolicy(t, c, runningProxy(t, api), "ACCEPT")
	ids, err := createRules(c, policy, ruleIn("10.0.0.1", "DROP", "ALL", "ALL", ""), ruleIn("10.0.0.2", "DROP", "ALL", "ALL", ""))
	if err != nil {
		t.Fatal(err)
	}
	a, b := ids[0], ids[1]
	var got []string
	for _, r := range describeRules(t, c, b, a, b, a) {
		got = append(got, *r.RuleId)
	}
	if want := []string{b, a}; !slices.Equal(got, want) {
		t.Fatalf("DescribeSecurityRules(%s, %s, %s, %s): %v; want %v", b, a, b, a, got, want)
	}
}
