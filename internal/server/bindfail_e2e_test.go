package server_test

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// TestBindFailureFailsOnlyThatListener occupies a port on the proxy's
// address before a listener asks for it: that listener stays in creation
// and its task fails, while another listener of the proxy serves.
func TestBindFailureFailsOnlyThatListener(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	port := edgetest.FreePort(t, ip)
	squatter, err := net.Listen("tcp", netip.AddrPortFrom(ip, uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()

	req := gaapsdk.NewCreateTCPListenersRequest()
	req.ProxyId, req.ListenerName, req.Ports = &proxy, new("taken"), []*uint64{new(uint64(port))}
	req.Scheduler, req.RealServerType, req.HealthCheck = new("rr"), new("IP"), new(uint64(0))
	resp, err := n.c.CreateTCPListeners(req)
	if err != nil {
		t.Fatal(err)
	}
	task := *resp.Response.RequestId
	var status struct{ Status string }
	n.until("task FAIL", func() bool {
		if err := n.Call(n.c, "DescribeTaskStatus", map[string]string{"TaskId": task}, &status); err != nil {
			t.Fatal(err)
		}
		return status.Status == "FAIL"
	})
	d := gaapsdk.NewDescribeTCPListenersRequest()
	d.ListenerId = resp.Response.ListenerIds[0]
	got, err := n.c.DescribeTCPListeners(d)
	if err != nil || *got.Response.ListenerSet[0].ListenerStatus != 1 {
		t.Fatalf("listener on a taken port: got %+v, %v; want status 1 (creating)", got, err)
	}

	_, addr := n.listenerTo(proxy, ip, "ok")
	if got, err := fetchFrom(origins.Next(), addr); err != nil || got != "ok" {
		t.Fatalf("the proxy's other listener: got %q, %v; want ok", got, err)
	}
	// Once the port is free the retry brings the listener up.
	squatter.Close()
	n.waitListener(*resp.Response.ListenerIds[0])

	// A listener stuck in creation on a taken port can be deleted.
	port2 := edgetest.FreePort(t, ip)
	squatter2, err := net.Listen("tcp", netip.AddrPortFrom(ip, uint16(port2)).String())
	if err != nil {
		t.Fatal(err)
	}
	defer squatter2.Close()
	req.Ports, req.ListenerName = []*uint64{new(uint64(port2))}, new("stuck")
	resp, err = n.c.CreateTCPListeners(req)
	if err != nil {
		t.Fatal(err)
	}
	stuck := resp.Response.ListenerIds[0]
	task = *resp.Response.RequestId
	n.until("second task FAIL", func() bool {
		if err := n.Call(n.c, "DescribeTaskStatus", map[string]string{"TaskId": task}, &status); err != nil {
			t.Fatal(err)
		}
		return status.Status == "FAIL"
	})
	del := gaapsdk.NewDeleteListenersRequest()
	del.ProxyId, del.ListenerIds, del.Force = &proxy, []*string{stuck}, new(uint64(0))
	out, err := n.c.DeleteListeners(del)
	if err != nil || len(out.Response.OperationSucceedListenerSet) != 1 {
		t.Fatalf("deleting the stuck listener: %v, %v", out, err)
	}
	n.until("stuck listener gone", func() bool {
		d := gaapsdk.NewDescribeTCPListenersRequest()
		d.ListenerId = stuck
		got, err := n.c.DescribeTCPListeners(d)
		return err == nil && len(got.Response.ListenerSet) == 0
	})
}

// reopenedOnTakenPort is a proxy with one TCP listener whose port
// another socket takes while the proxy is closed, then reopened with
// OpenProxies: it returns the proxy, the listener, its address, the
// OpenProxies call's RequestId (its task) and a describe of the
// listener's ListenerStatus. The squatter holds the port until the
// returned free is called (or the test ends).
type reopenedOnTakenPort struct {
	proxy, listener, task string
	addr                  netip.AddrPort
	status                func() uint64
	free                  func()
}

func reopenOnTakenPort(t *testing.T, n *node) reopenedOnTakenPort {
	t.Helper()
	proxy, ip := n.proxy()
	listener, addr := n.listenerTo(proxy, ip, "back")
	r := reopenedOnTakenPort{proxy: proxy, listener: listener, addr: addr}
	r.status = func() uint64 {
		var out struct {
			ListenerSet []struct{ ListenerStatus uint64 }
		}
		if err := n.Call(n.c, "DescribeTCPListeners", map[string]any{"ListenerId": listener}, &out); err != nil || len(out.ListenerSet) != 1 {
			t.Fatalf("describe: %+v, %v", out, err)
		}
		return out.ListenerSet[0].ListenerStatus
	}
	r.task, r.free = reopenWithPortTaken(t, n, proxy, addr)
	return r
}

// reopenWithPortTaken closes proxy, takes addr with another socket once the
// drain has freed it, and reopens the proxy (RUNNING); it returns
// OpenProxies' RequestId (its task) and a func that frees the port (also
// called when the test ends).
func reopenWithPortTaken(t *testing.T, n *node, proxy string, addr netip.AddrPort) (task string, free func()) {
	t.Helper()
	proxyStatus := func(want string) func() bool {
		return func() bool {
			var out struct{ ProxySet []struct{ Status string } }
			if err := n.Call(n.c, "DescribeProxies", map[string]any{"ProxyIds": []string{proxy}}, &out); err != nil {
				t.Fatal(err)
			}
			return len(out.ProxySet) == 1 && out.ProxySet[0].Status == want
		}
	}
	if err := n.Call(n.c, "CloseProxies", map[string]any{"ProxyIds": []string{proxy}}, nil); err != nil {
		t.Fatal(err)
	}
	n.until("proxy closed", proxyStatus("CLOSED"))
	var squatter net.Listener
	n.until("port free after the drain", func() bool {
		var err error
		squatter, err = net.Listen("tcp", addr.String())
		return err == nil
	})
	free = func() { squatter.Close() }
	t.Cleanup(free)
	var open struct{ RequestId string }
	if err := n.Call(n.c, "OpenProxies", map[string]any{"ProxyIds": []string{proxy}}, &open); err != nil {
		t.Fatal(err)
	}
	n.until("proxy running", proxyStatus("RUNNING"))
	return open.RequestId, free
}

// TestReopenOnTakenPort: a listener whose port is taken while its proxy
// is closed cannot come back with OpenProxies; it reads as still coming
// up (status 1), not running, until the port is free again.
func TestReopenOnTakenPort(t *testing.T) {
	n := startNode(t)
	r := reopenOnTakenPort(t, n)
	n.until("listener reading as coming up", func() bool { return r.status() == 1 })
	time.Sleep(1500 * time.Millisecond) // The controller retries every second meanwhile.
	if st := r.status(); st != 1 {
		t.Fatalf("listener status %d while its port is still taken; want 1 (coming up)", st)
	}
	r.free()
	n.until("listener running again", func() bool { return r.status() == 0 })
	if got, err := fetchFrom(origins.Next(), r.addr); err != nil || got != "back" {
		t.Fatalf("after the port was freed: got %q, %v; want back", got, err)
	}
}

// TestOpenProxiesTaskFailsOnTakenPort: OpenProxies' task reports what
// reopening did, and reopening brings back the proxy's listeners: one
// that cannot bind (TestReopenOnTakenPort) makes the task FAIL, as a
// client polling it (as Terraform polls CreateProxy's) must learn.
func TestOpenProxiesTaskFailsOnTakenPort(t *testing.T) {
	n := startNode(t)
	r := reopenOnTakenPort(t, n)
	var task struct{ Status string }
	n.until("OpenProxies task finished", func() bool {
		if err := n.Call(n.c, "DescribeTaskStatus", map[string]string{"TaskId": r.task}, &task); err != nil {
			t.Fatal(err)
		}
		return task.Status != "RUNNING"
	})
	time.Sleep(1500 * time.Millisecond) // a retry meanwhile must not change the verdict
	if err := n.Call(n.c, "DescribeTaskStatus", map[string]string{"TaskId": r.task}, &task); err != nil {
		t.Fatal(err)
	}
	if task.Status != "FAIL" {
		t.Fatalf("OpenProxies task %s while the proxy's listener cannot bind %s; want FAIL", task.Status, r.addr)
	}
}

// TestL7TaskFailsWhileListenerCannotBind: domains and rules serve only
// through their listener's socket. On an HTTP listener that cannot bind
// again after OpenProxies (TestReopenOnTakenPort; its stored status is 0,
// so layer-7 changes are accepted), the task of each change (CreateDomain,
// ModifyDomain, CreateRule, ModifyRuleAttribute) reads FAIL, consistent
// with DescribeRules showing the domain not running, rather than SUCCESS
// while nothing serves it; a deletion (DeleteRule) is done once the rule
// is gone and reads SUCCESS.
func TestL7TaskFailsWhileListenerCannotBind(t *testing.T) {
	n := startNode(t)
	proxy, ip := n.proxy()
	listener, port := n.httpListener(proxy, ip)
	reopenWithPortTaken(t, n, proxy, netip.AddrPortFrom(ip, uint16(port)))
	n.until("HTTP listener reading as coming up", func() bool {
		var out struct {
			ListenerSet []struct{ ListenerStatus int64 }
		}
		if err := n.Call(n.c, "DescribeHTTPListeners", map[string]any{"ListenerId": listener}, &out); err != nil || len(out.ListenerSet) != 1 {
			t.Fatalf("describe: %+v, %v", out, err)
		}
		return out.ListenerSet[0].ListenerStatus == 1
	})
	// change makes a layer-7 change and returns its task's final status
	// and the RuleId it answered, if any.
	change := func(action string, params map[string]any) (task, rule string) {
		t.Helper()
		var out struct{ RequestId, RuleId string }
		if err := n.Call(n.c, action, params, &out); err != nil {
			t.Fatalf("%s on the listener that cannot bind: %v", action, err)
		}
		return n.taskStatus(out.RequestId), out.RuleId
	}
	want := func(action, task, status string) {
		t.Helper()
		if task != status {
			t.Errorf("%s task %s while listener %s cannot bind port %d; want %s", action, task, listener, port, status)
		}
	}
	task, _ := change("CreateDomain", map[string]any{"ListenerId": listener, "Domain": "late.example.com"})
	want("CreateDomain", task, "FAIL")
	task, _ = change("ModifyDomain", map[string]any{"ListenerId": listener, "OldDomain": "late.example.com", "NewDomain": "later.example.com"})
	want("ModifyDomain", task, "FAIL")
	var rules struct {
		DomainRuleSet []struct {
			Domain       string
			DomainStatus int64
		}
	}
	if err := n.Call(n.c, "DescribeRules", map[string]any{"ListenerId": listener}, &rules); err != nil || len(rules.DomainRuleSet) != 1 {
		t.Fatalf("DescribeRules: %+v, %v", rules, err)
	}
	if d := rules.DomainRuleSet[0]; d.Domain != "later.example.com" || d.DomainStatus != 1 {
		t.Errorf("domain on the listener that cannot bind: %+v; want later.example.com reading 1 (not served), as its task says", d)
	}
	task, rule := change("CreateRule", map[string]any{"ListenerId": listener, "Domain": "later.example.com", "Path": "/",
		"RealServerType": "IP", "Scheduler": "rr", "HealthCheck": 0})
	want("CreateRule", task, "FAIL")
	task, _ = change("ModifyRuleAttribute", map[string]any{"ListenerId": listener, "RuleId": rule, "Scheduler": "wrr"})
	want("ModifyRuleAttribute", task, "FAIL")
	task, _ = change("DeleteRule", map[string]any{"ListenerId": listener, "RuleId": rule, "Force": 0})
	want("DeleteRule", task, "SUCCESS")
}

// TestReopenedListenerOnTakenPortDeletable: a listener that cannot bind
// again after OpenProxies reads ListenerStatus 1; a change to it is still
// accepted (stored, it applies once the port is free), and DeleteListeners
// deletes it whatever it is waiting for, as docs/api-listeners.md promises,
// rather than refusing a listener whose change can never settle.
func TestReopenedListenerOnTakenPortDeletable(t *testing.T) {
	n := startNode(t)
	r := reopenOnTakenPort(t, n)
	n.until("listener reading as coming up", func() bool { return r.status() == 1 })

	if err := n.Call(n.c, "ModifyTCPListenerAttribute", map[string]any{"ProxyId": r.proxy, "ListenerId": r.listener, "Scheduler": "lc"}, nil); err != nil {
		t.Fatalf("ModifyTCPListenerAttribute on the listener that cannot bind: %v", err)
	}
	var del struct {
		OperationFailedListenerSet, OperationSucceedListenerSet, InvalidStatusListenerSet []string
	}
	if err := n.Call(n.c, "DeleteListeners", map[string]any{"ProxyId": r.proxy, "ListenerIds": []string{r.listener}, "Force": 1}, &del); err != nil {
		t.Fatal(err)
	}
	if len(del.OperationSucceedListenerSet) != 1 {
		t.Fatalf("DeleteListeners on the listener that cannot bind (reads %d): %+v; want it deleted", r.status(), del)
	}
}

// TestBindFailureFailsTeoRule occupies one port of a two-port EdgeOne
// rule: the rule reads fail (the spec's 部署失败), not online, while its
// other port serves, and online once the port is free and the retry
// binds it.
func TestBindFailureFailsTeoRule(t *testing.T) {
	e := newTeoEnv(t)
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(teoOrigins.Next(), 0), edgetest.Echo)
	taken := edgetest.FreePort(t, e.access)
	squatter, err := net.Listen("tcp", netip.AddrPortFrom(e.access, uint16(taken)).String())
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	free := edgetest.FreePort(t, e.access)
	rule := e.createRule(t, tcpRule([]string{strconv.Itoa(free), strconv.Itoa(taken)}, "IP_DOMAIN",
		[]string{origin.Addr.Addr().String()}, origin.Addr))

	e.n.until("rule fail, its free port serving", func() bool { return e.ruleStatus(t, rule) == "fail" && e.dial(free) == nil })
	// Later passes retry the port: the rule must not settle online meanwhile.
	time.Sleep(2 * time.Second)
	if st := e.ruleStatus(t, rule); st != "fail" {
		t.Fatalf("rule with a taken port after retries: Status %q; want fail", st)
	}
	squatter.Close()
	e.n.until("rule online, the freed port serving", func() bool { return e.ruleStatus(t, rule) == "online" && e.dial(taken) == nil })
}

// TestGroupMemberTaskFailsWhenGroupListenerCannotBind: CreateProxy with a
// GroupId brings the group's listeners up on the new member's access IP;
// when one cannot bind there (its port is taken), the call's task reads
// FAIL, as OpenProxies' does, rather than SUCCESS while the member serves
// none of that listener's traffic. The old member keeps serving.
func TestGroupMemberTaskFailsWhenGroupListenerCannotBind(t *testing.T) {
	n := startNode(t)
	g, _, ips := n.groupOf("SouthChina")
	l, port := n.groupTCPListener(g, ips[0], "ok")
	takePortBut(t, ips[0], port)
	var cr struct{ InstanceId, RequestId string }
	if err := n.Call(n.c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "late", "AccessRegion": "Hongkong", "GroupId": g,
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}, &cr); err != nil {
		t.Fatal(err)
	}
	var status struct{ Status string }
	n.until("CreateProxy task finished", func() bool {
		if err := n.Call(n.c, "DescribeTaskStatus", map[string]string{"TaskId": cr.RequestId}, &status); err != nil {
			t.Fatal(err)
		}
		return status.Status != "RUNNING"
	})
	if status.Status != "FAIL" {
		t.Errorf("CreateProxy (GroupId) task: %s although group listener %s cannot bind on the new member; want FAIL", status.Status, l)
	}
	if got, err := fetchFrom(origins.Next(), netip.AddrPortFrom(ips[0], uint16(port))); err != nil || got != "ok" {
		t.Errorf("the old member: got %q, %v; want ok", got, err)
	}
}

