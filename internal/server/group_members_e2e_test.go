package server_test

import (
	"net/netip"
	"strings"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"
)

// groupStatus is DescribeProxyGroupDetails' Status code.
func (n *node) groupStatus(g string) int64 {
	n.t.Helper()
	d := gaapsdk.NewDescribeProxyGroupDetailsRequest()
	d.GroupId = new(g)
	r, err := n.c.DescribeProxyGroupDetails(d)
	if err != nil {
		n.t.Fatal(err)
	}
	return *r.Response.ProxyGroupDetail.Status
}

// serves reports whether a client on src gets "ok" from addr.
func (n *node) serves(src netip.Addr, addr netip.AddrPort) bool {
	got, err := fetchFrom(src, addr)
	return err == nil && got == "ok"
}

// TestGroupMembersEndToEnd drives a group's L4 listener through its
// members' life: every member serves it, a late member starts serving it,
// closing one member stops only its address, the group's policy applies on
// every member, closing the group stops all, destroying one stops only its.
func TestGroupMembersEndToEnd(t *testing.T) {
	n := startNode(t)
	g, ms, ips := n.groupOf("SouthChina", "Hongkong")
	_, port := n.groupTCPListener(g, ips[0], "ok")
	src := origins.Next()
	at := func(ip netip.Addr) netip.AddrPort { return netip.AddrPortFrom(ip, uint16(port)) }
	for _, ip := range ips {
		n.until("member "+ip.String()+" serves", func() bool { return n.serves(src, at(ip)) })
	}
	// A late member serves the group's listener.
	cr := gaapsdk.NewCreateProxyRequest()
	cr.ProjectId, cr.ProxyName, cr.AccessRegion = new(int64(0)), new("late"), new("Japan")
	cr.Bandwidth, cr.Concurrent, cr.GroupId = new(uint64(10)), new(uint64(2)), new(g)
	resp, err := n.c.CreateProxy(cr)
	if err != nil {
		t.Fatal(err)
	}
	late := *resp.Response.InstanceId
	lateIP := n.proxyIP(late)
	n.until("late member serves", func() bool { return n.serves(src, at(lateIP)) })
	if st := n.groupStatus(g); st != 0 {
		t.Errorf("group status after the late member runs: %d; want 0", st)
	}

	// Closing one member stops only its address.
	cl := gaapsdk.NewCloseProxiesRequest()
	cl.ProxyIds = []*string{new(ms[0])}
	if _, err := n.c.CloseProxies(cl); err != nil {
		t.Fatal(err)
	}
	n.until("closed member refuses", func() bool { _, err := fetchFrom(src, at(ips[0])); return err != nil })
	if !n.serves(src, at(ips[1])) || !n.serves(src, at(lateIP)) {
		t.Fatalf("other members stopped serving when %s was closed", ms[0])
	}
	n.until("group RUNNING with one member closed", func() bool { return n.groupStatus(g) == 0 })

	// The group's policy applies on every member (incl. the closed one's reopening).
	pc := gaapsdk.NewCreateSecurityPolicyRequest()
	pc.GroupId, pc.DefaultAction = new(g), new("DROP")
	pr, err := n.c.CreateSecurityPolicy(pc)
	if err != nil {
		t.Fatal(err)
	}
	pol := *pr.Response.PolicyId
	allowed := origins.Next()
	rr := gaapsdk.NewCreateSecurityRulesRequest()
	rr.PolicyId, rr.RuleList = &pol, []*gaapsdk.SecurityPolicyRuleIn{policyRule(allowed.String()+"/32", "TCP", "ALL", "ACCEPT")}
	if _, err := n.c.CreateSecurityRules(rr); err != nil {
		t.Fatal(err)
	}
	n.openPolicy(ms[1], pol)
	for _, ip := range []netip.Addr{ips[1], lateIP} {
		n.until("policy denies on "+ip.String(), func() bool { got, _ := fetchFrom(src, at(ip)); return got == "" })
		if !n.serves(allowed, at(ip)) {
			t.Errorf("allowed source refused on %v", ip)
		}
	}

	// Closing the group stops every member; opening it brings all back.
	cg := gaapsdk.NewCloseProxyGroupRequest()
	cg.GroupId = new(g)
	if _, err := n.c.CloseProxyGroup(cg); err != nil {
		t.Fatal(err)
	}
	for _, ip := range []netip.Addr{ips[1], lateIP} {
		n.until("closed group refuses on "+ip.String(), func() bool { _, err := fetchFrom(allowed, at(ip)); return err != nil })
	}
	n.until("group CLOSED", func() bool { return n.groupStatus(g) == 5 })
	og := gaapsdk.NewOpenProxyGroupRequest()
	og.GroupId = new(g)
	if _, err := n.c.OpenProxyGroup(og); err != nil {
		t.Fatal(err)
	}
	for _, ip := range append(ips, lateIP) {
		n.until("reopened group serves on "+ip.String(), func() bool { return n.serves(allowed, at(ip)) })
	}
	n.until("group RUNNING", func() bool { return n.groupStatus(g) == 0 })

	// Destroying one member stops only its address.
	d := gaapsdk.NewDestroyProxiesRequest()
	d.ProxyIds, d.Force = []*string{new(late)}, new(int64(0))
	if _, err := n.c.DestroyProxies(d); err != nil {
		t.Fatal(err)
	}
	n.until("destroyed member refuses", func() bool { _, err := fetchFrom(allowed, at(lateIP)); return err != nil })
	for _, ip := range ips {
		if !n.serves(allowed, at(ip)) {
			t.Errorf("member %v stopped serving when %s was destroyed", ip, late)
		}
	}

	// DeleteProxyGroup without Force: members remain.
	dg := gaapsdk.NewDeleteProxyGroupRequest()
	dg.GroupId, dg.Force = new(g), new(uint64(0))
	if _, err := n.c.DeleteProxyGroup(dg); err == nil || !strings.Contains(err.Error(), "FailedOperation.DeleteProxyGroupProxyRemained") {
		t.Fatalf("DeleteProxyGroup Force=0 with members: %v; want FailedOperation.DeleteProxyGroupProxyRemained", err)
	}
	dg.Force = new(uint64(1))
	if _, err := n.c.DeleteProxyGroup(dg); err != nil {
		t.Fatal(err)
	}
	for _, ip := range ips {
		n.until("deleted group refuses on "+ip.String(), func() bool { _, err := fetchFrom(allowed, at(ip)); return err != nil })
	}
}

