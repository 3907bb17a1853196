package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // registers the cgo-free "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/opengaap/opengaap/internal/atomicfile"
)

// A dialect holds everything that differs between the engines. The rest of
// the package writes SQL once, with ? placeholders and {{name}} type tokens.
type dialect struct {
	name string
	// numbered turns ? into $1, $2, … (PostgreSQL).
	numbered bool
	// types replaces the {{…}} tokens of migrations: column types, and
	// now_ns, the current time in Unix nanoseconds.
	types *strings.Replacer
	// lockWriters, when set, returns the statement that runs first in
	// every write transaction of the store in schema. The SQLite writer
	// pool has one connection and BEGIN IMMEDIATE, so writers are already
	// serialized there; PostgreSQL needs a transaction-scoped advisory
	// lock, which also serializes writers in other processes. It is keyed
	// by schema, as the instance lock is: stores in other schemas of the
	// database are other stores, whose writers must not wait for these.
	lockWriters func(schema string) string
	// update is how Update begins. PostgreSQL writers must run READ
	// COMMITTED whatever the server's default: a REPEATABLE READ snapshot
	// would be taken before the advisory lock is granted, and the writer
	// would then miss what the previous holder committed.
	update *sql.TxOptions
	// view is how View begins: REPEATABLE READ gives PostgreSQL readers one
	// snapshot for the whole transaction, which SQLite's WAL readers always get.
	view *sql.TxOptions
	// byteOrder follows id in List's ORDER BY so that ids compare as
	// bytes, as listChunked compares them: SQLite's TEXT does already,
	// PostgreSQL's follows the database's collation (en_US puts "a"
	// before "B" and "ab" before "a-c"), and ids are any valid UTF-8. Ties
	// on created are rare, so the indexes' (created, id) order in the
	// database's collation still serves the query (an incremental sort
	// of the ties at most).
	byteOrder string
	// arrays: the driver binds Go slices as arrays (pgx), so a batch of
	// stats points is written in one statement (qStatsUpsertArrays, one
	// round trip) instead of one per point.
	arrays bool
}

// writerLockClass is the first key of the PostgreSQL writer lock; the
// second is schemaKey(schema), as for the instance lock (InstanceLockClass).
const writerLockClass = 0x6f677772 // "ogwr"

var (
	sqliteDialect = &dialect{
		name:  "sqlite",
		types: tokens("BLOB", "CAST(strftime('%s', 'now') AS INTEGER) * 1000000000", ""),
		view:  &sql.TxOptions{ReadOnly: true},
	}
	postgresDialect = &dialect{
		name:     "postgres",
		numbered: true,
		types: tokens("BYTEA", "CAST(FLOOR(EXTRACT(EPOCH FROM now())) AS BIGINT) * 1000000000",
			`ALTER TABLE stats ALTER COLUMN object TYPE TEXT COLLATE "C"`),
		lockWriters: func(schema string) string {
			return fmt.Sprintf("SELECT pg_advisory_xact_lock(%d, %d)", writerLockClass, schemaKey(schema))
		},
		update:    &sql.TxOptions{Isolation: sql.LevelReadCommitted},
		view:      &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		byteOrder: ` COLLATE "C"`,
		arrays:    true,
	}
)

// tokens is a dialect's replacer of migration tokens: {{blob}}, the
// binary column type, {{now_ns}}, the current time in Unix nanoseconds,
// and {{stats_object_bytes}}, the statement (none where it is so already)
// that makes stats.object compare as bytes (migration 0006).
func tokens(blob, nowNS, statsObjectBytes string) *strings.Replacer {
	return strings.NewReplacer("{{blob}}", blob, "{{now_ns}}", nowNS, "{{stats_object_bytes}}", statsObjectBytes)
}