// takePortBut takes TCP port on every address of member's /24 but
// member's, until the test ends: the access IP of a proxy that joins its
// group later, unknown before the call, then cannot serve the port.
func takePortBut(t *testing.T, member netip.Addr, port int) {
	t.Helper()
	pfx := netip.PrefixFrom(member, 24).Masked()
	for a := pfx.Addr().Next(); pfx.Contains(a); a = a.Next() {
		if a == member {
			continue
		}
		if ln, err := net.Listen("tcp", netip.AddrPortFrom(a, uint16(port)).String()); err == nil {
			t.Cleanup(func() { ln.Close() })
		}
	}
}

// TestGroupL7TaskFailsWhenMemberCannotBind: a group's HTTP listener that
// cannot bind on one member (its port taken on the member that joined
// last) serves no change there, so CreateDomain's task on it reads FAIL,
// as on a proxy's listener (TestL7TaskFailsWhileListenerCannotBind), and
// the domain reads not running.
func TestGroupL7TaskFailsWhenMemberCannotBind(t *testing.T) {
	n := startNode(t)
	g, _, ips := n.groupOf("SouthChina")
	port := edgetest.FreePort(t, ips[0])
	var created struct{ ListenerId string }
	if err := n.Call(n.c, "CreateHTTPListener", map[string]any{"GroupId": g, "ListenerName": "group-http", "Port": port}, &created); err != nil {
		t.Fatal(err)
	}
	listener := created.ListenerId
	n.waitListener(listener)
	takePortBut(t, ips[0], port)
	n.joinGroup(g, "Hongkong", 2)
	var out struct{ RequestId string }
	if err := n.Call(n.c, "CreateDomain", map[string]any{"ListenerId": listener, "Domain": "late.example.com"}, &out); err != nil {
		t.Fatalf("CreateDomain on the group listener one member cannot bind: %v", err)
	}
	if task := n.taskStatus(out.RequestId); task != "FAIL" {
		t.Errorf("CreateDomain task %s while group listener %s cannot bind port %d on one member; want FAIL", task, listener, port)
	}
	var rules struct {
		DomainRuleSet []struct{ DomainStatus int64 }
	}
	if err := n.Call(n.c, "DescribeRules", map[string]any{"ListenerId": listener}, &rules); err != nil || len(rules.DomainRuleSet) != 1 {
		t.Fatalf("DescribeRules: %+v, %v", rules, err)
	}
	if st := rules.DomainRuleSet[0].DomainStatus; st != 1 {
		t.Errorf("domain on the group listener one member cannot bind reads %d; want 1 (not served), as its task says", st)
	}
}

