// Package sqlstore implements store.Store on SQL: SQLite through the cgo-free
// modernc.org/sqlite driver, PostgreSQL through pgx's database/sql adapter.
// One code path serves both; a small dialect value carries the differences
// (placeholders, column types, how writers are serialized). The schema comes
// from embedded, numbered migrations applied by Open.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// Store is a store.Store backed by SQLite or PostgreSQL. It is safe for
// concurrent use. Writers are serialized (one at a time, across processes
// too), readers run concurrently on a snapshot.
type Store struct {
	d *dialect
	// write runs Update and Stats writes; read runs View and queries. On
	// SQLite write has exactly one connection.
	write, read *sql.DB
	// lockWriters runs first in every Update ("" on SQLite: see dialect).
	lockWriters string
	stmts       sync.Map       // stmtKey → *sql.Stmt (nil while being prepared)
	bg          sync.WaitGroup // Background prepares, waited for by Close.
	// bgCtx bounds background prepares; Close cancels it, so a prepare
	// stuck on a database that stopped answering cannot hold Close up, nor
	// can closing the prepared statements (pgStmt).
	bgCtx    context.Context
	bgCancel context.CancelFunc
	lock     instanceLock // held instance lock (WithInstanceLock), or nil
}

// prepareTimeout bounds a background prepare (see prepared).
const prepareTimeout = 30 * time.Second

// closeTimeout bounds what Close waits for the database: the instance
// lock's unlock (pgLock.release); nothing else in Close awaits an answer.
// serve's shutdown allows 10 s after the drain, for its last statistics
// (5 s) and this.
const closeTimeout = 5 * time.Second

// Interface guards.
var (
	_ store.Store = (*Store)(nil)
	_ store.Tx    = (*tx)(nil)
	_ store.Stats = statsStore{}
)

// Option changes how Open opens a store.
type Option func(*options)

type options struct {
	holder    string        // instance lock holder; "" takes no lock
	lockCheck time.Duration // how often a PostgreSQL lock is checked; 0 = DefaultLockCheck
	log       *slog.Logger  // where a re-taken lock and SQLite files made private are reported; nil = nowhere
}

// WithInstanceLock makes Open take the store's instance lock for holder
// before it migrates anything, and hold it until Close (see lock.go). A
// store locked by another process is refused with ErrLocked and left
// exactly as it was: a second serve, perhaps a newer release, must not
// migrate the schema under the one running on it.
func WithInstanceLock(holder string) Option {
	return func(o *options) { o.holder = holder }
}

// WithLockWatch sets how often the PostgreSQL instance lock of
// WithInstanceLock is checked (every <= 0: DefaultLockCheck) and the log
// that reports a lock lost with its connection and taken again (and
// SQLite files that were readable by others, made private at Open). A lock
// lost to another session is reported on LockLost. SQLite's lock cannot
// be lost while the store is open, so it is not watched.
func WithLockWatch(every time.Duration, log *slog.Logger) Option {
	return func(o *options) { o.lockCheck, o.log = every, log }
}

// Open connects to dsn and migrates the schema. A dsn starting with
// postgres:// or postgresql:// names a PostgreSQL database (any pgx
// connection string of that form); anything else is a SQLite file path, whose
// parent directories are created, and whose files are made readable by
// their owner only (mode 0600).
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	s, err := openStore(ctx, dsn, o)
	if err != nil && !isPostgres(dsn) {
		err = explainFull(dsn, err)
	}
	return s, err
}

func openStore(ctx context.Context, dsn string, o options) (*Store, error) {
	bgCtx, bgCancel := context.WithCancel(context.Background())
	d, write, read, schema, err := openPools(ctx, dsn, bgCtx.Done(), o.log)
	if err != nil {
		bgCancel()
		return nil, err
	}
	s := &Store{d: d, write: write, read: read, bgCtx: bgCtx, bgCancel: bgCancel}
	if d.lockWriters != nil {
		s.lockWriters = d.lockWriters(schema)
	}
	if o.holder != "" {
		// Before migrate: only the holder may change the schema.
		if s.lock, err = lockInstance(ctx, d, dsn, schema, o); err != nil {
			write.Close()
			read.Close()
			return nil, err
		}
	}
	if err := migrate(ctx, d, write, s.lockWriters); err != nil {
		return nil, errors.Join(err, s.closePools())
	}
	return s, nil
}

