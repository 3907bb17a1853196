package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/store/storetest"
)

// postgresEnv names the admin URL of a PostgreSQL server the tests may create
// databases on; scripts/pg.sh prints one.
const postgresEnv = "OPENGAAP_TEST_POSTGRES"

// engine opens stores of one kind. newDB returns the dsn of a new, empty
// database; for PostgreSQL that is a fresh schema in the run's database.
type engine struct {
	name  string
	newDB func(t testing.TB) string
	skip  string // why this engine is unavailable, if it is
}

// available skips t when e is unavailable.
func (e engine) available(t testing.TB) {
	if e.skip != "" {
		t.Skip(e.skip)
	}
}

// engines returns SQLite and, when configured, PostgreSQL. Without
// OPENGAAP_TEST_POSTGRES the PostgreSQL half is skipped, except under CI,
// where PostgreSQL is mandatory and its absence fails the test.
func engines(t testing.TB) []engine {
	es := []engine{{name: "sqlite", newDB: func(t testing.TB) string {
		return filepath.Join(t.TempDir(), "nested", "opengaap.db")
	}}}
	admin := os.Getenv(postgresEnv)
	switch {
	case admin != "":
		es = append(es, engine{name: "postgres", newDB: postgresDatabase(t, admin)})
	case os.Getenv("CI") != "":
		t.Fatalf("%s is unset; PostgreSQL is mandatory in CI (start one with scripts/pg.sh)", postgresEnv)
	default:
		es = append(es, engine{name: "postgres", skip: postgresEnv + " is unset: skipping PostgreSQL (start one with scripts/pg.sh)"})
	}
	return es
}

// postgresDatabase creates a database for this test, dropped when it ends, and
// returns a function that makes a new schema in it and returns its dsn.
// Schemas are cheap, so every subtest gets its own empty store.
func postgresDatabase(t testing.TB, admin string) func(t testing.TB) string {
	dbName := "opengaap_test_" + randomName()
	adminDB, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open %s: %v", postgresEnv, err)
	}
	if _, err := adminDB.Exec("CREATE DATABASE " + dbName); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := adminDB.Exec("DROP DATABASE " + dbName + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", dbName, err)
		}
		adminDB.Close()
	})
	base := withDatabase(t, admin, dbName, "")
	return func(t testing.TB) string {
		schema := "s_" + randomName()
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer db.Close()
		if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatalf("create schema: %v", err)
		}
		return withDatabase(t, admin, dbName, schema)
	}
}

// withDatabase rewrites the admin URL to name dbName and, when set, schema
// as the search path (pgx passes unknown URL parameters to the server).
func withDatabase(t testing.TB, admin, dbName, schema string) string {
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", postgresEnv, err)
	}
	u.Path = "/" + dbName
	if schema != "" {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func randomName() string {
	return strings.ToLower(rand.Text()[:12])
}

// open opens dsn and closes it when t ends.
func open(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			e.available(t)
			storetest.Run(t, func(t *testing.T) store.Store { return open(t, e.newDB(t)) })
		})
	}
}

func TestReopen(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			e.available(t)
			storetest.RunReopen(t, func(t *testing.T) func() store.Store {
				dsn := e.newDB(t)
				return func() store.Store {
					s, err := Open(t.Context(), dsn)
					if err != nil {
						t.Fatalf("Open: %v", err)
					}
					return s
				}
			})
		})
	}
}