// TestReopenedListenerOnTakenPortTakesEveryChange: a listener that cannot
// bind again after OpenProxies keeps being managed (docs/api-listeners.md):
// not only its first change is accepted but every later one too, although
// the first cannot settle while the port is taken; the listener reads
// not running meanwhile (its change in progress), and once the port is
// free it serves the last change and reads 0.
func TestReopenedListenerOnTakenPortTakesEveryChange(t *testing.T) {
	n := startNode(t)
	r := reopenOnTakenPort(t, n)
	n.until("listener reading as coming up", func() bool { return r.status() == 1 })
	for _, scheduler := range []string{"lc", "wrr"} {
		var out struct{ RequestId string }
		if err := n.Call(n.c, "ModifyTCPListenerAttribute", map[string]any{"ProxyId": r.proxy, "ListenerId": r.listener, "Scheduler": scheduler}, &out); err != nil {
			t.Fatalf("ModifyTCPListenerAttribute (Scheduler %s) on the listener that cannot bind: %v", scheduler, err)
		}
		if task := n.taskStatus(out.RequestId); task != "FAIL" {
			t.Errorf("ModifyTCPListenerAttribute (Scheduler %s) task %s while the port is taken; want FAIL", scheduler, task)
		}
	}
	if st := r.status(); st == 0 {
		t.Errorf("listener reads 0 (running) while its port is taken")
	}
	r.free()
	n.until("listener running again", func() bool { return r.status() == 0 })
	var d struct{ ListenerSet []struct{ Scheduler string } }
	if err := n.Call(n.c, "DescribeTCPListeners", map[string]any{"ListenerId": r.listener}, &d); err != nil || len(d.ListenerSet) != 1 || d.ListenerSet[0].Scheduler != "wrr" {
		t.Errorf("DescribeTCPListeners after the port was freed: %+v, %v; want Scheduler wrr", d, err)
	}
	if got, err := fetchFrom(origins.Next(), r.addr); err != nil || got != "back" {
		t.Errorf("after the port was freed: got %q, %v; want back", got, err)
	}
}

