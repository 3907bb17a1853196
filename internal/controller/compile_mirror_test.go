package controller

import (
	"slices"
	"testing"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestMirrorSourcesThatAreGoneLeftOut: a running mirror's sources on a
// destroyed proxy or a deleted listener copy nothing: they are not in the
// snapshot, and a mirror left with none is not either (docs/dataplane-mirror.md,
// "Contract"), so the node opens no socket and keeps no counters for it. A
// group listener's source is its instance on the member. Every source was
// published, a gone listener's under a made-up instance ID.
func TestMirrorSourcesThatAreGoneLeftOut(t *testing.T) {
	member := &model.Proxy{Base: model.Base{ID: "link-live", Account: "1"}, IP: "127.0.0.9", Status: model.ProxyRunning, GroupID: "lg-1"}
	group := &model.Listener{Base: model.Base{ID: "listener-grp", Account: "1"}, GroupID: "lg-1", Protocol: model.TCP, Port: 80}
	target := model.MirrorTarget{Type: model.MirrorTargetIP, AlgHash: model.AlgFiveTuple, IPs: []string{"10.0.0.1"}}
	mirror := func(id string, refs ...model.MirrorSourceRef) *model.TrafficMirror {
		return &model.TrafficMirror{Base: model.Base{ID: id, Account: "1"}, State: model.MirrorRunning,
			Direction: model.DirAll, Sources: refs, Target: target}
	}
	gone := mirror("imgf-gone", model.MirrorSourceRef{ProxyID: "link-destroyed", IP: "127.0.0.8"},
		model.MirrorSourceRef{ProxyID: "link-live", IP: "127.0.0.9", ListenerID: "listener-deleted"})
	live := mirror("imgf-live", model.MirrorSourceRef{ProxyID: "link-destroyed", IP: "127.0.0.8"},
		model.MirrorSourceRef{ProxyID: "link-live", IP: "127.0.0.9", ListenerID: "listener-grp"})
	st := &State{Revision: 1, Objects: map[string][]model.Object{
		model.KindProxy: {member}, model.KindListener: {group}, model.KindTrafficMirror: {gone, live}}}
	snap := Compile(st, Settings{})
	if len(snap.Mirrors) != 1 || snap.Mirrors[0].ID != live.ID {
		ids := []string{}
		for _, m := range snap.Mirrors {
			ids = append(ids, m.ID)
		}
		t.Fatalf("compiled mirrors %v; want only %s (every source of %s is gone)", ids, live.ID, gone.ID)
	}
	want := []snapshot.MirrorSource{{ProxyID: "link-live", ListenerID: snapshot.GroupInstanceID("listener-grp", "link-live")}}
	if got := snap.Mirrors[0].Sources; !slices.Equal(got, want) {
		t.Errorf("%s's sources %v; want %v (the destroyed proxy's left out)", live.ID, got, want)
	}
}
