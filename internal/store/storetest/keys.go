package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// testInvalidKeys holds every engine to one answer for keys no engine can
// store alike (NUL, invalid UTF-8, over MaxKeyLen): a miss on reads, ErrInvalidKey on
// writes, never a driver error. PostgreSQL text refuses such keys outright
// while SQLite compares their bytes, so without the rule the API answered
// ResourceNotFound on one engine and InternalError on the other.
func testInvalidKeys(t *testing.T, open Opener) {
	t.Parallel()
	s := open(t)
	update(t, s, func(tx store.Tx) error { return tx.Insert(rec("proxy", "p1", "a", 0)) })
	// Over MaxKeyLen: PostgreSQL's btree entries hold at most 2,704 bytes
	// (an error that aborted the transaction), SQLite had no limit.
	tooLong := strings.Repeat("0123456789abcdef", store.MaxKeyLen/16) + "x"
	for _, bad := range []string{"proxy-\x00", "proxy-\xff", "\x00", tooLong} {
		view(t, s, func(tx store.Tx) error {
			if _, err := tx.Get("proxy", bad); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get(%q) = %v; want ErrNotFound", bad, err)
			}
			if _, err := tx.Get(bad, "p1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get(kind %q) = %v; want ErrNotFound", bad, err)
			}
			for _, q := range []store.Query{
				{Kind: "proxy", Account: "a", IDs: []string{bad}},
				{Kind: "proxy", Account: "a", Parents: []string{bad}},
				{Kind: "proxy", Account: "a", Parent: bad},
				{Kind: "proxy", Account: bad},
				{Kind: bad, Account: "a"},
			} {
				recs, total, err := tx.List(q)
				if err != nil || len(recs) != 0 || total != 0 {
					t.Errorf("List(%+v) = %d records, total %d, %v; want none", q, len(recs), total, err)
				}
			}
			// The valid keys of a list still match.
			recs, _, err := tx.List(store.Query{Kind: "proxy", Account: "a", IDs: []string{bad, "p1"}})
			if err != nil || len(recs) != 1 {
				t.Errorf("List(IDs %q, p1) = %d records, %v; want p1", bad, len(recs), err)
			}
			return nil
		})
		writes := []struct {
			name string
			fn   func(store.Tx) error
			want error
		}{
			{"Claim token", func(tx store.Tx) error { return tx.Claim("clienttoken/a", bad) }, store.ErrInvalidKey},
			{"Claim namespace", func(tx store.Tx) error { return tx.Claim(bad, "t") }, store.ErrInvalidKey},
			{"Insert ID", func(tx store.Tx) error { return tx.Insert(rec("proxy", bad, "a", 0)) }, store.ErrInvalidKey},
			{"Insert account", func(tx store.Tx) error { return tx.Insert(rec("proxy", "p2", bad, 0)) }, store.ErrInvalidKey},
			{"Put ID", func(tx store.Tx) error { return tx.Put(rec("proxy", bad, "a", 0)) }, store.ErrNotFound},
			{"Put parent", func(tx store.Tx) error {
				r := rec("proxy", "p1", "a", 0)
				r.Parent = bad
				return tx.Put(r)
			}, store.ErrInvalidKey},
			{"Delete", func(tx store.Tx) error { return tx.Delete("proxy", bad) }, store.ErrNotFound},
		}
		for _, w := range writes {
			if err := s.Update(t.Context(), w.fn); !errors.Is(err, w.want) {
				t.Errorf("%s %q = %v; want %v", w.name, bad, err, w.want)
			}
		}
		// The transaction goes on after a refused key (on PostgreSQL a
		// failed statement would abort it).
		update(t, s, func(tx store.Tx) error {
			if err := tx.Claim("clienttoken/a", bad); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Claim(%q) = %v; want ErrInvalidKey", bad, err)
			}
			_, err := tx.Get("proxy", "p1")
			return err
		})
		at := time.Unix(1_700_000_000, 0)
		if err := s.Stats().Write(t.Context(), []store.Point{{Object: bad, Metric: "m", Granularity: 60, Time: at}}); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Stats.Write(object %q) = %v; want ErrInvalidKey", bad, err)
		}
		if pts, err := s.Stats().Query(t.Context(), bad, "m", 60, at, at); err != nil || len(pts) != 0 {
			t.Errorf("Stats.Query(object %q) = %v, %v; want nothing", bad, pts, err)
		}
	}
}
