// Package edgerun runs the data plane standalone for the benchmark scripts:
// it applies one snapshot and serves it until SIGTERM or SIGINT, optionally
// writing a CPU profile of the run and an allocation profile at its end
// (flags -cpuprofile and -allocprofile, which importing it registers), and
// a runtime execution trace from SIGUSR1 to SIGUSR2 (-trace), for the
// scheduler's view of a load (go tool trace -pprof=sched).
package edgerun

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"

	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/snapshot"
)

var (
	cpuprofile   = flag.String("cpuprofile", "", "write a CPU profile here until SIGTERM")
	allocprofile = flag.String("allocprofile", "", "write an allocation profile here at SIGTERM (and print the allocation count)")
	tracefile    = flag.String("trace", "", "write an execution trace here from SIGUSR1 to SIGUSR2")
)

// Run applies snap to a new edge runtime and serves it until a signal.
// opts adjust the runtime's options.
func Run(snap *snapshot.Snapshot, opts ...func(*edge.Options)) {
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
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
	if *tracefile != "" {
		go traceOnSignal(*tracefile)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	if *allocprofile != "" {
		writeAllocs(*allocprofile)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = rt.Close(ctx)
}

// writeAllocs writes the allocation profile (go tool pprof
// -sample_index=alloc_objects) and prints the number of allocations, which
// divided by the requests served gives allocations per request.
func writeAllocs(path string) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "edgeproxy: %d allocations\n", ms.Mallocs)
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		log.Fatal(err)
	}
}

// traceOnSignal writes an execution trace to path from SIGUSR1 to SIGUSR2
// (so that it covers the measured load only: a trace grows by megabytes a
// second under load).
func traceOnSignal(path string) {
	start, stop := make(chan os.Signal, 1), make(chan os.Signal, 1)
	signal.Notify(start, syscall.SIGUSR1)
	// Caught from the start, as before c5da73f: uncaught, a SIGUSR2 sent
	// early would end the process.
	signal.Notify(stop, syscall.SIGUSR2)
	<-start
	select {
	case <-stop: // One sent before SIGUSR1 ends nothing.
	default:
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		log.Fatal(err)
	}
	<-stop
	trace.Stop()
	_ = f.Close()
	fmt.Fprintf(os.Stderr, "edgeproxy: trace written to %s\n", path)
}
