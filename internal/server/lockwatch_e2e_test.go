package server_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
	"github.com/opengaap/opengaap/internal/xtest"
)

// TestFatalOnLostStoreLock: a serve on PostgreSQL whose instance lock is
// taken by another session after its own dropped reports it on Fatal
// (cmd/opengaap then exits non-zero for a supervisor to restart it).
func TestFatalOnLostStoreLock(t *testing.T) {
	dsn := xtest.PostgresDSN(t)
	o := server.Options{APIListen: "127.0.0.1:0", DataDir: t.TempDir(), VIPPool: "127.99.78.32/28", NoTOA: true,
		StoreDSN: dsn, LockCheck: 100 * time.Millisecond,
		Root: cloudapi.Account{SecretID: "AKIDlocktest", SecretKey: "key"}}
	s, err := server.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The lock's session, the only advisory lock holder with two keys.
	var pid int
	if err := db.QueryRowContext(t.Context(), `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&pid); err != nil {
		t.Fatalf("the instance lock's session: %v", err)
	}
	// Another session queues for the lock, and gets it the moment the
	// serve's session ends, before the serve's watch can take it again.
	thief, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Close()
	got := make(chan error, 1)
	go func() {
		_, err := thief.ExecContext(context.Background(), `SELECT pg_advisory_lock(classid::int, objid::int) FROM pg_locks
			WHERE locktype = 'advisory' AND objsubid = 2 AND pid = $1`, pid)
		got <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second session never queued for the lock")
		}
	}
	if _, err := db.ExecContext(t.Context(), "SELECT pg_terminate_backend($1, 5000)", pid); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the second session's lock: %v", err)
	}
	select {
	case err := <-s.Fatal():
		if !errors.Is(err, sqlstore.ErrLocked) || !strings.Contains(err.Error(), "lost") {
			t.Errorf("Fatal: %v; want the lost lock, refused with ErrLocked", err)
		}
		t.Logf("fatal: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Fatal did not fire within 5 s of the lock being taken by another session")
	}
}
