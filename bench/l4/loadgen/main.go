// Command loadgen drives the L4 benchmark (bench/l4/run.sh) against an
// origin (bench/l4/origin), directly or through a proxy, and prints one JSON
// line of results.
//
//	loadgen bulk  -target ip:port [-c 1] [-dir up|down]   bulk TCP throughput
//	loadgen rr    -target ip:port [-c 32] [-size 64]      ping-pong ops/s, p50/p99
//	loadgen conns -target ip:port [-c 64]                 new connections/s
//	loadgen udp   -target ip:port [-c 4] [-window 32]     UDP request/response pkts/s
//	loadgen idle  -target ip:port [-c 2000] [-mode tcp|http|https]  memory per idle connection (idle.go)
//	loadgen collect -addr ip:port                         mirror collector: reads and discards UDP until SIGTERM
//	loadgen report results.jsonl                          table of a run's lines
//
// -pids lists the proxy's processes (e.g. nginx master and workers); their
// user+sys CPU from /proc/<pid>/stat is sampled at the start and end of the
// measured window, so the result carries the CPU the proxy spent on it.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
)

// Result is the JSON line printed by every measuring subcommand.
type Result struct {
	Test     string  `json:"test"`
	Label    string  `json:"label"`
	Target   string  `json:"target"`
	Conc     int     `json:"concurrency"`
	Window   int     `json:"window,omitempty"`
	Size     int     `json:"size"`
	Duration float64 `json:"duration_s"`
	Unit     string  `json:"unit"`
	Value    float64 `json:"value"` // In Unit (MB/s, ops/s, conns/s, pkts/s).
	Ops      int64   `json:"ops"`
	Bytes    int64   `json:"bytes,omitempty"`
	Errors   int64   `json:"errors"`
	P50us    float64 `json:"p50_us,omitempty"`
	P99us    float64 `json:"p99_us,omitempty"`
	ProxyCPU float64 `json:"proxy_cpu_s"`  // User+sys seconds of -pids over the window.
	OrigCPU  float64 `json:"origin_cpu_s"` // Same for -origin-pid.
	SelfCPU  float64 `json:"loadgen_cpu_s"`
}

type common struct {
	target   string
	dur      time.Duration
	warm     time.Duration
	conc     int
	size     int
	label    string
	name     string
	pids     []int
	origPid  int
	res      Result
	measured atomic.Bool // Inside the measured window.
	ops      atomic.Int64
	bytes    atomic.Int64
	errs     atomic.Int64
	stop     atomic.Bool
	latMu    sync.Mutex
	lat      []int64 // Merged from workers as they exit.
}

const maxDuration = 60 * time.Second

func parse(sub string, args []string, conc, size int, extra func(*flag.FlagSet)) *common {
	fs := flag.NewFlagSet(sub, flag.ExitOnError)
	c := &common{}
	fs.StringVar(&c.target, "target", "127.0.93.1:9000", "ip:port to load")
	fs.DurationVar(&c.dur, "duration", 5*time.Second, "measured window (max 60s)")
	fs.DurationVar(&c.warm, "warmup", 300*time.Millisecond, "load before the measured window")
	fs.IntVar(&c.conc, "c", conc, "concurrency (connections, workers or UDP sockets)")
	fs.IntVar(&c.size, "size", size, "message / write size in bytes")
	fs.StringVar(&c.label, "label", "", "name of the target in reports (direct, opengaap, ...)")
	fs.StringVar(&c.name, "name", sub, "test name in reports")
	pids := fs.String("pids", "", "comma-separated proxy PIDs whose CPU is measured")
	fs.IntVar(&c.origPid, "origin-pid", 0, "origin PID whose CPU is measured")
	if extra != nil {
		extra(fs)
	}
	_ = fs.Parse(args)
	c.dur = min(max(c.dur, 100*time.Millisecond), maxDuration)
	c.warm = min(max(c.warm, 0), 10*time.Second)
	c.conc = max(c.conc, 1)
	for _, p := range strings.Split(*pids, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil && n > 0 {
			c.pids = append(c.pids, n)
		}
	}
	c.res = Result{Test: c.name, Label: c.label, Target: c.target, Conc: c.conc, Size: c.size}
	return c
}

// cpuOf returns user+sys seconds of the processes (all threads).
func cpuOf(pids []int) float64 {
	ticks := sumProc(pids, "stat", func(s string) int64 {
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			return 0
		}
		f := strings.Fields(s[i+1:]) // f[0] is field 3 (state): utime is field 14.
		if len(f) < 13 {
			return 0
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return u + st
	})
	return float64(ticks) / 100 // USER_HZ is 100 on Linux.
}

