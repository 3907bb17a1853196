package server

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
	"github.com/opengaap/opengaap/internal/vip"
)

// BPFLinks is bpfLinks for the external tests.
var BPFLinks = bpfLinks

// bpfLinks counts this process's BPF link descriptors: a TOA writer holds
// one, its program's attachment to the cgroup.
func bpfLinks(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.Contains(l, "bpf_link") {
			n++
		}
	}
	return n
}

// vipReadFails is a store whose reads of access-IP allocation records
// (vip.Holder) fail, as a store read can at any time.
type vipReadFails struct{ store.Store }

func (s vipReadFails) View(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(vipReadFailsTx{tx}) })
}

type vipReadFailsTx struct{ store.Tx }

func (t vipReadFailsTx) Get(kind, id string) (store.Record, error) {
	for _, k := range vip.Kinds {
		if kind == k {
			return store.Record{}, errors.New("injected read failure")
		}
	}
	return t.Tx.Get(kind, id)
}

// TestFailedListenAddrCheckDetachesTOA guards build's error path after the
// node's listen addresses are checked against the pool's records
// (warnListenAddrHeld): like the checks before it, a failure there closes
// the TOA writer, which no Edge owns yet; it stayed attached to the cgroup
// until a GC finalizer ran.
func TestFailedListenAddrCheckDetachesTOA(t *testing.T) {
	o := Options{APIListen: "127.0.0.1:0", DataDir: t.TempDir(), VIPPool: "127.99.79.0/28", Log: slog.New(slog.DiscardHandler)}
	set, err := Check(o)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(t.Context(), set.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if w, why := openTOA(o); why != nil {
		t.Skip("this machine cannot load the TOA writer:", why)
	} else {
		w.Close()
	}
	before := bpfLinks(t)
	s, err := build(t.Context(), vipReadFails{st}, o, set, nil)
	if err == nil {
		s.Close(context.Background())
		t.Fatal("build succeeded; want the injected read failure")
	}
	if !strings.Contains(err.Error(), "injected read failure") {
		t.Fatalf("build: %v; want the injected read failure", err)
	}
	if after := bpfLinks(t); after != before {
		t.Errorf("failed build: %d BPF links attached, %d before; want the TOA writer detached", after, before)
	}
}
