// Package edgerun runs the data plane standalone for the benchmark scripts:
// it applies one snapshot and serves it until SIGTERM or SIGINT, optionally
// writing a CPU profile.
package edgerun

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// Run applies snap to a new edge runtime and serves it until a signal.
// opts adjust the runtime's options.
func Run(snap *snapshot.Snapshot, cpuprofile string, opts ...func(*edge.Options)) {
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	o := edge.Options{DrainGrace: time.Second}
	for _, f := range opts {
		f(&o)
	}
	rt := edge.New(o)
	rep := rt.Apply(snap)
	if !rep.OK() {
		log.Fatalf("apply: %+v", rep)
	}
	for _, l := range rep.Listeners {
		fmt.Fprintf(os.Stderr, "edgeproxy: %s %s %s\n", l.ID, l.Addr, l.State)
	}
	go func() { // Keep the events channel drained.
		for range rt.Events() {
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	if p := os.Getenv("MEMPROF"); p != "" {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "MALLOCS %d\n", ms.Mallocs)
		f, _ := os.Create(p)
		_ = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = rt.Close(ctx)
}