func TestOpen(t *testing.T) {
	t.Run("sqlite path with ?", func(t *testing.T) {
		if s, err := Open(t.Context(), filepath.Join(t.TempDir(), "a?b.db")); err == nil {
			s.Close()
			t.Errorf("Open = nil error; want one")
		}
	})
	// The store holds every tenant's configuration, basic-auth
	// credentials among them: its files are the owner's only, as the
	// credentials file is, whatever the directory's mode; an older store's
	// files readable by others are tightened, logged.
	t.Run("sqlite files private", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "new.db")
		s := open(t, path)
		if err := s.Update(t.Context(), func(tx store.Tx) error {
			return tx.Insert(store.Record{Kind: "proxy", ID: "p-1", Account: "a", Data: []byte(`{}`)})
		}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, %v; want 0600", name, fi.Mode().Perm(), err)
			}
		}
		s.Close()
		old := filepath.Join(dir, "old.db")
		for _, name := range []string{old, old + "-wal"} {
			if err := os.WriteFile(name, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(name, 0o644); err != nil { // Whatever the umask.
				t.Fatal(err)
			}
		}
		var log edgetest.LogBuffer
		s, err := Open(t.Context(), old, WithLockWatch(0, slog.New(slog.NewTextHandler(&log, nil))))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, name := range []string{old, old + "-wal"} {
			if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, %v; want 0600", name, fi.Mode().Perm(), err)
			}
			if !strings.Contains(log.String(), "file="+name+"\n") {
				t.Errorf("log does not name %s made private:\n%s", name, &log)
			}
		}
	})
	t.Run("dialects", func(t *testing.T) {
		for _, e := range engines(t) {
			if e.skip != "" {
				continue
			}
			if got := open(t, e.newDB(t)).Dialect(); got != e.name {
				t.Errorf("Dialect() = %q; want %q", got, e.name)
			}
		}
	})
	t.Run("migrations apply once", func(t *testing.T) {
		for _, e := range engines(t) {
			if e.skip != "" {
				continue
			}
			dsn := e.newDB(t)
			open(t, dsn)
			s := open(t, dsn) // second Open on a migrated database
			var n int
			if err := s.read.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n < 1 {
				t.Errorf("%s: schema_migrations has %d rows, %v", e.name, n, err)
			}
		}
	})
	t.Run("newer schema refused", func(t *testing.T) {
		for _, e := range engines(t) {
			if e.skip != "" {
				continue
			}
			dsn := e.newDB(t)
			s := open(t, dsn)
			q := s.d.rebind("INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)")
			if _, err := s.write.Exec(q, 9999, "9999_from_the_future.sql", 0); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(t.Context(), dsn)
			if err == nil {
				s2.Close()
				t.Errorf("%s: Open of a database at schema version 9999 succeeded; want a refusal", e.name)
				continue
			}
			if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "version 9999") ||
				!strings.Contains(err.Error(), fmt.Sprintf("up to version %d", newestMigration(t))) {
				t.Errorf("%s: Open = %v; want ErrSchemaTooNew naming both versions", e.name, err)
			}
		}
	})
	// A search_path naming no schema that exists (a typo) is refused
	// naming it, with or without the instance lock.
	t.Run("postgres schema missing", func(t *testing.T) {
		u, err := url.Parse(postgresEngine(t).newDB(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", "nosuchschema")
		u.RawQuery = q.Encode()
		for _, opts := range [][]Option{{WithInstanceLock("serve")}, nil} {
			s, err := Open(t.Context(), u.String(), opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), `"nosuchschema"`) || !strings.Contains(err.Error(), "does not exist") {
				t.Errorf("Open (%d options) = %v; want an error saying schema \"nosuchschema\" does not exist", len(opts), err)
			}
			t.Logf("refused: %v", err)
		}
	})
}

// TestMigrationDatesOldClaims: claims made before they had a creation time
// count as made when the store is upgraded, so each is kept one full
// retention from then rather than expired by the first ExpireClaims.
func TestMigrationDatesOldClaims(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			e.available(t)
			dsn := e.newDB(t)
			s := open(t, dsn)
			if err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Claim("ns", "old") }); err != nil {
				t.Fatal(err)
			}
			// Make the store look like an older schema (v3): undo 0004.
			for _, q := range []string{
				"DROP INDEX claims_created",
				"ALTER TABLE claims DROP COLUMN created",
				"DELETE FROM schema_migrations WHERE version = 4",
			} {
				if _, err := s.write.ExecContext(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			before := time.Now().Add(-time.Second) // The migration's clock has whole seconds.
			s = open(t, dsn)
			var created int64
			if err := s.read.QueryRowContext(t.Context(), "SELECT created FROM claims").Scan(&created); err != nil {
				t.Fatal(err)
			}
			if at := time.Unix(0, created); at.Before(before) || at.After(time.Now()) {
				t.Errorf("an old claim reads created %v; want the upgrade's time (after %v)", at, before)
			}
		})
	}
}

