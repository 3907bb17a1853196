package resource

import (
	"context"
	"errors"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/store"
)

// Update runs fn in one read-write transaction for the caller's account.
// After a commit it calls notify (the controller's wake-up; may be nil).
// Errors other than API errors become InternalError.
func Update(ctx context.Context, st store.Store, call *cloudapi.Call, notify func(), fn func(*Tx) error) error {
	err := st.Update(ctx, func(t store.Tx) error {
		tx := newTx(t, call)
		tx.writes = true
		return fn(tx)
	})
	if err == nil && notify != nil {
		notify()
	}
	return translate(err)
}

// View runs fn in one read-only transaction for the caller's account.
func View(ctx context.Context, st store.Store, call *cloudapi.Call, fn func(*Tx) error) error {
	return translate(st.View(ctx, func(t store.Tx) error { return fn(newTx(t, call)) }))
}

func newTx(t store.Tx, call *cloudapi.Call) *Tx {
	return &Tx{Store: t, Account: call.Account.Uin, Now: call.Time, RequestID: call.RequestID, Action: call.Action}
}

// translate keeps API errors, answers a key the store cannot hold with
// InvalidParameterValue and hides everything else behind InternalError.
func translate(err error) error {
	var ae *apierr.Error
	if err == nil || errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, store.ErrInvalidKey) {
		// A name or ID the caller sent holds NUL or invalid UTF-8, which
		// the store cannot keep; the request is at fault, not the server.
		return apierr.Wrap(err, apierr.InvalidParameterValue, "a parameter holds a NUL byte or invalid UTF-8, or is too long to store")
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return apierr.Wrap(err, apierr.InternalError, "the request timed out; retry later")
	}
	return apierr.Internal(err)
}
