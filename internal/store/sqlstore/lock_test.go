package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
)

// postgresEngine returns the PostgreSQL engine, skipping t without one.
func postgresEngine(t *testing.T) engine {
	e := engines(t)[1]
	e.available(t)
	return e
}

// lockHolderPID returns the backend pid holding the instance lock of
// schema in db's database, 0 if none.
func lockHolderPID(t *testing.T, db *sql.DB, schema string) int {
	t.Helper()
	var pid int
	err := db.QueryRowContext(t.Context(), `SELECT COALESCE(MAX(pid), 0) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 2
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND classid = $1 AND objid = $2`, instanceLockClass, schemaKey(schema)).Scan(&pid)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// openWatched opens dsn with the instance lock, checked every interval
// and logging to a buffer; it returns the store, the buffer, a second
// connection pool on dsn, the store's schema and the backend pid holding
// the lock.
func openWatched(t *testing.T, dsn string, interval time.Duration) (*Store, *edgetest.LogBuffer, *sql.DB, string, int) {
	t.Helper()
	var log edgetest.LogBuffer
	s, err := Open(t.Context(), dsn, WithInstanceLock("holder A"), WithLockWatch(interval, slog.New(slog.NewTextHandler(&log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	other, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	var schema string
	if err := other.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	pid := lockHolderPID(t, other, schema)
	if pid == 0 {
		t.Fatal("no session holds the instance lock")
	}
	return s, &log, other, schema, pid
}

// TestLockWatchRetakes: the lock's session ended from outside
// (pg_terminate_backend, as a database restart or a network cut would) is
// noticed within the check interval and the lock taken again on a new
// connection, with a warning; a second serve is still refused.
func TestLockWatchRetakes(t *testing.T) {
	dsn := postgresEngine(t).newDB(t)
	s, log, other, schema, pid := openWatched(t, dsn, 100*time.Millisecond)
	if _, err := other.ExecContext(t.Context(), "SELECT pg_terminate_backend($1, 5000)", pid); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "taken again") {
		if time.Now().After(deadline) {
			t.Fatalf("lock not taken again within 5 s; log %q", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("log: %s", log.String())
	if now := lockHolderPID(t, other, schema); now == 0 || now == pid {
		t.Errorf("lock holder after the retake: backend %d (was %d)", now, pid)
	}
	select {
	case err := <-s.LockLost():
		t.Errorf("LockLost: %v; want nothing after a successful retake", err)
	default:
	}
	if _, err := openLocked(t, dsn, "holder B"); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "holder A") {
		t.Errorf("second Open with the lock = %v; want ErrLocked naming holder A", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := openLocked(t, dsn, "holder B"); err != nil {
		t.Errorf("Open with the lock after the holder closed: %v", err)
	}
}

// TestLockWatchLost: when another session takes the lock between the
// holder's session ending and its watch noticing, the watch reports it on
// LockLost, naming the new holder.
func TestLockWatchLost(t *testing.T) {
	dsn := postgresEngine(t).newDB(t)
	s, log, other, schema, pid := openWatched(t, dsn, 100*time.Millisecond)
	// The thief queues for the lock before the holder's session ends, so
	// the server grants it the lock the moment that session is gone,
	// before the watch can try.
	thief, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Close()
	if _, err := thief.ExecContext(t.Context(), "SET application_name = 'the thief'"); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := thief.ExecContext(context.Background(), "SELECT pg_advisory_lock($1, $2)", instanceLockClass, schemaKey(schema))
		got <- err
	}()
	waitFor(t, func() bool {
		var n int
		other.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").Scan(&n)
		return n > 0
	})
	if _, err := other.ExecContext(t.Context(), "SELECT pg_terminate_backend($1, 5000)", pid); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the thief's lock: %v", err)
	}
	select {
	case err := <-s.LockLost():
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "the thief") {
			t.Errorf("LockLost: %v; want ErrLocked naming the thief", err)
		}
		t.Logf("lost: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatalf("LockLost did not fire within 5 s; log %q", log.String())
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after the lock was lost: %v", err)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
	}
}
