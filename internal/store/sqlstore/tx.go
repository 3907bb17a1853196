package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/opengaap/opengaap/internal/store"
)

// SQL shared by both dialects; ? placeholders are rebound for PostgreSQL.
// ON CONFLICT DO NOTHING reports a duplicate as zero rows affected instead of
// an error: on PostgreSQL a failed statement aborts the whole transaction, and
// callers must be able to go on after ErrConflict.
const (
	qGet    = `SELECT account, parent, project, created, data FROM resources WHERE kind = ? AND id = ?`
	qInsert = `INSERT INTO resources (kind, id, account, parent, project, created, data)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, id) DO NOTHING`
	qPut = `UPDATE resources SET account = ?, parent = ?, project = ?, data = ?
		WHERE kind = ? AND id = ?`
	qDelete    = `DELETE FROM resources WHERE kind = ? AND id = ? RETURNING account`
	qAccountOf = `SELECT account FROM resources WHERE kind = ? AND id = ?`
	qCount     = `INSERT INTO counts (kind, account, n) VALUES (?, ?, ?)
		ON CONFLICT (kind, account) DO UPDATE SET n = counts.n + excluded.n`
	qClaim = `INSERT INTO claims (namespace, token, created) VALUES (?, ?, ?)
		ON CONFLICT (namespace, token) DO NOTHING`
	qClaimed = `SELECT 1 FROM claims WHERE namespace = ? AND token = ?`
	// substr counts characters on both engines; LIKE would need its
	// wildcards escaped and follows collations.
	qExpireClaims = `DELETE FROM claims WHERE (namespace, token) IN
		(SELECT namespace, token FROM claims WHERE created < ? AND substr(namespace, 1, ?) = ?
		ORDER BY created LIMIT ?)`
	qRevision     = `SELECT value FROM meta WHERE key = 'revision'`
	qBumpRevision = `UPDATE meta SET value = value + 1 WHERE key = 'revision'`
)

var (
	errReadOnly = errors.New("sqlstore: write in a View transaction")
	errTxDone   = errors.New("sqlstore: transaction used after its function returned")
)

// tx is a store.Tx over one *sql.Tx. Like the sql.Tx under it, it is not safe
// for concurrent use.
type tx struct {
	s        *Store
	db       *sql.DB // the pool tx came from, to find prepared statements
	tx       *sql.Tx
	ctx      context.Context
	writable bool
	wrote    bool // a write succeeded: the revision must grow
	done     bool
}

// finish makes t refuse further use, so a Tx leaked out of its function
// fails with a clear error rather than whatever database/sql reports.
func (t *tx) finish() { t.done = true }

// stmt returns q prepared and bound to this transaction.
func (t *tx) stmt(q string) (*sql.Stmt, error) {
	if t.done {
		return nil, errTxDone
	}
	if st := t.s.prepared(t.db, q); st != nil {
		return t.tx.StmtContext(t.ctx, st), nil
	}
	st, err := t.tx.PrepareContext(t.ctx, t.s.d.rebind(q))
	return st, wrap("prepare", err)
}

