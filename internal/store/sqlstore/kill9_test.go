package sqlstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// kill9Env tells a re-executed test binary to act as the writer child.
const kill9Env = "OPENGAAP_KILL9_DSN"

// TestKill9 proves the durability promise: once Update returns nil, the
// write survives the process being killed with SIGKILL. A child process (this
// test binary, re-executed) inserts records and prints each acknowledged ID;
// the parent kills it mid-stream, reopens the database and looks for every ID.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			e.available(t)
			dsn := e.newDB(t)
			acked := runAndKill(t, dsn, 200)
			s := open(t, dsn)
			err := s.View(t.Context(), func(tx store.Tx) error {
				for _, id := range acked {
					if _, err := tx.Get("proxy", id); err != nil {
						return fmt.Errorf("acknowledged %s: %w", id, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("after kill -9: %v", err)
			}
			t.Logf("%d acknowledged writes survived", len(acked))
		})
	}
}

// runAndKill starts the child on dsn, SIGKILLs it after n acknowledgements
// and returns every ID it acknowledged, including any printed while the kill
// was under way.
func runAndKill(t *testing.T, dsn string, n int) []string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.count=1")
	cmd.Env = append(os.Environ(), kill9Env+"="+dsn)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() }) // never hang
	defer timer.Stop()
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "ack ")
		if !ok {
			continue
		}
		acked = append(acked, id)
		if len(acked) == n {
			// Kill while the child is inside its next Update.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v; want killed by SIGKILL after %d acks (got %d)", err, n, len(acked))
	}
	return acked
}

// TestKill9Child is the child half of TestKill9; it does nothing unless
// started by it. It writes until killed (or for a bounded time, so a lost
// parent never leaves it running).
func TestKill9Child(t *testing.T) {
	dsn := os.Getenv(kill9Env)
	if dsn == "" {
		t.Skip("helper process for TestKill9")
	}
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		id := fmt.Sprintf("k-%06d", i)
		err := s.Update(context.Background(), func(tx store.Tx) error {
			return tx.Insert(store.Record{Kind: "proxy", ID: id, Account: "a", Data: []byte("{}")})
		})
		if err != nil {
			t.Fatal(err)
		}
		// The ack leaves the process only after Update returned.
		fmt.Fprintf(w, "ack %s\n", id)
		w.Flush()
	}
}
