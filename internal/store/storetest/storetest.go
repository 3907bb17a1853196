// Package storetest is the conformance suite every store.Store must pass.
// One test body runs against each engine (SQLite and PostgreSQL today), so
// engines cannot drift apart: an engine's test calls Run with a function that
// opens an empty store, and RunReopen with one that reopens the same database.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/opengaap/opengaap/internal/store"
)

// Opener returns a new, empty store; it registers t.Cleanup to close it.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite, each subtest on a fresh store from open.
// Subtests run in parallel, so open must give each call its own database.
func Run(t *testing.T, open Opener) {
	groups := []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"Records", testRecords},
		{"Claim", testClaim},
		{"ExpireClaims", testExpireClaims},
		{"InvalidKeys", testInvalidKeys},
		{"List", testList},
		{"ListTotals", testListTotals},
		{"Transactions", testTransactions},
		{"Revision", testRevision},
		{"Concurrency", testConcurrency},
		{"Context", testContext},
		{"Stats", testStats},
		{"StatsPrefix", testStatsPrefix},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, open) })
	}
}

// rec builds a record with a recognizable document.
func rec(kind, id, account string, created int64) store.Record {
	return store.Record{
		Kind: kind, ID: id, Account: account, Created: created,
		Data: fmt.Appendf(nil, `{"id":%q}`, id),
	}
}

// update runs fn in an Update that must succeed.
func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View that must succeed.
func view(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// insert adds recs in one Update.
func insert(t *testing.T, s store.Store, recs ...store.Record) {
	t.Helper()
	update(t, s, func(tx store.Tx) error {
		for _, r := range recs {
			if err := tx.Insert(r); err != nil {
				return fmt.Errorf("insert %s/%s: %w", r.Kind, r.ID, err)
			}
		}
		return nil
	})
}

// get loads one record in a View; found is false on ErrNotFound.
func get(t *testing.T, s store.Store, kind, id string) (r store.Record, found bool) {
	t.Helper()
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		r, err = tx.Get(kind, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Record{}, false
	}
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", kind, id, err)
	}
	return r, true
}

// revision reads the store's revision.
func revision(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(context.Background())
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

// sameRecord reports whether two records are equal, treating nil and empty
// documents alike.
func sameRecord(a, b store.Record) bool {
	return a.Kind == b.Kind && a.ID == b.ID && a.Account == b.Account && a.Parent == b.Parent &&
		a.Project == b.Project && a.Created == b.Created && bytes.Equal(a.Data, b.Data)
}

// RunReopen checks that committed data and the revision survive closing and
// reopening. newDB creates an empty database and returns a function that
// opens it; each call opens it anew, and the suite closes what it opens.
func RunReopen(t *testing.T, newDB func(t *testing.T) func() store.Store) {
	open := newDB(t)
	s := open()
	insert(t, s, rec("proxy", "p-1", "a", 1), rec("proxy", "p-2", "a", 2))
	update(t, s, func(tx store.Tx) error { return tx.Claim("token", "t-1") })
	rev := revision(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open()
	defer s.Close()
	if got := revision(t, s); got != rev {
		t.Errorf("revision after reopen = %d; want %d", got, rev)
	}
	for _, id := range []string{"p-1", "p-2"} {
		if got, ok := get(t, s, "proxy", id); !ok || !sameRecord(got, rec("proxy", id, "a", got.Created)) {
			t.Errorf("after reopen Get(proxy, %s) = %+v, found %v", id, got, ok)
		}
	}
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.Claim("token", "t-1") }); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Claim after reopen = %v; want ErrConflict", err)
	}
	insert(t, s, rec("proxy", "p-3", "a", 3))
	if got := revision(t, s); got != rev+1 {
		t.Errorf("revision after one more Update = %d; want %d", got, rev+1)
	}
}