// groupWithMemberPortTaken makes a group of two members serving a TCP group
// listener bound to an origin that answers "ok", then takes the listener's
// port on the second member's address while that member is closed and
// reopens it (its OpenProxies task FAILs): the listener serves on the first
// member only. It returns the members, their IPs, the listener, its port
// and a func that frees the port.
func groupWithMemberPortTaken(t *testing.T, n *node) (g string, ms []string, ips []netip.Addr, l string, port int, free func()) {
	t.Helper()
	g, ms, ips = n.groupOf("SouthChina", "Hongkong")
	l, port = n.groupTCPListener(g, ips[0], "ok")
	for _, ip := range ips {
		n.until("member "+ip.String()+" serves", func() bool { return n.serves(origins.Next(), netip.AddrPortFrom(ip, uint16(port))) })
	}
	task, free := reopenWithPortTaken(t, n, ms[1], netip.AddrPortFrom(ips[1], uint16(port)))
	if st := n.taskStatus(task); st != "FAIL" {
		t.Fatalf("OpenProxies of the member whose port is taken: task %s; want FAIL", st)
	}
	n.until("the first member serves the group listener", func() bool {
		return n.serves(origins.Next(), netip.AddrPortFrom(ips[0], uint16(port)))
	})
	return g, ms, ips, l, port, free
}

