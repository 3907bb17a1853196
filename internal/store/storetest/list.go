package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/opengaap/opengaap/internal/store"
)

// listFixture is the data set the List cases run on:
//
//	proxy  p-01…p-09  account a; created 10,20,…, except p-04 and p-05 share
//	                  created 40 (ID breaks the tie); project 1 for odd numbers
//	proxy  q-1, q-2   account b
//	listener l-1…l-6  account a; parents p-01 (l-1,l-2), p-02 (l-3,l-4), p-03 (l-5); l-6 has none
func listFixture() []store.Record {
	var recs []store.Record
	for i := 9; i >= 1; i-- { // inserted backwards: order must come from the query
		r := rec("proxy", fmt.Sprintf("p-%02d", i), "a", int64(i*10))
		if i == 5 {
			r.Created = 40
		}
		r.Project = int64(i % 2)
		recs = append(recs, r)
	}
	recs = append(recs, rec("proxy", "q-1", "b", 15), rec("proxy", "q-2", "b", 25))
	parents := []string{"p-01", "p-01", "p-02", "p-02", "p-03", ""}
	for i, p := range parents {
		r := rec("listener", fmt.Sprintf("l-%d", i+1), "a", int64(100-i)) // newest first by ID
		r.Parent = p
		recs = append(recs, r)
	}
	return recs
}

func project(p int64) *int64 { return &p }

// long returns a list of n keys holding vals (each twice, the last copies
// at the very end) among keys that match nothing.
func long(n int, vals ...string) []string {
	l := make([]string, 0, n)
	l = append(l, vals...)
	for len(l) < n-len(vals) {
		l = append(l, fmt.Sprintf("none-%d", len(l)))
	}
	return append(l, vals...)
}

