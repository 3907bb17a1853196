package controller

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/model"
)

// TestMalformedMirrorEndpointFailsOnlyItsMirror: a running mirror whose
// stored collector endpoint is not ip:port (an older format, a corrupted
// row) compiles without a panic, and the data plane's validation rejects
// that mirror alone.
func TestMalformedMirrorEndpointFailsOnlyItsMirror(t *testing.T) {
	proxy := &model.Proxy{Base: model.Base{ID: "link-ok", Account: "1"}, IP: "127.0.0.9", Status: model.ProxyRunning}
	mirror := &model.TrafficMirror{Base: model.Base{ID: "tm-bad", Account: "1"}, State: model.MirrorRunning,
		Direction: model.DirAll, Sources: []model.MirrorSourceRef{{ProxyID: "link-ok"}},
		Target: model.MirrorTarget{Type: model.MirrorTargetIP, AlgHash: model.AlgFiveTuple, EndPoints: []string{"10.0.0.1"}}}
	st := &State{Revision: 1, Objects: map[string][]model.Object{
		model.KindProxy: {proxy}, model.KindTrafficMirror: {mirror}}}
	snap := Compile(st, Settings{})
	if len(snap.Proxies) != 1 || snap.Proxies[0].ID != proxy.ID {
		t.Fatalf("proxies compiled: %+v; want %s", snap.Proxies, proxy.ID)
	}
	errs := snap.Validate()
	if len(errs) != 1 || errs[0].Kind != "mirror" || errs[0].ID != mirror.ID {
		t.Errorf("validation errors %v; want mirror %s's alone", errs, mirror.ID)
	}
}

type panicPlane struct{}

func (panicPlane) Apply(context.Context, *State) (map[string]string, error) {
	panic("unexpected value")
}

// TestPanicInApplyFailsThePass: a panic while compiling or applying fails
// that pass with an error, not the process.
func TestPanicInApplyFailsThePass(t *testing.T) {
	c := New(openStore(t), panicPlane{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	err := c.Reconcile(t.Context())
	if err == nil || !strings.Contains(err.Error(), "panic: unexpected value") {
		t.Errorf("Reconcile with a panicking applier: %v; want the panic as the pass's error", err)
	}
}
