package controller

import (
	"context"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
)

// TaskRetention is how long a finished task stays queryable with
// DescribeTaskStatus. The API reference sets no limit; a client polls a
// task for seconds or minutes, and a week covers one that resumes after
// a long outage without keeping tasks forever.
const TaskRetention = 7 * 24 * time.Hour

// unfinishedTasks are the stored parents (statuses, see model.Task.Parent)
// of the tasks a pass loads. "" is a task written before the status was
// stored there: loading it lets a pass settle it and store its status; a
// finished one is loaded until ExpireTasks removes it.
var unfinishedTasks = []string{model.TaskRunning, ""}

// expiredTasks are the parents ExpireTasks deletes from.
var expiredTasks = []string{model.TaskSuccess, model.TaskFail, ""}

// expireBatch bounds one expiry transaction, so it never holds the writer
// long whatever the backlog.
const expireBatch = 1000

// ExpireTasks deletes the tasks finished and created before before, one
// bounded transaction at a time, and returns how many it deleted. Each
// batch is a range of the (kind, parent, created) index.
func ExpireTasks(ctx context.Context, s store.Store, before time.Time) (int, error) {
	deleted := 0
	for _, status := range expiredTasks {
		n, err := inBatches(ctx, s, func(tx store.Tx) (int, error) { return expireBatchOf(tx, status, before.UnixNano()) })
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// inBatches runs batch, which deletes at most expireBatch records, in one
// transaction after another until one deletes fewer, and returns how many
// they deleted.
func inBatches(ctx context.Context, s store.Store, batch func(store.Tx) (int, error)) (int, error) {
	deleted := 0
	for n := expireBatch; n == expireBatch; {
		err := s.Update(ctx, func(tx store.Tx) (err error) {
			n, err = batch(tx)
			return err
		})
		if err != nil {
			return deleted, err
		}
		deleted += n
	}
	return deleted, nil
}

func expireBatchOf(tx store.Tx, status string, before int64) (int, error) {
	// Parent "" would match any status; NoTotal: a full batch would
	// otherwise count the whole backlog.
	recs, _, err := tx.List(store.Query{Kind: model.KindTask, AllAccounts: true,
		Parents: []string{status}, Before: before, Limit: expireBatch, NoTotal: true})
	if err != nil {
		return 0, err
	}
	for _, r := range recs {
		if err := tx.Delete(r.Kind, r.ID); err != nil {
			return 0, err
		}
	}
	return len(recs), nil
}