// TestGroupJoinTaskIgnoresOtherMembersPort: CreateProxy with a GroupId
// covers the group's listeners the new member brings up on its own address
// (docs/controller.md "Tasks"). It serves them all, so its task reads
// SUCCESS, although an older member cannot bind one: that socket is not
// this call's, and a client would take a good scale-out for a failed one.
func TestGroupJoinTaskIgnoresOtherMembersPort(t *testing.T) {
	n := startNode(t)
	g, _, _, l, port, _ := groupWithMemberPortTaken(t, n)
	var cr struct{ InstanceId, RequestId string }
	if err := n.Call(n.c, "CreateProxy", map[string]any{"ProjectId": 0, "ProxyName": "late", "AccessRegion": "Japan", "GroupId": g,
		"RealServerRegion": "NorthChina", "Bandwidth": 10, "Concurrent": 2}, &cr); err != nil {
		t.Fatal(err)
	}
	at := netip.AddrPortFrom(n.proxyIP(cr.InstanceId), uint16(port))
	n.until("the new member serves the group listener", func() bool { return n.serves(origins.Next(), at) })
	if st := n.taskStatus(cr.RequestId); st != "SUCCESS" {
		t.Errorf("CreateProxy (GroupId) task %s although the new member serves %s on %v; only another member's port is taken", st, l, at)
	}
	if st := n.tcpListenerStatus(l); st != 1 {
		t.Errorf("group listener %s reads %d while a member cannot bind it; want 1", l, st)
	}
}

