package seal

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
)

// TestLoadRefusesNewKeyOverSealedOriginSecret: an origin's SecretAccessKey
// is sealed with the same key as certificate private keys, so a store
// holding only such secrets must not get a new key either when the file
// is lost: the secrets could no longer be opened.
func TestLoadRefusesNewKeyOverSealedOriginSecret(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keyFile, log := filepath.Join(dir, "certificate-keys.key"), slog.New(slog.DiscardHandler)
	s, err := Load(ctx, st, keyFile, log)
	if err != nil {
		t.Fatal(err)
	}
	g := &model.TeoOriginGroup{Base: model.Base{ID: "origin-1", Account: "100"}, Records: []model.TeoOriginRecord{
		{ID: "record-1", PrivateParameters: [][2]string{{model.TeoSecretParameter, "secret"}}}}}
	g.SealSecrets(s.Seal)
	data, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx store.Tx) error {
		return tx.Insert(store.Record{Kind: g.Kind(), ID: g.ID, Account: g.Account, Data: data})
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, st, keyFile, log); err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Errorf("Load with the key file lost and a sealed origin secret stored: %v; want refused, naming %s", err, keyFile)
	}
}