// LockLost receives an error, once, when the store's PostgreSQL instance
// lock was lost (its connection dropped) and another serve holds it now
// (an unreachable database is tried until it answers). The store then no
// longer belongs to this process alone; its holder should stop. Nil
// (never ready) without an instance lock or on SQLite.
func (s *Store) LockLost() <-chan error {
	if s.lock == nil {
		return nil
	}
	return s.lock.lostCh()
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Update runs fn in a serialized read-write transaction and commits it,
// bumping the revision when fn wrote anything. fn's error is returned
// unchanged after rolling back; a panic in fn rolls back too.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := s.write.BeginTx(ctx, s.d.update)
	if err != nil {
		return wrap("begin", err)
	}
	defer sqlTx.Rollback() // after Commit a no-op returning ErrTxDone
	if s.lockWriters != "" {
		if _, err := sqlTx.ExecContext(ctx, s.lockWriters); err != nil {
			return wrap("lock", err)
		}
	}
	t := &tx{s: s, db: s.write, tx: sqlTx, ctx: ctx, writable: true}
	defer t.finish()
	if err := fn(t); err != nil {
		return err
	}
	if t.wrote {
		if _, err := t.exec(qBumpRevision); err != nil {
			return wrap("bump revision", err)
		}
	}
	return wrap("commit", sqlTx.Commit())
}

// View runs fn in a read-only transaction that sees one consistent snapshot.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := s.read.BeginTx(ctx, s.d.view)
	if err != nil {
		return wrap("begin", err)
	}
	defer sqlTx.Rollback()
	t := &tx{s: s, db: s.read, tx: sqlTx, ctx: ctx}
	defer t.finish()
	if err := fn(t); err != nil {
		return err
	}
	// Committing a read-only transaction only ends it; but a failure here
	// (context canceled) means the reads may be incomplete, so report it.
	return wrap("commit", sqlTx.Commit())
}

// Revision returns the number of committed writing Updates.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	st, err := s.stmt(ctx, s.read, qRevision)
	if err != nil {
		return 0, err
	}
	if err := st.QueryRowContext(ctx).Scan(&rev); err != nil {
		return 0, wrap("revision", err)
	}
	return rev, nil
}

// Stats returns the time-series side of the store.
func (s *Store) Stats() store.Stats { return statsStore{s} }

// Close closes both pools. The Store must not be used afterwards. It
// waits for the database at most closeTimeout, whether or not it answers.
func (s *Store) Close() error {
	// A background prepare still running would open a connection (and, on
	// SQLite, files next to the database) after Close returned: cancel
	// it, then wait for it to end. Canceled, it also has PostgreSQL's
	// statements closed without a round trip (pgStmt).
	s.bgCancel()
	s.bg.Wait()
	s.stmts.Range(func(_, v any) bool {
		if st := v.(*sql.Stmt); st != nil {
			st.Close()
		}
		return true
	})
	return s.closePools()
}

// closePools closes both pools, then releases the instance lock, if held:
// no write of this Store can follow the release.
func (s *Store) closePools() error {
	err := errors.Join(s.write.Close(), s.read.Close())
	if s.lock != nil {
		err = errors.Join(err, s.lock.release())
	}
	return err
}

// stmtKey identifies a prepared statement: the same SQL is prepared once per pool.
type stmtKey struct {
	db  *sql.DB
	sql string
}

// prepared returns q (written with ? placeholders) prepared on db, or nil
// when it is not prepared yet. Preparing once matters for List, which must
// serve thousands of calls a second: database/sql then keeps the statement
// prepared on every connection that runs it.
//
// A miss must not prepare on db in the caller's goroutine: a transaction
// holds one of db's connections (SQLite's writer pool has only that one), so
// waiting for another could deadlock. The miss is prepared in the
// background, and the caller prepares on its own transaction meanwhile.
func (s *Store) prepared(db *sql.DB, q string) *sql.Stmt {
	k := stmtKey{db, q}
	if v, ok := s.stmts.Load(k); ok {
		return v.(*sql.Stmt)
	}
	if _, loaded := s.stmts.LoadOrStore(k, (*sql.Stmt)(nil)); !loaded {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			ctx, cancel := context.WithTimeout(s.bgCtx, prepareTimeout)
			defer cancel()
			st, err := db.PrepareContext(ctx, s.d.rebind(q))
			if err != nil {
				s.stmts.Delete(k) // try again on a later miss
				return
			}
			if !s.stmts.CompareAndSwap(k, (*sql.Stmt)(nil), st) {
				st.Close() // stmt prepared it first
			}
		}()
	}
	return nil
}

// stmt returns q prepared on db, preparing it now when needed. Callers must
// not hold a connection of db.
func (s *Store) stmt(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	if st := s.prepared(db, q); st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, s.d.rebind(q))
	if err != nil {
		return nil, wrap("prepare", err)
	}
	// A background prepare of q may be under way: keep whichever lands first.
	k := stmtKey{db, q}
	if s.stmts.CompareAndSwap(k, (*sql.Stmt)(nil), st) {
		return st, nil
	}
	if v, loaded := s.stmts.LoadOrStore(k, st); loaded && v.(*sql.Stmt) != nil {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

// wrap adds context to a driver error; nil stays nil. The result still
// matches context.Canceled and friends with errors.Is.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}