// TestGroupMemberReopenTaskIgnoresOtherMembersPort: OpenProxies' task
// covers the group listeners the reopened member runs again on its own
// address; it serves them, so the task reads SUCCESS although another
// member's address has the port taken.
func TestGroupMemberReopenTaskIgnoresOtherMembersPort(t *testing.T) {
	n := startNode(t)
	_, ms, ips, l, port, _ := groupWithMemberPortTaken(t, n)
	at := netip.AddrPortFrom(ips[0], uint16(port))
	if err := n.Call(n.c, "CloseProxies", map[string]any{"ProxyIds": []string{ms[0]}}, nil); err != nil {
		t.Fatal(err)
	}
	n.until("closed member refuses", func() bool { _, err := fetchFrom(origins.Next(), at); return err != nil })
	n.until("member CLOSED", func() bool {
		var r struct{ ProxySet []struct{ Status string } }
		err := n.Call(n.c, "DescribeProxies", map[string]any{"ProxyIds": []string{ms[0]}}, &r)
		return err == nil && len(r.ProxySet) == 1 && r.ProxySet[0].Status == "CLOSED"
	})
	var op struct{ RequestId string }
	if err := n.Call(n.c, "OpenProxies", map[string]any{"ProxyIds": []string{ms[0]}}, &op); err != nil {
		t.Fatal(err)
	}
	n.until("reopened member serves", func() bool { return n.serves(origins.Next(), at) })
	if st := n.taskStatus(op.RequestId); st != "SUCCESS" {
		t.Errorf("OpenProxies task of %s reads %s although it serves %s on %v; only the other member's port is taken", ms[0], st, l, at)
	}
}