// sumProc adds up what value finds in /proc/<pid>/<file> of each process
// (one that is gone counts 0).
func sumProc(pids []int, file string, value func(string) int64) int64 {
	var sum int64
	for _, p := range pids {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", p, file)); err == nil {
			sum += value(string(b))
		}
	}
	return sum
}

func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// lats is one worker's latency samples, merged into c.lat when it exits.
type lats struct {
	c *common
	s []int64
}

func (l *lats) record(d time.Duration) {
	l.c.ops.Add(1)
	l.s = append(l.s, int64(d))
}

func (l *lats) merge() {
	l.c.latMu.Lock()
	l.c.lat = append(l.c.lat, l.s...)
	l.c.latMu.Unlock()
}

// run starts worker(i) for each of conc workers and measures the window.
func (c *common) run(worker func(i int)) {
	var wg sync.WaitGroup
	for i := range c.conc {
		wg.Add(1)
		go func() { defer wg.Done(); worker(i) }()
	}
	time.Sleep(c.warm)
	p0, o0, s0 := cpuOf(c.pids), cpuOf([]int{c.origPid}), selfCPU()
	ops0, b0, e0 := c.ops.Load(), c.bytes.Load(), c.errs.Load()
	c.measured.Store(true)
	t0 := time.Now()
	time.Sleep(c.dur)
	c.measured.Store(false)
	el := time.Since(t0).Seconds()
	ops1, b1, e1 := c.ops.Load(), c.bytes.Load(), c.errs.Load()
	p1, o1, s1 := cpuOf(c.pids), cpuOf([]int{c.origPid}), selfCPU()
	c.stop.Store(true)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select { // Workers notice stop after their current operation.
	case <-done:
	case <-time.After(3 * time.Second):
	}
	r := &c.res
	r.Duration = el
	r.Ops, r.Bytes, r.Errors = ops1-ops0, b1-b0, e1-e0
	r.ProxyCPU, r.OrigCPU, r.SelfCPU = p1-p0, o1-o0, s1-s0
	c.latMu.Lock()
	if len(c.lat) > 0 {
		slices.Sort(c.lat)
		q := func(p float64) float64 { return float64(c.lat[int(p*float64(len(c.lat)-1))]) / 1e3 }
		r.P50us, r.P99us = q(0.50), q(0.99)
	}
	c.latMu.Unlock()
}

func (c *common) emit() {
	b, _ := json.Marshal(c.res)
	fmt.Println(string(b))
}

func dialMode(target string, mode byte) (*net.TCPConn, error) {
	nc, err := net.DialTimeout("tcp", target, 2*time.Second)
	if err != nil {
		return nil, err
	}
	tc := nc.(*net.TCPConn)
	if _, err := tc.Write([]byte{mode}); err != nil {
		_ = tc.Close()
		return nil, err
	}
	return tc, nil
}

func bulk(args []string) {
	var dir string
	c := parse("bulk", args, 1, 256<<10, func(fs *flag.FlagSet) {
		fs.StringVar(&dir, "dir", "up", "up: client streams to a sink; down: origin streams to the client")
	})
	c.res.Unit = "MB/s"
	c.run(func(int) {
		mode := byte('S')
		if dir == "down" {
			mode = 'D'
		}
		conn, err := dialMode(c.target, mode)
		if err != nil {
			c.errs.Add(1)
			return
		}
		defer conn.Close()
		buf := make([]byte, c.size)
		for !c.stop.Load() {
			var n int
			if mode == 'S' {
				n, err = conn.Write(buf)
			} else {
				n, err = conn.Read(buf)
			}
			c.bytes.Add(int64(n))
			if err != nil {
				c.errs.Add(1)
				return
			}
		}
	})
	c.res.Value = float64(c.res.Bytes) / c.res.Duration / 1e6
	c.res.Ops = 0
	c.emit()
}

func rr(args []string) {
	c := parse("rr", args, 32, 64, nil)
	c.res.Unit = "ops/s"
	c.run(func(int) {
		conn, err := dialMode(c.target, 'E')
		if err != nil {
			c.errs.Add(1)
			return
		}
		defer conn.Close()
		l := &lats{c: c}
		defer l.merge()
		req, resp := make([]byte, c.size), make([]byte, c.size)
		for !c.stop.Load() {
			t := time.Now()
			if _, err := conn.Write(req); err != nil {
				c.errs.Add(1)
				return
			}
			if _, err := io.ReadFull(conn, resp); err != nil {
				c.errs.Add(1)
				return
			}
			if c.measured.Load() {
				l.record(time.Since(t))
			}
		}
	})
	c.res.Value = float64(c.res.Ops) / c.res.Duration
	c.emit()
}

