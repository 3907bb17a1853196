package sqlstore

import (
	"database/sql"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/opengaap/opengaap/internal/store"
)

// TestListIDOrder: records created at the same time are listed by ID as
// bytes on both engines and both List paths (one statement, and chunks
// for IN lists over maxInList), even where the database's collation
// orders them otherwise (PostgreSQL with an en-US collation puts "a"
// before "B" and "ab" before "a-c"; IDs are any valid UTF-8).
func TestListIDOrder(t *testing.T) {
	ids := []string{"a", "B", "ab", "a-c", "Z1", "z0", "é", "e", "_x", "10", "9"}
	want := slices.Sorted(slices.Values(ids)) // byte order
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			e.available(t)
			dsn := e.newDB(t)
			if e.name == "postgres" {
				dsn = enUSDatabase(t)
			}
			s := open(t, dsn)
			err := s.Update(t.Context(), func(tx store.Tx) error {
				for _, id := range ids {
					if err := tx.Insert(store.Record{Kind: "k", ID: id, Account: "acc", Created: 42, Data: []byte("{}")}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			many := slices.Clone(ids)
			for i := len(many); i <= maxInList; i++ {
				many = append(many, fmt.Sprintf("missing-%d", i))
			}
			for _, q := range []store.Query{
				{Kind: "k", Account: "acc"},
				{Kind: "k", Account: "acc", IDs: many},
				{Kind: "k", Account: "acc", Desc: true},
				{Kind: "k", Account: "acc", IDs: many, Desc: true},
			} {
				var got []string
				err := s.View(t.Context(), func(tx store.Tx) error {
					recs, _, err := tx.List(q)
					for _, r := range recs {
						got = append(got, r.ID)
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				w := slices.Clone(want)
				if q.Desc {
					slices.Reverse(w)
				}
				if !slices.Equal(got, w) {
					t.Errorf("List (%d IDs, Desc %v) = %q; want byte order %q", len(q.IDs), q.Desc, got, w)
				}
			}
		})
	}
}

// enUSDatabase creates a PostgreSQL database whose default collation is
// ICU's en-US, dropped when t ends, and returns its dsn; it skips t where
// the server cannot make one or the collation orders like bytes.
func enUSDatabase(t *testing.T) string {
	admin, err := sql.Open("pgx", os.Getenv(postgresEnv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	name := "opengaap_test_enus_" + randomName()
	if _, err := admin.Exec("CREATE DATABASE " + name + " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C' TEMPLATE template0"); err != nil {
		t.Skipf("no en-US (ICU) database on this server: %v", err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name + " WITH (FORCE)") })
	dsn := withDatabase(t, os.Getenv(postgresEnv), name, "")
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var bytewise bool
	if err := db.QueryRow("SELECT 'B' < 'a'").Scan(&bytewise); err != nil {
		t.Fatal(err)
	}
	if bytewise {
		t.Skip("the en-US database orders like bytes")
	}
	return dsn
}
