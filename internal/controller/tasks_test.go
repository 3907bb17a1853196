package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
)

// insertTask stores a task as a record with the given parent column
// (legacy records have ""), created at the Unix nanosecond created.
func insertTask(t *testing.T, st store.Store, id, status, parent string, created int64) {
	t.Helper()
	data, _ := json.Marshal(&model.Task{Base: model.Base{ID: id, Account: "1"}, Status: status})
	err := st.Update(t.Context(), func(tx store.Tx) error {
		return tx.Insert(store.Record{Kind: model.KindTask, ID: id, Account: "1", Parent: parent, Created: created, Data: data})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// insertTaskKinds stores one task of each kind Load tells apart, IDs
// prefixed: running, done, failed, and a legacy record (no status in its
// parent column) whose task has legacyStatus.
func insertTaskKinds(t *testing.T, st store.Store, prefix, legacyStatus string) {
	t.Helper()
	insertTask(t, st, prefix+"running", model.TaskRunning, model.TaskRunning, 1)
	insertTask(t, st, prefix+"done", model.TaskSuccess, model.TaskSuccess, 2)
	insertTask(t, st, prefix+"failed", model.TaskFail, model.TaskFail, 3)
	insertTask(t, st, prefix+"legacy", legacyStatus, "", 4)
}

// storedTasks lists the IDs of every stored task, in store order.
func storedTasks(t *testing.T, st store.Store) []string {
	t.Helper()
	var ids []string
	err := st.View(t.Context(), func(tx store.Tx) error {
		recs, _, err := tx.List(store.Query{Kind: model.KindTask, AllAccounts: true})
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func loadedTasks(t *testing.T, st store.Store) []string {
	t.Helper()
	s, err := Load(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range s.Objects[model.KindTask] {
		ids = append(ids, o.Meta().ID)
	}
	slices.Sort(ids)
	return ids
}

func TestLoadReadsOnlyUnfinishedTasks(t *testing.T) {
	st := openStore(t)
	insertTaskKinds(t, st, "", model.TaskRunning)
	if got, want := loadedTasks(t, st), []string{"legacy", "running"}; !slices.Equal(got, want) {
		t.Fatalf("loaded tasks %v; want %v", got, want)
	}
	// Settling stores the new status where Load filters on it.
	c := New(st, &fakePlane{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := c.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := loadedTasks(t, st); len(got) != 0 {
		t.Errorf("loaded tasks %v after settling; want none", got)
	}
}

func TestExpireTasksDeletesOnlyOldFinished(t *testing.T) {
	st := openStore(t)
	insertTaskKinds(t, st, "old-", model.TaskSuccess)
	insertTask(t, st, "new-done", model.TaskSuccess, model.TaskSuccess, 100)
	for i := range expireBatch + 1 { // more than one batch
		insertTask(t, st, fmt.Sprintf("bulk-%d", i), model.TaskSuccess, model.TaskSuccess, 5)
	}
	n, err := ExpireTasks(t.Context(), st, time.Unix(0, 50))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 + expireBatch + 1; n != want {
		t.Errorf("deleted %d tasks; want %d", n, want)
	}
	if left, want := storedTasks(t, st), []string{"old-running", "new-done"}; !slices.Equal(left, want) {
		t.Errorf("tasks left %v; want %v", left, want)
	}
}

// TestRunExpiresTasksAtStart: Run expires what is past retention when it
// starts, not only an hour later, so a serve restarted more often than
// hourly (a crash loop, frequent deploys) still deletes old tasks.
func TestRunExpiresTasksAtStart(t *testing.T) {
	st := openStore(t)
	old := time.Now().Add(-TaskRetention - time.Hour).UnixNano()
	insertTask(t, st, "old-done", model.TaskSuccess, model.TaskSuccess, old)
	insertTask(t, st, "recent-done", model.TaskSuccess, model.TaskSuccess, time.Now().UnixNano())
	c := New(st, &fakePlane{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		left := storedTasks(t, st)
		if slices.Equal(left, []string{"recent-done"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks %v 5 s after Run started; want only recent-done", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
