package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLocked is returned by Open with WithInstanceLock when another process
// holds the store's instance lock.
var ErrLocked = errors.New("sqlstore: the store is in use by another opengaap serve")

// InstanceLockClass is the first key of the PostgreSQL instance lock, as
// pg_locks shows it (classid), for an operator or a test looking for the
// session that holds it (the second is a hash of the schema, so stores in
// different schemas of one database do not exclude each other); the
// writer lock's differs (writerLockClass).
const InstanceLockClass = 0x6f676170 // "ogap"

// instanceLock is a held instance lock, released by Close. lostCh
// reports a lock lost for good (nil where it cannot be lost).
type instanceLock interface {
	release() error
	lostCh() <-chan error
}

// lockInstance takes the instance lock of the store at dsn (in schema, on
// PostgreSQL), which the
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
// connection dropping; pgLock watches for that).
func lockInstance(ctx context.Context, d *dialect, dsn, schema string, o options) (instanceLock, error) {
	if d == postgresDialect {
		return lockPostgres(ctx, dsn, schema, o)
	}
	return lockFile(dsn+".lock", o.holder)
}

// DefaultLockCheck is how often a PostgreSQL instance lock is checked.
const DefaultLockCheck = 10 * time.Second

// pgLock is a session-level advisory lock held by conn, watched by a
// goroutine (watch) until release.
//
// The lock lives exactly as long as conn's session: a database restart, a
// network cut or pg_terminate_backend ends it silently while the serve runs
// on, and a second serve could then start on the store. So watch checks,
// every interval, that conn's backend still holds it (pg_locks). When it
// does not, it takes the lock again on a new connection, trying with
// backoff for as long as the database cannot be reached: got, it logs a
// warning and carries on; refused (another serve holds it now), it
// reports the error on lost and stops watching. An unreachable database
// is not reported: serve would exit, and its data plane, which needs no
// database, with it, for an outage that a restart cannot end (Open needs
// the database) and that keeps any other serve from the lock too.
type pgLock struct {
	cfg    *pgx.ConnConfig
	schema string
	key    int32
	log    *slog.Logger
	lost   chan error // receives the one fatal report; buffered

	conn   *pgx.Conn       // owned by watch until it returns, then by release
	ctx    context.Context // canceled by release: ends a check or retake under way
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once // release's
	err    error     // release's result
}

// release (once) stops the watch, then unlocks before closing: the server drops
// a closed session's locks only when its backend has exited, a moment
// after the client's Close returns, so a serve started right after this
// one stopped would find the store still locked.
func (l *pgLock) release() error {
	l.once.Do(func() {
		l.cancel()
		<-l.done
		if l.conn == nil { // Lost, and not taken again.
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_, err := l.conn.Exec(ctx, "SELECT pg_advisory_unlock_all()")
		l.err = errors.Join(err, l.conn.Close(ctx))
	})
	return l.err
}

// lostCh returns the channel a lost lock is reported on.
func (l *pgLock) lostCh() <-chan error { return l.lost }

// watch checks the lock every interval until release (see pgLock).
func (l *pgLock) watch(interval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		err := l.check(interval)
		if err == nil {
			continue
		}
		if l.ctx.Err() != nil { // Released during the check: release unlocks.
			return
		}
		// The session is gone or no longer holds the lock: drop it (a
		// live one that lost the lock must not keep whatever it has).
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l.conn.Close(ctx)
		cancel()
		l.conn = nil
		conn, rerr := l.retake(err)
		if l.ctx.Err() != nil { // Released meanwhile.
			if conn != nil {
				l.conn = conn
			}
			return
		}
		if rerr != nil {
			l.lost <- fmt.Errorf("sqlstore: the instance lock on schema %q was lost (%v) and another session holds it now: %w", l.schema, err, rerr)
			return
		}
		l.conn = conn
		l.log.Warn("the store's PostgreSQL instance lock was lost with its connection and has been taken again; "+
			"another opengaap serve may have run on the store meanwhile", "schema", l.schema, "cause", err)
	}
}

// check asks conn's own backend whether it still holds the lock.
func (l *pgLock) check(interval time.Duration) error {
	ctx, cancel := context.WithTimeout(l.ctx, max(interval, 5*time.Second))
	defer cancel()
	var held bool
	err := l.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() AND objsubid = 2
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND classid = $1 AND objid = $2)`, InstanceLockClass, l.key).Scan(&held)
	switch {
	case err != nil:
		return fmt.Errorf("checking the lock's connection: %w", err)
	case !held:
		return errors.New("the lock's session no longer holds it")
	}
	return nil
}

// retake takes the lock again on a new connection, lost for cause. It
// tries until it gets the lock, another session holds it (ErrLocked) or
// release cancels it, waiting between attempts from 100 ms doubling up to
// 2 s, so a database back from a restart is found within 2 s.
func (l *pgLock) retake(cause error) (*pgx.Conn, error) {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		conn, err := tryLock(l.ctx, l.cfg, l.schema)
		if err == nil || errors.Is(err, ErrLocked) {
			return conn, err
		}
		if wait == 100*time.Millisecond {
			l.log.Warn("the store's PostgreSQL instance lock was lost with its connection; trying to take it again "+
				"until the database answers (the data plane serves on meanwhile)", "schema", l.schema, "cause", cause, "err", err)
		}
		select {
		case <-l.ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
	}
}

func lockPostgres(ctx context.Context, dsn, schema string, o options) (instanceLock, error) {
	cfg, err := parsePostgres(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: instance lock: %w", err)
	}
	// application_name is what a refused process reports as the holder
	// (pg_stat_activity), so it says which serve it is.
	cfg.RuntimeParams["application_name"] = truncate(o.holder, 63)
	conn, err := tryLock(ctx, cfg, schema)
	if err != nil {
		return nil, err
	}
	interval := cmp.Or(max(o.lockCheck, 0), DefaultLockCheck)
	l := &pgLock{cfg: cfg, schema: schema, key: schemaKey(schema),
		log: o.log, lost: make(chan error, 1), conn: conn, done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	go l.watch(interval)
	return l, nil
}

// tryLock connects with cfg and takes the instance lock of schema
// without waiting: held, it returns the connection holding it; refused,
// ErrLocked naming the holder.
func tryLock(ctx context.Context, cfg *pgx.ConnConfig, schema string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: instance lock: connect: %w", err)
	}
	key := schemaKey(schema)
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", InstanceLockClass, key).Scan(&got); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("sqlstore: instance lock: %w", err)
	}
	if got {
		return conn, nil
	}
	defer conn.Close(ctx)
	var who string
	err = conn.QueryRow(ctx, `SELECT format('%s (PostgreSQL backend pid %s, client %s, connected %s)',
			a.application_name, a.pid, COALESCE(host(a.client_addr), 'local socket'), a.backend_start)
		FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND l.classid = $1 AND l.objid = $2`, InstanceLockClass, key).Scan(&who)
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