// TestMigrationRestoresDefaultVpcMarkers: a store whose default-VPC
// markers were expired (as every claim was before ClientToken expiry kept
// to its namespaces) gets them back for every account owning a VPC, so
// the upgraded serve does not make a second default VPC; an account with
// no VPC gets none.
func TestMigrationRestoresDefaultVpcMarkers(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			e.available(t)
			dsn := e.newDB(t)
			s := open(t, dsn)
			err := s.Update(t.Context(), func(tx store.Tx) error {
				return errors.Join(
					tx.Insert(store.Record{Kind: "vpc", ID: "vpc-1", Account: "100"}),
					tx.Insert(store.Record{Kind: "vpc", ID: "vpc-2", Account: "100"}),
					tx.Insert(store.Record{Kind: "vpc", ID: "vpc-3", Account: "200"}),
					tx.Insert(store.Record{Kind: "proxy", ID: "link-1", Account: "300"}),
					tx.Claim("vpc/default", "200")) // kept by the old expiry
			})
			if err != nil {
				t.Fatal(err)
			}
			// Make the store look like the older schema (v4), marker of 100 lost.
			for _, q := range []string{
				"DELETE FROM claims WHERE token = '100'",
				"DELETE FROM schema_migrations WHERE version = 5",
			} {
				if _, err := s.write.ExecContext(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			s = open(t, dsn)
			for _, c := range []struct {
				account string
				want    error
			}{{"100", store.ErrConflict}, {"200", store.ErrConflict}, {"300", nil}} {
				err := s.Update(t.Context(), func(tx store.Tx) error { return tx.Claim("vpc/default", c.account) })
				if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
					t.Errorf("account %s: Claim(vpc/default) after the upgrade = %v; want %v", c.account, err, c.want)
				}
			}
		})
	}
}

// TestMigrationStatsObjectComparesAsBytes: a PostgreSQL store whose
// stats.object follows a language collation (a database made with
// en_US, here ICU's "en" as the test cluster is C) would answer
// QueryPrefix without the objects that collation sorts past the prefix's
// range ("lsr/rs:80" after "lsr/rs;": punctuation is ignored); after the
// upgrade the column compares as bytes and they are found.
func TestMigrationStatsObjectComparesAsBytes(t *testing.T) {
	e := engines(t)[1]
	e.available(t)
	dsn := e.newDB(t)
	s := open(t, dsn)
	p := store.Point{Object: "lsr/rs:80", Metric: "RealServerStatus", Granularity: 60, Time: time.Unix(60, 0).UTC(), Value: 1}
	if err := s.Stats().Write(t.Context(), []store.Point{p}); err != nil {
		t.Fatal(err)
	}
	// Make the store look like the older schema (v5) on an en_US database.
	for _, q := range []string{
		`ALTER TABLE stats ALTER COLUMN object TYPE TEXT COLLATE "en-x-icu"`,
		"DELETE FROM schema_migrations WHERE version = 6",
	} {
		if _, err := s.write.ExecContext(t.Context(), q); err != nil {
			t.Skipf("%s: %v (no ICU collations on this server)", q, err)
		}
	}
	if pts, err := s.Stats().QueryPrefix(t.Context(), "lsr/rs:", p.Metric, 60, p.Time, p.Time); err != nil || len(pts) != 0 {
		t.Fatalf("before the upgrade QueryPrefix = %+v, %v; want nothing (the test does not reproduce a language collation)", pts, err)
	}
	s = open(t, dsn)
	if pts, err := s.Stats().QueryPrefix(t.Context(), "lsr/rs:", p.Metric, 60, p.Time, p.Time); err != nil || !slices.Equal(pts, []store.Point{p}) {
		t.Errorf("after the upgrade QueryPrefix = %+v, %v; want %+v", pts, err, p)
	}
}

