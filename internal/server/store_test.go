package server

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/cloudapi"
)

// TestStartRefusesUnknownStore: a --store that is neither empty nor a
// postgres:// or postgresql:// URL is refused before anything is opened,
// instead of becoming a SQLite file of that name.
func TestStartRefusesUnknownStore(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	for _, dsn := range []string{"mysql://x", "postgress://h/db", "pg://h/db", "state.db", "postgres://u:p@[::1"} {
		o := Options{APIListen: "127.0.0.1:0", DataDir: t.TempDir(), VIPPool: "127.99.78.0/28", StoreDSN: dsn}
		s, err := Start(context.Background(), o)
		if err == nil {
			s.Close(context.Background())
			t.Errorf("--store %q: started; want refused", dsn)
			continue
		}
		if !strings.Contains(err.Error(), "--store") {
			t.Errorf("--store %q: error %q does not name the flag", dsn, err)
		}
	}
	if ents, _ := os.ReadDir(wd); len(ents) != 0 {
		t.Errorf("refused stores left files in the working directory: %v", ents)
	}
}

// TestStoreDSNWhere: the start log names the engine and where the store
// is, never the password.
func TestStoreDSNWhere(t *testing.T) {
	for _, c := range []struct{ dsn, engine, where string }{
		{"postgres://u:secret@db.example:5432/gaap?sslmode=disable&password=secret2", "postgres", "u@db.example:5432/gaap"},
		{"postgresql://db.example/gaap", "postgres", "db.example/gaap"},
		{"postgres:///gaap?host=/run/postgresql", "postgres", "local socket/gaap"},
	} {
		_, engine, where, err := storeDSN(Options{StoreDSN: c.dsn})
		if err != nil || engine != c.engine || where != c.where {
			t.Errorf("%s: %s %s, %v; want %s %s", c.dsn, engine, where, err, c.engine, c.where)
		}
	}
	_, _, _, err := storeDSN(Options{StoreDSN: "postgres://u:secret@[bad/x"})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad URL: %v; want an error without the password", err)
	}

	var log bytes.Buffer
	dir := t.TempDir()
	o := Options{APIListen: "127.0.0.1:0", DataDir: dir, VIPPool: "127.99.78.16/28", NoTOA: true,
		Root: cloudapi.Account{SecretID: "AKIDstoretest", SecretKey: "key"},
		Log:  slog.New(slog.NewTextHandler(&log, nil))}
	s, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	want := "engine=sqlite at=" + filepath.Join(dir, "opengaap.db")
	if !strings.Contains(log.String(), want) {
		t.Errorf("start log %q does not contain %q", log.String(), want)
	}
}