// TestGroupListenerWhileMemberClosed: a group listener created while
// one member is closed runs on the other member and, once the closed one
// is opened, on it too; a UDP group listener serves on a late member.
func TestGroupListenerWhileMemberClosed(t *testing.T) {
	n := startNode(t)
	g, ms, ips := n.groupOf("SouthChina", "Hongkong")
	cl := gaapsdk.NewCloseProxiesRequest()
	cl.ProxyIds = []*string{new(ms[0])}
	if _, err := n.c.CloseProxies(cl); err != nil {
		t.Fatal(err)
	}
	n.until("member closed", func() bool { return n.groupStatus(g) == 0 })
	_, port := n.groupTCPListener(g, ips[1], "ok")
	src := origins.Next()
	at := func(ip netip.Addr) netip.AddrPort { return netip.AddrPortFrom(ip, uint16(port)) }
	n.until("open member serves", func() bool { return n.serves(src, at(ips[1])) })
	if _, err := fetchFrom(src, at(ips[0])); err == nil {
		t.Errorf("closed member accepts")
	}
	op := gaapsdk.NewOpenProxiesRequest()
	op.ProxyIds = []*string{new(ms[0])}
	if _, err := n.c.OpenProxies(op); err != nil {
		t.Fatal(err)
	}
	n.until("reopened member serves the listener created while closed", func() bool { return n.serves(src, at(ips[0])) })
}

// TestJoinClosedGroup: after CloseProxyGroup the group reads CLOSED (5)
// and carries no traffic ("通道组关闭后，不再产生流量"); CreateProxy with its
// GroupId added a RUNNING member that served the closed group's listener
// and turned the group back to RUNNING without OpenProxyGroup. It is
// refused.
func TestJoinClosedGroup(t *testing.T) {
	n := startNode(t)
	g, _, ips := n.groupOf("SouthChina")
	_, port := n.groupTCPListener(g, ips[0], "ok")
	src := origins.Next()
	cg := gaapsdk.NewCloseProxyGroupRequest()
	cg.GroupId = new(g)
	if _, err := n.c.CloseProxyGroup(cg); err != nil {
		t.Fatal(err)
	}
	n.until("group CLOSED", func() bool { return n.groupStatus(g) == 5 })
	cr := gaapsdk.NewCreateProxyRequest()
	cr.ProjectId, cr.ProxyName, cr.AccessRegion = new(int64(0)), new("late"), new("Hongkong")
	cr.Bandwidth, cr.Concurrent, cr.GroupId = new(uint64(10)), new(uint64(2)), new(g)
	resp, err := n.c.CreateProxy(cr)
	if err == nil {
		late := *resp.Response.InstanceId
		t.Errorf("CreateProxy into the CLOSED group %s made %s (group status %d, serving its listener: %v); want it refused",
			g, late, n.groupStatus(g), n.serves(src, netip.AddrPortFrom(n.proxyIP(late), uint16(port))))
	} else if !strings.Contains(err.Error(), "is closed") {
		t.Errorf("CreateProxy into the CLOSED group: %v; want it refused as closed", err)
	}
}
