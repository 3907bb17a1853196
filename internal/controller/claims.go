package controller

import (
	"context"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
)

// ClaimRetention is how long a used ClientToken is remembered: a call
// that repeats it within this time is FailedOperation.DuplicatedRequest
// and does nothing; after it the token is forgotten and may be used
// again. The API reference asks only that a token be unique per request
// ("需保证不同请求之间唯一"), for idempotency: a client repeats a token when
// it retries a call whose answer it lost, which SDKs and Terraform do
// within seconds or minutes. A week, as for finished tasks
// (TaskRetention), covers a client that resumes after a long outage and
// still finds both the task and the token its call left, without keeping
// every token ever used.
const ClaimRetention = 7 * 24 * time.Hour

// ExpireClaims deletes the ClientToken claims (model.ClientTokenClaims)
// made before before, one bounded transaction (expireBatch claims) at a
// time, and returns how many it deleted. Other claims are markers kept
// for good, such as the one that keeps a deleted default VPC deleted.
func ExpireClaims(ctx context.Context, s store.Store, before time.Time) (int, error) {
	return inBatches(ctx, s, func(tx store.Tx) (int, error) {
		return tx.ExpireClaims(model.ClientTokenClaims, before.UnixNano(), expireBatch)
	})
}
