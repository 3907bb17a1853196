package controller

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
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

// TestChildrenOfUndecodableRowNotSettled guards what hangs on a row that
// does not decode: a proxy's listener, a domain's rule. The compile leaves
// them out with that row, so nothing serves them; a change to them in
// flight must not settle (status 0, task SUCCESS) as if applied, but count
// as failed like the row itself (docs/controller.md "A row that does not
// decode"), while the rest of the store settles.
func TestChildrenOfUndecodableRowNotSettled(t *testing.T) {
	st := openStore(t)
	err := st.Update(t.Context(), func(tx store.Tx) error {
		insert := func(req string, obj model.Object) error {
			rtx := &resource.Tx{Store: tx, Account: "1", Now: time.Unix(1e9, 0), RequestID: req}
			if err := rtx.Insert(obj); err != nil {
				return err
			}
			_, err := rtx.StartTask(obj.Meta().ID)
			return err
		}
		for _, o := range []struct {
			req string
			obj model.Object
		}{
			{"req-p1", &model.Proxy{Base: model.Base{ID: "link-1"}, Status: model.ProxyRunning, IP: "127.1.2.3", Bandwidth: 5, Concurrent: 2}},
			{"req-p2", &model.Proxy{Base: model.Base{ID: "link-2"}, Status: model.ProxyRunning, IP: "127.1.2.4", Bandwidth: 5, Concurrent: 2}},
			{"req-listener", &model.Listener{Base: model.Base{ID: "listener-a"}, ProxyID: "link-1", Protocol: model.TCP, Port: 80,
				Scheduler: "rr", Status: model.StatusAdjusting}},
			{"req-http", &model.Listener{Base: model.Base{ID: "listener-h"}, ProxyID: "link-2", Protocol: model.HTTP, Port: 80,
				Status: model.StatusCreating}},
			{"req-domain", &model.Domain{Base: model.Base{ID: "domain-1"}, ListenerID: "listener-h", Host: "www.test"}},
			{"req-rule", &model.Rule{Base: model.Base{ID: "rule-1"}, ListenerID: "listener-h", Domain: "www.test", Path: "/",
				Scheduler: "rr", Status: model.StatusCreating}},
		} {
			if err := insert(o.req, o.obj); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The proxy's and the domain's rows go bad (here cut short, as by a
	// corruption).
	err = st.Update(t.Context(), func(tx store.Tx) error {
		for kind, id := range map[string]string{model.KindProxy: "link-1", model.KindDomain: "domain-1"} {
			rec, err := tx.Get(kind, id)
			if err != nil {
				return err
			}
			rec.Data = rec.Data[:len(rec.Data)/2]
			if err := tx.Put(rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := New(st, &fakePlane{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := c.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	l, _ := get[model.Listener](t, st, model.KindListener, "listener-a")
	r, _ := get[model.Rule](t, st, model.KindRule, "rule-1")
	for id, status := range map[string]int64{"listener-a": l.Status, "rule-1": r.Status} {
		if status == model.StatusRunning || !c.Failing(id) {
			t.Errorf("%s, left out with the row it hangs on: status %d, Failing %v; want still coming up", id, status, c.Failing(id))
		}
	}
	for req, want := range map[string]string{"req-listener": model.TaskFail, "req-rule": model.TaskFail, "req-http": model.TaskSuccess} {
		if task, _ := get[model.Task](t, st, model.KindTask, req); task.Status != want {
			t.Errorf("task %s: %s %q; want %s", req, task.Status, task.Message, want)
		}
	}
	if h, _ := get[model.Listener](t, st, model.KindListener, "listener-h"); h.Status != model.StatusRunning || c.Failing("listener-h") {
		t.Errorf("listener-h, whose rows all decode: status %d, Failing %v; want it settled", h.Status, c.Failing("listener-h"))
	}
}