// TestMigrationDailyStatsToBeijingDays: daily points an older release
// stamped at UTC midnight, which no step of the Beijing-day actions
// matches (every such day read 0), move to the Beijing midnight of their
// date; a series with a point there already keeps it; other granularities
// and points already on a Beijing midnight stay.
func TestMigrationDailyStatsToBeijingDays(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			e.available(t)
			dsn := e.newDB(t)
			s := open(t, dsn)
			utc := time.Date(2026, 7, 27, 0, 0, 0, 0, time.UTC) // Beijing midnight of that date: 07-26 16:00 UTC.
			bj := utc.Add(-8 * time.Hour)
			pts := []store.Point{
				{Object: "lsr-a", Metric: "InBandwidth", Granularity: 86400, Time: utc, Value: 42},
				{Object: "lsr-b", Metric: "InBandwidth", Granularity: 86400, Time: utc, Value: 1},
				{Object: "lsr-b", Metric: "InBandwidth", Granularity: 86400, Time: bj, Value: 7},
				{Object: "lsr-a", Metric: "InBandwidth", Granularity: 3600, Time: utc, Value: 5},
			}
			if err := s.Stats().Write(t.Context(), pts); err != nil {
				t.Fatal(err)
			}
			if _, err := s.write.ExecContext(t.Context(), "DELETE FROM schema_migrations WHERE version = 7"); err != nil {
				t.Fatal(err)
			}
			s = open(t, dsn)
			query := func(object string, gran int) []store.Point {
				got, err := s.Stats().Query(t.Context(), object, "InBandwidth", gran, bj.Add(-time.Hour), utc.Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			if got := query("lsr-a", 86400); len(got) != 1 || !got[0].Time.Equal(bj) || got[0].Value != 42 {
				t.Errorf("lsr-a's daily points after the upgrade: %+v; want 42 at %v (Beijing midnight)", got, bj)
			}
			if got := query("lsr-b", 86400); len(got) == 0 || !got[0].Time.Equal(bj) || got[0].Value != 7 {
				t.Errorf("lsr-b's daily points after the upgrade: %+v; want its Beijing-day 7 kept at %v", got, bj)
			}
			if got := query("lsr-a", 3600); len(got) != 1 || !got[0].Time.Equal(utc) {
				t.Errorf("lsr-a's hourly points after the upgrade: %+v; want the one at %v unmoved", got, utc)
			}
		})
	}
}

// newestMigration is the highest version this binary knows.
func newestMigration(t *testing.T) int64 {
	ms, err := loadMigrations(sqliteDialect)
	if err != nil || len(ms) == 0 {
		t.Fatalf("loadMigrations: %d, %v", len(ms), err)
	}
	return ms[len(ms)-1].version
}

