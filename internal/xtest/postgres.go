package xtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// PostgresDSN creates an empty database on the server named by
// OPENGAAP_TEST_POSTGRES, drops it when the test ends and returns its URL.
// Without the variable the test fails in CI (PostgreSQL is mandatory
// there; scripts/pg.sh starts one) and is skipped elsewhere.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("OPENGAAP_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("OPENGAAP_TEST_POSTGRES is not set; run scripts/pg.sh")
		}
		t.Skip("OPENGAAP_TEST_POSTGRES is not set; run scripts/pg.sh to test PostgreSQL")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	name := fmt.Sprintf("xtest_%x", b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
