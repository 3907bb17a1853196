package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/edge/edgetest"
	"github.com/opengaap/opengaap/internal/server"
)

// TestRootCredentialsSource: a generated credentials.json shows the AppId
// and Uin the server uses, and the log says where the root credentials
// came from: the environment (the file then ignored, said so) or the file;
// one variable alone is warned about and the file used.
func TestRootCredentialsSource(t *testing.T) {
	dir := t.TempDir()
	run := func(id, key string) (cloudapi.Account, string) {
		t.Helper()
		t.Setenv("TENCENTCLOUD_SECRET_ID", id)
		t.Setenv("TENCENTCLOUD_SECRET_KEY", key)
		var log edgetest.LogBuffer
		acct, save, err := rootCredentials(dir, slog.New(slog.NewTextHandler(&log, nil)))
		if err == nil {
			err = save()
		}
		if err != nil {
			t.Fatal(err)
		}
		return acct, log.String()
	}

	gen, log := run("", "")
	var file cloudapi.Account
	b, err := os.ReadFile(filepath.Join(dir, "credentials.json"))
	if err != nil || json.Unmarshal(b, &file) != nil {
		t.Fatalf("credentials.json: %s, %v", b, err)
	}
	if file != gen || file.Uin != server.DefaultRootUin || file.AppID != server.DefaultRootAppID {
		t.Errorf("generated %+v, file %+v; want the server's defaults Uin %s, AppId %d", gen, file, server.DefaultRootUin, server.DefaultRootAppID)
	}
	if !strings.Contains(log, "source=file") || !strings.Contains(log, "secret-id="+gen.SecretID) {
		t.Errorf("log %q does not say the file was used", log)
	}

	env, log := run("AKIDenvironment0000001", "envsecret")
	if env.SecretID != "AKIDenvironment0000001" || !strings.Contains(log, `source="environment`) || !strings.Contains(log, "ignored") {
		t.Errorf("with both variables: %+v, log %q; want the environment, the file said ignored", env, log)
	}

	half, log := run("AKIDenvironment0000001", "")
	if half != gen || !strings.Contains(log, "only one of") || !strings.Contains(log, "source=file") {
		t.Errorf("with one variable: %+v, log %q; want the file and a warning", half, log)
	}

	// A file from before (no AppId, no Uin) still loads; the server fills
	// in the defaults.
	old := []byte(`{"SecretId":"AKIDolderfile000000001","SecretKey":"k"}`)
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	if acct, _ := run("", ""); acct.SecretID != "AKIDolderfile000000001" || acct.Uin != "" {
		t.Errorf("older file: %+v", acct)
	}
}

// TestMalformedCredentialsFileNamed: a hand-edited credentials.json with a
// JSON mistake stops serve with an error naming the file (as --accounts
// errors name theirs), not a bare JSON message.
func TestMalformedCredentialsFileNamed(t *testing.T) {
	t.Setenv("TENCENTCLOUD_SECRET_ID", "")
	t.Setenv("TENCENTCLOUD_SECRET_KEY", "")
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(path, []byte(`{"SecretId":"AKIDabcdefgh","SecretKey":"x",}`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := serve([]string{"--data-dir", dir, "--api-listen", "127.0.0.1:0", "--metrics-listen", "off"})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("serve with a malformed credentials.json: %v; want an error naming %s", err, path)
	}
}

// TestIncompleteRootAccountNamed: a root account that parses but is not
// a whole one (a credentials.json hand-edited to an empty SecretKey, or to
// {}; a too-short TENCENTCLOUD_SECRET_ID) is refused naming where it came
// from, before the store is created, not later with the --accounts
// file's wording naming neither.
func TestIncompleteRootAccountNamed(t *testing.T) {
	for _, c := range []struct {
		name, file, id, key, want string
	}{
		{name: "empty SecretKey", file: `{"SecretId": "AKIDroot00000001", "SecretKey": ""}`, want: "credentials.json"},
		{name: "empty file object", file: `{}`, want: "credentials.json"},
		{name: "short id in the environment", id: "abc", key: "k", want: "TENCENTCLOUD_SECRET_ID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("TENCENTCLOUD_SECRET_ID", c.id)
			t.Setenv("TENCENTCLOUD_SECRET_KEY", c.key)
			dir := t.TempDir()
			path := filepath.Join(dir, "credentials.json")
			if c.file != "" {
				if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := serve([]string{"--data-dir", dir, "--api-listen", "127.0.0.1:0", "--metrics-listen", "off"})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "root account") {
				t.Errorf("serve: %v; want the root account refused, naming %s", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "opengaap.db")); err == nil {
				t.Error("the refused start created the store")
			}
		})
	}
}

// TestAccountsFileReusingRootKeyNamed: an --accounts file that defines
// the root account's SecretId again is refused naming the file's flag and
// the root's sources, not with a bare "defined twice".
func TestAccountsFileReusingRootKeyNamed(t *testing.T) {
	t.Setenv("TENCENTCLOUD_SECRET_ID", "AKIDroot00000001")
	t.Setenv("TENCENTCLOUD_SECRET_KEY", "k")
	dir := t.TempDir()
	acc := filepath.Join(dir, "accounts.json")
	if err := os.WriteFile(acc, []byte(`[{"SecretId": "AKIDroot00000001", "SecretKey": "k2", "Uin": "100000000002"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := serve([]string{"--data-dir", filepath.Join(dir, "data"), "--api-listen", "127.0.0.1:0", "--metrics-listen", "off", "--accounts", acc})
	if err == nil || !strings.Contains(err.Error(), "--accounts") || !strings.Contains(err.Error(), "root account") {
		t.Errorf("serve: %v; want the reused root key refused, naming --accounts and the root account", err)
	}
}

// TestCredentialsFileTypo: credentials.json is read as strictly as
// --accounts: a mistyped member ("Uinn") was dropped, and the server
// started with the default Uin 100000000001, every resource of the
// intended one seeming gone.
func TestCredentialsFileTypo(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TENCENTCLOUD_SECRET_ID", "")
	t.Setenv("TENCENTCLOUD_SECRET_KEY", "")
	body := []byte(`{"SecretId":"AKIDhandedited0000001","SecretKey":"k","AppId":1250000009,"Uinn":"100000000009"}`)
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), body, 0o600); err != nil {
		t.Fatal(err)
	}
	var log edgetest.LogBuffer
	acct, _, err := rootCredentials(dir, slog.New(slog.NewTextHandler(&log, nil)))
	if err == nil {
		t.Errorf("credentials.json %s: loaded as %+v (Uin %q, the server then uses its default); want the unknown member Uinn refused, as --accounts refuses it", body, acct, acct.Uin)
	}
}
