package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/xtest/faultproxy"
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
			AND classid = $1 AND objid = $2`, InstanceLockClass, schemaKey(schema)).Scan(&pid)
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
	return openWatchedVia(t, dsn, dsn, interval)
}

// openWatchedVia is openWatched with the store opened on storeDSN (dsn's
// database through a faultproxy, say) and the second pool on dsn.
func openWatchedVia(t *testing.T, storeDSN, dsn string, interval time.Duration) (*Store, *edgetest.LogBuffer, *sql.DB, string, int) {
	t.Helper()
	var log edgetest.LogBuffer
	s, err := Open(t.Context(), storeDSN, WithInstanceLock("holder A"), WithLockWatch(interval, slog.New(slog.NewTextHandler(&log, nil))))
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

// waitRetaken waits up to 5 s (after what) for the watch to log the lock
// taken again.
func waitRetaken(t *testing.T, log *edgetest.LogBuffer, after string) {
	t.Helper()
	edgetest.Eventually(t, 5*time.Second, func() bool { return strings.Contains(log.String(), "taken again") },
		"lock not taken again within 5 s%s; log %q", after, log)
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
	waitRetaken(t, log, "")
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

// viaProxy returns dsn rewritten to reach its server through a new
// faultproxy, and the proxy.
func viaProxy(t *testing.T, dsn string) (string, *faultproxy.Proxy) {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.New(t, u.Host)
	u.Host = p.Addr()
	return u.String(), p
}

// TestLockWatchSurvivesOutage: the database unreachable for a second (a
// restart, a failover, a network cut) while the watch checks the lock:
// the lock is taken again once the database answers, within the retake
// budget, and nothing is reported on LockLost (serve would exit, taking
// the data plane down).
func TestLockWatchSurvivesOutage(t *testing.T) {
	dsn := postgresEngine(t).newDB(t)
	proxied, p := viaProxy(t, dsn)
	s, log, other, schema, pid := openWatchedVia(t, proxied, dsn, 100*time.Millisecond)
	p.Cut()
	time.Sleep(time.Second)
	p.Restore()
	waitRetaken(t, log, " of the database coming back")
	t.Logf("log: %s", log.String())
	select {
	case err := <-s.LockLost():
		t.Fatalf("LockLost after a 1 s outage: %v", err)
	default:
	}
	if now := lockHolderPID(t, other, schema); now == 0 || now == pid {
		t.Errorf("lock holder after the outage: backend %d (was %d)", now, pid)
	}
}

// TestLockWatchKeepsTrying: a database unreachable while the watch tries
// to take the lock again is not reported on LockLost: serve exited on it
// after a minute, its data plane with it, for an outage that a restart
// could not end (Open needs the database). Close still returns while the
// watch is trying.
func TestLockWatchKeepsTrying(t *testing.T) {
	dsn := postgresEngine(t).newDB(t)
	proxied, p := viaProxy(t, dsn)
	s, log, _, _, _ := openWatchedVia(t, proxied, dsn, 100*time.Millisecond)
	p.Cut()
	edgetest.Eventually(t, 5*time.Second, func() bool { return strings.Contains(log.String(), "trying to take it again") },
		"the watch did not notice the lost lock; log %q", log)
	select {
	case err := <-s.LockLost():
		t.Fatalf("LockLost while the database is unreachable: %v", err)
	case <-time.After(2 * time.Second):
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Logf("Close: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5 s while the watch was trying to take the lock again")
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
		_, err := thief.ExecContext(context.Background(), "SELECT pg_advisory_lock($1, $2)", InstanceLockClass, schemaKey(schema))
		got <- err
	}()
	waitFor(t, func() bool {
		var n int
		// The thief's wait only: other tests' writers wait for their own locks.
		other.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND classid = $1 AND objid = $2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
			InstanceLockClass, schemaKey(schema)).Scan(&n)
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