// TestGroupListenerOneMemberDownTakesEveryChange: a group listener one
// member cannot bind keeps being managed (docs/api-listeners.md): every
// change is accepted, its task FAILs and it applies on the member that
// serves; the first change used to stay in progress for good, so the next
// one was refused with ListenerHasTask until the other member's port was
// free. The listener reads not running meanwhile, 0 once both members
// serve.
func TestGroupListenerOneMemberDownTakesEveryChange(t *testing.T) {
	n := startNode(t)
	g, _, ips, l, port, free := groupWithMemberPortTaken(t, n)
	var d struct {
		ListenerSet []struct {
			RealServerSet []struct{ RealServerPort int }
		}
	}
	if err := n.Call(n.c, "DescribeTCPListeners", map[string]any{"GroupId": g, "ListenerId": l}, &d); err != nil ||
		len(d.ListenerSet) != 1 || len(d.ListenerSet[0].RealServerSet) != 1 {
		t.Fatalf("DescribeTCPListeners: %+v, %v", d, err)
	}
	originPort := d.ListenerSet[0].RealServerSet[0].RealServerPort // a group listener's RealServerPorts
	for _, name := range []string{"first", "second"} {
		o := edgetest.StartTCP(t, netip.AddrPortFrom(origins.Next(), uint16(originPort)), proxyProtocolName(t, name))
		rs := n.realServers(o.Addr.Addr())
		var out struct{ RequestId string }
		if err := n.Call(n.c, "BindListenerRealServers", map[string]any{"ListenerId": l, "RealServerBindSet": []map[string]any{
			{"RealServerId": rs[0], "RealServerPort": int(o.Addr.Port()), "RealServerIP": o.Addr.Addr().String(), "RealServerWeight": 1}}}, &out); err != nil {
			t.Fatalf("bind %s to group listener %s while one member cannot bind it: %v", name, l, err)
		}
		if task := n.taskStatus(out.RequestId); task != "FAIL" {
			t.Errorf("bind %s: task %s while one member cannot bind the listener; want FAIL", name, task)
		}
		at := netip.AddrPortFrom(ips[0], uint16(port))
		n.until("the serving member answers "+name, func() bool { got, _ := fetchFrom(origins.Next(), at); return got == name })
	}
	if st := n.tcpListenerStatus(l); st == 0 {
		t.Errorf("group listener reads 0 (running) while a member cannot bind it")
	}
	free()
	n.waitListener(l)
	at := netip.AddrPortFrom(ips[1], uint16(port))
	n.until("the freed member answers second", func() bool { got, _ := fetchFrom(origins.Next(), at); return got == "second" })
}