// exec runs a statement and returns the number of rows it affected.
func (t *tx) exec(q string, args ...any) (int64, error) {
	st, err := t.stmt(q)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(t.ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// write runs a writing statement and notes the write; it returns the rows affected.
func (t *tx) write(op, q string, args ...any) (int64, error) {
	if !t.writable {
		return 0, errReadOnly
	}
	n, err := t.exec(q, args...)
	if err != nil {
		return 0, wrap(op, err)
	}
	if n > 0 {
		t.wrote = true
	}
	return n, nil
}

// validKeys reports whether every key can be stored (store.ValidKey). A
// key that cannot is a miss on reads and store.ErrInvalidKey on writes, on
// both engines: PostgreSQL would fail the statement (text holds neither NUL
// nor invalid UTF-8) where SQLite would compare the bytes.
func validKeys(keys ...string) bool {
	for _, k := range keys {
		if !store.ValidKey(k) {
			return false
		}
	}
	return true
}

func (t *tx) Get(kind, id string) (store.Record, error) {
	r := store.Record{Kind: kind, ID: id}
	st, err := t.stmt(qGet)
	if err != nil {
		return r, err
	}
	if !validKeys(kind, id) {
		return store.Record{}, store.ErrNotFound
	}
	err = st.QueryRowContext(t.ctx, kind, id).Scan(&r.Account, &r.Parent, &r.Project, &r.Created, &r.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Record{}, store.ErrNotFound
	}
	if err != nil {
		return store.Record{}, wrap("get", err)
	}
	return r, nil
}

func (t *tx) Insert(r store.Record) error {
	if !t.writable {
		return errReadOnly
	}
	if !validKeys(r.Kind, r.ID, r.Account, r.Parent) {
		return store.ErrInvalidKey
	}
	if r.Created == 0 {
		r.Created = time.Now().UnixNano()
	}
	n, err := t.write("insert", qInsert, r.Kind, r.ID, r.Account, r.Parent, r.Project, r.Created, nonNil(r.Data))
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrConflict
	}
	return t.count(r.Kind, r.Account, +1)
}

func (t *tx) Put(r store.Record) error {
	if !t.writable {
		return errReadOnly
	}
	if !validKeys(r.Kind, r.ID) {
		return store.ErrNotFound // no such record can exist
	}
	if !validKeys(r.Account, r.Parent) {
		return store.ErrInvalidKey
	}
	// The old account, to move the record between counts if it changes.
	old, err := t.queryString("put", qAccountOf, r.Kind, r.ID)
	if err != nil {
		return err
	}
	if _, err := t.write("put", qPut, r.Account, r.Parent, r.Project, nonNil(r.Data), r.Kind, r.ID); err != nil {
		return err
	}
	if old == r.Account {
		return nil
	}
	if err := t.count(r.Kind, old, -1); err != nil {
		return err
	}
	return t.count(r.Kind, r.Account, +1)
}

func (t *tx) Delete(kind, id string) error {
	if !t.writable {
		return errReadOnly
	}
	if !validKeys(kind, id) {
		return store.ErrNotFound
	}
	account, err := t.queryString("delete", qDelete, kind, id)
	if err != nil {
		return err
	}
	t.wrote = true
	return t.count(kind, account, -1)
}

// count adds delta to the number of kind records that account owns.
func (t *tx) count(kind, account string, delta int) error {
	_, err := t.exec(qCount, kind, account, delta)
	return wrap("count", err)
}

// queryString runs a query returning one string; ErrNotFound for no row.
func (t *tx) queryString(op, q string, args ...any) (string, error) {
	st, err := t.stmt(q)
	if err != nil {
		return "", err
	}
	var v string
	err = st.QueryRowContext(t.ctx, args...).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", store.ErrNotFound
	}
	return v, wrap(op, err)
}

func (t *tx) Claim(namespace, token string) error {
	if !t.writable {
		return errReadOnly
	}
	if !validKeys(namespace, token) {
		return store.ErrInvalidKey
	}
	n, err := t.write("claim", qClaim, namespace, token, time.Now().UnixNano())
	if err == nil && n == 0 {
		return store.ErrConflict
	}
	return err
}

func (t *tx) Claimed(namespace, token string) (bool, error) {
	if !validKeys(namespace, token) {
		return false, nil // no claim can hold them
	}
	_, err := t.queryString("claimed", qClaimed, namespace, token)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (t *tx) ExpireClaims(prefix string, before int64, limit int) (int, error) {
	if !validKeys(prefix) {
		return 0, nil // no namespace can start with it
	}
	n, err := t.write("expire claims", qExpireClaims, before, utf8.RuneCountInString(prefix), prefix, limit)
	return int(n), err
}

// nonNil stores an absent document as empty bytes: data is NOT NULL, and a
// nil []byte would be bound as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
