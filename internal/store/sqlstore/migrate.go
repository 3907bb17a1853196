package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrations holds the schema history: NNNN_name.sql files applied in order,
// each once, each in its own transaction (both engines have transactional
// DDL, so a failed migration leaves no trace). Files are never edited once
// released; a change is a new file. Dialect differences are {{…}} tokens that
// dialect.types replaces.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migration is one parsed migrations/NNNN_name.sql file.
type migration struct {
	version int64
	name    string
	sql     string
}

// loadMigrations returns the embedded migrations in version order.
func loadMigrations(d *dialect) ([]migration, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files {
		base := strings.TrimPrefix(f, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s: name must be NNNN_name.sql", base)
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: d.types.Replace(string(body))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlstore: migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate brings the schema up to date. It runs on the writer pool under the
// writer lock (lockWriters, as in Update), so two processes opening the same
// store at once apply each migration exactly once.
func migrate(ctx context.Context, d *dialect, db *sql.DB, lockWriters string) error {
	ms, err := loadMigrations(d)
	if err != nil {
		return err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY,
		name    TEXT   NOT NULL,
		applied BIGINT NOT NULL)`
	if err := inWriteTx(ctx, d, db, lockWriters, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, create)
		return err
	}); err != nil {
		return fmt.Errorf("sqlstore: create schema_migrations: %w", err)
	}
	if err := inWriteTx(ctx, d, db, lockWriters, func(tx *sql.Tx) error { return checkNotNewer(ctx, tx, ms) }); err != nil {
		return err
	}
	for _, m := range ms {
		if err := inWriteTx(ctx, d, db, lockWriters, func(tx *sql.Tx) error { return apply(ctx, d, tx, m) }); err != nil {
			return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// checkNotNewer refuses a database that a newer opengaap migrated: this
// binary would read and write it with the assumptions of an older schema
// (data moved or columns redefined by a migration it does not know), and
// nothing would say so. Migrations only ever move forward.
func checkNotNewer(ctx context.Context, tx *sql.Tx, ms []migration) error {
	var known int64
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	var newest sql.NullInt64
	var name sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT version, name FROM schema_migrations
		ORDER BY version DESC LIMIT 1`).Scan(&newest, &name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: read schema version: %w", err)
	}
	if newest.Int64 > known {
		return fmt.Errorf("%w: the database is at schema version %d (%s), this opengaap knows up to version %d; "+
			"run the opengaap release that migrated it, or a newer one", ErrSchemaTooNew, newest.Int64, name.String, known)
	}
	return nil
}

// ErrSchemaTooNew is returned by Open for a database migrated by a newer
// opengaap than this one.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this binary")

// apply runs m unless schema_migrations says it already ran.
func apply(ctx context.Context, d *dialect, tx *sql.Tx, m migration) error {
	var n int
	q := d.rebind("SELECT COUNT(*) FROM schema_migrations WHERE version = ?")
	if err := tx.QueryRowContext(ctx, q, m.version).Scan(&n); err != nil || n > 0 {
		return err
	}
	for _, stmt := range splitStatements(m.sql) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	q = d.rebind("INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)")
	_, err := tx.ExecContext(ctx, q, m.version, m.name, time.Now().Unix())
	return err
}

// splitStatements cuts a migration at semicolons that end a line, because not
// every driver executes several statements in one call. Migrations keep
// semicolons out of string literals and comments.
func splitStatements(script string) []string {
	var out []string
	for _, s := range strings.Split(script, ";\n") {
		if strings.TrimSpace(stripComments(s)) != "" {
			out = append(out, s)
		}
	}
	return out
}

// stripComments drops -- comment lines, to tell an empty chunk from a statement.
func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// inWriteTx runs fn in a write transaction holding the writer lock (the
// lockWriters statement, if any), committing when fn returns nil.
func inWriteTx(ctx context.Context, d *dialect, db *sql.DB, lockWriters string, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, d.update)
	if err != nil {
		return err
	}
	defer tx.Rollback() // after Commit a no-op returning ErrTxDone
	if lockWriters != "" {
		if _, err := tx.ExecContext(ctx, lockWriters); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
