package gaap

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/opengaap/opengaap/internal/atomicfile"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
)

// Sealer encrypts certificate private keys before they reach the store,
// with AES-256-GCM under a key kept in the data directory, so a copied
// database alone does not leak keys.
type Sealer struct{ aead cipher.AEAD }

// LoadSealer reads the 32-byte key at path. When the file is missing it
// creates one (durably, mode 0600, before any key can be sealed with it),
// unless st already holds certificate keys: they were sealed with the lost
// key, which a new one cannot open, so it refuses and says so.
func LoadSealer(ctx context.Context, st store.Store, path string) (*Sealer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err = newSealerKey(ctx, st, path)
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

// newSealerKey writes a new key to path, if no stored certificate needs
// the old one.
func newSealerKey(ctx context.Context, st store.Store, path string) ([]byte, error) {
	n, err := sealedKeys(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("check for sealed certificate keys: %w", err)
	}
	if n > 0 {
		return nil, fmt.Errorf("certificate-key encryption key %s is missing, but the store holds %d certificate "+
			"private keys sealed with it; restore that file from the data directory it was created in "+
			"(a new key could not open them)", path, n)
	}
	key := make([]byte, 32)
	rand.Read(key)
	if err := atomicfile.Write(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	return key, nil
}

// sealedKeys counts the stored certificates that carry a sealed key.
func sealedKeys(ctx context.Context, st store.Store) (n int, err error) {
	err = st.View(ctx, func(tx store.Tx) error {
		recs, _, err := tx.List(store.Query{Kind: model.KindCertificate, AllAccounts: true})
		for _, r := range recs {
			var c model.Certificate
			if err := json.Unmarshal(r.Data, &c); err != nil {
				return fmt.Errorf("decode certificate %s: %w", r.ID, err)
			}
			if c.KeySealed != "" {
				n++
			}
		}
		return err
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
		return "", errors.New("sealed key is malformed")
	}
	n := s.aead.NonceSize()
	pt, err := s.aead.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return "", fmt.Errorf("open sealed key: %w", err)
	}
	return string(pt), nil
}