func testList(t *testing.T, open Opener) {
	s := open(t)
	insert(t, s, listFixture()...)
	cases := []struct {
		name      string
		q         store.Query
		wantIDs   []string
		wantTotal int
	}{
		{"account scoped, ordered by created then id", store.Query{Kind: "proxy", Account: "a"},
			[]string{"p-01", "p-02", "p-03", "p-04", "p-05", "p-06", "p-07", "p-08", "p-09"}, 9},
		{"other account", store.Query{Kind: "proxy", Account: "b"}, []string{"q-1", "q-2"}, 2},
		{"unknown account", store.Query{Kind: "proxy", Account: "c"}, nil, 0},
		{"unknown kind", store.Query{Kind: "rule", Account: "a"}, nil, 0},
		{"all accounts", store.Query{Kind: "proxy", AllAccounts: true, Limit: 4},
			[]string{"p-01", "q-1", "p-02", "q-2"}, 11},
		{"first page", store.Query{Kind: "proxy", Account: "a", Limit: 3}, []string{"p-01", "p-02", "p-03"}, 9},
		{"page across a created tie", store.Query{Kind: "proxy", Account: "a", Offset: 3, Limit: 2}, []string{"p-04", "p-05"}, 9},
		{"last partial page", store.Query{Kind: "proxy", Account: "a", Offset: 7, Limit: 5}, []string{"p-08", "p-09"}, 9},
		{"exact last page", store.Query{Kind: "proxy", Account: "a", Offset: 6, Limit: 3}, []string{"p-07", "p-08", "p-09"}, 9},
		{"descending", store.Query{Kind: "proxy", Account: "a", Desc: true, Limit: 3}, []string{"p-09", "p-08", "p-07"}, 9},
		{"descending across a created tie", store.Query{Kind: "proxy", Account: "a", Desc: true, Offset: 4, Limit: 2}, []string{"p-05", "p-04"}, 9},
		{"descending last page", store.Query{Kind: "proxy", Account: "a", Desc: true, Offset: 7, Limit: 5}, []string{"p-02", "p-01"}, 9},
		{"offset past the end", store.Query{Kind: "proxy", Account: "a", Offset: 20, Limit: 5}, nil, 9},
		{"offset without limit", store.Query{Kind: "proxy", Account: "a", Offset: 7}, []string{"p-08", "p-09"}, 9},
		{"offset past the end without limit", store.Query{Kind: "proxy", Account: "a", Offset: 9}, nil, 9},
		{"limit above total", store.Query{Kind: "proxy", Account: "b", Limit: 100}, []string{"q-1", "q-2"}, 2},
		{"project", store.Query{Kind: "proxy", Account: "a", Project: project(1)},
			[]string{"p-01", "p-03", "p-05", "p-07", "p-09"}, 5},
		{"project zero", store.Query{Kind: "proxy", Account: "a", Project: project(0), Limit: 2}, []string{"p-02", "p-04"}, 4},
		{"ids", store.Query{Kind: "proxy", Account: "a", IDs: []string{"p-09", "p-02", "nope"}}, []string{"p-02", "p-09"}, 2},
		{"ids of another account", store.Query{Kind: "proxy", Account: "a", IDs: []string{"q-1", "p-03"}}, []string{"p-03"}, 1},
		{"ids with duplicates", store.Query{Kind: "proxy", Account: "a", IDs: []string{"p-03", "p-03", "p-01", "p-03", "p-01"}},
			[]string{"p-01", "p-03"}, 2},
		{"empty ids do not filter", store.Query{Kind: "proxy", Account: "b", IDs: []string{}}, []string{"q-1", "q-2"}, 2},
		{"parent", store.Query{Kind: "listener", Account: "a", Parent: "p-02"}, []string{"l-4", "l-3"}, 2},
		{"parents", store.Query{Kind: "listener", Account: "a", Parents: []string{"p-01", "p-03"}},
			[]string{"l-5", "l-2", "l-1"}, 3},
		{"parents and parent", store.Query{Kind: "listener", Account: "a", Parent: "p-01", Parents: []string{"p-01", "p-03"}},
			[]string{"l-2", "l-1"}, 2},
		{"parents, ids and paging", store.Query{Kind: "listener", Account: "a", Parents: []string{"p-01", "p-02"},
			IDs: []string{"l-1", "l-3", "l-4", "l-6"}, Offset: 1, Limit: 1}, []string{"l-3"}, 3},
		{"everything combined", store.Query{Kind: "proxy", Account: "a", IDs: []string{"p-01", "p-02", "p-03", "p-05", "p-07"},
			Project: project(1), Offset: 1, Limit: 2}, []string{"p-03", "p-05"}, 4},
		{"before", store.Query{Kind: "proxy", Account: "a", Before: 40}, []string{"p-01", "p-02", "p-03"}, 3},
		{"before, parent and paging", store.Query{Kind: "listener", Account: "a", Parent: "p-01", Before: 100, Limit: 1},
			[]string{"l-2"}, 1},
		{"before across accounts", store.Query{Kind: "proxy", AllAccounts: true, Before: 20, Limit: 1}, []string{"p-01"}, 2},
		{"full page without a total", store.Query{Kind: "proxy", AllAccounts: true, Before: 20, Limit: 1, NoTotal: true}, []string{"p-01"}, 0},
		{"filters that exclude each other", store.Query{Kind: "listener", Account: "a", Parent: "p-01", IDs: []string{"l-5"}}, nil, 0},
		{"wrong account with parent", store.Query{Kind: "listener", Account: "b", Parent: "p-01"}, nil, 0},
		// Lists beyond any engine's parameter limit (SQLite 32,766, PostgreSQL 65,535).
		{"40,000 ids with paging", store.Query{Kind: "proxy", Account: "a", IDs: long(40000, "p-09", "p-02", "p-05"), Offset: 1, Limit: 1},
			[]string{"p-05"}, 3},
		{"40,000 ids descending", store.Query{Kind: "proxy", Account: "a", IDs: long(40000, "p-09", "p-02", "p-05"), Desc: true},
			[]string{"p-09", "p-05", "p-02"}, 3},
		{"40,000 ids and project", store.Query{Kind: "proxy", Account: "a", IDs: long(40000, "p-09", "p-02", "p-05"), Project: project(1)},
			[]string{"p-05", "p-09"}, 2},
		{"40,000 parents and 3,000 ids", store.Query{Kind: "listener", Account: "a", Parents: long(40000, "p-03", "p-01"),
			IDs: long(3000, "l-1", "l-5", "l-3")}, []string{"l-5", "l-1"}, 2},
		{"70,000 parents, offset past the end", store.Query{Kind: "listener", Account: "a", Parents: long(70000, "p-03", "p-01"),
			Offset: 5, Limit: 2}, nil, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []store.Record
			var total int
			view(t, s, func(tx store.Tx) (err error) {
				got, total, err = tx.List(tc.q)
				return err
			})
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
				if r.Kind != tc.q.Kind || (!tc.q.AllAccounts && r.Account != tc.q.Account) {
					t.Errorf("record %s has kind %q account %q; want %q %q", r.ID, r.Kind, r.Account, tc.q.Kind, tc.q.Account)
				}
			}
			if !slices.Equal(ids, tc.wantIDs) || total != tc.wantTotal {
				t.Errorf("List = %v, total %d; want %v, total %d", ids, total, tc.wantIDs, tc.wantTotal)
			}
		})
	}
	t.Run("records are complete", func(t *testing.T) {
		var got []store.Record
		view(t, s, func(tx store.Tx) (err error) {
			got, _, err = tx.List(store.Query{Kind: "listener", Account: "a", IDs: []string{"l-1"}})
			return err
		})
		want := listFixture()[11]
		if len(got) != 1 || !sameRecord(got[0], want) {
			t.Errorf("List = %+v; want [%+v]", got, want)
		}
	})
	t.Run("missing account is an error", func(t *testing.T) {
		err := s.View(t.Context(), func(tx store.Tx) error {
			_, _, err := tx.List(store.Query{Kind: "proxy"})
			return err
		})
		if err == nil {
			t.Errorf("List without Account or AllAccounts = nil error; want an error")
		}
	})
}

