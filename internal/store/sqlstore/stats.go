package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opengaap/opengaap/internal/store"
)

// Stats SQL. Times are stored as Unix nanoseconds and come back in UTC.
const (
	qStatsInsert = `INSERT INTO stats (object, metric, granularity, ts, value) `
	qStatsUpdate = ` ON CONFLICT (object, metric, granularity, ts) DO UPDATE SET value = excluded.value`
	qStatsUpsert = qStatsInsert + `VALUES (?, ?, ?, ?, ?)` + qStatsUpdate
	// qStatsUpsertArrays upserts a whole batch from one array per column
	// (dialect.arrays), in the arrays' order: ORDER BY makes it so (Write
	// relies on one order of row locks), which SELECT from unnest alone
	// does not promise.
	qStatsUpsertArrays = qStatsInsert + `SELECT object, metric, granularity, ts, value
		FROM unnest(?::text[], ?::text[], ?::integer[], ?::bigint[], ?::double precision[])
		WITH ORDINALITY AS batch(object, metric, granularity, ts, value, n) ORDER BY n` + qStatsUpdate
	qStatsQuery = `SELECT object, ts, value FROM stats
		WHERE object = ? AND metric = ? AND granularity = ? AND ts >= ? AND ts <= ? ORDER BY ts`
	// qStatsPrefix reads the series whose object starts with a prefix as a
	// range of the primary key, object >= prefix AND object < prefixEnd;
	// the column compares as bytes on both engines (migration 0006), so
	// that range holds those objects and no others. LIKE would not use the
	// index on PostgreSQL, and substr would scan every series. The unary
	// + keeps SQLite's planner, which knows no row counts, off stats_prune
	// (granularity, ts), which would read every series of the window.
	qStatsPrefix = `SELECT object, ts, value FROM stats
		WHERE object >= ? AND object < ? AND metric = ? AND +granularity = ? AND ts >= ? AND ts <= ? ORDER BY object, ts`
	// qStatsPrefixOpen is qStatsPrefix for a prefix without an end: every
	// object from it on starts with it.
	qStatsPrefixOpen = `SELECT object, ts, value FROM stats
		WHERE object >= ? AND metric = ? AND +granularity = ? AND ts >= ? AND ts <= ? ORDER BY object, ts`
	qStatsAt    = `SELECT object, metric, value FROM stats WHERE granularity = ? AND ts = ?`
	qStatsRange = `SELECT object, metric, ts, value FROM stats
		WHERE granularity = ? AND ts >= ? AND ts < ? ORDER BY ts`
	qStatsPrune = `DELETE FROM stats WHERE granularity = ? AND ts < ?`
)

// statsStore is the store.Stats of a Store. Stats writes go through the
// writer pool (SQLite has one writer) but skip the resource write lock and
// leave the revision alone: samples are not configuration.
type statsStore struct{ s *Store }

// Write upserts pts in one transaction (or one statement), so a batch
// lands whole or not at all. Where the dialect binds arrays (PostgreSQL),
// that is one statement and one round trip for the whole batch; SQLite,
// which has no round trips to save, runs one prepared statement per point.
func (st statsStore) Write(ctx context.Context, pts []store.Point) error {
	if len(pts) == 0 {
		return nil
	}
	for _, p := range pts {
		if !validKeys(p.Object, p.Metric) {
			return store.ErrInvalidKey
		}
	}
	// Upsert in one fixed order. Stats writes skip the writer lock, so on
	// PostgreSQL two batches touching the same rows in opposite orders
	// (the recorder builds batches from maps) would deadlock (40P01);
	// with one order the second simply waits. Sorting a copy costs far
	// less than the writes. Stable: duplicate points of a batch keep
	// their order, and the last one is kept, as it would win unsorted
	// (one statement may not upsert a row twice on PostgreSQL).
	pts = slices.Clone(pts)
	key := func(a, b store.Point) int {
		return cmp.Or(strings.Compare(a.Object, b.Object), strings.Compare(a.Metric, b.Metric),
			cmp.Compare(a.Granularity, b.Granularity), a.Time.Compare(b.Time))
	}
	slices.SortStableFunc(pts, key)
	n := 0
	for _, p := range pts {
		if n > 0 && key(pts[n-1], p) == 0 {
			n--
		}
		pts[n] = p
		n++
	}
	pts = pts[:n]
	if st.s.d.arrays {
		return st.writeArrays(ctx, pts)
	}
	stmt, err := st.s.stmt(ctx, st.s.write, qStatsUpsert)
	if err != nil {
		return err
	}
	sqlTx, err := st.s.write.BeginTx(ctx, st.s.d.update)
	if err != nil {
		return wrap("stats begin", err)
	}
	defer sqlTx.Rollback()
	txStmt := sqlTx.StmtContext(ctx, stmt)
	for _, p := range pts {
		_, err := txStmt.ExecContext(ctx, p.Object, p.Metric, p.Granularity, p.Time.UnixNano(), p.Value)
		if err != nil {
			return wrap("stats write", err)
		}
	}
	return wrap("stats commit", sqlTx.Commit())
}

