package sqlstore

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/store"
)

var errNoAccount = errors.New("sqlstore: List without Account needs AllAccounts")

// List returns one page of q and the number of records matching q. Both
// queries run in the caller's transaction, so page and total agree.
func (t *tx) List(q store.Query) ([]store.Record, int, error) {
	if !q.AllAccounts && q.Account == "" {
		// A forgotten Account must not silently list nothing, nor everything.
		return nil, 0, errNoAccount
	}
	if q.Offset < 0 || q.Limit < 0 {
		return nil, 0, errors.New("sqlstore: negative Offset or Limit")
	}
	// Keys that cannot be stored (store.ValidKey) match nothing; left in
	// the query they would fail it on PostgreSQL.
	if !validKeys(q.Kind, q.Parent) || (!q.AllAccounts && !validKeys(q.Account)) {
		return nil, 0, nil
	}
	var ok bool
	if q.IDs, ok = storable(q.IDs); !ok {
		return nil, 0, nil
	}
	if q.Parents, ok = storable(q.Parents); !ok {
		return nil, 0, nil
	}
	if len(q.IDs) > maxInList || len(q.Parents) > maxInList {
		return t.listChunked(q)
	}
	where, args := listWhere(q)
	recs, err := t.listPage(q, where, args)
	if err != nil {
		return nil, 0, err
	}
	// A page that is neither empty nor full ends the result set, so its
	// length gives the total without a COUNT.
	if (len(recs) > 0 || q.Offset == 0) && (q.Limit == 0 || len(recs) < q.Limit) {
		return recs, q.Offset + len(recs), nil
	}
	if q.NoTotal {
		return recs, 0, nil
	}
	total, err := t.total(q, where, args)
	if err != nil {
		return nil, 0, err
	}
	return recs, total, nil
}

// maxInList is the longest IN list one statement gets. Padded to a power
// of two (inList), longer lists would approach SQLite's 32,766 and
// PostgreSQL's 65,535 bound parameters; they are cut into chunks instead.
const maxInList = 1024

// listChunked is List for IN lists longer than maxInList: it runs the query
// once per chunk (per pair of chunks when both lists are long) and pages,
// orders and counts the union itself. The lists are deduplicated first, so
// chunks are disjoint and no record comes back twice. It reads every match
// in full, as one query without a limit would; only callers passing every
// object of an account (teo's ZoneIds "*") get here.
func (t *tx) listChunked(q store.Query) ([]store.Record, int, error) {
	var all []store.Record
	for _, ids := range chunks(q.IDs) {
		for _, parents := range chunks(q.Parents) {
			sub := q
			sub.IDs, sub.Parents, sub.Offset, sub.Limit = ids, parents, 0, 0
			where, args := listWhere(sub)
			recs, err := t.listPage(sub, where, args)
			if err != nil {
				return nil, 0, err
			}
			all = append(all, recs...)
		}
	}
	// The statement's ORDER BY created, id; ids compare as bytes, as the
	// statement compares them on both engines (dialect.byteOrder), so a
	// page is the same whichever path serves it.
	slices.SortFunc(all, func(a, b store.Record) int {
		c := cmp.Or(cmp.Compare(a.Created, b.Created), strings.Compare(a.ID, b.ID))
		if q.Desc {
			return -c
		}
		return c
	})
	total := len(all)
	page := all[min(q.Offset, total):]
	if q.Limit > 0 && len(page) > q.Limit {
		page = page[:q.Limit]
	}
	if q.NoTotal && q.Limit > 0 && len(page) == q.Limit {
		total = 0 // as List: no total asked for a full page
	}
	return page, total, nil
}

