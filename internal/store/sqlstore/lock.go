package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ErrLocked is returned by Open with WithInstanceLock when another process
// holds the store's instance lock.
var ErrLocked = errors.New("sqlstore: the store is in use by another opengaap serve")

// instanceLockClass is the first key of the PostgreSQL instance lock (the
// second is a hash of the schema, so stores in different schemas of one
// database do not exclude each other). Two-int4 advisory keys never collide
// with the bigint key of the writer lock.
const instanceLockClass = 0x6f676170 // "ogap"

// instanceLock is a held instance lock, released by Close.
type instanceLock interface{ release() error }

// lockInstance takes the instance lock of the store at dsn, which the
// Store holds until Close:
// only one opengaap serve may run on a store, since each process settles
// statuses from its own data plane, writes the same statistics series and
// keeps its own certificate-key file. holder describes this process (host,
// pid, data dir); a second process is refused with ErrLocked and the
// holder's description, as far as the engine can tell it.
//
// SQLite: flock(2) on "<database>.lock", which the kernel releases when the
// process dies. PostgreSQL: a session-level advisory lock on a connection
// of its own, released when the session ends (process exit, Close, or the
// connection dropping).
func lockInstance(ctx context.Context, d *dialect, dsn, holder string) (instanceLock, error) {
	if d == postgresDialect {
		return lockPostgres(ctx, dsn, holder)
	}
	return lockFile(dsn+".lock", holder)
}

// pgLock is a session-level advisory lock held by conn.
type pgLock struct{ conn *pgx.Conn }

// release unlocks before closing: the server drops a closed session's
// locks only when its backend has exited, a moment after the client's
// Close returns, so a serve started right after this one stopped would
// find the store still locked.
func (l pgLock) release() error {
	ctx := context.Background()
	_, err := l.conn.Exec(ctx, "SELECT pg_advisory_unlock_all()")
	return errors.Join(err, l.conn.Close(ctx))
}

func lockPostgres(ctx context.Context, dsn, holder string) (instanceLock, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: instance lock: %w", err)
	}
	// application_name is what a refused process reports as the holder
	// (pg_stat_activity), so it says which serve it is.
	cfg.RuntimeParams["application_name"] = truncate(holder, 63)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: instance lock: connect: %w", err)
	}
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("sqlstore: instance lock: %w", err)
	}
	key := schemaKey(schema)
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", instanceLockClass, key).Scan(&got); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("sqlstore: instance lock: %w", err)
	}
	if got {
		return pgLock{conn}, nil
	}
	defer conn.Close(ctx)
	var who string
	err = conn.QueryRow(ctx, `SELECT format('%s (PostgreSQL backend pid %s, client %s, connected %s)',
			a.application_name, a.pid, COALESCE(host(a.client_addr), 'local socket'), a.backend_start)
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND l.classid = $1 AND l.objid = $2`, instanceLockClass, key).Scan(&who)
	if err != nil {
		who = "a session this role cannot see (" + err.Error() + ")"
	}
	return nil, fmt.Errorf("%w: schema %q of this PostgreSQL database is locked by %s", ErrLocked, schema, who)
}

// schemaKey is the second advisory key: a hash of the schema, as a
// non-negative int4 (pg_locks shows it as an oid).
func schemaKey(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return int32(h.Sum32() & 0x7fffffff)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// describeLockFile reads what the holder of a lock file wrote into it.
func describeLockFile(path string) string {
	b, err := os.ReadFile(path)
	if who := strings.TrimSpace(string(b)); err == nil && who != "" {
		return who
	}
	return "another process"
}
