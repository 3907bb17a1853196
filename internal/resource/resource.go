// Package resource gives the API services typed, account-scoped access to
// model objects kept in the store: one transaction per action, objects of
// other accounts invisible, not-found translated to the API's wording once.
package resource

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/store"
)

// Tx is an action's transaction, bound to the calling account. It is not
// safe for concurrent use.
type Tx struct {
	Store   store.Tx
	Account string
	Now     time.Time
	// RequestID is the call's RequestId; tasks started in this transaction
	// are named by it.
	RequestID string
	// Action is the call's action: the action of the tasks it starts, and
	// where the documented error lists of actions differ, what a shared
	// check picks the code by.
	Action string

	// put holds the last record Put of each object, so StartTask can tell
	// the objects the call deletes from those it keeps.
	put map[string]store.Record
	// writes is set in a read-write transaction, whose lists must be whole
	// (List).
	writes bool
	// inserted counts Insert calls: objects a call creates keep its order.
	inserted int64
}

// object constrains PT to a pointer to a model type.
type object[T any] interface {
	*T
	model.Object
}

// Get loads the object of kind PT with id owned by the caller. A missing
// object, or one owned by another account, is ResourceNotFound.
func Get[T any, PT object[T]](tx *Tx, id string) (PT, error) {
	obj := PT(new(T))
	rec, err := tx.Store.Get(obj.Kind(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && rec.Account != tx.Account) {
		return nil, NotFound(obj.Kind(), id)
	}
	if err != nil {
		return nil, err
	}
	if err := decode(rec.Data, obj); err != nil {
		return nil, Unreadable(rec, err)
	}
	return obj, nil
}

// Unreadable is the error of a stored object that does not decode (one an
// older release or a corruption left): not "retry later", since a retry
// reads the same row, but which object it is, for the operator.
func Unreadable(rec store.Record, err error) error {
	return apierr.Wrap(fmt.Errorf("decode %s %s: %w", rec.Kind, rec.ID, err), apierr.InternalError,
		"the stored %s %s cannot be read (written by another release, or damaged); the node's operator must repair or remove it", rec.Kind, rec.ID)
}

// NotFound is the error for an unknown resource ID.
func NotFound(kind, id string) error {
	return apierr.New(apierr.ResourceNotFound, "the %s %s does not exist", kind, id)
}

// List returns the caller's objects of kind PT matching q (Kind and
// Account are filled in) and the total count before paging.
//
// A stored row that does not decode (one an older release or a corruption
// left) is left out of what a read-only transaction lists, as the
// controller leaves it out of the data plane (and logs it): one bad row
// must not fail every Describe of its account. A read-write transaction
// decides on what it lists (a port already held, origins still bound, a
// name taken, what a deletion takes along), and the row left out could be
// the one that refuses: there the row is an error that names it.
func List[T any, PT object[T]](tx *Tx, q store.Query) ([]PT, int, error) {
	q.Kind = PT(new(T)).Kind()
	q.Account = tx.Account
	paged := q.Offset > 0 || q.Limit > 0
	if _, bad := unreadableKinds.Load(q.Kind); bad && paged && !tx.writes {
		return listReadable[T, PT](tx, q)
	}
	recs, total, err := tx.Store.List(q)
	if err != nil {
		return nil, 0, err
	}
	out, bad, err := readable[T, PT](recs, tx.writes)
	if err != nil {
		return nil, 0, err
	}
	if bad > 0 {
		NoteUnreadable(q.Kind)
		if paged {
			return listReadable[T, PT](tx, q)
		}
	}
	return out, total - bad, nil
}

// Count returns how many objects of kind PT the caller has stored: what a
// quota counts, unreadable rows included (they hold their place), without
// decoding any.
func Count[T any, PT object[T]](tx *Tx) (int, error) {
	_, n, err := tx.Store.List(store.Query{Kind: PT(new(T)).Kind(), Account: tx.Account, Limit: 1})
	return n, err
}

// readable decodes recs, leaving out (and counting) those that do not
// decode, or, if strict, failing on the first (Unreadable).
func readable[T any, PT object[T]](recs []store.Record, strict bool) (out []PT, bad int, err error) {
	out = make([]PT, 0, len(recs))
	for _, rec := range recs {
		obj := PT(new(T))
		if err := decode(rec.Data, obj); err != nil {
			if strict {
				return nil, 0, Unreadable(rec, err)
			}
			bad++
			continue
		}
		out = append(out, obj)
	}
	return out, bad, nil
}

// unreadableKinds holds the kinds of which a stored row did not decode
// (since the process started: the controller's first pass reads every
// row, NoteUnreadable). Their pages are cut from the readable rows
// (listReadable), not by the store: a page the store cut short by a bad
// row, and a total counting it on some pages only, made clients that
// page stop early or miss rows.
var unreadableKinds sync.Map // Kind → true.

// NoteUnreadable records that a stored row of kind does not decode.
func NoteUnreadable(kind string) { unreadableKinds.Store(kind, true) }

// listReadable is List of a paged query of a kind with unreadable rows:
// every match read, the readable ones paged and counted.
func listReadable[T any, PT object[T]](tx *Tx, q store.Query) ([]PT, int, error) {
	all := q
	all.Offset, all.Limit, all.NoTotal = 0, 0, true
	recs, _, err := tx.Store.List(all)
	if err != nil {
		return nil, 0, err
	}
	out, _, _ := readable[T, PT](recs, false)
	total := len(out)
	out = out[min(q.Offset, len(out)):]
	if q.Limit > 0 {
		out = out[:min(q.Limit, len(out))]
	}
	return out, total, nil
}

// Children returns all of the caller's objects of kind PT under parent.
func Children[T any, PT object[T]](tx *Tx, parent string) ([]PT, error) {
	objs, _, err := List[T, PT](tx, store.Query{Parent: parent})
	return objs, err
}

// Insert stores a new object owned by the caller.
func (tx *Tx) Insert(obj model.Object) error {
	m := obj.Meta()
	m.Account, m.Gen = tx.Account, 1
	if m.CreateTime == 0 {
		m.CreateTime = tx.Now.Unix()
	}
	rec, err := record(obj)
	if err != nil {
		return err
	}
	if !tx.Now.IsZero() {
		// The same clock as CreateTime, so that listings in creation
		// order are in CreateTime order: concurrent calls commit in
		// another order than they arrived in.
		tx.inserted++
		rec.Created = tx.Now.UnixNano() + tx.inserted
	}
	return tx.Store.Insert(rec)
}

// Put replaces a stored object.
func (tx *Tx) Put(obj model.Object) error {
	obj.Meta().Gen++
	rec, err := record(obj)
	if err != nil {
		return err
	}
	if tx.put == nil {
		tx.put = map[string]store.Record{}
	}
	tx.put[rec.ID] = rec
	return tx.Store.Put(rec)
}

// Delete removes a stored object.
func (tx *Tx) Delete(obj model.Object) error {
	delete(tx.put, obj.Meta().ID)
	return tx.Store.Delete(obj.Kind(), obj.Meta().ID)
}

// StartTask records an asynchronous task of the call's action, named by
// its RequestId, and returns its ID. The task waits for objects, which the
// call changed; those it did not put into a deletion it keeps
// (model.Task.Keeps).
func (tx *Tx) StartTask(objects ...string) (string, error) { return tx.StartTaskBringing(objects, nil) }

// StartTaskBringing is StartTask for a call that also brings up objects it
// does not change (a new group member, or an opened proxy, serves the
// listeners already there): the task waits for them too and fails if one
// cannot apply, but it does not keep them, since their removal by another
// call leaves what this one asked for done.
func (tx *Tx) StartTaskBringing(objects, brought []string) (string, error) {
	t := &model.Task{Base: model.Base{ID: tx.RequestID}, Action: tx.Action, Status: model.TaskRunning,
		Objects: append(slices.Clip(objects), brought...)}
	for _, id := range objects {
		deleted, err := tx.deletes(id)
		if err != nil {
			return "", err
		}
		if !deleted {
			t.Keeps = append(t.Keeps, id)
		}
	}
	return t.ID, tx.Insert(t)
}

// deletes reports whether the call put the object id into a deletion: a
// status whose settling removes it (model.Settler).
func (tx *Tx) deletes(id string) (bool, error) {
	rec, ok := tx.put[id]
	if !ok {
		return false, nil
	}
	obj, ok := model.NewObject(rec.Kind).(model.Settler)
	if !ok {
		return false, nil
	}
	if err := decode(rec.Data, obj); err != nil {
		return false, Unreadable(rec, err)
	}
	_, remove := obj.Settle()
	return remove, nil
}

// ClaimToken checks and records a client idempotency token for the
// caller; a replayed token is FailedOperation.DuplicatedRequest. Every
// action taking a ClientToken comes here, so its rule is checked here.
func (tx *Tx) ClaimToken(token string) error {
	if err := model.ValidateClientToken(token); err != nil || token == "" {
		return err
	}
	err := tx.Store.Claim(model.ClientTokenClaims+tx.Account, token)
	if errors.Is(err, store.ErrConflict) {
		return apierr.New(apierr.FailedOperationDuplicatedRequest, "the ClientToken %q was already used; %s was not repeated", token, tx.Action)
	}
	return err
}

// decode reads a stored document. Listing decodes many documents per
// call, and the v2 decoder does it at about twice the speed of
// encoding/json; unknown members (written by a newer version) are ignored.
func decode(data []byte, obj model.Object) error {
	return jsonv2.Unmarshal(data, obj, jsonv2.RejectUnknownMembers(false))
}

func record(obj model.Object) (store.Record, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return store.Record{}, err
	}
	m := obj.Meta()
	return store.Record{Kind: obj.Kind(), ID: m.ID, Account: m.Account, Parent: obj.Parent(),
		Project: obj.Project(), Data: data}, nil
}
