package controller

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/snapshot"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
)

// fakePlane records what it was given and fails the IDs it is told to.
type fakePlane struct {
	snaps []*snapshot.Snapshot
	fail  map[string]string
}

func (f *fakePlane) Apply(_ context.Context, st *State) (map[string]string, error) {
	f.snaps = append(f.snaps, Compile(st, Settings{}))
	return f.fail, nil
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func insertAll(t *testing.T, st store.Store, objs ...model.Object) {
	t.Helper()
	err := st.Update(t.Context(), func(tx store.Tx) error {
		rtx := &resource.Tx{Store: tx, Account: "1", Now: time.Unix(1e9, 0), RequestID: "req-1"}
		for _, o := range objs {
			if err := rtx.Insert(o); err != nil {
				return err
			}
		}
		_, err := rtx.StartTask("CreateTCPListeners", "listener-a", "listener-b")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func get[T any](t *testing.T, st store.Store, kind, id string) (*T, bool) {
	t.Helper()
	var out *T
	err := st.View(t.Context(), func(tx store.Tx) error {
		rec, err := tx.Get(kind, id)
		if err != nil {
			return err
		}
		out = new(T)
		return json.Unmarshal(rec.Data, out)
	})
	return out, err == nil
}

func TestReconcileSettlesWhatWasApplied(t *testing.T) {
	st := openStore(t)
	proxy := &model.Proxy{Base: model.Base{ID: "link-1"}, Status: model.ProxyCreating, IP: "127.1.2.3", Bandwidth: 5, Concurrent: 2}
	rs := &model.RealServer{Base: model.Base{ID: "rs-1"}, Address: "127.9.9.9"}
	ok := &model.Listener{Base: model.Base{ID: "listener-a"}, ProxyID: "link-1", Protocol: model.TCP, Port: 80,
		Scheduler: "rr", Status: model.StatusCreating, ClientIPMethod: model.ClientIPProxyProtocol,
		Bindings: []model.Bound{{RealServerID: "rs-1", Port: 8080, Weight: 3}}}
	bad := &model.Listener{Base: model.Base{ID: "listener-b"}, ProxyID: "link-1", Protocol: model.UDP, Port: 53,
		Scheduler: "rr", Status: model.StatusCreating}
	gone := &model.Listener{Base: model.Base{ID: "listener-c"}, ProxyID: "link-1", Protocol: model.TCP, Port: 81,
		Scheduler: "rr", Status: model.StatusDeleting}
	insertAll(t, st, proxy, rs, ok, bad, gone)

	plane := &fakePlane{fail: map[string]string{"listener-b": "port taken"}}
	c := New(st, plane, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := c.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}

	snap := plane.snaps[0]
	if len(snap.Proxies) != 1 || len(snap.Proxies[0].Listeners) != 2 {
		t.Fatalf("snapshot: got %+v; want one proxy with listeners a and b (c is being deleted)", snap.Proxies)
	}
	sp := snap.Proxies[0]
	if sp.AccessIP != "127.1.2.3" || sp.BandwidthMbps != 5 || sp.MaxConns != 20000 {
		t.Errorf("proxy limits: got %+v; want 127.1.2.3, 5 Mbps, 20000 connections", sp)
	}
	la := sp.Listeners[0]
	if la.ID != "listener-a" || la.ClientIP != snapshot.ClientIPPPV1 || len(la.Origins) != 1 ||
		la.Origins[0].Host != "127.9.9.9" || la.Origins[0].Port != 8080 || la.Origins[0].Weight != 3 {
		t.Errorf("listener a: got %+v; want PROXY v1 to 127.9.9.9:8080 weight 3", la)
	}

	if p, _ := get[model.Proxy](t, st, model.KindProxy, "link-1"); p.Status != model.ProxyRunning {
		t.Errorf("proxy status %s; want RUNNING", p.Status)
	}
	if l, _ := get[model.Listener](t, st, model.KindListener, "listener-a"); l.Status != model.StatusRunning {
		t.Errorf("applied listener status %d; want 0", l.Status)
	}
	if l, _ := get[model.Listener](t, st, model.KindListener, "listener-b"); l.Status != model.StatusCreating {
		t.Errorf("failed listener status %d; want 1 (still creating)", l.Status)
	}
	if _, found := get[model.Listener](t, st, model.KindListener, "listener-c"); found {
		t.Error("deleted listener still stored")
	}
	if task, _ := get[model.Task](t, st, model.KindTask, "req-1"); task.Status != model.TaskFail {
		t.Errorf("task status %s; want FAIL (listener-b failed)", task.Status)
	}

	// The failure is retried without a new revision, and settles once it applies.
	plane.fail = nil
	if err := c.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(plane.snaps) != 2 {
		t.Fatalf("applies: got %d; want a retry", len(plane.snaps))
	}
	if l, _ := get[model.Listener](t, st, model.KindListener, "listener-b"); l.Status != model.StatusRunning {
		t.Errorf("retried listener status %d; want 0", l.Status)
	}
	// Settling listener-b was a write, so one more pass applies it; after
	// that nothing changes and nothing is applied.
	for range 3 {
		if err := c.Reconcile(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if len(plane.snaps) != 3 {
		t.Errorf("applies: got %d; want 3 (no apply without a change)", len(plane.snaps))
	}
}

func TestCompileGroupListenerPerProxy(t *testing.T) {
	st := &State{Objects: map[string][]model.Object{
		model.KindProxy: {
			&model.Proxy{Base: model.Base{ID: "link-1"}, GroupID: "lg-1", IP: "127.0.0.1", Status: model.ProxyRunning},
			&model.Proxy{Base: model.Base{ID: "link-2"}, GroupID: "lg-1", IP: "127.0.0.2", Status: model.ProxyRunning},
			&model.Proxy{Base: model.Base{ID: "link-3"}, IP: "127.0.0.3", Status: model.ProxyDestroying},
		},
		model.KindListener: {&model.Listener{Base: model.Base{ID: "listener-g"}, GroupID: "lg-1", Protocol: model.TCP, Port: 90, Scheduler: "rr"}},
		model.KindPolicy: {&model.SecurityPolicy{Base: model.Base{ID: "sp-1"}, GroupID: "lg-1", DefaultAction: "drop", Status: model.PolicyBound,
			Rules: []model.SecurityRule{{SourceCidr: "10.0.0.0/8", Action: "accept", Protocol: "tcp", DestPortRange: "ALL"}}}},
	}}
	snap := Compile(st, Settings{})
	if len(snap.Proxies) != 2 {
		t.Fatalf("got %d proxies; want 2 (the destroying one is left out)", len(snap.Proxies))
	}
	for _, p := range snap.Proxies {
		if len(p.Listeners) != 1 || p.Listeners[0].ID != snapshot.GroupInstanceID("listener-g", p.ID) {
			t.Errorf("proxy %s listeners %+v; want the group listener as listener-g@%s", p.ID, p.Listeners, p.ID)
		}
		if p.Policy == nil || !p.Policy.Enabled || p.Policy.DefaultAction != "DROP" || p.Policy.Rules[0].Action != "ACCEPT" {
			t.Errorf("proxy %s policy %+v; want the group's bound policy, upper-cased", p.ID, p.Policy)
		}
		if p.Group != "lg-1" {
			t.Errorf("proxy %s Group %q; want lg-1 (the recorder sums the group's series under it)", p.ID, p.Group)
		}
	}
	if err := snap.Validate(); err != nil {
		t.Errorf("compiled snapshot is invalid: %v", err)
	}
}

// TestCompileUDPHealthCheck: a UDP listener's probe settings, CheckPort
// included, reach the snapshot.
func TestCompileUDPHealthCheck(t *testing.T) {
	st := &State{Objects: map[string][]model.Object{
		model.KindProxy: {&model.Proxy{Base: model.Base{ID: "link-1"}, IP: "127.0.0.1", Status: model.ProxyRunning}},
		model.KindListener: {&model.Listener{Base: model.Base{ID: "listener-u"}, ProxyID: "link-1", Protocol: model.UDP, Port: 90,
			Scheduler: "rr", HealthCheck: 1, DelayLoop: 5, ConnectTimeout: 2, CheckType: "PORT", CheckPort: 8888,
			ContextType: "TEXT", SendContext: "ping", RecvContext: "pong"}},
	}}
	snap := Compile(st, Settings{})
	if len(snap.Proxies) != 1 || len(snap.Proxies[0].Listeners) != 1 {
		t.Fatalf("got %+v; want one UDP listener", snap.Proxies)
	}
	h := snap.Proxies[0].Listeners[0].Health
	if !h.Enabled || h.Port != 8888 || h.Send != "ping" || h.Recv != "pong" || h.CheckType != "PORT" || h.ContextType != "TEXT" {
		t.Errorf("health %+v; want the listener's probe on port 8888", h)
	}
}

// logCount counts log records by level.
type logCount struct{ warn, info int }

func (l *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCount) Handle(_ context.Context, r slog.Record) error {
	switch r.Level {
	case slog.LevelWarn:
		l.warn++
	case slog.LevelInfo:
		l.info++
	}
	return nil
}
func (l *logCount) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCount) WithGroup(string) slog.Handler      { return l }

// TestRetriesLogChangesOnly: an object the data plane keeps failing is
// retried every pass but logged once, and its recovery once; Failing
// tells it meanwhile.
func TestRetriesLogChangesOnly(t *testing.T) {
	st := openStore(t)
	plane := &fakePlane{fail: map[string]string{"listener-a": "port taken"}}
	logs := &logCount{}
	c := New(st, plane, slog.New(logs))
	for range 5 {
		if err := c.Reconcile(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if !c.Failing("listener-a") || c.Failing("listener-b") {
		t.Error("Failing: want listener-a failing and listener-b not")
	}
	plane.fail = nil
	for range 2 {
		if err := c.Reconcile(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if c.Failing("listener-a") {
		t.Error("Failing: listener-a still failing after it applied")
	}
	if len(plane.snaps) != 6 || logs.warn != 1 || logs.info != 1 {
		t.Errorf("%d applies, %d warnings, %d infos; want 6 (5 retries + the recovery), 1 and 1", len(plane.snaps), logs.warn, logs.info)
	}
}

// TestReconcileFailsTaskOfRemovedObject: a listener created and then
// deleted by a later call before any pass applied it never served, so the
// creation's task fails while the deletion's succeeds: a task keeps the
// objects it does not delete, and their removal is not what it asked for.
func TestReconcileFailsTaskOfRemovedObject(t *testing.T) {
	st := openStore(t)
	proxy := &model.Proxy{Base: model.Base{ID: "link-1"}, Status: model.ProxyRunning, IP: "127.1.2.3", Bandwidth: 5, Concurrent: 2}
	l := &model.Listener{Base: model.Base{ID: "listener-a"}, ProxyID: "link-1", Protocol: model.TCP, Port: 80,
		Scheduler: "rr", Status: model.StatusCreating}
	call := func(req string, f func(*resource.Tx) error) {
		t.Helper()
		err := st.Update(t.Context(), func(tx store.Tx) error {
			rtx := &resource.Tx{Store: tx, Account: "1", Now: time.Unix(1e9, 0), RequestID: req}
			if err := f(rtx); err != nil {
				return err
			}
			_, err := rtx.StartTask(l.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	call("create", func(tx *resource.Tx) error {
		if err := tx.Insert(proxy); err != nil {
			return err
		}
		return tx.Insert(l)
	})
	call("delete", func(tx *resource.Tx) error {
		l.Status = model.StatusDeleting
		return tx.Put(l)
	})

	c := New(st, &fakePlane{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := c.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, found := get[model.Listener](t, st, model.KindListener, l.ID); found {
		t.Error("deleted listener still stored")
	}
	if task, _ := get[model.Task](t, st, model.KindTask, "create"); task.Status != model.TaskFail {
		t.Errorf("creation task %s (%s); want FAIL: its listener was deleted before it was applied", task.Status, task.Message)
	}
	if task, _ := get[model.Task](t, st, model.KindTask, "delete"); task.Status != model.TaskSuccess {
		t.Errorf("deletion task %s (%s); want SUCCESS", task.Status, task.Message)
	}
}

// duringApply is a data plane that runs fn once while it applies a pass,
// as an API call landing while the pass is in flight does.
type duringApply struct{ fn func() }

func (d *duringApply) Apply(_ context.Context, st *State) (map[string]string, error) {
	if d.fn != nil {
		d.fn()
		d.fn = nil
	}
	return nil, nil
}

// TestTaskWaitsForObjectChangedDuringPass: DisableGlobalDomain stores the
// domain as 2 (disabling) with a task waiting for it. When another change
// to the domain (ModifyGlobalDomainAttribute, a tag, a DNS record) lands
// while the pass applies, the pass leaves the domain at 2 (its generation
// moved), so the task must stay RUNNING: a client that polls it and then
// calls DeleteGlobalDomain would be refused. The next pass settles both.
func TestTaskWaitsForObjectChangedDuringPass(t *testing.T) {
	st := openStore(t)
	dm := &model.GlobalDomain{Base: model.Base{ID: "dm-settle1"}, FullDomain: "gd-settle1.example", DefaultValue: "1.2.3.4",
		Status: model.GlobalDisabling}
	var task string
	err := st.Update(t.Context(), func(tx store.Tx) error {
		rtx := &resource.Tx{Store: tx, Account: "1", Now: time.Unix(1e9, 0), RequestID: "req-disable", Action: "DisableGlobalDomain"}
		if err := rtx.Insert(dm); err != nil {
			return err
		}
		var err error
		task, err = rtx.StartTask(dm.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	plane := &duringApply{fn: func() {
		// A concurrent ModifyGlobalDomainAttribute (Alias).
		err := st.Update(context.Background(), func(tx store.Tx) error {
			rtx := &resource.Tx{Store: tx, Account: "1", Now: time.Unix(1e9+1, 0), RequestID: "req-modify", Action: "ModifyGlobalDomainAttribute"}
			g, err := resource.Get[model.GlobalDomain](rtx, dm.ID)
			if err != nil {
				return err
			}
			g.Alias = "renamed"
			return rtx.Put(g)
		})
		if err != nil {
			t.Error(err)
		}
	}}
	c := New(st, plane, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := c.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	tk, _ := get[model.Task](t, st, model.KindTask, task)
	g, _ := get[model.GlobalDomain](t, st, model.KindGlobalDomain, dm.ID)
	if g.Status != model.GlobalDisabling || tk.Status != model.TaskRunning {
		t.Fatalf("after the pass a change raced: task %s, domain status %d; want RUNNING and 2 (disabling)", tk.Status, g.Status)
	}
	if err := c.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	tk, _ = get[model.Task](t, st, model.KindTask, task)
	g, _ = get[model.GlobalDomain](t, st, model.KindGlobalDomain, dm.ID)
	if g.Status != model.GlobalDisabled || tk.Status != model.TaskSuccess {
		t.Fatalf("after the next pass: task %s (%s), domain status %d; want SUCCESS and 1 (disabled)", tk.Status, tk.Message, g.Status)
	}
}