// testListTotals checks that totals follow every kind of write, including
// rolled-back ones; a store may keep totals apart from the records.
func testListTotals(t *testing.T, open Opener) {
	t.Parallel()
	s := open(t)
	insert(t, s, rec("proxy", "p-1", "a", 1), rec("proxy", "p-2", "a", 2), rec("proxy", "p-3", "a", 3), rec("proxy", "p-4", "b", 4))
	update(t, s, func(tx store.Tx) error {
		moved := rec("proxy", "p-2", "b", 2)
		return errors.Join(tx.Delete("proxy", "p-1"), tx.Put(moved), tx.Put(rec("proxy", "p-3", "a", 3)))
	})
	s.Update(t.Context(), func(tx store.Tx) error {
		tx.Insert(rec("proxy", "p-5", "a", 5))
		tx.Delete("proxy", "p-4")
		return errBoom
	})
	cases := []struct {
		q    store.Query
		want int
	}{
		{store.Query{Kind: "proxy", Account: "a"}, 1},
		{store.Query{Kind: "proxy", Account: "b"}, 2},
		{store.Query{Kind: "proxy", Account: "c"}, 0},
		{store.Query{Kind: "proxy", AllAccounts: true}, 3},
		{store.Query{Kind: "proxy", Account: "b", Limit: 1}, 2},
		{store.Query{Kind: "proxy", AllAccounts: true, Offset: 5}, 3},
		{store.Query{Kind: "listener", AllAccounts: true}, 0},
	}
	for _, tc := range cases {
		var total int
		view(t, s, func(tx store.Tx) (err error) { _, total, err = tx.List(tc.q); return err })
		if total != tc.want {
			t.Errorf("List(%+v) total = %d; want %d", tc.q, total, tc.want)
		}
	}
}
