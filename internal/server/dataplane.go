package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/opengaap/opengaap/internal/controller"
	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// dataPlane hands compiled snapshots to an edge node and turns its report
// into the controller's ACK/NACK: the IDs of listeners that did not come up
// (and of a group listener's instances that did not), with the reason.
type dataPlane struct {
	node edge.Node
	// compile holds what the compiler takes from the node: the key opener
	// of HTTPS listeners and the unit of proxies' Concurrent.
	compile controller.Settings
	// observe, when set, is told every snapshot the node applied.
	observe func(*snapshot.Snapshot)
}

var (
	_ controller.Applier       = (*dataPlane)(nil)
	_ controller.AddressHolder = (*dataPlane)(nil)
)

func (d *dataPlane) Apply(_ context.Context, st *controller.State) (map[string]string, error) {
	snap := controller.Compile(st, d.compile)
	rep := d.node.Apply(snap)
	if d.observe != nil {
		d.observe(snap)
	}
	failed := map[string]string{}
	for _, l := range rep.Listeners {
		if l.State != edge.StateFailed && l.State != edge.StateInvalid {
			continue
		}
		// Any instance failing fails its object: a group listener's on
		// one proxy, an EdgeOne rule's on one port. The first one
		// reported is the reason given. A group listener's instance is
		// named too: a member's own task (joining, reopened) waits for
		// its instances only, not for another member's socket.
		why := fmt.Sprintf("%s %s: %s", l.Addr, l.State, l.Error)
		id := snapshot.ObjectOf(l.ID)
		if _, seen := failed[id]; !seen {
			failed[id] = why
		}
		if snapshot.GroupInstanceID(id, l.ProxyID) == l.ID {
			failed[l.ID] = why
		}
	}
	for id, why := range rep.Invalid { // A proxy or mirror: its tasks fail.
		failed[id] = why
	}
	if len(rep.Errors) > 0 { // Tied to no object (the mirror engine's).
		failed["snapshot"] = strings.Join(rep.Errors, "; ")
	}
	return failed, nil
}

// Addresses tells the controller which access IPs the node still serves
// or drains on (controller.AddressHolder).
func (d *dataPlane) Addresses() []string { return d.node.Addresses() }
