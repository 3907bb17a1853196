package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/opengaap/opengaap/internal/atomicfile"
	"github.com/opengaap/opengaap/internal/cloudapi"
)

// rootCredentials returns the root account: from TENCENTCLOUD_SECRET_ID and
// TENCENTCLOUD_SECRET_KEY when set, else from credentials.json in the data
// dir, generated (mode 0600) on first start. where names that file.
func rootCredentials(dataDir string) (acct cloudapi.Account, where string, err error) {
	id, key := os.Getenv("TENCENTCLOUD_SECRET_ID"), os.Getenv("TENCENTCLOUD_SECRET_KEY")
	if id != "" && key != "" {
		return cloudapi.Account{SecretID: id, SecretKey: key}, "", nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return acct, "", err
	}
	path := filepath.Join(dataDir, "credentials.json")
	b, err := os.ReadFile(path)
	if err == nil {
		return acct, path, json.Unmarshal(b, &acct)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return acct, "", err
	}
	acct = cloudapi.Account{SecretID: "AKID" + randomString(32), SecretKey: randomString(32)}
	b, _ = json.MarshalIndent(acct, "", "  ")
	// Written whole and synced: clients are told these credentials once.
	return acct, path, atomicfile.Write(path, b, 0o600)
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
