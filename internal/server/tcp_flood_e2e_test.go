package server_test

import (
	"fmt"
	"testing"
	"time"
)

// TestTCPFloodLeavesOtherProxiesServing: an idle TCP connection costs its
// client one descriptor and the node two, so clients holding idle
// connections to one proxy's listener would take every descriptor of the
// process: another proxy would accept its client and then fail to dial
// the origin (EMFILE), and every health check would fail with it. The
// node's descriptor budget (half RLIMIT_NOFILE, a quarter of it for one
// proxy) refuses the flood's excess, and the other proxy serves. (As in
// TestAPIConnectionsLeaveDataPlaneDescriptors, the limit is lowered to what
// is open + 300 and the attacker, the origins and the probe are child
// processes.)
func TestTCPFloodLeavesOtherProxiesServing(t *testing.T) {
	lowerNOFILE(t, 300)
	n := startNode(t)
	probe := probeChild(t, childFront(t, n, "origin"))
	if got := probe(); got != "a" {
		t.Fatalf("before the flood: %q", got)
	}

	att := apiConnsChild(t, "flood", childFront(t, n, "hold"))
	defer att.stop()
	t.Logf("attacker: %s", att.line)
	var held int
	if _, err := fmt.Sscanf(att.line, "%d TCP connections dialled", &held); err != nil || held == 0 {
		t.Fatalf("attacker: %q; want TCP connections dialled, or the probe below tests nothing", att.line)
	}
	time.Sleep(time.Second) // Let the edge admit or refuse them all.
	if got := probe(); got != "a" {
		t.Errorf("another proxy's TCP listener while one proxy's clients hold idle connections: %q; want %q", got, "a")
	}
}
