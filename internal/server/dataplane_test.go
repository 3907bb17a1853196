package server

import (
	"context"
	"testing"

	"github.com/opengaap/opengaap/internal/controller"
	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// reportingNode answers every Apply with rep.
type reportingNode struct{ rep edge.Report }

func (n *reportingNode) Apply(*snapshot.Snapshot) edge.Report { return n.rep }
func (n *reportingNode) Events() <-chan edge.Event            { return nil }
func (n *reportingNode) Stats() stats.Sample                  { return stats.Sample{} }
func (n *reportingNode) Sample() stats.Sample                 { return stats.Sample{} }
func (n *reportingNode) Health() map[string]edge.OriginHealth { return nil }
func (n *reportingNode) Close(context.Context) error          { return nil }
func (n *reportingNode) Addresses() []string                  { return nil }

// TestDataPlaneFailures: what the edge could not run is failed by ID, so
// the tasks waiting for it fail and the rules it belongs to read fail: a
// group listener's instance under the listener, an EdgeOne rule's port
// (failed or invalid) under the rule, an invalid proxy or mirror under its
// own ID, and an error tied to no object under "snapshot".
func TestDataPlaneFailures(t *testing.T) {
	node := &reportingNode{rep: edge.Report{
		Listeners: []edge.ListenerStatus{{ID: "listener-g@link-2", State: edge.StateFailed, Error: "bind: address in use"},
			{ID: "listener-ok", State: edge.StateRunning},
			{ID: "rule-2qzkbvx3hxl1/8081", State: edge.StateRunning},
			{ID: "rule-2qzkbvx3hxl1/8082", State: edge.StateFailed, Error: "bind: address in use"},
			{ID: "rule-3ed9zyukjngl/9000", State: edge.StateInvalid, Error: "origin listed twice"}},
		Invalid: map[string]string{"link-3": "proxy link-3: bad", "tm-1": "mirror tm-1: bad"},
	}}
	d := &dataPlane{node: node}
	failed, err := d.Apply(context.Background(), &controller.State{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"listener-g", "rule-2qzkbvx3hxl1", "rule-3ed9zyukjngl", "link-3", "tm-1"}
	for _, id := range want {
		if failed[id] == "" {
			t.Errorf("%s not failed: %v", id, failed)
		}
	}
	if len(failed) != len(want) {
		t.Errorf("failed %v; want exactly %v", failed, want)
	}

	node.rep = edge.Report{Errors: []string{"mirrors: no socket"}}
	if failed, _ = d.Apply(context.Background(), &controller.State{}); len(failed) != 1 || failed["snapshot"] != "mirrors: no socket" {
		t.Errorf("failed %v; want the error under snapshot", failed)
	}
}