// rebind rewrites ? placeholders for the dialect. Our SQL never has a ? inside
// a string literal, so a plain scan is enough.
func (d *dialect) rebind(q string) string {
	if !d.numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isPostgres reports whether dsn names a PostgreSQL server rather than a file.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openPools opens the writer and reader pools for dsn and checks that the
// server answers and, on PostgreSQL, that the store's schema exists,
// which it returns. log reports SQLite files made private (privateFiles). Writers and readers are separate pools so that queued
// writers never take the connections readers need. closing is closed when
// the Store starts closing (see pgStmt).
func openPools(ctx context.Context, dsn string, closing <-chan struct{}, log *slog.Logger) (d *dialect, write, read *sql.DB, schema string, err error) {
	if isPostgres(dsn) {
		d = postgresDialect
		write, read, err = openPostgres(dsn, closing)
	} else {
		d = sqliteDialect
		write, read, err = openSQLite(dsn, log)
	}
	if err != nil {
		return nil, nil, nil, "", err
	}
	for _, db := range []*sql.DB{write, read} {
		if err = db.PingContext(ctx); err != nil {
			err = fmt.Errorf("sqlstore: connect %s: %w", d.name, err)
			break
		}
	}
	if err == nil && d == postgresDialect {
		schema, err = postgresSchema(ctx, write)
	}
	if err != nil {
		write.Close()
		read.Close()
		return nil, nil, nil, "", err
	}
	return d, write, read, schema, nil
}

// postgresSchema returns the schema holding the store at db: the first
// schema of the search_path that exists. When none does (a typo in the
// URL's search_path, a schema not created yet), the store is refused
// naming them; PostgreSQL would only say "no schema has been selected to
// create in" at the first CREATE.
func postgresSchema(ctx context.Context, db *sql.DB) (string, error) {
	var schema sql.NullString
	var path string
	if err := db.QueryRowContext(ctx, "SELECT current_schema(), current_setting('search_path')").Scan(&schema, &path); err != nil {
		return "", fmt.Errorf("sqlstore: read the store's schema: %w", err)
	}
	if !schema.Valid {
		var names []string
		for _, n := range strings.Split(path, ",") {
			names = append(names, strconv.Quote(strings.Trim(strings.TrimSpace(n), `"`)))
		}
		return "", fmt.Errorf("sqlstore: the store's schema does not exist: no schema of the search_path (%s) exists in this database; "+
			"create it (CREATE SCHEMA) or correct the search_path in the URL", strings.Join(names, ", "))
	}
	return schema.String, nil
}

// openSQLite opens path with one writer connection and a few readers.
//
// WAL lets readers run beside the writer. synchronous=FULL fsyncs the WAL on
// every commit, so an acknowledged Update survives power loss, not only a
// crash of the process (NORMAL would be enough for kill -9); the control plane
// writes at API-call rates, where the fsync costs little. BEGIN IMMEDIATE
// (_txlock) takes the write lock up front, so a transaction that reads before
// writing can never fail with SQLITE_BUSY when another process also writes;
// busy_timeout covers that rare case.
func openSQLite(path string, log *slog.Logger) (write, read *sql.DB, err error) {
	if strings.ContainsRune(path, '?') {
		return nil, nil, fmt.Errorf("sqlstore: sqlite path %q must not contain '?'", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, nil, fmt.Errorf("sqlstore: %w", err)
		}
	}
	if err := privateFiles(path, log); err != nil {
		return nil, nil, err
	}
	const common = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	write, err = sql.Open("sqlite", path+common+"&_txlock=immediate")
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	// query_only turns a write sneaking into View into an error.
	read, err = sql.Open("sqlite", path+common+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	return write, read, nil
}

// fullBelow is the free space under which a failed SQLite open is put down
// to a full filesystem: a start needs room for the -shm file (32 KiB), WAL
// frames and the migrations' pages, and a filesystem this close to full
// leaves SQLite none, whatever it calls the failure.
const fullBelow = 1 << 20

// explainFull names a full filesystem as the cause of err, a failure to
// open the SQLite store at path. SQLite words it in ways that point
// elsewhere: after a clean stop, a start must create the -shm file again,
// and a full disk fails that with "disk I/O error (4874)"
// (SQLITE_IOERR_SHMSIZE), which reads as failing hardware.
func explainFull(path string, err error) error {
	var se *sqlite.Error
	if !errors.Is(err, syscall.ENOSPC) && !(errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_FULL || se.Code()&0xff == sqlite3.SQLITE_IOERR)) {
		return err
	}
	dir := filepath.Dir(path)
	free, ok := freeSpace(dir)
	if !ok || free >= fullBelow {
		return err
	}
	return fmt.Errorf("%w: the filesystem holding %s is full (%d bytes free); free space there and start again", err, dir, free)
}

// privateFiles makes the database at path and its -wal and -shm files
// readable by their owner only, as the credentials and the certificate-key
// file are: the store holds every tenant's configuration, basic-auth
// credentials among them, and the directory it is in may be open to all
// (one made by a package or systemd's StateDirectory, 0755). SQLite itself
// creates a new database 0644 (less the umask) and gives the -wal and -shm
// files the database's mode, so creating the database 0600 first (empty:
// SQLite takes it for a new one) covers them all. Files of an existing
// store readable by others are tightened (atomicfile.KeepPrivate, logged).
func privateFiles(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	f.Close()
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		if err := atomicfile.KeepPrivate(name, log); err != nil {
			return fmt.Errorf("sqlstore: %w", err)
		}
	}
	return nil
}

