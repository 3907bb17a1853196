package server_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
	"github.com/opengaap/opengaap/internal/xtest"
	"github.com/opengaap/opengaap/internal/xtest/faultproxy"
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
	// The lock's session (writers take a transaction lock of another
	// class, also with two keys).
	var pid int
	if err := db.QueryRowContext(t.Context(), `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND objsubid = 2 AND classid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		sqlstore.InstanceLockClass).Scan(&pid); err != nil {
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
			WHERE locktype = 'advisory' AND objsubid = 2 AND classid = $2 AND pid = $1`, pid, sqlstore.InstanceLockClass)
		got <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var n int
		// Only the thief: other tests' writers wait for their own locks.
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND classid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
			sqlstore.InstanceLockClass).Scan(&n); err != nil {
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

// TestServeSurvivesStoreOutage: the database unreachable for a second (a
// restart, a failover, a network cut) while serve checks its instance
// lock: serve takes the lock again when the database answers and carries
// on, instead of reporting Fatal (cmd/opengaap would exit 1, data plane
// and all).
func TestServeSurvivesStoreOutage(t *testing.T) {
	dsn := xtest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.New(t, u.Host)
	u.Host = p.Addr()
	api := xtest.StartAPIWith(t, func(o *server.Options) {
		o.StoreDSN = u.String()
		o.LockCheck = 200 * time.Millisecond
	})
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holder := func() (pid int) {
		err := db.QueryRowContext(t.Context(), `SELECT COALESCE(MAX(pid), 0) FROM pg_locks WHERE locktype = 'advisory'
			AND granted AND objsubid = 2 AND classid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
			sqlstore.InstanceLockClass).Scan(&pid)
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	before := holder()
	if before == 0 {
		t.Fatal("no session holds the instance lock before the outage")
	}
	p.Cut()
	time.Sleep(time.Second)
	p.Restore()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if now := holder(); now != 0 && now != before {
			break
		}
		select {
		case err := <-api.Fatal():
			t.Fatalf("serve gave up after a 1 s database outage: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the instance lock was not taken again within 5 s of the database coming back")
		}
	}
	if _, err := api.GAAP().DescribeProxies(gaapsdk.NewDescribeProxiesRequest()); err != nil {
		t.Errorf("DescribeProxies after the outage: %v", err)
	}
}
