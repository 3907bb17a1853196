package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// recordCase is one step against a store seeded with seed: fn runs in an
// Update and must return want (compared with errors.Is); then check, if set,
// inspects the store.
type recordCase struct {
	name  string
	fn    func(t *testing.T, tx store.Tx) error
	want  error
	check func(t *testing.T, s store.Store)
}

// seed is the store every record case starts from.
var seed = store.Record{Kind: "proxy", ID: "p-1", Account: "a", Parent: "g-1", Project: 7, Created: 100, Data: []byte(`{"v":1}`)}

func testRecords(t *testing.T, open Opener) {
	replaced := store.Record{Kind: "proxy", ID: "p-1", Account: "b", Parent: "g-2", Project: -3, Created: 999, Data: []byte(`{"v":2}`)}
	cases := []recordCase{
		{name: "get missing", fn: func(t *testing.T, tx store.Tx) error { _, err := tx.Get("proxy", "nope"); return err }, want: store.ErrNotFound},
		{name: "get other kind", fn: func(t *testing.T, tx store.Tx) error { _, err := tx.Get("listener", "p-1"); return err }, want: store.ErrNotFound},
		{name: "get round-trips every field", fn: func(t *testing.T, tx store.Tx) error {
			got, err := tx.Get("proxy", "p-1")
			if err == nil && !sameRecord(got, seed) {
				t.Errorf("Get = %+v; want %+v", got, seed)
			}
			return err
		}},
		{name: "insert duplicate", fn: func(t *testing.T, tx store.Tx) error { return tx.Insert(rec("proxy", "p-1", "x", 5)) }, want: store.ErrConflict,
			check: wantRecord(seed)},
		{name: "transaction goes on after conflict", fn: func(t *testing.T, tx store.Tx) error {
			if err := tx.Insert(rec("proxy", "p-1", "x", 5)); !errors.Is(err, store.ErrConflict) {
				t.Errorf("Insert duplicate = %v; want ErrConflict", err)
			}
			return tx.Insert(rec("proxy", "p-2", "a", 5))
		}, check: wantRecord(rec("proxy", "p-2", "a", 5))},
		{name: "same id in another kind", fn: func(t *testing.T, tx store.Tx) error { return tx.Insert(rec("listener", "p-1", "a", 5)) },
			check: wantRecord(rec("listener", "p-1", "a", 5))},
		{name: "insert sets zero Created to now", fn: func(t *testing.T, tx store.Tx) error { return tx.Insert(rec("proxy", "p-now", "a", 0)) },
			check: func(t *testing.T, s store.Store) {
				got, _ := get(t, s, "proxy", "p-now")
				if age := time.Since(time.Unix(0, got.Created)); age < 0 || age > time.Minute {
					t.Errorf("Created = %v; want about now", time.Unix(0, got.Created))
				}
			}},
		{name: "insert empty document", fn: func(t *testing.T, tx store.Tx) error {
			return tx.Insert(store.Record{Kind: "proxy", ID: "p-0", Account: "a", Created: 1})
		},
			check: wantRecord(store.Record{Kind: "proxy", ID: "p-0", Account: "a", Created: 1})},
		{name: "put missing", fn: func(t *testing.T, tx store.Tx) error { return tx.Put(rec("proxy", "nope", "a", 1)) }, want: store.ErrNotFound,
			check: wantMissing("proxy", "nope")},
		{name: "put replaces all but Created", fn: func(t *testing.T, tx store.Tx) error { return tx.Put(replaced) },
			check: func(t *testing.T, s store.Store) {
				want := replaced
				want.Created = seed.Created
				wantRecord(want)(t, s)
			}},
		{name: "put then get in one transaction", fn: func(t *testing.T, tx store.Tx) error {
			if err := tx.Put(replaced); err != nil {
				return err
			}
			got, err := tx.Get("proxy", "p-1")
			if err == nil && string(got.Data) != `{"v":2}` {
				t.Errorf("Get after Put: Data = %s; want {\"v\":2}", got.Data)
			}
			return err
		}},
		{name: "delete missing", fn: func(t *testing.T, tx store.Tx) error { return tx.Delete("proxy", "nope") }, want: store.ErrNotFound},
		{name: "delete", fn: func(t *testing.T, tx store.Tx) error { return tx.Delete("proxy", "p-1") }, check: wantMissing("proxy", "p-1")},
		{name: "delete twice", fn: func(t *testing.T, tx store.Tx) error {
			if err := tx.Delete("proxy", "p-1"); err != nil {
				return err
			}
			return tx.Delete("proxy", "p-1")
		}, want: store.ErrNotFound},
		{name: "reinsert after delete", fn: func(t *testing.T, tx store.Tx) error {
			if err := tx.Delete("proxy", "p-1"); err != nil {
				return err
			}
			return tx.Insert(rec("proxy", "p-1", "z", 3))
		}, check: wantRecord(rec("proxy", "p-1", "z", 3))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			insert(t, s, seed)
			err := s.Update(t.Context(), func(tx store.Tx) error { return tc.fn(t, tx) })
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Update = %v; want %v", err, tc.want)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
	t.Run("writes in View fail", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		rev := revision(t, s)
		writes := map[string]func(tx store.Tx) error{
			"insert": func(tx store.Tx) error { return tx.Insert(rec("proxy", "v", "a", 1)) },
			"claim":  func(tx store.Tx) error { return tx.Claim("n", "v") },
		}
		for name, fn := range writes {
			if err := s.View(t.Context(), fn); err == nil {
				t.Errorf("%s in View = nil; want an error", name)
			}
		}
		wantMissing("proxy", "v")(t, s)
		if got := revision(t, s); got != rev {
			t.Errorf("revision = %d; want %d", got, rev)
		}
	})
}

// wantRecord checks that want is stored.
func wantRecord(want store.Record) func(t *testing.T, s store.Store) {
	return func(t *testing.T, s store.Store) {
		t.Helper()
		got, ok := get(t, s, want.Kind, want.ID)
		if !ok || !sameRecord(got, want) {
			t.Errorf("Get(%s, %s) = %+v (found %v); want %+v", want.Kind, want.ID, got, ok, want)
		}
	}
}

// wantMissing checks that kind/id is not stored.
func wantMissing(kind, id string) func(t *testing.T, s store.Store) {
	return func(t *testing.T, s store.Store) {
		t.Helper()
		if got, ok := get(t, s, kind, id); ok {
			t.Errorf("Get(%s, %s) = %+v; want ErrNotFound", kind, id, got)
		}
	}
}

func testClaim(t *testing.T, open Opener) {
	t.Parallel()
	s := open(t)
	claim := func(ns, token string) error {
		return s.Update(t.Context(), func(tx store.Tx) error { return tx.Claim(ns, token) })
	}
	steps := []struct {
		ns, token string
		want      error
	}{
		{"client-token", "t1", nil},
		{"client-token", "t1", store.ErrConflict},
		{"client-token", "t2", nil},
		{"other", "t1", nil},
		{"other", "t1", store.ErrConflict},
		{"client-token", "", nil},
		{"client-token", "", store.ErrConflict},
	}
	for _, st := range steps {
		if err := claim(st.ns, st.token); !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
			t.Errorf("Claim(%q, %q) = %v; want %v", st.ns, st.token, err, st.want)
		}
	}
	// Claimed answers in a read transaction, for those claims only.
	for _, c := range []struct {
		ns, token string
		want      bool
	}{{"client-token", "t1", true}, {"other", "t1", true}, {"client-token", "", true}, {"other", "t2", false}, {"client", "t1", false}, {"client-token", "bad\x00", false}} {
		var got bool
		err := s.View(t.Context(), func(tx store.Tx) (err error) { got, err = tx.Claimed(c.ns, c.token); return err })
		if err != nil || got != c.want {
			t.Errorf("Claimed(%q, %q) = %v, %v; want %v", c.ns, c.token, got, err, c.want)
		}
	}
}