// connectTimeout bounds connecting to PostgreSQL unless the URL sets
// connect_timeout: without one, a connection to a host that vanished
// without a reset waits as long as its caller's context, which for
// database/sql's pool maintenance is for ever.
const connectTimeout = 10 * time.Second

// CheckPostgresURL reports what the driver finds wrong with a PostgreSQL
// URL (an unknown sslmode, a connect_timeout that is not a number, ...),
// without connecting: serve checks its flags before it writes anything.
// The error hides the password.
func CheckPostgresURL(dsn string) error {
	_, err := parsePostgres(dsn)
	return err
}

// parsePostgres parses a PostgreSQL URL, with connectTimeout by default.
func parsePostgres(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	return cfg, nil
}

// openPostgres opens two pgx-backed pools on dsn. pgx caches prepared
// statements per connection, so idle connections are kept rather than closed.
func openPostgres(dsn string, closing <-chan struct{}) (write, read *sql.DB, err error) {
	cfg, err := parsePostgres(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	write = sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg), closing})
	// Writers wait for the advisory lock anyway; a few connections let the
	// next one queue on the server while the first commits.
	write.SetMaxOpenConns(4)
	write.SetMaxIdleConns(4)
	read = sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg), closing})
	read.SetMaxOpenConns(16)
	read.SetMaxIdleConns(16)
	return write, read, nil
}

// pgConnector makes pgx's database/sql connections report a BEGIN that
// failed on a dead connection as driver.ErrBadConn, and leave their
// statements to the session's end once closing is closed (see pgStmt).
type pgConnector struct {
	driver.Connector
	closing <-chan struct{}
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return pgConn{conn.(*stdlib.Conn), c.closing}, nil
}

// pgConn is a pgx connection (every method and optional driver interface
// of *stdlib.Conn) whose BeginTx reports a dead connection as
// driver.ErrBadConn.
//
// When the server ends a pooled connection's session (restart, failover,
// pg_terminate_backend), nothing notices until the connection is used:
// pgx pings on reuse only after a second idle, so under traffic the next
// BEGIN on it fails (57P01, or a reset) and the call with it. A BEGIN has
// run nothing, so database/sql may safely run it again; given ErrBadConn
// it drops the connection and does, on another and at last on a new
// connection. The connection is dead when pgx closed it on the failure;
// a context that ended is the caller's error and stays one. Statements
// are not retried: one that failed may have run.
type pgConn struct {
	*stdlib.Conn
	closing <-chan struct{}
}

func (c pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil && ctx.Err() == nil && c.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	return tx, err
}

func (c pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return pgStmt{st.(*stdlib.Stmt), c.closing}, nil
}

// pgStmt is a pgx prepared statement whose Close, once the Store is
// closing, leaves it to the end of its session, which drops it.
//
// database/sql closes a connection's statements one at a time before the
// connection itself (Stmt.Close, DB.Close), and pgx sends each a
// Deallocate and waits up to 5 s for its answer. Against a database that
// stopped answering without a reset (a vanished host, a partition), the
// first one on each connection waited those 5 s, connection after
// connection: Close took 45 s for ten statements, and serve's shutdown
// with it, for round trips that achieve nothing when the session ends
// next.
type pgStmt struct {
	*stdlib.Stmt
	closing <-chan struct{}
}

func (s pgStmt) Close() error {
	select {
	case <-s.closing:
		return nil
	default:
		return s.Stmt.Close()
	}
}
