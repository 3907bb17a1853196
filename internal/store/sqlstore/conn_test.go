package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// TestDeadConnectionsBeginAgain: when the server ends every session of
// the store's pools (a restart, a failover), transactions begun right
// after, on pooled connections not yet known to be dead, all succeed: a
// BEGIN failed on a dead connection is run again on another connection.
func TestDeadConnectionsBeginAgain(t *testing.T) {
	dsn := postgresEngine(t).newDB(t)
	s := open(t, dsn)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	views := func() error {
		const n = 16 // the reader pool's size: every connection in use
		var wg sync.WaitGroup
		started, errs := make(chan struct{}, n), make(chan error, n)
		release := make(chan struct{})
		for range n {
			wg.Go(func() {
				errs <- s.View(t.Context(), func(tx store.Tx) error {
					started <- struct{}{}
					<-release
					_, err := tx.Get("vpc", "vpc-1")
					return err
				})
			})
		}
		for range n {
			select {
			case <-started:
			case err := <-errs: // failed before its function ran
				close(release)
				wg.Wait()
				return err
			}
		}
		close(release)
		wg.Wait()
		close(errs)
		var all []error
		for err := range errs {
			all = append(all, err)
		}
		return errors.Join(all...)
	}
	update := func() error {
		return s.Update(t.Context(), func(tx store.Tx) error { return tx.Put(store.Record{Kind: "vpc", ID: "vpc-1", Account: "1"}) })
	}
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Insert(store.Record{Kind: "vpc", ID: "vpc-1", Account: "1"}) }); err != nil {
		t.Fatal(err)
	}
	if err := views(); err != nil {
		t.Fatal(err)
	}
	if err := update(); err != nil {
		t.Fatal(err)
	}
	var ended int
	if err := admin.QueryRowContext(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&ended); err != nil {
		t.Fatal(err)
	}
	if ended < 17 {
		t.Fatalf("ended %d sessions; want the 16 readers and the writer at least", ended)
	}
	// Wait until the sessions are gone, so no BEGIN can slip in before its
	// session ends; then use them within a second of their last use, so
	// pgx does not ping them first.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var left int
		if err := admin.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still there after pg_terminate_backend", left)
		}
	}
	if err := update(); err != nil {
		t.Errorf("Update after the sessions ended: %v", err)
	}
	if err := views(); err != nil {
		t.Errorf("View after the sessions ended: %v", err)
	}
}

// TestCloseWithDatabaseFrozen: once the database stops answering without
// a reset (a vanished host, a partition), a List of a query shape not
// prepared yet starts a background prepare; the call gives up at its
// deadline, and Close must return promptly too, not wait for the prepare
// (serve's SIGTERM shutdown calls Close with no deadline).
func TestCloseWithDatabaseFrozen(t *testing.T) {
	proxied, p := viaProxy(t, postgresEngine(t).newDB(t))
	s, err := Open(t.Context(), proxied)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	err = s.View(ctx, func(tx store.Tx) error {
		p.Freeze() // the host vanishes mid-call
		_, _, err := tx.List(store.Query{Kind: "proxy", Account: "1", IDs: []string{"a", "b", "c"}})
		return err
	})
	t.Logf("View while the database is frozen: %v", err)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Logf("Close: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close still blocked 5 s after the database stopped answering")
	}
}

// TestCloseWithDatabaseFrozenAfterPrepares: a store that has served a
// while holds statements prepared on many of its pooled connections. Once
// the database stops answering without a reset, Close must still return
// within closeTimeout (the instance lock's unlock), not wait for a
// Deallocate per connection, one after another: database/sql closes each
// connection's statements before the connection, and pgx gives each
// Deallocate 5 s (45 s for ten statements). serve's shutdown calls Close
// with no deadline of its own.
func TestCloseWithDatabaseFrozenAfterPrepares(t *testing.T) {
	proxied, p := viaProxy(t, postgresEngine(t).newDB(t))
	s, err := Open(t.Context(), proxied, WithInstanceLock("test"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	work := func() {
		var wg sync.WaitGroup
		for i := range 4 { // on several connections of each pool
			wg.Go(func() {
				id := string(rune('a' + i))
				s.Update(ctx, func(tx store.Tx) error {
					tx.Insert(store.Record{Kind: "proxy", ID: id, Account: "1", Data: []byte(`{}`)})
					_, err := tx.Get("proxy", id)
					return err
				})
				s.View(ctx, func(tx store.Tx) error {
					tx.Get("proxy", id)
					tx.List(store.Query{Kind: "proxy", Account: "1"})
					return nil
				})
				s.Revision(ctx)
				s.Stats().Write(ctx, []store.Point{{Object: "o" + id, Metric: "m", Granularity: 60, Time: time.Unix(60, 0), Value: 1}})
				s.Stats().Query(ctx, "o"+id, "m", 60, time.Unix(0, 0), time.Unix(120, 0))
				s.Stats().At(ctx, 60, time.Unix(60, 0))
			})
		}
		wg.Wait()
	}
	for range 3 { // The first round's misses are prepared in the background; the later rounds use them.
		work()
		time.Sleep(200 * time.Millisecond)
	}
	n := 0
	s.stmts.Range(func(_, v any) bool {
		if v.(*sql.Stmt) != nil {
			n++
		}
		return true
	})
	if n == 0 {
		t.Fatal("no statement prepared")
	}
	p.Freeze()
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Logf("%d statements prepared; Close took %v: %v", n, time.Since(start), err)
		if d := time.Since(start); d > closeTimeout+time.Second {
			t.Errorf("Close took %v with the database frozen; want at most closeTimeout (%v)", d.Round(time.Second), closeTimeout)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Close still blocked 60 s after the database stopped answering")
	}
}
