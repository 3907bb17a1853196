package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/opengaap/opengaap/internal/atomicfile"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/jsonstrict"
	"github.com/opengaap/opengaap/internal/server"
)

// rootCredentials returns the root account: from TENCENTCLOUD_SECRET_ID and
// TENCENTCLOUD_SECRET_KEY when both are set, else from credentials.json in
// the data dir, generated on first start with the AppId and Uin the server
// uses. An incomplete account is refused naming its source. A file others
// can read is made its owner's only, as the store is. Nothing else is
// written yet: save creates the data dir and a generated file (mode 0600),
// once the caller has checked the account against the rest of the start,
// so a refused start leaves no stray secret. It logs which source it used:
// the SDKs and tccli read the same variables, so a shell set up for
// Tencent Cloud silently changes the root account otherwise.
func rootCredentials(dataDir string, log *slog.Logger) (acct cloudapi.Account, save func() error, err error) {
	path := filepath.Join(dataDir, "credentials.json")
	none := func() error { return nil }
	// Also when the environment overrides it: it still holds a key.
	if err := atomicfile.KeepPrivate(path, log); err != nil {
		return acct, none, err
	}
	id, key := os.Getenv("TENCENTCLOUD_SECRET_ID"), os.Getenv("TENCENTCLOUD_SECRET_KEY")
	if id != "" && key != "" {
		log.Info("root credentials", "source", "environment (TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY)", "secret-id", id)
		if _, err := os.Stat(path); err == nil {
			log.Warn("root credentials: the environment overrides the file, which is ignored", "file", path)
		}
		acct = cloudapi.Account{SecretID: id, SecretKey: key}
		if err := server.CheckRoot(acct); err != nil {
			return acct, none, fmt.Errorf("root account from TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY: %w", err)
		}
		return acct, none, nil
	}
	if id != "" || key != "" {
		log.Warn("root credentials: only one of TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY is set; both are needed, the file is used")
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		// Hand-edited, say: name the file to fix (or to remove, for new
		// credentials), not in the --accounts file's words later, after
		// the store is created.
		// Strictly: a mistyped member ("Uinn") was dropped, and the root
		// account silently became the default Uin.
		if err = jsonstrict.Decode(bytes.NewReader(b), &acct); err != nil {
			return acct, none, fmt.Errorf("%s: %w", path, err)
		}
		if err = server.CheckRoot(acct); err != nil {
			return acct, none, fmt.Errorf("root account from %s: %w", path, err)
		}
		log.Info("root credentials", "source", "file", "file", path, "secret-id", acct.SecretID)
		return acct, none, nil
	case !errors.Is(err, os.ErrNotExist):
		return acct, none, err
	}
	// AppId and Uin are the defaults the server fills in for a file
	// without them (older ones): the file shows the account as used.
	acct = cloudapi.Account{SecretID: "AKID" + randomString(32), SecretKey: randomString(32),
		AppID: server.DefaultRootAppID, Uin: server.DefaultRootUin}
	save = func() error {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(acct, "", "  ")
		// Written whole and synced: clients are told these credentials once.
		if err := atomicfile.Write(path, b, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		log.Info("root credentials", "source", "file", "file", path, "secret-id", acct.SecretID, "generated", true)
		return nil
	}
	return acct, save, nil
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
