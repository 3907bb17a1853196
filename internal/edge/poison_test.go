package edge_test

import (
	"net/netip"
	"testing"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// badPolicy holds a rule whose port list does not parse (an older row).
func badPolicy(enabled bool) *snapshot.SecurityPolicy {
	return &snapshot.SecurityPolicy{ID: "sp-bad", Enabled: enabled, DefaultAction: snapshot.ActionAccept,
		Rules: []snapshot.SecurityRule{{SourceCIDR: "10.0.0.0/8", Protocol: snapshot.ProtoTCP, DestPorts: "80-", Action: snapshot.ActionDrop}}}
}

// TestInvalidPolicyFailsAlone: a policy the edge cannot compile is
// reported under its own ID while it is enforced, and not at all while it
// is not; either way the proxy's listeners run.
func TestInvalidPolicyFailsAlone(t *testing.T) {
	origin := edgetest.StartTCP(t, netip.AddrPortFrom(lo.Next(), 0), edgetest.Echo)
	ip := lo.Next()
	port := edgetest.FreePort(t, ip)
	for _, enabled := range []bool{false, true} {
		rt := newRuntime(t, edge.Options{})
		snap := oneProxy(1, ip, listener("listener-1", snapshot.ProtoTCP, port, origins(origin.Addr)))
		snap.Proxies[0].Policy = badPolicy(enabled)
		rep := rt.Apply(snap)
		if st, _ := rep.Listener("listener-1"); st.State != edge.StateRunning {
			t.Errorf("enabled %v: listener %+v; want running beside the bad policy", enabled, st)
		}
		_, reported := rep.Invalid["sp-bad"]
		if reported != enabled || rep.Invalid["link-1"] != "" {
			t.Errorf("enabled %v: invalid objects %v; want the policy reported exactly when enforced, the proxy never", enabled, rep.Invalid)
		}
		if err := rt.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestListenersOfNeverValidProxyReported: a proxy invalid since this node
// started (a restart on a bad row) runs none of its listeners, and each
// is reported invalid rather than left out of the report, where the
// controller would count it as running.
func TestListenersOfNeverValidProxyReported(t *testing.T) {
	ip := lo.Next()
	port, hport := edgetest.FreePort(t, ip), edgetest.FreePort(t, ip)
	rt := newRuntime(t, edge.Options{})
	snap := oneProxy(1, ip, listener("listener-1", snapshot.ProtoTCP, port, nil))
	snap.Proxies[0].HTTPListeners = []snapshot.HTTPListener{{ID: "listener-h", Protocol: snapshot.ProtoHTTP, Port: hport}}
	snap.Proxies[0].BandwidthMbps = -1
	rep := rt.Apply(snap)
	for _, id := range []string{"listener-1", "listener-h"} {
		if st, ok := rep.Listener(id); !ok || st.State != edge.StateInvalid || st.Addr == "" {
			t.Errorf("listener %s of a proxy that never ran: %+v (reported %v); want invalid with its address", id, st, ok)
		}
	}
}
