package controller

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/vip"
)

// countingStore counts the List and Delete calls of its write
// transactions: the work a settle does while every API write waits.
type countingStore struct {
	store.Store
	lists, deletes int
}

func (s *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(&countingTx{Tx: tx, s: s}) })
}

type countingTx struct {
	store.Tx
	s *countingStore
}

func (t *countingTx) List(q store.Query) ([]store.Record, int, error) {
	t.s.lists++
	return t.Tx.List(q)
}

func (t *countingTx) Delete(kind, id string) error {
	t.s.deletes++
	return t.Tx.Delete(kind, id)
}

// TestDeleteListenerQueriesPerLevel: settling the deletion of an HTTP
// listener removes its domains and rules in the pass's write transaction,
// which every API write waits behind. Finding them must take one query per
// kind for each level of the tree, not one per kind for each object
// removed: a listener may hold 10,000 rules.
func TestDeleteListenerQueriesPerLevel(t *testing.T) {
	var lists []int
	for _, size := range []struct{ domains, perDomain int }{{5, 4}, {40, 30}} {
		st := &countingStore{Store: openStore(t)}
		l := &model.Listener{Base: model.Base{ID: "listener-a"}, ProxyID: "link-1", Protocol: model.HTTP, Port: 80,
			Status: model.StatusDeleting}
		objs := []model.Object{
			&model.Proxy{Base: model.Base{ID: "link-1"}, Status: model.ProxyRunning, IP: "127.1.2.3", Bandwidth: 5, Concurrent: 2},
			&model.Proxy{Base: model.Base{ID: "link-2"}, Status: model.ProxyRunning, IP: "127.1.2.4", Bandwidth: 5, Concurrent: 2},
			l,
			&model.Listener{Base: model.Base{ID: "listener-b"}, ProxyID: "link-2", Protocol: model.HTTP, Port: 80},
			&model.Domain{Base: model.Base{ID: "domain-kept"}, ListenerID: "listener-b", Host: "kept.example.com"},
		}
		for d := range size.domains {
			host := fmt.Sprintf("d%d.example.com", d)
			objs = append(objs, &model.Domain{Base: model.Base{ID: model.NewID(model.PrefixDomainInternal)}, ListenerID: l.ID, Host: host})
			for r := range size.perDomain {
				objs = append(objs, &model.Rule{Base: model.Base{ID: model.NewID(model.PrefixRule)}, ListenerID: l.ID, Domain: host,
					Path: fmt.Sprintf("/p%d", r), RealServerType: "IP", Scheduler: "rr", ForwardProtocol: "default", ForwardHost: "default"})
			}
		}
		err := st.Store.Update(t.Context(), func(tx store.Tx) error {
			rtx := &resource.Tx{Store: tx, Account: "1", Now: time.Unix(1e9, 0)}
			for _, o := range objs {
				if err := rtx.Insert(o); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		c := New(st, &fakePlane{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := c.Reconcile(t.Context()); err != nil {
			t.Fatal(err)
		}
		removed := 1 + size.domains*(1+size.perDomain)
		t.Logf("listener of %d domains × %d rules: %d Lists, %d Deletes in write transactions", size.domains, size.perDomain, st.lists, st.deletes)
		if st.deletes != removed {
			t.Errorf("%d Deletes; want %d, one per removed object", st.deletes, removed)
		}
		var left, kept int
		st.View(t.Context(), func(tx store.Tx) error {
			for _, k := range []string{model.KindDomain, model.KindRule, model.KindListener} {
				_, n, _ := tx.List(store.Query{Kind: k, Parent: l.ID, AllAccounts: true})
				left += n
			}
			_, kept, _ = tx.List(store.Query{Kind: model.KindDomain, Parent: "listener-b", AllAccounts: true})
			return nil
		})
		if _, found := get[model.Listener](t, st, model.KindListener, l.ID); found || left != 0 {
			t.Errorf("listener stored %v, %d objects left under it; want all removed", found, left)
		}
		if _, found := get[model.Listener](t, st, model.KindListener, "listener-b"); !found || kept != 1 {
			t.Errorf("listener-b stored %v with %d domains; want it and its domain kept", found, kept)
		}
		lists = append(lists, st.lists)
	}
	// The tree is two levels deep (listener, then its domains and rules):
	// one query per kind for each, whatever the number of rules.
	if want := 2 * (len(model.Kinds) + len(vip.Kinds)); lists[0] != lists[1] || lists[1] > want {
		t.Errorf("Lists in write transactions: %d for the small listener, %d for the large one; want the same, at most %d", lists[0], lists[1], want)
	}
}