// writeArrays upserts pts, sorted and without duplicates, in one statement.
func (st statsStore) writeArrays(ctx context.Context, pts []store.Point) error {
	objects, metrics := make([]string, len(pts)), make([]string, len(pts))
	grans, times, values := make([]int32, len(pts)), make([]int64, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		objects[i], metrics[i], grans[i], times[i], values[i] = p.Object, p.Metric, int32(p.Granularity), p.Time.UnixNano(), p.Value
	}
	stmt, err := st.s.stmt(ctx, st.s.write, qStatsUpsertArrays)
	if err != nil {
		return err
	}
	_, err = stmt.ExecContext(ctx, objects, metrics, grans, times, values)
	return wrap("stats write", err)
}

// Query returns the points of one series with from <= Time <= to, oldest first.
func (st statsStore) Query(ctx context.Context, object, metric string, granularity int, from, to time.Time) ([]store.Point, error) {
	if !validKeys(object, metric) {
		return nil, nil // no such series can exist
	}
	return st.points(ctx, qStatsQuery, metric, granularity, object, metric, granularity, from.UnixNano(), to.UnixNano())
}

// QueryPrefix returns the points with from <= Time <= to of every series
// of metric whose object starts with prefix, by object then time.
func (st statsStore) QueryPrefix(ctx context.Context, prefix, metric string, granularity int, from, to time.Time) ([]store.Point, error) {
	if !validKeys(prefix, metric) {
		return nil, nil
	}
	end, ok := prefixEnd(prefix)
	if !ok {
		return st.points(ctx, qStatsPrefixOpen, metric, granularity, prefix, metric, granularity, from.UnixNano(), to.UnixNano())
	}
	return st.points(ctx, qStatsPrefix, metric, granularity, prefix, end, metric, granularity, from.UnixNano(), to.UnixNano())
}

// prefixEnd returns the least string above every string starting with
// prefix: prefix with its last code point raised by one, after dropping
// trailing U+10FFFF, which has no next. UTF-8's byte order is code point
// order, so that is the bound in bytes too, and it stays valid UTF-8
// (PostgreSQL text refuses anything else), unlike prefix with its last
// byte raised. There is none (false) when prefix is empty or all U+10FFFF.
func prefixEnd(prefix string) (string, bool) {
	for p := prefix; p != ""; {
		r, n := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-n]
		switch r {
		case utf8.MaxRune:
			continue
		case 0xD7FF: // next are the surrogates, no code points of text
			r = 0xE000
		default:
			r++
		}
		return p + string(r), true
	}
	return "", false
}

// points runs query, which selects object, ts and value, and returns its
// points of metric and granularity.
func (st statsStore) points(ctx context.Context, query, metric string, granularity int, args ...any) ([]store.Point, error) {
	stmt, err := st.s.stmt(ctx, st.s.read, query)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, wrap("stats query", err)
	}
	defer rows.Close()
	var pts []store.Point
	for rows.Next() {
		var ts int64
		p := store.Point{Metric: metric, Granularity: granularity}
		if err := rows.Scan(&p.Object, &ts, &p.Value); err != nil {
			return nil, wrap("stats query", err)
		}
		p.Time = time.Unix(0, ts).UTC()
		pts = append(pts, p)
	}
	return pts, wrap("stats query", rows.Err())
}

// At returns every point of granularity stamped at (index stats_prune).
func (st statsStore) At(ctx context.Context, granularity int, at time.Time) ([]store.Point, error) {
	stmt, err := st.s.stmt(ctx, st.s.read, qStatsAt)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, granularity, at.UnixNano())
	if err != nil {
		return nil, wrap("stats at", err)
	}
	defer rows.Close()
	var pts []store.Point
	for rows.Next() {
		p := store.Point{Granularity: granularity, Time: at.UTC()}
		if err := rows.Scan(&p.Object, &p.Metric, &p.Value); err != nil {
			return nil, wrap("stats at", err)
		}
		pts = append(pts, p)
	}
	return pts, wrap("stats at", rows.Err())
}

// Range returns every point of granularity with from <= Time < to, oldest
// first (index stats_prune).
func (st statsStore) Range(ctx context.Context, granularity int, from, to time.Time) ([]store.Point, error) {
	stmt, err := st.s.stmt(ctx, st.s.read, qStatsRange)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, granularity, from.UnixNano(), to.UnixNano())
	if err != nil {
		return nil, wrap("stats range", err)
	}
	defer rows.Close()
	var pts []store.Point
	for rows.Next() {
		var ts int64
		p := store.Point{Granularity: granularity}
		if err := rows.Scan(&p.Object, &p.Metric, &ts, &p.Value); err != nil {
			return nil, wrap("stats range", err)
		}
		p.Time = time.Unix(0, ts).UTC()
		pts = append(pts, p)
	}
	return pts, wrap("stats range", rows.Err())
}

// Prune deletes the points of granularity older than before.
func (st statsStore) Prune(ctx context.Context, granularity int, before time.Time) error {
	stmt, err := st.s.stmt(ctx, st.s.write, qStatsPrune)
	if err != nil {
		return err
	}
	_, err = stmt.ExecContext(ctx, granularity, before.UnixNano())
	return wrap("stats prune", err)
}
