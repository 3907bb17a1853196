package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// parallel runs fn(i) for i in [0, n) on n goroutines and returns their errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return errs
}

func testConcurrency(t *testing.T, open Opener) {
	t.Run("read-modify-write is serializable", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, store.Record{Kind: "counter", ID: "c", Account: "a", Created: 1, Data: []byte("0")})
		rev := revision(t, s)
		const n = 50
		errs := parallel(n, func(int) error {
			return s.Update(context.Background(), func(tx store.Tx) error {
				r, err := tx.Get("counter", "c")
				if err != nil {
					return err
				}
				v, err := strconv.Atoi(string(r.Data))
				if err != nil {
					return err
				}
				r.Data = strconv.AppendInt(nil, int64(v+1), 10)
				return tx.Put(r)
			})
		})
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("Updates: %v", err)
		}
		got, _ := get(t, s, "counter", "c")
		if string(got.Data) != strconv.Itoa(n) {
			t.Errorf("counter = %s; want %d (lost updates)", got.Data, n)
		}
		if got := revision(t, s); got != rev+n {
			t.Errorf("revision = %d; want %d", got, rev+n)
		}
	})
	t.Run("check then insert admits one", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		errExists := errors.New("exists")
		errs := parallel(20, func(i int) error {
			return s.Update(context.Background(), func(tx store.Tx) error {
				// Callers check quotas and names like this, before inserting.
				recs, _, err := tx.List(store.Query{Kind: "proxy", Account: "a"})
				if err != nil {
					return err
				}
				if len(recs) > 0 {
					return errExists
				}
				return tx.Insert(rec("proxy", fmt.Sprint("p-", i), "a", 1))
			})
		})
		wantOneWinner(t, errs, errExists)
	})
	t.Run("one claim wins", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		errs := parallel(20, func(int) error {
			return s.Update(context.Background(), func(tx store.Tx) error { return tx.Claim("token", "same") })
		})
		wantOneWinner(t, errs, store.ErrConflict)
	})
	t.Run("readers run beside writers", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		insert(t, s, seed)
		deadline := time.Now().Add(300 * time.Millisecond)
		errs := parallel(8, func(i int) error {
			for n := 0; time.Now().Before(deadline); n++ {
				var err error
				if i%2 == 0 {
					err = s.Update(context.Background(), func(tx store.Tx) error {
						return tx.Insert(rec("proxy", fmt.Sprintf("w%d-%d", i, n), "a", int64(n)))
					})
				} else {
					err = s.View(context.Background(), func(tx store.Tx) error {
						recs, total, err := tx.List(store.Query{Kind: "proxy", Account: "a", Limit: 5})
						if err == nil && (total < 1 || len(recs) != min(total, 5)) {
							err = fmt.Errorf("list returned %d records, total %d", len(recs), total)
						}
						return err
					})
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err := errors.Join(errs...); err != nil {
			t.Errorf("concurrent reads and writes: %v", err)
		}
	})
}

// wantOneWinner checks that exactly one error is nil and all others are lose.
func wantOneWinner(t *testing.T, errs []error, lose error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, lose):
			t.Errorf("Update = %v; want nil or %v", err, lose)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d Updates succeeded; want exactly 1", wins, len(errs))
	}
}

func testContext(t *testing.T, open Opener) {
	t.Parallel()
	s := open(t)
	insert(t, s, seed)
	rev := revision(t, s)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func(ctx context.Context) error{
		"Update": func(ctx context.Context) error {
			return s.Update(ctx, func(tx store.Tx) error { return tx.Insert(rec("proxy", "c-1", "a", 1)) })
		},
		"View":     func(ctx context.Context) error { return s.View(ctx, func(store.Tx) error { return nil }) },
		"Revision": func(ctx context.Context) error { _, err := s.Revision(ctx); return err },
		"Stats.Write": func(ctx context.Context) error {
			return s.Stats().Write(ctx, []store.Point{{Object: "o", Metric: "m", Granularity: 60, Time: time.Unix(60, 0)}})
		},
		"Stats.Query": func(ctx context.Context) error {
			_, err := s.Stats().Query(ctx, "o", "m", 60, time.Unix(0, 0), time.Unix(120, 0))
			return err
		},
	}
	for name, call := range calls {
		if err := call(canceled); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v; want context.Canceled", name, err)
		}
	}
	// Canceled while fn runs: the transaction must not commit.
	ctx, cancel := context.WithCancel(context.Background())
	err := s.Update(ctx, func(tx store.Tx) error {
		err := tx.Insert(rec("proxy", "c-2", "a", 1))
		cancel()
		return err
	})
	if err == nil {
		t.Errorf("Update canceled during fn = nil; want an error")
	}
	wantMissing("proxy", "c-1")(t, s)
	wantMissing("proxy", "c-2")(t, s)
	if got := revision(t, s); got != rev {
		t.Errorf("revision = %d; want %d", got, rev)
	}
}