// testExpireClaims: ExpireClaims forgets the claims made before a time in
// the namespaces starting with a prefix (taken literally, not as a
// pattern), oldest first and at most limit of them; a token it forgot can
// be claimed again, one it kept (later, or of another namespace) cannot.
func testExpireClaims(t *testing.T, open Opener) {
	t.Parallel()
	s := open(t)
	claim := func(ns, token string) error {
		return s.Update(t.Context(), func(tx store.Tx) error { return tx.Claim(ns, token) })
	}
	expire := func(prefix string, before time.Time, limit int) int {
		t.Helper()
		var n int
		update(t, s, func(tx store.Tx) (err error) { n, err = tx.ExpireClaims(prefix, before.UnixNano(), limit); return err })
		return n
	}
	for _, c := range [][2]string{{"a/1", "t1"}, {"a/1", "t2"}, {"a/1", "t3"}, {"a/2", "t1"}, {"b", "t1"}, {"ab", "t1"}} {
		if err := claim(c[0], c[1]); err != nil {
			t.Fatal(err)
		}
	}
	mid := time.Now()
	time.Sleep(2 * time.Millisecond) // Clocks of a coarse resolution still order mid.
	if err := claim("a/1", "t4"); err != nil {
		t.Fatal(err)
	}
	if n := expire("a/", mid.Add(-time.Hour), 100); n != 0 {
		t.Errorf("expired %d claims made after the cutoff; want 0", n)
	}
	for _, p := range []string{"%", "_/", "a_", "A/"} {
		if n := expire(p, mid, 100); n != 0 {
			t.Errorf("prefix %q expired %d claims; want 0 (no namespace starts with it)", p, n)
		}
	}
	if n := expire("a/", mid, 2); n != 2 {
		t.Errorf("expired %d claims with limit 2; want 2", n)
	}
	if n := expire("a/", mid, 100); n != 2 {
		t.Errorf("expired %d claims; want the other 2 of a/ made before the cutoff", n)
	}
	for _, c := range []struct {
		ns, token string
		want      error
	}{
		{"a/1", "t1", nil}, {"a/2", "t1", nil}, {"a/1", "t3", nil}, {"a/1", "t4", store.ErrConflict},
		{"b", "t1", store.ErrConflict}, {"ab", "t1", store.ErrConflict},
	} {
		if err := claim(c.ns, c.token); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("Claim(%q, %q) after expiry = %v; want %v", c.ns, c.token, err, c.want)
		}
	}
}
