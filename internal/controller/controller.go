// Package controller turns stored state into what the data plane runs. On
// every store change it loads the whole configuration in one consistent
// read, compiles it, hands the result to the data plane, and then settles
// the asynchronous statuses (CREATING → RUNNING, deletions finished, tasks
// SUCCESS or FAIL) of exactly the objects that snapshot contained.
package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/vip"
)

// State is one consistent read of every account's configuration.
type State struct {
	Revision int64
	Objects  map[string][]model.Object // by kind
	// Undecodable holds the stored rows Load skipped (ID → why): a row
	// corrupted or written in a format this release cannot read fails
	// alone instead of stopping every account's reconciliation.
	Undecodable map[string]string
}

// Applier runs compiled state; in one process it is the edge runtime.
// Apply returns the IDs of objects the data plane failed to apply, with a
// reason, so their tasks fail instead of succeeding; also those of the
// failing instances of a group listener (snapshot.GroupInstanceID), which
// a member's own task waits for instead of the whole listener.
type Applier interface {
	Apply(ctx context.Context, st *State) (failed map[string]string, err error)
}

// Controller reconciles the store with the data plane.
type Controller struct {
	store   store.Store
	applier Applier
	log     *slog.Logger
	wake    chan struct{}
	applied int64 // last revision handed to the applier
	// retry is set while the data plane failed some objects (a port in
	// use, say): they are applied again on every tick until they come up.
	retry bool
	// failed is what the data plane could not run in the last pass, and
	// the rows that did not decode (IDs → why): logged when it changes,
	// read by Failing.
	mu     sync.Mutex
	failed map[string]string
	// Interval bounds how long a change can wait without a Notify.
	Interval time.Duration
	// pass is held for the whole of a pass, and by Hold.
	pass sync.Mutex
}

// New returns a controller; applier may be nil (nothing runs traffic yet).
func New(st store.Store, applier Applier, log *slog.Logger) *Controller {
	return &Controller{store: st, applier: applier, log: log, wake: make(chan struct{}, 1), applied: -1, Interval: time.Second}
}

// Notify asks for a reconcile soon; it never blocks.
func (c *Controller) Notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run reconciles until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	// Expiry runs at start and hourly after: a task or a ClientToken
	// outlives its retention by at most an hour, however often serve
	// restarts.
	c.expire(ctx, time.Now())
	expire := time.NewTicker(time.Hour)
	defer expire.Stop()
	for {
		if err := c.Reconcile(ctx); err != nil && ctx.Err() == nil {
			c.log.Error("reconcile", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-t.C:
		case now := <-expire.C:
			c.expire(ctx, now)
		}
	}
}

// expire deletes the finished tasks and the ClientToken claims past their
// retention.
func (c *Controller) expire(ctx context.Context, now time.Time) {
	if _, err := ExpireTasks(ctx, c.store, now.Add(-TaskRetention)); err != nil && ctx.Err() == nil {
		c.log.Error("expire tasks", "err", err)
	}
	if _, err := ExpireClaims(ctx, c.store, now.Add(-ClaimRetention)); err != nil && ctx.Err() == nil {
		c.log.Error("expire client tokens", "err", err)
	}
}

// Hold stops the controller from starting a pass until release is called;
// a pass in progress finishes first. Tests hold it to observe in-progress
// statuses and to make several changes land before any of them settles.
func (c *Controller) Hold() (release func()) {
	c.pass.Lock()
	return c.pass.Unlock
}

// Reconcile performs one pass if the store changed since the last one.
func (c *Controller) Reconcile(ctx context.Context) error {
	c.pass.Lock()
	defer c.pass.Unlock()
	if err := c.reclaim(ctx); err != nil {
		return err
	}
	rev, err := c.store.Revision(ctx)
	if err != nil || (rev == c.applied && !c.retry) {
		return err
	}
	st, err := Load(ctx, c.store)
	if err != nil {
		return err
	}
	failed, err := c.apply(ctx, st)
	if err != nil {
		return fmt.Errorf("apply revision %d: %w", st.Revision, err)
	}
	// Retrying cannot make a row decode: only the data plane's failures
	// make the next tick run a pass.
	retry := len(failed) > 0
	failed = maps.Clone(failed) // the applier's own, left as given
	if failed == nil {
		failed = map[string]string{}
	}
	// What hangs on a row that did not load is not served either.
	skipped := leftOut(st)
	maps.Copy(skipped, st.Undecodable)
	for id, why := range skipped {
		if _, seen := c.failed[id]; !seen {
			c.log.Error("stored object skipped", "object", id, "reason", why)
		}
		failed[id] = why // its tasks fail; the API shows it down
	}
	if err := c.settle(ctx, st, failed); err != nil {
		return err
	}
	// Failed objects are retried every tick: log what changed, not every
	// retry (a taken port would otherwise log once a second).
	for id, why := range failed {
		if _, bad := skipped[id]; !bad && c.failed[id] != why {
			c.log.Warn("data plane could not apply", "object", id, "reason", why)
		}
	}
	for id := range c.failed {
		if _, still := failed[id]; !still {
			c.log.Info("data plane applied after failing", "object", id)
		}
	}
	c.mu.Lock()
	c.failed = failed
	c.mu.Unlock()
	c.applied, c.retry = st.Revision, retry
	return nil
}