// openLocked opens dsn holding its instance lock for holder.
func openLocked(t testing.TB, dsn, holder string) (*Store, error) {
	t.Helper()
	s, err := Open(t.Context(), dsn, WithInstanceLock(holder))
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// TestLockInstance: one holder per store; Close frees it; stores in other
// schemas (other PostgreSQL stores on one database) are not affected. A
// refused second serve leaves the held store untouched: a newer release
// started by mistake next to a running older one must not migrate the
// schema under it before it is refused.
func TestLockInstance(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			e.available(t)
			dsn := e.newDB(t)
			a, err := openLocked(t, dsn, "holder A")
			if err != nil {
				t.Fatalf("Open with the instance lock: %v", err)
			}
			// Make the held store look like an older schema (v2): undo
			// migration 0003 and forget it, as an older serve's store is.
			for _, q := range []string{
				"DROP INDEX resources_parent_created",
				"CREATE INDEX resources_parent ON resources (kind, parent)",
				"DELETE FROM schema_migrations WHERE version = 3",
			} {
				if _, err := a.write.ExecContext(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			_, err = openLocked(t, dsn, "holder B")
			if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "holder A") {
				t.Errorf("second Open with the lock = %v; want ErrLocked naming holder A", err)
			}
			t.Logf("refused: %v", err)
			var n int
			if err := a.write.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations WHERE version = 3").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("the refused second serve migrated the held store to version 3")
			}
			if _, err := openLocked(t, e.newDB(t), "holder C"); err != nil {
				t.Errorf("locking another store: %v", err)
			}
			// The lock does not get in the way of the store's own work, nor
			// of an Open that takes no lock (tools, tests).
			b := open(t, dsn)
			if err := b.Update(t.Context(), func(tx store.Tx) error { return tx.Claim("ns", "t") }); err != nil {
				t.Errorf("Update beside the lock: %v", err)
			}
			if err := a.Update(t.Context(), func(tx store.Tx) error { return tx.Claim("ns", "u") }); err != nil {
				t.Errorf("Update of the holder: %v", err)
			}
			a.Close()
			if _, err := openLocked(t, dsn, "holder B"); err != nil {
				t.Errorf("Open with the lock after the holder closed: %v", err)
			}
		})
	}
}

// TestWriterLockPerSchema: stores in two schemas of one PostgreSQL
// database are independent, so a long (or stuck: its serve's host
// vanished mid-write) write transaction in one does not hold up the other's
// writes, as one database-wide writer lock did.
func TestWriterLockPerSchema(t *testing.T) {
	newDB := postgresEngine(t).newDB
	a, b := open(t, newDB(t)), open(t, newDB(t))
	inA, release, doneA := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		doneA <- a.Update(context.Background(), func(tx store.Tx) error {
			close(inA)
			<-release // a long write transaction in store A
			return tx.Claim("ns", "a")
		})
	}()
	<-inA
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := b.Update(ctx, func(tx store.Tx) error {
		return tx.Insert(store.Record{Kind: "proxy", ID: "link-b", Account: "1", Data: []byte("{}")})
	})
	close(release)
	if err != nil {
		t.Errorf("write to store B while store A writes: %v", err)
	}
	if err := <-doneA; err != nil {
		t.Errorf("store A's write: %v", err)
	}
}

// TestStatsWriteOrder: two batches upserting the same series in opposite
// orders at once must not deadlock (PostgreSQL, SQLSTATE 40P01): stats
// writes skip the writer lock, so Write fixes the row order itself, and
// keeps the order of a batch's duplicate points.
func TestStatsWriteOrder(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			e.available(t)
			s := open(t, e.newDB(t))
			at := time.Unix(1_700_000_000, 0)
			var pts []store.Point
			for i := range 200 {
				pts = append(pts, store.Point{Object: fmt.Sprintf("o%03d", i), Metric: "InBandwidth", Granularity: 60, Time: at, Value: 1})
			}
			rev := slices.Clone(pts)
			slices.Reverse(rev)
			var wg sync.WaitGroup
			for _, batch := range [][]store.Point{pts, rev} {
				wg.Go(func() {
					for range 30 {
						if err := s.Stats().Write(t.Context(), batch); err != nil {
							t.Errorf("Stats.Write: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			if rev[0].Object != "o199" {
				t.Errorf("Write reordered the caller's slice")
			}
			// A batch holding each point twice upserts them in its own
			// order, sorted or not: the later one wins.
			dup := slices.Clone(rev)
			for _, p := range pts {
				p.Value = 2
				dup = append(dup, p)
			}
			if err := s.Stats().Write(t.Context(), dup); err != nil {
				t.Fatal(err)
			}
			got, err := s.Stats().At(t.Context(), 60, at)
			if err != nil || len(got) != len(pts) {
				t.Fatalf("At: %d points, %v; want %d", len(got), err, len(pts))
			}
			for _, p := range got {
				if p.Value != 2 {
					t.Errorf("%s = %v; want 2, the batch's later point", p.Object, p.Value)
				}
			}
		})
	}
}
