package storetest

import (
	"errors"
	"testing"

	"github.com/opengaap/opengaap/internal/store"
)

var errBoom = errors.New("storetest: boom")

// writeAll performs one of each write on a store holding seed.
func writeAll(tx store.Tx) error {
	steps := []error{
		tx.Insert(rec("proxy", "new", "a", 1)),
		tx.Put(store.Record{Kind: seed.Kind, ID: seed.ID, Account: "changed", Data: []byte(`{}`)}),
		tx.Claim("token", "t-rolled-back"),
		tx.Delete("proxy", "new"),
		tx.Insert(rec("proxy", "new-2", "a", 1)),
	}
	return errors.Join(steps...)
}

func testTransactions(t *testing.T, open Opener) {
	t.Run("error rolls back", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, seed)
		rev := revision(t, s)
		err := s.Update(t.Context(), func(tx store.Tx) error {
			if err := writeAll(tx); err != nil {
				t.Fatalf("writes: %v", err)
			}
			return errBoom
		})
		if err != errBoom {
			t.Errorf("Update = %v; want fn's error unchanged", err)
		}
		wantRolledBack(t, s, rev)
	})
	t.Run("panic rolls back", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, seed)
		rev := revision(t, s)
		func() {
			defer func() {
				if r := recover(); r != errBoom {
					t.Errorf("recovered %v; want the panic to pass through", r)
				}
			}()
			s.Update(t.Context(), func(tx store.Tx) error {
				writeAll(tx)
				panic(errBoom)
			})
		}()
		wantRolledBack(t, s, rev)
	})
	t.Run("wrapped error passes through", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		err := s.Update(t.Context(), func(tx store.Tx) error {
			_, err := tx.Get("proxy", "nope")
			return errors.Join(errBoom, err)
		})
		if !errors.Is(err, errBoom) || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Update = %v; want both errBoom and ErrNotFound", err)
		}
		if err := s.View(t.Context(), func(store.Tx) error { return errBoom }); err != errBoom {
			t.Errorf("View = %v; want fn's error unchanged", err)
		}
	})
	t.Run("tx unusable after return", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var leaked store.Tx
		update(t, s, func(tx store.Tx) error { leaked = tx; return nil })
		if err := leaked.Insert(rec("proxy", "late", "a", 1)); err == nil {
			t.Errorf("Insert on a finished Tx = nil; want an error")
		}
		wantMissing("proxy", "late")(t, s)
	})
	t.Run("view sees a snapshot", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, seed)
		view(t, s, func(tx store.Tx) error {
			before, err := tx.Get(seed.Kind, seed.ID)
			if err != nil {
				return err
			}
			// A writer is not blocked by an open reader…
			update(t, s, func(tx store.Tx) error {
				return errors.Join(tx.Put(store.Record{Kind: seed.Kind, ID: seed.ID, Account: "new"}), tx.Insert(rec("proxy", "p-2", "a", 1)))
			})
			// …and the reader does not see what it committed.
			after, err := tx.Get(seed.Kind, seed.ID)
			if err != nil {
				return err
			}
			if !sameRecord(before, after) {
				t.Errorf("second Get in one View = %+v; want %+v", after, before)
			}
			recs, total, err := tx.List(store.Query{Kind: "proxy", Account: "a"})
			if len(recs) != 1 || total != 1 {
				t.Errorf("List in View = %d records, total %d; want 1, 1", len(recs), total)
			}
			return err
		})
		wantRecord(store.Record{Kind: seed.Kind, ID: seed.ID, Account: "new", Created: seed.Created})(t, s)
	})
}

// wantRolledBack checks that nothing writeAll did survived and that the
// revision is still rev.
func wantRolledBack(t *testing.T, s store.Store, rev int64) {
	t.Helper()
	wantRecord(seed)(t, s)
	wantMissing("proxy", "new")(t, s)
	wantMissing("proxy", "new-2")(t, s)
	if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Claim("token", "t-rolled-back") }); err != nil {
		t.Errorf("Claim of a rolled-back token = %v; want nil", err)
	}
	if got := revision(t, s); got != rev+1 { // +1: the Claim just above
		t.Errorf("revision = %d; want %d", got, rev+1)
	}
}

func testRevision(t *testing.T, open Opener) {
	t.Parallel()
	s := open(t)
	if got := revision(t, s); got != 0 {
		t.Errorf("revision of an empty store = %d; want 0", got)
	}
	insert(t, s, seed)
	steps := []struct {
		name  string
		fn    func(tx store.Tx) error
		delta int64
	}{
		{"many writes count once", writeAll, 1},
		{"read only", func(tx store.Tx) error { _, err := tx.Get(seed.Kind, seed.ID); return err }, 0},
		{"nothing", func(store.Tx) error { return nil }, 0},
		{"failed writes only", func(tx store.Tx) error {
			tx.Insert(seed)
			tx.Put(rec("proxy", "nope", "a", 1))
			tx.Delete("proxy", "nope")
			return nil
		}, 0},
		{"put", func(tx store.Tx) error { return tx.Put(seed) }, 1},
		{"claim", func(tx store.Tx) error { return tx.Claim("n", "1") }, 1},
		{"expire no claim", func(tx store.Tx) error { _, err := tx.ExpireClaims("", 0, 10); return err }, 0},
		{"delete", func(tx store.Tx) error { return tx.Delete("proxy", "new-2") }, 1},
		{"rolled back", func(tx store.Tx) error { tx.Claim("n", "2"); return errBoom }, 0},
	}
	for _, st := range steps {
		before := revision(t, s)
		err := s.Update(t.Context(), st.fn)
		if err != nil && err != errBoom {
			t.Fatalf("%s: Update: %v", st.name, err)
		}
		if got := revision(t, s); got != before+st.delta {
			t.Errorf("%s: revision = %d; want %d", st.name, got, before+st.delta)
		}
	}
	before := revision(t, s)
	view(t, s, func(tx store.Tx) error { _, _, err := tx.List(store.Query{Kind: "proxy", Account: "a"}); return err })
	if got := revision(t, s); got != before {
		t.Errorf("revision after View = %d; want %d", got, before)
	}
}
