// Package seal encrypts the tenant secrets the store keeps (GAAP
// certificate private keys, EdgeOne origins' SecretAccessKey) under a key
// kept in the data directory, so a copied database alone (a backup, a
// PostgreSQL dump or replica) does not leak them.
package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/opengaap/opengaap/internal/atomicfile"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
)

// Sealer encrypts secrets before they reach the store, with AES-256-GCM.
type Sealer struct{ aead cipher.AEAD }

// Load reads the 32-byte key at path, made readable by its owner only
// (logged) if others could read it. When the file is missing it creates
// one (durably, mode 0600, before any secret can be sealed with it),
// unless st already holds sealed secrets: they were sealed with the lost
// key, which a new one cannot open, so it refuses and says so.
func Load(ctx context.Context, st store.Store, path string, log *slog.Logger) (*Sealer, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		err = atomicfile.KeepPrivate(path, log)
	}
	if errors.Is(err, os.ErrNotExist) {
		key, err = newKey(ctx, st, path)
	}
	if err != nil {
		return nil, err
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("key file %s must hold 32 bytes, has %d", path, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// newKey writes a new key to path, if no stored secret needs the old one.
func newKey(ctx context.Context, st store.Store, path string) ([]byte, error) {
	n, err := sealedSecrets(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("check for sealed secrets: %w", err)
	}
	if n > 0 {
		return nil, fmt.Errorf("certificate-key encryption key %s is missing, but the store holds %d secrets "+
			"(certificate private keys, origin SecretAccessKeys) sealed with it; restore that file from the data "+
			"directory it was created in (a new key could not open them)", path, n)
	}
	key := make([]byte, 32)
	rand.Read(key)
	if err := atomicfile.Write(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	return key, nil
}

// holder is a stored object that may carry sealed values.
type holder interface {
	model.Object
	Sealed() int
}

// holders are the kinds whose objects may carry sealed values.
var holders = []func() holder{
	func() holder { return new(model.Certificate) },
	func() holder { return new(model.TeoOriginGroup) },
}

// sealedSecrets counts the stored values sealed with the key.
func sealedSecrets(ctx context.Context, st store.Store) (n int, err error) {
	err = st.View(ctx, func(tx store.Tx) error {
		for _, fresh := range holders {
			recs, _, err := tx.List(store.Query{Kind: fresh().Kind(), AllAccounts: true})
			if err != nil {
				return err
			}
			for _, r := range recs {
				obj := fresh()
				if err := json.Unmarshal(r.Data, obj); err != nil {
					return fmt.Errorf("decode %s %s: %w", r.Kind, r.ID, err)
				}
				n += obj.Sealed()
			}
		}
		return nil
	})
	return n, err
}

// Seal encrypts plaintext; the result is base64(nonce || ciphertext).
func (s *Sealer) Seal(plaintext string) string {
	if plaintext == "" {
		return ""
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plaintext), nil))
}

// Open decrypts what Seal produced.
func (s *Sealer) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("sealed value is malformed")
	}
	n := s.aead.NonceSize()
	pt, err := s.aead.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return "", fmt.Errorf("open sealed value: %w", err)
	}
	return string(pt), nil
}