func conns(args []string) {
	c := parse("conns", args, 64, 64, nil)
	c.res.Unit = "conns/s"
	c.run(func(int) {
		req := make([]byte, 1+c.size)
		req[0] = 'E'
		resp := make([]byte, c.size)
		l := &lats{c: c}
		defer l.merge()
		for !c.stop.Load() {
			t := time.Now()
			err := func() error {
				nc, err := net.DialTimeout("tcp", c.target, 2*time.Second)
				if err != nil {
					return err
				}
				defer nc.Close()
				_ = nc.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := nc.Write(req); err != nil {
					return err
				}
				_, err = io.ReadFull(nc, resp)
				return err
			}()
			if err != nil {
				c.errs.Add(1)
				time.Sleep(time.Millisecond)
				continue
			}
			if c.measured.Load() {
				l.record(time.Since(t))
			} else {
				c.ops.Add(1)
			}
		}
	})
	c.res.Value = float64(c.res.Ops) / c.res.Duration
	c.emit()
}

func udp(args []string) {
	var window int
	c := parse("udp", args, 4, 64, func(fs *flag.FlagSet) {
		fs.IntVar(&window, "window", 32, "datagrams in flight per socket")
	})
	window = max(window, 1)
	c.res.Unit = "pkts/s"
	c.res.Window = window
	c.run(func(int) {
		ra, err := net.ResolveUDPAddr("udp", c.target)
		if err != nil {
			c.errs.Add(1)
			return
		}
		uc, err := net.DialUDP("udp", nil, ra)
		if err != nil {
			c.errs.Add(1)
			return
		}
		defer uc.Close()
		_ = uc.SetReadBuffer(1 << 20)
		pc := ipv4.NewPacketConn(uc)
		mk := func(n int) []ipv4.Message {
			ms := make([]ipv4.Message, n)
			for i := range ms {
				ms[i].Buffers = [][]byte{make([]byte, max(c.size, 2048))}
			}
			return ms
		}
		in, out := mk(window), mk(window)
		for i := range out {
			out[i].Buffers[0] = out[i].Buffers[0][:c.size]
		}
		send := func(n int) {
			for ms := out[:n]; len(ms) > 0; {
				k, err := pc.WriteBatch(ms, 0)
				if err != nil {
					c.errs.Add(1)
					return
				}
				ms = ms[k:]
			}
		}
		send(window)
		for !c.stop.Load() {
			_ = uc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := pc.ReadBatch(in, 0)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					c.errs.Add(1) // Window lost: prime it again.
					send(window)
					continue
				}
				c.errs.Add(1)
				time.Sleep(time.Millisecond)
				continue
			}
			c.ops.Add(int64(n))
			send(n)
		}
	})
	c.res.Value = float64(c.res.Ops) / c.res.Duration
	c.emit()
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen bulk|rr|conns|udp|idle|collect|report [flags]")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "bulk":
		bulk(args)
	case "rr":
		rr(args)
	case "conns":
		conns(args)
	case "udp":
		udp(args)
	case "idle":
		idle(args)
	case "collect":
		collect(args)
	case "report":
		report(args)
	default:
		fmt.Fprintln(os.Stderr, "unknown subcommand", os.Args[1])
		os.Exit(2)
	}
}

// collect is the traffic-mirror collector of the mirrored bulk test: it
// reads whole VXLAN datagrams (up to 64 KiB: the mirror sizes segments to
// the path's MTU) in batches and discards them, as a capture tool on
// another host would take them off the wire. On SIGTERM or SIGINT it
// prints what it received to stderr.
func collect(args []string) {
	fs := flag.NewFlagSet("collect", flag.ExitOnError)
	addr := fs.String("addr", "127.0.93.6:4789", "UDP address to receive on")
	_ = fs.Parse(args)
	pc, err := net.ListenPacket("udp4", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = pc.(*net.UDPConn).SetReadBuffer(8 << 20)
	var pkts, bytes atomic.Int64
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		fmt.Fprintf(os.Stderr, "collector: %d datagrams, %d bytes\n", pkts.Load(), bytes.Load())
		os.Exit(0)
	}()
	bc := ipv4.NewPacketConn(pc)
	ms := make([]ipv4.Message, 64)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 64<<10)}
	}
	for {
		n, err := bc.ReadBatch(ms, 0)
		if err != nil {
			return
		}
		for _, m := range ms[:n] {
			bytes.Add(int64(m.N))
		}
		pkts.Add(int64(n))
	}
}