// chunks deduplicates keys and cuts them into lists of at most maxInList;
// no keys give one empty chunk (no filter).
func chunks(keys []string) [][]string {
	if len(keys) == 0 {
		return [][]string{nil}
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	var out [][]string
	for c := range slices.Chunk(keys, maxInList) {
		out = append(out, c)
	}
	return out
}

// storable drops the keys of an IN list that cannot be stored. ok is false
// when a non-empty list loses every key: it then matches nothing (an
// empty list would match everything).
func storable(keys []string) (kept []string, ok bool) {
	if validKeys(keys...) {
		return keys, true
	}
	for _, k := range keys {
		if store.ValidKey(k) {
			kept = append(kept, k)
		}
	}
	return kept, len(kept) > 0
}

// listPage runs the page query. Limit 0 means all rows; a limit of MaxInt64
// keeps the statement the same shape, so one prepared statement serves both.
func (t *tx) listPage(q store.Query, where string, args []any) ([]store.Record, error) {
	limit := int64(q.Limit)
	if limit == 0 {
		limit = math.MaxInt64
	}
	order := " ORDER BY created, id" + t.s.d.byteOrder + " LIMIT ? OFFSET ?"
	if q.Desc {
		order = " ORDER BY created DESC, id" + t.s.d.byteOrder + " DESC LIMIT ? OFFSET ?"
	}
	st, err := t.stmt("SELECT id, account, parent, project, created, data FROM resources WHERE " + where + order)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(t.ctx, append(args, limit, int64(q.Offset))...)
	if err != nil {
		return nil, wrap("list", err)
	}
	defer rows.Close()
	var recs []store.Record
	if q.Limit > 0 {
		recs = make([]store.Record, 0, min(q.Limit, 256))
	}
	for rows.Next() {
		r := store.Record{Kind: q.Kind}
		if err := rows.Scan(&r.ID, &r.Account, &r.Parent, &r.Project, &r.Created, &r.Data); err != nil {
			return nil, wrap("list", err)
		}
		recs = append(recs, r)
	}
	return recs, wrap("list", rows.Err())
}

// total returns how many records match where, the WHERE clause of q. When
// q filters on nothing but kind and account, the counts table answers
// without visiting the records.
func (t *tx) total(q store.Query, where string, args []any) (int, error) {
	countSQL := "SELECT COUNT(*) FROM resources WHERE " + where
	if q.Parent == "" && len(q.Parents) == 0 && len(q.IDs) == 0 && q.Project == nil && q.Before == 0 {
		countSQL = "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM counts WHERE " + where
	}
	st, err := t.stmt(countSQL)
	if err != nil {
		return 0, err
	}
	var n int
	if err := st.QueryRowContext(t.ctx, args...).Scan(&n); err != nil {
		return 0, wrap("count", err)
	}
	return n, nil
}

// listWhere builds the WHERE clause of q and its arguments. The clause text
// depends only on which filters are set and on the IN-list sizes, rounded up
// to a power of two, so a handful of prepared statements cover every query.
func listWhere(q store.Query) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 4+len(q.Parents)+len(q.IDs))
	b.WriteString("kind = ?")
	args = append(args, q.Kind)
	if !q.AllAccounts {
		b.WriteString(" AND account = ?")
		args = append(args, q.Account)
	}
	if q.Parent != "" {
		b.WriteString(" AND parent = ?")
		args = append(args, q.Parent)
	}
	if len(q.Parents) > 0 {
		args = inList(&b, "parent", q.Parents, args)
	}
	if len(q.IDs) > 0 {
		args = inList(&b, "id", q.IDs, args)
	}
	if q.Project != nil {
		b.WriteString(" AND project = ?")
		args = append(args, *q.Project)
	}
	if q.Before != 0 {
		b.WriteString(" AND created < ?")
		args = append(args, q.Before)
	}
	return b.String(), args
}

// inList appends "AND col IN (?, …)" for vals, padded by repeating the last
// value (harmless in IN) to the next power of two.
func inList(b *strings.Builder, col string, vals []string, args []any) []any {
	n := 1
	for n < len(vals) {
		n *= 2
	}
	b.WriteString(" AND " + col + " IN (?")
	b.WriteString(strings.Repeat(", ?", n-1))
	b.WriteString(")")
	for i := range n {
		args = append(args, vals[min(i, len(vals)-1)])
	}
	return args
}
