package controller

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// TestExpireClaimsForgetsOldTokens: ExpireClaims forgets the ClientTokens
// claimed before the cutoff, in as many bounded batches as it takes, so
// they can be used again; a token claimed after the cutoff (within
// ClaimRetention) is still a duplicate, and a claim that is not a
// ClientToken (the default-VPC marker) is kept however old.
func TestExpireClaimsForgetsOldTokens(t *testing.T) {
	st := openStore(t)
	claim := func(token string) error {
		return st.Update(t.Context(), func(tx store.Tx) error { return tx.Claim("clienttoken/1", token) })
	}
	if err := st.Update(t.Context(), func(tx store.Tx) error { return tx.Claim("vpc/default", "1") }); err != nil {
		t.Fatal(err)
	}
	for i := range expireBatch + 1 { // More than one batch.
		if err := claim(fmt.Sprintf("old-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	cutoff := time.Now()
	time.Sleep(2 * time.Millisecond)
	if err := claim("recent"); err != nil {
		t.Fatal(err)
	}
	n, err := ExpireClaims(t.Context(), st, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if n != expireBatch+1 {
		t.Errorf("expired %d claims; want %d", n, expireBatch+1)
	}
	if err := claim("old-0"); err != nil {
		t.Errorf("reusing an expired token: %v; want it accepted", err)
	}
	if err := claim("recent"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reusing a token within its retention: %v; want ErrConflict", err)
	}
	if err := st.Update(t.Context(), func(tx store.Tx) error { return tx.Claim("vpc/default", "1") }); !errors.Is(err, store.ErrConflict) {
		t.Errorf("default-VPC marker after expiry: %v; want kept (ErrConflict)", err)
	}
}