// apply hands st to the applier. A panic there (a stored value the
// compiler did not expect) fails the pass, not the process: the data plane
// keeps running the last snapshot it took, every account's proxies with
// it, and the error is logged like any failed pass.
func (c *Controller) apply(ctx context.Context, st *State) (failed map[string]string, err error) {
	if c.applier == nil {
		return map[string]string{}, nil
	}
	defer func() {
		if p := recover(); p != nil {
			failed, err = nil, fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return c.applier.Apply(ctx, st)
}

// Failing reports whether the last pass's data plane could not run the
// object id (a listener whose port is taken, say; an EdgeOne rule when
// any of its ports is): the API then shows a GAAP listener as still coming
// up and an EdgeOne rule as fail, however its stored status reads (one
// that ran before a restart or a CloseProxies/OpenProxies keeps status 0).
func (c *Controller) Failing(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.failed[id]
	return ok
}

// Load reads every stored object of every account. A row that does not
// decode is left out and named in State.Undecodable by table and key.
func Load(ctx context.Context, s store.Store) (*State, error) {
	// The revision is read first: a write landing during the read is then
	// either in it or makes the next pass see a newer revision, never lost.
	rev, err := s.Revision(ctx)
	if err != nil {
		return nil, err
	}
	st := &State{Revision: rev, Objects: map[string][]model.Object{}, Undecodable: map[string]string{}}
	err = s.View(ctx, func(tx store.Tx) error {
		for _, k := range model.Kinds {
			q := store.Query{Kind: k.Name, AllAccounts: true}
			if k.Name == model.KindTask {
				q.Parents = unfinishedTasks
			}
			recs, _, err := tx.List(q)
			if err != nil {
				return err
			}
			for _, r := range recs {
				obj := k.New()
				if err := json.Unmarshal(r.Data, obj); err != nil {
					st.Undecodable[r.ID] = fmt.Sprintf("stored %s %s does not decode: %v", r.Kind, r.ID, err)
					resource.NoteUnreadable(r.Kind) // The API's lists page around it.
					continue
				}
				st.Objects[k.Name] = append(st.Objects[k.Name], obj)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// settle finishes the transitions of the objects in st whose stored
// generation is still the one compiled.
func (c *Controller) settle(ctx context.Context, st *State, failed map[string]string) error {
	// Tasks settle last, from what the pass did with their objects: failed,
	// or removed by the deletions settled before them, with everything
	// under them.
	var pending, tasks []model.Settler
	for _, k := range model.Kinds {
		for _, obj := range st.Objects[k.Name] {
			if s, ok := obj.(model.Settler); ok {
				if _, bad := failed[s.Meta().ID]; bad {
					continue // keeps its in-progress status until it applies
				}
				// st is this pass's own decoded copy, already compiled and
				// applied: settling it in place only tells which objects to
				// settle in the store (settleOne re-reads them there).
				if changed, _ := s.Settle(); !changed {
					continue
				}
				if k.Name == model.KindTask {
					tasks = append(tasks, s)
				} else {
					pending = append(pending, s)
				}
			}
		}
	}
	pending = append(pending, tasks...)
	if len(pending) == 0 {
		return nil
	}
	return c.store.Update(ctx, func(tx store.Tx) error {
		removed, unsettled := map[string]bool{}, map[string]bool{}
		for _, obj := range pending {
			if err := settleOne(tx, obj, failed, removed, unsettled); err != nil {
				return err
			}
		}
		return nil
	})
}

// settleOne settles obj in the store, adding its ID to removed when that
// deletes it and to unsettled when a write since the snapshot leaves it for
// the next pass.
func settleOne(tx store.Tx, obj model.Settler, failed map[string]string, removed, unsettled map[string]bool) error {
	m := obj.Meta()
	rec, err := tx.Get(obj.Kind(), m.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cur := model.NewObject(obj.Kind()).(model.Settler)
	if err := json.Unmarshal(rec.Data, cur); err != nil {
		return err
	}
	if cur.Meta().Gen != m.Gen {
		// Changed again since the snapshot: the next pass settles it, and
		// the tasks waiting for it with it.
		unsettled[m.ID] = true
		return nil
	}
	if t, ok := cur.(*model.Task); ok {
		if !t.Finish(failed, removed, unsettled) {
			return nil
		}
		return put(tx, t, rec)
	}
	changed, remove := cur.Settle()
	switch {
	case remove:
		return deleteTree(tx, cur.Kind(), m.ID, removed)
	case changed:
		return put(tx, cur, rec)
	}
	return nil
}

func put(tx store.Tx, obj model.Object, rec store.Record) error {
	obj.Meta().Gen++
	rec.Parent = obj.Parent() // a task's changes with its status
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	rec.Data = data
	return tx.Put(rec)
}

// deleteTree removes an object and, recursively, everything stored under
// it (listeners of a proxy, rules of a listener), adding their IDs to
// removed, and retires the proxy's access IP (vip.Retire). It runs in the settle's write transaction,
// which every API write waits behind, so it finds the children of a whole
// level at once: one List per kind for each level of the tree, whatever
// the number of objects (a listener may hold 10,000 rules).
func deleteTree(tx store.Tx, kind, id string, removed map[string]bool) error {
	if err := tx.Delete(kind, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	removed[id] = true
	kinds := append(model.KindNames(), vip.Kinds...)
	for level := []string{id}; len(level) > 0; {
		var next []string
		for _, k := range kinds {
			recs, _, err := tx.List(store.Query{Kind: k, Parents: level, AllAccounts: true})
			if err != nil {
				return err
			}
			for _, r := range recs {
				if slices.Contains(vip.Kinds, r.Kind) {
					// Still drained on: held until reclaim frees it.
					if err := vip.Retire(tx, r.ID); err != nil {
						return err
					}
					continue
				}
				if err := tx.Delete(r.Kind, r.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if !removed[r.ID] {
					removed[r.ID] = true
					next = append(next, r.ID)
				}
			}
		}
		level = next
	}
	return nil
}
